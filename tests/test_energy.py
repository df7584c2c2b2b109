"""Energy and latency after NeuroSim: Elmore settling, the periphery bill, the chip's meter."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import neuromorph as nm
from neuromorph.chip import Chip, ChipDesign, CostModel
from neuromorph.chip.ports import ENERGY_FIELDS, SECONDS_FIELDS
from neuromorph.hardware import energy, timing
from neuromorph.hardware.wires import WireParams

COST = {
    "dac_fom_j_per_step": 5e-15,
    "adc_fom_j_per_step": 5e-15,
    "adc_clock_hz": 1e9,
    "tia_power_w": 1e-5,
    "mux_energy_j": 2e-15,
    "c_line_per_cell_f": 1e-16,
}


def _ladder_elmore(n, r, c, r0, cl):
    """Naive twin: first moment of the far node of an RC ladder, (G^-1 C 1)_far.

    Node k (0-based) is joined to node k-1 by r (node 0 to the source by r0); the DC
    response of every node to a unit step is 1, so the Elmore delay is the far entry of
    G^-1 C 1 with G the nodal conductance matrix.
    """
    g = np.zeros((n, n))
    for k in range(n):
        gk = 1 / (r0 if k == 0 else r)
        g[k, k] += gk
        if k > 0:
            g[k - 1, k - 1] += gk
            g[k - 1, k] -= gk
            g[k, k - 1] -= gk
    caps = np.full(n, c)
    caps[-1] += cl
    return np.linalg.solve(g, caps)[-1]


@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_elmore_delay_matches_the_nodal_first_moment(n):
    rng = np.random.default_rng(n)
    r, c, r0, cl = rng.uniform(0.5, 5), rng.uniform(1e-17, 1e-15), rng.uniform(1, 100), rng.uniform(0, 1e-15)
    got = timing.elmore_delay_s(n, r, c, r_source_ohm=r0, c_load_f=cl)
    assert got == pytest.approx(_ladder_elmore(n, r, c, r0, cl), rel=1e-10)


def test_settling_time_reaches_half_an_lsb_and_grows_with_the_array():
    tau = 3e-9
    t = timing.settling_time_s(tau, 8)
    assert math.exp(-t / tau) == pytest.approx(2.0**-9)
    small, big = (
        timing.line_time_constant_s(n, n, r_row_ohm=2.0, r_col_ohm=2.0, c_segment_f=1e-16) for n in (32, 256)
    )
    assert big > 30 * small  # quadratic in the line length
    assert timing.line_time_constant_s(8, 8, r_row_ohm=0.0, r_col_ohm=0.0, c_segment_f=1e-16) == 0.0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: timing.elmore_delay_s(-1, 1.0, 1.0), "n_segments must be >= 0"),
        (lambda: timing.elmore_delay_s(3, -1.0, 1.0), "r_segment_ohm must be >= 0"),
        (lambda: timing.settling_time_s(1e-9, 0), "bits must be >= 1"),
        (lambda: timing.settling_time_s(-1.0, 8), "tau_s must be >= 0"),
    ],
)
def test_timing_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _cost(**kw):
    args = dict(
        reads=3,
        n_dac_rows=16,
        n_cols=12,
        n_cells_per_row=24,
        row_v2_sum=2.0,
        dac_bits=4,
        adc_bits=6,
        columns_per_adc=8,
        settle_s=1e-8,
        **COST,
    )
    args.update(kw)
    return energy.tile_read_cost(**args)


def test_tile_read_cost_by_component():
    c = _cost()
    assert c.energy_dac_j == pytest.approx(3 * 16 * 5e-15 * 2**4)
    assert c.energy_adc_j == pytest.approx(3 * 12 * 5e-15 * 2**6)
    assert c.energy_tia_j == pytest.approx(3 * 12 * 1e-5 * 1e-8)
    assert c.energy_mux_j == pytest.approx(3 * 12 * 2e-15)
    assert c.energy_line_j == pytest.approx(1e-16 * 24 * 2.0)
    assert c.convert_s == pytest.approx(8 * 7e-9)  # 8 channels per ADC, 7 cycles each
    assert c.latency_s == pytest.approx(1e-8 + 8 * 7e-9)
    assert c.energy_j == pytest.approx(sum(c[:5]))


def test_adc_sharing_costs_time_not_conversions():
    one, eight = _cost(columns_per_adc=1), _cost(columns_per_adc=8)
    assert eight.convert_s == 8 * one.convert_s
    assert eight.energy_adc_j == one.energy_adc_j
    assert one.energy_mux_j == 0.0 < eight.energy_mux_j
    assert _cost(columns_per_adc=64).convert_s == _cost(columns_per_adc=12).convert_s  # 12 channels


def test_ideal_converters_cost_nothing():
    c = _cost(dac_bits=None, adc_bits=None)
    assert c.energy_dac_j == 0.0 and c.energy_adc_j == 0.0 and c.convert_s == 0.0
    assert energy.conversion_energy_j(5e-15, 8) == pytest.approx(1.28e-12)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"reads": -1}, "reads must be >= 0"),
        ({"n_cols": 0}, "n_cols must be >= 1"),
        ({"columns_per_adc": 0}, "columns_per_adc must be >= 1"),
        ({"tia_power_w": -1.0}, "tia_power_w must be >= 0"),
        ({"adc_clock_hz": 0.0}, "clock_hz must be > 0"),
        ({"row_v2_sum": -1.0}, "row_v2_sum must be >= 0"),
    ],
)
def test_tile_read_cost_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        _cost(**kw)


def test_cost_model_errors_and_old_files():
    with pytest.raises(ValueError, match="columns_per_adc must be >= 1"):
        CostModel(columns_per_adc=0)
    with pytest.raises(ValueError, match="adc_clock_hz must be > 0"):
        CostModel(adc_clock_hz=0.0)
    with pytest.raises(ValueError, match="mux_energy_j must be >= 0"):
        CostModel(mux_energy_j=-1.0)
    old = {"adc_fom_j_per_step": 5e-15, "dac_fom_j_per_step": 5e-15, "t_read_s": 1e-7, "pulse_v": 1.2}
    d = ChipDesign(layer_sizes=(4, 3)).to_dict()
    d["cost"] = dict(old, t_pulse_s=1e-7)  # a file from before issue 13
    assert ChipDesign.from_dict(d).cost == CostModel(t_read_s=1e-7)


def _chip(**kw):
    design = ChipDesign(layer_sizes=kw.pop("layer_sizes", (20, 10, 6)), tile_shape=(8, 4), **kw)
    return Chip.fabricate(design, seed=0)


def test_meter_energy_is_the_sum_of_its_components():
    chip = _chip()
    ports = chip.ports()
    ports.run(np.random.default_rng(0).uniform(0, 1, (5, 20)))
    ports.program(1, np.full((11, 6), 0.2))
    m = ports.meter
    assert m.energy_j == pytest.approx(sum(getattr(m, k) for k in ENERGY_FIELDS))
    assert all(getattr(m, k) > 0 for k in ENERGY_FIELDS)
    assert m.chip_seconds == pytest.approx(sum(getattr(m, k) for k in SECONDS_FIELDS))
    d = m.as_dict()
    assert d["energy_j"] == m.energy_j and set(ENERGY_FIELDS) <= set(d)


def test_verify_reads_bill_the_adc():
    chip = _chip()
    before = chip.meter.copy()
    chip.bill_programming(0, verify_reads=10)
    spent = chip.meter.minus(before)
    bits = chip.design.periphery.adc.bits
    assert spent.adc_conversions == 10
    assert spent.energy_adc_j == pytest.approx(10 * chip.design.cost.adc_fom_j_per_step * 2**bits)
    assert spent.seconds_convert == pytest.approx(10 * (bits + 1) / chip.design.cost.adc_clock_hz)


def test_an_ideal_dac_is_not_billed_as_16_bits():
    wide = nm.Periphery(nm.DacParams(bits=None, input_full_scale=8.0), nm.TiaParams(), nm.AdcParams())
    chip = _chip(periphery=wide)
    chip.ports().drive(0, np.ones((2, 20)))
    assert chip.meter.energy_dac_j == 0.0 and chip.meter.dac_conversions == 2 * 21


def test_wired_reads_take_longer_on_bigger_tiles_and_the_outputs_do_not_change():
    wires = WireParams(r_row_ohm=100.0, r_col_ohm=100.0, c_segment_f=1e-14)  # slow lines
    x = np.random.default_rng(1).uniform(0, 1, (2, 60))
    times, outs = [], []
    for tile in ((16, 8), (61, 30)):
        design = ChipDesign(layer_sizes=(60, 30), tile_shape=tile, wires=wires)
        chip = Chip.fabricate(design, seed=0)
        outs.append(chip.ports().drive(0, x))
        times.append(chip.meter.seconds_settle)
    assert times[1] > times[0] >= 2 * design.cost.t_read_s
    # Metering reads nothing back into the physics: a different cost model, the same bits.
    design = ChipDesign(layer_sizes=(60, 30), tile_shape=(16, 8), wires=wires, cost=CostModel(t_read_s=1e-6))
    np.testing.assert_array_equal(Chip.fabricate(design, seed=0).ports().drive(0, x), outs[0])


def test_old_meters_load_with_the_split_at_zero(tmp_path):
    chip = _chip()
    chip.ports().drive(0, np.ones((1, 20)))
    again = Chip.load(chip.save(tmp_path / "c.npz"))
    assert again.meter == chip.meter
    old_fields = ("queries", "chip_seconds", "energy_read_j", "energy_adc_j")
    old = nm.Meter(**{k: getattr(chip.meter, k) for k in old_fields})
    assert old.energy_tia_j == 0.0 and old.energy_j == chip.meter.energy_read_j + chip.meter.energy_adc_j
    assert dataclasses.asdict(old)["seconds_settle"] == 0.0
