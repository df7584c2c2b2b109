"""Programming a crossbar's devices: pulse updates, program-and-verify, direct writes (layer 1).

The functions here change a :class:`~neuromorph.hardware.fabrication.DeviceState` in place
and report what it cost; they do not validate.  The
:class:`~neuromorph.hardware.crossbar.Crossbar` checks its inputs, then calls them inside its
one state mutator, which invalidates its caches.

The weight-to-pair mapping is :func:`pair_targets`; the weight error of a programmed state is
:func:`pair_weight_errors`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neuromorph.hardware import _kernels
from neuromorph.hardware.devices import DeviceModel, StuckCode
from neuromorph.hardware.fabrication import DeviceState

#: Pulses per device and call unless the caller says otherwise (update, refresh, program):
#: half the RRAM preset's 128 nominal states, so one call may cross half the window.
DEFAULT_MAX_PULSES = 64
#: A pair counts as unconverged when its weight misses by more than this many tolerances.
UNCONVERGED_TOLERANCES = 2


@dataclass(frozen=True)
class ProgramReport:
    """What programming a crossbar cost and achieved.

    Attributes
    ----------
    pulses : int
        Programming pulses sent (to all devices).
    verify_reads : int
        Single-device verify reads performed.
    weight_rms_error : float
        RMS of (achieved - target) weights at the reference condition, weight units.
    unconverged : int
        Pairs whose weight missed by more than two tolerances (stuck devices the other could
        not compensate, or out of iterations); for ``"direct"`` writes, stuck devices.
    """

    pulses: int
    verify_reads: int
    weight_rms_error: float
    unconverged: int


@dataclass(frozen=True)
class UpdateReport:
    """What one pulse-programming update sent: pulse total and devices pulsed."""

    pulses: int
    devices_pulsed: int


def pair_targets(weights: NDArray[np.float64], *, g_min_s: float, g_unit: float) -> NDArray[np.float64]:
    """Target conductances of the pairs that hold ``weights``, shape (2, n), siemens.

    ``G+ = g_min + max(w, 0) g_unit`` and ``G- = g_min + max(-w, 0) g_unit``: the device of
    the weight's sign carries it, its partner rests at the bottom of the window.

    Parameters
    ----------
    weights : ndarray of shape (n,)
        Weights, in weight units.
    g_min_s : float
        Nominal lower bound of the devices, siemens.
    g_unit : float
        Conductance difference per unit weight, siemens.
    """
    target = np.empty((2, weights.size))
    target[0] = g_min_s + np.maximum(weights, 0.0) * g_unit
    target[1] = g_min_s + np.maximum(-weights, 0.0) * g_unit
    return target


def pair_weight_errors(
    g_prog: NDArray[np.float64], target: NDArray[np.float64], *, g_unit: float
) -> NDArray[np.float64]:
    """Weight error ``((G+ - G-) - (T+ - T-)) / g_unit`` of every pair, shape (n,).

    ``g_prog`` and ``target`` have shape (2, n), siemens; the error is in weight units.
    """
    return ((g_prog[0] - g_prog[1]) - (target[0] - target[1])) / g_unit


def rms(values: NDArray[np.float64]) -> float:
    """Root mean square of ``values``; 0 for an empty array."""
    return float(np.sqrt(np.mean(values**2))) if values.size else 0.0


def send_pulses(
    state: DeviceState,
    device: DeviceModel,
    desired: NDArray[np.float64],
    *,
    pulses_per_unit: float,
    max_pulses: int,
    tau_now: float,
    key: np.uint64,
) -> UpdateReport:
    """Pulse every pair by ``pulses_per_unit * desired[i]`` signed pulses (rounded).

    See :func:`neuromorph.hardware._kernels.pulse_update` for the law; ``desired`` has shape
    (n,) and is C-contiguous float64.
    """
    pulses = np.empty((2, desired.size), dtype=np.int64)
    p = device.pulse
    _kernels.pulse_update(
        **state.arrays(),  # the kernels name their device-state arrays as DeviceState does
        desired=desired,
        scale=pulses_per_unit,
        a_up=p.nonlinearity_up,
        a_down=p.nonlinearity_down,
        c2c=p.c2c_rel,
        tau_now=tau_now,
        t0=device.drift.t0_s,
        key=key,
        max_pulses=max_pulses,
        pulses_out=pulses,
    )
    return UpdateReport(pulses=int(pulses.sum()), devices_pulsed=int(np.count_nonzero(pulses)))


def program_and_verify(
    state: DeviceState,
    device: DeviceModel,
    target: NDArray[np.float64],
    active: NDArray[np.int8],
    *,
    tolerance_s: float,
    max_iterations: int,
    max_pulses: int,
    compensate: bool,
    tau_now: float,
    key: np.uint64,
    g_unit: float,
) -> ProgramReport:
    """Program-and-verify the ``active`` pairs towards ``target`` (2, n), siemens.

    See :func:`neuromorph.hardware._kernels.write_verify` for the procedure; the report's
    error covers the active pairs, freshly programmed (no drift yet, reference temperature).
    """
    c, p = device.conductance, device.pulse
    pulses = np.empty(target.shape, dtype=np.int64)
    reads = np.empty(target.shape, dtype=np.int64)
    _kernels.write_verify(
        **state.arrays(),  # the kernels name their device-state arrays as DeviceState does
        target=target,
        a_up=p.nonlinearity_up,
        a_down=p.nonlinearity_down,
        c2c=p.c2c_rel,
        step_up=p.step_up_scale * device.step_s,
        step_down=p.step_down_scale * device.step_s,
        read_rel=device.noise.read_noise_rel,
        tol_s=tolerance_s,
        max_iter=max_iterations,
        max_pulses=max_pulses,
        g_floor=c.g_min_s,
        g_ceil=c.g_max_s,
        compensate=compensate,
        active=active,
        tau_now=tau_now,
        t0=device.drift.t0_s,
        key=key,
        pulses_out=pulses,
        reads_out=reads,
    )
    werr = pair_weight_errors(state.g_prog, target, g_unit=g_unit)[active == 1]
    if werr.size == 0:
        return ProgramReport(pulses=0, verify_reads=0, weight_rms_error=0.0, unconverged=0)
    missed = np.abs(werr) * g_unit > UNCONVERGED_TOLERANCES * tolerance_s
    return ProgramReport(
        pulses=int(pulses.sum()),
        verify_reads=int(reads.sum()),
        weight_rms_error=rms(werr),
        unconverged=int(np.count_nonzero(missed)),
    )


def write_direct(
    state: DeviceState,
    device: DeviceModel,
    target: NDArray[np.float64],
    *,
    rng: np.random.Generator,
    tau_now: float,
    g_unit: float,
) -> ProgramReport:
    """Set every programmable device to its ``target`` plus programming noise, in one shot.

    The noise is ``program_noise_rel * g_max`` times a standard normal from ``rng``; each
    device is clipped to its own bounds.  Stuck devices keep their conductance and count as
    unconverged.
    """
    c = device.conductance
    noise = device.noise.program_noise_rel * c.g_max_s * rng.standard_normal(target.shape)
    g_new = np.clip(target + noise, state.g_lo, state.g_hi)
    movable = state.stuck == StuckCode.NONE
    state.g_prog[movable] = g_new[movable]
    state.tau_prog[movable] = tau_now
    return ProgramReport(
        pulses=0,
        verify_reads=0,
        weight_rms_error=rms(pair_weight_errors(state.g_prog, target, g_unit=g_unit)),
        unconverged=int(np.count_nonzero(~movable)),
    )


def verify_scan(
    state: DeviceState, device: DeviceModel, *, tau_now: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """One verify read of every device, shape (2, n), siemens.

    A verify read sees the drifted conductance at the reference temperature, times
    ``1 + read_noise_rel * eps`` with ``eps`` standard normals from ``rng``.
    """
    g = np.empty_like(state.g_prog)
    _kernels.drifted_conductance(
        g_prog=state.g_prog,
        tau_prog=state.tau_prog,
        nu=state.nu,
        tau_now=tau_now,
        t0=device.drift.t0_s,
        g_out=g,
    )
    read_rel = device.noise.read_noise_rel
    return g * (1.0 + read_rel * rng.standard_normal(g.shape)) if read_rel else g
