"""Numba kernels of the converters: nominal DACs and ADCs, and mismatched ones (table DACs,
SAR ADCs) (layer 1, private).

Contract as in :mod:`neuromorph.hardware._kernels`: arrays and scalars in, caller-allocated
outputs (OUT), no validation, the same bits on any thread count.  The per-die draws these
kernels read come from :class:`neuromorph.hardware.converters.ConverterState`; the read
noise they add is drawn exactly as :func:`adc_accumulate`
draws it (same stream, same counters), so a die whose converters are nominal reads the
same noise as a die without mismatch.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from neuromorph._numba import njit, njit_inline, njit_parallel
from neuromorph.hardware._random_kernels import normals

#: Rows of a batch per parallel task of :func:`adc_accumulate`: a fixed split (the bits do not
#: depend on the thread count), long enough that each task reuses its scratch row 16 times.
ADC_ROWS_PER_TASK = 16


@njit
def _dac_level(x, scale, levels):
    """A DAC input as a fraction of full scale: clipped to [-1, 1], on ``levels`` steps
    (``levels = 0``: continuous)."""
    t = x * scale
    if t > 1.0:
        t = 1.0
    elif t < -1.0:
        t = -1.0
    if levels > 0:
        t = np.round(t * levels) / levels
    return t


@njit
def within(x, full_scale):
    """Whether every ``|x[i]| <= full_scale``: an ideal DAC then passes ``x`` unclipped.

    Read-only and serial, without an early exit: a branch-free pass vectorises (0.026 ms for
    262k inputs, against 0.14 ms for a loop that returns at the first input beyond full
    scale).  NaN and inf fail (so the pass is also the inputs' finiteness check).
    """
    beyond = 0
    for i in range(x.size):
        beyond |= not abs(x[i]) <= full_scale
    return beyond == 0


@njit
def dac_convert(x, scale, v_max, levels, v_out, v2_out):
    """Quantise inputs to row voltages; returns whether every input is finite.

    IN  x (n,), scale = 1/input_full_scale, v_max (V), levels = max code (0 = ideal)
    OUT v_out (n,) volts; v2_out (n,) volts**2 if its size is n, else ignored.

    Serial on purpose: the loop vectorises and runs near memory speed (0.11 ms for 262k
    inputs); a parallel launch cost more than it saved (0.19 ms median, 1.1 ms mean on 2
    busy cores, the worker threads waiting for a core).  The finiteness test rides along
    (a NaN or inf makes a NaN voltage, which the caller must refuse): a read then needs no
    separate pass over its inputs (0.06 ms for 262k).
    """
    bad = 0
    if v2_out.size == x.size:
        for i in range(x.size):
            bad |= not abs(x[i]) < np.inf
            v = _dac_level(x[i], scale, levels) * v_max
            v_out[i] = v
            v2_out[i] = v * v
    else:
        for i in range(x.size):
            bad |= not abs(x[i]) < np.inf
            v_out[i] = _dac_level(x[i], scale, levels) * v_max
    return bad == 0


@njit_inline
def _noisy(v, var, z, gain2, noise_v2):
    """Volts ``v`` at an ADC plus its noise: read noise of variance ``var`` (A**2, through the
    TIA's ``gain2``, V**2/A**2) and ADC input noise of variance ``noise_v2`` are independent
    Gaussians, so their sum is one Gaussian of the summed variance, drawn with one normal
    ``z`` (unused when that variance is 0)."""
    total_var = noise_v2 + gain2 * var
    if total_var > 0.0:
        v += math.sqrt(total_var) * z
    return v


@njit_inline
def _row_scratch(cols, noisy):
    """A row's normals and :func:`normals`' scratch (size 0 when the row is noiseless)."""
    n = cols if noisy else 0
    return np.empty(n), np.empty(n, dtype=np.uint64), np.empty(n, dtype=np.int64)


@njit
def _adc_row(mu, var, z, gain, noise_v2, lsb, max_code, out_scale, out, accumulate):
    """One row of :func:`adc_accumulate`: ``z`` (cols,) its normals, or size 0 if noiseless;
    ``var`` (cols,) or size 0."""
    has_var = var.size == mu.size
    noisy = z.size == mu.size
    gain2 = gain * gain
    for j in range(mu.size):
        v = gain * mu[j]
        if noisy:
            v = _noisy(v, var[j] if has_var else 0.0, z[j], gain2, noise_v2)
        if lsb > 0.0:
            code = np.round(v / lsb)
            if code > max_code:
                code = max_code
            elif code < -max_code:
                code = -max_code
            v = code * lsb
        out[j] = (out[j] if accumulate else 0.0) + out_scale * v


@njit
def adc_rows(
    mu, var, key, stream, counter_base, gain, noise_v, lsb, max_code, out_scale, out, row0, row1,
    accumulate=True,
):  # fmt: skip
    """:func:`adc_accumulate` on rows ``row0:row1`` only, serially, on the calling thread (the
    same bits): for small reads, where a parallel launch costs more than it saves."""
    cols = mu.shape[1]
    has_var = var.shape[0] == mu.shape[0]
    noise_v2 = noise_v * noise_v
    noisy = has_var or noise_v2 > 0.0
    base = np.uint64(counter_base)
    no_var = np.empty(0, dtype=var.dtype)
    z, words, misses = _row_scratch(cols, noisy)
    for b in range(row0, row1):
        if noisy:
            normals(key, stream, base + np.uint64(b * cols), z, words, misses)
        row_var = var[b] if has_var else no_var
        _adc_row(mu[b], row_var, z, gain, noise_v2, lsb, max_code, out_scale, out[b], accumulate)


@njit_parallel
def adc_accumulate(
    mu, var, key, stream, counter_base, gain, noise_v, lsb, max_code, out_scale, out, accumulate=True,
):  # fmt: skip
    """Read noise, TIA, ADC for one tile's column currents, accumulated into ``out``.

    IN  mu (batch, cols) mean column currents, amperes
        var (batch, cols) read-noise variance of each current, A**2, or shape (0, 0) = none
        key (uint64), stream (id of :mod:`neuromorph._rng`), counter_base (element offset
        of this tile in the stream)
        gain (V/A), noise_v (ADC input noise std, V), lsb (V, 0 = ideal), max_code
        out_scale: factor from quantised volts to output units
    OUT out (batch, cols) += out_scale * ADC(gain * mu + sqrt(gain**2 var + noise_v**2) z);
        with ``accumulate=False`` it is written as if it held zeros (``0.0 + ...``: the same
        bits), so a read's first row tile needs no zeroed array (a 2 MB ``np.zeros`` took
        0.044 ms against 0.007 ms for ``np.empty``).

    Element ``(b, j)`` takes normal ``counter_base + b cols + j`` of ``stream`` if its total
    variance is > 0 (every normal of a noisy row is drawn, an unused one is discarded).
    Tasks of :data:`ADC_ROWS_PER_TASK` rows, each :func:`adc_rows`.
    """
    batch = mu.shape[0]
    for c in prange((batch + ADC_ROWS_PER_TASK - 1) // ADC_ROWS_PER_TASK):
        row0 = c * ADC_ROWS_PER_TASK
        adc_rows(
            mu, var, key, stream, counter_base, gain, noise_v, lsb, max_code, out_scale, out, row0,
            min(batch, row0 + ADC_ROWS_PER_TASK), accumulate,
        )  # fmt: skip


@njit
def dac_table_rows(x, n_rows, scale, levels, v_max, table, v_out, v2_out, row0, row1, codes):
    """:func:`dac_convert_table` on batch rows ``row0:row1`` only, serially, on the calling
    thread (the same bits); ``codes`` (n_rows,) scratch.

    Two passes per row: the codes (a vectorised loop), then the table lookups one by one (as
    AVX-512 gathers in one loop they are slow here; see :func:`neuromorph.hardware._random_kernels.normals`).
    """
    want2 = v2_out.size == x.size
    for b in range(row0, row1):
        first = b * n_rows
        for r in range(n_rows):
            t = x[first + r] * scale
            if t > 1.0:
                t = 1.0
            elif t < -1.0:
                t = -1.0
            codes[r] = np.round(t * levels)
        for r in range(n_rows):
            code = codes[r]
            level = table[r, int(abs(code))]
            v = (level if code >= 0.0 else -level) * v_max
            v_out[first + r] = v
            if want2:
                v2_out[first + r] = v * v


@njit_parallel
def dac_convert_table(x, n_rows, scale, levels, v_max, table, v_out, v2_out):
    """Quantise inputs to row voltages through each row's own DAC levels.

    IN  x (n,) inputs of a C-ordered (batch, n_rows) array; scale = 1/input_full_scale;
        levels = max code (> 0); v_max (V); table (n_rows, levels + 1): the fraction of
        v_max each row's DAC puts out for codes 0..levels (the same for both signs)
    OUT v_out (n,) volts; v2_out (n,) volts**2 if its size is n, else ignored.

    The code is the nominal DAC's, ``round(clip(x scale, -1, 1) levels)``; a row with the
    nominal table ``c / levels`` gives the same bits as :func:`dac_convert`.  Tasks of
    :data:`ADC_ROWS_PER_TASK` batch rows, each :func:`dac_table_rows`.  Measured for a
    (2000, 500) batch, 2 threads: 1.6 ms, against 2.4-3.8 ms for one flat loop that found
    each input's row by a modulo and looked its level up in the same loop.
    """
    batch = x.size // n_rows
    for c in prange((batch + ADC_ROWS_PER_TASK - 1) // ADC_ROWS_PER_TASK):
        row0 = c * ADC_ROWS_PER_TASK
        dac_table_rows(
            x, n_rows, scale, levels, v_max, table, v_out, v2_out, row0,
            min(batch, row0 + ADC_ROWS_PER_TASK), np.empty(n_rows),
        )  # fmt: skip


@njit
def _sar_step(acc, x, v, w_pos, w_neg, code, bit):
    """One bit of a row's SAR conversions, every column at once (monotonic switching).

    Column ``j``'s higher side (``w_pos`` for ``v[j] >= 0``, else ``w_neg``: that bit's weight
    in nominal LSBs in each column) tries the bit: it keeps it when the input ``x[j]`` reaches
    the running threshold ``acc[j]`` plus the weight, and then ``acc[j]`` moves up and
    ``code[j]`` gains ``bit``.  A function of its own, not inlined: its loop then vectorises
    across the columns (a (1024, 256) read, 8 bits: 1.6 ms against 5.9 ms for one
    conversion's bits after another, as branch-free scalar code; the same bits).
    """
    for j in range(acc.size):
        pos = v[j] >= 0.0
        a = w_pos[j]
        c = w_neg[j]
        trial = acc[j] + (a if pos else c)
        keep = x[j] >= trial
        acc[j] = trial if keep else acc[j]
        code[j] += bit * keep


@njit
def _sar_row(v, lsb, weights, x, acc, code):
    """Signed codes ``code`` (cols,) of one differential SAR conversion of each ``v`` (cols,) volts.

    The first comparison is the sign (no capacitor switched); then, from the most significant
    bit down, :func:`_sar_step`, the input taken half an LSB up.  ``weights`` (2, m, cols):
    bit ``k``'s weight in nominal LSBs in each column, side 0 for positive inputs, side 1 for
    negative.  Scratch ``x``, ``acc`` (cols,).
    """
    for j in range(v.size):
        x[j] = abs(v[j]) / lsb + 0.5
        acc[j] = 0.0
        code[j] = 0
    for k in range(weights.shape[1] - 1, -1, -1):
        _sar_step(acc, x, v, weights[0, k], weights[1, k], code, np.int64(1) << k)
    for j in range(v.size):
        code[j] = code[j] if v[j] >= 0.0 else -code[j]


@njit
def sar_rows(
    mu, var, key, stream, counter_base, gain, noise_v, lsb, out_scale, adc_gain, adc_offset_v, weights, out,
    row0, row1, accumulate=True,
):  # fmt: skip
    """:func:`sar_accumulate` on rows ``row0:row1`` only, serially, on the calling thread (the
    same bits): for small reads, where a parallel launch costs more than it saves."""
    cols = mu.shape[1]
    has_var = var.shape[0] == mu.shape[0]
    noise_v2 = noise_v * noise_v
    noisy = has_var or noise_v2 > 0.0
    gain2 = gain * gain
    base = np.uint64(counter_base)
    # A row's normals drawn together, as adc_rows does (the same bits as one by one).
    z, words, misses = _row_scratch(cols, noisy)
    v, x, acc = np.empty(cols), np.empty(cols), np.empty(cols)
    code = np.empty(cols, dtype=np.int64)
    for b in range(row0, row1):
        if noisy:
            normals(key, stream, base + np.uint64(b * cols), z, words, misses)
        for j in range(cols):
            vj = gain * mu[b, j]
            if noisy:
                vj = _noisy(vj, var[b, j] if has_var else 0.0, z[j], gain2, noise_v2)
            v[j] = adc_gain[j] * vj + adc_offset_v[j]
        if lsb > 0.0:
            _sar_row(v, lsb, weights, x, acc, code)
            for j in range(cols):
                out[b, j] = (out[b, j] if accumulate else 0.0) + out_scale * (code[j] * lsb)
        else:
            for j in range(cols):
                out[b, j] = (out[b, j] if accumulate else 0.0) + out_scale * v[j]


@njit_parallel
def sar_accumulate(
    mu, var, key, stream, counter_base, gain, noise_v, lsb, out_scale, adc_gain, adc_offset_v, weights, out,
    accumulate=True,
):  # fmt: skip
    """Read noise, TIA, per-column gain/offset and a SAR ADC per column, accumulated into ``out``.

    IN  mu (batch, cols) mean column currents, amperes (or volts with gain = 1)
        var (batch, cols) read-noise variance, A**2, or shape (0, 0) = none
        key, stream, counter_base: as :func:`adc_accumulate` (the same draws)
        gain (V/A), noise_v (ADC input noise std, V), lsb (V, 0 = no quantisation)
        out_scale: factor from quantised volts to output units
        adc_gain (cols,), adc_offset_v (cols,): each column's gain and offset ahead of its SAR
        weights (2, m, cols): each column's bit weights in nominal LSBs, bit-major (bit ``k`` of
        every column contiguous), side 0 for positive inputs, side 1 for negative (unused when
        lsb = 0)
    OUT out (batch, cols) += out_scale * SAR(adc_gain (gain mu + noise) + adc_offset_v);
        ``accumulate=False``: written as if it held zeros, as :func:`adc_accumulate`

    Tasks of :data:`ADC_ROWS_PER_TASK` rows, each :func:`sar_rows`.  Measured on a (2000, 500)
    read (8-bit, 2 threads): 9.9 ms, against 16.6 ms with the normals drawn one by one and the
    SAR's decisions as branches.
    """
    batch = mu.shape[0]
    for c in prange((batch + ADC_ROWS_PER_TASK - 1) // ADC_ROWS_PER_TASK):
        row0 = c * ADC_ROWS_PER_TASK
        sar_rows(
            mu, var, key, stream, counter_base, gain, noise_v, lsb, out_scale, adc_gain,
            adc_offset_v, weights, out, row0, min(batch, row0 + ADC_ROWS_PER_TASK), accumulate,
        )  # fmt: skip


@njit
def scale_in_place(mu, gain, out_scale):
    """An exact read's conversion: the TIA and an ideal, noiseless ADC, in one pass.

    IN/OUT mu (n,): column currents in, ``out_scale * (gain * mu)`` out (output units), the
    same bits as :func:`adc_accumulate` adds to zeros.  Serial, as :func:`dac_convert` (a
    vectorised pass at memory speed).
    """
    for i in range(mu.size):
        mu[i] = out_scale * (gain * mu[i])
