"""Numba kernels for the per-device work of a crossbar (layer 1, private).

Contract: every kernel takes arrays and scalars only, writes into caller-allocated outputs
(marked OUT), never validates, and is deterministic on any thread count.

Randomness inside kernels is counter-based (:mod:`neuromorph.hardware._random_kernels`): each
element's draws depend only on (key, stream, its index), so ``prange`` may schedule elements
in any order on any number of threads and the bits are the same.  The matrix products
themselves are left to BLAS by the callers.

Stuck devices are recognised by the integer codes of
:class:`neuromorph.hardware.devices.StuckCode`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from neuromorph._numba import CHUNK, njit, njit_inline, njit_parallel
from neuromorph._rng import (
    STREAM_PULSE_NOISE,
    STREAM_PULSE_NOISE_RETRY,
    STREAM_PULSE_ROUNDING,
    STREAM_RETENTION,
    STREAM_VERIFY_READ,
    STREAM_VERIFY_RETRY,
)
from neuromorph.hardware._random_kernels import normal, uniform
from neuromorph.hardware.devices import DeviceModel, StuckCode

#: A device that takes pulses (StuckCode.NONE), as a plain int for the kernels.
_FREE = int(StuckCode.NONE)
#: The code a device takes when its pulse budget is spent.
_WORN = int(StuckCode.FIXED)
#: Smallest ``G / g_max`` the state-dependent drift law takes a logarithm of (aihwkit's
#: ``_ZERO_CLIP``).
_X_FLOOR = 1e-7

# Packed laws: each law's scalars travel to the kernels as one float64 array, built once by
# pulse_law, retention_law and temperature_law below, read by these indices.
#: pulse_law: soft bounds a_up, a_down; c2c; exponential step a, b, A_up, A_down, gammas;
#: complex c2c: additive std (S), slope in G - g_lo.
(
    P_A_UP, P_A_DOWN, P_C2C, P_EXP_A, P_EXP_B, P_AMP_UP, P_AMP_DOWN, P_GAMMA_UP, P_GAMMA_DOWN,
    P_C2C_ADD, P_C2C_SLOPE,
) = range(11)  # fmt: skip
#: retention_law: mode, t0, exponent mean offset/slope/clip, std offset/slope/clip, g_max for
#: x = G / g_max, relaxation shift/std growth/std at t0, whether programming redraws.
(
    R_MODE, R_T0, R_MEAN, R_MEAN_SLOPE, R_MEAN_LO, R_MEAN_HI, R_STD, R_STD_SLOPE, R_STD_LO,
    R_STD_HI, R_G_NORM, R_SHIFT, R_STD_LN, R_STD_T0, R_REDRAW,
) = range(15)  # fmt: skip
#: Retention modes: power-law drift, log-time relaxation.
MODE_POWER, MODE_RELAX = 0, 1
#: temperature_law: T - T_ref, the low- and high-state paths' factors f_low(T), f_high(T),
#: the conductance where the paths split (g_min parallel, g_max series), the conduction model.
T_DELTA, T_F_LOW, T_F_HIGH, T_G_SPLIT, T_PATHS = range(5)
#: Conduction models of the packed temperature law (TemperatureParams.paths).
PATHS_PARALLEL, PATHS_SERIES = 0, 1
#: verify_noise_law: read_noise_rel q0, state exponent, cap, g_max, 1 for the 1/f law, the
#: 1/f time offset t0 and read duration t_r (NoiseParams; neuromorph.hardware.noise).
V_Q0, V_EXPONENT, V_CAP, V_G_MAX, V_PINK, V_T0, V_T_READ = range(7)
#: aihwkit clamps ``(G/g_max)**exponent`` at this floor before dividing (noise.amplitude's).
_AMPLITUDE_FLOOR = 1e-3


def pulse_law(device: DeviceModel) -> np.ndarray:
    """The pulse law of ``device`` packed for the kernels (indices ``P_*``)."""
    p = device.pulse
    return np.array(
        [
            p.nonlinearity_up, p.nonlinearity_down, p.c2c_rel, p.exp_a, p.exp_b,
            p.exp_amp_up, p.exp_amp_down, p.exp_gamma_up, p.exp_gamma_down,
            p.c2c_add_steps * device.step_s, p.c2c_slope,
        ]
    )  # fmt: skip


def retention_law(device: DeviceModel) -> np.ndarray:
    """The retention law of ``device`` (drift or relaxation) packed for the kernels (``R_*``)."""
    d, r = device.drift, device.relaxation
    mode = MODE_RELAX if r.active else MODE_POWER
    redraw = 1.0 if r.active or d.state_dependent else 0.0
    return np.array(
        [
            mode, d.t0_s, d.nu_mean, d.nu_log_slope, d.nu_min, d.nu_max, d.nu_std,
            d.std_log_slope, d.std_min, d.std_max, device.conductance.g_max_s,
            r.shift_per_ln_s, r.std_per_ln_s, r.std_at_t0_s, redraw,
        ],
        dtype=np.float64,
    )  # fmt: skip


def temperature_law(device: DeviceModel, temperature_k: float) -> np.ndarray:
    """The temperature law of ``device`` at ``temperature_k`` packed for the kernels (``T_*``)."""
    tp, c = device.temperature, device.conductance
    f_low, f_high = tp.path_factors(temperature_k)
    series = tp.paths == "series"
    return np.array(
        [
            temperature_k - tp.t_ref_k, f_low, f_high, c.g_max_s if series else c.g_min_s,
            PATHS_SERIES if series else PATHS_PARALLEL,
        ],
        dtype=np.float64,
    )  # fmt: skip


def verify_noise_law(device: DeviceModel) -> np.ndarray:
    """The read-noise law of ``device`` as one verify read sees it, packed (``V_*``)."""
    n = device.noise
    cap = math.inf if n.read_noise_max_rel is None else n.read_noise_max_rel
    return np.array(
        [
            n.read_noise_rel, n.read_noise_exponent, cap, device.conductance.g_max_s,
            1.0 if n.read_noise_law == "pink" else 0.0, device.drift.t0_s, n.t_read_s,
        ],
        dtype=np.float64,
    )  # fmt: skip


@njit
def verify_noise_rel(g, age, nl):
    """Relative std of one verify read of a device programmed to ``g`` (S), ``age`` s ago.

    The marginal of the crossbar's read-noise law (:mod:`neuromorph.hardware.noise`): the
    state-dependent amplitude ``q(g) = min(q0 / max((g/g_max)**exponent, 1e-3), cap)``, times
    ``sqrt(ln((age + t0 + t_r) / (2 t_r)))`` for the 1/f law (its accumulated variance at
    that age); ``q0`` itself for a constant white law.
    """
    q = nl[V_Q0]
    if nl[V_EXPONENT] != 0.0:
        q = q / max((abs(g) / nl[V_G_MAX]) ** nl[V_EXPONENT], _AMPLITUDE_FLOOR)
    q = min(q, nl[V_CAP])
    if nl[V_PINK] != 0.0:
        t = max(age, 0.0) + nl[V_T0]
        q = q * math.sqrt(max(math.log((t + nl[V_T_READ]) / (2.0 * nl[V_T_READ])), 0.0))
    return q


@njit_inline
def retained(g_prog, tau_now, tau_prog, r, ret):
    """A device's conductance after retention, at the reference temperature.

    The one statement of the retention laws of :class:`~neuromorph.hardware.devices.DriftParams`
    (``G ((age + t0) / t0) ** -r``, ``r`` the exponent) and
    :class:`~neuromorph.hardware.devices.RelaxationParams` (``G + shift L + r (std_ln L +
    std_t0)``, ``L = ln(max(age, t0) / t0)``, ``r`` the device's normal deviate, clipped at
    0), ``age = tau_now - tau_prog``.  Returns ``g_prog`` itself at age <= 0 (and for a zero
    exponent).
    """
    age = tau_now - tau_prog
    if age <= 0.0:
        return g_prog
    t0 = ret[R_T0]
    if ret[R_MODE] == MODE_POWER:
        if r == 0.0:
            return g_prog
        return g_prog * ((age + t0) / t0) ** (-r)
    big_l = math.log(max(age, t0) / t0)
    g = g_prog + ret[R_SHIFT] * big_l + r * (ret[R_STD_LN] * big_l + ret[R_STD_T0])
    return g if g > 0.0 else 0.0


@njit_inline
def retention_draw(g, z, ret):
    """A device's retention parameter drawn at programming to ``g`` from the normal ``z``.

    Relaxation: ``z`` itself.  Power law: ``|mu(x) + sigma(x) z|``, ``x = max(g / g_max, 1e-7)``,
    ``mu = clip(mean + mean_slope ln x)``, ``sigma = clip(std + std_slope ln x)``.
    """
    if ret[R_MODE] == MODE_RELAX:
        return z
    lx = math.log(max(g / ret[R_G_NORM], _X_FLOOR))
    mu = min(max(ret[R_MEAN] + ret[R_MEAN_SLOPE] * lx, ret[R_MEAN_LO]), ret[R_MEAN_HI])
    sd = min(max(ret[R_STD] + ret[R_STD_SLOPE] * lx, ret[R_STD_LO]), ret[R_STD_HI])
    return abs(mu + sd * z)


@njit_parallel
def retention_parameters(g, z, ret, out):
    """:func:`retention_draw` of every device.  IN g, z (2, n); OUT out (2, n)."""
    n = g.shape[1]
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            for s in range(2):
                out[s, i] = retention_draw(g[s, i], z[s, i], ret)


@njit
def at_temperature(g, temp):
    """The temperature law: conductance ``g`` (>= 0, at T_ref) as seen at the packed law's T.

    :class:`~neuromorph.hardware.devices.TemperatureParams`: parallel paths
    ``g_b f_low + (g - g_b) f_high``, ``g_b = min(g, g_split)``; series paths
    ``1 / (r_h / f_high + (1/g - r_h) / f_low)``, ``r_h = 1 / max(g, g_split)``.  ``g`` itself
    at T_ref, ``g f`` when both paths have the same factor ``f``, 0 for ``g = 0``.
    """
    if temp[T_DELTA] == 0.0:
        return g
    f_low, f_high = temp[T_F_LOW], temp[T_F_HIGH]
    if f_low == f_high:
        return g * f_high
    if temp[T_PATHS] == PATHS_PARALLEL:
        g_b = min(g, temp[T_G_SPLIT])
        return g_b * f_low + (g - g_b) * f_high
    if g <= 0.0:
        return 0.0
    r_h = 1.0 / max(g, temp[T_G_SPLIT])
    return 1.0 / (r_h / f_high + (1.0 / g - r_h) / f_low)


@njit_parallel
def verify_conductance(g_prog, tau_prog, nu, tau_now, ret, temp, g_out):
    """What a noiseless single-device verify read sees now: retention, then temperature.

    IN  g_prog, tau_prog, nu (2, n); tau_now (s); ret, temp: packed laws
    OUT g_out (2, n) S
    """
    n = g_prog.shape[1]
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            for s in range(2):
                g = retained(g_prog[s, i], tau_now, tau_prog[s, i], nu[s, i], ret)
                g_out[s, i] = at_temperature(g, temp)


@njit_parallel
def effective_conductance(
    g_prog, tau_prog, nu, tau_now, ret, temp, read_rel, g_eff_out, gdiff_out, gvar_out,
):  # fmt: skip
    """Conductances as a read sees them now: retention, then the temperature law.

    IN  g_prog, tau_prog, nu (2, n): programmed G at T_ref (S), equivalent programming
        time (s), retention parameter, for the + (row 0) and - (row 1) device of each pair
        tau_now (s); ret, temp: packed retention and temperature laws
        (:func:`retention_law`, :func:`temperature_law`); read_rel (relative read-noise std)
    OUT g_eff_out (2, n) S; gdiff_out (n,) = G+ - G-; gvar_out (n,) = read_rel**2 (G+**2 + G-**2)
    """
    n = g_prog.shape[1]
    rr2 = read_rel * read_rel
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            for s in range(2):
                g = retained(g_prog[s, i], tau_now, tau_prog[s, i], nu[s, i], ret)
                g_eff_out[s, i] = at_temperature(g, temp)
            gdiff_out[i] = g_eff_out[0, i] - g_eff_out[1, i]
            gvar_out[i] = rr2 * (g_eff_out[0, i] ** 2 + g_eff_out[1, i] ** 2)


@njit_inline
def law_scalars(law):
    """The packed pulse ``law`` as a tuple of its scalars, indexed alike (``P_*``).

    A hot loop passes this to :func:`apply_pulses` instead of the array: the tuple stays in
    registers, where loads from an array are repeated for every device (the compiler cannot
    prove the state arrays' stores leave it alone).  The benchmark's 16k pulsed pairs, serially:
    0.66-0.69 ms against 0.77-0.80 ms (measured; the same bits).
    """
    return (
        law[P_A_UP], law[P_A_DOWN], law[P_C2C], law[P_EXP_A], law[P_EXP_B], law[P_AMP_UP],
        law[P_AMP_DOWN], law[P_GAMMA_UP], law[P_GAMMA_DOWN], law[P_C2C_ADD], law[P_C2C_SLOPE],
    )  # fmt: skip


@njit_inline
def retention_scalars(ret):
    """The packed retention law ``ret`` as a tuple of its scalars, indexed alike (``R_*``), for
    the same reason as :func:`law_scalars` (the pulse pass with both tuples: 0.60-0.62 ms
    against 0.66-0.69 ms with the pulse law's alone, measured; the same bits)."""
    return (
        ret[R_MODE], ret[R_T0], ret[R_MEAN], ret[R_MEAN_SLOPE], ret[R_MEAN_LO], ret[R_MEAN_HI],
        ret[R_STD], ret[R_STD_SLOPE], ret[R_STD_LO], ret[R_STD_HI], ret[R_G_NORM], ret[R_SHIFT],
        ret[R_STD_LN], ret[R_STD_T0], ret[R_REDRAW],
    )  # fmt: skip


@njit_inline
def apply_pulses(g, count, up, lo, hi, s_up, s_down, law, key, stream, counter0, z_first=math.nan):
    """``count`` pulses of one polarity on one device; returns the new conductance.

    The pulse law of :mod:`neuromorph.hardware.devices` (soft bounds times the exponential
    step factor), c2c noise per pulse (with aihwkit's complex terms, the same normal scaling
    ``|dG| + add + slope (G - lo)``) drawn from ``stream`` at counters
    ``counter0 .. counter0 + count - 1`` (uint64), clipped to the device's [lo, hi].
    ``law``: the packed array or its :func:`law_scalars`.  ``z_first``: the first pulse's
    normal if the caller drew it already (NaN: drawn here).
    """
    span = hi - lo
    a_up, a_down, c2c = law[P_A_UP], law[P_A_DOWN], law[P_C2C]
    amp_up, amp_down = law[P_AMP_UP], law[P_AMP_DOWN]
    complex_noise = law[P_C2C_ADD] != 0.0 or law[P_C2C_SLOPE] != 0.0
    for k in range(count):
        u = (g - lo) / span
        if up:
            dg = s_up * (1.0 - a_up * u)
            if amp_up != 0.0:
                z = law[P_EXP_A] * (2.0 * u - 1.0) + law[P_EXP_B]
                dg *= max(1.0 - amp_up * math.exp(law[P_GAMMA_UP] * z), 0.0)
        else:
            dg = -s_down * (1.0 - a_down * (1.0 - u))
            if amp_down != 0.0:
                z = law[P_EXP_A] * (2.0 * u - 1.0) + law[P_EXP_B]
                dg *= max(1.0 - amp_down * math.exp(-law[P_GAMMA_DOWN] * z), 0.0)
        if c2c > 0.0:
            if k == 0 and not math.isnan(z_first):
                eps = z_first
            else:
                eps = normal(key, stream, counter0 + np.uint64(k))
            dg *= 1.0 + c2c * eps
            if complex_noise:
                extra = c2c * eps * (law[P_C2C_ADD] + law[P_C2C_SLOPE] * (g - lo))
                dg += extra if up else -extra
        g += dg
        if g > hi:
            g = hi
        elif g < lo:
            g = lo
    return g


@njit_inline
def worn(k, before, budget):
    """Of ``k`` pulses sent to a free device that had taken ``before`` (its budget
    ``budget``): how many act, and whether the device wears out (sticks where it is,
    ``StuckCode.FIXED``; the pulse that wears it out still acts, the rest do nothing)."""
    left = budget - before
    if k <= left:
        return k, False
    return (int(left) if left > 0.0 else 0), True


@njit_inline
def wear(k, s, i, stuck, pulse_count, pulse_budget):
    """Count ``k`` pulses sent to device (s, i); return how many of them act.

    A stuck device takes none.  A free device takes them until its count passes its
    budget (:func:`worn`).
    """
    before = pulse_count[s, i]
    pulse_count[s, i] = before + k
    if stuck[s, i] != _FREE:
        return 0
    acting, out = worn(k, before, pulse_budget[s, i])
    if out:
        stuck[s, i] = _WORN
    return acting


@njit_inline
def pulsed(
    s, i, k, up, g, tau, r, lo, hi, s_up, s_down, law, ret, redraw, tau_now, key, per_dev,
    z_pulse=math.nan, z_ret=math.nan,
):  # fmt: skip
    """New ``(g_prog, retention parameter)`` of free device (s, i) after ``k`` acting pulses.

    Scalars in and out (``g``, ``tau``, ``r``: its programmed conductance, programming time
    and retention parameter): the retained conductance is the new base, pulsed with normals
    ``(2 i + s) per_dev + k`` of STREAM_PULSE_NOISE; if ``redraw``, the retention parameter is
    drawn from normal ``2 i + s`` of STREAM_RETENTION (else ``r`` is returned).  The caller
    restarts the retention clock at ``tau_now``.  ``z_pulse``, ``z_ret``: the first pulse's
    and the retention normal if the caller drew them (:func:`normals_at`; NaN: drawn here).
    ``law``, ``ret``: packed arrays or their :func:`law_scalars`, :func:`retention_scalars`.
    """
    g = retained(g, tau_now, tau, r, ret)
    g = apply_pulses(
        g, k, up, lo, hi, s_up, s_down, law, key, STREAM_PULSE_NOISE, np.uint64(2 * i + s) * per_dev,
        z_pulse,
    )  # fmt: skip
    if redraw:
        z = z_ret if not math.isnan(z_ret) else normal(key, STREAM_RETENTION, np.uint64(2 * i + s))
        r = retention_draw(g, z, ret)
    return g, r


@njit_inline
def pulse_device(
    s, i, k, up, g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, pulse_count,
    pulse_budget, law, ret, redraw, tau_now, key, per_dev,
):  # fmt: skip
    """``k`` pulses (up or down) on device (s, i), as every pulse kernel sends them.

    Wear first (:func:`wear`; a stuck device takes the pulses but does not move); then
    :func:`pulsed`, and its retention clock restarts at ``tau_now``.  The hottest loop,
    :func:`neuromorph.hardware._pulse_kernels.apply_counts`, spells these array reads and
    writes out itself around :func:`worn` and :func:`pulsed` (scalars only): an inlined
    helper that takes the ten state arrays costs ~30 ns per device (measured).
    """
    free = stuck[s, i] == _FREE
    acting = wear(k, s, i, stuck, pulse_count, pulse_budget)
    if not free:
        return
    g_prog[s, i], nu[s, i] = pulsed(
        s, i, acting, up, g_prog[s, i], tau_prog[s, i], nu[s, i], g_lo[s, i], g_hi[s, i],
        s_up[s, i], s_down[s, i], law, ret, redraw, tau_now, key, per_dev,
    )  # fmt: skip
    tau_prog[s, i] = tau_now


@njit
def pulse_number(p, i, key, max_pulses):
    """Pulses for a desired ``p`` signed pulses: ``min(stochastic_round(|p|), max_pulses)``.

    Saturation rule: ``|p| >= max_pulses`` (including inf) gives ``max_pulses`` before any
    integer conversion, so no magnitude overflows; otherwise floor plus one with probability
    the fraction, from uniform ``i`` of ``STREAM_PULSE_ROUNDING``.
    """
    mag = abs(p)
    if not mag < max_pulses:
        return max_pulses
    count = int(math.floor(mag))
    if uniform(key, STREAM_PULSE_ROUNDING, i) < mag - count:
        count += 1
    return min(count, max_pulses)


@njit_parallel
def pulse_update(
    g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, pulse_count, pulse_budget,
    desired, scale, law, ret, tau_now, key, max_pulses, pulses_out,
):  # fmt: skip
    """Apply a desired update, ``scale * desired`` in signed pulse units, to every pair.

    For pair i, ``n`` pulses by :func:`pulse_number` (saturating at max_pulses); a positive
    update sends ceil(n/2) up-pulses to G+ and floor(n/2) down-pulses to G-, a negative one
    the mirror.  A pulsed device first settles to its retained conductance (the new base),
    restarts its retention clock at ``tau_now`` and, if the law redraws, draws its retention
    parameter from its new state.  Every pulse counts towards the device's budget
    (:func:`wear`); stuck devices receive pulses but do not move.
    Draws: the rounding of pair i is uniform ``i`` of ``STREAM_PULSE_ROUNDING``; pulse k of
    device (i, s) uses normal ``(2 i + s) max_pulses + k`` of ``STREAM_PULSE_NOISE``; its
    retention parameter normal ``2 i + s`` of ``STREAM_RETENTION``.

    IN/OUT g_prog, tau_prog, nu, stuck, pulse_count (2, n); IN g_lo, g_hi, s_up, s_down,
           pulse_budget (2, n), desired (n,), scale (pulses per unit of desired), law, ret
    OUT pulses_out (2, n) int64: pulses sent to each device
    """
    n = desired.size
    per_dev = np.uint64(max_pulses)
    redraw = ret[R_REDRAW] != 0.0
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            p = scale * desired[i]
            pulses_out[0, i] = 0
            pulses_out[1, i] = 0
            if p == 0.0:
                continue
            count = pulse_number(p, i, key, max_pulses)
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
                pulse_device(
                    s, i, k, up, g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down,
                    pulse_count, pulse_budget, law, ret, redraw, tau_now, key, per_dev,
                )  # fmt: skip


@njit
def _verify_device(
    i, s, goal, g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, pulse_count,
    pulse_budget, law, ret, temp, steps, noise_law, tol_s, max_iter, max_pulses, tau_now,
    key, read_stream, pulse_stream, counts,
):  # fmt: skip
    """Program-and-verify device (s, i) towards ``goal`` as read at the die's temperature.

    Returns the last verify read; adds its pulses and reads to ``counts`` (2,) int64.  A
    device free at the start stores its conductance and restarts its retention clock.  Each
    read's noise is :func:`verify_noise_rel` at the state the device was last programmed to
    and its age since (0 once this verify's pulses acted).
    """
    free = stuck[s, i] == _FREE
    g = retained(g_prog[s, i], tau_now, tau_prog[s, i], nu[s, i], ret)
    g_read, age = g_prog[s, i], tau_now - tau_prog[s, i]
    dev = np.uint64(2 * i + s) * np.uint64(max_iter)
    per_read = np.uint64(max_pulses)
    last_read = 0.0
    for it in range(max_iter):
        read = dev + np.uint64(it)
        measured = at_temperature(g, temp)
        if noise_law[V_Q0] > 0.0:
            sd = verify_noise_rel(g_read, age, noise_law)
            measured = measured * (1.0 + sd * normal(key, read_stream, read))
        counts[1] += 1
        last_read = measured
        err = goal - measured
        if abs(err) <= tol_s:
            break
        up = err > 0.0
        # The programmer's step as it reads at this temperature (the law's local gain; 1 at T_ref).
        gain = at_temperature(g, temp) / g if g > 0.0 else 1.0
        k = int(np.round(abs(err) / ((steps[0] if up else steps[1]) * gain)))
        k = min(max(k, 1), max_pulses)
        counts[0] += k
        acting = wear(k, s, i, stuck, pulse_count, pulse_budget)
        if acting > 0:
            g = apply_pulses(
                g, acting, up, g_lo[s, i], g_hi[s, i], s_up[s, i], s_down[s, i],
                law, key, pulse_stream, read * per_read,
            )  # fmt: skip
            g_read, age = g, 0.0
    if free:
        g_prog[s, i] = g
        tau_prog[s, i] = tau_now
        if ret[R_REDRAW] != 0.0:
            nu[s, i] = retention_draw(g, normal(key, STREAM_RETENTION, np.uint64(2 * i + s)), ret)
    return last_read


@njit
def _partner_goal(read, s_read, diff, g_floor, g_ceil):
    """Goal of the partner of device ``s_read`` (read as ``read``) so the pair's difference
    is ``diff``: ``read - diff`` for G- (partner of G+), ``read + diff`` for G+; clipped."""
    goal = read - diff if s_read == 0 else read + diff
    return min(max(goal, g_floor), g_ceil)


@njit_parallel
def write_verify(
    g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, pulse_count, pulse_budget, target,
    law, ret, temp, step_up, step_down, noise_law, tol_s, max_iter, max_pulses,
    g_floor, g_ceil, compensate, active, tau_now, key, pulses_out, reads_out,
):  # fmt: skip
    """Program every active differential pair towards ``target`` by program-and-verify.

    Pairs with ``active[i] == 0`` are left alone (no reads, no pulses).

    Each iteration reads the device once as it is now, at the die's temperature (retention,
    then the temperature law ``temp``, then read noise by ``noise_law``, the marginal of the
    crossbar's read-noise law: :func:`verify_noise_rel`), stops if
    ``|goal - read| <= tol_s``, else sends ``max(1, round(|err| / step))`` pulses (at most
    ``max_pulses``) of the needed polarity, ``step`` the nominal step times the temperature
    law's gain at the device's state (the programmer's step as it reads at this
    temperature).  Targets are conductances as read at that temperature, so a pair
    programmed hot reads differently once cooled.

    The pair's larger target is programmed first.  With ``compensate``, the second device is
    then retargeted to ``last read of the first -/+ (target+ - target-)``, clipped to
    [g_floor, g_ceil], so the difference, which is the weight, absorbs the first device's
    error; if the second device still misses its goal (stuck, worn, or at the end of its
    window), the first is programmed once more to ``last read of the second +/- diff``,
    clipped.  So whichever device of a pair is stuck, its partner absorbs it where the window
    allows.  Only verify reads inform this.

    Draws: verify read ``it`` of device (i, s) is normal ``(2 i + s) max_iter + it`` of
    ``STREAM_VERIFY_READ``; the pulses that follow it take normals from ``max_pulses`` times
    that index on in ``STREAM_PULSE_NOISE``; the retry pass uses ``STREAM_VERIFY_RETRY`` and
    ``STREAM_PULSE_NOISE_RETRY`` alike; retention parameters as in :func:`pulse_update`.

    IN/OUT g_prog, tau_prog, nu, stuck, pulse_count (2, n); IN g_lo, g_hi, s_up, s_down,
    pulse_budget, target (2, n), law, ret, temp, active (n,) int8;
    OUT pulses_out, reads_out (2, n) int64
    """
    n = target.shape[1]
    steps = np.array([step_up, step_down])
    for c in prange((n + CHUNK - 1) // CHUNK):
        counts = np.zeros(2, dtype=np.int64)
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            for s in range(2):
                pulses_out[s, i] = 0
                reads_out[s, i] = 0
            if active[i] == 0:
                continue
            diff = target[0, i] - target[1, i]
            first = 0 if diff >= 0.0 else 1
            goal = target[first, i]
            last_read = 0.0
            for order in range(3):
                s = first if order != 1 else 1 - first
                if order == 1 and compensate:
                    goal = _partner_goal(last_read, first, diff, g_floor, g_ceil)
                elif order == 1:
                    goal = target[s, i]
                elif order == 2:
                    if not compensate or abs(goal - last_read) <= tol_s:
                        break
                    goal = _partner_goal(last_read, 1 - first, diff, g_floor, g_ceil)
                counts[0] = 0
                counts[1] = 0
                last_read = _verify_device(
                    i, s, goal, g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down,
                    pulse_count, pulse_budget, law, ret, temp, steps, noise_law, tol_s,
                    max_iter, max_pulses, tau_now, key,
                    STREAM_VERIFY_READ if order < 2 else STREAM_VERIFY_RETRY,
                    STREAM_PULSE_NOISE if order < 2 else STREAM_PULSE_NOISE_RETRY, counts,
                )  # fmt: skip
                pulses_out[s, i] += counts[0]
                reads_out[s, i] += counts[1]
