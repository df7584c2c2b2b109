"""Pulse counts and the two-pass pulse update (issue 17): the bits of the one-pass kernel.

The two passes (:mod:`neuromorph.hardware.pulsing`, :mod:`neuromorph.hardware._pulse_kernels`)
must give exactly the state and pulse totals of :func:`neuromorph.hardware._kernels.pulse_update`
(itself checked against its Python twin in test_device_laws.py), on one and two threads; an
outer product counted from float32 with its error bound must give the counts of the float64
product.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import pytest

import neuromorph as nm
from neuromorph.hardware import _kernels as K
from neuromorph.hardware import _pulse_kernels as PK
from neuromorph.hardware import presets, pulsing
from neuromorph.hardware.devices import StuckCode
from neuromorph.hardware.fabrication import sample_devices

DEVICES = {
    "rram": nm.RRAM_HFO2,  # exponential step, c2c, relaxation redrawn at programming
    "rram_array": presets.RRAM_HFO2_ARRAY,  # full soft bounds, corrupt devices
    "pcm": nm.PCM_GST,  # state-dependent drift
}
MAX_PULSES = 9


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    before = numba.get_num_threads()
    numba.set_num_threads(min(request.param, numba.config.NUMBA_NUM_THREADS))
    yield request.param
    numba.set_num_threads(before)


def _used_state(device, n, seed):
    """Device arrays with random levels, ages, faults and pulse budgets near their counts."""
    rng = np.random.default_rng(seed)
    state = sample_devices(device, n, rng, tau_now=0.0).arrays()
    state = {k: v.copy() for k, v in state.items()}
    free = state["stuck"] == StuckCode.NONE
    state["g_prog"] = np.where(free, rng.uniform(state["g_lo"], state["g_hi"]), state["g_prog"])
    state["tau_prog"] = rng.uniform(0.0, 60.0, (2, n))
    faults = rng.random((2, n))
    state["stuck"][faults < 0.05] = StuckCode.LOW
    state["stuck"][(faults >= 0.05) & (faults < 0.1)] = StuckCode.FIXED
    state["pulse_count"] = rng.integers(0, 20, (2, n)).astype(state["pulse_count"].dtype)
    budget = state["pulse_count"] + rng.integers(0, 12, (2, n)).astype(float)
    budget[:, ::3] = np.inf
    state["pulse_budget"] = budget
    return state


def _two_pass(state, device, desired, *, scale, tau_now, key):
    counts = pulsing.pulse_counts(desired, pulses_per_unit=scale, key=key, max_pulses=MAX_PULSES)
    pairs = pulsing.pulsed_pairs(counts)[0]
    PK.apply_counts(
        **state,
        counts=counts,
        pairs=pairs,
        law=K.pulse_law(device),
        ret=K.retention_law(device),
        tau_now=tau_now,
        key=key,
        max_pulses=MAX_PULSES,
    )
    return counts


@pytest.fixture(params=["serial", "parallel"])
def pulse_path(request, monkeypatch):
    """apply_counts on the calling thread or in parallel tasks, whatever the pair count."""
    monkeypatch.setattr(PK, "SERIAL_PAIRS", 1 << 62 if request.param == "serial" else -1)
    return request.param


@pytest.mark.parametrize("name", sorted(DEVICES))
def test_two_pass_update_gives_the_bits_of_the_one_pass_kernel(name, threads, pulse_path):
    device, n = DEVICES[name], 5000
    rng = np.random.default_rng(3)
    state = _used_state(device, n, seed=1)
    twin = {k: v.copy() for k, v in state.items()}
    for call, tau_now in enumerate((30.0, 30.0, 5000.0)):
        desired = rng.normal(0.0, 3.0, n)
        desired[::13] = 0.0
        desired[1], desired[2] = 1e300, -1e300  # saturate at MAX_PULSES
        key = np.uint64(rng.integers(0, 2**63))
        counts = _two_pass(state, device, desired, scale=0.5, tau_now=tau_now, key=key)
        pulses = np.empty((2, n), dtype=np.int64)
        K.pulse_update(
            **twin,
            desired=desired,
            scale=0.5,
            law=K.pulse_law(device),
            ret=K.retention_law(device),
            tau_now=tau_now,
            key=key,
            max_pulses=MAX_PULSES,
            pulses_out=pulses,
        )
        np.testing.assert_array_equal(np.abs(counts), pulses.sum(axis=0), err_msg=f"call {call}")
        for k in state:
            np.testing.assert_array_equal(state[k], twin[k], err_msg=f"{name} call {call}: {k}")
    # The case covered what it claims: devices wore out during the calls.
    assert (state["stuck"] == StuckCode.FIXED).sum() > (
        _used_state(device, n, 1)["stuck"] == StuckCode.FIXED
    ).sum()


def _float64_counts(x, d, scale, key, max_pulses=MAX_PULSES):
    return pulsing.pulse_counts(x.T @ d, pulses_per_unit=scale, key=key, max_pulses=max_pulses)


def _bounded(op, scale, key, max_pulses):
    """The float32 bound's pass over ``op``: (how many pending, counts, pending list)."""
    counts, pending = np.empty(op.size, dtype=np.int64), np.empty(op.size, dtype=np.int64)
    m = PK.bounded_counts(
        approx=op.approx,
        x_norm=op.x_norm,
        d_norm=op.d_norm,
        rel=op.rel,
        absolute=op.absolute,
        scale=scale,
        key=key,
        max_pulses=max_pulses,
        counts_out=counts,
        pending_out=pending,
    )
    return m, counts, pending


@pytest.mark.parametrize(
    ("batch", "scale", "max_pulses", "path"),
    [
        (3, 0.4, 9, "bound"),  # every count decided by the float32 bound
        (1, 0.0, 9, "bound"),
        (256, 0.3, 9, "resolve"),  # a few pairs recomputed in float64
        (1024, 1.5, 64, "float64"),  # ~8 % would be undecided: float64 product from the start
        (256, 0.3, 9, "blas"),  # a loose (still valid) bound: float64 BLAS product after all
    ],
)
def test_outer_product_counts_are_the_float64_counts(batch, scale, max_pulses, path):
    rng = np.random.default_rng(batch)
    x = rng.uniform(-1.0, 1.0, (batch, 120))
    x[x < -0.5] = 0.0  # exact zeros, as after a ReLU
    d = rng.normal(0.0, 1.0, (batch, 90))
    op = pulsing.outer_product(x, d, pulses_per_unit=scale)
    if path == "blas":
        op = dataclasses.replace(op, rel=op.rel * 100.0)
    assert (op.approx is None) == (path == "float64")
    for call in range(3):
        key = np.uint64(rng.integers(0, 2**63))
        got = pulsing.pulse_counts(op, pulses_per_unit=scale, key=key, max_pulses=max_pulses)
        want = _float64_counts(x, d, scale, key, max_pulses)
        np.testing.assert_array_equal(got, want, err_msg=f"call {call}")
    if path != "float64":
        pending = _bounded(op, scale, key, max_pulses)[0]
        many = pending > op.size * pulsing.MAX_UNDECIDED_FRACTION
        assert path == ("bound" if pending == 0 else "blas" if many else "resolve"), pending


def test_counts_within_a_wide_bound_are_the_exact_counts():
    """Approximate products anywhere inside the stated bound: kept counts are right, the
    rest are pending and resolved exactly."""
    rng = np.random.default_rng(7)
    x, d = rng.normal(0.0, 1.0, (40, 60)), rng.normal(0.0, 1.0, (40, 50))
    exact = x.T @ d
    x_norm, d_norm = np.linalg.norm(x, axis=0), np.linalg.norm(d, axis=0)
    rel = 0.003
    bound = rel * np.outer(x_norm, d_norm)
    approx = (exact + rng.uniform(-0.5, 0.5, exact.shape) * bound).astype(np.float32)
    assert (np.abs(approx - exact) <= bound).all()
    scale, key = 0.7, np.uint64(2024)
    counts, pending = np.empty(exact.size, dtype=np.int64), np.empty(exact.size, dtype=np.int64)
    m = PK.bounded_counts(
        approx=approx,
        x_norm=x_norm,
        d_norm=d_norm,
        rel=rel,
        absolute=0.0,
        scale=scale,
        key=key,
        max_pulses=MAX_PULSES,
        counts_out=counts,
        pending_out=pending,
    )
    want = _float64_counts(x, d, scale, key)
    kept = counts != PK.UNDECIDED
    assert 0.05 < m / exact.size < 0.5 and kept.sum() == exact.size - m
    np.testing.assert_array_equal(counts[kept], want[kept])
    # A bound on the float32 inputs' float64 sums as loose as the first: most pairs go on to the
    # float64 sums (streamed row by row of x and d).
    left = PK.resolve_counts(
        counts=counts,
        pending=pending[:m],
        x=x,
        d=d,
        x32=x.astype(np.float32),
        d32=d.astype(np.float32),
        x_norm=x_norm,
        d_norm=d_norm,
        rel=rel,
        absolute=0.0,
        scale=scale,
        key=key,
        max_pulses=MAX_PULSES,
    )
    assert left > PK.FEW_PAIRS
    np.testing.assert_array_equal(counts, want)


@pytest.mark.parametrize("looser", [1.0, 10.0, 3e3])
def test_resolved_counts_are_the_exact_counts_at_every_stage(looser):
    """Pending pairs decided from the float32 inputs' float64 sums (a bound ~500x tighter than
    the float32 product's), the rest summed in float64 pair by pair (a few) or row by row
    (many): the counts of the float64 product throughout.  ``looser`` widens the inputs'
    bound (still a bound) to send more pairs to the float64 sums."""
    rng = np.random.default_rng(11)
    x, d = rng.uniform(-1.0, 1.0, (1024, 120)), rng.normal(0.0, 1.0, (1024, 90))
    scale = 0.3
    op = pulsing.outer_product(x, d, pulses_per_unit=scale)
    assert op.approx is not None and op.rel > 400.0 * op.rel_inputs
    np.testing.assert_array_equal(op.x32, x.astype(np.float32))
    np.testing.assert_array_equal(op.d32, d.astype(np.float32))
    # The bound holds for the float32 inputs' products summed in float64, and is not loose.
    sums = x.astype(np.float32).astype(np.float64).T @ d.astype(np.float32).astype(np.float64)
    error = np.abs(x.T @ d - sums)
    bound = op.rel_inputs * np.outer(op.x_norm, op.d_norm) + op.absolute
    assert (error <= bound).all() and (error > 0.01 * bound).any()
    pending_total, lefts = 0, []
    for call in range(4):
        key = np.uint64(rng.integers(0, 2**63))
        m, counts, pending = _bounded(op, scale, key, MAX_PULSES)
        pending_total += m
        lefts.append(
            PK.resolve_counts(
                counts=counts,
                pending=pending[:m],
                x=x,
                d=d,
                x32=op.x32,
                d32=op.d32,
                x_norm=op.x_norm,
                d_norm=op.d_norm,
                rel=op.rel_inputs * looser,
                absolute=op.absolute,
                scale=scale,
                key=key,
                max_pulses=MAX_PULSES,
            )
        )
        np.testing.assert_array_equal(counts, _float64_counts(x, d, scale, key), err_msg=f"call {call}")
    assert pending_total > 400, pending_total
    if looser == 1.0:  # the tight bound decides nearly every pending pair
        assert sum(lefts) <= pending_total / 100, lefts
    elif looser == 10.0:  # a few: pair by pair
        assert 0 < max(lefts) <= PK.FEW_PAIRS, lefts
    else:  # all: row by row
        assert min(lefts) > PK.FEW_PAIRS, lefts


def test_float32_bound_holds_over_a_wide_range_of_magnitudes():
    rng = np.random.default_rng(5)
    batch = 500
    x = rng.normal(0.0, 1.0, (batch, 30)) * 10.0 ** rng.uniform(-40, 25, (batch, 30))
    d = rng.normal(0.0, 1.0, (batch, 20)) * 10.0 ** rng.uniform(-40, 5, (batch, 20))
    x[:, :3] = rng.normal(0.0, 1e-41, (batch, 3))  # float32 subnormals
    d[:, :3] = rng.normal(0.0, 1e-20, (batch, 3))  # products below float32's range
    op = pulsing.outer_product(x, d, pulses_per_unit=1e-40)  # small: the float32 path
    assert op.approx is not None
    error = np.abs(x.T @ d - op.approx)
    relative = op.rel * np.outer(op.x_norm, op.d_norm)
    assert (error <= relative + op.absolute).all()
    assert not (error <= relative).all()  # the case needs the absolute term


def test_cast_gives_float32_column_sums_of_squares_and_a_magnitude_bound():
    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 1.0, (300, 7)) * 10.0 ** rng.uniform(-3, 3, 7)
    x[17, 2] = -1e4  # one spike: the bound is its column's norm, not below the spike
    x32, sumsq, peak = pulsing._cast(x)
    np.testing.assert_array_equal(x32, x.astype(np.float32))
    np.testing.assert_allclose(sumsq, (x * x).sum(axis=0), rtol=1e-13)
    assert np.abs(x).max() <= peak <= np.sqrt(sumsq.max()) * (1 + 1e-15)


def test_inputs_beyond_float32_take_the_float64_product():
    rng = np.random.default_rng(9)
    x, d = rng.normal(0.0, 1e70, (8, 6)), rng.normal(0.0, 1e-60, (8, 5))
    op = pulsing.outer_product(x, d, pulses_per_unit=1e-9)
    assert op.approx is None
    np.testing.assert_array_equal(op.exact, x.T @ d)
    key = np.uint64(5)
    got = pulsing.pulse_counts(op, pulses_per_unit=1e-9, key=key, max_pulses=MAX_PULSES)
    np.testing.assert_array_equal(got, _float64_counts(x, d, 1e-9, key))
    with pytest.raises(ValueError, match=r"learning_rate \* x.T @ d must be finite"):
        pulsing.outer_product(x, d, pulses_per_unit=1e300)


def test_pulsed_pairs_are_flatnonzero_with_their_totals():
    counts = np.random.default_rng(1).integers(-2, 3, 1000)
    pairs, pulses, both = pulsing.pulsed_pairs(counts)
    np.testing.assert_array_equal(pairs, np.flatnonzero(counts))
    assert (pulses, both) == (np.abs(counts).sum(), np.count_nonzero(np.abs(counts) > 1))
    assert pulsing.pulsed_pairs(np.zeros(4, dtype=np.int64))[0].size == 0
