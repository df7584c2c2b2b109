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


def fabricate(device: DeviceModel, n_pairs: int, rng: np.random.Generator, *, env: Environment | None = None) -> Crossbar:
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
    """One pulse to every G+ device (+1 up, -1 down); its G- partner gets the mirror pulse."""
    xbar.apply_delta(np.full(xbar.shape, sign * 2.0 * xbar.weight_per_pulse), max_pulses=2)


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
        xbar.apply_delta(np.full(xbar.shape, sign * 2.0 * burst * xbar.weight_per_pulse), max_pulses=2 * burst)
        g.append(g_plus(xbar))
    d = np.diff(np.array(g), axis=0).T[free] / burst
    return StepSample(up=d[:, 0::2], down=d[:, 1::2], burst=burst)


def unresponsive_fraction(device: DeviceModel, rng: np.random.Generator, *, n_pairs: int, n_pulses: int) -> float:
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
    device: DeviceModel, rng: np.random.Generator, *, x: float, n_pairs: int, method: str = "direct"
) -> NDArray[np.float64]:
    """``G - target`` of the free G+ devices right after programming them to ``x``, siemens."""
    xbar = fabricate(device, n_pairs, rng)
    target = program_level(xbar, x, method=method)
    return (g_plus(xbar) - target)[free_plus(xbar)]


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


def heated_ratio(device: DeviceModel, rng: np.random.Generator, *, x: float, n_pairs: int, temperature_k: float) -> float:
    """Mean ``G(T) / G(T_ref)`` of free devices programmed to ``x``, read at once."""
    env = Environment(temperature_k=device.temperature.t_ref_k)
    xbar = fabricate(device, n_pairs, rng, env=env)
    program_level(xbar, x)
    free = free_plus(xbar)
    cold = g_plus(xbar)[free]
    env.set_temperature(temperature_k)
    return float(np.mean(g_plus(xbar)[free] / cold))
