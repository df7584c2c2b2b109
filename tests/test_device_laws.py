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
from neuromorph.hardware import noise, presets, programming
from neuromorph.hardware.devices import K_B_EV, NoiseParams, StuckCode, TemperatureParams
from neuromorph.hardware.fabrication import sample_devices
from tests import naive

#: RRAM_HFO2's exponential step under soft bounds, 64 states, aihwkit's complex c2c noise and a
#: temperature law with both coefficients on: every factor of the pulse and temperature laws
#: at once (test-only mix).
MIXED = nm.RRAM_HFO2.with_(
    pulse=dataclasses.replace(
        nm.RRAM_HFO2.pulse,
        n_states=64,
        nonlinearity_up=0.4,
        nonlinearity_down=0.7,
        c2c_rel=0.6,
        c2c_add_steps=4.2,
        c2c_slope=0.108,
    ),
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
        noise_law=K.verify_noise_law(device),
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


# ----------------------------------------------------------------- the temperature law per state
def _seen(device, g, temperature_k):
    """What the kernel's temperature law makes of conductances ``g`` at ``temperature_k``."""
    temp = K.temperature_law(device, temperature_k)
    return np.array([K.at_temperature(x, temp) for x in np.atleast_1d(g)])


def test_rram_law_reproduces_both_measured_ends_and_keeps_the_lrs_metallic():
    """The fit of presets.filament_alpha_per_k: the whole LRS device shows -1e-3 /K at T_ref,
    the HRS (at or below g_min) is pure Arrhenius with 0.1 eV, and a device written 15 % below
    g_max (the array presets' programmed LRS) stays metallic: the linear interpolation in the
    state gave it 15 % of the HRS activation energy and a positive coefficient."""
    d = nm.RRAM_HFO2
    c = d.conductance
    dt = 1e-3
    slope = (np.log(_seen(d, c.g_max_s, 300.0 + dt)) - np.log(_seen(d, c.g_max_s, 300.0 - dt))) / (2 * dt)
    assert slope[0] == pytest.approx(presets.RRAM_LRS_ALPHA_PER_K, rel=1e-6)
    hrs = np.array([0.2, 0.7, 1.0]) * c.g_min_s
    want = np.exp(-presets.RRAM_HRS_EA_EV / K_B_EV * (1 / 358.0 - 1 / 300.0))
    np.testing.assert_allclose(_seen(d, hrs, 358.0) / hrs, want, rtol=1e-12)
    g = np.linspace(0.5, 1.0, 11) * c.g_max_s
    alpha = (_seen(d, g, 330.0) / g - 1) / 30.0
    assert np.all(alpha[g >= 0.85 * c.g_max_s] < -0.9e-3) and np.all(alpha < -0.8e-3)
    assert np.all(np.diff(alpha) < 0)  # more filament, more metallic


def test_series_law_puts_the_amorphous_plug_in_series_with_the_set_cell():
    """PCM: resistances add; the RESET state shows the amorphous 0.3 eV, the SET cell 0.05 eV,
    and a state between has an activation energy between them that falls as G rises."""
    d = nm.PCM_GST
    c, tp = d.conductance, d.temperature
    f_low, f_high = tp.path_factors(330.0)
    g = np.array([0.1, 1.0, 5.0, 12.5, 20.0, 25.0, 30.0]) * 1e-6
    r_high = np.minimum(1 / g, 1 / c.g_max_s)
    np.testing.assert_allclose(
        _seen(d, g, 330.0), 1 / (r_high / f_high + (1 / g - r_high) / f_low), rtol=1e-12
    )
    ea = -K_B_EV * np.log(_seen(d, g, 330.0) / g) / (1 / 330.0 - 1 / 300.0)
    assert ea[0] == pytest.approx(0.3, rel=0.01) and ea[-2] == pytest.approx(0.05, rel=1e-9)
    assert np.all(np.diff(ea[:-1]) < 0)


def test_equal_paths_scale_every_state_alike_and_t_ref_is_the_identity():
    law = TemperatureParams(alpha_low_per_k=2e-3, alpha_high_per_k=2e-3, ea_low_ev=0.1, ea_high_ev=0.1)
    g = np.array([0.0, 0.5e-6, 3e-6, 5e-5, 1e-4])
    for paths in ("parallel", "series"):
        d = nm.IDEAL.with_(temperature=dataclasses.replace(law, paths=paths))
        f = law.path_factors(350.0)[0]
        np.testing.assert_array_equal(_seen(d, g, 350.0), g * f)
        np.testing.assert_array_equal(_seen(nm.RRAM_HFO2, g, 300.0), g)


# ----------------------------------------------------------------- verify reads see the read law
def test_verify_noise_follows_the_read_noise_law():
    """Kernel, numpy and naive twins agree; PCM's 1/f law gives a fresh device
    q(G) sqrt(ln((t0 + t_r) / (2 t_r))), state dependent; a white constant law is q itself."""
    d = nm.PCM_GST
    state = sample_devices(d, 50, np.random.default_rng(0), tau_now=0.0)
    rng = np.random.default_rng(1)
    state.g_prog[:] = rng.uniform(0.5e-6, 25e-6, state.g_prog.shape)
    state.tau_prog[:] = rng.uniform(0.0, 3600.0, state.g_prog.shape)
    tau_now = 3600.0
    got = programming.verify_noise_rel(state, d, tau_now=tau_now)
    nl = K.verify_noise_law(d)
    for s in range(2):
        for i in range(50):
            g, age = state.g_prog[s, i], tau_now - state.tau_prog[s, i]
            assert K.verify_noise_rel(g, age, nl) == pytest.approx(got[s, i], rel=1e-12)
            assert naive.verify_noise_rel(g, age, d) == pytest.approx(got[s, i], rel=1e-12)
    x = 12.5e-6 / d.conductance.g_max_s
    fresh = min(0.0088 / x**0.65, 0.2) * np.sqrt(np.log((20.0 + 250e-9) / (2 * 250e-9)))
    assert K.verify_noise_rel(12.5e-6, 0.0, nl) == pytest.approx(fresh, rel=1e-12)
    assert K.verify_noise_rel(1e-6, 0.0, nl) > 3 * K.verify_noise_rel(20e-6, 0.0, nl)  # state dependent
    white = K.verify_noise_law(nm.RRAM_HFO2)
    assert K.verify_noise_rel(3e-5, 1e5, white) == nm.RRAM_HFO2.noise.read_noise_rel


@pytest.mark.parametrize("seed", range(3))
def test_verify_scan_reads_have_the_law_s_spread(seed):
    """One verify scan of fresh PCM devices at one level: the relative spread of the reads is
    the 1/f law's at age 0, not the white read_noise_rel (0.0088) it was before."""
    d = nm.PCM_GST.with_(variation=presets.VariationParams())
    state = sample_devices(d, 20000, np.random.default_rng(seed), tau_now=0.0)
    state.g_prog[:] = 5e-6
    reads = programming.verify_scan(
        state, d, temperature_k=300.0, tau_now=0.0, rng=np.random.default_rng(seed)
    )
    want = K.verify_noise_rel(5e-6, 0.0, K.verify_noise_law(d))
    assert np.std(reads / 5e-6 - 1) == pytest.approx(want, rel=0.03), f"seed={seed}"
