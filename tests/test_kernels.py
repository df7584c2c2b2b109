"""Every kernel against its naive twin, and the random streams' statistics."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numba
import numpy as np
import pytest
from scipy import stats

import neuromorph
import neuromorph as nm
from neuromorph import _rng
from neuromorph._numba import njit
from neuromorph._rng import (
    STREAM_ADC_NOISE,
    STREAM_PULSE_NOISE,
    STREAM_PULSE_ROUNDING,
    STREAM_READ_NOISE,
    STREAM_VERIFY_READ,
)
from neuromorph.hardware import _converter_kernels as CK
from neuromorph.hardware import _kernels as K
from neuromorph.hardware import _random_kernels as R
from neuromorph.hardware.devices import DriftParams, PulseParams, TemperatureParams
from tests import naive


def _ret(t0):
    """A packed power-law retention law with reference time ``t0``."""
    return K.retention_law(nm.IDEAL.with_(drift=DriftParams(t0_s=t0)))


def _law(a_up=0.0, a_down=0.0, c2c=0.0, **exp):
    """A packed pulse law."""
    return K.pulse_law(
        nm.IDEAL.with_(
            pulse=PulseParams(n_states=10, nonlinearity_up=a_up, nonlinearity_down=a_down, c2c_rel=c2c, **exp)
        )
    )


def _heated(alpha_low, alpha_high, ea_low, ea_high):
    """IDEAL (1..100 uS) with a two-path temperature law."""
    law = TemperatureParams(
        alpha_low_per_k=alpha_low, alpha_high_per_k=alpha_high, ea_low_ev=ea_low, ea_high_ev=ea_high
    )
    return nm.IDEAL.with_(temperature=law)


SEEDS = range(5)
STREAMS = (
    STREAM_READ_NOISE,
    STREAM_ADC_NOISE,
    STREAM_PULSE_ROUNDING,
    STREAM_PULSE_NOISE,
    STREAM_VERIFY_READ,
    _rng.STREAM_RETENTION,
    _rng.STREAM_VERIFY_RETRY,
    _rng.STREAM_PULSE_NOISE_RETRY,
)


@njit
def _normals(key, stream, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = K.normal(key, stream, i)
    return out


@njit
def _uniforms(key, stream, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = K.uniform(key, stream, i)
    return out


@njit
def _normal_words(stream, counter, draws):
    """The words hashed for the first ``draws`` reserved draws of normal ``counter``."""
    out = np.empty(draws, dtype=np.uint64)
    for j in range(draws):
        out[j] = R.normal_word(stream, counter, j)
    return out


def test_uniform_matches_splitmix_twin():
    key = 0x1234_5678_9ABC_DEF0
    for stream in (STREAM_PULSE_ROUNDING, STREAM_VERIFY_READ):
        got = _uniforms(np.uint64(key), stream, 64)
        want = [naive.splitmix_uniform(key, stream, i) for i in range(64)]
        np.testing.assert_array_equal(got, want)


def test_stream_ids_are_distinct_and_fit():
    assert len(set(STREAMS)) == len(STREAMS)
    assert all(0 < s < 2**_rng.STREAM_BITS for s in STREAMS)


def test_two_streams_with_the_same_key_and_counter_draw_differently():
    key = np.uint64(0x0DDB_A11C_0FFE_E123)
    for a, b in zip(STREAMS, STREAMS[1:], strict=False):
        ua, ub = _uniforms(key, a, 5000), _uniforms(key, b, 5000)
        za, zb = _normals(key, a, 5000), _normals(key, b, 5000)
        assert not np.any(ua == ub) and not np.any(za == zb), f"streams {a} and {b}"
        assert abs(np.corrcoef(ua, ub)[0, 1]) < 0.06 and abs(np.corrcoef(za, zb)[0, 1]) < 0.06


def test_uniforms_never_reuse_a_normal_draw():
    """The old collision: with 64 pulses a pair's rounding uniform sat at counter i * 130 and
    pulse k of device (i, s) hashed counters (i * 130 + 1 + s * 65 + k) * 256 + j, so the
    rounding of pair 65 (8450) was the third draw (j = 2) of pair 0's 33rd pulse normal.
    Every word now carries its stream and kind, so no uniform word is any normal's."""
    assert 65 * 130 == (0 * 130 + 1 + 0 * 65 + 32) * 256 + 2  # the old scenario
    rounding = {int(R.uniform_word(STREAM_PULSE_ROUNDING, i)) for i in range(200)}
    for stream in (STREAM_PULSE_ROUNDING, STREAM_PULSE_NOISE):
        for counter in range(2 * 200 * 64):
            words = _normal_words(stream, counter, 4)
            assert rounding.isdisjoint(int(w) for w in words), f"stream {stream} normal {counter}"
    # A uniform and a normal of the same stream, key and counter are different draws, too.
    key = np.uint64(7)
    assert not np.any(_uniforms(key, STREAM_PULSE_NOISE, 1000) == _normals(key, STREAM_PULSE_NOISE, 1000))


def test_every_kernel_module_takes_numba_options_from_one_place():
    """No module outside neuromorph._numba calls numba.njit / numba.jit itself."""
    offenders = []
    for path in Path(neuromorph.__file__).parent.rglob("*.py"):
        if path.name == "_numba.py" or "__pycache__" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "numba":
                bad = {a.name for a in node.names} & {"njit", "jit", "vectorize", "guvectorize"}
                offenders += [f"{path.name}: from numba import {name}" for name in bad]
            if isinstance(node, ast.Attribute) and node.attr in {"njit", "jit"}:
                if isinstance(node.value, ast.Name) and node.value.id == "numba":
                    offenders.append(f"{path.name}: numba.{node.attr}")
    assert not offenders, offenders


@pytest.mark.parametrize("seed", SEEDS)
def test_normal_is_standard_normal(seed):
    z = _normals(np.uint64(seed * 7919 + 1), STREAM_PULSE_NOISE, 200_000)
    assert abs(z.mean()) < 5 * 1 / math.sqrt(z.size), f"seed={seed}"
    assert abs(z.std() - 1) < 0.01, f"seed={seed}"
    assert stats.kstest(z, "norm").pvalue > 1e-4, f"seed={seed}"
    # The tail beyond the ziggurat's base strip (r = 3.44) must be populated correctly.
    tail = np.mean(np.abs(z) > 3.5)
    assert abs(tail - 2 * stats.norm.sf(3.5)) < 5 * math.sqrt(2 * stats.norm.sf(3.5) / z.size)


def test_normal_streams_differ_by_key():
    a, b = _normals(np.uint64(1), STREAM_READ_NOISE, 1000), _normals(np.uint64(2), STREAM_READ_NOISE, 1000)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.15


@pytest.mark.parametrize("bits", [None, 2, 4, 8])
def test_dac_convert_matches_twin(bits):
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, 1000)
    v, v2 = np.empty_like(x), np.empty(x.size, dtype=np.float32)
    levels = 0 if bits is None else 2 ** (bits - 1) - 1
    CK.dac_convert(x=x, scale=1 / 2.0, v_max=0.3, levels=levels, v_out=v, v2_out=v2)
    want = naive.dac(x, input_full_scale=2.0, v_max=0.3, bits=bits)
    np.testing.assert_allclose(v, want, rtol=0, atol=1e-15)
    np.testing.assert_allclose(v2, want**2, rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_dac_convert_reports_a_non_finite_input(bad):
    x = np.linspace(-3, 3, 37)
    v, v2 = np.empty_like(x), np.empty(x.size, dtype=np.float32)
    assert CK.dac_convert(x=x, scale=0.5, v_max=0.3, levels=127, v_out=v, v2_out=v2)
    x[29] = bad
    assert not CK.dac_convert(x=x, scale=0.5, v_max=0.3, levels=127, v_out=v, v2_out=v2)
    assert not CK.dac_convert(x=x, scale=0.5, v_max=0.3, levels=0, v_out=v, v2_out=np.empty(0, np.float32))


@pytest.mark.parametrize("bits", [None, 3, 8])
def test_adc_accumulate_noiseless_matches_twin(bits):
    rng = np.random.default_rng(1)
    mu = rng.normal(0, 1e-4, (7, 5))
    out = np.full((7, 5), 0.25)
    levels = 0 if bits is None else 2 ** (bits - 1) - 1
    lsb = 0.0 if bits is None else 1.0 / levels
    CK.adc_accumulate(
        mu=mu,
        var=np.empty((0, 0), np.float32),
        key=np.uint64(0),
        stream=STREAM_ADC_NOISE,
        counter_base=0,
        gain=5e3,
        noise_v=0.0,
        lsb=lsb,
        max_code=float(levels),
        out_scale=2.0,
        out=out,
    )
    want = 0.25 + 2.0 * naive.adc(5e3 * mu, full_scale=1.0, bits=bits)
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-14)


@pytest.mark.parametrize("seed", SEEDS)
def test_adc_accumulate_noise_statistics(seed):
    n = 100_000
    mu = np.full((1, n), 2e-5)
    var = np.full((1, n), (1e-6) ** 2, dtype=np.float32)
    out = np.zeros((1, n))
    CK.adc_accumulate(
        mu=mu,
        var=var,
        key=np.uint64(seed),
        stream=STREAM_ADC_NOISE,
        counter_base=0,
        gain=1e4,
        noise_v=3e-3,
        lsb=0.0,
        max_code=0.0,
        out_scale=1.0,
        out=out,
    )
    expected_std = math.hypot(1e4 * 1e-6, 3e-3)
    assert abs(out.mean() - 0.2) < 5 * expected_std / math.sqrt(n), f"seed={seed}"
    assert abs(out.std() / expected_std - 1) < 0.02, f"seed={seed}"


def test_effective_conductance_matches_twin():
    rng = np.random.default_rng(2)
    n = 300
    g_prog = rng.uniform(1e-6, 1e-4, (2, n))
    tau_prog = rng.uniform(0, 50, (2, n))
    nu = rng.uniform(0, 0.1, (2, n))
    g_eff, gdiff, gvar = np.empty((2, n)), np.empty(n), np.empty(n)
    args = dict(
        tau_now=100.0,
        t0=20.0,
        g_min=1e-6,
        g_max=1e-4,
        temp=350.0,
        tref=300.0,
        alo=2e-3,
        ahi=-1e-3,
        elo=0.2,
        ehi=0.01,
    )
    K.effective_conductance(
        g_prog=g_prog,
        tau_prog=tau_prog,
        nu=nu,
        tau_now=100.0,
        ret=_ret(20.0),
        temp=K.temperature_law(_heated(2e-3, -1e-3, 0.2, 0.01), 350.0),
        read_rel=0.02,
        g_eff_out=g_eff,
        gdiff_out=gdiff,
        gvar_out=gvar,
    )
    want = naive.effective(g_prog, tau_prog, nu, **args)
    np.testing.assert_allclose(g_eff, want, rtol=1e-13)
    np.testing.assert_allclose(gdiff, want[0] - want[1], rtol=1e-12, atol=1e-20)
    np.testing.assert_allclose(gvar, 0.02**2 * (want[0] ** 2 + want[1] ** 2), rtol=1e-12)


def test_effective_conductance_is_identity_at_programming():
    """Drift at age 0 and temperature at T_ref leave conductances unchanged, bit for bit."""
    rng = np.random.default_rng(3)
    g_prog = rng.uniform(1e-6, 1e-4, (2, 50))
    g_eff = np.empty_like(g_prog)
    K.effective_conductance(
        g_prog=g_prog,
        tau_prog=np.full((2, 50), 7.0),
        nu=rng.uniform(0, 0.1, (2, 50)),
        tau_now=7.0,
        ret=_ret(20.0),
        temp=K.temperature_law(_heated(1e-3, 1e-3, 0.3, 0.3), 300.0),
        read_rel=0.0,
        g_eff_out=g_eff,
        gdiff_out=np.empty(50),
        gvar_out=np.empty(50),
    )
    np.testing.assert_array_equal(g_eff, g_prog)


def test_verify_conductance_matches_twin_and_the_read_path():
    """The retention law has one home (K.retained): the verify kernel and the read kernel at
    T_ref both apply it, and both match the naive twin."""
    rng = np.random.default_rng(5)
    n = 300
    g_prog = rng.uniform(1e-6, 1e-4, (2, n))
    tau_prog = rng.uniform(0, 150, (2, n))
    nu = rng.uniform(0, 0.1, (2, n))
    nu[:, ::7] = 0.0
    drifted = np.empty_like(g_prog)
    at_ref = K.temperature_law(nm.IDEAL, 300.0)
    K.verify_conductance(
        g_prog=g_prog, tau_prog=tau_prog, nu=nu, tau_now=100.0, ret=_ret(20.0), temp=at_ref, g_out=drifted
    )
    np.testing.assert_allclose(drifted, naive.drift(g_prog, tau_prog, nu, tau_now=100.0, t0=20.0), rtol=1e-14)
    g_eff = np.empty_like(g_prog)
    K.effective_conductance(
        g_prog=g_prog,
        tau_prog=tau_prog,
        nu=nu,
        tau_now=100.0,
        ret=_ret(20.0),
        temp=K.temperature_law(_heated(1e-3, 1e-3, 0.3, 0.3), 300.0),
        read_rel=0.0,
        g_eff_out=g_eff,
        gdiff_out=np.empty(n),
        gvar_out=np.empty(n),
    )
    np.testing.assert_array_equal(g_eff, drifted)


@pytest.mark.parametrize("seed", SEEDS)
def test_pulse_update_matches_loop_twin(seed):
    rng = np.random.default_rng(seed)
    n = 200
    lo = rng.uniform(0.5e-6, 1.5e-6, (2, n))
    hi = rng.uniform(0.9e-4, 1.1e-4, (2, n))
    g = rng.uniform(lo, hi)
    s_up, s_down = rng.uniform(5e-7, 1e-6, (2, n)), rng.uniform(5e-7, 1.5e-6, (2, n))
    desired = rng.normal(0, 4, n)
    desired[::17] = 0.0
    key = int(rng.integers(0, 2**63))
    want_g, want_p = naive.pulse_update_loop(
        g, lo, hi, s_up, s_down, desired, a_up=0.3, a_down=0.6, key=key, max_pulses=8
    )
    got_g, tau = g.copy(), np.zeros((2, n))
    got_p = np.empty((2, n), dtype=np.int64)
    K.pulse_update(
        g_prog=got_g,
        tau_prog=tau,
        nu=np.zeros((2, n)),
        stuck=np.zeros((2, n), np.int8),
        g_lo=lo,
        g_hi=hi,
        s_up=s_up,
        s_down=s_down,
        pulse_count=np.zeros((2, n), np.int64),
        pulse_budget=np.full((2, n), np.inf),
        desired=desired / 2,
        scale=2.0,
        law=_law(0.3, 0.6),
        ret=_ret(1.0),
        tau_now=5.0,
        key=np.uint64(key),
        max_pulses=8,
        pulses_out=got_p,
    )
    np.testing.assert_array_equal(got_p, want_p)
    np.testing.assert_allclose(got_g, want_g, rtol=1e-14)
    assert np.all(tau[got_p > 0] == 5.0) and np.all(tau[got_p == 0] == 0.0)


def test_write_verify_noiseless_converges_within_tolerance():
    rng = np.random.default_rng(4)
    n = 500
    lo, hi = np.full((2, n), 1e-6), np.full((2, n), 1e-4)
    target = rng.uniform(2e-6, 9.5e-5, (2, n))
    g, tau = lo.copy(), np.zeros((2, n))
    step = (1e-4 - 1e-6) / 128
    pulses, reads = np.empty((2, n), np.int64), np.empty((2, n), np.int64)
    K.write_verify(
        g_prog=g,
        tau_prog=tau,
        nu=np.zeros((2, n)),
        stuck=np.zeros((2, n), np.int8),
        g_lo=lo,
        g_hi=hi,
        s_up=np.full((2, n), step),
        s_down=np.full((2, n), step),
        pulse_count=np.zeros((2, n), np.int64),
        pulse_budget=np.full((2, n), np.inf),
        target=target,
        law=_law(),
        ret=_ret(1.0),
        temp=K.temperature_law(nm.IDEAL, 300.0),
        step_up=step,
        step_down=step,
        noise_law=K.verify_noise_law(nm.IDEAL),
        tol_s=step / 2,
        max_iter=10,
        max_pulses=200,
        g_floor=1e-6,
        g_ceil=1e-4,
        compensate=False,
        active=np.ones(n, np.int8),
        tau_now=0.0,
        key=np.uint64(9),
        pulses_out=pulses,
        reads_out=reads,
    )
    # A linear device with exact reads lands within half a step after one correction.
    assert np.all(np.abs(g - target) <= step / 2 + 1e-18)
    np.testing.assert_array_equal(pulses, np.round((target - lo) / step).astype(int))
    assert np.all(reads == 2)


# ----------------------------------------------------------------- converter kernels (issue 17)
def test_normals_match_normal_bit_for_bit():
    """The batched normals take the ziggurat's slow branches too (2.8 %): the same bits."""
    key, first = np.uint64(77), 5_000
    out = np.empty(20_000)
    R.normals(key, STREAM_READ_NOISE, first, out, np.empty(out.size, np.uint64), np.empty(out.size, np.int64))
    want = np.array([K.normal(key, STREAM_READ_NOISE, first + i) for i in range(out.size)])
    np.testing.assert_array_equal(out, want)


def test_normals_at_scattered_counters_match_normal_bit_for_bit():
    """As the pulse pass draws them: scattered counters, scratch and outputs longer than the
    counters (only the first ``n`` outputs are written)."""
    key = np.uint64(78)
    counters = (np.arange(6_000, dtype=np.uint64) * np.uint64(2 * 64)) + np.uint64(1)
    out = np.full(counters.size + 7, -1.0)
    words, misses = np.empty(out.size, np.uint64), np.empty(out.size, np.int64)
    R.normals_at(key, STREAM_READ_NOISE, counters, out[: counters.size], words, misses)
    want = np.array([K.normal(key, STREAM_READ_NOISE, int(c)) for c in counters])
    np.testing.assert_array_equal(out[: counters.size], want)
    assert np.all(out[counters.size :] == -1.0)
    assert np.sum(np.abs(want) > 3.442619855899) > 0  # beyond the base strip: the tail branch ran


def _adc_twin(mu, var, key, counter_base, gain, noise_v, lsb, max_code, out_scale, out):
    """``adc_accumulate`` element by element with the scalar ``normal`` (the naive twin)."""
    for b in range(mu.shape[0]):
        for j in range(mu.shape[1]):
            v = gain * float(mu[b, j])
            total = noise_v**2 + (gain**2 * float(var[b, j]) if var.size else 0.0)
            if total > 0.0:
                v += math.sqrt(total) * K.normal(key, STREAM_READ_NOISE, counter_base + b * mu.shape[1] + j)
            if lsb > 0.0:
                v = float(np.clip(np.round(v / lsb), -max_code, max_code)) * lsb
            out[b, j] += out_scale * v


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("has_var", [True, False])
def test_adc_accumulate_matches_scalar_twin_on_any_thread_count(threads, has_var):
    rng = np.random.default_rng(3)
    mu = rng.normal(0, 1e-4, (37, 29)).astype(np.float32)
    var = rng.uniform(0, 1e-13, mu.shape).astype(np.float32) if has_var else np.empty((0, 0), np.float32)
    if has_var:
        var[::5, ::3] = 0.0  # no draw where the total variance is zero and noise_v is zero
    args = dict(key=np.uint64(11), counter_base=123, gain=1e4, noise_v=0.0 if has_var else 1e-3)
    args.update(lsb=1 / 127, max_code=127.0, out_scale=1.7)
    want = np.full(mu.shape, 0.5)
    _adc_twin(mu, var, out=want, **args)
    out = np.full(mu.shape, 0.5)
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        CK.adc_accumulate(mu=mu, var=var, stream=STREAM_READ_NOISE, out=out, **args)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(out, want)


def test_exact_read_scaling_is_the_ideal_adc_bit_for_bit():
    """The exact-read short cut (one pass) gives what the ideal ADC adds to zeros."""
    mu = np.random.default_rng(4).normal(0, 1e-4, (300, 70))
    want = np.zeros_like(mu)
    CK.adc_accumulate(
        mu=mu, var=np.empty((0, 0), np.float32), key=np.uint64(0), stream=STREAM_READ_NOISE,
        counter_base=0, gain=3e3, noise_v=0.0, lsb=0.0, max_code=0.0, out_scale=0.7, out=want,
    )  # fmt: skip
    got = mu.copy()
    CK.scale_in_place(got.reshape(-1), 3e3, 0.7)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("tile_shape", [None, (16, 16)])
def test_ideal_read_short_cut_equals_general_path(tile_shape):
    """An IDEAL crossbar's read (short cut when one row tile) and a read with a noiseless but
    quantising-free general path agree to rounding; a tiled one takes the general path."""
    kw = {} if tile_shape is None else {"tile_shape": tile_shape}
    xbar = nm.Crossbar.fabricate(
        40, 12, rng=np.random.default_rng(0), device=nm.IDEAL, periphery=nm.IDEAL_PERIPHERY, **kw
    )
    w = np.random.default_rng(1).uniform(-0.8, 0.8, (40, 12))
    xbar.program(w)
    x = np.random.default_rng(2).uniform(-1.5, 1.5, (9, 40))
    want = np.clip(x, -1, 1) @ xbar.effective_weights()
    np.testing.assert_allclose(xbar.read(x), want, rtol=1e-12, atol=1e-14)


def test_wired_tile_keeps_no_elimination_until_a_small_update():
    """Memory (issue 17): a wired tile holds T only; the first small update makes the
    elimination on demand and gives the bits an eagerly kept one gives (Woodbury on it)."""
    from neuromorph.hardware.wires import WiredArray, WireParams
    from neuromorph.hardware.wires import _multifrontal as mf
    from neuromorph.hardware.wires.solve import nested_factor

    rng = np.random.default_rng(5)
    g = rng.uniform(1e-6, 1e-4, (12, 24))
    wires = WireParams(r_row_ohm=2.0, r_col_ohm=2.0)
    wa = WiredArray(g, wires)
    assert wa._lowrank is None
    g2 = g.copy()
    g2[3, 5] *= 1.1
    wa.update(g2)
    assert wa.last_update == "low_rank" and wa._lowrank is not None
    assert wa._lowrank.num.stack.size == 0
    eager = mf.LowRank(nested_factor(g, wires.at_temperature(300.0), keep=True))
    np.testing.assert_array_equal(
        wa.transfer, eager.transfer(np.array([3 * 24 + 5]), np.array([g2[3, 5] - g[3, 5]]))
    )
