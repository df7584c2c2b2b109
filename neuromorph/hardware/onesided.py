"""One-sided (SET-only) device pairs: pulse updates, refresh, program-and-verify (layer 1).

For a device model with :class:`~neuromorph.hardware.devices.OneSidedParams` (phase-change
memory), a pair ``G+ - G-`` is only ever moved *up* gradually, as aihwkit's
``OneSidedUnitCell`` / ``PCMPresetUnitCell`` and the multi-memristive PCM synapses of Boybat
et al. (Nat. Commun. 9, 2514 (2018)) do:

* **update**: a positive desired change sends SET pulses to G+, a negative one SET pulses
  to G-, with the device's up law only (:func:`set_pulse_update`);
* **refresh**, right after each update, for every pair just pulsed: both devices are
  verify-read; when the higher reads above ``refresh_upper`` and the lower above
  ``refresh_lower`` of the nominal window (aihwkit's criterion, defaults 0.75 and 0.25), both
  are RESET and the read difference is re-programmed onto one device by SET-only
  program-and-verify, the other resting at the RESET level (:func:`refresh_after_update`).
  aihwkit re-writes open loop with pulse trains; here the rewrite is closed loop, as a chip's
  programmer would do it;
* **program-and-verify** (:func:`set_program_and_verify`): a device above its goal is RESET
  and climbs again by SET pulses, never stepped down.

On a hot die the verify reads, goals, RESET level, window and refresh thresholds are all
compared as the die's temperature reads them, so a refresh keeps the *hot* function; the
weights as read at T_ref change, because PCM's temperature law is concave in G
(``f(G+) - f(G-) != f(G+ - G-)``: at 358 K a device near the bottom reads ~6x its T_ref
conductance, one near the top ~1.4x).  A real controller verifying hot does the same.
Measured (64 x 32 PCM_GST, weights in [-0.8, 0.8], one day at 300 K, one ``refresh`` at
358 K, 559 of 2048 pairs rewritten): the 358 K function changes by 0.18 (relative, SET-only
write precision), best-fit scale 0.99; the 300 K weights by 0.35, scale 0.84 (the rewritten
pairs' 0.37).  At 358 K PCM's first SET step from the bottom reads ~14 uS (0.56 of a weight
unit), so a pair whose hot difference is smaller cannot be rewritten closely.

Every RESET is one pulse and every read one single-device verify read; they wear the device
and are reported, so the chip's meter bills them.  The functions change a
:class:`~neuromorph.hardware.fabrication.DeviceState` in place and do not validate (the
:class:`~neuromorph.hardware.crossbar.Crossbar` does, through
:mod:`neuromorph.hardware.programming`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from neuromorph.hardware import _kernels, _pulse_kernels
from neuromorph.hardware import _onesided_kernels as _osk
from neuromorph.hardware.devices import DeviceModel
from neuromorph.hardware.fabrication import DeviceState

#: Verify iterations per device of a refresh's rewrite: Crossbar.refresh's default.
REFRESH_MAX_ITERATIONS = 20
#: SET pulses per iteration of that rewrite: programming.DEFAULT_MAX_PULSES's value.
REFRESH_MAX_PULSES = 64


class RefreshCost(NamedTuple):
    """What the refresh after one update spent: per-device pulses and reads, pairs refreshed."""

    pulses: NDArray[np.int64]
    reads: NDArray[np.int64]
    refreshed: int


def one_sided_law(device: DeviceModel, tolerance_s: float) -> NDArray[np.float64]:
    """The one-sided law of ``device`` and a verify tolerance (S), packed for the kernels."""
    o, c = device.one_sided, device.conductance
    return np.array(
        [
            o.reset_rel, o.reset_std_rel, o.refresh_upper, o.refresh_lower, c.g_min_s, c.g_max_s,
            device.pulse.step_up_scale * device.step_s, tolerance_s,
        ],
        dtype=np.float64,
    )  # fmt: skip


def set_pulse_update(
    state: DeviceState,
    device: DeviceModel,
    counts: NDArray[np.int64],
    *,
    max_pulses: int,
    tau_now: float,
    key: np.uint64,
    temperature_k: float,
) -> tuple[NDArray[np.int64], RefreshCost]:
    """SET pulses by the signed ``counts`` (n,) on the device of each sign, then the refresh.

    ``counts`` are an update's rounded pulse counts
    (:func:`neuromorph.hardware.pulsing.pulse_counts`).  Returns the pairs pulsed (indices)
    and the refresh's cost.  See :func:`neuromorph.hardware._pulse_kernels.apply_counts`
    (``set_only``) and :func:`refresh_after_update`.
    """
    pairs = np.flatnonzero(counts)
    _pulse_kernels.apply_counts(
        **state.arrays(),
        counts=counts,
        pairs=pairs,
        law=_kernels.pulse_law(device),
        ret=_kernels.retention_law(device),
        tau_now=tau_now,
        key=key,
        max_pulses=max_pulses,
        set_only=True,
    )
    cost = refresh_after_update(state, device, pairs, temperature_k=temperature_k, tau_now=tau_now, key=key)
    return pairs, cost


def refresh_after_update(
    state: DeviceState,
    device: DeviceModel,
    pairs: NDArray[np.int64],
    *,
    temperature_k: float,
    tau_now: float,
    key: np.uint64,
) -> RefreshCost:
    """Check, and refresh where due, the just-pulsed ``pairs`` (indices).

    Verify reads and the rewrite happen at ``temperature_k``; the rewrite's tolerance is one
    nominal step (the crossbar's write-verify default), with :data:`REFRESH_MAX_ITERATIONS`
    iterations of at most :data:`REFRESH_MAX_PULSES` pulses.  Uses the update's ``key`` on
    streams of its own (:mod:`neuromorph._rng`).
    """
    n = state.n_pairs
    pulses = np.zeros((2, n), dtype=np.int64)
    reads = np.zeros((2, n), dtype=np.int64)
    refreshed = np.zeros(n, dtype=np.int8)
    _osk.refresh_pulsed(
        **state.arrays(),
        pairs=pairs,
        law=_kernels.pulse_law(device),
        ret=_kernels.retention_law(device),
        temp=_kernels.temperature_law(device, temperature_k),
        noise_law=_kernels.verify_noise_law(device),
        osl=one_sided_law(device, device.step_s),
        max_iter=REFRESH_MAX_ITERATIONS,
        max_pulses=REFRESH_MAX_PULSES,
        tau_now=tau_now,
        key=key,
        pulses_out=pulses,
        reads_out=reads,
        refreshed_out=refreshed,
    )
    return RefreshCost(pulses, reads, int(np.count_nonzero(refreshed)))


def set_program_and_verify(
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
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """SET-only program-and-verify of the ``active`` pairs towards ``target`` (2, n), S at T.

    Returns per-device pulses and verify reads, each (2, n).  See
    :func:`neuromorph.hardware._onesided_kernels.program_pair`.
    """
    pulses = np.empty(target.shape, dtype=np.int64)
    reads = np.empty(target.shape, dtype=np.int64)
    _osk.set_write_verify(
        **state.arrays(),
        target=target,
        active=active,
        compensate=compensate,
        law=_kernels.pulse_law(device),
        ret=_kernels.retention_law(device),
        temp=_kernels.temperature_law(device, temperature_k),
        noise_law=_kernels.verify_noise_law(device),
        osl=one_sided_law(device, tolerance_s),
        max_iter=max_iterations,
        max_pulses=max_pulses,
        tau_now=tau_now,
        key=key,
        pulses_out=pulses,
        reads_out=reads,
    )
    return pulses, reads
