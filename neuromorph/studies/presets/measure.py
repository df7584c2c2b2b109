"""Device measurements for the preset check: fabricate, pulse, program, age, heat, read (layer 4).

Each function fabricates fresh devices of a :class:`~neuromorph.hardware.devices.DeviceModel`
on a one-row :class:`~neuromorph.hardware.crossbar.Crossbar` (pair ``j`` holds weight
``(0, j)``; its G+ device is the device under test, its G- device rests at the bottom of the
window) and measures a statistic as a parametric tester would.  As a scorer, a measurement
reads conductances directly (hidden state: no ADC, no read noise) except where read noise
is the quantity measured, which goes through the read path.  Everything is seeded by the
``rng`` given; nothing prints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neuromorph.hardware.crossbar import Crossbar
from neuromorph.hardware.devices import DeviceModel, StuckCode
from neuromorph.hardware.environment import Environment
from neuromorph.hardware.periphery import IDEAL_PERIPHERY


def fabricate(
    device: DeviceModel, n_pairs: int, rng: np.random.Generator, *, env: Environment | None = None
) -> Crossbar:
    """A one-row crossbar of ``n_pairs`` pairs of ``device``, ideal periphery, at T_ref, t = 0."""
    env = Environment(temperature_k=device.temperature.t_ref_k) if env is None else env
    return Crossbar.fabricate(1, n_pairs, rng=rng, device=device, periphery=IDEAL_PERIPHERY, environment=env)


def g_plus(xbar: Crossbar) -> NDArray[np.float64]:
    """Effective conductance of every G+ device now, shape (n_pairs,), siemens."""
    return xbar.effective_conductances()[0, 0].copy()


def free_plus(xbar: Crossbar) -> NDArray[np.bool_]:
    """Which G+ devices are programmable (not stuck at fabrication)."""
    return xbar.stuck_codes()[0, 0] == StuckCode.NONE


def level(device: DeviceModel, x: float) -> float:
    """The conductance at fraction ``x`` of the nominal window, siemens."""
    c = device.conductance
    return c.g_min_s + x * (c.g_max_s - c.g_min_s)


def program_level(xbar: Crossbar, x: float, *, method: str = "direct") -> float:
    """Program every G+ device to fraction ``x`` of the window (G- at g_min); return the target."""
    xbar.program(np.full(xbar.shape, x * xbar.w_max), method=method)
    return level(xbar.device, x)


def pulse_plus(xbar: Crossbar, sign: int) -> None:
    """One pulse to every G+ device (+1 up, -1 down); its G- partner gets the mirror pulse.

    A one-sided device takes SET pulses only: +1 is one SET pulse on G+, -1 one on G-.
    """
    if xbar.device.one_sided is not None:
        xbar.apply_delta(np.full(xbar.shape, sign * xbar.weight_per_pulse), max_pulses=1)
        return
    xbar.apply_delta(np.full(xbar.shape, sign * 2.0 * xbar.weight_per_pulse), max_pulses=2)


def to_bottom(xbar: Crossbar, reset_pulses: int) -> None:
    """Return every device to its own lower bound.

    A burst of ``reset_pulses`` down pulses per device; a one-sided device, whose pulses only
    SET, is RESET by the tester to exactly its lower bound (``set_programmed``: an ideal
    RESET, so the steps that follow start where the source's law starts).
    """
    if xbar.device.one_sided is not None:
        xbar.set_programmed(xbar.device_state().g_lo.reshape(2, *xbar.shape))
        return
    xbar.apply_delta(
        np.full(xbar.shape, -2.0 * reset_pulses * xbar.weight_per_pulse), max_pulses=2 * reset_pulses
    )


@dataclass(frozen=True)
class StepSample:
    """Mean steps of bursts of pulses, per device, siemens.

    ``up`` and ``down`` have shape (n_devices, k): each entry is the mean step of one burst
    of ``burst`` pulses of that polarity.
    """

    up: NDArray[np.float64]
    down: NDArray[np.float64]
    burst: int = 1

    def _steps(self, which: str) -> NDArray[np.float64]:
        return self.up if which == "up" else -self.down

    def asymmetry(self) -> float:
        """Mean |down step| over mean up step."""
        return float(np.mean(self._steps("down")) / np.mean(self._steps("up")))

    def c2c_rel(self, which: str = "up") -> float:
        """Cycle-to-cycle std of one pulse's step over its mean, from each device's own spread.

        ``c2c**2 = burst * mean_i var_i / mean_i s_i**2``, with ``s_i**2`` estimated without
        bias as ``m_i**2 - var_i / k``: device-to-device spread does not count.
        """
        steps = self._steps(which)
        var = steps.var(axis=1, ddof=1)
        s2 = steps.mean(axis=1) ** 2 - var / steps.shape[1]
        return float(np.sqrt(self.burst * var.mean() / s2.mean()))

    def d2d_rel(self, which: str = "up") -> float:
        """Device-to-device std of the mean step over its mean, c2c sampling removed."""
        steps = self._steps(which)
        means = steps.mean(axis=1)
        between = means.var(ddof=1) - steps.var(axis=1, ddof=1).mean() / steps.shape[1]
        return float(np.sqrt(max(between, 0.0)) / means.mean())


def steps_at(
    device: DeviceModel, rng: np.random.Generator, *, x: float, n_pairs: int, n_bursts: int, burst: int = 1
) -> StepSample:
    """Program to ``x``, then alternate bursts of ``burst`` up and down pulses, ``n_bursts`` times.

    Alternation keeps each device near ``x``.  Only devices free at fabrication count.
    """
    xbar = fabricate(device, n_pairs, rng)
    program_level(xbar, x)
    free = free_plus(xbar)
    g = [g_plus(xbar)]
    for k in range(n_bursts):
        sign = 1 if k % 2 == 0 else -1
        xbar.apply_delta(
            np.full(xbar.shape, sign * 2.0 * burst * xbar.weight_per_pulse), max_pulses=2 * burst
        )
        g.append(g_plus(xbar))
    d = np.diff(np.array(g), axis=0).T[free] / burst
    return StepSample(up=d[:, 0::2], down=d[:, 1::2], burst=burst)


def unresponsive_fraction(
    device: DeviceModel, rng: np.random.Generator, *, n_pairs: int, n_pulses: int
) -> float:
    """Fraction of G+ devices whose conductance never moves under ``n_pulses`` up then down."""
    xbar = fabricate(device, n_pairs, rng)
    g0 = g_plus(xbar)
    moved = np.zeros(n_pairs, dtype=bool)
    for sign in (1, -1):
        for _ in range(n_pulses):
            pulse_plus(xbar, sign)
            moved |= g_plus(xbar) != g0
    return float(np.mean(~moved))


def programming_error(
    device: DeviceModel, rng: np.random.Generator, *, x: float, n_pairs: int, margin: float = 0.0
) -> NDArray[np.float64]:
    """``G - target`` of free G+ devices right after a direct write to ``x``, siemens.

    Only devices whose own window holds ``target +/- margin * (g_max - g_min)`` count, so
    that device-to-device spread of the bounds does not clip the noise being measured.
    """
    xbar = fabricate(device, n_pairs, rng)
    target = program_level(xbar, x)
    state = xbar.device_state()
    reach = margin * (device.conductance.g_max_s - device.conductance.g_min_s)
    inside = (state.g_lo[0] <= target - reach) & (state.g_hi[0] >= target + reach)
    return (g_plus(xbar) - target)[free_plus(xbar) & inside]


def aged(
    device: DeviceModel, rng: np.random.Generator, *, x: float, n_pairs: int, times_s: tuple[float, ...]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Program free devices to ``x`` at t = 0 and read them at each of ``times_s`` (at T_ref).

    Returns ``(g0, g)``: the conductance right after programming (n,) and at each time
    (len(times_s), n), siemens.
    """
    env = Environment(temperature_k=device.temperature.t_ref_k)
    xbar = fabricate(device, n_pairs, rng, env=env)
    program_level(xbar, x)
    free = free_plus(xbar)
    g0 = g_plus(xbar)[free]
    out = []
    for t in times_s:
        env.advance(t - env.time_s)
        out.append(g_plus(xbar)[free])
    return g0, np.array(out)


def heated_ratio(
    device: DeviceModel, rng: np.random.Generator, *, x: float, n_pairs: int, temperature_k: float
) -> NDArray[np.float64]:
    """``G(T) / G(T_ref)`` of free devices programmed to ``x`` (direct write), read at once.

    Devices written to 0 S (their own lower bound clipped at zero) have no ratio and are left
    out.
    """
    env = Environment(temperature_k=device.temperature.t_ref_k)
    xbar = fabricate(device, n_pairs, rng, env=env)
    program_level(xbar, x)
    cold = g_plus(xbar)
    keep = free_plus(xbar) & (cold > 0.0)
    env.set_temperature(temperature_k)
    return g_plus(xbar)[keep] / cold[keep]


def hrs_heated_ratio(
    device: DeviceModel, rng: np.random.Generator, *, n_pairs: int, temperature_k: float
) -> NDArray[np.float64]:
    """``G(T) / G(T_ref)`` of free devices in the high-resistance state, read at once.

    Devices leave fabrication RESET, at their own lower bound; as a tester counts a RESET
    successful only once the cell reads at or above its HRS resistance, only devices reading
    ``0 < G <= g_min`` (nominal) are in the HRS and count.  Their number is
    ``len(result)``.
    """
    env = Environment(temperature_k=device.temperature.t_ref_k)
    xbar = fabricate(device, n_pairs, rng, env=env)
    cold = g_plus(xbar)
    keep = free_plus(xbar) & (cold > 0.0) & (cold <= device.conductance.g_min_s)
    env.set_temperature(temperature_k)
    return g_plus(xbar)[keep] / cold[keep]


def steps_from_bottom(
    device: DeviceModel, rng: np.random.Generator, *, n_pairs: int, n_cycles: int, reset_pulses: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Single up steps of free G+ devices from their lower bound, and each device's room.

    Devices start at their own lower bound; each cycle sends one up pulse, records the step
    and sends ``reset_pulses`` down pulses in one burst to return to the bound.

    Returns
    -------
    steps : ndarray of shape (n_devices, n_cycles), siemens
    room : ndarray of shape (n_devices,)
        The device's own window over its own up step (hidden state): below ~3, a noisy
        step may be clipped at the top and the step statistics of that device are censored.
    """
    xbar = fabricate(device, n_pairs, rng)
    free = free_plus(xbar)
    state = xbar.device_state()
    steps = np.empty((n_cycles, n_pairs))
    for k in range(n_cycles):
        before = g_plus(xbar)
        pulse_plus(xbar, 1)
        steps[k] = g_plus(xbar) - before
        to_bottom(xbar, reset_pulses)
    room = (state.g_hi[0] - state.g_lo[0]) / state.s_up[0]
    return steps.T[free], room[free]


def read_deviation_rel(
    device: DeviceModel, rng: np.random.Generator, *, x: float, n_pairs: int, age_s: float
) -> NDArray[np.float64]:
    """Relative deviation of one read of each free pair from its noiseless value.

    G+ devices are programmed to ``x`` and read once, ``age_s`` later, through the
    crossbar's read path (ideal DAC and ADC: the deviation is the devices' read noise).  The
    deviation is divided by ``sqrt(G+**2 + G-**2)``, so a relative noise ``q`` of both
    devices gives a std of ``q``.
    """
    env = Environment(temperature_k=device.temperature.t_ref_k)
    xbar = fabricate(device, n_pairs, rng, env=env)
    program_level(xbar, x)
    free = free_plus(xbar)
    env.advance(age_s)
    g = xbar.effective_conductances()[:, 0]
    y = xbar.read(np.full(1, xbar.periphery.dac.input_full_scale))
    deviation = y * xbar.g_unit - (g[0] - g[1])
    # both devices of the pair fluctuate independently: scale by their combined conductance
    return (deviation / np.hypot(g[0], g[1]))[free]


def pulses_to_failure(
    device: DeviceModel,
    rng: np.random.Generator,
    *,
    n_pairs: int,
    burst: int,
    max_bursts: int,
    stop_fraction: float = 1.0,
) -> NDArray[np.float64]:
    """Pulses each G+ device took before it wore out (stuck), in bursts of ``burst``.

    Bursts alternate up and down (a one-sided device: SET bursts on G+ only); a device still
    free when the run stops (after ``max_bursts``, or once ``stop_fraction`` of the devices
    are worn) counts as ``inf``.  The count is resolved to one burst (the burst in which the
    device stuck).
    """
    xbar = fabricate(device, n_pairs, rng)
    free0 = free_plus(xbar)
    worn_at = np.full(n_pairs, np.inf)
    wpp = xbar.weight_per_pulse
    one_sided = device.one_sided is not None
    for k in range(max_bursts):
        if one_sided:
            xbar.apply_delta(np.full(xbar.shape, burst * wpp), max_pulses=burst)
        else:
            sign = 1 if k % 2 == 0 else -1
            xbar.apply_delta(np.full(xbar.shape, sign * 2.0 * burst * wpp), max_pulses=2 * burst)
        newly = free0 & ~free_plus(xbar) & np.isinf(worn_at)
        worn_at[newly] = (k + 1) * burst
        if np.mean(np.isfinite(worn_at[free0])) >= stop_fraction:
            break
    return worn_at[free0]
