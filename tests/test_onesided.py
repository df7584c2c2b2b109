"""One-sided (SET-only) PCM pairs: updates never step a device down, refresh, files, threads."""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import pytest

import neuromorph as nm
from neuromorph.chip import Chip, ChipDesign
from neuromorph.hardware import _kernels, programming
from neuromorph.hardware.crossbar import Crossbar
from neuromorph.hardware.devices import (
    DeviceModel,
    NoiseParams,
    OneSidedParams,
    PulseParams,
    VariationParams,
)
from neuromorph.hardware.periphery import IDEAL_PERIPHERY
from neuromorph.studies.presets import measure

#: A linear, noiseless one-sided device (steps of exactly one nominal step, within a verify
#: tolerance of one step): the refresh's arithmetic without the PCM law's noise.
LINEAR = DeviceModel(
    name="linear_one_sided",
    conductance=nm.PCM_GST.conductance,
    pulse=PulseParams(n_states=200),
    one_sided=OneSidedParams(reset_rel=0.005, refresh_upper=0.75, refresh_lower=0.25),
)
#: PCM's law without its cycle-to-cycle noise (whose normal spread lets a single SET pulse
#: lower a device, as in aihwkit's model), read noise or variation; refresh out of reach.
NO_REFRESH = nm.PCM_GST.with_(
    pulse=dataclasses.replace(nm.PCM_GST.pulse, c2c_rel=0.0),
    noise=NoiseParams(),
    variation=VariationParams(),
    one_sided=OneSidedParams(reset_rel=0.005, refresh_upper=1.0, refresh_lower=1.0),
)


def _xbar(device: DeviceModel, n_in: int = 4, n_out: int = 25, seed: int = 0) -> Crossbar:
    return Crossbar.fabricate(n_in, n_out, seed=seed, device=device, periphery=IDEAL_PERIPHERY)


def _window(device: DeviceModel, x: float) -> float:
    c = device.conductance
    return c.g_min_s + x * (c.g_max_s - c.g_min_s)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_updates_only_set(seed):
    """No update lowers a device: a positive one raises G+ only, a negative one G- only."""
    xb = _xbar(NO_REFRESH, seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(30):
        before = xb.device_state().g_prog.reshape(2, *xb.shape)
        delta = rng.normal(0.0, 0.03, xb.shape)
        report = xb.apply_delta(delta)
        after = xb.device_state().g_prog.reshape(2, *xb.shape)
        assert report.refreshed_pairs == 0 and report.verify_reads > 0
        assert (after >= before).all(), f"seed {seed}: a device stepped down"
        np.testing.assert_array_equal(after[0][delta < 0], before[0][delta < 0])
        np.testing.assert_array_equal(after[1][delta > 0], before[1][delta > 0])
    assert (xb.device_state().g_prog > _window(NO_REFRESH, 0.1)).mean() > 0.5  # they did climb


def test_pcm_preset_pulses_only_the_device_of_the_sign():
    """The preset's law (refresh out of reach): an update moves only the device of its sign, up on average."""
    device = nm.PCM_GST.with_(
        one_sided=dataclasses.replace(nm.PCM_GST.one_sided, refresh_upper=1.0, refresh_lower=1.0)
    )
    xb = _xbar(device, seed=3)
    rng = np.random.default_rng(3)
    checked, rises = 0, []
    for _ in range(20):
        before = xb.device_state().g_prog.reshape(2, *xb.shape)
        delta = rng.normal(0.0, 0.02, xb.shape)
        report = xb.apply_delta(delta)
        after = xb.device_state().g_prog.reshape(2, *xb.shape)
        if report.refreshed_pairs == 0:
            np.testing.assert_array_equal(after[0][delta <= 0], before[0][delta <= 0])
            np.testing.assert_array_equal(after[1][delta >= 0], before[1][delta >= 0])
            rises.append(
                np.mean(after - before) * xb.shape[0] * xb.shape[1] * 2 / max(report.devices_pulsed, 1)
            )
            checked += 1
    assert checked == 20 and np.mean(rises) > 0


def _pairs(device: DeviceModel, g_plus_x: list[float], g_minus_x: list[float]) -> Crossbar:
    xb = _xbar(device, n_in=1, n_out=len(g_plus_x))
    g = np.array(
        [
            [list(map(lambda x: _window(device, x), g_plus_x))],
            [list(map(lambda x: _window(device, x), g_minus_x))],
        ]
    )
    xb.set_programmed(g)
    return xb


def test_refresh_triggers_at_the_thresholds_and_keeps_the_weight():
    """Pairs past both thresholds are RESET and rewritten to their weight within tolerance."""
    plus = [0.80, 0.80, 0.70, 0.80, 0.20]
    minus = [0.30, 0.20, 0.30, 0.26, 0.80]
    xb = _pairs(LINEAR, plus, minus)
    w0 = xb.effective_weights()[0].copy()
    wpp = xb.weight_per_pulse
    report = xb.apply_delta(np.full(xb.shape, wpp))  # one SET pulse on every G+
    assert report.refreshed_pairs == 2
    g = xb.effective_conductances()[:, 0]
    c = LINEAR.conductance
    window = c.g_max_s - c.g_min_s
    refreshed = np.array([True, False, False, True, False])
    # the lower device of a refreshed pair rests at the RESET level, the higher holds the weight
    np.testing.assert_allclose(g[1][refreshed], c.g_min_s + 0.005 * window, atol=LINEAR.step_s)
    tol_w = 2 * LINEAR.step_s / xb.g_unit  # the verify tolerance, plus the read's before the pulse
    w1 = xb.effective_weights()[0]
    np.testing.assert_allclose(w1[refreshed], w0[refreshed] + wpp, atol=tol_w)
    # the others took their pulse and nothing else
    np.testing.assert_allclose(w1[~refreshed], w0[~refreshed] + wpp, atol=1e-12)
    assert report.pulses >= 5 + 2 * 2 and report.verify_reads >= 2 * 5


def test_refresh_is_metered_by_the_chip():
    """A chip's update bills the refresh's verify reads and pulses."""
    chip = Chip.fabricate(ChipDesign(layer_sizes=(3, 2), device=nm.PCM_GST), seed=2)
    ports = chip.ports()
    rng = np.random.default_rng(0)
    for _ in range(5):
        ports.update(0, rng.uniform(0, 1, (8, 3)), rng.normal(0, 1, (8, 2)), learning_rate=0.5)
    assert chip.meter.verify_reads > 0 and chip.meter.pulses > 0


#: PCM's law without its noise, spreads or variation: a hot refresh's arithmetic alone.
PCM_CLEAN = NO_REFRESH.with_(one_sided=nm.PCM_GST.one_sided)
#: A hot die (K): the temperature of the notes' measurement (85 C).
HOT_K = 358.0


def test_hot_refresh_keeps_the_hot_function_and_shrinks_the_cold_weights():
    """A refresh at 358 K keeps each pair's weight as 358 K reads it; at 300 K it reads smaller.

    Caught: the rewrite compared the nominal RESET level (T_ref) with hot reads (ten RESETs
    per lower device) and its second pass raised the lower device by PCM's first SET step,
    undoing the weight (hot weights 0.79 -> 0.26 and 0.52 -> 0.00).
    """
    env = nm.Environment()
    env.set_temperature(HOT_K)
    xb = Crossbar.fabricate(1, 4, seed=0, device=PCM_CLEAN, periphery=IDEAL_PERIPHERY, environment=env)
    g_plus, g_minus = np.array([24.0, 22.0, 20.0, 23.0]) * 1e-6, np.array([4.0, 3.0, 2.0, 6.0]) * 1e-6
    xb.set_programmed(np.stack([g_plus, g_minus]).reshape(2, 1, 4))
    hot_before = xb.effective_weights().copy()
    report = xb.refresh(threshold=0.0)
    hot_after = xb.effective_weights().copy()
    env.set_temperature(300.0)
    cold_after = xb.effective_weights()
    # within PCM's hot SET step at the pair's level (up to ~0.17 of a weight unit at 358 K)
    np.testing.assert_allclose(hot_after, hot_before, atol=0.1)
    # physics, not a bug: the law is concave in G (a low device reads ~6x hotter, a high one
    # ~1.4x), so the hot difference moved onto one device is a far smaller cold one (0.2-0.4x)
    assert np.all(cold_after / ((g_plus - g_minus) / xb.g_unit) < 0.6)
    assert report.pulses < 100  # eight RESETs and the climbs, no RESET storms (140 before)


def test_pcm_program_is_not_biased_low():
    """Write-verify of the PCM preset reaches the weights without shrinking them.

    Caught: the lower device's compensation pass overshot by PCM's first SET step (28 nominal
    steps), shrinking the written weights by 11-13 % (best-fit scale 0.87-0.89).
    """
    xb = _xbar(nm.PCM_GST, n_in=16, n_out=16, seed=0)
    w = np.random.default_rng(0).uniform(-0.8, 0.8, xb.shape)
    xb.program(w)
    e = xb.effective_weights()
    assert float((w * e).sum() / (w * w).sum()) > 0.94


def test_program_sets_only_up_or_resets():
    """Write-verify of a one-sided device reaches the weights, within tolerance when linear."""
    xb = _xbar(LINEAR, n_in=3, n_out=20, seed=4)
    w = np.random.default_rng(4).uniform(-0.9, 0.9, xb.shape)
    report = xb.program(w)
    assert report.unconverged == 0
    assert report.weight_rms_error <= LINEAR.step_s / xb.g_unit


def test_one_sided_round_trips_through_a_chip_file(tmp_path):
    chip = Chip.fabricate(ChipDesign(layer_sizes=(3, 2), device=nm.PCM_GST), seed=1)
    ports = chip.ports()
    ports.update(0, np.ones((2, 3)), np.ones((2, 2)), learning_rate=0.2)
    path = chip.save(tmp_path / "pcm.npz")
    again = Chip.load(path)
    assert again.design.device.one_sided == nm.PCM_GST.one_sided is not None
    np.testing.assert_array_equal(
        again.crossbars[0].device_state().g_prog, chip.crossbars[0].device_state().g_prog
    )
    # a design written before the field existed loads as a bidirectional device
    d = ChipDesign(layer_sizes=(3, 2), device=nm.RRAM_HFO2).to_dict()
    del d["device"]["one_sided"]
    assert ChipDesign.from_dict(d).device.one_sided is None


def _run(threads: int) -> tuple[dict, int]:
    numba.set_num_threads(threads)
    xb = _xbar(nm.PCM_GST, n_in=30, n_out=40, seed=5)
    rng = np.random.default_rng(5)
    refreshed = 0
    for _ in range(15):
        refreshed += xb.apply_delta(rng.normal(0.0, 0.05, xb.shape)).refreshed_pairs
    xb.program(rng.uniform(-1, 1, xb.shape))
    return xb.device_state().arrays(), refreshed


def test_same_bits_on_one_and_two_threads():
    default = numba.get_num_threads()
    try:
        one, n1 = _run(1)
        two, n2 = _run(min(2, numba.config.NUMBA_NUM_THREADS))
    finally:
        numba.set_num_threads(default)
    assert n1 == n2 > 0
    for k, v in one.items():
        np.testing.assert_array_equal(v, two[k], err_msg=k)


def test_same_bits_with_the_pulse_pass_serial_or_parallel(monkeypatch):
    from neuromorph.hardware import _pulse_kernels

    runs, default = [], numba.get_num_threads()
    try:
        for bound in (1 << 62, -1):  # every pass on the calling thread, then all in tasks
            monkeypatch.setattr(_pulse_kernels, "SERIAL_PAIRS", bound)
            runs.append(_run(min(2, numba.config.NUMBA_NUM_THREADS)))
    finally:
        numba.set_num_threads(default)
    (serial, n1), (parallel, n2) = runs
    assert n1 == n2 > 0
    for k, v in serial.items():
        np.testing.assert_array_equal(v, parallel[k], err_msg=k)


def test_scaled_wear_out_matches_full_scale():
    """Budgets and bursts scaled down together wear devices out in the same burst."""
    full = nm.PCM_GST.with_(endurance=dataclasses.replace(nm.PCM_GST.endurance, median_pulses=40_000.0))
    small = full.with_(endurance=dataclasses.replace(full.endurance, median_pulses=4_000.0))
    a = measure.pulses_to_failure(full, np.random.default_rng(7), n_pairs=40, burst=2_000, max_bursts=200)
    b = measure.pulses_to_failure(small, np.random.default_rng(7), n_pairs=40, burst=200, max_bursts=200)
    assert np.isfinite(a).mean() > 0.9
    assert np.mean(a == 10 * b) >= 0.95


@pytest.mark.parametrize(
    ("kwargs", "kind", "text"),
    [
        ({"reset_rel": -0.1}, ValueError, "reset_rel must be"),
        ({"reset_std_rel": 1.5}, ValueError, "reset_std_rel must be"),
        ({"refresh_upper": 0.2, "refresh_lower": 0.5}, ValueError, "refresh_lower must be <= refresh_upper"),
        ({"refresh_upper": float("nan")}, ValueError, "refresh_upper must be"),
        ({"refresh_lower": "0.3"}, TypeError, "refresh_lower must be"),
    ],
)
def test_bad_one_sided_params(kwargs, kind, text):
    with pytest.raises(kind, match=text):
        OneSidedParams(**kwargs)


def test_device_model_rejects_a_bad_one_sided():
    with pytest.raises(TypeError, match="one_sided must be a OneSidedParams or None"):
        nm.PCM_GST.with_(one_sided=True)


def test_refresh_levels_are_read_at_the_die_temperature():
    """A hot refresh chooses pairs and clips weights by the window as it reads there.

    Caught: the threshold level and the weight clip were room-temperature figures compared
    with hot reads, so at 358 K pairs sitting low were rewritten and weights that read above
    ``w_max`` hot were cut to it.
    """
    env = nm.Environment()
    env.set_temperature(HOT_K)
    xb = Crossbar.fabricate(1, 2, seed=0, device=PCM_CLEAN, periphery=IDEAL_PERIPHERY, environment=env)
    c = PCM_CLEAN.conductance
    span = c.g_max_s - c.g_min_s
    # pair 0: lower device at 0.2 of the window (below the 0.4 threshold at any temperature);
    # pair 1: lower device at 0.6 (above it)
    g_minus = c.g_min_s + np.array([0.2, 0.6]) * span
    g_plus = g_minus + 0.3 * span
    xb.set_programmed(np.stack([g_plus, g_minus]).reshape(2, 1, 2))
    before = xb.device_state().g_prog.copy()
    measured = np.stack([before[0], before[1]])  # noiseless reads at T_ref, mapped below
    temp = _kernels.temperature_law(PCM_CLEAN, HOT_K)
    hot = np.vectorize(lambda g: _kernels.at_temperature(g, temp))(measured)
    assert hot[1, 0] > c.g_min_s + 0.4 * span, "the low pair reads above the room-temperature level hot"
    target, active = programming.refresh_plan(hot, PCM_CLEAN, HOT_K, 0.4, xb.g_unit, xb.w_max)
    assert active.tolist() == [0, 1]
    # the weight is kept as it reads hot, beyond w_max at 358 K if the hot window allows it
    w_hot = (hot[0] - hot[1]) / xb.g_unit
    np.testing.assert_allclose((target[0] - target[1]) / xb.g_unit, w_hot, rtol=1e-12)
    assert np.all(target[1] == _kernels.at_temperature(c.g_min_s, temp)), "lower device at the hot floor"
    report = xb.refresh()
    after = xb.device_state().g_prog
    np.testing.assert_array_equal(after[:, 0], before[:, 0])  # the low pair untouched
    assert report.pulses > 0
