"""Numba kernels for the per-device work of a crossbar (layer 1, private).

Contract: every kernel takes arrays and scalars only, writes into caller-allocated outputs
(marked OUT), never validates, and is deterministic on any thread count.

Randomness inside kernels is **counter-based**: a 64-bit ``key`` drawn once per call from the
caller's ``numpy.random.Generator``, a named stream id (:mod:`neuromorph._rng`) and a counter
unique to each (element, draw) of that stream form one 64-bit word,
``stream << 56 | kind << 55 | index``, which is hashed with the key by SplitMix64 (Steele, Lea
& Flood, OOPSLA 2014) into a uniform; a uniform's index is its counter, a normal's is
``counter << 8 | j`` for the ``j``-th of the 256 draws reserved for its ziggurat (kind 1).
For a fixed key the hash is a bijection of the word, so two streams, or a uniform and a
normal, never share a draw.  Each element's draws depend only on (key, stream, its index),
so ``prange`` may schedule elements in any order on any number of threads and the bits are
the same.  The matrix products themselves are left to BLAS by the callers.

Stuck devices are recognised by the integer codes of
:class:`neuromorph.hardware.devices.StuckCode`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from neuromorph._numba import CHUNK, njit, njit_parallel
from neuromorph._rng import (
    DRAWS_PER_NORMAL_BITS,
    STREAM_BITS,
    STREAM_PULSE_NOISE,
    STREAM_PULSE_ROUNDING,
    STREAM_VERIFY_READ,
)
from neuromorph.hardware.devices import StuckCode

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV_2_53 = 1.0 / 9007199254740992.0
#: Position of the stream id in the hashed word (its top STREAM_BITS bits).
_STREAM_SHIFT = np.uint64(64 - STREAM_BITS)
#: The bit below the stream id that marks a normal's reserved draws.
_NORMAL_BIT = np.uint64(1) << np.uint64(64 - STREAM_BITS - 1)
_DRAW_SHIFT = np.uint64(DRAWS_PER_NORMAL_BITS)
#: A device that takes pulses (StuckCode.NONE), as a plain int for the kernels.
_FREE = int(StuckCode.NONE)


@njit
def _hash(key, word):
    """SplitMix64 output for (key, word), uint64."""
    z = key + np.uint64(word) * _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit
def _unit(z):
    """The top 53 bits of ``z`` as a uniform in (0, 1), mid-interval."""
    return (float(z >> _S11) + 0.5) * _INV_2_53


@njit
def uniform_word(stream, counter):
    """Hashed word of the uniform ``counter`` of ``stream`` (counter < 2**55)."""
    return (np.uint64(stream) << _STREAM_SHIFT) | np.uint64(counter)


@njit
def normal_word(stream, counter, j):
    """Hashed word of the ``j``-th draw reserved for normal ``counter`` of ``stream``."""
    index = (np.uint64(counter) << _DRAW_SHIFT) | np.uint64(j)
    return (np.uint64(stream) << _STREAM_SHIFT) | _NORMAL_BIT | index


@njit
def uniform(key, stream, counter):
    """Uniform in (0, 1) for (key, stream, counter)."""
    return _unit(_hash(key, uniform_word(stream, counter)))


def _ziggurat_tables(n=128, r=3.442619855899, v=9.91256303526217e-3):
    """Layer edges ``x`` and ratios ``x[i+1]/x[i]`` of Doornik's ZIGNOR (2005), n layers."""
    x = np.zeros(n + 1)
    f = math.exp(-0.5 * r * r)
    x[0] = v / f
    x[1] = r
    for i in range(2, n):
        x[i] = math.sqrt(-2.0 * math.log(v / x[i - 1] + f))
        f = math.exp(-0.5 * x[i] * x[i])
    return x, x[1:] / x[:-1]


_ZIG_X, _ZIG_RATIO = _ziggurat_tables()
_ZIG_R = 3.442619855899
_LOW7 = np.uint64(0x7F)


@njit
def normal(key, stream, counter):
    """Standard normal for (key, stream, counter) by the ziggurat method (Marsaglia & Tsang,
    J. Stat. Softw. 5(8), 2000, in Doornik's exact ZIGNOR form, 2005).

    Uses the draws ``normal_word(stream, counter, j)`` for j = 0, 1, ...: one draw 98.8 % of
    the time.
    """
    j = 0
    while True:
        z = _hash(key, normal_word(stream, counter, j))
        j += 1
        u = 2.0 * _unit(z) - 1.0
        i = int(z & _LOW7)
        if abs(u) < _ZIG_RATIO[i]:
            return u * _ZIG_X[i]
        if i == 0:
            while True:
                xt = math.log(_unit(_hash(key, normal_word(stream, counter, j)))) / _ZIG_R
                yt = math.log(_unit(_hash(key, normal_word(stream, counter, j + 1))))
                j += 2
                if -2.0 * yt >= xt * xt:
                    return xt - _ZIG_R if u < 0.0 else _ZIG_R - xt
        x = u * _ZIG_X[i]
        f0 = math.exp(-0.5 * (_ZIG_X[i] * _ZIG_X[i] - x * x))
        f1 = math.exp(-0.5 * (_ZIG_X[i + 1] * _ZIG_X[i + 1] - x * x))
        if f1 + _unit(_hash(key, normal_word(stream, counter, j))) * (f0 - f1) < 1.0:
            return x
        j += 1


@njit_parallel
def dac_convert(x, scale, v_max, levels, v_out, v2_out):
    """Quantise inputs to row voltages.

    IN  x (n,), scale = 1/input_full_scale, v_max (V), levels = max code (0 = ideal)
    OUT v_out (n,) volts; v2_out (n,) volts**2 if its size is n, else ignored.
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
            if levels > 0:
                t = np.round(t * levels) / levels
            v = t * v_max
            v_out[i] = v
            if want2:
                v2_out[i] = v * v


@njit_parallel
def adc_accumulate(mu, var, key, stream, counter_base, gain, noise_v, lsb, max_code, out_scale, out):
    """Read noise, TIA, ADC for one tile's column currents, accumulated into ``out``.

    IN  mu (batch, cols) mean column currents, amperes
        var (batch, cols) read-noise variance of each current, A**2, or shape (0, 0) = none
        key (uint64), stream (id of :mod:`neuromorph._rng`), counter_base (element offset
        of this tile in the stream)
        gain (V/A), noise_v (ADC input noise std, V), lsb (V, 0 = ideal), max_code
        out_scale: factor from quantised volts to output units
    OUT out (batch, cols) += out_scale * ADC(gain * mu + sqrt(gain**2 var + noise_v**2) z)
    """
    batch, cols = mu.shape
    has_var = var.shape[0] == batch
    noise_v2 = noise_v * noise_v
    gain2 = gain * gain
    base = np.uint64(counter_base)
    for b in prange(batch):
        for j in range(cols):
            v = gain * mu[b, j]
            # Read noise (through the TIA) and ADC input noise are independent Gaussians:
            # their sum is one Gaussian of the summed variance, drawn with one normal.
            total_var = noise_v2
            if has_var:
                total_var += gain2 * var[b, j]
            if total_var > 0.0:
                v += math.sqrt(total_var) * normal(key, stream, base + np.uint64(b * cols + j))
            if lsb > 0.0:
                code = np.round(v / lsb)
                if code > max_code:
                    code = max_code
                elif code < -max_code:
                    code = -max_code
                v = code * lsb
            out[b, j] += out_scale * v


@njit
def drift_factor(tau_now, tau_prog, nu, t0):
    """Retention drift ``((age + t0) / t0) ** -nu`` of one device, ``age = tau_now - tau_prog``.

    The one statement of the drift law of :class:`neuromorph.hardware.devices.DriftParams`
    (1 for a device that does not drift or was programmed at or after ``tau_now``).
    """
    age = tau_now - tau_prog
    if nu == 0.0 or age <= 0.0:
        return 1.0
    return ((age + t0) / t0) ** (-nu)


@njit_parallel
def drifted_conductance(g_prog, tau_prog, nu, tau_now, t0, g_out):
    """Programmed conductances after retention drift, at the reference temperature.

    IN  g_prog, tau_prog, nu (2, n): programmed G (S), equivalent programming time (s) and
        drift exponent of each device; tau_now (s), t0 (s)
    OUT g_out (2, n) S: what a verify read at the reference temperature sees (no noise)
    """
    n = g_prog.shape[1]
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            for s in range(2):
                g_out[s, i] = g_prog[s, i] * drift_factor(tau_now, tau_prog[s, i], nu[s, i], t0)


@njit_parallel
def effective_conductance(
    g_prog, tau_prog, nu, tau_now, t0, g_min, g_range,
    alpha_lo, alpha_hi, ea_lo, ea_hi, delta_t, arrhenius_x, read_rel,
    g_eff_out, gdiff_out, gvar_out,
):  # fmt: skip
    """Conductances as a read sees them now: drift, then the temperature law.

    IN  g_prog, tau_prog, nu (2, n): programmed G at T_ref (S), equivalent programming
        time (s), drift exponent, for the + (row 0) and - (row 1) device of each pair
        tau_now (s), t0 (s); g_min, g_range (S) nominal, for the state u
        alpha_lo/hi (1/K), ea_lo/hi (eV), delta_t = T - T_ref (K),
        arrhenius_x = (1/T - 1/T_ref) / k_B (1/eV); read_rel (relative read-noise std)
    OUT g_eff_out (2, n) S; gdiff_out (n,) = G+ - G-; gvar_out (n,) = read_rel**2 (G+**2 + G-**2)
    """
    n = g_prog.shape[1]
    rr2 = read_rel * read_rel
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            for s in range(2):
                g = g_prog[s, i] * drift_factor(tau_now, tau_prog[s, i], nu[s, i], t0)
                if delta_t != 0.0:
                    u = (g - g_min) / g_range
                    if u < 0.0:
                        u = 0.0
                    elif u > 1.0:
                        u = 1.0
                    alpha = alpha_lo + (alpha_hi - alpha_lo) * u
                    ea = ea_lo + (ea_hi - ea_lo) * u
                    g = g * (1.0 + alpha * delta_t) * math.exp(-ea * arrhenius_x)
                g_eff_out[s, i] = g
            gdiff_out[i] = g_eff_out[0, i] - g_eff_out[1, i]
            gvar_out[i] = rr2 * (g_eff_out[0, i] ** 2 + g_eff_out[1, i] ** 2)


@njit
def apply_pulses(g, count, up, lo, hi, s_up, s_down, a_up, a_down, c2c, key, counter0):
    """``count`` pulses of one polarity on one device; returns the new conductance.

    The soft/hard-bound law of :mod:`neuromorph.hardware.devices`, c2c noise per pulse drawn
    from ``STREAM_PULSE_NOISE`` at counters ``counter0 .. counter0 + count - 1`` (uint64),
    clipped to the device's [lo, hi].
    """
    span = hi - lo
    for k in range(count):
        u = (g - lo) / span
        if up:
            dg = s_up * (1.0 - a_up * u)
        else:
            dg = -s_down * (1.0 - a_down * (1.0 - u))
        if c2c > 0.0:
            dg *= 1.0 + c2c * normal(key, STREAM_PULSE_NOISE, counter0 + np.uint64(k))
        g += dg
        if g > hi:
            g = hi
        elif g < lo:
            g = lo
    return g


@njit_parallel
def pulse_update(
    g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, desired, scale,
    a_up, a_down, c2c, tau_now, t0, key, max_pulses, pulses_out,
):  # fmt: skip
    """Apply a desired update, ``scale * desired`` in signed pulse units, to every pair.

    For pair i, ``n = stochastic_round(|scale * desired[i]|)`` (capped at max_pulses); a positive
    update sends ceil(n/2) up-pulses to G+ and floor(n/2) down-pulses to G-, a negative one
    the mirror.  A pulsed device first settles to its drifted conductance (the new base) and
    restarts its drift clock at ``tau_now``.  Stuck devices receive pulses but do not move.
    Draws: the rounding of pair i is uniform ``i`` of ``STREAM_PULSE_ROUNDING``; pulse k of
    device (i, s) uses normal ``(2 i + s) max_pulses + k`` of ``STREAM_PULSE_NOISE``.

    IN/OUT g_prog, tau_prog (2, n); IN nu, stuck (int8), g_lo, g_hi, s_up, s_down (2, n),
           desired (n,), scale (pulses per unit of desired)
    OUT pulses_out (2, n) int64: pulses sent to each device
    """
    n = desired.size
    per_dev = np.uint64(max_pulses)
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            p = scale * desired[i]
            pulses_out[0, i] = 0
            pulses_out[1, i] = 0
            if p == 0.0:
                continue
            mag = abs(p)
            count = int(math.floor(mag))
            if uniform(key, STREAM_PULSE_ROUNDING, i) < mag - count:
                count += 1
            if count > max_pulses:
                count = max_pulses
            if count == 0:
                continue
            first = (count + 1) // 2
            second = count // 2
            # side 0 is G+; a positive update raises G+ and lowers G-.
            for s in range(2):
                k = first if s == 0 else second
                up = (s == 0) == (p > 0.0)
                if p < 0.0:
                    k = second if s == 0 else first
                if k == 0:
                    continue
                pulses_out[s, i] = k
                if stuck[s, i] != _FREE:
                    continue
                g = g_prog[s, i] * drift_factor(tau_now, tau_prog[s, i], nu[s, i], t0)
                g_prog[s, i] = apply_pulses(
                    g, k, up, g_lo[s, i], g_hi[s, i], s_up[s, i], s_down[s, i],
                    a_up, a_down, c2c, key, np.uint64(2 * i + s) * per_dev,
                )  # fmt: skip
                tau_prog[s, i] = tau_now


@njit_parallel
def write_verify(
    g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, target,
    a_up, a_down, c2c, step_up, step_down, read_rel, tol_s, max_iter, max_pulses,
    g_floor, g_ceil, compensate, active, tau_now, t0, key, pulses_out, reads_out,
):  # fmt: skip
    """Program every active differential pair towards ``target`` by program-and-verify.

    Pairs with ``active[i] == 0`` are left alone (no reads, no pulses).

    Each iteration reads the device once (read noise ``read_rel``), stops if
    ``|target - read| <= tol_s``, else sends ``max(1, round(|err| / nominal step))`` pulses
    (at most ``max_pulses``) of the needed polarity.  The verify read sees the device at the
    reference temperature, freshly programmed (the programmer compensates temperature).

    The pair's larger target is programmed first.  With ``compensate``, the second device is
    then retargeted to ``last read of the first -/+ (target+ - target-)``, clipped to
    [g_floor, g_ceil]: the difference, which is the weight, absorbs the first device's error,
    even a stuck device's when the window allows.  Only verify reads inform this.

    Draws: verify read ``it`` of device (i, s) is normal ``(2 i + s) max_iter + it`` of
    ``STREAM_VERIFY_READ``; the pulses that follow it take normals from ``max_pulses`` times
    that index on in ``STREAM_PULSE_NOISE``.

    IN/OUT g_prog, tau_prog (2, n); IN nu, stuck, g_lo, g_hi, s_up, s_down, target (2, n),
    active (n,) int8; OUT pulses_out, reads_out (2, n) int64
    """
    n = target.shape[1]
    per_dev = np.uint64(max_iter)
    per_read = np.uint64(max_pulses)
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            if active[i] == 0:
                pulses_out[0, i] = 0
                pulses_out[1, i] = 0
                reads_out[0, i] = 0
                reads_out[1, i] = 0
                continue
            diff = target[0, i] - target[1, i]
            first = 0 if diff >= 0.0 else 1
            last_read = 0.0
            for order in range(2):
                s = first if order == 0 else 1 - first
                goal = target[s, i]
                if order == 1 and compensate:
                    goal = last_read - diff if s == 1 else last_read + diff
                    if goal < g_floor:
                        goal = g_floor
                    elif goal > g_ceil:
                        goal = g_ceil
                g = g_prog[s, i] * drift_factor(tau_now, tau_prog[s, i], nu[s, i], t0)
                dev = np.uint64(2 * i + s) * per_dev
                pulses = 0
                reads = 0
                for it in range(max_iter):
                    read = dev + np.uint64(it)
                    measured = g
                    if read_rel > 0.0:
                        measured = g * (1.0 + read_rel * normal(key, STREAM_VERIFY_READ, read))
                    reads += 1
                    last_read = measured
                    err = goal - measured
                    if abs(err) <= tol_s:
                        break
                    up = err > 0.0
                    step = step_up if up else step_down
                    k = int(np.round(abs(err) / step))
                    if k < 1:
                        k = 1
                    if k > max_pulses:
                        k = max_pulses
                    pulses += k
                    if stuck[s, i] == _FREE:
                        g = apply_pulses(
                            g, k, up, g_lo[s, i], g_hi[s, i], s_up[s, i], s_down[s, i],
                            a_up, a_down, c2c, key, read * per_read,
                        )  # fmt: skip
                if stuck[s, i] == _FREE:
                    g_prog[s, i] = g
                    tau_prog[s, i] = tau_now
                pulses_out[s, i] = pulses
                reads_out[s, i] = reads
