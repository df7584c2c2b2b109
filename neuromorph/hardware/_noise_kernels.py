"""Numba kernels of the correlated read noise of :mod:`neuromorph.hardware.noise` (layer 1, private).

Contract as in :mod:`neuromorph.hardware._kernels`: arrays and scalars in, caller-allocated
outputs (OUT) filled, no validation, the same bits on any thread count.  Every draw is
counter-based (:func:`~neuromorph.hardware._random_kernels.uniform`,
:func:`~neuromorph.hardware._random_kernels.normal`) under a key derived from the crossbar's lifetime
key, so a draw depends only on (key, stream, counter), never on the schedule.

Device ``d = 2 * pair + side`` (side 0 is G+, side 1 is G-) numbers the devices in the draws.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from neuromorph._numba import CHUNK, njit, njit_parallel
from neuromorph._rng import STREAM_PINK_NOISE, STREAM_RTN_DWELL, STREAM_RTN_START
from neuromorph.hardware._random_kernels import normals_at, uniform

#: 2**53: a uniform's 53 random bits scaled back to an integer key.
_TWO_53 = 9007199254740992.0
#: Bits of a telegraph dwell counter below the device number (dwells per device and call).
_DWELL_BITS = np.uint64(30)


@njit
def derive_key(key, stream, counter):
    """A 53-bit key for (key, stream, counter): the bits of one counter-based uniform."""
    return np.uint64(uniform(key, stream, counter) * _TWO_53)


@njit
def _pink_weight(ln_span, ln_lo, ln_width):
    """Share of the 1/f band ``[ln_lo, ln_lo + ln_width)`` below ``ln_span`` (see noise)."""
    w = ln_span - ln_lo
    if w < 0.0:
        return 0.0
    if w > ln_width:
        return ln_width
    return w


@njit_parallel
def pink_partial(key, amp, ln_span, ln_lo, ln_width, partial_in, partial_out):
    """One 1/f level's block added to the sum of the slower levels.

    IN  key (uint64, the level's block key), amp (2, n) relative amplitude q of each device,
        ln_span (2, n) ``ln((t + t_r) / t_r)`` of each device, ln_lo/ln_width: the level's
        band in ln time, partial_in (2, n) relative sum of the slower levels or size 0 (none)
    OUT partial_out (2, n) = partial_in + q sqrt(w) z, z normal ``d`` of ``STREAM_PINK_NOISE``
    """
    n = amp.shape[1]
    for c in prange((n + CHUNK - 1) // CHUNK):
        i0, i1 = c * CHUNK, min(n, (c + 1) * CHUNK)
        z = np.empty(i1 - i0)
        scratch = _chunk_scratch(i1 - i0)
        for s in range(2):
            _side_normals(key, s, i0, z, scratch)
            slower = _side_of(partial_in, s, i0, i1)
            _pink_side(amp[s, i0:i1], ln_span[s, i0:i1], ln_lo, ln_width, slower, z, partial_out[s, i0:i1])


@njit_parallel
def pink_pairs(key, amp, ln_span, ln_lo, ln_width, partial_in, g_eff, p_out):
    """The fastest 1/f level's block with the slower ones, as pair conductance perturbations.

    IN  as :func:`pink_partial`, and g_eff (2, n) effective conductances, S
    OUT p_out (n,) S (float32 or float64): ``G+ r+ - G- r-`` with ``r`` the device's relative
        perturbation (partial_in + this level's block)
    """
    n = amp.shape[1]
    for c in prange((n + CHUNK - 1) // CHUNK):
        i0, i1 = c * CHUNK, min(n, (c + 1) * CHUNK)
        z = np.empty(i1 - i0)
        r = np.empty((2, i1 - i0))
        scratch = _chunk_scratch(i1 - i0)
        for s in range(2):
            _side_normals(key, s, i0, z, scratch)
            slower = _side_of(partial_in, s, i0, i1)
            _pink_side(amp[s, i0:i1], ln_span[s, i0:i1], ln_lo, ln_width, slower, z, r[s])
        _pair_perturbation(g_eff[0, i0:i1], g_eff[1, i0:i1], r[0], r[1], p_out[i0:i1])


@njit
def _chunk_scratch(m):
    """Counters and :func:`~neuromorph.hardware._random_kernels.normals_at`'s scratch for ``m`` normals."""
    return np.empty(m, dtype=np.uint64), np.empty(m, dtype=np.uint64), np.empty(m, dtype=np.int64)


@njit
def _side_normals(key, s, i0, z, scratch):
    """Normals ``2 i + s`` of ``STREAM_PINK_NOISE`` for side ``s`` of the pairs ``i0, i0 + 1, ...``
    into ``z``, drawn together (the bits of one by one, ~2 ns each against ~6; every device's
    normal is drawn, one outside its band unused)."""
    counters, words, misses = scratch
    for t in range(z.size):
        counters[t] = np.uint64(2 * (i0 + t) + s)
    normals_at(key, STREAM_PINK_NOISE, counters, z, words, misses)


@njit
def _side_of(partial_in, s, i0, i1):
    """Side ``s`` of ``partial_in`` for the pairs ``i0:i1``, or size 0 when there is none."""
    return partial_in[s, i0:i1] if partial_in.size > 0 else partial_in.reshape(-1)[:0]


@njit
def _pink_side(amp, ln_span, ln_lo, ln_width, partial, z, out):
    """One side's relative perturbations: ``partial + q sqrt(w) z`` (``w`` the band's share,
    no term where it is 0).  Its own function over one side's contiguous rows: the loop
    vectorises (with the normals drawn together: a 256x256 read of 1024 with 1/f noise 210 -> 84
    ms; the pink kernel 1.35 -> 0.47 ms per block on one thread)."""
    has_in = partial.size > 0
    for t in range(out.size):
        total = partial[t] if has_in else 0.0
        w = _pink_weight(ln_span[t], ln_lo, ln_width)
        if w > 0.0:
            total += amp[t] * math.sqrt(w) * z[t]
        out[t] = total


@njit
def _pair_perturbation(g_pos, g_neg, r_pos, r_neg, out):
    """``G+ r+ - G- r-`` of each pair, summed as ``(0 + G+ r+) + (-(G- r-))`` (the bits of
    accumulating the two sides from zero)."""
    for t in range(out.size):
        out[t] = (0.0 + g_pos[t] * r_pos[t]) - g_neg[t] * r_neg[t]


@njit_parallel
def rtn_start(key, state, gap_decay, p_up, scale, g_eff, p_out):
    """Telegraph states at a call's first read, and the pair perturbations they give.

    IN  key (uint64, the call's key), gap_decay = exp(-gap / tau_c) since the last read
        (0: a stationary draw), p_up (stationary probability of the up state),
        scale (2, n): ``q / sqrt(p_up (1 - p_up))``, g_eff (2, n) S
    IN/OUT state (2, n) int8: 1 up, 0 down; the state at the last read -> at this read
    OUT p_out (n,) S: ``sum_s (+/-) scale G (state - p_up)``
    """
    n = state.shape[1]
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            pair = 0.0
            for s in range(2):
                prob = p_up + (state[s, i] - p_up) * gap_decay
                up = 1 if uniform(key, STREAM_RTN_START, 2 * i + s) < prob else 0
                state[s, i] = up
                dg = scale[s, i] * g_eff[s, i] * (up - p_up)
                pair += dg if s == 0 else -dg
            p_out[i] = pair


@njit_parallel
def rtn_flips(key, state, v, scale, g_eff, tau_up, tau_down, n_cols, tile_rows, mu_out):
    """Telegraph switching within a call: add each device's changes to the column currents.

    Reads happen at times 0, 1, ..., batch-1 (in reads); from its state at read 0 a device
    dwells ``-tau ln u`` (exponential, ``u`` uniform ``d << 30 | k`` of ``STREAM_RTN_DWELL``
    for its ``k``-th dwell) before each switch.  Where its state differs from that at read 0,
    ``(+/-) scale G (state - state_0) v[b, i]`` is added to its column's current.

    IN  key (uint64), v (batch, n_in) V, scale, g_eff (2, n), tau_up/tau_down (mean dwell
        times, reads), n_cols, tile_rows
    IN/OUT state (2, n) int8: at read 0 -> at read batch-1
    IN/OUT mu_out (n_row_tiles, batch, n_cols) A: += the changes, per row tile
    """
    batch, n_in = v.shape
    for j in prange(n_cols):
        for i in range(n_in):
            pair = i * n_cols + j
            tile = i // tile_rows
            for s in range(2):
                st0 = state[s, pair]
                st = st0
                step = scale[s, pair] * g_eff[s, pair]
                if s == 1:
                    step = -step
                d = np.uint64(2 * pair + s) << _DWELL_BITS
                t = 0.0
                b = 0
                k = 0
                while True:
                    tau = tau_up if st == 1 else tau_down
                    t -= tau * math.log(uniform(key, STREAM_RTN_DWELL, d | np.uint64(k)))
                    k += 1
                    b_next = batch if t >= batch else int(math.ceil(t))
                    if st != st0:
                        delta = step * (st - st0)
                        for r in range(b, b_next):
                            mu_out[tile, r, j] += delta * v[r, i]
                    if b_next >= batch:
                        break
                    st = 1 - st
                    b = b_next
                state[s, pair] = st
