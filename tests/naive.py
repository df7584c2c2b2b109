"""Naive NumPy twins of the kernels in neuromorph.hardware._kernels: slow, obviously right.

Each twin is written from the law in the docstrings, not from the kernel's code.
"""

from __future__ import annotations

import math

import numpy as np

from neuromorph._rng import STREAM_PULSE_ROUNDING
from neuromorph.hardware.devices import K_B_EV

M64 = (1 << 64) - 1


def splitmix_uniform(key: int, stream: int, counter: int) -> float:
    """SplitMix64 (Steele et al. 2014) of key + word * golden, top 53 bits, mid-interval.

    A uniform's word is ``stream << 56 | counter`` (the kind bit, 55, is 0 for uniforms).
    """
    word = (stream << 56) | counter
    z = (key + word * 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    z = z ^ (z >> 31)
    return ((z >> 11) + 0.5) / 2.0**53


def dac(x, *, input_full_scale, v_max, bits):
    t = np.clip(np.asarray(x, dtype=float) / input_full_scale, -1.0, 1.0)
    if bits is not None:
        levels = 2 ** (bits - 1) - 1
        t = np.round(t * levels) / levels
    return t * v_max


def adc(v, *, full_scale, bits):
    v = np.asarray(v, dtype=float)
    if bits is None:
        return v.copy()
    levels = 2 ** (bits - 1) - 1
    lsb = full_scale / levels
    return np.clip(np.round(v / lsb), -levels, levels) * lsb


def effective(g_prog, tau_prog, nu, *, tau_now, t0, g_min, g_max, temp, tref, alo, ahi, elo, ehi):
    kb = K_B_EV
    g = drift(g_prog, tau_prog, nu, tau_now=tau_now, t0=t0)
    if temp != tref:
        u = np.clip((g - g_min) / (g_max - g_min), 0.0, 1.0)
        alpha = alo + (ahi - alo) * u
        ea = elo + (ehi - elo) * u
        g = g * (1 + alpha * (temp - tref)) * np.exp(-ea / kb * (1 / temp - 1 / tref))
    return g


def drift(g_prog, tau_prog, nu, *, tau_now, t0):
    """Power-law retention drift ``G ((age + t0) / t0) ** -nu``, no drift before programming."""
    age = np.maximum(tau_now - tau_prog, 0.0)
    return g_prog * ((age + t0) / t0) ** (-nu)


def pulse_update_loop(g, lo, hi, s_up, s_down, desired, *, a_up, a_down, key, max_pulses):
    """Python-loop twin of the pulse update with no cycle-to-cycle noise and no drift.

    g, lo, hi, s_up, s_down: (2, n); desired: (n,).  Returns (new g, pulses).
    """
    g = g.copy()
    pulses = np.zeros_like(g, dtype=np.int64)
    for i in range(desired.size):
        p = desired[i]
        if p == 0:
            continue
        count = math.floor(abs(p))
        if splitmix_uniform(key, STREAM_PULSE_ROUNDING, i) < abs(p) - count:
            count += 1
        count = min(count, max_pulses)
        big, small = (count + 1) // 2, count // 2
        plan = [(big, True), (small, False)] if p > 0 else [(small, False), (big, True)]
        for s, (k, up) in enumerate(plan):
            pulses[s, i] = k
            for _ in range(k):
                u = (g[s, i] - lo[s, i]) / (hi[s, i] - lo[s, i])
                if up:
                    g[s, i] += s_up[s, i] * (1 - a_up * u)
                else:
                    g[s, i] -= s_down[s, i] * (1 - a_down * (1 - u))
                g[s, i] = min(max(g[s, i], lo[s, i]), hi[s, i])
    return g, pulses
