"""The per-device state of a crossbar's differential pairs, and its sampling (layer 1).

A crossbar of ``n`` weights holds ``n`` pairs of devices.  :class:`DeviceState` is their
hidden state: one array of shape ``(2, n)`` per quantity, row 0 the G+ device and row 1 the
G- device of each pair, pair ``i * n_out + j`` holding weight ``(i, j)``.
:func:`sample_devices` draws it once, at fabrication, from a
:class:`~neuromorph.hardware.devices.DeviceModel`'s variation.  The
:class:`~neuromorph.hardware.crossbar.Crossbar` owns one privately and changes it only
through its own mutator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph.hardware import _kernels
from neuromorph.hardware.devices import DeviceModel, StuckCode

#: Smallest window a device keeps, as a fraction of the nominal one: a device's sampled
#: upper bound never falls closer than this to its lower bound.
MIN_WINDOW_FRACTION = 0.05
#: Smallest step-size factor a device keeps: d2d spread never makes a step vanish or flip.
MIN_STEP_FACTOR = 0.05

_STUCK_CODES = np.array([int(code) for code in StuckCode], dtype=np.int8)
#: dtype of each array that is not float64.
_DTYPES = {"stuck": np.int8, "pulse_count": np.int64}
#: Fields a state file may lack (written before they existed), and what they default to:
#: no pulses counted yet, and a budget that never runs out.
OPTIONAL_DEFAULTS = {"pulse_count": 0, "pulse_budget": np.inf}
#: A state at least this large (bytes, all arrays) gets its block aligned to a huge page; NumPy
#: asks the kernel for transparent huge pages for allocations from 4 MB (its default, which a
#: user can turn off), so a 256x256 array's state (9.4 MB) is mostly on 2 MB pages.
HUGE_STATE_BYTES = 1 << 22
#: A huge page, bytes.
_HUGE_PAGE = 1 << 21
#: Bytes left between consecutive arrays of a state's block, beyond rounding each to a cache
#: line.  On one huge page, arrays 1 MB long would put element ``i`` of every array in the same
#: set of a 1 MB, 8-way L2 (its sets repeat every 128 KB): ten arrays, eight ways.  65 cache
#: lines more per array spread them over sets.
_STAGGER = 65 * 64


@dataclass(frozen=True, eq=False)
class DeviceState:
    """The hidden per-device state of ``n`` differential pairs; every array has shape (2, n).

    Parameters
    ----------
    g_prog : ndarray of float64
        Programmed conductance at the reference temperature, siemens.
    tau_prog : ndarray of float64
        Equivalent time (at the reference temperature) of each device's last programming, s.
    nu : ndarray of float64
        Drift exponent.
    g_lo, g_hi : ndarray of float64
        The device's own conductance bounds, siemens.
    s_up, s_down : ndarray of float64
        The device's own potentiating / depressing step, siemens.
    stuck : ndarray of int8
        :class:`~neuromorph.hardware.devices.StuckCode` of each device.
    pulse_count : ndarray of int64, optional
        Programming pulses sent to each device so far; default zeros.
    pulse_budget : ndarray of float64, optional
        Pulses each device survives (:class:`~neuromorph.hardware.devices.EnduranceParams`);
        default ``inf``, a device that never wears out.

    Notes
    -----
    ``nu`` is the device's retention parameter: its drift exponent (power law) or its
    normal deviate (relaxation).  The fields cannot be rebound; the arrays themselves are
    changed in place only by the crossbar that owns them.  The state stores its own
    C-contiguous copies, in the dtypes above, so no caller's array aliases it; they share one
    block of memory (:func:`_packed`: on huge pages for a large state).
    """

    g_prog: NDArray[np.float64]
    tau_prog: NDArray[np.float64]
    nu: NDArray[np.float64]
    g_lo: NDArray[np.float64]
    g_hi: NDArray[np.float64]
    s_up: NDArray[np.float64]
    s_down: NDArray[np.float64]
    stuck: NDArray[np.int8]
    pulse_count: NDArray[np.int64] | None = None
    pulse_budget: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        shape = None
        values = {}
        for f in dataclasses.fields(self):
            dtype = _DTYPES.get(f.name, np.float64)
            value = getattr(self, f.name)
            value = np.full(shape, OPTIONAL_DEFAULTS[f.name]) if value is None else np.asarray(value)
            if shape is None:
                shape = value.shape
                if value.ndim != 2 or value.shape[0] != 2:
                    raise ValueError(f"{f.name} must have shape (2, n_pairs); got shape {value.shape}.")
            elif value.shape != shape:
                raise ValueError(f"{f.name} must have shape {shape} like g_prog; got shape {value.shape}.")
            values[f.name] = (value, np.dtype(dtype))
        for name, value in _packed(values).items():
            object.__setattr__(self, name, value)
        if not np.isin(self.stuck, _STUCK_CODES).all():
            bad = np.setdiff1d(self.stuck, _STUCK_CODES)
            raise ValueError(f"stuck must hold StuckCode values {_STUCK_CODES.tolist()}; got {bad.tolist()}.")
        if (self.pulse_count < 0).any():
            raise ValueError(f"pulse_count must be >= 0; got min {int(self.pulse_count.min())}.")
        if np.isnan(self.pulse_budget).any() or (self.pulse_budget < 0).any():
            raise ValueError("pulse_budget must be >= 0 (inf for no wear); got NaN or negative values.")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The state's array names, in field order (also the keys of :meth:`arrays`)."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, ArrayLike]) -> DeviceState:
        """Build a state from a mapping with the keys :meth:`names`.

        Keys of :data:`OPTIONAL_DEFAULTS` may be missing (older files): they take those
        defaults.
        """
        missing = set(cls.names()) - set(arrays) - set(OPTIONAL_DEFAULTS)
        extra = set(arrays) - set(cls.names())
        if missing or extra:
            raise ValueError(
                f"arrays must have the keys {list(cls.names())}; got missing {sorted(missing)}, "
                f"unknown {sorted(extra)}."
            )
        return cls(**{name: arrays[name] for name in cls.names() if name in arrays})

    @property
    def n_pairs(self) -> int:
        """Number of differential pairs."""
        return self.g_prog.shape[1]

    def arrays(self) -> dict[str, NDArray]:
        """The arrays by name (the state's own arrays, not copies)."""
        return {name: getattr(self, name) for name in self.names()}

    def copy(self, *, read_only: bool = False) -> DeviceState:
        """A deep copy; with ``read_only`` its arrays refuse writes."""
        out = DeviceState(**self.arrays())
        if read_only:
            for a in out.arrays().values():
                a.flags.writeable = False
        return out


def _packed(values: dict[str, tuple[np.ndarray, np.dtype]]) -> dict[str, np.ndarray]:
    """Copies of the state's arrays, in their dtypes, in one block of memory.

    Each starts on a cache line, :data:`_STAGGER` bytes after the previous one ends; a block of
    at least :data:`HUGE_STATE_BYTES` starts on a huge page.  The pulse pass reads and writes
    ten arrays at scattered pairs: on 4 KB pages nearly every access needs its own TLB entry
    (an expensive page walk in a VM).  Measured for the benchmark's 256x256 update (16k pulsed
    pairs; separate processes, 300 updates each): 2.21 against 2.31 ms, 2.07 against 2.17 ms.
    """
    sizes = [-(-value.size * dtype.itemsize // 64) * 64 for value, dtype in values.values()]
    total = sum(sizes) + _STAGGER * len(sizes)
    align = _HUGE_PAGE if total >= HUGE_STATE_BYTES else 64
    block = np.empty(total + align, dtype=np.uint8)
    offset = -block.ctypes.data % align
    out = {}
    for (name, (value, dtype)), size in zip(values.items(), sizes, strict=True):
        n = value.size * dtype.itemsize
        array = block[offset : offset + n].view(dtype).reshape(value.shape)
        array[...] = value  # NumPy's casting rules, as np.array(value, dtype=dtype) applies them
        out[name] = array
        offset += size + _STAGGER
    return out


def sample_devices(
    device: DeviceModel, n_pairs: int, rng: np.random.Generator, *, tau_now: float
) -> DeviceState:
    """Draw the device-to-device variation, faults and endurance of ``n_pairs`` pairs.

    Every device starts at its own lower bound (a stuck-high device at its upper bound, a
    corrupt one at its fixed value), programmed at ``tau_now`` (equivalent time, seconds).
    The draws, in order: lower and upper bounds, up and down step factors, retention normals,
    fault draws; then, only for the effects that are on, corrupt values and pulse budgets
    (so a device model without them draws exactly what it always drew).
    """
    c, var, p, drift = device.conductance, device.variation, device.pulse, device.drift
    shape = (2, n_pairs)
    g_range = c.g_max_s - c.g_min_s
    z_lo = rng.standard_normal(shape)
    g_lo = c.g_min_s + var.bounds_rel * c.g_min_s * z_lo
    z_hi = rng.standard_normal(shape)
    g_hi = c.g_max_s * (1.0 + var.bounds_rel * z_hi)
    if var.lo_window_rel or var.hi_window_rel:
        g_lo = g_lo + var.lo_window_rel * g_range * z_lo
        g_hi = g_hi + var.hi_window_rel * g_range * z_hi
    g_lo = np.maximum(g_lo, 0.0)
    g_hi = np.maximum(g_hi, g_lo + MIN_WINDOW_FRACTION * g_range)
    z_steps = rng.standard_normal((2, *shape))
    if var.step_lognormal:
        steps = np.exp(var.step_rel * z_steps)
    else:
        steps = np.maximum(1.0 + var.step_rel * z_steps, MIN_STEP_FACTOR)
    s_up = p.step_up_scale * device.step_s * steps[0]
    s_down = p.step_down_scale * device.step_s * steps[1]
    z_ret = rng.standard_normal(shape)
    draw = rng.random(shape)
    low = var.stuck_at_min_fraction
    high = low + var.stuck_at_max_fraction
    fixed = high + var.stuck_fixed_fraction
    stuck = np.full(shape, StuckCode.NONE, dtype=np.int8)
    stuck[draw < low] = StuckCode.LOW
    stuck[(draw >= low) & (draw < high)] = StuckCode.HIGH
    stuck[(draw >= high) & (draw < fixed)] = StuckCode.FIXED
    g_prog = np.where(stuck == StuckCode.HIGH, g_hi, g_lo)
    if var.stuck_fixed_fraction:
        # aihwkit's corrupt device: both bounds collapse onto one value near mid-window.
        mid = c.g_min_s + 0.5 * g_range + var.fixed_range_rel * g_range * rng.uniform(-1.0, 1.0, shape)
        corrupt = stuck == StuckCode.FIXED
        g_prog[corrupt] = mid[corrupt]
        g_lo[corrupt] = np.minimum(g_lo[corrupt], mid[corrupt])
        g_hi[corrupt] = np.maximum(g_hi[corrupt], mid[corrupt])
    ret = _kernels.retention_law(device)
    if ret[_kernels.R_REDRAW]:
        nu = np.empty(shape)
        _kernels.retention_parameters(g=g_prog, z=z_ret, ret=ret, out=nu)
    else:
        nu = np.abs(drift.nu_mean + drift.nu_std * z_ret)
    endurance = device.endurance
    budget = None
    if endurance.median_pulses is not None:
        budget = np.floor(endurance.median_pulses * np.exp(endurance.sigma_ln * rng.standard_normal(shape)))
    return DeviceState(
        g_prog=g_prog,
        tau_prog=np.full(shape, tau_now),
        nu=nu,
        g_lo=g_lo,
        g_hi=g_hi,
        s_up=s_up,
        s_down=s_down,
        stuck=stuck,
        pulse_budget=budget,
    )
