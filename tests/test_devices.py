"""Parameter classes: validation and presets."""

from __future__ import annotations

import math

import pytest

import neuromorph as nm
from neuromorph.hardware import devices as d
from neuromorph.hardware.environment import Environment


@pytest.mark.parametrize(
    ("factory", "exc", "match"),
    [
        (
            lambda: d.ConductanceRange(2e-4, 1e-4),
            ValueError,
            r"g_min_s must be >= 0 and < g_max_s; got g_min_s=0.0002, g_max_s=0.0001",
        ),
        (lambda: d.ConductanceRange(-1e-6, 1e-4), ValueError, "g_min_s must be >= 0"),
        (lambda: d.ConductanceRange(0.0, float("nan")), ValueError, "g_max_s must be finite"),
        (lambda: d.ConductanceRange("a", 1e-4), TypeError, "g_min_s must be a real number"),
        (lambda: d.PulseParams(n_states=0), ValueError, "n_states must be >= 1"),
        (
            lambda: d.PulseParams(n_states=10, nonlinearity_up=1.5),
            ValueError,
            r"nonlinearity_up must be in \[0, 1\]",
        ),
        (lambda: d.PulseParams(n_states=10, c2c_rel=-0.1), ValueError, "c2c_rel must be >= 0"),
        (lambda: d.PulseParams(n_states=10, step_up_scale=0), ValueError, "step_up_scale must be > 0"),
        (
            lambda: d.VariationParams(stuck_at_min_fraction=0.7, stuck_at_max_fraction=0.6),
            ValueError,
            "stuck_at_min_fraction \\+ stuck_at_max_fraction \\+ stuck_fixed_fraction must be <= 1",
        ),
        (lambda: d.VariationParams(bounds_rel=0.7), ValueError, "bounds_rel must be < 0.5"),
        (lambda: d.NoiseParams(read_noise_rel=-1), ValueError, "read_noise_rel must be >= 0"),
        (lambda: d.DriftParams(t0_s=0), ValueError, "t0_s must be > 0"),
        (lambda: d.TemperatureParams(t_ref_k=-3), ValueError, "t_ref_k must be > 0 K"),
        (lambda: d.TemperatureParams(ea_low_ev=-0.1), ValueError, "ea_low_ev must be >= 0"),
        (lambda: d.TemperatureParams(paths="mixed"), ValueError, r"paths must be one of \('parallel'"),
        (lambda: d.PulseParams(n_states=3, c2c_add_steps=-1), ValueError, "c2c_add_steps must be >= 0"),
        (lambda: d.PulseParams(n_states=3, c2c_slope=-0.1), ValueError, "c2c_slope must be >= 0"),
        (lambda: nm.RRAM_HFO2.with_(pulse=3), TypeError, "pulse must be a PulseParams"),
        (lambda: d.preset("flash"), ValueError, r"preset must be one of \['ideal', 'pcm', 'rram'"),
        (lambda: d.preset(3), TypeError, "preset must be a str"),
        (lambda: d.VariationParams(fixed_range_rel=0.7), ValueError, "fixed_range_rel must be"),
        (lambda: d.VariationParams(step_lognormal=1), TypeError, "step_lognormal must be a bool"),
        (lambda: d.VariationParams(lo_window_rel=-1), ValueError, "lo_window_rel must be >= 0"),
        (lambda: d.PulseParams(n_states=3, exp_amp_up=float("nan")), ValueError, "exp_amp_up must be finite"),
        (lambda: d.DriftParams(nu_min=0.2, nu_max=0.1), ValueError, "nu_min must be <= nu_max"),
        (lambda: d.DriftParams(nu_mean=-0.1), ValueError, "nu_mean must be >= 0"),
        (lambda: d.RelaxationParams(std_per_ln_s=-1), ValueError, "std_per_ln_s must be >= 0"),
        (lambda: d.EnduranceParams(median_pulses=0), ValueError, "median_pulses must be > 0"),
        (lambda: d.EnduranceParams(sigma_ln=-1), ValueError, "sigma_ln must be >= 0"),
        (lambda: d.NoiseParams(program_noise_poly=(1.0, "a")), TypeError, r"program_noise_poly\[1\]"),
        (
            lambda: nm.PCM_GST.with_(relaxation=d.RelaxationParams(std_at_t0_s=1e-7)),
            ValueError,
            "drift and relaxation must not both be active",
        ),
        (lambda: nm.IDEAL.with_(endurance=3), TypeError, "endurance must be a EnduranceParams"),
    ],
)
def test_parameter_errors(factory, exc, match):
    with pytest.raises(exc, match=match):
        factory()


ALL_PRESETS = [nm.RRAM_HFO2, d.RRAM_HFO2_ARRAY, d.RRAM_OM_ARRAY, nm.PCM_GST, nm.IDEAL]


@pytest.mark.parametrize("model", ALL_PRESETS)
def test_presets_cite_their_sources(model):
    assert len(model.source) > 60
    if model is not nm.IDEAL:
        assert any(ch.isdigit() for ch in model.source)  # years, volumes, pages
    assert model.step_s > 0


def test_ideal_turns_every_effect_off():
    m = nm.IDEAL
    assert m.noise.read_noise_rel == m.noise.program_noise_rel == 0
    assert m.pulse.c2c_rel == m.pulse.nonlinearity_up == m.pulse.nonlinearity_down == 0
    assert m.variation == d.VariationParams()
    assert m.drift.nu_mean == m.drift.nu_std == 0
    assert m.temperature == d.TemperatureParams()


def test_temperature_valid_range():
    tp = d.TemperatureParams(alpha_low_per_k=2e-3, alpha_high_per_k=-1e-3)
    lo, hi = tp.valid_range_k()
    assert math.isclose(lo, 300 - 500) is False and lo == 0.0
    assert math.isclose(hi, 1300.0)
    with pytest.raises(ValueError, match="temperature_k must be > 0 K"):
        tp.check_temperature(-1.0)


def test_environment_equivalent_time_is_arrhenius():
    env = Environment(temperature_k=300.0)
    env.advance(hours=1)
    env.set_temperature(350.0)
    env.advance(hours=2)
    ea = 0.8
    factor = math.exp(ea / d.K_B_EV * (1 / 300 - 1 / 350))
    assert math.isclose(env.equivalent_time(ea, 300.0), 3600 + 7200 * factor, rel_tol=1e-12)
    assert env.equivalent_time(0.0, 300.0) == env.time_s == 3 * 3600


def test_environment_round_trip_and_errors():
    env = Environment(temperature_k=310.0, time_s=5.0)
    env.advance(minutes=2)
    env.set_temperature(320.0)
    env.advance(days=1)
    again = Environment.from_dict(env.to_dict())
    assert again.to_dict() == env.to_dict()
    assert again.equivalent_time(1.0, 300.0) == env.equivalent_time(1.0, 300.0)
    with pytest.raises(ValueError, match="temperature_k must be > 0 K"):
        env.set_temperature(0.0)
    with pytest.raises(ValueError, match="hours must be >= 0"):
        env.advance(hours=-1)
    with pytest.raises(ValueError, match="environment history must be"):
        Environment.from_dict({"time_s": 0.0, "starts_s": [5.0, 1.0], "temps_k": [300, 310]})
    with pytest.raises(ValueError, match="environment must have numeric"):
        Environment.from_dict({"time_s": "x"})


def test_preset_names_old_new_and_constants():
    assert d.preset("rram") is d.preset("RRAM_HFO2") is d.preset("rram_hfo2") is nm.RRAM_HFO2
    assert d.preset("pcm") is d.preset("Pcm_Gst") is nm.PCM_GST
    assert d.preset("ideal") is d.preset("IDEAL") is nm.IDEAL
    assert d.preset("rram_array") is d.preset("RRAM_HFO2_ARRAY") is d.RRAM_HFO2_ARRAY
    assert d.preset("RRAM_OM_ARRAY") is d.RRAM_OM_ARRAY
    from neuromorph.hardware import presets

    assert presets.RRAM_HFO2 is d.RRAM_HFO2


def test_presets_carry_their_sources_numbers():
    """The numbers the audit named, as the sources state them (aihwkit 1.x presets)."""
    r = nm.RRAM_HFO2
    assert r.pulse.c2c_rel == 5.0  # ReRamESPresetDevice.dw_min_std
    assert r.pulse.step_down_scale == pytest.approx(1 - 0.259359)  # up steps larger than down
    assert r.pulse.n_states == round(2 / 0.00135)
    assert r.relaxation.active and not r.drift.active  # relaxation, not power-law decay
    assert r.endurance.median_pulses is not None
    for arr, corrupt in ((d.RRAM_HFO2_ARRAY, 0.0977), (d.RRAM_OM_ARRAY, 0.1348)):
        assert arr.variation.stuck_fixed_fraction == corrupt  # measured in the IEDM 2022 arrays
    drift = nm.PCM_GST.drift
    assert drift.state_dependent
    assert (drift.nu_mean, drift.nu_log_slope, drift.nu_min, drift.nu_max) == (0.0244, -0.0155, 0.049, 0.1)
    assert (drift.nu_std, drift.std_log_slope, drift.std_min, drift.std_max) == (
        -0.0059,
        -0.0125,
        0.008,
        0.045,
    )
    noise = nm.PCM_GST.noise
    assert noise.program_noise_rel * 25 == pytest.approx(0.26348)
    assert [c * 25 for c in noise.program_noise_poly] == pytest.approx([1.9650, -1.1731])
    pcm = nm.PCM_GST.variation  # aihwkit PCMPresetDevice: dw_min_dtod, w_max_dtod (of w_max 2)
    assert (pcm.step_rel, pcm.hi_window_rel, pcm.lo_window_rel, pcm.bounds_rel) == (0.2, 0.1, 0.0, 0.0)
    assert pcm.stuck_at_min_fraction == pcm.stuck_fixed_fraction == 0.0  # no corrupt devices
    # endurance counts switching cycles of two pulses (one SET, one RESET)
    assert r.endurance.median_pulses == 2 * 1e6 and nm.PCM_GST.endurance.median_pulses == 2 * 1e8
