"""Programming a crossbar's devices: pulse updates, program-and-verify, direct writes (layer 1).

The functions here change a :class:`~neuromorph.hardware.fabrication.DeviceState` in place
and report what it cost; they do not validate.  The
:class:`~neuromorph.hardware.crossbar.Crossbar` checks its inputs, then calls them inside its
one state mutator, which invalidates its caches.

The weight-to-pair mapping is :func:`pair_targets`; the weight error of a programmed state is
:func:`pair_weight_errors`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neuromorph.hardware import _kernels, _pulse_kernels, noise, onesided, pulsing
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
        RMS of (achieved - target) weights over **all** programmed pairs, stuck or not,
        weight units, as a noiseless read sees them right after programming at the
        programming temperature (for write-verify; direct writes: at the reference
        temperature).
    unconverged : int
        Pairs whose weight missed by more than two tolerances (stuck devices the other could
        not compensate, or out of iterations); for ``"direct"`` writes, stuck devices.
    responsive_rms_error : float
        The same RMS over the **responsive** pairs only (both devices free after
        programming); 0 when there are none.
    responsive_pairs : int
        Number of those pairs.
    """

    pulses: int
    verify_reads: int
    weight_rms_error: float
    unconverged: int
    responsive_rms_error: float = 0.0
    responsive_pairs: int = 0


@dataclass(frozen=True)
class UpdateReport:
    """What one pulse-programming update sent.

    Attributes
    ----------
    pulses : int
        Programming pulses sent, the refresh's RESET and SET pulses included.
    devices_pulsed : int
        Devices that received at least one pulse.
    verify_reads : int
        Single-device verify reads (one-sided devices: the refresh check and rewrite).
    refreshed_pairs : int
        Pairs refreshed (one-sided devices, :mod:`neuromorph.hardware.onesided`).
    """

    pulses: int
    devices_pulsed: int
    verify_reads: int = 0
    refreshed_pairs: int = 0


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


def refresh_plan(
    measured: NDArray[np.float64],
    device: DeviceModel,
    temperature_k: float,
    threshold: float,
    g_unit: float,
    w_max: float,
) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Targets (2, n) and active pairs (n,) of a refresh from verify reads ``measured`` (2, n).

    Everything in the units of the reads, conductance as seen at ``temperature_k``: a pair is
    rewritten when its lower device reads above the threshold level ``g_min + threshold
    (g_max - g_min)`` as the temperature law shows it there; its target keeps the measured
    difference (clipped to ``w_max`` scaled by the window's span as read there) with the
    lower device at the window's floor as read there.  At T_ref (the law is then the
    identity) this is the plain window; on a hot PCM die the floor reads several times
    ``g_min``, and comparing hot reads with room-temperature levels refreshed pairs that sat
    low and clipped weights that read larger hot.
    """
    c = device.conductance
    temp = _kernels.temperature_law(device, temperature_k)
    level = c.g_min_s + threshold * (c.g_max_s - c.g_min_s)
    floor, ceiling, level = (_kernels.at_temperature(g, temp) for g in (c.g_min_s, c.g_max_s, level))
    active = (np.minimum(measured[0], measured[1]) > level).astype(np.int8)
    reach = w_max * ((ceiling - floor) / (c.g_max_s - c.g_min_s))  # w_max, as wide as the window reads
    w = np.clip((measured[0] - measured[1]) / g_unit, -reach, reach)
    return pair_targets(w, g_min_s=floor, g_unit=g_unit), active


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
    desired: NDArray[np.float64] | pulsing.OuterProduct,
    *,
    pulses_per_unit: float,
    max_pulses: int,
    tau_now: float,
    key: np.uint64,
    temperature_k: float | None = None,
) -> UpdateReport:
    """Pulse every pair by ``pulses_per_unit * desired[i]`` signed pulses (rounded).

    The law is :func:`neuromorph.hardware._kernels.pulse_update`'s (pulse counts saturate at
    ``max_pulses``), in two passes: :func:`neuromorph.hardware.pulsing.pulse_counts`, then
    the pulsed pairs only.  ``desired`` is finite: an array of any shape (C order) or an
    update's :class:`~neuromorph.hardware.pulsing.OuterProduct`.  A one-sided device
    (``device.one_sided``) takes SET pulses only, then its pulsed pairs are checked and
    refreshed with verify reads at ``temperature_k`` (default T_ref):
    :mod:`neuromorph.hardware.onesided`.
    """
    counts = pulsing.pulse_counts(desired, pulses_per_unit=pulses_per_unit, key=key, max_pulses=max_pulses)
    if device.one_sided is not None:
        t_k = device.temperature.t_ref_k if temperature_k is None else temperature_k
        return _send_set_pulses(
            state, device, counts, max_pulses=max_pulses, tau_now=tau_now, key=key, temperature_k=t_k
        )
    pairs, pulses, both_sides = pulsing.pulsed_pairs(counts)
    _pulse_kernels.apply_counts(
        **state.arrays(),  # the kernels name their device-state arrays as DeviceState does
        counts=counts,
        pairs=pairs,
        law=_kernels.pulse_law(device),
        ret=_kernels.retention_law(device),
        tau_now=tau_now,
        key=key,
        max_pulses=max_pulses,
    )
    return UpdateReport(pulses=pulses, devices_pulsed=pairs.size + both_sides)


def _send_set_pulses(
    state: DeviceState,
    device: DeviceModel,
    counts: NDArray[np.int64],
    *,
    max_pulses: int,
    tau_now: float,
    key: np.uint64,
    temperature_k: float,
) -> UpdateReport:
    """:func:`send_pulses` of a one-sided device: SET pulses, then the refresh of pulsed pairs."""
    pairs, cost = onesided.set_pulse_update(
        state, device, counts, max_pulses=max_pulses, tau_now=tau_now, key=key, temperature_k=temperature_k
    )
    total = cost.pulses
    total[0, pairs] += np.maximum(counts[pairs], 0)
    total[1, pairs] += np.maximum(-counts[pairs], 0)
    return UpdateReport(
        pulses=int(total.sum()),
        devices_pulsed=int(np.count_nonzero(total)),
        verify_reads=int(cost.reads.sum()),
        refreshed_pairs=cost.refreshed,
    )


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
    temperature_k: float,
    tau_now: float,
    key: np.uint64,
    g_unit: float,
) -> ProgramReport:
    """Program-and-verify the ``active`` pairs towards ``target`` (2, n), siemens.

    The targets are conductances as read at ``temperature_k`` (K), where the verify reads
    happen.  See :func:`neuromorph.hardware._kernels.write_verify` for the procedure; the
    report's errors cover the active pairs as a noiseless read at ``temperature_k`` sees them
    just after programming.  A one-sided device is programmed by SET-only program-and-verify
    (:func:`neuromorph.hardware.onesided.set_program_and_verify`).
    """
    temp = _kernels.temperature_law(device, temperature_k)
    ret = _kernels.retention_law(device)
    if device.one_sided is not None:
        pulses, reads = onesided.set_program_and_verify(
            state, device, target, active, tolerance_s=tolerance_s, max_iterations=max_iterations,
            max_pulses=max_pulses, compensate=compensate, temperature_k=temperature_k,
            tau_now=tau_now, key=key,
        )  # fmt: skip
    else:
        pulses, reads = _write_verify(
            state, device, target, active, tolerance_s=tolerance_s, max_iterations=max_iterations,
            max_pulses=max_pulses, compensate=compensate, temp=temp, ret=ret, tau_now=tau_now,
            key=key,
        )  # fmt: skip
    return _verify_report(
        state,
        target,
        active,
        pulses,
        reads,
        temp=temp,
        ret=ret,
        tau_now=tau_now,
        tolerance_s=tolerance_s,
        g_unit=g_unit,
    )


def _write_verify(
    state: DeviceState,
    device: DeviceModel,
    target: NDArray[np.float64],
    active: NDArray[np.int8],
    *,
    tolerance_s: float,
    max_iterations: int,
    max_pulses: int,
    compensate: bool,
    temp: NDArray[np.float64],
    ret: NDArray[np.float64],
    tau_now: float,
    key: np.uint64,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The bidirectional write-verify kernel's per-device pulses and reads, each (2, n)."""
    c, p = device.conductance, device.pulse
    pulses = np.empty(target.shape, dtype=np.int64)
    reads = np.empty(target.shape, dtype=np.int64)
    _kernels.write_verify(
        **state.arrays(),  # the kernels name their device-state arrays as DeviceState does
        target=target,
        law=_kernels.pulse_law(device),
        ret=ret,
        temp=temp,
        step_up=p.step_up_scale * device.step_s,
        step_down=p.step_down_scale * device.step_s,
        noise_law=_kernels.verify_noise_law(device),
        tol_s=tolerance_s,
        max_iter=max_iterations,
        max_pulses=max_pulses,
        g_floor=c.g_min_s,
        g_ceil=c.g_max_s,
        compensate=compensate,
        active=active,
        tau_now=tau_now,
        key=key,
        pulses_out=pulses,
        reads_out=reads,
    )
    return pulses, reads


def _verify_report(
    state: DeviceState,
    target: NDArray[np.float64],
    active: NDArray[np.int8],
    pulses: NDArray[np.int64],
    reads: NDArray[np.int64],
    *,
    temp: NDArray[np.float64],
    ret: NDArray[np.float64],
    tau_now: float,
    tolerance_s: float,
    g_unit: float,
) -> ProgramReport:
    """The :class:`ProgramReport` of a program-and-verify that sent ``pulses`` and ``reads``."""
    chosen = active == 1
    if not chosen.any():
        return ProgramReport(pulses=0, verify_reads=0, weight_rms_error=0.0, unconverged=0)
    seen = np.empty_like(state.g_prog)
    _kernels.verify_conductance(
        g_prog=state.g_prog,
        tau_prog=state.tau_prog,
        nu=state.nu,
        tau_now=tau_now,
        ret=ret,
        temp=temp,
        g_out=seen,
    )
    werr = pair_weight_errors(seen, target, g_unit=g_unit)[chosen]
    responsive = (state.stuck == StuckCode.NONE).all(axis=0)[chosen]
    missed = np.abs(werr) * g_unit > UNCONVERGED_TOLERANCES * tolerance_s
    return ProgramReport(
        pulses=int(pulses.sum()),
        verify_reads=int(reads.sum()),
        weight_rms_error=rms(werr),
        unconverged=int(np.count_nonzero(missed)),
        responsive_rms_error=rms(werr[responsive]),
        responsive_pairs=int(np.count_nonzero(responsive)),
    )


def program_noise_std(device: DeviceModel, target: NDArray[np.float64]) -> NDArray[np.float64] | float:
    """Std of a direct write to ``target`` (siemens): ``g_max (c0 + sum_k c_k x**(k+1))``.

    ``c0`` is ``program_noise_rel``, the ``c_k`` are ``program_noise_poly`` and
    ``x = target / g_max``; a float when there is no polynomial.
    """
    noise, g_max = device.noise, device.conductance.g_max_s
    if not noise.program_noise_poly:
        return noise.program_noise_rel * g_max
    x = target / g_max
    sigma = np.full(target.shape, noise.program_noise_rel)
    power = np.ones(target.shape)
    for coeff in noise.program_noise_poly:
        power = power * x
        sigma = sigma + coeff * power
    return g_max * np.maximum(sigma, 0.0)


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

    The noise is :func:`program_noise_std` times a standard normal from ``rng``; each device
    is clipped to its own bounds.  The targets are reference-temperature conductances (an
    idealised write, no verify read), and direct writes send no pulses, so they do not wear
    devices.  Where the retention law redraws at programming, each written device then
    draws its retention parameter from its new state (normals from ``rng``).  Stuck devices
    keep their conductance and count as unconverged.
    """
    noise = program_noise_std(device, target) * rng.standard_normal(target.shape)
    g_new = np.clip(target + noise, state.g_lo, state.g_hi)
    movable = state.stuck == StuckCode.NONE
    state.g_prog[movable] = g_new[movable]
    state.tau_prog[movable] = tau_now
    ret = _kernels.retention_law(device)
    if ret[_kernels.R_REDRAW]:
        nu = np.empty_like(g_new)
        _kernels.retention_parameters(g=g_new, z=rng.standard_normal(target.shape), ret=ret, out=nu)
        state.nu[movable] = nu[movable]
    werr = pair_weight_errors(state.g_prog, target, g_unit=g_unit)
    responsive = movable.all(axis=0)
    return ProgramReport(
        pulses=0,
        verify_reads=0,
        weight_rms_error=rms(werr),
        unconverged=int(np.count_nonzero(~movable)),
        responsive_rms_error=rms(werr[responsive]),
        responsive_pairs=int(np.count_nonzero(responsive)),
    )


def verify_scan(
    state: DeviceState,
    device: DeviceModel,
    *,
    temperature_k: float,
    tau_now: float,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """One verify read of every device, shape (2, n), siemens.

    A verify read sees the device as it is now at ``temperature_k`` (retention, then the
    temperature law), times ``1 + sd * eps`` with ``eps`` standard normals from ``rng`` and
    ``sd`` the marginal of the read-noise law at the device's programmed state and age
    (:func:`verify_noise_rel`; the kernels' twin is
    :func:`neuromorph.hardware._kernels.verify_noise_rel`).
    """
    g = np.empty_like(state.g_prog)
    _kernels.verify_conductance(
        g_prog=state.g_prog,
        tau_prog=state.tau_prog,
        nu=state.nu,
        tau_now=tau_now,
        ret=_kernels.retention_law(device),
        temp=_kernels.temperature_law(device, temperature_k),
        g_out=g,
    )
    if not device.noise.read_noise_rel:
        return g
    sd = verify_noise_rel(state, device, tau_now=tau_now)
    return g * (1.0 + sd * rng.standard_normal(g.shape))


def verify_noise_rel(state: DeviceState, device: DeviceModel, *, tau_now: float) -> NDArray[np.float64]:
    """Relative std of one verify read of every device now, shape (2, n).

    Verify reads see the marginal of the read-noise law of ``device.noise``
    (:mod:`neuromorph.hardware.noise`): the state-dependent amplitude ``q`` at the programmed
    conductance, and for the 1/f law its accumulated growth ``sqrt(ln((age + t0 + t_r) / (2
    t_r)))`` at the device's age since programming (``tau_now - tau_prog``, equivalent s).
    Successive verify reads draw independently: the 1/f and telegraph laws' correlation
    across reads lives on the crossbar's read clock, which counts array reads, not the
    single-device reads of a verify (each follows a reprogramming pulse, which restarts the
    1/f accumulation of aihwkit's law anyway).
    """
    p = device.noise
    q = noise.amplitude(state.g_prog, p, g_max_s=device.conductance.g_max_s)
    if p.read_noise_law != "pink":
        return q
    age = tau_now - state.tau_prog
    span = noise.ln_span(age, t0_s=device.drift.t0_s, t_read_s=p.t_read_s)
    return q * np.sqrt(np.maximum(span - math.log(2.0), 0.0))
