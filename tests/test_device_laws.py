"""The device-law kernels against their naive twins (tests/naive.py), exactly.

Issue 12's laws: the exponential-step pulse law with cycle-to-cycle noise, retention
(CMO-ReRAM relaxation and state-dependent PCM drift, redrawn at programming), the temperature
law during verify, endurance wear-out, and the stuck-aware program-and-verify with its
retry pass.  Each case runs the kernel and the twin on copies of one device state and
compares every state array; the twins take the kernels' counter-based normals at the
counters the kernels' docstrings name, so the match is exact up to rounding.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import neuromorph as nm
from neuromorph._rng import noise_key
from neuromorph.hardware import _kernels as K
from neuromorph.hardware import noise, presets
from neuromorph.hardware.devices import NoiseParams, StuckCode, TemperatureParams
from neuromorph.hardware.fabrication import sample_devices
from tests import naive

#: RRAM_HFO2's exponential step under soft bounds, 64 states, and a temperature law with both
#: coefficients on: every factor of the pulse and temperature laws at once (test-only mix).
MIXED = nm.RRAM_HFO2.with_(
    pulse=dataclasses.replace(nm.RRAM_HFO2.pulse, n_states=64, nonlinearity_up=0.4, nonlinearity_down=0.7),
    temperature=TemperatureParams(
        alpha_low_per_k=2e-3, alpha_high_per_k=-1e-3, ea_low_ev=0.2, ea_high_ev=0.02
    ),
)
DEVICES = {
    "rram": nm.RRAM_HFO2,  # exponential step, c2c 5 steps, relaxation
    "rram_array": presets.RRAM_HFO2_ARRAY,  # full soft bounds, 2 states, corrupt devices
    "pcm": nm.PCM_GST,  # soft bound up, 20x RESET, state-dependent drift
    "mixed": MIXED,
}
#: Relative tolerance of float state arrays: the twins may round differently (ulps).
RTOL = 1e-12
FLOATS = ("g_prog", "tau_prog", "nu")
INTS = ("stuck", "pulse_count")


def _state(device, n, seed, *, tau_max=60.0):
    """A used device state: d2d from fabrication, then random levels, ages, faults and wear."""
    rng = np.random.default_rng(seed)
    state = naive.device_arrays(sample_devices(device, n, rng, tau_now=0.0))
    shape = (2, n)
    free = state["stuck"] == StuckCode.NONE
    level = rng.uniform(state["g_lo"], state["g_hi"])
    state["g_prog"] = np.where(free, level, state["g_prog"])
    state["tau_prog"] = rng.uniform(0.0, tau_max, shape)
    z = rng.standard_normal(shape) * 2.0  # wide deviates: relaxation hits its clip at 0 S
    if naive.redraws(device):
        state["nu"] = np.array(
            [
                [naive.retention_parameter(g, zz, device) for g, zz in zip(gs, zs, strict=True)]
                for gs, zs in zip(state["g_prog"], z, strict=True)
            ]
        )
    faults = rng.random(shape)
    state["stuck"][faults < 0.04] = StuckCode.LOW
    state["stuck"][(faults >= 0.04) & (faults < 0.08)] = StuckCode.HIGH
    state["stuck"][(faults >= 0.08) & (faults < 0.12)] = StuckCode.FIXED
    state["pulse_count"] = rng.integers(0, 20, shape)
    # Budgets near the counts: some spent, some worn within this call, a fraction, none.
    budget = state["pulse_count"] + rng.integers(0, 25, shape).astype(float)
    budget[:, ::5] += 0.5
    budget[:, ::3] = np.inf
    state["pulse_budget"] = budget
    return state


def _assert_same_state(got, want, context):
    for name in FLOATS:
        np.testing.assert_allclose(got[name], want[name], rtol=RTOL, atol=0, err_msg=f"{context}: {name}")
    for name in INTS:
        np.testing.assert_array_equal(got[name], want[name], err_msg=f"{context}: {name}")


def _kernel_pulse_update(state, device, desired, *, scale, tau_now, key, max_pulses):
    pulses = np.empty(state["g_prog"].shape, dtype=np.int64)
    K.pulse_update(
        **state,
        desired=desired,
        scale=scale,
        law=K.pulse_law(device),
        ret=K.retention_law(device),
        tau_now=tau_now,
        key=np.uint64(key),
        max_pulses=max_pulses,
        pulses_out=pulses,
    )
    return pulses


@pytest.mark.parametrize("name", sorted(DEVICES))
def test_pulse_update_follows_every_device_law(name):
    """Three successive updates: pulse law, c2c draws, retention settle and redraw, wear."""
    device = DEVICES[name]
    rng = np.random.default_rng(11)
    n, max_pulses = 240, 9
    state = _state(device, n, seed=1)
    twin = {k: v.copy() for k, v in state.items()}
    assert (state["stuck"] != StuckCode.NONE).any() and np.isfinite(state["pulse_budget"]).any()
    for call, tau_now in enumerate((30.0, 30.0, 5000.0)):
        desired = rng.normal(0.0, 4.0, n)
        desired[::13] = 0.0
        desired[1], desired[2] = 1e300, -np.inf  # saturate at max_pulses
        key = int(rng.integers(0, 2**63))
        got = _kernel_pulse_update(
            state, device, desired / 2, scale=2.0, tau_now=tau_now, key=key, max_pulses=max_pulses
        )
        want = naive.pulse_update(
            twin, device, desired, scale=1.0, tau_now=tau_now, key=key, max_pulses=max_pulses
        )
        np.testing.assert_array_equal(got, want, err_msg=f"{name} call {call}: pulses")
        _assert_same_state(state, twin, f"{name} call {call}")
    # The case covered what it claims: devices wore out, stuck ones kept their level.
    before = _state(device, n, seed=1)
    assert (state["stuck"] == StuckCode.FIXED).sum() > (before["stuck"] == StuckCode.FIXED).sum()
    stuck = before["stuck"] != StuckCode.NONE
    np.testing.assert_array_equal(state["g_prog"][stuck], before["g_prog"][stuck])


#: PCM_GST's drift law with its clips opened: the state floor x >= 1e-7 then shows (test-only).
PCM_UNCLIPPED = presets.PCM_GST.with_(
    drift=dataclasses.replace(presets.PCM_GST.drift, nu_max=10.0, std_max=10.0)
)


@pytest.mark.parametrize("name", ["rram", "pcm", "pcm_unclipped"])
def test_retention_parameters_follow_the_drawing_law(name):
    """The exponent / deviate drawn at programming, over the whole window and beyond it."""
    device = PCM_UNCLIPPED if name == "pcm_unclipped" else DEVICES[name]
    rng = np.random.default_rng(3)
    g_max = device.conductance.g_max_s
    g = np.concatenate([[0.0, 1e-15, g_max, 2 * g_max], rng.uniform(0, g_max, 196)]).reshape(2, 100)
    z = rng.standard_normal(g.shape)
    out = np.empty_like(g)
    K.retention_parameters(g=g, z=z, ret=K.retention_law(device), out=out)
    want = [
        [naive.retention_parameter(a, b, device) for a, b in zip(ga, za, strict=True)]
        for ga, za in zip(g, z, strict=True)
    ]
    np.testing.assert_allclose(out, want, rtol=RTOL, atol=0)


@pytest.mark.parametrize("name", sorted(DEVICES))
@pytest.mark.parametrize("temperature_k", [300.0, 265.0, 345.0])
def test_verify_conductance_is_retention_then_temperature(name, temperature_k):
    """What a verify read sees: ages before, within and past t0, and not yet programmed."""
    device = DEVICES[name]
    state = _state(device, 150, seed=2, tau_max=1e4)
    tau_now = 5e3
    state["g_prog"][:, :20] = 2e-7  # low levels: relaxation reaches its clip at 0 S
    state["tau_prog"][:, 20:30] = tau_now - 0.5  # younger than t0 (1 s RRAM, 20 s PCM)
    state["tau_prog"][:, 30] = tau_now  # just programmed
    out = np.empty_like(state["g_prog"])
    K.verify_conductance(
        g_prog=state["g_prog"],
        tau_prog=state["tau_prog"],
        nu=state["nu"],
        tau_now=tau_now,
        ret=K.retention_law(device),
        temp=K.temperature_law(device, temperature_k),
        g_out=out,
    )
    want = np.empty_like(out)
    for s in range(2):
        for i in range(out.shape[1]):
            g = naive.retained(
                state["g_prog"][s, i], tau_now - state["tau_prog"][s, i], state["nu"][s, i], device
            )
            want[s, i] = naive.at_temperature(g, device, temperature_k)
    np.testing.assert_allclose(out, want, rtol=RTOL, atol=0)
    if temperature_k == device.temperature.t_ref_k:
        assert np.all(out[state["tau_prog"] >= tau_now] == state["g_prog"][state["tau_prog"] >= tau_now])


def _kernel_write_verify(state, device, target, *, temperature_k, compensate, active, tau_now, key, **kw):
    c, p = device.conductance, device.pulse
    pulses = np.empty(target.shape, dtype=np.int64)
    reads = np.empty(target.shape, dtype=np.int64)
    K.write_verify(
        **state,
        target=target,
        law=K.pulse_law(device),
        ret=K.retention_law(device),
        temp=K.temperature_law(device, temperature_k),
        step_up=p.step_up_scale * device.step_s,
        step_down=p.step_down_scale * device.step_s,
        read_rel=device.noise.read_noise_rel,
        g_floor=c.g_min_s,
        g_ceil=c.g_max_s,
        compensate=compensate,
        active=active,
        tau_now=tau_now,
        key=np.uint64(key),
        pulses_out=pulses,
        reads_out=reads,
        **kw,
    )
    return pulses, reads


@pytest.mark.parametrize("compensate", [True, False])
@pytest.mark.parametrize("temperature_k", [300.0, 340.0])
@pytest.mark.parametrize("name", sorted(DEVICES))
def test_write_verify_follows_every_device_law(name, temperature_k, compensate):
    """Verify at the die's temperature on stuck, worn and drifting devices, with the retry."""
    device = DEVICES[name]
    n = 80
    c = device.conductance
    state = _state(device, n, seed=4)
    twin = {k: v.copy() for k, v in state.items()}
    rng = np.random.default_rng(5)
    target = rng.uniform(c.g_min_s, c.g_max_s, (2, n))
    active = (rng.random(n) < 0.9).astype(np.int8)
    kw = dict(tol_s=0.5 * device.step_s, max_iter=6, max_pulses=12)
    common = dict(temperature_k=temperature_k, compensate=compensate, active=active, tau_now=45.0, key=77)
    got = _kernel_write_verify(state, device, target, **common, **kw)
    want = naive.write_verify(twin, device, target, **common, **kw)
    np.testing.assert_array_equal(got[0], want[0], err_msg="pulses")
    np.testing.assert_array_equal(got[1], want[1], err_msg="reads")
    _assert_same_state(state, twin, f"{name} T={temperature_k} compensate={compensate}")
    # Idle pairs were not touched; devices stuck at the start kept their level.
    assert np.all(got[0][:, active == 0] == 0) and np.all(got[1][:, active == 0] == 0)
    before = _state(device, n, seed=4)
    stuck = before["stuck"] != StuckCode.NONE
    np.testing.assert_array_equal(state["g_prog"][stuck], before["g_prog"][stuck])


def test_telegraph_read_noise_matches_its_naive_twin_across_calls():
    """rtn_start and rtn_flips through ReadNoise: a first call (stationary start), a call
    straight after it, and one after a gap of 3 reads (the exact transition)."""
    p = NoiseParams(
        read_noise_rel=0.02,
        read_noise_exponent=0.5,
        read_noise_max_rel=0.1,
        read_noise_law="rtn",
        rtn_tau_up_s=2e-7,
        rtn_tau_down_s=5e-7,
    )
    n_in, n_out, tile_rows = 5, 3, 2
    g_max = nm.IDEAL.conductance.g_max_s
    rng = np.random.default_rng(6)
    g_eff = rng.uniform(1e-6, 1e-4, (2, n_in * n_out))
    g_eff[0, 0] = 1e-9  # q at its cap
    rn = noise.ReadNoise(p, n_pairs=n_in * n_out, rng=np.random.default_rng(9))
    inputs = rn.inputs(g_eff, np.zeros_like(g_eff), device=nm.IDEAL.with_(noise=p), shape=(n_in, n_out))
    key = noise_key(np.random.default_rng(9), needed=True, name="rng")  # the lifetime key
    last_slot, last_state = -1, np.zeros((2, n_in * n_out), np.int8)
    flips = 0
    for batch, time_s in ((30, 0.0), (17, 0.0), (25, 3e-7)):
        v = rng.uniform(-0.2, 0.2, (batch, n_in))
        slot0 = noise.read_slot(time_s, rn.reads_done, p.t_read_s)
        got = rn.currents(v, g_eff, inputs, time_s=time_s, tile_rows=tile_rows)
        want, state = naive.telegraph_currents(
            key,
            p,
            g_eff,
            v,
            g_max_s=g_max,
            slot0=slot0,
            last_slot=last_slot,
            last_state=last_state,
            tile_rows=tile_rows,
        )
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-22, err_msg=f"call at slot {slot0}")
        flips += np.count_nonzero(np.diff(np.sign(want[0, :, 0])))
        last_slot, last_state = slot0 + batch - 1, state
    assert flips > 10  # the dwells (2 and 5 reads) switched states within the calls
