"""Each die's own converters: mismatch drawn at fabrication, and what it does (layer 1).

A :class:`~neuromorph.hardware.periphery.ConverterMismatch` on a crossbar's periphery makes
its converters imperfect, each in its own way, once and for all at fabrication
(:func:`draw_converters`); the draws are a :class:`ConverterState`, held by the crossbar,
saved in the chip file, and read by every read (:mod:`neuromorph.hardware.reading`).

Models
------
* **ADC**: one per column of every row tile (the tiles' partial sums are added digitally).
  A differential SAR with monotonic capacitor switching (Liu et al., IEEE JSSC 45(4), 731
  (2010)): sign first, then ``m = bits - 1`` magnitude bits from the binary-weighted array of
  the higher side, so positive and negative inputs use two different arrays.  Bit ``k`` of a
  side is a capacitor of ``2**k`` units drawn as ``2**k + cap_sigma_rel sqrt(2**k) z``, the
  terminating unit as ``1 + cap_sigma_rel z``; the array divides the reference by its own
  total, so a bit's weight in nominal LSBs is ``2**m C_k / sum(C)``.  Ahead of the SAR the
  column's gain ``1 + gain_sigma_rel z`` and comparator offset ``offset_sigma_v z`` (volts)
  act on the TIA output.  A conversion is the binary search itself (``m`` comparisons,
  :func:`neuromorph.hardware._converter_kernels._sar_row`), half an LSB up so that a nominal
  array rounds to nearest; with ``cap_sigma_rel = 0`` and no gain or offset it is the nominal
  ADC (ties aside).
* **DAC**: one per row (sign-magnitude, a polarity switch and a binary-weighted capacitive
  array of ``bits - 1`` bits drawn the same way).  Code ``c`` gives
  ``v_max * (2**m / (2**m - 1)) * sum_k c_k C_k / sum(C)``: nominal arrays give ``v_max c /
  max_code``; mismatch gives each row its own INL and gain.

The true transition levels, DNL and INL of every ADC (:func:`adc_transitions`,
:func:`linearity`, :func:`gain_offset`) and every converter's best straight line
(:func:`linear_transfer`, :func:`dac_level_gain`) are hidden state, for scorers and tests;
:func:`code_density_test` estimates DNL from conversions alone, as a bench test would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as check
from neuromorph._rng import CHILD_CONVERTER_MISMATCH
from neuromorph.hardware.periphery import AdcParams, DacParams, Periphery, max_code

__all__ = [
    "CodeDensity",
    "ConverterState",
    "LinearTransfer",
    "adc_transitions",
    "code_density_test",
    "dac_level_gain",
    "draw_converters",
    "gain_offset",
    "linear_transfer",
    "linearity",
    "nominal_state",
]


def _bits_of(bits: int | None) -> int:
    """Magnitude bits of a signed converter (0 for an ideal one)."""
    return 0 if bits is None else bits - 1


@dataclass(frozen=True, eq=False)
class ConverterState:
    """One crossbar's converter draws (hidden state).

    Parameters
    ----------
    adc_caps : ndarray of shape (n_row_tiles, n_out, 2, m + 1)
        Capacitors of each ADC's two arrays in unit capacitors: bits 0..m-1, then the
        terminating unit (``m`` = ADC bits - 1, 0 for an ideal ADC).
    adc_gain : ndarray of shape (n_row_tiles, n_out)
        Each ADC's gain ahead of its SAR (1 = nominal).
    adc_offset_v : ndarray of shape (n_row_tiles, n_out)
        Each ADC's input-referred offset, volts.
    dac_caps : ndarray of shape (n_in, m_dac + 1)
        Each row DAC's capacitors in unit capacitors (bits, then the terminating unit).
    """

    adc_caps: NDArray[np.float64]
    adc_gain: NDArray[np.float64]
    adc_offset_v: NDArray[np.float64]
    dac_caps: NDArray[np.float64]

    @staticmethod
    def names() -> tuple[str, ...]:
        """The array names, as files store them."""
        return tuple(f.name for f in dataclasses.fields(ConverterState))

    def arrays(self) -> dict[str, NDArray[np.float64]]:
        """Copies of every array, by name (for files)."""
        return {name: getattr(self, name).copy() for name in self.names()}

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, NDArray], *, periphery: Periphery, n_in: int, n_out: int, n_row_tiles: int
    ) -> ConverterState:
        """The state a file's arrays describe; ValueError if their names or shapes do not fit."""
        missing = sorted(set(cls.names()) - set(arrays))
        if missing:
            raise ValueError(f"converter arrays must include {list(cls.names())}; got no {missing}.")
        m_adc, m_dac = _bits_of(periphery.adc.bits), _bits_of(periphery.dac.bits)
        shapes = {
            "adc_caps": (n_row_tiles, n_out, 2, m_adc + 1),
            "adc_gain": (n_row_tiles, n_out),
            "adc_offset_v": (n_row_tiles, n_out),
            "dac_caps": (n_in, m_dac + 1),
        }
        out = {}
        for name, shape in shapes.items():
            out[name] = check.array(name, arrays[name], shape=shape)
        if (out["adc_caps"] <= 0).any() or (out["dac_caps"] <= 0).any():
            raise ValueError("adc_caps and dac_caps must be > 0 (capacitances); got a value <= 0.")
        return cls(**out)

    @cached_property
    def adc_weights(self) -> NDArray[np.float64]:
        """Bit weights of every ADC array in nominal LSBs, (n_row_tiles, n_out, 2, m)."""
        m = self.adc_caps.shape[-1] - 1
        return np.ascontiguousarray(
            self.adc_caps[..., :m] * (2.0**m / self.adc_caps.sum(axis=-1, keepdims=True))
        )

    @cached_property
    def adc_weights_by_bit(self) -> NDArray[np.float64]:
        """:attr:`adc_weights` bit-major, (n_row_tiles, 2, m, n_out): the SAR kernel's layout,
        bit ``k`` of every column of a row tile contiguous (its bit step vectorises)."""
        return np.ascontiguousarray(self.adc_weights.transpose(0, 2, 3, 1))

    @cached_property
    def dac_table(self) -> NDArray[np.float64]:
        """Output of every row DAC for codes 0..max_code, as a fraction of v_max, (n_in, max_code + 1)."""
        m = self.dac_caps.shape[-1] - 1
        codes = np.arange(2**m)
        bits = (codes[:, None] >> np.arange(m)[None, :]) & 1
        # Written so that nominal arrays give exactly c / max_code, the nominal DAC's levels.
        units = (bits @ self.dac_caps[:, :m].T).T * 2.0**m
        return np.ascontiguousarray(units / ((2.0**m - 1) * self.dac_caps.sum(axis=-1, keepdims=True)))


def draw_converters(
    periphery: Periphery, *, n_in: int, n_out: int, tile_rows: int, rng: np.random.Generator
) -> ConverterState | None:
    """Fabricate one crossbar's converters: draw every capacitor, gain and offset once.

    None when ``periphery.mismatch`` is None (nominal converters), without touching ``rng``.
    Otherwise the draws come from child :data:`~neuromorph._rng.CHILD_CONVERTER_MISMATCH` of
    ``rng`` (spawned here, after the crossbar's four), split into four independent streams (ADC
    capacitors, ADC gains, ADC offsets, DAC capacitors), so a change to one statistic leaves
    the others' draws unchanged.  An ideal converter (``bits=None``) has no capacitors to
    draw; its gain and offset still are.

    Parameters
    ----------
    periphery : Periphery
    n_in, n_out : int
        Rows (one DAC each) and columns (one ADC per row tile each) of the crossbar.
    tile_rows : int
        Rows per physical tile: the crossbar has ``ceil(n_in / tile_rows)`` ADCs per column.
    rng : numpy.random.Generator
        The crossbar's fabrication Generator, whose first four children are already spawned.
    """
    mismatch = periphery.mismatch
    if mismatch is None:
        return None
    check.generator("rng", rng)
    if rng.bit_generator.seed_seq.n_children_spawned != CHILD_CONVERTER_MISMATCH:
        raise ValueError(
            f"rng must have spawned exactly {CHILD_CONVERTER_MISMATCH} children (the crossbar's "
            f"streams) before its converters; got {rng.bit_generator.seed_seq.n_children_spawned}."
        )
    r_adc, r_gain, r_offset, r_dac = rng.spawn(1)[0].spawn(4)
    n_row_tiles = -(-n_in // tile_rows)
    m_adc, m_dac = _bits_of(periphery.adc.bits), _bits_of(periphery.dac.bits)
    return ConverterState(
        adc_caps=_binary_array(mismatch.cap_sigma_rel, m_adc, (n_row_tiles, n_out, 2), r_adc),
        adc_gain=1.0 + mismatch.gain_sigma_rel * r_gain.standard_normal((n_row_tiles, n_out)),
        adc_offset_v=mismatch.offset_sigma_v * r_offset.standard_normal((n_row_tiles, n_out)),
        dac_caps=_binary_array(mismatch.cap_sigma_rel, m_dac, (n_in,), r_dac),
    )


def _binary_array(sigma: float, m: int, lead: tuple[int, ...], rng: np.random.Generator) -> NDArray:
    """Binary-weighted arrays of ``m`` bits plus a terminating unit, (*lead, m + 1) units."""
    nominal = np.append(2.0 ** np.arange(m), 1.0)
    return nominal + sigma * np.sqrt(nominal) * rng.standard_normal((*lead, m + 1))


# ---------------------------------------------------------------------- hidden truth


def adc_transitions(state: ConverterState, adc: AdcParams) -> NDArray[np.float64]:
    """True transition levels of every ADC, volts at its input (the TIA output).

    Entry ``i`` of the last axis is the input at which the output steps from code
    ``i - max_code`` to ``i - max_code + 1``; shape (n_row_tiles, n_out, 2 max_code),
    ascending.  For a SAR whose bit weights are ``w``, the code is at least ``c`` exactly when
    the half-LSB-shifted input reaches ``min_{c' >= c} D(c')``, ``D(c) = sum_k c_k w_k`` (the
    binary search passes every bit it keeps), so the levels hold for non-monotonic arrays
    too, where codes go missing.  Hidden state: scorers and tests.
    """
    if adc.bits is None:
        raise ValueError("adc.bits must be an integer for transition levels; got None (an ideal ADC).")
    n = max_code(adc.bits)
    m = adc.bits - 1
    codes = np.arange(1, n + 1)
    bits = ((codes[:, None] >> np.arange(m)[None, :]) & 1).astype(np.float64)
    d = state.adc_weights @ bits.T  # (..., 2, n): D(c) of each side for c = 1..n
    thresholds = np.minimum.accumulate(d[..., ::-1], axis=-1)[..., ::-1]
    mag = (thresholds - 0.5) * adc.lsb_v  # |v'| at which the magnitude reaches c
    v_prime = np.concatenate([-mag[..., 1, ::-1], mag[..., 0, :]], axis=-1)
    return (v_prime - state.adc_offset_v[..., None]) / state.adc_gain[..., None]


def linearity(transitions: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """DNL and INL in LSBs from transition levels (..., n_transitions), endpoint-fitted.

    The LSB is the mean width of the inner codes (IEEE Std 1241's code-width definition), so
    a pure gain or offset error has zero DNL and INL.

    Returns
    -------
    dnl : ndarray of shape (..., n_transitions - 1)
        ``width / LSB - 1`` of every inner code.
    inl : ndarray of shape (..., n_transitions)
        Deviation of each transition from the straight line through the first and last, LSBs.
    """
    widths = np.diff(transitions, axis=-1)
    lsb = widths.mean(axis=-1, keepdims=True)
    k = np.arange(transitions.shape[-1])
    inl = (transitions - transitions[..., :1]) / lsb - k
    return widths / lsb - 1.0, inl


def gain_offset(transitions: NDArray[np.float64], lsb_v: float) -> tuple[NDArray, NDArray]:
    """Each ADC's gain and offset: the least-squares line ``code = gain v / lsb + offset``.

    Fitted through the transition levels (transition ``i`` sits at code ``i - max_code +
    1/2``); returns ``(gain, offset)`` with gain 1 and offset 0 (LSBs) for a nominal ADC.
    """
    n_t = transitions.shape[-1]
    target = np.arange(n_t) - n_t // 2 + 0.5
    u = transitions / lsb_v
    u_mean = u.mean(axis=-1, keepdims=True)
    gain = ((u - u_mean) * (target - target.mean())).sum(axis=-1) / ((u - u_mean) ** 2).sum(axis=-1)
    return gain, target.mean() - gain * u_mean[..., 0]


class LinearTransfer(NamedTuple):
    """Every converter of a crossbar as its best straight line (:func:`linear_transfer`).

    Attributes
    ----------
    adc_gain : ndarray of shape (n_row_tiles, n_out)
        Each ADC's output (quantised volts) per volt at its input, on the least-squares line
        through its transition levels (1 for a nominal ADC).
    adc_offset_v : ndarray of shape (n_row_tiles, n_out)
        That line's output at zero input, volts (0 for a nominal ADC).
    dac_gain : ndarray of shape (n_in,)
        Each row DAC's level per nominal level, the least-squares slope through the origin
        over every code (1 for a nominal DAC).
    """

    adc_gain: NDArray[np.float64]
    adc_offset_v: NDArray[np.float64]
    dac_gain: NDArray[np.float64]


def linear_transfer(state: ConverterState, periphery: Periphery) -> LinearTransfer:
    """The best linear fit of every converter's transfer over its full range (hidden state).

    An ADC: the least-squares line through its true transition levels (:func:`gain_offset`
    of :func:`adc_transitions`), ``code lsb ~= adc_gain v + adc_offset_v``: its gain and
    offset ahead of the SAR and the array's own gain error, its INL left out.  An ideal ADC
    (``bits=None``) is that line exactly: its drawn gain and offset.  A row DAC: both signs
    share one array (sign-magnitude), so the line passes through zero; its slope is
    ``sum_c c t(c) / sum_c c^2`` over codes ``c = 0..max_code`` with ``t(c)`` the row's level
    in nominal LSBs, the fit over evenly used codes.  An ideal DAC has no array (gain 1).
    """
    adc, dac = periphery.adc, periphery.dac
    if adc.bits is None:
        adc_gain, adc_offset_v = state.adc_gain.copy(), state.adc_offset_v.copy()
    else:
        adc_gain, offset_lsb = gain_offset(adc_transitions(state, adc), adc.lsb_v)
        adc_offset_v = offset_lsb * adc.lsb_v
    n_in = state.dac_caps.shape[0]
    if dac.bits is None:
        return LinearTransfer(adc_gain, adc_offset_v, np.ones(n_in))
    codes = np.arange(max_code(dac.bits) + 1, dtype=np.float64)
    levels = state.dac_table * max_code(dac.bits)  # nominal LSBs
    return LinearTransfer(adc_gain, adc_offset_v, (levels @ codes) / (codes @ codes))


def dac_level_gain(state: ConverterState, dac: DacParams, x: float) -> NDArray[np.float64]:
    """Each row DAC's level for the input ``x`` per the nominal DAC's level, (n_in,).

    For a row held at one input (a bias row): its gain there, not the line's.  1 where the
    nominal level is zero or the DAC is ideal (no array).  Hidden state: scorers and tests.
    """
    n_in = state.dac_caps.shape[0]
    n = max_code(dac.bits)
    code = round(abs(float(dac.convert([x])[0])) / dac.v_max_v * n)  # the nominal DAC's code of x
    if code == 0:
        return np.ones(n_in)
    return state.dac_table[:, code] / (code / n)


# ---------------------------------------------------------------------- bench test


class CodeDensity(NamedTuple):
    """What :func:`code_density_test` measured.

    Attributes
    ----------
    dnl : ndarray of shape (..., 2 max_code - 1)
        Estimated DNL of every inner code, LSBs.
    inl : ndarray of shape (..., 2 max_code - 1)
        Estimated INL at the upper transition of every inner code (cumulative DNL), LSBs.
    counts : ndarray of shape (..., 2 max_code + 1)
        Hits of every code, ``-max_code .. max_code``.
    conversions : int
        Conversions the test made (per ADC).
    """

    dnl: NDArray[np.float64]
    inl: NDArray[np.float64]
    counts: NDArray[np.int64]
    conversions: int


#: Ramp span beyond the nominal full scale, as a fraction: it covers the end codes of an ADC
#: whose gain or offset pushes its range out by up to that much.
RAMP_OVERRANGE = 0.05


def code_density_test(
    convert: Callable[[NDArray[np.float64]], NDArray],
    adc: AdcParams,
    *,
    samples_per_code: int = 400,
) -> CodeDensity:
    """Estimate DNL by the code-density (ramp histogram) test, from conversions alone.

    A linear ramp of evenly spaced input voltages, ``samples_per_code`` per nominal LSB,
    spanning the full scale and :data:`RAMP_OVERRANGE` beyond, is converted once; each inner
    code's share of the hits over the mean share is ``1 + DNL`` (the end codes, which also
    collect the overrange, are left out), as in IEEE Std 1241 with a linear ramp.  A slow
    linear ramp hits a code of width ``W`` LSBs ``W samples_per_code`` times to within one, so
    the estimate is good to about ``2 / samples_per_code`` LSB without input noise.

    Parameters
    ----------
    convert : callable
        ``convert(v)`` with ``v`` of shape (n,) volts returns the signed codes (n, ...) of every
        ADC under test for those inputs (integers, or quantised volts divided by the LSB).
    adc : AdcParams
        The nominal ADC (public: its bits and full scale plan the ramp).
    samples_per_code : int >= 10
    """
    if adc.bits is None:
        raise ValueError("adc.bits must be an integer for a code-density test; got None (an ideal ADC).")
    samples_per_code = check.integer("samples_per_code", samples_per_code, minimum=10)
    n = max_code(adc.bits)
    span = (n + 0.5) * adc.lsb_v * (1.0 + RAMP_OVERRANGE)
    n_samples = int(np.ceil(2 * span / adc.lsb_v * samples_per_code))
    ramp = np.linspace(-span, span, n_samples)
    codes = np.rint(np.asarray(convert(ramp), dtype=np.float64)).astype(np.int64)
    if codes.shape[0] != n_samples:
        raise ValueError(f"convert must return one row per input ({n_samples}); got shape {codes.shape}.")
    codes = np.moveaxis(codes, 0, -1)
    counts = np.zeros((*codes.shape[:-1], 2 * n + 1), dtype=np.int64)
    flat = (codes + n).reshape(-1, n_samples)
    np.clip(flat, 0, 2 * n, out=flat)
    counts.reshape(-1, 2 * n + 1)[:] = [np.bincount(row, minlength=2 * n + 1) for row in flat]
    inner = counts[..., 1:-1].astype(np.float64)
    dnl = inner / inner.mean(axis=-1, keepdims=True) - 1.0
    return CodeDensity(dnl=dnl, inl=np.cumsum(dnl, axis=-1), counts=counts, conversions=n_samples)


def nominal_state(periphery: Periphery, *, n_in: int, n_out: int, n_row_tiles: int) -> ConverterState:
    """Converters exactly at their nominal values (every capacitor its nominal size, no gain or
    offset error): for tests, and as the reference a mismatched die is compared with."""
    m_adc, m_dac = _bits_of(periphery.adc.bits), _bits_of(periphery.dac.bits)
    adc_caps = np.broadcast_to(np.append(2.0 ** np.arange(m_adc), 1.0), (n_row_tiles, n_out, 2, m_adc + 1))
    return ConverterState(
        adc_caps=adc_caps.copy(),
        adc_gain=np.ones((n_row_tiles, n_out)),
        adc_offset_v=np.zeros((n_row_tiles, n_out)),
        dac_caps=np.tile(np.append(2.0 ** np.arange(m_dac), 1.0), (n_in, 1)),
    )
