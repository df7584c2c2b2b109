"""What a chip's reads and writes cost: the meter's bills, by component (layer 2).

Contract
--------
:func:`sense_window_s` is how long one read of a crossbar's tiles keeps its rows driven
(the cost model's shortest window, or longer when the lines' RC takes longer to settle);
:func:`bill_read` and :func:`bill_programming` add a layer read and a programming run to a
:class:`~neuromorph.chip.ports.Meter`, component by component, from the
:class:`~neuromorph.chip.design.CostModel`'s cited constants and
:mod:`neuromorph.hardware.energy` / :mod:`neuromorph.hardware.timing`.  :class:`Chip`
(``read_layer``, ``bill_programming``) calls them; they read the design and the tile
geometry, never the conductances (the array's own dissipation comes from the crossbar),
except under ``"muxed"`` sensing (:attr:`~neuromorph.hardware.periphery.Periphery.sensing`),
where the floating columns' current depends on them
(:func:`~neuromorph.hardware.energy.floating_column_energy_j` on the tile's conductances).

Tiles of one layer read in parallel: a read lasts as long as its slowest tile (the first,
largest one); one DAC drives a row across all column tiles.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from neuromorph.chip.design import ChipDesign
from neuromorph.chip.ports import Meter
from neuromorph.hardware.crossbar import Crossbar
from neuromorph.hardware.energy import TileReadCost, floating_column_energy_j, tile_read_cost
from neuromorph.hardware.timing import line_time_constant_s, settling_time_s

__all__ = ["bill_programming", "bill_read", "sense_window_s", "tile_size", "verify_window_s"]


def tile_size(design: ChipDesign, n_in: int, n_out: int) -> tuple[int, int]:
    """Rows and weight columns of the largest tile of an ``(n_in, n_out)`` layer."""
    rows, cols = design.tile_shape
    return min(rows, n_in), min(cols, n_out)


def sense_window_s(design: ChipDesign, n_rows: int, n_cols: int, *, temperature_k: float) -> float:
    """Sense window of a tile of ``n_rows`` rows and ``n_cols`` weight columns, seconds.

    The cost model's ``t_read_s``, or the time the tile's lines need to settle within half
    an ADC LSB if longer: the Elmore time constant of a row line across the ``2 n_cols``
    physical columns plus a column line across the rows
    (:func:`~neuromorph.hardware.timing.line_time_constant_s`), with the design's wires at
    ``temperature_k`` and their ``c_segment_f`` (or the cost model's ``c_line_per_cell_f``
    when the wires give none).  Without wires the lines have no resistance and the window
    is ``t_read_s``; an ideal ADC (``bits=None``) waits for nothing more.
    """
    floor = design.cost.t_read_s
    bits = design.periphery.adc.bits
    if design.wires is None or bits is None:
        return floor
    w = design.wires.at_temperature(temperature_k)
    tau = line_time_constant_s(
        n_rows,
        2 * n_cols,
        r_row_ohm=w.r_row_ohm,
        r_col_ohm=w.r_col_ohm,
        c_segment_f=_c_per_cell(design),
        r_driver_ohm=w.r_driver_ohm,
        r_sense_ohm=w.r_sense_ohm if w.sense == "resistor" else 0.0,
    )
    return max(floor, settling_time_s(tau, bits))


def _largest_tile(design: ChipDesign) -> tuple[int, int]:
    """Rows and weight columns of the largest tile on the chip (a layer has a bias row)."""
    sizes = design.layer_sizes
    return tile_size(design, max(sizes[:-1]) + 1, max(sizes[1:]))


def _c_per_cell(design: ChipDesign) -> float:
    """Line capacitance per cell, farads: the wires' own if they give one, else the cost model's."""
    c = design.wires.c_segment_f if design.wires is not None else 0.0
    return c if c > 0 else design.cost.c_line_per_cell_f


def _tile_cost(design: ChipDesign, **kw) -> TileReadCost:
    """:func:`tile_read_cost` with ``design``'s converters and cost constants."""
    cost, p = design.cost, design.periphery
    return tile_read_cost(
        dac_bits=p.dac.bits,
        adc_bits=p.adc.bits,
        dac_fom_j_per_step=cost.dac_fom_j_per_step,
        adc_fom_j_per_step=cost.adc_fom_j_per_step,
        adc_clock_hz=cost.adc_clock_hz,
        columns_per_adc=cost.columns_per_adc,
        tia_power_w=cost.tia_power_w,
        mux_energy_j=cost.mux_energy_j,
        c_line_per_cell_f=_c_per_cell(design),
        sensing=p.sensing,
        **kw,
    )


def _add(meter: Meter, c: TileReadCost) -> None:
    meter.energy_line_j += c.energy_line_j
    meter.energy_dac_j += c.energy_dac_j
    meter.energy_tia_j += c.energy_tia_j
    meter.energy_mux_j += c.energy_mux_j
    meter.energy_adc_j += c.energy_adc_j


def bill_read(
    meter: Meter, design: ChipDesign, xb: Crossbar, v: NDArray, *, settle_s: float, energy_array_j: float
) -> None:
    """Bill ``len(v)`` reads of crossbar ``xb`` driven at row voltages ``v`` (batch, n_in).

    Counts DAC conversions (one per row), ADC conversions (one per weight column and row
    tile) and tile reads; bills each tile's periphery (:func:`tile_read_cost`), the array's
    ``energy_array_j`` (from the crossbar: every column sensed for one window ``settle_s``),
    and per read the slowest tile's sensing and conversions.  Under ``"muxed"`` sensing a
    tile's sensing is one window per mux slot, and every column floats for the other slots'
    windows: :func:`floating_column_energy_j` of the tile's conductances at the DAC's
    nominal voltages ``v`` (as the row lines are billed) is added to the array's energy.
    """
    batch = v.shape[0]
    row_tiles, col_tiles = xb.n_tiles
    row_v2 = np.einsum("bi,bi->i", v, v, dtype=np.float64)
    convert_s = sense_s = 0.0
    for idx, (r0, r1, c0, c1) in enumerate(xb.tiles()):
        c = _tile_cost(
            design,
            reads=batch,
            n_dac_rows=(r1 - r0) if c0 == 0 else 0,
            n_cols=c1 - c0,
            n_cells_per_row=2 * (c1 - c0),
            row_v2_sum=float(row_v2[r0:r1].sum()),
            settle_s=settle_s,
        )
        _add(meter, c)
        if c.sense_windows > 1:
            g = xb.tile_conductances((idx // col_tiles, idx % col_tiles))
            floating_s = (c.sense_windows - 1) * settle_s
            meter.energy_read_j += floating_column_energy_j(v[:, r0:r1], g, window_s=floating_s)
        convert_s = max(convert_s, c.convert_s)
        sense_s = max(sense_s, c.settle_s)
    meter.dac_conversions += batch * xb.n_in
    meter.adc_conversions += batch * xb.n_out * row_tiles
    meter.array_reads += batch * row_tiles * col_tiles
    meter.energy_read_j += energy_array_j
    meter.seconds_settle += batch * sense_s
    meter.seconds_convert += batch * convert_s
    meter.chip_seconds += batch * (sense_s + convert_s)


def bill_programming(
    meter: Meter, design: ChipDesign, pulses: int, verify_reads: int, *, settle_s: float
) -> None:
    """Bill ``pulses`` programming pulses and ``verify_reads`` verify reads.

    A pulse costs ``pulse_v**2 g_mid t_pulse`` (``g_mid`` the middle of the device window)
    and its width in time.  A verify read reads one device: one DAC conversion and one row
    line charged at the read voltage, the device's ``v_read**2 g_mid`` over the sense window
    ``settle_s``, one TIA, mux selection and ADC conversion, and ``settle_s`` plus one
    conversion in time.
    """
    cost = design.cost
    c = design.device.conductance
    g_mid = 0.5 * (c.g_min_s + c.g_max_s)
    v_read = design.periphery.dac.v_max_v
    meter.pulses += pulses
    meter.verify_reads += verify_reads
    meter.energy_pulse_j += pulses * cost.pulse_v**2 * g_mid * cost.t_pulse_s
    program_s = pulses * cost.t_pulse_s
    meter.seconds_program += program_s
    meter.chip_seconds += program_s
    if verify_reads <= 0:
        return
    n_cols = _largest_tile(design)[1]
    vc = _tile_cost(
        design,
        reads=verify_reads,
        n_dac_rows=1,
        n_cols=1,
        n_cells_per_row=2 * n_cols,
        row_v2_sum=verify_reads * v_read**2,
        settle_s=settle_s,
    )
    _add(meter, vc)
    meter.dac_conversions += verify_reads
    meter.adc_conversions += verify_reads
    meter.energy_read_j += verify_reads * v_read**2 * g_mid * settle_s
    meter.seconds_settle += verify_reads * settle_s
    meter.seconds_convert += verify_reads * vc.convert_s
    meter.chip_seconds += verify_reads * vc.latency_s


def verify_window_s(design: ChipDesign, *, temperature_k: float) -> float:
    """Sense window of a verify read: that of the design's largest tile, seconds."""
    rows, cols = _largest_tile(design)
    return sense_window_s(design, rows, cols, temperature_k=temperature_k)
