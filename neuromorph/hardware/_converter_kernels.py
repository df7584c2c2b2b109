"""Numba kernels of mismatched converters: table DACs and SAR ADCs (layer 1, private).

Contract as in :mod:`neuromorph.hardware._kernels`: arrays and scalars in, caller-allocated
outputs (OUT), no validation, the same bits on any thread count.  The per-die draws these
kernels read come from :class:`neuromorph.hardware.converters.ConverterState`; the read
noise they add is drawn exactly as :func:`neuromorph.hardware._kernels.adc_accumulate`
draws it (same stream, same counters), so a die whose converters are nominal reads the
same noise as a die without mismatch.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from neuromorph._numba import CHUNK, njit, njit_parallel
from neuromorph.hardware._kernels import normal


@njit_parallel
def dac_convert_table(x, n_rows, scale, levels, v_max, table, v_out, v2_out):
    """Quantise inputs to row voltages through each row's own DAC levels.

    IN  x (n,) inputs of a C-ordered (batch, n_rows) array; scale = 1/input_full_scale;
        levels = max code (> 0); v_max (V); table (n_rows, levels + 1): the fraction of
        v_max each row's DAC puts out for codes 0..levels (the same for both signs)
    OUT v_out (n,) volts; v2_out (n,) volts**2 if its size is n, else ignored.

    The code is the nominal DAC's, ``round(clip(x scale, -1, 1) levels)``; a row with the
    nominal table ``c / levels`` gives the same bits as ``_kernels.dac_convert``.
    """
    n = x.size
    want2 = v2_out.size == n
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            t = x[i] * scale
            if t > 1.0:
                t = 1.0
            elif t < -1.0:
                t = -1.0
            code = np.round(t * levels)
            level = table[i % n_rows, int(abs(code))]
            v = (level if code >= 0.0 else -level) * v_max
            v_out[i] = v
            if want2:
                v2_out[i] = v * v


@njit
def sar_code(v, lsb, weights_side_p, weights_side_n):
    """Signed code of one differential SAR conversion of ``v`` volts (monotonic switching).

    The first comparison is the sign (no capacitor switched); then, from the most significant
    bit down, the array of the higher side tries each bit: it keeps bit ``k`` when the input,
    half an LSB up, reaches the running threshold plus that bit's weight.  ``weights_side_*``
    (m,) are the bit weights in nominal LSBs of the side used for positive / negative inputs.
    """
    w = weights_side_p if v >= 0.0 else weights_side_n
    x = abs(v) / lsb + 0.5
    acc = 0.0
    code = 0
    for k in range(w.size - 1, -1, -1):
        trial = acc + w[k]
        if x >= trial:
            acc = trial
            code += 1 << k
    return code if v >= 0.0 else -code


@njit_parallel
def sar_accumulate(
    mu, var, key, stream, counter_base, gain, noise_v, lsb, out_scale, adc_gain, adc_offset_v, weights, out
):
    """Read noise, TIA, per-column gain/offset and a SAR ADC per column, accumulated into ``out``.

    IN  mu (batch, cols) mean column currents, amperes (or volts with gain = 1)
        var (batch, cols) read-noise variance, A**2, or shape (0, 0) = none
        key, stream, counter_base: as ``_kernels.adc_accumulate`` (the same draws)
        gain (V/A), noise_v (ADC input noise std, V), lsb (V, 0 = no quantisation)
        out_scale: factor from quantised volts to output units
        adc_gain (cols,), adc_offset_v (cols,): each column's gain and offset ahead of its SAR
        weights (cols, 2, m): each column's bit weights in nominal LSBs, side 0 for positive
        inputs, side 1 for negative (unused when lsb = 0)
    OUT out (batch, cols) += out_scale * SAR(adc_gain (gain mu + noise) + adc_offset_v)
    """
    batch, cols = mu.shape
    has_var = var.shape[0] == batch
    noise_v2 = noise_v * noise_v
    gain2 = gain * gain
    base = np.uint64(counter_base)
    for b in prange(batch):
        for j in range(cols):
            v = gain * mu[b, j]
            total_var = noise_v2
            if has_var:
                total_var += gain2 * var[b, j]
            if total_var > 0.0:
                v += math.sqrt(total_var) * normal(key, stream, base + np.uint64(b * cols + j))
            v = adc_gain[j] * v + adc_offset_v[j]
            if lsb > 0.0:
                v = sar_code(v, lsb, weights[j, 0], weights[j, 1]) * lsb
            out[b, j] += out_scale * v


@njit
def _scale_run(mu, gain, out_scale):
    """:func:`scale_in_place` on one run (a serial kernel, so Numba vectorises it)."""
    for i in range(mu.size):
        mu[i] = out_scale * (gain * mu[i])


@njit_parallel
def scale_in_place(mu, gain, out_scale):
    """An exact read's conversion: the TIA and an ideal, noiseless ADC, in one pass.

    IN/OUT mu (n,): column currents in, ``out_scale * (gain * mu)`` out (output units), the
    same bits as :func:`neuromorph.hardware._kernels.adc_accumulate` adds to zeros.
    """
    n = mu.size
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo, hi = c * CHUNK, min(n, (c + 1) * CHUNK)
        _scale_run(mu[lo:hi], gain, out_scale)
