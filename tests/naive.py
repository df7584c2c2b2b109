"""Naive twins of the kernels in neuromorph.hardware._kernels and _noise_kernels: slow,
obviously right.

Each twin is written from the law in the docstrings, not from the kernel's code.  Where a
kernel draws counter-based noise, the twin takes the same draws (``splitmix_uniform``, or the
kernels' own ``normal`` at the stream and counter their docstrings name), so comparisons are
exact.
"""

from __future__ import annotations

import math

import numpy as np

from neuromorph._rng import (
    STREAM_NOISE_KEYS,
    STREAM_PULSE_NOISE,
    STREAM_PULSE_NOISE_RETRY,
    STREAM_PULSE_ROUNDING,
    STREAM_RETENTION,
    STREAM_RTN_DWELL,
    STREAM_RTN_START,
    STREAM_VERIFY_READ,
    STREAM_VERIFY_RETRY,
)
from neuromorph.hardware import _kernels
from neuromorph.hardware.devices import K_B_EV, StuckCode

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
    if temp != tref:  # parallel paths: a background of at most g_min beside the high path
        x = (1 / temp - 1 / tref) / kb
        f_low = (1 + alo * (temp - tref)) * np.exp(-elo * x)
        f_high = (1 + ahi * (temp - tref)) * np.exp(-ehi * x)
        g_low = np.minimum(g, g_min)
        g = g_low * f_low + (g - g_low) * f_high
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


# Device laws of neuromorph.hardware.devices, one device at a time in plain Python floats.
# Written from the docstrings of devices.py (module "Laws", PulseParams, DriftParams,
# RelaxationParams, EnduranceParams, TemperatureParams) and of the kernels' draw layout
# (pulse_update, write_verify).  The random draws are the kernels' own counter-based normals
# (`_kernels.normal`, the stream and counter each docstring names), so comparisons are exact.

#: DriftParams: the state-dependent exponent law takes ``x = G / g_max`` no lower than 1e-7.
DRIFT_X_MIN = 1e-7


def device_arrays(state) -> dict:
    """Independent copies of a DeviceState's arrays, by name."""
    return {name: np.array(value, copy=True) for name, value in state.arrays().items()}


def exp_step(u: float, up: bool, p) -> float:
    """PulseParams' exponential step factor ``y_up`` / ``y_down`` at state ``u`` (1 when A is 0)."""
    z = p.exp_a * (2.0 * u - 1.0) + p.exp_b
    if up:
        return 1.0 if p.exp_amp_up == 0.0 else max(0.0, 1.0 - p.exp_amp_up * math.exp(p.exp_gamma_up * z))
    return 1.0 if p.exp_amp_down == 0.0 else max(0.0, 1.0 - p.exp_amp_down * math.exp(-p.exp_gamma_down * z))


def pulse(
    g: float, lo: float, hi: float, s_up: float, s_down: float, up: bool, p, eps: float, step_s: float = 0.0
) -> float:
    """One pulse of the module's pulse law on a device whose own bounds are [lo, hi].

    The c2c std is ``c2c (|dG| + c2c_add_steps step_s + c2c_slope (G - lo))`` (``step_s`` the
    nominal step), one normal ``eps`` signed with the step.
    """
    u = (g - lo) / (hi - lo)
    if up:
        dg = s_up * (1.0 - p.nonlinearity_up * u) * exp_step(u, True, p)
    else:
        dg = -s_down * (1.0 - p.nonlinearity_down * (1.0 - u)) * exp_step(u, False, p)
    extra = p.c2c_add_steps * step_s + p.c2c_slope * (g - lo)
    noise = p.c2c_rel * eps * (extra if up else -extra)
    return min(max(g + dg * (1.0 + p.c2c_rel * eps) + noise, lo), hi)


def retained(g_prog: float, age: float, param: float, device) -> float:
    """A conductance ``age`` equivalent seconds after programming, at T_ref (DriftParams or
    RelaxationParams; ``param`` is the drift exponent or the relaxation deviate)."""
    if age <= 0.0:
        return g_prog
    t0, r = device.drift.t0_s, device.relaxation
    if r.active:
        big_l = math.log(max(age, t0) / t0)
        return max(0.0, g_prog + r.shift_per_ln_s * big_l + param * (r.std_per_ln_s * big_l + r.std_at_t0_s))
    return g_prog * ((age + t0) / t0) ** (-param)


def redraws(device) -> bool:
    """Whether programming draws a new retention parameter (relaxation, state-dependent drift)."""
    return device.relaxation.active or device.drift.state_dependent


def retention_parameter(g: float, z: float, device) -> float:
    """The retention parameter drawn at programming to ``g`` from the standard normal ``z``."""
    if device.relaxation.active:
        return z
    d = device.drift
    if not d.state_dependent:
        return abs(d.nu_mean + d.nu_std * z)
    ln_x = math.log(max(g / device.conductance.g_max_s, DRIFT_X_MIN))
    mu = min(max(d.nu_mean + d.nu_log_slope * ln_x, d.nu_min), d.nu_max)
    sigma = min(max(d.nu_std + d.std_log_slope * ln_x, d.std_min), d.std_max)
    return abs(mu + sigma * z)


def at_temperature(g: float, device, temperature_k: float) -> float:
    """The temperature law: ``g`` (at T_ref) as seen at ``temperature_k``."""
    tp, c = device.temperature, device.conductance
    if temperature_k == tp.t_ref_k:
        return g
    x = (1.0 / temperature_k - 1.0 / tp.t_ref_k) / K_B_EV
    dt = temperature_k - tp.t_ref_k
    f_low = (1.0 + tp.alpha_low_per_k * dt) * math.exp(-tp.ea_low_ev * x)
    f_high = (1.0 + tp.alpha_high_per_k * dt) * math.exp(-tp.ea_high_ev * x)
    if tp.paths == "parallel":  # background of at most g_min beside the high-state path
        g_low = min(g, c.g_min_s)
        return g_low * f_low + (g - g_low) * f_high
    if g == 0.0:
        return 0.0
    r_high = min(1.0 / g, 1.0 / c.g_max_s)  # the fully set cell in series with the rest
    return 1.0 / (r_high / f_high + (1.0 / g - r_high) / f_low)


def verify_noise_rel(g: float, age: float, device) -> float:
    """Relative std of one verify read: the read-noise law's marginal at ``g`` and ``age``.

    ``q(g) = min(q0 / max((g/g_max)**exponent, 1e-3), cap)``; the 1/f law grows it by
    ``sqrt(ln((age + t0 + t_r) / (2 t_r)))`` (aihwkit's accumulated 1/f noise).
    """
    n = device.noise
    q = n.read_noise_rel
    if n.read_noise_exponent:
        q = q / max((abs(g) / device.conductance.g_max_s) ** n.read_noise_exponent, 1e-3)
    if n.read_noise_max_rel is not None:
        q = min(q, n.read_noise_max_rel)
    if n.read_noise_law == "pink":
        t = max(age, 0.0) + device.drift.t0_s
        q *= math.sqrt(max(math.log((t + n.t_read_s) / (2.0 * n.t_read_s)), 0.0))
    return q


def wear(state: dict, s: int, i: int, k: int) -> int:
    """Send ``k`` pulses to device (s, i) (EnduranceParams); return how many act.

    Pulses are numbered over the device's life; every one counts.  On a free device pulse
    ``m`` acts while ``m <= budget``; the first past the budget sticks it (FIXED).
    """
    before = int(state["pulse_count"][s, i])
    state["pulse_count"][s, i] = before + k
    if state["stuck"][s, i] != StuckCode.NONE:
        return 0
    budget = state["pulse_budget"][s, i]
    acting = sum(1 for m in range(before + 1, before + k + 1) if m <= budget)
    if before + k > budget:
        state["stuck"][s, i] = StuckCode.FIXED
    return acting


def _program_device(state: dict, s: int, i: int, g: float, device, *, tau_now: float, key) -> None:
    """Store a programmed conductance, restart its retention clock, redraw its parameter."""
    state["g_prog"][s, i] = g
    state["tau_prog"][s, i] = tau_now
    if redraws(device):
        z = _kernels.normal(np.uint64(key), STREAM_RETENTION, 2 * i + s)
        state["nu"][s, i] = retention_parameter(g, z, device)


def _pulses(state, s, i, g, n, up, device, *, key, stream, counter0) -> float:
    """``n`` pulses of one polarity from ``g``; pulse m's c2c deviate is normal counter0 + m."""
    p = device.pulse
    for m in range(n):
        eps = _kernels.normal(np.uint64(key), stream, counter0 + m) if p.c2c_rel > 0.0 else 0.0
        lo, hi = state["g_lo"][s, i], state["g_hi"][s, i]
        g = pulse(g, lo, hi, state["s_up"][s, i], state["s_down"][s, i], up, p, eps, device.step_s)
    return g


def pulse_update(state: dict, device, desired, *, scale: float, tau_now: float, key: int, max_pulses: int):
    """Python-loop twin of the pulse update with every device law; ``state`` changes in place.

    Pair i gets ``n = min(stochastic_round(|scale desired[i]|), max_pulses)`` pulses: G+ the
    larger half up and G- the smaller half down for a positive update, the mirror for a
    negative one.  Returns the pulses sent to each device, (2, n) int64.
    """
    pulses = np.zeros(state["g_prog"].shape, dtype=np.int64)
    for i in range(len(desired)):
        p = scale * desired[i]
        if p == 0.0:
            continue
        mag = abs(p)
        if mag >= max_pulses:
            n = max_pulses
        else:
            n = math.floor(mag)
            if splitmix_uniform(key, STREAM_PULSE_ROUNDING, i) < mag - n:
                n += 1
        larger, smaller = (n + 1) // 2, n // 2
        plan = [(larger, True), (smaller, False)] if p > 0 else [(smaller, False), (larger, True)]
        for s, (k, up) in enumerate(plan):
            if k == 0:
                continue
            pulses[s, i] = k
            free = state["stuck"][s, i] == StuckCode.NONE
            acting = wear(state, s, i, k)
            if not free:
                continue
            age = tau_now - state["tau_prog"][s, i]
            g = retained(state["g_prog"][s, i], age, state["nu"][s, i], device)
            g = _pulses(
                state,
                s,
                i,
                g,
                acting,
                up,
                device,
                key=key,
                stream=STREAM_PULSE_NOISE,
                counter0=(2 * i + s) * max_pulses,
            )
            _program_device(state, s, i, g, device, tau_now=tau_now, key=key)
    return pulses


def write_verify(
    state: dict,
    device,
    target,
    *,
    temperature_k,
    tol_s,
    max_iter,
    max_pulses,
    compensate,
    active,
    tau_now,
    key,
):
    """Python-loop twin of program-and-verify at a die temperature; ``state`` changes in place.

    Per active pair: the device with the larger target is verified to it; the other to its own
    target or, with ``compensate``, to the first's last read -/+ the target difference
    (clipped to the nominal window); if that one misses its goal, the first once more to the
    second's last read +/- the difference.  Each verify reads (retention, temperature law,
    read noise), stops within ``tol_s``, else sends ``clip(round(|err| / step), 1, max_pulses)``
    pulses, ``step`` the nominal step times the temperature law's gain ``G(T) / G``.
    Returns (pulses, reads), (2, n) int64 each.
    """
    c, p = device.conductance, device.pulse
    nominal = (c.g_max_s - c.g_min_s) / p.n_states
    steps = {True: p.step_up_scale * nominal, False: p.step_down_scale * nominal}
    read_rel = device.noise.read_noise_rel
    pulses = np.zeros(state["g_prog"].shape, dtype=np.int64)
    reads = np.zeros_like(pulses)

    def verify(i, s, goal, read_stream, pulse_stream):
        free = state["stuck"][s, i] == StuckCode.NONE
        g = retained(state["g_prog"][s, i], tau_now - state["tau_prog"][s, i], state["nu"][s, i], device)
        g_read, age = state["g_prog"][s, i], tau_now - state["tau_prog"][s, i]
        read = 0.0
        for it in range(max_iter):
            index = (2 * i + s) * max_iter + it
            seen = at_temperature(g, device, temperature_k)
            read = seen
            if read_rel > 0.0:
                sd = verify_noise_rel(g_read, age, device)
                read = seen * (1.0 + sd * _kernels.normal(np.uint64(key), read_stream, index))
            reads[s, i] += 1
            err = goal - read
            if abs(err) <= tol_s:
                break
            up = err > 0.0
            gain = seen / g if g > 0.0 else 1.0
            k = min(max(round(abs(err) / (steps[up] * gain)), 1), max_pulses)
            pulses[s, i] += k
            acting = wear(state, s, i, k)
            g = _pulses(
                state, s, i, g, acting, up, device, key=key, stream=pulse_stream, counter0=index * max_pulses
            )
            if acting > 0:
                g_read, age = g, 0.0
        if free:
            _program_device(state, s, i, g, device, tau_now=tau_now, key=key)
        return read

    def clip(x):
        return min(max(x, c.g_min_s), c.g_max_s)

    for i in range(target.shape[1]):
        if not active[i]:
            continue
        diff = target[0, i] - target[1, i]
        first = 0 if diff >= 0.0 else 1
        sign = 1.0 if first == 0 else -1.0  # G+ - G- = diff: the partner of G+ sits diff below
        read = verify(i, first, target[first, i], STREAM_VERIFY_READ, STREAM_PULSE_NOISE)
        goal = clip(read - sign * diff) if compensate else target[1 - first, i]
        read = verify(i, 1 - first, goal, STREAM_VERIFY_READ, STREAM_PULSE_NOISE)
        if compensate and abs(goal - read) > tol_s:
            verify(i, first, clip(read + sign * diff), STREAM_VERIFY_RETRY, STREAM_PULSE_NOISE_RETRY)
    return pulses, reads


def derived_key(key: int, counter: int) -> int:
    """A derived 53-bit key: the bits of uniform ``counter`` of the noise-keys stream."""
    return int(splitmix_uniform(int(key), STREAM_NOISE_KEYS, counter) * 2.0**53)


def telegraph_currents(key, p, g_eff, v, *, g_max_s, slot0, last_slot, last_state, tile_rows):
    """Telegraph read noise of one read call (neuromorph.hardware.noise, ``"rtn"``), per read.

    Each device is a two-state Markov jump process with mean dwells ``tau_up``, ``tau_down``;
    a read sees ``G (1 + q(G) (s - p) / sqrt(p (1 - p)))``.  At the call's first read the
    state is drawn from the exact transition over the gap since the last read
    (``P(up) = p + (s_last - p) rho``, ``rho = exp(-gap / tau_c)``; stationary if never read),
    from uniform ``d`` of the start stream under the call's key, derived from the lifetime key
    at counter ``31 << 50 | slot0``; then it dwells ``-tau ln u`` reads (uniform ``d << 30 | k``
    of the dwell stream for its ``k``-th dwell) before each switch.  Returns (the fluctuations'
    column currents per row tile (tiles, batch, n_out), the states at the last read).
    """
    p_up = p.rtn_tau_up_s / (p.rtn_tau_up_s + p.rtn_tau_down_s)
    tau_c = 1.0 / (1.0 / p.rtn_tau_up_s + 1.0 / p.rtn_tau_down_s)
    batch, n_in = v.shape
    n_pairs = g_eff.shape[1]
    n_out = n_pairs // n_in
    call_key = derived_key(key, (31 << 50) | slot0)
    mu = np.zeros((-(-n_in // tile_rows), batch, n_out))
    final = np.zeros((2, n_pairs), dtype=np.int8)
    for pair in range(n_pairs):
        i, j = divmod(pair, n_out)
        for s in range(2):
            d = 2 * pair + s
            prob_up = p_up
            if last_slot >= 0:
                rho = math.exp(-(slot0 - last_slot) * p.t_read_s / tau_c)
                prob_up = p_up + (last_state[s, pair] - p_up) * rho
            state = 1 if splitmix_uniform(call_key, STREAM_RTN_START, d) < prob_up else 0
            switches, t, st, k = [], 0.0, state, 0
            while True:
                tau = (p.rtn_tau_up_s if st == 1 else p.rtn_tau_down_s) / p.t_read_s
                t -= tau * math.log(splitmix_uniform(call_key, STREAM_RTN_DWELL, (d << 30) | k))
                k += 1
                if t > batch - 1:
                    break
                switches.append(t)
                st = 1 - st
            g = g_eff[s, pair]
            q = p.read_noise_rel / max((g / g_max_s) ** p.read_noise_exponent, 1e-3)
            if p.read_noise_max_rel is not None:
                q = min(q, p.read_noise_max_rel)
            for b in range(batch):
                st_b = (state + sum(1 for ts in switches if ts <= b)) % 2
                dg = g * q * (st_b - p_up) / math.sqrt(p_up * (1.0 - p_up))
                mu[i // tile_rows, b, j] += (dg if s == 0 else -dg) * v[b, i]
            final[s, pair] = (state + len(switches)) % 2
    return mu, final
