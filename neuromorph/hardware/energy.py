"""Energy and latency of one crossbar tile read, by component, after NeuroSim (layer 1).

Contract
--------
Pure functions of scalars; the chip layer (:class:`neuromorph.chip.design.CostModel`) holds
the cited constants and calls them.  SI units: joules, seconds, volts, farads, watts.

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

An ideal converter (``bits=None``) is a reference, not a circuit: it costs no energy and no
conversion time.

Layer 1 (hardware): imports only the shared leaves.
"""

from __future__ import annotations

from typing import NamedTuple

from neuromorph import _validate as check

__all__ = ["TileReadCost", "conversion_energy_j", "sar_conversion_time_s", "tile_read_cost"]


class TileReadCost(NamedTuple):
    """What the periphery of one tile spends on ``reads`` reads, by component.

    The array's own dissipation (``v**2 G`` over the sense window) is the crossbar's to
    compute (:meth:`~neuromorph.hardware.crossbar.Crossbar.read_metered`) and is not here.

    Attributes
    ----------
    energy_line_j, energy_dac_j, energy_tia_j, energy_mux_j, energy_adc_j : float
        Joules: row-line charging, DAC conversions, TIA bias, mux switching, ADC conversions.
    settle_s : float
        Seconds of sense window per read (lines settling, TIAs integrating).
    convert_s : float
        Seconds of conversion per read: each ADC converts its ``min(columns_per_adc,
        n_cols)`` channels one after another (the ADCs work in parallel).
    """

    energy_line_j: float
    energy_dac_j: float
    energy_tia_j: float
    energy_mux_j: float
    energy_adc_j: float
    settle_s: float
    convert_s: float

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
        Sense window per read, seconds.
    """
    reads = check.integer("reads", reads, minimum=0)
    n_dac_rows = check.integer("n_dac_rows", n_dac_rows, minimum=0)
    n_cols = check.integer("n_cols", n_cols, minimum=1)
    n_cells = check.integer("n_cells_per_row", n_cells_per_row, minimum=1)
    k = check.integer("columns_per_adc", columns_per_adc, minimum=1)
    row_v2_sum = check.non_negative("row_v2_sum", row_v2_sum)
    settle_s = check.non_negative("settle_s", settle_s)
    conversions = reads * n_cols
    return TileReadCost(
        energy_line_j=check.non_negative("c_line_per_cell_f", c_line_per_cell_f) * n_cells * row_v2_sum,
        energy_dac_j=reads * n_dac_rows * conversion_energy_j(dac_fom_j_per_step, dac_bits),
        energy_tia_j=conversions * check.non_negative("tia_power_w", tia_power_w) * settle_s,
        energy_mux_j=conversions * check.non_negative("mux_energy_j", mux_energy_j) if k > 1 else 0.0,
        energy_adc_j=conversions * conversion_energy_j(adc_fom_j_per_step, adc_bits),
        settle_s=settle_s,
        convert_s=min(k, n_cols) * sar_conversion_time_s(adc_bits, adc_clock_hz),
    )
