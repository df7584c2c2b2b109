"""Numba kernels of one-sided (SET-only) device pairs (layer 1, private).

The contract of :mod:`neuromorph.hardware._kernels` holds here: arrays and scalars in,
caller-allocated outputs (OUT), no validation, counter-based draws
(:mod:`neuromorph._rng` stream ids), the same bits on any thread count.  The laws are stated
in :class:`~neuromorph.hardware.devices.OneSidedParams` and :mod:`neuromorph.hardware.onesided`.

Counters: device (i, s) is ``2 i + s``; a program-and-verify pass ``p`` of it (0 and 2: the
pair's lower device, 1: its higher device, 3: the refresh's initial RESET) is
``(2 i + s) PASSES + p``; verify read (and RESET) ``it`` of a pass is ``pass max_iter + it``
and its SET pulses take normals from ``max_pulses`` times that index on.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from neuromorph._numba import CHUNK, njit, njit_parallel
from neuromorph._rng import (
    STREAM_REFRESH_SCAN,
    STREAM_RESET,
    STREAM_SET_VERIFY_PULSE,
    STREAM_SET_VERIFY_READ,
    STREAM_SET_VERIFY_RETENTION,
)
from neuromorph.hardware._kernels import (
    P_A_UP,
    P_AMP_UP,
    P_EXP_A,
    P_EXP_B,
    P_GAMMA_UP,
    R_REDRAW,
    V_Q0,
    apply_pulses,
    at_temperature,
    retained,
    retention_draw,
    verify_noise_rel,
    wear,
)
from neuromorph.hardware._random_kernels import normal
from neuromorph.hardware.devices import StuckCode

#: A device that takes pulses (StuckCode.NONE), as a plain int for the kernels.
_FREE = int(StuckCode.NONE)
#: Program-and-verify passes per device (see the module docstring).
PASSES = 4
#: The pass index of the refresh's initial RESET.
PASS_RESET = 3
#: An overshoot is RESET (and the device climbs again) only within the first
#: ``1 / RESET_BEFORE`` of a verify's iterations; later the device keeps it, since a climb
#: from the bottom takes a handful of iterations (a RESET in the last one would leave the
#: device at the bottom of its window).
RESET_BEFORE = 2

#: one_sided_law (packed, float64): RESET level and its std (own window), refresh thresholds
#: (nominal window), nominal g_min and g_max, the mean device's nominal SET step (S), the
#: verify tolerance (S).
O_RESET, O_RESET_STD, O_UPPER, O_LOWER, O_FLOOR, O_CEIL, O_STEP, O_TOL = range(8)


@njit
def reset_level(g_lo, g_hi, osl, key, counter):
    """Where a RESET leaves a device of own bounds [g_lo, g_hi]: normal ``counter`` of STREAM_RESET."""
    level = osl[O_RESET]
    if osl[O_RESET_STD] > 0.0:
        level += osl[O_RESET_STD] * normal(key, STREAM_RESET, counter)
    g = g_lo + (g_hi - g_lo) * level
    return min(max(g, g_lo), g_hi)


@njit
def mean_set_step(g, law, osl):
    """The SET step the programmer expects at ``g`` (S, at T_ref): the mean device's law.

    The pulse law's up terms (soft bound, exponential step) on the nominal window with the
    nominal step: what the programmer knows of the technology, not of this device.
    """
    u = min(max((g - osl[O_FLOOR]) / (osl[O_CEIL] - osl[O_FLOOR]), 0.0), 1.0)
    dg = osl[O_STEP] * (1.0 - law[P_A_UP] * u)
    if law[P_AMP_UP] != 0.0:
        z = law[P_EXP_A] * (2.0 * u - 1.0) + law[P_EXP_B]
        dg *= max(1.0 - law[P_AMP_UP] * math.exp(law[P_GAMMA_UP] * z), 0.0)
    return dg if dg > 0.0 else osl[O_STEP]


@njit
def expected_set_step(g, measured, law, temp, osl):
    """The SET step the programmer expects of a device read at ``measured`` (S, at the die's T).

    :func:`mean_set_step` from the state's T_ref conductance (``measured`` over the
    temperature law's gain at ``g``, the device's T_ref conductance), mapped through the law:
    the step as the next verify read sees it (the law is not linear in G: PCM's first SET
    step from the bottom reads 4x larger at 358 K than at 300 K, the last one 1.6x).
    """
    gain = at_temperature(g, temp) / g if g > 0.0 else 1.0
    g_ref = measured / gain
    return at_temperature(g_ref + mean_set_step(g_ref, law, osl), temp) - at_temperature(g_ref, temp)


@njit
def noisy_read(g, g_read, age, temp, noise_law, key, stream, counter):
    """One verify read of a device at ``g`` (T_ref) as seen at the packed temperature."""
    measured = at_temperature(g, temp)
    if noise_law[V_Q0] > 0.0:
        measured *= 1.0 + verify_noise_rel(g_read, age, noise_law) * normal(key, stream, counter)
    return measured


@njit
def set_verify_device(
    i, s, goal, at_rest, pass_, g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, pulse_count,
    pulse_budget, law, ret, temp, noise_law, osl, max_iter, max_pulses, tau_now, key, counts,
):  # fmt: skip
    """SET-only program-and-verify of device (s, i) towards ``goal`` (S, as read at the die's T).

    Each iteration reads the device once; within ``osl[O_TOL]`` it stops (``at_rest``: the
    goal is the RESET level, so any read below it is accepted too and no SET is sent); below
    the goal it sends ``max(1, floor(err / step))`` SET pulses (at most ``max_pulses``),
    ``step`` the mean device's SET step at the read state as the die's T reads it
    (:func:`expected_set_step`), so the count undershoots on a law whose steps shrink as G grows;
    above the goal (an overshoot) it sends one RESET and climbs again, in the first half of
    the iterations only (:data:`RESET_BEFORE`), else it stops there.  Returns the last
    read; adds pulses and reads to ``counts`` (2,).  A device free at the start stores its
    conductance, restarts its retention clock and redraws its retention parameter.
    """
    free = stuck[s, i] == _FREE
    g = retained(g_prog[s, i], tau_now, tau_prog[s, i], nu[s, i], ret)
    g_read, age = g_prog[s, i], tau_now - tau_prog[s, i]
    dev_pass = np.uint64(2 * i + s) * np.uint64(PASSES) + np.uint64(pass_)
    base = dev_pass * np.uint64(max_iter)
    last_read = 0.0
    for it in range(max_iter):
        read = base + np.uint64(it)
        measured = noisy_read(g, g_read, age, temp, noise_law, key, STREAM_SET_VERIFY_READ, read)
        counts[1] += 1
        last_read = measured
        err = goal - measured
        if abs(err) <= osl[O_TOL] or (at_rest and err > 0.0):
            break
        if err < 0.0:
            if it >= max_iter // RESET_BEFORE:
                break  # too late to RESET and climb back: keep the overshoot
            counts[0] += 1
            if wear(1, s, i, stuck, pulse_count, pulse_budget) > 0:
                g = reset_level(g_lo[s, i], g_hi[s, i], osl, key, read)
                g_read, age = g, 0.0
            continue
        step = expected_set_step(g, measured, law, temp, osl)
        k = min(max(int(err / step), 1), max_pulses)
        counts[0] += k
        acting = wear(k, s, i, stuck, pulse_count, pulse_budget)
        if acting > 0:
            g = apply_pulses(
                g, acting, True, g_lo[s, i], g_hi[s, i], s_up[s, i], s_down[s, i], law, key,
                STREAM_SET_VERIFY_PULSE, read * np.uint64(max_pulses),
            )  # fmt: skip
            g_read, age = g, 0.0
    if free:
        g_prog[s, i] = g
        tau_prog[s, i] = tau_now
        if ret[R_REDRAW] != 0.0:
            nu[s, i] = retention_draw(g, normal(key, STREAM_SET_VERIFY_RETENTION, dev_pass), ret)
    return last_read


@njit
def program_pair(
    i, target0, target1, compensate, g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down,
    pulse_count, pulse_budget, law, ret, temp, noise_law, osl, max_iter, max_pulses, tau_now,
    key, pulses_out, reads_out,
):  # fmt: skip
    """SET-only program-and-verify of pair i towards (target0, target1), S at the die's T.

    The lower device first, to ``max(its target, the nominal RESET level)`` (a one-sided
    device cannot rest below where a RESET leaves it; at that level any lower read is
    accepted); then the higher one, to the lower's last read plus the targets' difference
    (``compensate``) or to its own target, clipped to the nominal window.  If the higher one
    overshot (a SET-only device cannot step back), the lower one climbs once more to the
    higher's last read minus the difference, when the overshoot is at least half the lower
    one's expected next SET step (else one more pulse there would miss by more than the
    overshoot: near the bottom of PCM's window a SET step is tens of nominal steps).  The
    RESET level and the window are nominal T_ref conductances; the goals are reads at the
    die's T, so they are compared through the temperature law.  Adds to ``pulses_out``,
    ``reads_out`` (2, n).
    """
    diff = target0 - target1
    big = 0 if diff >= 0.0 else 1
    small = 1 - big
    mag = abs(diff)
    tol = osl[O_TOL]
    floor = at_temperature(osl[O_FLOOR], temp)
    ceil = at_temperature(osl[O_CEIL], temp)
    rest = at_temperature(osl[O_FLOOR] + osl[O_RESET] * (osl[O_CEIL] - osl[O_FLOOR]), temp)
    counts = np.zeros(2, dtype=np.int64)
    goal = 0.0
    last_small = 0.0
    last_big = 0.0
    at_rest = False
    for pass_ in range(3):
        s = small if pass_ != 1 else big
        if pass_ == 0:
            goal = max(target1 if big == 0 else target0, rest)
            at_rest = goal == rest
        elif pass_ == 1:
            goal = (
                min(max(last_small + mag, floor), ceil) if compensate else (target0 if big == 0 else target1)
            )
            at_rest = False
        else:
            over = last_big - goal
            if not compensate or over <= tol:
                break
            g = retained(g_prog[small, i], tau_now, tau_prog[small, i], nu[small, i], ret)
            if over < 0.5 * expected_set_step(g, last_small, law, temp, osl):
                break
            goal = min(last_big - mag, ceil)
        counts[0] = 0
        counts[1] = 0
        read = set_verify_device(
            i, s, goal, at_rest, pass_, g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down,
            pulse_count, pulse_budget, law, ret, temp, noise_law, osl, max_iter, max_pulses,
            tau_now, key, counts,
        )  # fmt: skip
        if pass_ == 1:
            last_big = read
        else:
            last_small = read
        pulses_out[s, i] += counts[0]
        reads_out[s, i] += counts[1]


@njit_parallel
def set_write_verify(
    g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, pulse_count, pulse_budget, target,
    active, compensate, law, ret, temp, noise_law, osl, max_iter, max_pulses, tau_now, key,
    pulses_out, reads_out,
):  # fmt: skip
    """:func:`program_pair` of every active pair (``active[i] == 1``) towards ``target`` (2, n).

    IN/OUT g_prog, tau_prog, nu, stuck, pulse_count (2, n); IN g_lo, g_hi, s_up, s_down,
    pulse_budget, target (2, n), active (n,) int8; OUT pulses_out, reads_out (2, n) int64
    """
    n = target.shape[1]
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            for s in range(2):
                pulses_out[s, i] = 0
                reads_out[s, i] = 0
            if active[i] == 0:
                continue
            program_pair(
                i, target[0, i], target[1, i], compensate, g_prog, tau_prog, nu, stuck, g_lo,
                g_hi, s_up, s_down, pulse_count, pulse_budget, law, ret, temp, noise_law, osl,
                max_iter, max_pulses, tau_now, key, pulses_out, reads_out,
            )  # fmt: skip


@njit_parallel
def refresh_pulsed(
    g_prog, tau_prog, nu, stuck, g_lo, g_hi, s_up, s_down, pulse_count, pulse_budget, pairs,
    law, ret, temp, noise_law, osl, max_iter, max_pulses, tau_now, key, pulses_out,
    reads_out, refreshed_out,
):  # fmt: skip
    """The refresh check and refresh of the just-pulsed ``pairs``, in fixed chunks of them.

    Both devices of such a pair are read once (normals ``2 i + s`` of STREAM_REFRESH_SCAN);
    if the higher read exceeds ``O_UPPER`` and the lower ``O_LOWER`` of the nominal window
    (levels of T_ref conductance, compared as the die's T reads them), both are RESET (one
    pulse each, counted towards wear) and the read difference is re-programmed by
    :func:`program_pair` (the lower device at the RESET level, the higher at it plus the
    difference).

    IN/OUT g_prog, tau_prog, nu, stuck, pulse_count (2, n); IN g_lo, g_hi, s_up, s_down,
    pulse_budget (2, n), pairs (m,) int64; IN/OUT pulses_out, reads_out (2, n) int64 and
    refreshed_out (n,) int8, zero on entry (only the pairs' entries are written).
    """
    floor, window = osl[O_FLOOR], osl[O_CEIL] - osl[O_FLOOR]
    upper = at_temperature(floor + osl[O_UPPER] * window, temp)
    lower = at_temperature(floor + osl[O_LOWER] * window, temp)
    m = pairs.size
    for c in prange((m + CHUNK - 1) // CHUNK):
        for j in range(c * CHUNK, min(m, (c + 1) * CHUNK)):
            i = pairs[j]
            r0 = 0.0
            r1 = 0.0
            for s in range(2):
                g = retained(g_prog[s, i], tau_now, tau_prog[s, i], nu[s, i], ret)
                age = tau_now - tau_prog[s, i]
                r = noisy_read(g, g_prog[s, i], age, temp, noise_law, key, STREAM_REFRESH_SCAN, 2 * i + s)
                reads_out[s, i] += 1
                if s == 0:
                    r0 = r
                else:
                    r1 = r
            if not (max(r0, r1) > upper and min(r0, r1) > lower):
                continue
            refreshed_out[i] = 1
            for s in range(2):
                pulses_out[s, i] += 1
                if wear(1, s, i, stuck, pulse_count, pulse_budget) > 0:
                    counter = (np.uint64(2 * i + s) * np.uint64(PASSES) + np.uint64(PASS_RESET)) * np.uint64(
                        max_iter
                    )
                    g_prog[s, i] = reset_level(g_lo[s, i], g_hi[s, i], osl, key, counter)
                    tau_prog[s, i] = tau_now
            diff = r0 - r1
            program_pair(
                i, floor + max(diff, 0.0), floor + max(-diff, 0.0), True, g_prog, tau_prog, nu,
                stuck, g_lo, g_hi, s_up, s_down, pulse_count, pulse_budget, law, ret, temp,
                noise_law, osl, max_iter, max_pulses, tau_now, key, pulses_out, reads_out,
            )  # fmt: skip
