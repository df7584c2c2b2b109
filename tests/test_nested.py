"""Tests of the nested-dissection solver behind neuromorph.hardware.wires.solve' exact solutions.

References are independent of neuromorph.hardware.wires._nested and ._multifrontal: SciPy's
sparse LU on the nodal system that ``nodal_system`` assembles, and a long-double refinement of
that same system.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import neuromorph as nm
from neuromorph.hardware.wires import (
    WiredArray,
    WireParams,
    _multifrontal,
    _nested,
    nodal_system,
    node_voltages,
    solve,
)

SEED = 20240611

LAYOUTS = {
    "virtual_ground": WireParams(2.0, 2.0),
    "driver": WireParams(2.0, 3.0, r_driver_ohm=5.0),
    "sense_resistor": WireParams(1.5, 2.5, sense="resistor", r_sense_ohm=200.0),
    "driver_and_resistor": WireParams(40.0, 10.0, r_driver_ohm=1.0, sense="resistor", r_sense_ohm=7.0),
}
SHAPES = [(1, 1), (1, 9), (9, 1), (2, 7), (7, 2), (16, 12), (12, 31), (45, 38)]


def realistic(n_rows, n_cols, seed, batch=None):
    rng = np.random.default_rng(seed)
    g = rng.uniform(1e-6, 1e-4, (n_rows, n_cols))
    return g, rng.uniform(0.0, 0.2, (n_rows,) if batch is None else (batch, n_rows))


def rel(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b))


def spsolve_currents(g, v, w, temperature_k=300.0):
    """Column currents from SciPy's spsolve on the assembled nodal system."""
    s = nodal_system(g, w, temperature_k=temperature_k)
    vb = np.atleast_2d(v)
    if s["A"].shape[0] == 0:
        return (vb @ s["D"].T).reshape(np.shape(v)[:-1] + (g.shape[1],))
    x = spla.spsolve(s["A"].tocsc(), s["B"] @ vb.T).reshape(s["A"].shape[0], -1)
    out = (s["C"] @ x).T + vb @ s["D"].T
    return out.reshape(np.shape(v)[:-1] + (g.shape[1],))


def spsolve_transfer(g, w, temperature_k=300.0):
    return spsolve_currents(g, np.eye(g.shape[0]), w, temperature_k)


# --------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", list(LAYOUTS))
def test_solve_matches_spsolve(shape, name):
    w = LAYOUTS[name]
    g, v = realistic(*shape, SEED, batch=3)
    want = spsolve_currents(g, v, w, temperature_k=320.0)
    assert rel(solve(g, v, w, temperature_k=320.0), want) < 1e-12
    assert rel(solve(g, v[1], w, temperature_k=320.0), want[1]) < 1e-12
    assert (
        rel(WiredArray(g, w, temperature_k=320.0).transfer, spsolve_transfer(g, w, temperature_k=320.0))
        < 1e-12
    )


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_node_voltages_match_spsolve(name):
    w = LAYOUTS[name]
    g, v = realistic(13, 17, SEED, batch=2)
    s = nodal_system(g, w)
    x = spla.spsolve(s["A"].tocsc(), s["B"] @ v.T)
    v_row, v_col = node_voltages(g, v, w)
    for k in range(2):
        known_r = s["row_index"] >= 0
        known_c = s["col_index"] >= 0
        assert rel(v_row[k][known_r], x[s["row_index"][known_r], k]) < 1e-12
        assert rel(v_col[k][known_c], x[s["col_index"][known_c], k]) < 1e-12


def _long_double_transfer(g, w):
    """Transfer matrix of the nodal system assembled and refined in long double."""
    s = nodal_system(g, w)
    n = s["A"].shape[0]
    N, M = g.shape
    ld = np.longdouble
    A = np.zeros((n, n), dtype=ld)
    B = np.zeros((n, N), dtype=ld)
    C = np.zeros((M, n), dtype=ld)
    D = np.zeros((M, N), dtype=ld)
    ri, ci = s["row_index"], s["col_index"]

    def conductor(a, b, y, src=-1):
        # a, b: unknown indices or -1 (pinned: at input src, or at ground if src < 0)
        if a >= 0:
            A[a, a] += y
        if b >= 0:
            A[b, b] += y
        if a >= 0 and b >= 0:
            A[a, b] -= y
            A[b, a] -= y
        elif b >= 0 and src >= 0:
            B[b, src] += y
        elif a >= 0 and src >= 0:
            B[a, src] += y

    one = ld(1)
    for i in range(N):
        for j in range(M):
            conductor(ri[i, j], ci[i, j], ld(g[i, j]), src=i if ri[i, j] < 0 else -1)
            if ri[i, j] >= 0:
                C[j, ri[i, j]] += ld(g[i, j])
            else:
                D[j, i] += ld(g[i, j])
            if ci[i, j] >= 0:
                C[j, ci[i, j]] -= ld(g[i, j])
            if j + 1 < M:
                conductor(ri[i, j], ri[i, j + 1], one / ld(w.r_row_ohm), src=i if ri[i, j] < 0 else -1)
            if i + 1 < N:
                conductor(ci[i, j], ci[i + 1, j], one / ld(w.r_col_ohm))
        if w.r_driver_ohm > 0:
            conductor(-1, ri[i, 0], one / ld(w.r_driver_ohm), src=i)
    if w.sense == "resistor":
        for j in range(M):
            conductor(-1, ci[N - 1, j], one / ld(w.r_sense_ohm))
    A64 = A.astype(np.float64)
    Z = np.linalg.solve(A64, B.astype(np.float64)).astype(ld)
    for _ in range(3):
        Z += np.linalg.solve(A64, (B - A @ Z).astype(np.float64)).astype(ld)
    return np.asarray((C @ Z + D).T, dtype=np.float64)


@pytest.mark.skipif(np.finfo(np.longdouble).eps > 1e-18, reason="long double is float64 here")
@pytest.mark.parametrize("name", list(LAYOUTS))
def test_transfer_is_accurate_entrywise(name):
    """Pivots from row sums: every entry of T within a few ulps of a long-double solve."""
    w = LAYOUTS[name]
    g, _ = realistic(14, 11, SEED)
    want = _long_double_transfer(g, w)
    got = WiredArray(g, w).transfer
    assert np.max(np.abs(got - want) / np.abs(want)) < 2e-14


def test_structured_and_fallback_paths_agree_near_zero_resistance():
    """A tiny wire resistance (nested path) approaches the zero-resistance limit (LU path)."""
    g, v = realistic(9, 8, SEED, batch=2)
    zero = solve(g, v, WireParams(0.0, 2.0))
    tiny = solve(g, v, WireParams(1e-7, 2.0))
    assert rel(tiny, zero) < 1e-6


def test_larger_array_matches_spsolve():
    g, v = realistic(96, 160, SEED, batch=2)
    for w in (LAYOUTS["virtual_ground"], LAYOUTS["driver_and_resistor"]):
        assert rel(solve(g, v, w), spsolve_currents(g, v, w)) < 1e-12


# --------------------------------------------------------------------------- updates
@pytest.mark.parametrize("name", list(LAYOUTS))
def test_low_rank_updates_stay_exact(name):
    """Accumulating sparse updates (Woodbury on the port matrix) equal a fresh solve."""
    w = LAYOUTS[name]
    rng = np.random.default_rng(SEED)
    g, v = realistic(24, 40, SEED, batch=4)
    arr = WiredArray(g, w, max_low_rank=40)
    g_now, kept = g.copy(), True
    seen = []
    for step in range(7):
        g_prev = g_now
        g_now = g_now.copy()
        idx = rng.integers(0, g.size, 5)
        g_now.flat[idx] = rng.uniform(0.0, 1e-4, idx.size)
        if step == 3:
            g_now[0, :] *= 1.5  # a row on the driver edge
            g_now[-1, :] *= 0.5  # a row on the sense edge
        arr.update(g_now)
        if kept and np.count_nonzero(g_now != g) <= 40:
            want = "low_rank"
        else:  # a fresh elimination, kept for later low-rank steps only after a small step
            want, g, kept = "rebuild", g_now, np.count_nonzero(g_now != g_prev) <= 40
        assert arr.last_update == want, f"step {step}"
        seen.append(want)
        assert rel(arr.transfer, spsolve_transfer(g_now, w)) < 1e-12, f"step {step}"
        assert rel(arr.currents(v), spsolve_currents(g_now, v, w)) < 1e-12
    assert seen.count("low_rank") >= 3 and seen.count("rebuild") >= 2
    arr.update(g)
    assert rel(arr.transfer, spsolve_transfer(g, w)) < 1e-12


@pytest.mark.parametrize("fraction", [0.002, 0.3, 1.0])
def test_in_place_training_keeps_wired_reads_exact(fraction):
    """A crossbar trained in place with wires reads the exact nodal solution every step."""
    wires = WireParams(r_row_ohm=2.0, r_col_ohm=2.0)
    device = nm.RRAM_HFO2.with_(noise=nm.hardware.devices.NoiseParams(program_noise_rel=0.01))
    xbar = nm.Crossbar.fabricate(
        24, 16, rng=np.random.default_rng(SEED), device=device, periphery=nm.IDEAL_PERIPHERY, wires=wires
    )
    xbar.program(np.random.default_rng(1).uniform(-0.5, 0.5, (24, 16)))
    x = np.random.default_rng(2).uniform(-1, 1, (5, 24))
    drng = np.random.default_rng(3)
    how = set()
    for step in range(4):
        mask = drng.random((24, 16)) < fraction
        xbar.apply_delta(np.where(mask, 0.05, -0.02 * mask))
        y = xbar.read(x)
        v = xbar.periphery.dac.convert(x)
        cur = spsolve_currents(
            xbar.tile_conductances(), v, wires, temperature_k=xbar.environment.temperature_k
        )
        want = (cur[:, 0::2] - cur[:, 1::2]) / (xbar.periphery.dac.v_max_v * xbar.g_unit)
        assert rel(y, want) < 1e-12, f"step {step}, fraction {fraction}"
        how |= {wa.last_update for wa in xbar._wired_tiles.values()}
    assert ("low_rank" in how) if fraction < 0.01 else (how == {"rebuild"})


# --------------------------------------------------------------------------- determinism
def test_same_bits_on_one_and_two_threads():
    numba = pytest.importorskip("numba")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    g, v = realistic(70, 90, SEED, batch=3)
    w = LAYOUTS["driver_and_resistor"]

    def run():
        arr = WiredArray(g, w)
        g2 = g.copy()
        g2[3, 4] *= 2.0
        arr.update(g2)
        return solve(g, v, w), node_voltages(g, v, w)[1], arr.transfer.copy()

    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        with threadpoolctl.threadpool_limits(1):
            one = run()
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        with threadpoolctl.threadpool_limits(2):
            two = run()
    finally:
        numba.set_num_threads(old)
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(a, b)


# --------------------------------------------------------------------------- symbolic
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("driver", [False, True])
@pytest.mark.parametrize("resistor", [False, True])
def test_symbolic_orders_every_node_once_and_ports_last(shape, driver, resistor):
    sym = _nested.symbolic(*shape, driver, resistor)
    n_nodes = 2 * shape[0] * shape[1] + (shape[0] if driver else 0) + (shape[1] if resistor else 0)
    assert np.array_equal(np.sort(sym.order), np.arange(n_nodes))
    assert sym.n_int + sym.n_ports == n_nodes
    assert np.all(sym.struct >= np.repeat(sym.piv0 + sym.s, sym.b))  # boundaries come later
    assert np.all(sym.parent > np.arange(sym.n_front))  # postorder


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_reused_leaves_give_the_same_bits(name):
    """Taking over an earlier elimination (unchanged leaves reused) changes no bit."""
    w = LAYOUTS[name]
    sym = _nested.symbolic(30, 41, w.r_driver_ohm > 0, w.sense == "resistor")
    rng = np.random.default_rng(SEED)
    g, _ = realistic(30, 41, SEED)

    def y_of(g_):
        return _multifrontal.branch_conductances(
            g_,
            1 / w.r_row_ohm,
            1 / w.r_col_ohm,
            1 / w.r_driver_ohm if w.r_driver_ohm else 0.0,
            1 / w.r_sense_ohm if w.sense == "resistor" else 0.0,
        )

    num = _multifrontal.factorize(sym, y_of(g), keep=True)
    for frac in (0.0, 0.01, 0.2):
        g = g.copy()
        mask = rng.random(g.shape) < frac
        g[mask] = rng.uniform(1e-6, 1e-4, mask.sum())
        fresh = _multifrontal.factorize(sym, y_of(g), keep=True)
        num = _multifrontal.factorize(sym, y_of(g), keep=True, reuse=num)
        assert np.array_equal(np.triu(num.Y), np.triu(fresh.Y))
        assert np.array_equal(num.fac, fresh.fac)
    # wire conductances changed (temperature): nothing may be reused
    y_hot = y_of(g)
    y_hot[-_nested.N_WIRE_BRANCHES : -_nested.N_WIRE_BRANCHES + 2] *= 0.9  # row and column wires
    assert np.array_equal(
        np.triu(_multifrontal.factorize(sym, y_hot, keep=False, reuse=num).Y),
        np.triu(_multifrontal.factorize(sym, y_hot, keep=False).Y),
    )


def test_kept_rows_are_required_for_node_values_and_low_rank():
    sym = _nested.symbolic(6, 5, False, False)
    g, _ = realistic(6, 5, SEED)
    num = _multifrontal.factorize(sym, _multifrontal.branch_conductances(g, 0.5, 0.5, 0.0, 0.0), keep=False)
    with pytest.raises(ValueError, match="num must be a factorisation made with keep=True"):
        _multifrontal.node_values(num, np.zeros((1, 6)))
    with pytest.raises(ValueError, match="num must be a factorisation made with keep=True"):
        _multifrontal.LowRank(num)
