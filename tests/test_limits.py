"""Numbers that overflow or slip through: temperatures, times, complex inputs, tiny scales."""

from __future__ import annotations

import numpy as np
import pytest

import neuromorph as nm
from neuromorph import _validate as check
from neuromorph.chip import ChipDesign
from neuromorph.hardware.environment import MAX_TIME_S, Environment


@pytest.mark.parametrize("t", [1e-300, 0.5, 1e6, 1000.5])
def test_environment_refuses_temperatures_no_chip_survives(t):
    with pytest.raises(ValueError, match=r"temperature_k must be in \[1, 1000\] K"):
        Environment(temperature_k=t)
    env = Environment()
    with pytest.raises(ValueError, match=r"temperature_k must be in \[1, 1000\] K"):
        env.set_temperature(t)
    assert env.temperature_k == 300.0


@pytest.mark.parametrize("t", [float("nan"), float("inf"), -float("inf")])
def test_environment_refuses_non_finite_temperatures(t):
    with pytest.raises(ValueError, match="temperature_k must be"):
        Environment(temperature_k=t)


def test_pcm_chip_at_a_million_kelvin_is_refused():
    with pytest.raises(ValueError, match=r"\[1, 1000\] K"):
        nm.Chip.fabricate(
            ChipDesign(layer_sizes=(3, 2), device=nm.PCM_GST),
            seed=0,
            environment=Environment(temperature_k=1e6),
        )


@pytest.mark.parametrize("kw", [{"days": 1e308}, {"seconds": 1e308}, {"days": 1e4 * 366}])
def test_advance_refuses_ages_past_ten_thousand_years(kw):
    env = Environment()
    with pytest.raises(ValueError, match=r"must keep time_s <= 3\.15576e\+11 s \(1e4 years\)"):
        env.advance(**kw)
    assert env.time_s == 0.0
    env.advance(days=365.25 * 1e4)  # exactly the limit is fine
    assert env.time_s == MAX_TIME_S


def test_environment_start_time_and_files_are_bounded():
    with pytest.raises(ValueError, match="time_s must be <= "):
        Environment(time_s=1e300)
    with pytest.raises(ValueError, match="starts_s and time_s must be <= "):
        Environment.from_dict({"time_s": 1e300, "starts_s": [0.0], "temps_k": [300.0]})
    with pytest.raises(ValueError, match=r"temps_k must be in \[1, 1000\] K"):
        Environment.from_dict({"time_s": 5.0, "starts_s": [0.0, 1.0], "temps_k": [300.0, 1e6]})


@pytest.mark.parametrize("value", [np.array([1 + 2j, 3.0]), [1j, 2.0], np.complex64(1j)])
def test_complex_arrays_are_type_errors_naming_the_parameter(value):
    with pytest.raises(TypeError, match="x must be real numbers; got complex"):
        check.array("x", value)


@pytest.mark.parametrize("value", [1j, np.complex128(2.0), complex(3, 0)])
def test_complex_scalars_are_type_errors_naming_the_parameter(value):
    with pytest.raises(TypeError, match="hot_k must be a real number; got complex"):
        check.real("hot_k", value)


def test_complex_inputs_to_a_chip_port_raise_before_reading():
    chip = nm.Chip.fabricate(ChipDesign(layer_sizes=(3, 2), device=nm.IDEAL), seed=0)
    with pytest.raises(TypeError, match="must be real numbers; got complex"):
        chip.ports().run(np.ones((1, 3)) * 1j)


@pytest.mark.parametrize("w_max", [1e-320, 1e-31, 1e31])
def test_tiny_and_huge_weight_scales_are_refused(w_max):
    with pytest.raises(ValueError, match=r"w_max must be in \[1e-30, 1e\+30\]"):
        ChipDesign(layer_sizes=(3, 2), w_max=w_max)
    with pytest.raises(ValueError, match=r"w_max must be in \[1e-30, 1e\+30\]"):
        nm.Crossbar.fabricate(3, 2, rng=np.random.default_rng(0), w_max=w_max)


def test_temperature_in_gives_a_celsius_hint():
    assert check.temperature_in("t", 300.0, 233.15, 423.15) == 300.0
    with pytest.raises(
        ValueError, match=r"t must be in \[233\.15, 423\.15\] K; got t=30\. Did you mean 303\.15 K\?"
    ):
        check.temperature_in("t", 30, 233.15, 423.15)
    with pytest.raises(ValueError, match=r"Did you mean 268\.15 K\?"):
        check.temperature_in("t", -5, 233.15, 423.15)
    with pytest.raises(ValueError, match=r"got t=600\.$"):
        check.temperature_in("t", 600, 233.15, 423.15)  # no Celsius reading of 600 fits
