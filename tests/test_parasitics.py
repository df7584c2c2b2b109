"""Tests of neuromorph.hardware.wires.solve: IR-drop solvers against a naive dense twin and physics."""

from __future__ import annotations

import numpy as np
import pytest

from neuromorph.errors import ConvergenceError
from neuromorph.hardware.wires import WiredArray, WireParams, node_voltages, solve

RNG_SEED = 20240611


def realistic(n_rows, n_cols, seed, batch=None):
    """Conductances 1e-6..1e-4 S and inputs 0..0.2 V (docs/references.md's realistic case)."""
    rng = np.random.default_rng(seed)
    g = rng.uniform(1e-6, 1e-4, (n_rows, n_cols))
    shape = (n_rows,) if batch is None else (batch, n_rows)
    return g, rng.uniform(0.0, 0.2, shape)


def rel(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b))


# --------------------------------------------------------------------------- naive twin
def naive_currents(g, v, r_row, r_col, r_driver, sense, r_sense):
    """Dense nodal solve written from scratch with obvious loops (no shared code).

    Nodes: row node (i, j) -> i*M + j, column node (i, j) -> N*M + i*M + j.  Zero
    resistances are not supported here except r_driver == 0 (pins the first row node)
    and the virtual ground (pins the bottom column node); both become identity equations.
    """
    n_rows, n_cols = g.shape
    n = 2 * n_rows * n_cols
    A = np.zeros((n, n))
    b = np.zeros(n)

    def rn(i, j):
        return i * n_cols + j

    def cn(i, j):
        return n_rows * n_cols + i * n_cols + j

    def conductor(a, c, y):
        A[a, a] += y
        A[c, c] += y
        A[a, c] -= y
        A[c, a] -= y

    for i in range(n_rows):
        for j in range(n_cols):
            conductor(rn(i, j), cn(i, j), g[i, j])
            if j + 1 < n_cols:
                conductor(rn(i, j), rn(i, j + 1), 1.0 / r_row)
            if i + 1 < n_rows:
                conductor(cn(i, j), cn(i + 1, j), 1.0 / r_col)
    pinned = {}
    for i in range(n_rows):
        if r_driver > 0:
            A[rn(i, 0), rn(i, 0)] += 1.0 / r_driver
            b[rn(i, 0)] += v[i] / r_driver
        else:
            pinned[rn(i, 0)] = v[i]
    for j in range(n_cols):
        if sense == "resistor":
            A[cn(n_rows - 1, j), cn(n_rows - 1, j)] += 1.0 / r_sense
        else:
            pinned[cn(n_rows - 1, j)] = 0.0
    for k, value in pinned.items():
        A[k, :] = 0.0
        A[k, k] = 1.0
        b[k] = value
    x = np.linalg.solve(A, b)
    out = np.zeros(n_cols)
    for j in range(n_cols):
        for i in range(n_rows):
            out[j] += g[i, j] * (x[rn(i, j)] - x[cn(i, j)])
    return out


NAIVE_WIRES = [
    dict(r_row=2.0, r_col=2.0, r_driver=0.0, sense="virtual_ground", r_sense=0.0),
    dict(r_row=2.0, r_col=3.0, r_driver=5.0, sense="resistor", r_sense=7.0),
    dict(r_row=40.0, r_col=10.0, r_driver=1.0, sense="virtual_ground", r_sense=0.0),
    dict(r_row=1.5, r_col=2.5, r_driver=0.0, sense="resistor", r_sense=200.0),
]


@pytest.mark.parametrize("shape", [(3, 4), (5, 2), (1, 1), (2, 7)])
@pytest.mark.parametrize("wk", NAIVE_WIRES)
@pytest.mark.parametrize("seed", range(RNG_SEED, RNG_SEED + 3))
def test_naive_twin(shape, wk, seed):
    g, v = realistic(*shape, seed)
    want = naive_currents(g, v, wk["r_row"], wk["r_col"], wk["r_driver"], wk["sense"], wk["r_sense"])
    w = WireParams(
        wk["r_row"], wk["r_col"], r_driver_ohm=wk["r_driver"], sense=wk["sense"], r_sense_ohm=wk["r_sense"]
    )
    assert rel(solve(g, v, w), want) < 1e-12, f"seed={seed}"
    assert rel(solve(g, v, w, method="iterative"), want) < 1e-9, f"seed={seed}"
    assert rel(WiredArray(g, w).currents(v), want) < 1e-12, f"seed={seed}"


# --------------------------------------------------------------------------- Kirchhoff
def kcl_check(g, v, w, v_row, v_col):
    """Largest net current at any free node over the largest branch current."""
    n_rows, n_cols = g.shape
    net_r = np.zeros((n_rows, n_cols))
    net_c = np.zeros((n_rows, n_cols))
    branches = []
    dev = g * (v_row - v_col)  # row -> column
    net_r -= dev
    net_c += dev
    branches.append(dev)
    seg_r = (v_row[:, :-1] - v_row[:, 1:]) / w.r_row_ohm  # j -> j+1
    net_r[:, :-1] -= seg_r
    net_r[:, 1:] += seg_r
    branches.append(seg_r)
    seg_c = (v_col[:-1, :] - v_col[1:, :]) / w.r_col_ohm  # i -> i+1
    net_c[:-1, :] -= seg_c
    net_c[1:, :] += seg_c
    branches.append(seg_c)
    free_r = np.ones((n_rows, n_cols), bool)
    free_c = np.ones((n_rows, n_cols), bool)
    if w.r_driver_ohm > 0:
        drv = (v - v_row[:, 0]) / w.r_driver_ohm
        net_r[:, 0] += drv
        branches.append(drv)
    else:
        free_r[:, 0] = False
        assert np.array_equal(v_row[:, 0], v)
    if w.sense == "resistor":
        sen = v_col[-1, :] / w.r_sense_ohm
        net_c[-1, :] -= sen
        branches.append(sen)
    else:
        free_c[-1, :] = False
        assert np.all(v_col[-1, :] == 0.0)
    scale = max(np.max(np.abs(b)) for b in branches)
    return max(np.max(np.abs(net_r[free_r])), np.max(np.abs(net_c[free_c]))) / scale


@pytest.mark.parametrize(
    "wires",
    [
        WireParams(2.0, 2.0),
        WireParams(2.0, 2.0, r_driver_ohm=10.0, sense="resistor", r_sense_ohm=100.0),
        WireParams(5.0, 1.0, r_driver_ohm=2.0),
    ],
)
def test_kcl_every_node(wires):
    g, v = realistic(32, 24, RNG_SEED)
    v_row, v_col = node_voltages(g, v, wires, temperature_k=330.0)
    assert kcl_check(g, v, wires.at_temperature(330.0), v_row, v_col) < 1e-12
    # the column current is the current into the sense
    cur = solve(g, v, wires, temperature_k=330.0)
    if wires.sense == "resistor":
        assert rel(v_col[-1, :] / wires.r_sense_ohm, cur) < 1e-12
    v_row_it, v_col_it = node_voltages(g, v, wires, temperature_k=330.0, method="iterative", tol=1e-14)
    assert kcl_check(g, v, wires.at_temperature(330.0), v_row_it, v_col_it) < 1e-10


# --------------------------------------------------------------------------- ideal limits
@pytest.mark.parametrize("sense", ["virtual_ground", "resistor"])
@pytest.mark.parametrize(
    "r_row,r_col,r_driver",
    [
        (0.0, 0.0, 0.0),
        (2.0, 0.0, 0.0),
        (0.0, 2.0, 0.0),
        (0.0, 0.0, 3.0),
        (2.0, 2.0, 0.0),
        (0.0, 2.0, 3.0),
        (2.0, 0.0, 3.0),
    ],
)
def test_zero_resistance_cases_match_naive_limits(sense, r_row, r_col, r_driver):
    g, v = realistic(6, 5, RNG_SEED, batch=4)
    w = WireParams(
        r_row, r_col, r_driver_ohm=r_driver, sense=sense, r_sense_ohm=1.0 if sense == "resistor" else 0.0
    )
    d = solve(g, v, w)
    assert rel(solve(g, v, w, method="iterative"), d) < 1e-10
    assert rel(WiredArray(g, w).currents(v), d) < 1e-12
    if (r_row, r_col, r_driver, sense) == (0.0, 0.0, 0.0, "virtual_ground"):
        assert rel(d, v @ g) < 1e-12
    else:
        # the naive twin with tiny (1e-6 ohm) resistances in place of the zeros
        def eps(r):
            return r if r > 0 else 1e-6

        for k in range(v.shape[0]):
            want = naive_currents(g, v[k], eps(r_row), eps(r_col), r_driver, sense, 1.0)
            assert rel(d[k], want) < 1e-7


def test_zero_wires_is_ideal_matmul():
    g, v = realistic(64, 48, RNG_SEED, batch=100)
    w = WireParams(0.0, 0.0)
    for method in ("direct", "iterative"):
        assert rel(solve(g, v, w, method=method), v @ g) < 1e-12
    assert rel(WiredArray(g, w).currents(v), v @ g) < 1e-12


def test_linearity_zero_input_and_ir_drop_lowers_current():
    g, v = realistic(16, 16, RNG_SEED, batch=2)
    w = WireParams(2.0, 2.0, r_driver_ohm=1.0)
    a, b = solve(g, v[0], w), solve(g, v[1], w)
    assert rel(solve(g, 2.0 * v[0] - 3.0 * v[1], w), 2.0 * a - 3.0 * b) < 1e-12
    assert np.all(solve(g, np.zeros(16), w) == 0.0)
    assert np.all(a < v[0] @ g) and np.all(a > 0)


def test_batch_paths_agree():
    """Batch larger than min(n_rows, n_cols) goes through the transfer matrix."""
    g, v = realistic(12, 9, RNG_SEED, batch=20)
    w = WireParams(2.0, 2.0, r_driver_ohm=3.0)
    whole = solve(g, v, w)
    each = np.stack([solve(g, row, w) for row in v])
    assert whole.shape == (20, 9)
    assert rel(whole, each) < 1e-12


def test_temperature_raises_wire_resistance():
    g, v = realistic(32, 32, RNG_SEED)
    w = WireParams(2.0, 2.0)
    cold, hot = solve(g, v, w, temperature_k=300.0), solve(g, v, w, temperature_k=358.0)
    assert np.all(hot < cold)
    assert rel(hot, solve(g, v, w.at_temperature(358.0), temperature_k=358.0)) == 0.0


# --------------------------------------------------------------------------- iterative
def test_iterative_matches_direct_large():
    g, v = realistic(96, 80, RNG_SEED, batch=3)
    for w in (
        WireParams(2.0, 2.0),
        WireParams(2.0, 2.0, r_driver_ohm=20.0, sense="resistor", r_sense_ohm=50.0),
    ):
        assert rel(solve(g, v, w, method="iterative"), solve(g, v, w)) < 1e-9


def test_iterative_raises_instead_of_wrong_answer():
    g, v = realistic(24, 24, RNG_SEED)
    w = WireParams(2.0, 2.0)
    with pytest.raises(ConvergenceError, match="max_iter=2"):
        solve(g, v, w, method="iterative", max_iter=2)
    with pytest.raises(ConvergenceError, match="tol=1e-30"):
        solve(g, v, w, method="iterative", tol=1e-30, max_iter=500)


def test_iterative_is_thread_count_independent():
    numba = pytest.importorskip("numba")
    g, v = realistic(20, 20, RNG_SEED, batch=6)
    w = WireParams(2.0, 2.0)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = solve(g, v, w, method="iterative")
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = solve(g, v, w, method="iterative")
    finally:
        numba.set_num_threads(old)
    assert np.array_equal(one, many)


# --------------------------------------------------------------------------- WiredArray
def test_wired_array_matches_solve_and_keeps_dtype():
    g, v = realistic(20, 30, RNG_SEED, batch=7)
    w = WireParams(2.0, 2.0, r_driver_ohm=2.0)
    arr = WiredArray(g, w, temperature_k=340.0)
    assert rel(arr.currents(v), solve(g, v, w, temperature_k=340.0)) < 1e-12
    assert rel(arr.currents(v[0]), solve(g, v[0], w, temperature_k=340.0)) < 1e-12
    out32 = arr.currents(v.astype(np.float32))
    assert out32.dtype == np.float32
    assert rel(out32, arr.currents(v)) < 1e-5
    with pytest.raises(ValueError, match="read-only"):
        arr.transfer[0, 0] = 1.0


@pytest.mark.parametrize(
    "wires",
    [
        WireParams(2.0, 2.0),
        WireParams(2.0, 3.0, r_driver_ohm=1.0, sense="resistor", r_sense_ohm=5.0),
        WireParams(0.0, 2.0),
        WireParams(2.0, 0.0, sense="resistor", r_sense_ohm=3.0),
    ],
)
@pytest.mark.parametrize("shape", [(16, 12), (12, 16)])
def test_wired_array_update_low_rank_matches_rebuild(wires, shape):
    rng = np.random.default_rng(RNG_SEED)
    g, v = realistic(*shape, RNG_SEED, batch=5)
    arr = WiredArray(g, wires, max_low_rank=20)
    for _ in range(5):
        g = g.copy()
        idx = rng.integers(0, g.size, 2)
        g.flat[idx] = rng.uniform(0.0, 1e-4, 2)
        arr.update(g)
        assert arr.last_update == "low_rank"
        fresh = WiredArray(g, wires)
        assert rel(arr.transfer, fresh.transfer) < 1e-10
    assert rel(arr.currents(v), solve(g, v, wires)) < 1e-10


def test_wired_array_update_falls_back_to_rebuild():
    g, v = realistic(16, 16, RNG_SEED)
    w = WireParams(2.0, 2.0)
    arr = WiredArray(g, w)  # max_low_rank = 16
    g2 = g * 1.01  # every device changed (an outer-product training step)
    arr.update(g2)
    assert arr.last_update == "rebuild"
    assert rel(arr.transfer, WiredArray(g2, w).transfer) < 1e-12
    arr.update(g2)
    assert arr.last_update == "unchanged"


def test_wired_array_temperature_rebuilds():
    g, v = realistic(10, 10, RNG_SEED)
    w = WireParams(2.0, 2.0)
    arr = WiredArray(g, w)
    arr.temperature_k = 358.0
    assert arr.temperature_k == 358.0
    assert rel(arr.currents(v), solve(g, v, w, temperature_k=358.0)) < 1e-12


# --------------------------------------------------------------------------- WireParams
def test_wire_params_temperature_law():
    w = WireParams(2.0, 3.0, r_driver_ohm=4.0, sense="resistor", r_sense_ohm=50.0)
    hot = w.at_temperature(358.0)
    s = 1.0 + 0.0039 * 58.0
    assert hot.r_row_ohm == pytest.approx(2.0 * s, rel=1e-15)
    assert hot.r_col_ohm == pytest.approx(3.0 * s, rel=1e-15)
    assert hot.r_driver_ohm == pytest.approx(4.0 * s, rel=1e-15)
    assert hot.r_sense_ohm == 50.0
    again = w.at_temperature(330.0).at_temperature(358.0)
    assert again.r_row_ohm == pytest.approx(hot.r_row_ohm, rel=1e-14)
    assert w.at_temperature(300.0) is w


@pytest.mark.parametrize(
    "kwargs,exc,msg",
    [
        (dict(r_row_ohm=-1.0, r_col_ohm=1.0), ValueError, "r_row_ohm must be >= 0; got r_row_ohm=-1"),
        (dict(r_row_ohm=1.0, r_col_ohm=float("nan")), ValueError, "r_col_ohm must be finite"),
        (dict(r_row_ohm=1.0, r_col_ohm=1.0, r_driver_ohm=-2.0), ValueError, "r_driver_ohm must be"),
        (dict(r_row_ohm=1.0, r_col_ohm=1.0, sense="tia"), ValueError, "sense must be one of"),
        (dict(r_row_ohm=1.0, r_col_ohm=1.0, sense=3), TypeError, "sense must be a string"),
        (dict(r_row_ohm=1.0, r_col_ohm=1.0, sense="resistor"), ValueError, "r_sense_ohm must be > 0"),
        (dict(r_row_ohm="1", r_col_ohm=1.0), TypeError, "r_row_ohm must be a real number"),
        (dict(r_row_ohm=1.0, r_col_ohm=1.0, t_ref_k=-5.0), ValueError, "t_ref_k must be > 0 K"),
    ],
)
def test_wire_params_errors(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        WireParams(**kwargs)


def test_wire_params_temperature_errors():
    w = WireParams(1.0, 1.0)
    with pytest.raises(ValueError, match="temperature_k must be > 0 K"):
        w.at_temperature(-1.0)
    with pytest.raises(ValueError, match="1 \\+ tcr_per_k"):
        WireParams(1.0, 1.0, tcr_per_k=0.01).at_temperature(1.0)


def test_solve_errors():
    g, v = realistic(4, 3, RNG_SEED)
    w = WireParams(2.0, 2.0)
    with pytest.raises(ValueError, match="v must have shape"):
        solve(g, np.zeros(5), w)
    with pytest.raises(ValueError, match="g must have 2 dimension"):
        solve(np.zeros(4), v, w)
    bad = g.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"g must be finite .* at index \(1, 2\)"):
        solve(bad, v, w)
    bad[1, 2] = -1e-6
    with pytest.raises(ValueError, match=r"g must be >= 0 .*g\[1, 2\]"):
        solve(bad, v, w)
    vb = v.copy()
    vb[0] = np.inf
    with pytest.raises(ValueError, match="v must be finite"):
        solve(g, vb, w)
    with pytest.raises(ValueError, match="method must be one of"):
        solve(g, v, w, method="magic")
    with pytest.raises(ValueError, match="temperature_k must be > 0 K"):
        solve(g, v, w, temperature_k=-3.0)
    with pytest.raises(TypeError, match="wires must be a WireParams"):
        solve(g, v, {"r_row_ohm": 1.0})
    with pytest.raises(ValueError, match="tol must be > 0"):
        solve(g, v, w, method="iterative", tol=0.0)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        solve(g, v, w, method="iterative", max_iter=0)
    with pytest.raises(ValueError, match="at least one row"):
        solve(np.zeros((0, 3)), np.zeros(0), w)
    with pytest.raises(ValueError, match="v must have shape"):
        node_voltages(g, np.zeros((2, 5)), w)


def test_wired_array_errors():
    g, _ = realistic(4, 3, RNG_SEED)
    w = WireParams(2.0, 2.0)
    arr = WiredArray(g, w)
    with pytest.raises(ValueError, match=r"g_new must have shape \(4, 3\)"):
        arr.update(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="g_new must be >= 0"):
        arr.update(-g)
    with pytest.raises(ValueError, match="v must have shape"):
        arr.currents(np.zeros(3))
    with pytest.raises(ValueError, match="temperature_k must be > 0 K"):
        arr.temperature_k = 0.0
    with pytest.raises(TypeError, match="wires must be a WireParams"):
        WiredArray(g, None)
