"""Numba kernels of a pulse update in two passes: counts, then pulses (layer 1, private).

A pulse update decides a signed pulse count for every pair (stochastic rounding of the
desired change, :func:`neuromorph.hardware._kernels.pulse_number`), then pulses only the
pairs whose count is not zero.  The counting pass is branch-light and runs over every pair;
the pulsing pass runs over the pulsed pairs only (a quarter of them in the benchmark's
update), on the calling thread for a small update and in parallel tasks over that list
for a large one; pairs are independent, so the bits depend on neither.

Together they give the bits of :func:`neuromorph.hardware._kernels.pulse_update` (its
reference twin, tested against each other): a pair's outcome depends on its desired change
only through its count and sign, and its draws only on (key, stream, pair index).

Counting an outer product ``x.T @ d`` (:mod:`neuromorph.hardware.pulsing`) uses a float32
product and a proven bound on its error: :func:`bounded_counts` keeps a pair's count when
every value within the bound rounds to the same count, and marks the pair :data:`UNDECIDED`
otherwise; :func:`resolve_counts` recomputes those pairs' products from the float32 inputs in
float64, with a far tighter bound, and the few it leaves from the float64 inputs.

Contract as in :mod:`neuromorph.hardware._kernels`: arrays and scalars in, caller-allocated
outputs (OUT), no validation.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from neuromorph._numba import njit, njit_inline, njit_parallel
from neuromorph._rng import STREAM_PULSE_NOISE, STREAM_PULSE_ROUNDING, STREAM_RETENTION
from neuromorph.hardware._kernels import (
    _FREE,
    _WORN,
    P_C2C,
    R_REDRAW,
    law_scalars,
    pulse_number,
    pulsed,
    retention_scalars,
    worn,
)
from neuromorph.hardware._random_kernels import normals_at, uniform

#: Count of a pair whose float32 bound does not decide it (no real count is this negative).
UNDECIDED = np.iinfo(np.int64).min
#: Pulsed pairs per parallel task of :func:`apply_counts`: 64 tasks or more where it runs in
#: parallel (above :data:`SERIAL_PAIRS`), so the threads share them evenly.  Pairs are
#: independent, so the bits do not depend on it (nor on the thread count).
PAIRS_PER_TASK = 1024


@njit
def signed_count(p, i, key, max_pulses):
    """Signed pulse count of pair ``i`` for a desired ``p`` signed pulses (0 for ``p == 0``)."""
    if p == 0.0:
        return 0
    count = pulse_number(p, i, key, max_pulses)
    return count if p > 0.0 else -count


@njit
def rounded_counts(desired, scale, key, max_pulses, counts_out):
    """Signed count of every pair for ``scale * desired`` signed pulses.

    IN desired (n,) float64; OUT counts_out (n,) int64.
    """
    for i in range(desired.size):
        counts_out[i] = signed_count(scale * desired[i], i, key, max_pulses)


@njit
def _count_at(mag, u, max_pulses):
    """:func:`pulse_number`'s count at magnitude ``mag >= 0`` with rounding uniform ``u``.

    Non-decreasing in ``mag`` (``floor(mag)``, plus one above ``floor(mag) + u``, capped at
    ``max_pulses``), so equal counts at both ends of an interval hold inside it.
    """
    if not mag < max_pulses:
        return max_pulses
    count = int(math.floor(mag))
    count += 1 if u < mag - count else 0
    return min(count, max_pulses)


@njit
def bounded_counts(approx, x_norm, d_norm, rel, absolute, scale, key, max_pulses, counts_out, pending_out):
    """Signed counts decided from an approximate product and a bound on its error.

    Pair ``i = a n_out + b`` wants ``scale * P[a, b]`` signed pulses, with
    ``|P[a, b] - approx[a, b]| <= rel x_norm[a] d_norm[b] + absolute`` (the caller proves
    this bound).  Its count is kept when both ends of that interval, in pulse units, round
    to the same count (the sign is then certain: a count of one or more needs a magnitude
    above its rounding uniform at the low end); otherwise the pair is pending.
    Draws: uniform ``i`` of ``STREAM_PULSE_ROUNDING``, as :func:`pulse_number`.  Serial: right
    after the update's BLAS product, a parallel launch costs 50-90 us here.  Row by row
    (:func:`_bounded_row`).

    IN approx (n_in, n_out) float32, x_norm (n_in,), d_norm (n_out,); OUT counts_out (n,)
    int64 (pending pairs: :data:`UNDECIDED`), pending_out (n,) int64.  Returns the number
    of pending pairs, whose indices fill ``pending_out`` from the start in increasing order.
    """
    n_in, n_out = approx.shape
    reach = abs(scale)
    err_0 = reach * absolute
    m = 0
    for a in range(n_in):
        err_a = reach * rel * x_norm[a]
        i0 = a * n_out
        if _bounded_row(approx[a], d_norm, err_a, err_0, scale, key, max_pulses, i0, counts_out):
            # the row's pending pairs, listed in a second pass over it (storing indices in
            # _bounded_row's loop makes it 4x slower)
            for i in range(i0, i0 + n_out):
                pending_out[m] = i
                m += counts_out[i] == UNDECIDED
    return m


@njit
def _bounded_row(approx_a, d_norm, err_a, err_0, scale, key, max_pulses, i0, counts_out):
    """:func:`bounded_counts` for the pairs ``i0 + b`` of one row ``approx_a`` (n_out,); returns
    how many are pending.  A function of its own, not inlined: its loop then vectorises,
    without branches to mispredict (a 256x256 outer product with 60 % of counts above zero:
    0.145 ms against 0.51 ms as the inner loop of the whole pass; with the benchmark's sparse
    counts 0.14 ms against 0.135 ms; the same bits)."""
    pending = 0
    for b in range(approx_a.size):
        i = i0 + b
        count = _bounded_count(
            scale * np.float64(approx_a[b]), err_a * d_norm[b] + err_0,
            uniform(key, STREAM_PULSE_ROUNDING, i), max_pulses,
        )  # fmt: skip
        counts_out[i] = count
        pending += count == UNDECIDED
    return pending


@njit
def _bounded_count(p, err, u, max_pulses):
    """Signed count of a pair that wants ``p`` signed pulses, known within ``err``, rounded with
    uniform ``u``, when both ends of the interval agree on it; else :data:`UNDECIDED`."""
    mag = abs(p)
    low = _count_at(max(mag - err, 0.0), u, max_pulses)
    high = _count_at(mag + err, u, max_pulses)
    return (low if p > 0.0 else -low) if low == high else UNDECIDED


#: Most pairs for which :func:`resolve_counts`' float64 pass walks down the columns of ``x``
#: and ``d`` pair by pair (two strided reads of a column each) rather than streaming every row
#: of both (4 MB for the benchmark's batch).  The same sums either way.
FEW_PAIRS = 8


@njit
def resolve_counts(
    counts, pending, x, d, x32, d32, x_norm, d_norm, rel, absolute, scale, key, max_pulses,
):  # fmt: skip
    """Count the ``pending`` pairs: first from their float32 inputs, then in float64.

    First, each pair's products ``x32[k, a] d32[k, b]`` (exact in float64) summed in float64
    in batch order, row by row of ``x32`` and ``d32`` (still in cache after the BLAS product);
    within ``rel x_norm[a] d_norm[b] + absolute`` of ``x[:, a] . d[:, b]`` (the caller proves
    it), so :func:`_bounded_count` decides all but a few pairs.  Those few are summed from
    ``x`` and ``d`` in float64, in batch order, and counted by :func:`signed_count`.
    IN x, x32 (batch, n_in), d, d32 (batch, n_out), x_norm (n_in,), d_norm (n_out,);
    IN/OUT pending (m,) int64 (reused as scratch), counts (n_in n_out,) int64.  Returns how many
    pairs took the float64 sums.
    """
    n_out = d.shape[1]
    rows = pending // n_out
    cols = pending % n_out
    total = np.zeros(pending.size)
    for k in range(x32.shape[0]):
        for j in range(pending.size):
            total[j] += np.float64(x32[k, rows[j]]) * np.float64(d32[k, cols[j]])
    reach = abs(scale)
    err_0 = reach * absolute
    left = 0
    for j in range(pending.size):
        i = pending[j]
        u = uniform(key, STREAM_PULSE_ROUNDING, i)
        count = _bounded_count(
            scale * total[j], reach * rel * x_norm[rows[j]] * d_norm[cols[j]] + err_0, u, max_pulses
        )
        counts[i] = count
        if count == UNDECIDED:
            pending[left] = i
            rows[left] = rows[j]
            cols[left] = cols[j]
            left += 1
    total[:left] = 0.0
    if left <= FEW_PAIRS:
        for j in range(left):
            a, b = rows[j], cols[j]
            for k in range(x.shape[0]):
                total[j] += x[k, a] * d[k, b]
    else:
        for k in range(x.shape[0]):
            for j in range(left):
                total[j] += x[k, rows[j]] * d[k, cols[j]]
    for j in range(left):
        counts[pending[j]] = signed_count(scale * total[j], pending[j], key, max_pulses)
    return left


@njit
def nonzero_pairs(counts, pairs_out, totals_out):
    """Indices of the nonzero ``counts``, in increasing order, into ``pairs_out``; returns
    how many.  OUT pairs_out (n,) int64; totals_out (2,) int64: the pulses (sum of ``|count|``)
    and the pairs with ``|count| > 1`` (both of whose devices take pulses), which an update
    reports.  In the same pass: the benchmark's counts took 0.054 ms against 0.082 ms with NumPy
    on the listed counts after it (measured).
    """
    m = 0
    pulses = 0
    multi = 0
    for i in range(counts.size):
        c = abs(counts[i])
        pairs_out[m] = i
        m += c != 0
        pulses += c
        multi += c > 1
    totals_out[0] = pulses
    totals_out[1] = multi
    return m


#: Most pulsed pairs whose pulses :func:`apply_counts` sends on the calling thread.  Right
#: after a BLAS product (as in training, and in the benchmark) OpenBLAS's worker spins on the
#: other core for ~0.1 s, so a parallel launch pays its ~0.1 ms and gains little: RRAM updates
#: from a batch of 1024, each after a float32 product, parallel against serial (medians,
#: alternating; 2 cores): 128x128 (4k pulsed pairs) 0.82 against 0.71 ms, 256x256 (16k) 2.32
#: against 2.20 ms (2.49 against 2.34, 2.49 against 2.36 in other runs), 512x512 (65k) 7.76 ms
#: both, 1024x1024 (262k) 29.5 against 30.3 ms.  Above it, tasks of :data:`PAIRS_PER_TASK`.
#: The same bits either way.
SERIAL_PAIRS = 1 << 16


def apply_counts(
    g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, pulse_count, pulse_budget,
    counts, pairs, law, ret, tau_now, key, max_pulses, set_only=False,
):  # fmt: skip
    """Pulse the ``pairs`` by their signed ``counts``, as :func:`_kernels.pulse_update` does.

    A count ``n > 0`` sends ceil(n/2) up-pulses to G+ and floor(n/2) down-pulses to G-, a
    negative one the mirror.  With ``set_only`` (one-sided devices,
    :mod:`neuromorph.hardware.onesided`), ``n > 0`` sends ``n`` SET (up) pulses to G+ and
    ``n < 0`` sends ``|n|`` to G-; no device steps down.  A pulsed device first settles to its
    retained conductance, restarts its retention clock at ``tau_now`` and, if the law redraws,
    draws its retention parameter.  Every pulse wears the device; stuck devices do not move.
    Draws: pulse k of device (i, s) is normal ``(2 i + s) max_pulses + k`` of
    ``STREAM_PULSE_NOISE``, its retention parameter normal ``2 i + s`` of ``STREAM_RETENTION``.

    On the calling thread for at most :data:`SERIAL_PAIRS` pairs, else in parallel tasks;
    pairs are independent, so the bits are the same.

    IN/OUT g_prog, tau_prog, nu, stuck, pulse_count (2, n); IN g_lo, g_hi, s_up, s_down,
    pulse_budget (2, n), counts (n,) int64, pairs (m,) int64 (indices of nonzero counts).
    """
    kernel = _apply_serial if pairs.size <= SERIAL_PAIRS else _apply_parallel
    kernel(
        g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, pulse_count, pulse_budget,
        counts, pairs, law, ret, tau_now, key, max_pulses, set_only,
    )  # fmt: skip


@njit
def _apply_serial(
    g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, pulse_count, pulse_budget,
    counts, pairs, law, ret, tau_now, key, max_pulses, set_only,
):  # fmt: skip
    """:func:`apply_counts` on the calling thread: every pair as one task."""
    _pulse_task(
        0, pairs.size, g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, pulse_count,
        pulse_budget, counts, pairs, law, ret, tau_now, key, max_pulses, set_only,
    )  # fmt: skip


@njit_parallel
def _apply_parallel(
    g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, pulse_count, pulse_budget,
    counts, pairs, law, ret, tau_now, key, max_pulses, set_only,
):  # fmt: skip
    """:func:`apply_counts` in parallel tasks of :data:`PAIRS_PER_TASK` pairs."""
    m = pairs.size
    for c in prange((m + PAIRS_PER_TASK - 1) // PAIRS_PER_TASK):
        _pulse_task(
            c * PAIRS_PER_TASK, min(m, (c + 1) * PAIRS_PER_TASK), g_prog, tau_prog, nu, stuck,
            g_lo, g_hi, s_up, s_down, pulse_count, pulse_budget, counts, pairs, law, ret,
            tau_now, key, max_pulses, set_only,
        )  # fmt: skip


@njit_inline
def _pulse_task(
    j0, j1, g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, pulse_count, pulse_budget,
    counts, pairs, law, ret, tau_now, key, max_pulses, set_only,
):  # fmt: skip
    """Pulse ``pairs[j0:j1]``: one side at a time (half the memory streams of visiting both
    devices of a pair, 12 % faster, measured; devices are independent, so the same bits).

    Per side, the pulsed devices are listed first and their first pulse's normal and
    retention normal drawn together (:func:`_random_kernels.normals_at`, the same bits as one by
    one in :func:`_kernels.pulsed`); then the devices are pulsed.
    """
    per_dev = np.uint64(max_pulses)
    redraw = ret[R_REDRAW] != 0.0
    lw = law_scalars(law)
    rt = retention_scalars(ret)
    noisy = lw[P_C2C] > 0.0
    n = j1 - j0
    listed = np.empty(n, dtype=np.int64)
    counters = np.empty(n, dtype=np.uint64)
    z_pulse, z_ret = np.full(n, math.nan), np.full(n, math.nan)
    words, misses = np.empty(n, dtype=np.uint64), np.empty(n, dtype=np.int64)
    for s in range(2):
        m = 0
        for j in range(j0, j1):
            listed[m] = j
            m += _side_pulses(counts[pairs[j]], s, set_only) > 0
        if noisy:
            for t in range(m):
                counters[t] = np.uint64(2 * pairs[listed[t]] + s) * per_dev
            normals_at(key, STREAM_PULSE_NOISE, counters[:m], z_pulse[:m], words, misses)
        if redraw:
            for t in range(m):
                counters[t] = np.uint64(2 * pairs[listed[t]] + s)
            normals_at(key, STREAM_RETENTION, counters[:m], z_ret[:m], words, misses)
        for t in range(m):
            i = pairs[listed[t]]
            count = counts[i]
            # side 0 is G+; a positive update raises G+ (the larger half) and lowers G-.
            raise_it = (s == 0) == (count > 0)
            k = _side_pulses(count, s, set_only)
            # _kernels.pulse_device's steps, its array reads and writes spelled out here
            # around scalar helpers: 1.0 ms against 1.5 ms serially for the benchmark's
            # 16k pulsed pairs (the inlined helper took the ten state arrays); same bits.
            before = pulse_count[s, i]
            pulse_count[s, i] = before + k
            if stuck[s, i] != _FREE:
                continue
            acting, out = worn(k, before, pulse_budget[s, i])
            if out:
                stuck[s, i] = _WORN
            g_prog[s, i], nu[s, i] = pulsed(
                s, i, acting, raise_it, g_prog[s, i], tau_prog[s, i], nu[s, i], g_lo[s, i],
                g_hi[s, i], s_up[s, i], s_down[s, i], lw, rt, redraw, tau_now, key, per_dev,
                z_pulse[t], z_ret[t],
            )  # fmt: skip
            tau_prog[s, i] = tau_now


@njit_inline
def _side_pulses(count, s, set_only):
    """Pulses that side ``s`` takes of a pair's signed ``count``: ceil(|n|/2) on the side the
    count raises (G+ for ``n > 0``), floor(|n|/2) on the other; with ``set_only`` all |n| on
    the raised side and none on the other."""
    raise_it = (s == 0) == (count > 0)
    if set_only:
        return abs(count) if raise_it else 0
    return (abs(count) + 1) // 2 if raise_it else abs(count) // 2


@njit
def cast_with_sumsq(x, out, sumsq):
    """``out = float32(x)`` with each column's sum of squares.

    IN x (batch, n) float64; OUT out (batch, n) float32, sumsq (n,) (zeroed by the caller).
    """
    for k in range(x.shape[0]):
        for a in range(x.shape[1]):
            v = x[k, a]
            out[k, a] = v
            sumsq[a] += v * v
