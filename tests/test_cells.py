"""Cells beyond a resistor (1T1R, sinh): Newton solver against ngspice, a naive twin and physics."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from scipy.optimize import root

import neuromorph as nm
from neuromorph.chip import ChipDesign
from neuromorph.errors import ConvergenceError
from neuromorph.hardware.spice import TemperatureLaw, simulate, write_netlist
from neuromorph.hardware.wires import WiredArray, WireParams, _newton, node_voltages, solve, wires_for_node
from neuromorph.hardware.wires.cells import DEFAULT_V0_V, CellModel, mos_current
from neuromorph.hardware.wires.technology import NODES_NM

SEED = 131313
ONE_T_ONE_R = CellModel(kind="one_t_one_r")
SINH = CellModel(kind="nonlinear")
#: A strongly nonlinear sinh cell (v0 = 0.1 V against 0.2 V inputs), illustrative: it
#: makes Newton work hard and the half-select suppression large.
SINH_STRONG = CellModel(kind="nonlinear", v0_v=0.1)

SENSE_CASES = [
    ("ammeter", WireParams(2.0, 2.0)),
    ("tia", WireParams(2.0, 2.0, r_driver_ohm=5.0)),
    ("resistor", WireParams(2.0, 2.0, r_driver_ohm=1.0, sense="resistor", r_sense_ohm=50.0)),
]


def realistic(n_rows, n_cols, seed, batch=None):
    rng = np.random.default_rng(seed)
    g = rng.uniform(1e-6, 1e-4, (n_rows, n_cols))
    return g, rng.uniform(0.0, 0.2, (n_rows,) if batch is None else (batch, n_rows))


def rel(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b))


def with_cell(wires, cell):
    return dataclasses.replace(wires, cell=cell)


# --------------------------------------------------------------------------- against ngspice
@pytest.mark.parametrize("temperature_k", [300.0, 358.0])
@pytest.mark.parametrize("sense,wires", SENSE_CASES, ids=[c[0] for c in SENSE_CASES])
def test_1t1r_32x32_matches_ngspice(temperature_k, sense, wires):
    g, v = realistic(32, 32, SEED)
    w = with_cell(wires, ONE_T_ONE_R)
    want = solve(g, v, w, temperature_k=temperature_k)
    assert rel(simulate(g, v, w, temperature_k=temperature_k, sense=sense), want) < 1e-9
    # the transistor matters: not the device alone, nor its small-signal linear map
    assert rel(solve(g, v, wires, temperature_k=temperature_k), want) > 0.1
    small = ONE_T_ONE_R.small_signal(g, temperature_k)
    assert rel(solve(small, v, wires, temperature_k=temperature_k), want) > 1e-2


@pytest.mark.parametrize("cell", [SINH, SINH_STRONG], ids=["neurosim_v0", "strong"])
@pytest.mark.parametrize("sense,wires", SENSE_CASES, ids=[c[0] for c in SENSE_CASES])
def test_sinh_32x32_matches_ngspice(cell, sense, wires):
    g, v = realistic(32, 32, SEED + 1)
    w = with_cell(wires, cell)
    want = solve(g, v, w, temperature_k=330.0)
    assert rel(simulate(g, v, w, temperature_k=330.0, sense=sense), want) < 1e-9  # issue: 1e-6
    assert rel(solve(g, v, wires, temperature_k=330.0), want) > 1e-3  # not the linear array


def test_netlist_writes_cells_and_leaves_open_devices_out():
    g, v = realistic(3, 2, SEED)
    g[1, 1] = 0.0
    text = write_netlist(g, v, WireParams(1.0, 1.0, cell=ONE_T_ONE_R))
    assert text.count("\nM") == 5 and text.count("nmos level=1") == 1 and "gmin=" in text
    text = write_netlist(g, v, WireParams(1.0, 1.0, cell=SINH))
    assert text.count("\nB") == 5 and "sinh(" in text and "reltol=" in text
    assert "sinh(" not in write_netlist(g, v, WireParams(1.0, 1.0))  # resistive: unchanged


# --------------------------------------------------------------------------- naive twin
def naive_cells(g, v, r_row, r_col, cell, k):
    """KCL at every node written from scratch with loops, solved by scipy's root finder.

    Virtual-ground sense, no driver resistance: row node (i, 0) sits at v[i], column node
    (n_rows - 1, j) at 0 V.  Unknowns: every row, column and (1T1R) internal node.
    """
    n_rows, n_cols = g.shape
    nm_ = n_rows * n_cols

    def volts(x):
        vr = x[:nm_].reshape(n_rows, n_cols).copy()
        vc = x[nm_ : 2 * nm_].reshape(n_rows, n_cols).copy()
        vr[:, 0] = v
        vc[-1, :] = 0.0
        vm = x[2 * nm_ :].reshape(n_rows, n_cols) if x.size > 2 * nm_ else np.zeros((n_rows, n_cols))
        return vr, vc, vm

    def cell_current(vr, vc, vm, i, j):
        if cell.kind == "nonlinear":
            return g[i, j] * cell.v0_v * np.sinh((vr - vc) / cell.v0_v), None
        i_r = g[i, j] * (vr - vm)
        vd, vs, sign = (vm, vc, 1.0) if vm >= vc else (vc, vm, -1.0)
        vov, vds = cell.v_gate_v - vs - cell.v_th_v, vd - vs
        i_t = 0.0 if vov <= 0 else (k * (vov * vds - vds**2 / 2) if vds < vov else k * vov**2 / 2)
        return i_r, i_r - sign * i_t  # current through the cell, KCL at the internal node

    def residual(x):
        vr, vc, vm = volts(x)
        out_r, out_c, out_m = (
            np.zeros((n_rows, n_cols)),
            np.zeros((n_rows, n_cols)),
            np.zeros((n_rows, n_cols)),
        )
        for i in range(n_rows):
            for j in range(n_cols):
                i_cell, kcl_m = cell_current(vr[i, j], vc[i, j], vm[i, j], i, j)
                out_r[i, j] += i_cell
                if kcl_m is None:
                    out_c[i, j] -= i_cell
                else:
                    out_m[i, j] = kcl_m
                    out_c[i, j] -= i_cell - kcl_m
                if j + 1 < n_cols:
                    out_r[i, j] += (vr[i, j] - vr[i, j + 1]) / r_row
                    out_r[i, j + 1] -= (vr[i, j] - vr[i, j + 1]) / r_row
                if i + 1 < n_rows:
                    out_c[i, j] += (vc[i, j] - vc[i + 1, j]) / r_col
                    out_c[i + 1, j] -= (vc[i, j] - vc[i + 1, j]) / r_col
        out_r[:, 0] = x[:nm_].reshape(n_rows, n_cols)[:, 0] - v  # pinned: identity equations
        out_c[-1, :] = x[nm_ : 2 * nm_].reshape(n_rows, n_cols)[-1, :]
        res = [out_r.ravel() * 1e4, out_c.ravel() * 1e4]  # amperes scaled to volts-like sizes
        if cell.kind == "one_t_one_r":
            res.append(out_m.ravel() * 1e4)
        return np.concatenate(res)

    n_unknowns = (3 if cell.kind == "one_t_one_r" else 2) * nm_
    sol = root(residual, np.zeros(n_unknowns), method="hybr", tol=1e-14)
    assert sol.success, sol.message
    vr, vc, vm = volts(sol.x)
    cols = np.zeros(n_cols)
    for i in range(n_rows):
        for j in range(n_cols):
            cur, kcl_m = cell_current(vr[i, j], vc[i, j], vm[i, j], i, j)
            cols[j] += cur if kcl_m is None else cur - kcl_m
    return cols


@pytest.mark.parametrize("cell", [ONE_T_ONE_R, SINH_STRONG], ids=["1t1r", "sinh"])
@pytest.mark.parametrize("seed", [1, 2])
def test_newton_matches_naive_twin(cell, seed):
    g, v = realistic(4, 3, seed)
    got = solve(g, v, WireParams(40.0, 30.0, cell=cell))
    want = naive_cells(g, v, 40.0, 30.0, cell, cell.k_s(300.0))
    assert rel(got, want) < 1e-8


# --------------------------------------------------------------------------- physics
@pytest.mark.parametrize("cell", [ONE_T_ONE_R, SINH_STRONG], ids=["1t1r", "sinh"])
def test_small_inputs_see_the_small_signal_map(cell):
    g, v = realistic(8, 6, SEED)
    w = WireParams(2.0, 3.0, r_driver_ohm=1.0)
    tiny = 1e-7 * v
    want = solve(cell.small_signal(g, 300.0), tiny, w)
    assert rel(solve(g, tiny, with_cell(w, cell)), want) < 1e-6
    assert np.array_equal(solve(g, np.zeros(8), with_cell(w, cell)), np.zeros(6))


def test_sinh_array_is_odd_and_superlinear():
    g, v = realistic(8, 6, SEED)
    w = WireParams(2.0, 2.0, cell=SINH_STRONG)
    up, down = solve(g, v, w), solve(g, -v, w)
    np.testing.assert_allclose(down, -up, rtol=1e-12)
    assert np.all(solve(g, 2 * v, w) > 2 * up)  # sinh grows faster than linear


def test_half_select_and_sneak_paths_of_a_passive_array():
    # One row driven at V, the others held at 0 V; the columns sit on sense resistors, so
    # they rise and the unselected cells pass current backwards into the grounded rows:
    # the sneak paths, which the sense never sees.
    g = np.full((8, 8), 5e-5)
    v = np.zeros(8)
    v[3] = 0.2
    w = WireParams(1.0, 1.0, sense="resistor", r_sense_ohm=2e3, cell=SINH_STRONG)
    v_row, v_col = node_voltages(g, v, w)
    vc = v_row - v_col
    i_cell = g * SINH_STRONG.v0_v * np.sinh(vc / SINH_STRONG.v0_v)
    unselected = np.arange(8) != 3
    assert np.all(i_cell[unselected] < 0) and np.all(i_cell[3] > 0)
    sneak = -i_cell[unselected].sum()
    sensed = solve(g, v, w).sum()
    assert sneak > 0.1 * sensed
    np.testing.assert_allclose(i_cell[3].sum(), sensed + sneak, rtol=1e-10)  # KCL
    # half-select: a cell at V/2 passes less than half the current of one at V, so the
    # array is not linear in its inputs: a row at V/2 adds less than half a row at V
    full, half = (SINH_STRONG.v0_v * np.sinh(x / SINH_STRONG.v0_v) for x in (0.2, 0.1))
    assert half < 0.45 * full
    wg = WireParams(1.0, 1.0, cell=SINH_STRONG)
    assert np.all(solve(g, v / 2, wg) < 0.45 * solve(g, v, wg))


def test_kcl_at_every_node_with_nonlinear_cells():
    g, v = realistic(6, 5, SEED)
    w = WireParams(2.0, 3.0, r_driver_ohm=4.0, cell=SINH_STRONG)
    v_row, v_col = node_voltages(g, v, w)
    i_cell = g * SINH_STRONG.v0_v * np.sinh((v_row - v_col) / SINH_STRONG.v0_v)
    kcl_row = i_cell.copy()
    kcl_row[:, :-1] += (v_row[:, :-1] - v_row[:, 1:]) / 2.0
    kcl_row[:, 1:] -= (v_row[:, :-1] - v_row[:, 1:]) / 2.0
    kcl_row[:, 0] -= (v - v_row[:, 0]) / 4.0
    kcl_col = -i_cell
    kcl_col[:-1] += (v_col[:-1] - v_col[1:]) / 3.0
    kcl_col[1:] -= (v_col[:-1] - v_col[1:]) / 3.0
    scale = np.abs(i_cell).max()
    assert np.abs(kcl_row).max() < 1e-11 * scale  # rounding of the check's own differences
    assert np.abs(kcl_col[:-1]).max() < 1e-11 * scale  # the bottom node is the sense's
    np.testing.assert_allclose(solve(g, v, w), -kcl_col[-1] + 0.0, rtol=1e-10)


def test_1t1r_transistor_law_and_temperature():
    assert ONE_T_ONE_R.k_s(300.0) * 15e3 * (1.1 - 0.442034) == pytest.approx(1.0, rel=1e-15)
    assert ONE_T_ONE_R.k_s(358.0) / ONE_T_ONE_R.k_s(300.0) == pytest.approx((358 / 300) ** -1.5)
    # a hotter 1T1R array passes less current (mobility), a resistive one the same here
    g, v = realistic(8, 8, SEED)
    w = WireParams(0.5, 0.5, tcr_per_k=0.0, cell=ONE_T_ONE_R)
    assert np.all(solve(g, v, w, temperature_k=358.0) < solve(g, v, w, temperature_k=300.0))
    # level 1: triode, saturation and cut-off, symmetric in drain and source
    i, ga, gb = mos_current(np.array([0.3, 0.9, 0.0]), np.array([0.0, 0.0, 0.3]), 1.1, 0.4, 1e-4)
    np.testing.assert_allclose(i, [1e-4 * (0.7 * 0.3 - 0.045), 0.5e-4 * 0.49, -1e-4 * (0.7 * 0.3 - 0.045)])
    assert ga[1] == 0.0 and gb[1] == pytest.approx(-1e-4 * 0.7)
    off = mos_current(np.array([0.3]), np.array([0.0]), 0.3, 0.4, 1e-4)
    assert all(float(a[0]) == 0.0 for a in off)


def test_default_v0_follows_neurosim_nonlinearity():
    # I(Vw) / I(Vw/2) = 10 at NeuroSim's 4 V write voltage
    assert np.sinh(4.0 / DEFAULT_V0_V) / np.sinh(2.0 / DEFAULT_V0_V) == pytest.approx(10.0)


# --------------------------------------------------------------------------- wired arrays, chips
@pytest.mark.parametrize("cell", [ONE_T_ONE_R, SINH_STRONG], ids=["1t1r", "sinh"])
def test_wired_array_reads_solve_newton(cell):
    g, v = realistic(6, 4, SEED, batch=3)
    w = WireParams(2.0, 2.0, cell=cell)
    wa = WiredArray(g, w, temperature_k=320.0)
    np.testing.assert_allclose(wa.currents(v), solve(g, v, w, temperature_k=320.0), rtol=1e-13)
    np.testing.assert_allclose(
        wa.transfer,
        WiredArray(cell.small_signal(g, 320.0), WireParams(2.0, 2.0), temperature_k=320.0).transfer,
    )
    g2 = g * 1.5
    wa.update(g2)
    np.testing.assert_allclose(wa.currents(v[0]), solve(g2, v[0], w, temperature_k=320.0), rtol=1e-13)
    assert wa.currents(v.astype(np.float32)).dtype == np.float32


def test_crossbar_read_uses_the_nonlinear_cells(ideal_crossbar):
    lin = ideal_crossbar(8, 3, tile_shape=(8, 6), wires=WireParams(2.0, 2.0))
    cel = ideal_crossbar(8, 3, tile_shape=(8, 6), wires=WireParams(2.0, 2.0, cell=SINH_STRONG))
    x = np.random.default_rng(0).uniform(0.0, 1.0, (4, 8))
    a, b = lin.read(x), cel.read(x)
    assert rel(b, a) > 1e-3  # the sinh cells change the read
    np.testing.assert_array_equal(lin.read(x), a)  # the linear path is deterministic as before


def test_design_carries_cells_and_capacitance_through_json():
    wires = wires_for_node(22, "1t1r", r_driver_ohm=3.0, cell=ONE_T_ONE_R)
    design = ChipDesign(layer_sizes=(6, 4), wires=wires)
    again = ChipDesign.from_dict(json.loads(json.dumps(design.to_dict())))
    assert again == design and isinstance(again.wires.cell, CellModel)
    data = design.to_dict()
    del data["wires"]["cell"], data["wires"]["c_segment_f"]  # older files: the defaults
    assert ChipDesign.from_dict(data).wires.cell == CellModel()


def test_technology_wires_follow_neurosim():
    w = wires_for_node(32)
    assert w.r_row_ohm == pytest.approx(2 * 4.03e-8 / (40e-9 * 1.90)) and w.c_segment_f == pytest.approx(
        1.6e-17
    )
    w4 = wires_for_node(32, "1t1r")
    assert w4.r_col_ohm == pytest.approx(2 * w.r_col_ohm) and w4.c_segment_f == pytest.approx(3.2e-17)
    assert [wires_for_node(n).r_row_ohm for n in (45, 32, 22, 14, 7)] == sorted(
        wires_for_node(n).r_row_ohm for n in (45, 32, 22, 14, 7)
    )
    assert 32 in NODES_NM and w.at_temperature(358.0).c_segment_f == w.c_segment_f


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs,exc,msg",
    [
        ({"kind": "diode"}, ValueError, "kind must be one of"),
        ({"kind": 3}, TypeError, "kind must be a string"),
        ({"r_access_ohm": 0.0}, ValueError, "r_access_ohm"),
        ({"v_gate_v": 0.4}, ValueError, "v_gate_v must be > v_th_v"),
        ({"v0_v": -1.0}, ValueError, "v0_v"),
        ({"t_ref_k": -3.0}, ValueError, "t_ref_k"),
    ],
)
def test_cell_model_errors(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        CellModel(**kwargs)


def test_cell_errors_elsewhere(monkeypatch):
    g, v = realistic(4, 3, SEED)
    with pytest.raises(TypeError, match="cell must be a CellModel"):
        WireParams(1.0, 1.0, cell="1t1r")
    with pytest.raises(ValueError, match="c_segment_f"):
        WireParams(1.0, 1.0, c_segment_f=-1e-15)
    with pytest.raises(ValueError, match="method must be 'direct' for nonlinear cells"):
        solve(g, v, WireParams(1.0, 1.0, cell=SINH), method="iterative")
    with pytest.raises(ValueError, match="temperature_law must be None"):
        write_netlist(None, v, WireParams(1.0, 1.0, cell=SINH), temperature_law=TemperatureLaw(g))
    with pytest.raises(ValueError, match="node_nm must be one of"):
        wires_for_node(33)
    with pytest.raises(TypeError, match="node_nm must be an int"):
        wires_for_node(32.0)
    with pytest.raises(ValueError, match="layout must be one of"):
        wires_for_node(32, "2t2r")
    monkeypatch.setattr(_newton, "MAX_ITER", 1)
    monkeypatch.setattr(_newton, "CHORD_MAX_ITER", 1)
    with pytest.raises(ConvergenceError, match="Newton's method"):
        solve(g, v, WireParams(1.0, 1.0, cell=SINH_STRONG))


def test_top_level_names():
    assert nm.hardware.wires.wires_for_node is wires_for_node


def test_resistive_cells_and_capacitance_keep_the_linear_bits():
    g, v = realistic(12, 9, SEED, batch=4)
    base = WireParams(2.0, 3.0, r_driver_ohm=1.0)
    same = WireParams(2.0, 3.0, r_driver_ohm=1.0, c_segment_f=1e-15, cell=CellModel())
    assert np.array_equal(solve(g, v, same), solve(g, v, base))
    assert np.array_equal(WiredArray(g, same).currents(v), WiredArray(g, base).currents(v))
    assert write_netlist(g, v[0], same) == write_netlist(g, v[0], base)
