"""Sensing schemes: the column mux after the TIAs ("parallel") or before them ("muxed")."""

from __future__ import annotations

import numpy as np
import pytest

from neuromorph.chip import Chip, ChipDesign
from neuromorph.hardware import energy
from neuromorph.hardware.periphery import DacParams, Periphery

COST = {
    "reads": 3,
    "n_dac_rows": 16,
    "n_cells_per_row": 24,
    "row_v2_sum": 2.0,
    "dac_bits": 4,
    "adc_bits": 6,
    "dac_fom_j_per_step": 5e-15,
    "adc_fom_j_per_step": 5e-15,
    "adc_clock_hz": 1e9,
    "tia_power_w": 1e-5,
    "mux_energy_j": 2e-15,
    "c_line_per_cell_f": 1e-16,
    "settle_s": 1e-8,
}


@pytest.mark.parametrize("n_cols, k, slots", [(12, 8, 8), (5, 8, 5), (12, 1, 1)])
def test_muxed_senses_slot_after_slot(n_cols, k, slots):
    par = energy.tile_read_cost(n_cols=n_cols, columns_per_adc=k, **COST)
    mux = energy.tile_read_cost(n_cols=n_cols, columns_per_adc=k, sensing="muxed", **COST)
    conversion_s = (6 + 1) / 1e9
    assert mux.sense_windows == slots and par.sense_windows == 1
    # The rows are re-driven once per slot; each slot is a window, then a conversion.
    assert mux.energy_line_j == pytest.approx(slots * 1e-16 * 24 * 2.0)
    assert par.energy_line_j == pytest.approx(1e-16 * 24 * 2.0)
    assert mux.latency_s == pytest.approx(slots * (1e-8 + conversion_s))
    assert par.latency_s == pytest.approx(1e-8 + slots * conversion_s)
    # Each channel is still sensed once: the same TIA, mux, ADC and DAC bills.
    for name in ("energy_dac_j", "energy_tia_j", "energy_mux_j", "energy_adc_j", "convert_s"):
        assert getattr(mux, name) == getattr(par, name)


def _floating_naive(v, g, window_s):
    """Each floating column's node voltage by KCL, then sum over cells of G (v_i - v_c)**2."""
    total = 0.0
    for b in range(v.shape[0]):
        for j in range(g.shape[1]):
            gj = g[:, j]
            if gj.sum() == 0:
                continue
            vc = sum(gj[i] * v[b, i] for i in range(len(gj))) / gj.sum()
            total += sum(gj[i] * (v[b, i] - vc) ** 2 for i in range(len(gj)))
    return window_s * total


def test_floating_columns_carry_current_between_rows_at_different_voltages():
    rng = np.random.default_rng(3)
    v = rng.uniform(-0.3, 0.3, (4, 7))
    g = rng.uniform(1e-6, 1e-4, (7, 5))
    g[:, 2] = 0.0  # a column of open cells carries nothing
    got = energy.floating_column_energy_j(v, g, window_s=2e-9)
    assert got == pytest.approx(_floating_naive(v, g, 2e-9), rel=1e-10)
    assert got > 0
    # Rows at one voltage (NeuroSim's word lines of a binary input): no current at all.
    assert energy.floating_column_energy_j(np.full((2, 7), 0.55), g, window_s=1e-8) == 0.0
    # Rows at v through G_on, rows at 0 V through G_0: v**2 G_on G_0 / (G_on + G_0).
    g_on, g_0 = 3e-5, 1e-5
    half = np.array([[0.5, 0.5, 0.0, 0.0]])
    col = np.array([[g_on / 2], [g_on / 2], [g_0 / 2], [g_0 / 2]])
    want = 0.25 * g_on * g_0 / (g_on + g_0) * 1e-8
    assert energy.floating_column_energy_j(half, col, window_s=1e-8) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: Periphery(sensing="serial"),
            ValueError,
            r"sensing must be one of \['parallel', 'muxed'\]; got 'serial'",
        ),
        (lambda: Periphery(sensing=None), TypeError, "sensing must be one of"),
        (
            lambda: energy.tile_read_cost(n_cols=4, columns_per_adc=2, sensing="MUXED", **COST),
            ValueError,
            "sensing",
        ),
        (
            lambda: energy.floating_column_energy_j(np.ones((1, 3)), np.ones((2, 2)), window_s=1.0),
            ValueError,
            "v must be",
        ),
        (
            lambda: energy.floating_column_energy_j(np.ones((1, 2)), np.ones((2, 2)), window_s=-1.0),
            ValueError,
            "window_s",
        ),
    ],
)
def test_sensing_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _chip(sensing, layer_sizes=(20, 6)):
    periphery = Periphery(dac=DacParams(bits=8, input_full_scale=8.0), sensing=sensing)
    design = ChipDesign(layer_sizes=layer_sizes, tile_shape=(8, 4), periphery=periphery)
    return Chip.fabricate(design, seed=0)


def test_a_muxed_chip_reads_the_same_and_bills_its_slots():
    x = np.random.default_rng(1).uniform(-1, 1, (3, 20))
    par, mux = _chip("parallel"), _chip("muxed")
    np.testing.assert_array_equal(mux.ports().drive(0, x), par.ports().drive(0, x))
    mp, mm = par.meter, mux.meter
    # Independent twin of the floating columns: per tile (8 rows x 4 or 2 weight columns),
    # slots = min(8 columns per ADC, columns), each column floats for slots - 1 windows.
    xb = mux.crossbars[0]
    v = mux.design.periphery.dac.convert(np.hstack([x, np.ones((3, 1))]))
    window_s = mux.design.cost.t_read_s
    want = 0.0
    n_ct = xb.n_tiles[1]
    for idx, (r0, r1, c0, c1) in enumerate(xb.tiles()):
        slots = min(mux.design.cost.columns_per_adc, c1 - c0)
        g = xb.tile_conductances((idx // n_ct, idx % n_ct))
        want += _floating_naive(v[:, r0:r1], g, (slots - 1) * window_s)
    assert want > 0
    assert mm.energy_read_j == pytest.approx(mp.energy_read_j + want, rel=1e-9)
    assert mm.energy_line_j == pytest.approx(4 * mp.energy_line_j, rel=1e-12)  # tiles of 4 slots
    assert mm.seconds_settle == pytest.approx(4 * mp.seconds_settle, rel=1e-12)
    for name in ("energy_dac_j", "energy_tia_j", "energy_mux_j", "energy_adc_j", "seconds_convert"):
        assert getattr(mm, name) == getattr(mp, name)


def test_muxed_rows_at_one_voltage_dissipate_what_parallel_ones_do():
    x = np.ones((2, 20))  # every row, the bias row too, at one DAC voltage
    par, mux = _chip("parallel"), _chip("muxed")
    par.ports().drive(0, x)
    mux.ports().drive(0, x)
    assert mux.meter.energy_read_j == pytest.approx(par.meter.energy_read_j, rel=1e-12)
    # A verify read senses one device: one slot, the same bill in both schemes.
    par.bill_programming(0, verify_reads=5)
    mux.bill_programming(0, verify_reads=5)
    assert mux.meter.minus(par.meter).energy_j == pytest.approx(
        mux.meter.energy_line_j - par.meter.energy_line_j
    )


def test_sensing_is_saved_and_old_files_read_in_parallel(tmp_path):
    chip = _chip("muxed")
    chip.ports().drive(0, np.ones((1, 20)))
    again = Chip.load(chip.save(tmp_path / "m.npz"))
    assert again.design.periphery.sensing == "muxed" and again.design == chip.design
    assert again.meter == chip.meter
    d = chip.design.to_dict()
    assert d["periphery"].pop("sensing") == "muxed"  # a file from before the field
    assert ChipDesign.from_dict(d).periphery.sensing == "parallel"
