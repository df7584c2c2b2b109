"""Energy and latency of one crossbar tile read, by component, after NeuroSim (layer 1).

Contract
--------
Pure functions of scalars (:func:`floating_column_energy_j` also of row voltages and
conductances); the chip layer (:class:`neuromorph.chip.design.CostModel`) holds the cited
constants and calls them; the sensing scheme is the periphery's
(:attr:`neuromorph.hardware.periphery.Periphery.sensing`).  SI units: joules, seconds, volts, farads, watts.

The read circuit these functions bill (one tile: driven rows, ``n_cols`` sensed channels,
each channel a differential pair of physical columns):

1. every row's DAC converts its input (:func:`conversion_energy_j` at the DAC's real
   resolution) and charges its row line, ``C_row v**2`` (the columns sit at the TIAs'
   virtual ground and swing by nothing);
2. the lines settle (:mod:`neuromorph.hardware.timing`) and every channel's TIA holds its
   column at virtual ground for the sense window, drawing its bias power; the array
   dissipates ``v**2 G`` over the same window (billed by the crossbar); the TIA outputs are
   then sampled and held, so the rows are released (ISAAC's sample-and-hold, Shafiee et
   al., ISCA 2016);
3. ``columns_per_adc`` channels share one SAR ADC through a multiplexer (NeuroSim's
   ``numColMuxed``): each ADC converts its channels one after another, so the conversion
   time grows with the sharing (:func:`sar_conversion_time_s`), while the conversion count
   (and energy) does not; each selection switches the mux once.

That is the ``"parallel"`` sensing scheme (:data:`SENSING_SCHEMES`): the mux sits after the
TIAs.  In the ``"muxed"`` scheme the mux sits before the sense circuit, one TIA per ADC, as
in NeuroSim's column mux ahead of its ADC: a read is ``min(columns_per_adc, n_cols)`` slots;
in each the mux connects one channel per ADC, the rows are driven for that channel's sense
window (and their lines charged again: NeuroSim re-drives its word lines for every mux
step, ``readDynamicEnergyArray *= numColMuxed`` in ``SubArray.cpp``, V1.4), the TIA output
is sampled, the rows are released and the ADC converts; the slots do not overlap (one
NeuroSim read cycle per mux step; a pipelined design would sense the next slot during the
conversion: not modelled).  So every
channel is still sensed for one window (the same TIA energy and the same ``v**2 G`` of its
own columns), the line charging repeats per slot, and a read lasts ``slots x (window +
conversion)`` instead of ``window + slots x conversion``.  The channels not selected float:
their columns carry current only between rows at different voltages
(:func:`floating_column_energy_j`, billed by the chip's meter for ``slots - 1`` windows).

An ideal converter (``bits=None``) is a reference, not a circuit: it costs no energy and no
conversion time.

Layer 1 (hardware): imports only the shared leaves.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as check

__all__ = [
    "SENSING_SCHEMES",
    "TileReadCost",
    "check_sensing",
    "conversion_energy_j",
    "floating_column_energy_j",
    "sar_conversion_time_s",
    "tile_read_cost",
]

#: Where a tile's column multiplexer sits (see the module docstring): ``"parallel"``, after
#: one TIA per channel (all channels sensed in one window); ``"muxed"``, before one TIA per
#: ADC (one channel per ADC sensed per slot, the others floating).
SENSING_SCHEMES = ("parallel", "muxed")

#: Relative size below which a floating column's power ``a - b**2 / c`` is float64 roundoff
#: of the cancellation (equal row voltages give exactly 0), not current: far above the
#: 1e-16 of one rounding, far below any voltage spread a DAC can set (its LSB).
_FLOATING_ROUNDOFF = 1e-12


def check_sensing(value: object, name: str = "sensing") -> str:
    """``value`` if it is one of :data:`SENSING_SCHEMES`; TypeError or ValueError otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {list(SENSING_SCHEMES)}; got {type(value).__name__}.")
    if value not in SENSING_SCHEMES:
        raise ValueError(f"{name} must be one of {list(SENSING_SCHEMES)}; got {value!r}.")
    return value


class TileReadCost(NamedTuple):
    """What the periphery of one tile spends on ``reads`` reads, by component.

    The array's own dissipation (``v**2 G`` over the sense window) is the crossbar's to
    compute (:meth:`~neuromorph.hardware.crossbar.Crossbar.read_metered`) and is not here.

    Attributes
    ----------
    energy_line_j, energy_dac_j, energy_tia_j, energy_mux_j, energy_adc_j : float
        Joules: row-line charging, DAC conversions, TIA bias, mux switching, ADC conversions.
    settle_s : float
        Seconds of sensing per read (lines settling, TIAs integrating): one sense window
        (``"parallel"``), or one per slot (``"muxed"``).
    convert_s : float
        Seconds of conversion per read: each ADC converts its ``min(columns_per_adc,
        n_cols)`` channels one after another (the ADCs work in parallel).
    sense_windows : int
        Sense windows per read during which the rows are driven: 1 (``"parallel"``) or the
        number of mux slots (``"muxed"``; each channel floats in all but one of them).
    """

    energy_line_j: float
    energy_dac_j: float
    energy_tia_j: float
    energy_mux_j: float
    energy_adc_j: float
    settle_s: float
    convert_s: float
    sense_windows: int = 1

    @property
    def latency_s(self) -> float:
        """Seconds of one read: sense window, then the conversions."""
        return self.settle_s + self.convert_s

    @property
    def energy_j(self) -> float:
        """Sum of the periphery's energy terms, joules."""
        return (
            self.energy_line_j + self.energy_dac_j + self.energy_tia_j + self.energy_mux_j + self.energy_adc_j
        )


def conversion_energy_j(fom_j_per_step: float, bits: int | None) -> float:
    """Energy of one conversion by the Walden figure of merit: ``fom * 2**bits``, joules.

    ``bits`` counts the sign bit, as :mod:`neuromorph.hardware.periphery` does (a signed
    ``bits``-bit converter has ``2**bits - 1`` codes, about ``2**bits`` steps).  None (an
    ideal converter) costs 0.
    """
    fom_j_per_step = check.non_negative("fom_j_per_step", fom_j_per_step)
    if bits is None:
        return 0.0
    return fom_j_per_step * 2.0 ** check.integer("bits", bits, minimum=1)


def sar_conversion_time_s(bits: int | None, clock_hz: float) -> float:
    """Time of one SAR conversion: one clock cycle per bit plus one to sample, seconds.

    NeuroSim's SAR model (``SarADC::CalculateLatency``, DNN+NeuroSim V1.4:
    ``(log2(levelOutput) + 1) * 1e-9`` at its 1 GHz clock).  None (ideal) takes 0.
    """
    clock_hz = check.positive("clock_hz", clock_hz)
    if bits is None:
        return 0.0
    return (check.integer("bits", bits, minimum=1) + 1) / clock_hz


def tile_read_cost(
    *,
    reads: int,
    n_dac_rows: int,
    n_cols: int,
    n_cells_per_row: int,
    row_v2_sum: float,
    dac_bits: int | None,
    adc_bits: int | None,
    dac_fom_j_per_step: float,
    adc_fom_j_per_step: float,
    adc_clock_hz: float,
    columns_per_adc: int,
    tia_power_w: float,
    mux_energy_j: float,
    c_line_per_cell_f: float,
    settle_s: float,
    sensing: str = "parallel",
) -> TileReadCost:
    """The periphery cost of ``reads`` reads of one tile (see the module docstring).

    Parameters
    ----------
    reads : int >= 0
        Reads (input vectors) billed.
    n_dac_rows : int >= 0
        Rows whose DAC conversion this tile bills per read (0 when another tile on the same
        rows bills them: one DAC drives a row across every column tile).
    n_cols : int >= 1
        Sensed channels per read (one TIA, one mux selection and one ADC conversion each).
    n_cells_per_row : int >= 1
        Cells along a row line (physical columns: ``2 n_cols`` for differential pairs).
    row_v2_sum : float >= 0
        ``sum over reads and rows of v**2``, volts squared: what charges the row lines.
    dac_bits, adc_bits : int or None
        Converter resolutions (None: ideal, free).
    dac_fom_j_per_step, adc_fom_j_per_step : float >= 0
        Walden figures of merit, joules per step.
    adc_clock_hz : float > 0
        SAR clock (one cycle per bit plus one).
    columns_per_adc : int >= 1
        Channels sharing one ADC through a mux.
    tia_power_w : float >= 0
        Bias power of one channel's TIA during the sense window, watts.
    mux_energy_j : float >= 0
        Energy of one mux selection, joules (billed only when ``columns_per_adc > 1``).
    c_line_per_cell_f : float >= 0
        Row-line capacitance per cell, farads.
    settle_s : float >= 0
        Sense window of one channel, seconds.
    sensing : {"parallel", "muxed"}
        Where the mux sits (:data:`SENSING_SCHEMES`, module docstring).  ``"muxed"`` charges
        the row lines once per slot and senses slot after slot; the floating channels'
        dissipation depends on the conductances and is not here
        (:func:`floating_column_energy_j`).
    """
    reads = check.integer("reads", reads, minimum=0)
    n_dac_rows = check.integer("n_dac_rows", n_dac_rows, minimum=0)
    n_cols = check.integer("n_cols", n_cols, minimum=1)
    n_cells = check.integer("n_cells_per_row", n_cells_per_row, minimum=1)
    k = check.integer("columns_per_adc", columns_per_adc, minimum=1)
    row_v2_sum = check.non_negative("row_v2_sum", row_v2_sum)
    settle_s = check.non_negative("settle_s", settle_s)
    slots = min(k, n_cols)
    windows = slots if check_sensing(sensing) == "muxed" else 1
    conversions = reads * n_cols
    return TileReadCost(
        energy_line_j=windows
        * check.non_negative("c_line_per_cell_f", c_line_per_cell_f)
        * n_cells
        * row_v2_sum,
        energy_dac_j=reads * n_dac_rows * conversion_energy_j(dac_fom_j_per_step, dac_bits),
        energy_tia_j=conversions * check.non_negative("tia_power_w", tia_power_w) * settle_s,
        energy_mux_j=conversions * check.non_negative("mux_energy_j", mux_energy_j) if k > 1 else 0.0,
        energy_adc_j=conversions * conversion_energy_j(adc_fom_j_per_step, adc_bits),
        settle_s=windows * settle_s,
        convert_s=slots * sar_conversion_time_s(adc_bits, adc_clock_hz),
        sense_windows=windows,
    )


def floating_column_energy_j(v: NDArray, g: NDArray, *, window_s: float) -> float:
    """Energy the columns of ``g`` dissipate floating for one window per read, joules.

    A column connected to no sense circuit while rows are driven at ``v`` (batch, n_rows)
    settles, by Kirchhoff's current law with ideal wires and ohmic cells, at the
    conductance-weighted mean of its row voltages, ``v_c = sum_i G_ij v_i / sum_i G_ij``, and
    its cells carry current from the higher rows to the lower ones::

        P_j = sum_i G_ij (v_i - v_c)**2 = sum_i G_ij v_i**2 - (sum_i G_ij v_i)**2 / sum_i G_ij

    zero when every row the column connects is at one voltage (a binary input switching a
    1T1R word line off disconnects its row's cells: NeuroSim's case).  Rows at ``v`` through
    ``G_on`` and rows at 0 V through ``G_0`` give ``v**2 G_on G_0 / (G_on + G_0)``: half what
    the column draws when selected if ``G_0 = G_on``.  Returns
    ``window_s sum_b sum_j P_bj``.  The floating column lines' own ``C v_c**2`` is not billed
    (a column line's capacitance is one row line's order, a small term next to the cells').

    Parameters
    ----------
    v : ndarray (batch, n_rows)
        Row voltages, volts.
    g : ndarray (n_rows, n_cols)
        Conductances of the tile's physical columns, siemens.
    window_s : float >= 0
        Seconds each column floats per read while the rows are driven.
    """
    window_s = check.non_negative("window_s", window_s)
    v = np.asarray(v, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    if v.ndim != 2 or g.ndim != 2 or v.shape[1] != g.shape[0]:
        raise ValueError(f"v must be (batch, n_rows) and g (n_rows, n_cols); got {v.shape} and {g.shape}.")
    a = (v * v) @ g
    b = v @ g
    c = g.sum(axis=0)
    p = a - b * b / np.where(c > 0, c, 1.0)
    p[p <= _FLOATING_ROUNDOFF * a] = 0.0  # equal row voltages: roundoff of a - b**2 / c
    return window_s * float(p.sum())
