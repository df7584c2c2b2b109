"""Tests of neuromorph.hardware.spice against real ngspice (no mocks) and neuromorph.hardware.wires.solve."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuromorph.errors import NeuromorphError, NgspiceNotFoundError
from neuromorph.hardware import spice
from neuromorph.hardware.spice import (
    MEMRISTOR_TEMP_LIB,
    TIA_LIB,
    TemperatureLaw,
    run_ngspice,
    safe_name,
    simulate,
    write_netlist,
)
from neuromorph.hardware.wires import WireParams, solve, wires_for_node
from neuromorph.hardware.wires.cells import CellModel

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "circuits"
SEED = 424242


def realistic(n_rows, n_cols, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(1e-6, 1e-4, (n_rows, n_cols)), rng.uniform(0.0, 0.2, n_rows)


def rel(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b))


SENSE_CASES = [
    ("ammeter", WireParams(2.0, 2.0)),
    ("tia", WireParams(2.0, 2.0, r_driver_ohm=5.0)),
    ("resistor", WireParams(2.0, 2.0, r_driver_ohm=1.0, sense="resistor", r_sense_ohm=50.0)),
]


@pytest.mark.parametrize("temperature_k", [300.0, 358.0])
@pytest.mark.parametrize("sense,wires", SENSE_CASES, ids=[c[0] for c in SENSE_CASES])
def test_ngspice_matches_solver_32x32(temperature_k, sense, wires):
    g, v = realistic(32, 32, SEED)
    got = simulate(g, v, wires, temperature_k=temperature_k, sense=sense)
    want = solve(g, v, wires, temperature_k=temperature_k)
    assert rel(got, want) < 1e-9
    # the IR drop is real at this size, so the agreement is not trivially v @ g
    assert rel(want, v @ g) > 1e-3


def test_tia_is_exactly_a_small_sense_resistance():
    g, v = realistic(16, 16, SEED)
    wires = WireParams(2.0, 2.0)
    gain, rf = 1e6, 1e4  # a modest op-amp: input resistance rf / (1 + gain) = 0.01 ohm
    got = simulate(g, v, wires, sense="tia", tia_gain=gain, tia_rf_ohm=rf)
    equiv = WireParams(2.0, 2.0, sense="resistor", r_sense_ohm=rf / (1.0 + gain))
    assert rel(got, solve(g, v, equiv)) < 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("sense,wires", SENSE_CASES, ids=[c[0] for c in SENSE_CASES])
def test_ngspice_matches_solver_64x64(sense, wires):
    g, v = realistic(64, 64, SEED + 1)
    got = simulate(g, v, wires, temperature_k=358.0, sense=sense)
    assert rel(got, solve(g, v, wires, temperature_k=358.0)) < 1e-9


def test_ideal_netlist_is_v_at_g():
    g, v = realistic(8, 5, SEED)
    g[2, 3] = 0.0  # an open device is left out of the netlist
    netlist = write_netlist(g, v)
    assert "_g2_3 " not in netlist
    assert rel(run_ngspice(netlist), v @ g) < 1e-12


def test_zero_ohm_wires_are_merged_nodes():
    g, v = realistic(6, 6, SEED)
    for wires in (
        WireParams(2.0, 0.0, r_driver_ohm=3.0),
        WireParams(0.0, 2.0),
        WireParams(0.0, 0.0, sense="resistor", r_sense_ohm=10.0),
    ):
        netlist = write_netlist(g, v, wires)
        for line in netlist.splitlines():
            if line[:1] in "RX" and not line.startswith("Rf ") and "nm_tia" not in line:
                value = line.split()[3]
                assert float(value) > 0 if value[0] != "{" else True
        assert rel(run_ngspice(netlist), solve(g, v, wires)) < 1e-10


def test_temperature_law_netlist_at_358k():
    rng = np.random.default_rng(SEED)
    g_ref, v = realistic(12, 10, SEED)
    law = TemperatureLaw(
        g_ref=g_ref, alpha_per_k=rng.uniform(-2e-3, 2e-3, g_ref.shape), ea_ev=0.05, t_ref_k=300.0
    )
    wires = WireParams(2.0, 2.0, r_driver_ohm=1.0)
    netlist = write_netlist(None, v, wires, temperature_k=358.0, temperature_law=law)
    assert "temper" in netlist and ".options temp=84.85" in netlist
    want = solve(law.conductance(358.0), v, wires, temperature_k=358.0)
    assert rel(run_ngspice(netlist), want) < 1e-9
    # the same netlist text re-run at another .temp follows both laws
    cold = netlist.replace(".options temp=84.850000000000023", ".options temp=26.85")
    assert cold != netlist
    want_cold = solve(law.conductance(300.0), v, wires, temperature_k=300.0)
    assert rel(run_ngspice(cold), want_cold) < 1e-9


def test_temperature_law_python_evaluation():
    g_ref = np.full((2, 2), 1e-5)
    law = TemperatureLaw(g_ref=g_ref, alpha_per_k=1e-3, ea_ev=0.1, t_ref_k=300.0)
    t = 358.0
    want = 1e-5 * (1 + 1e-3 * 58.0) * np.exp(-0.1 / 8.617333262e-5 * (1 / t - 1 / 300.0))
    assert np.allclose(law.conductance(t), want, rtol=1e-15, atol=0)
    assert np.array_equal(law.conductance(300.0), g_ref)


HOSTILE = ["my array/1 *.end", "1abc", "", "a b\nR1 x y 1", ".end", "ü-ñ"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_sanitised(name):
    p = safe_name(name)
    assert re.fullmatch(r"[a-z_][a-z0-9_]*", p)
    g, v = realistic(3, 3, SEED)
    wires = WireParams(2.0, 2.0, r_driver_ohm=1.0)
    netlist = write_netlist(g, v, wires, name=name, sense="tia")
    body = [ln for ln in netlist.splitlines()[1:] if ln and not ln.startswith("*")]
    assert sum(ln.strip().lower() == ".end" for ln in body) == 1
    for line in body:
        if line[0] in "VRX":
            element, *nodes = line.split()[:3]
            assert re.fullmatch(r"[VRX][a-z0-9_]+", element)
            for node in nodes:
                assert re.fullmatch(r"[a-z_][a-z0-9_]*|0", node), line
    assert rel(run_ngspice(netlist), solve(g, v, wires)) < 1e-9


def test_consecutive_runs_do_not_interfere():
    g1, v1 = realistic(5, 4, SEED)
    g2, v2 = realistic(4, 6, SEED + 1)
    n1, n2 = write_netlist(g1, v1, WireParams(2.0, 2.0)), write_netlist(g2, v2, name="xbar")
    a = run_ngspice(n1)
    b = run_ngspice(n2)
    assert b.shape == (6,)
    assert np.array_equal(run_ngspice(n1), a)


@pytest.mark.parametrize("case", sorted(p.stem for p in CIRCUITS.glob("xbar*.cir")))
def test_committed_reference_netlists(case):
    netlist = (CIRCUITS / f"{case}.cir").read_text(encoding="ascii")
    record = json.loads((CIRCUITS / f"{case}.json").read_text(encoding="ascii"))
    stored = np.array(record["currents_a"])
    assert rel(run_ngspice(netlist), stored) < 1e-12
    wkw = record["wires"]
    wires = WireParams(**{**wkw, "cell": CellModel(**wkw["cell"])}) if "cell" in wkw else WireParams(**wkw)
    want = solve(
        np.array(record["g_s"]), np.array(record["v_v"]), wires, temperature_k=record["temperature_k"]
    )
    assert rel(stored, want) < 1e-9
    # the writer still produces the committed text
    again = write_netlist(
        np.array(record["g_s"]),
        np.array(record["v_v"]),
        wires,
        temperature_k=record["temperature_k"],
        sense=record["sense"],
        name=case,
    )
    assert again == netlist


def test_circuit_libraries_match_module():
    assert (CIRCUITS / "tia.lib").read_text(encoding="ascii") == TIA_LIB
    assert (CIRCUITS / "memristor_temp.lib").read_text(encoding="ascii") == MEMRISTOR_TEMP_LIB


def test_write_netlist_to_path(tmp_path):
    g, v = realistic(2, 2, SEED)
    target = tmp_path / "x.cir"
    text = write_netlist(g, v, path=target)
    assert target.read_text(encoding="ascii") == text


def test_write_netlist_errors():
    g, v = realistic(3, 2, SEED)
    with pytest.raises(ValueError, match="sense must be one of"):
        write_netlist(g, v, sense="probe")
    with pytest.raises(ValueError, match="sense must match wires.sense"):
        write_netlist(g, v, WireParams(1.0, 1.0), sense="resistor")
    with pytest.raises(ValueError, match="sense must match wires.sense"):
        write_netlist(g, v, WireParams(1.0, 1.0, sense="resistor", r_sense_ohm=1.0), sense="tia")
    with pytest.raises(ValueError, match="g must be an array"):
        write_netlist(None, v)
    law = TemperatureLaw(g_ref=g)
    with pytest.raises(ValueError, match="g must be None when temperature_law"):
        write_netlist(g, v, temperature_law=law)
    with pytest.raises(TypeError, match="temperature_law must be a TemperatureLaw"):
        write_netlist(None, v, temperature_law={"g_ref": g})
    with pytest.raises(ValueError, match=r"v must have shape \(3\)"):
        write_netlist(g, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="g must be >= 0"):
        write_netlist(-g, v)
    with pytest.raises(ValueError, match="temperature_k must be > 0 K"):
        write_netlist(g, v, temperature_k=-1.0)
    with pytest.raises(TypeError, match="wires must be a WireParams or None"):
        write_netlist(g, v, wires=2.0)
    with pytest.raises(ValueError, match="tia_gain must be > 0"):
        write_netlist(g, v, sense="tia", tia_gain=0.0)
    with pytest.raises(TypeError, match="name must be a string"):
        write_netlist(g, v, name=3)
    with pytest.raises(ValueError, match="alpha_per_k must be a scalar or have shape"):
        TemperatureLaw(g_ref=g, alpha_per_k=np.zeros(4))
    with pytest.raises(ValueError, match="g_ref must be >= 0"):
        TemperatureLaw(g_ref=-g)


def test_run_ngspice_errors():
    g, v = realistic(3, 2, SEED)
    with pytest.raises(TypeError, match="netlist must be a string"):
        run_ngspice(b"bytes")
    with pytest.raises(ValueError, match="neuromorph-read"):
        run_ngspice("title\nV1 a 0 1\nR1 a 0 1\n.op\n.end\n")
    broken = write_netlist(g, v).replace(".op", "Rbad a\n.op")
    with pytest.raises(NeuromorphError, match="accepted by ngspice"):
        run_ngspice(broken)
    # and ngspice still works afterwards
    assert rel(run_ngspice(write_netlist(g, v)), v @ g) < 1e-12


def test_missing_library_raises_with_install_hint():
    """A fresh interpreter pointed at a missing libngspice.so (real import, no mocks)."""
    code = (
        "import numpy as np\n"
        "from neuromorph.hardware.spice import simulate\n"
        "from neuromorph.errors import NgspiceNotFoundError\n"
        "try:\n"
        "    simulate(np.full((2, 2), 1e-5), np.ones(2))\n"
        "except NgspiceNotFoundError as exc:\n"
        "    print('RAISED', exc)\n"
    )
    env = dict(
        os.environ,
        NGSPICE_LIBRARY_PATH="/nonexistent/libngspice.so",
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert "RAISED" in out.stdout, out.stderr
    assert "apt-get install -y ngspice libngspice0-dev" in out.stdout
    assert NgspiceNotFoundError.__name__ == "NgspiceNotFoundError"


def test_export_crossbar_of_a_chip_agrees_with_ngspice(tmp_path):
    """A heated, programmed RRAM layer with wires, exported and run in the real ngspice."""
    from neuromorph.chip import Chip, ChipDesign

    design = ChipDesign(layer_sizes=(23, 9), wires=WireParams(r_row_ohm=2.0, r_col_ohm=2.0))
    chip = Chip.fabricate(design, seed=4)
    chip.ports().program(0, np.random.default_rng(0).uniform(-0.5, 0.5, (24, 9)))
    chip.environment.set_temperature(358.0)
    x = np.random.default_rng(1).uniform(0, 4, 24)
    export = spice.export_crossbar(chip.crossbars[0], x, path=tmp_path / "layer.cir")
    assert (tmp_path / "layer.cir").read_text() == export.netlist
    got = spice.run_ngspice(export.netlist)
    np.testing.assert_allclose(
        got, export.expected_currents, rtol=1e-9, atol=1e-9 * np.abs(export.expected_currents).max()
    )
    assert got.shape == (18,) and export.differential(got).shape == (9,)


def test_export_crossbar_errors():
    xbar = nm_crossbar()
    with pytest.raises(TypeError, match="xbar must be a Crossbar"):
        spice.export_crossbar("xbar", np.zeros(3))
    with pytest.raises(ValueError, match=r"x must have shape \(4\)"):
        spice.export_crossbar(xbar, np.zeros(3))
    with pytest.raises(ValueError, match=r"tile must be a \(row, col\) index within \(1, 1\)"):
        spice.export_crossbar(xbar, np.zeros(4), tile=(1, 0))


def nm_crossbar():
    import neuromorph as nm

    return nm.Crossbar.fabricate(4, 3, rng=np.random.default_rng(0))


# --------------------------------------------------------------------------- transient reads
def _elmore_settling(shape, wires, bits):
    from neuromorph.hardware import timing

    tau = timing.line_time_constant_s(
        *shape,
        r_row_ohm=wires.r_row_ohm,
        r_col_ohm=wires.r_col_ohm,
        c_segment_f=wires.c_segment_f,
        r_driver_ohm=wires.r_driver_ohm,
    )
    return timing.settling_time_s(tau, bits)


@pytest.mark.parametrize(
    "wires",
    [wires_for_node(32), wires_for_node(32, r_driver_ohm=1e3)],
    ids=["neurosim_32nm", "with_driver"],
)
def test_transient_settles_to_the_dc_read_within_the_elmore_bound(wires):
    g, v = realistic(16, 16, SEED)
    run = spice.simulate_transient(g, v, wires)
    dc = solve(g, v, wires)
    assert rel(run.currents[-1], dc) < 1e-9  # it settles to the DC solution
    assert np.max(np.abs(run.currents[0])) < 1e-3 * np.max(np.abs(dc))  # from uncharged lines
    measured = spice.measured_settling_s(run.time_s, run.currents, dc, bits=8)
    estimate = _elmore_settling(g.shape, wires, 8)
    # The Elmore delay bounds the dominant pole from above; the row and column ladders are
    # added in the estimate although the virtual-ground columns barely charge: measured
    # 0.46 (32 nm) and 0.54 (1 kOhm driver) of the estimate here.
    assert 0.3 * estimate < measured < estimate


def test_bigger_arrays_settle_slower():
    wires = WireParams(20.0, 20.0, c_segment_f=1e-15)
    times = []
    for n in (6, 12):
        g, v = realistic(n, n, SEED)
        times.append(spice.transient_settling_s(g, v, wires, bits=8))
    assert times[1] > 2.5 * times[0]  # RC ladders: ~n^2


def test_transient_netlist_structure_and_errors():
    g, v = realistic(3, 2, SEED)
    text = spice.write_transient_netlist(g, v, WireParams(1.0, 1.0, c_segment_f=2e-17), t_stop_s=1e-12)
    assert "\n.tran " in text and "\n.op\n" not in text and text.count("PWL(") == 3
    # row nodes (3 x 2, none merged with the inputs: no driver resistance pins column 0 to
    # the source, so only columns 1.. are free) and the column nodes above the sense
    assert text.count("\nCxbar_l") == 3 * 1 + 2 * 2
    with pytest.raises(ValueError, match="c_segment_f must be > 0"):
        spice.write_transient_netlist(g, v, WireParams(1.0, 1.0))
    with pytest.raises(TypeError, match="wires must be a WireParams"):
        spice.write_transient_netlist(g, v, None)
    with pytest.raises(ValueError, match="t_stop_s"):
        spice.write_transient_netlist(g, v, WireParams(1.0, 1.0, c_segment_f=1e-17), t_stop_s=-1.0)


def test_measured_settling_of_a_single_pole():
    tau, bits = 2e-9, 8
    t = np.linspace(0.0, 20 * tau, 20001)
    i = 1e-5 * (1.0 - np.exp(-t / tau))[:, None] * np.array([1.0, 0.5])
    got = spice.measured_settling_s(t, i, np.array([1e-5, 5e-6]), bits=bits)
    assert got == pytest.approx(tau * (bits + 1) * np.log(2.0), rel=1e-6)
    assert spice.measured_settling_s(t[:10], i[:10], np.array([1e-5, 5e-6]), bits=bits) == np.inf
    with pytest.raises(ValueError, match="currents must have shape"):
        spice.measured_settling_s(t, i[:, :1], np.array([1e-5, 5e-6]), bits=bits)
