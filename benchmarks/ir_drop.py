"""IR-drop solver benchmarks: ratios against baselines measured in the same run.

Usage::

    python benchmarks/ir_drop.py [--json PATH] [--ngspice] [--repeats K]

Figures (seconds are medians over repeats; Numba compilation is excluded by a warm-up):

* ``exact_128``     our exact direct solve, 128x128 with 2 ohm wires, one input vector
                    (validation, nested-dissection elimination to the port matrix, one
                    product), vs ``scipy.sparse.linalg.spsolve`` on the same (pre-assembled)
                    system.
* ``iterative_128`` our Numba line-preconditioned CG (tol 1e-12, checked) vs the same spsolve.
* ``ngspice_128``   (``--ngspice`` only, one run, ~2 min) ngspice on the same array vs our
                    exact solve.
* ``batch_256``     1024 inputs through a 256x256 wired array with ``WiredArray.currents`` vs
                    a plain ``x @ W`` of the same shape and dtype (float64).
* ``batch_256_f32`` the same read against a float32 ``x @ W`` of the same shape.
* ``build_256``     building ``WiredArray`` (its exact transfer matrix, keeping the
                    elimination for low-rank updates) vs one spsolve of the 256x256 system.
* ``update_step``   ``WiredArray.update`` after one device changed vs a fresh build.
* ``train_step_sparse_128`` one in-place training step on a 128x128 RRAM crossbar with wires
                    (a batch-50 read, then a pulse update touching 0.1 % of the pairs, then
                    the next read) vs the same step without wires.  The physical tile is
                    128 x 256; its transfer follows by low-rank updates of the port matrix
                    until more than 128 devices differ from the last elimination.
* ``train_step_dense_128``  the same with an update touching ~6 % of the pairs (what a
                    Forward-Forward step on the digits chip touches): every step eliminates
                    the tile afresh (ordering and structure cached).

Timings are ratios within one run; on a shared 2-core machine repeat a run that looks noisy
(the elimination uses both cores when they are free).

``ratio`` is ``seconds / baseline_seconds``: below 1 means faster than the baseline.  The
BLAS kernel in use is printed.  Run under OpenBLAS's native settings:
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/ir_drop.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse.linalg as spla

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import blas_note, median_seconds  # noqa: E402

from neuromorph.hardware.wires import WiredArray, WireParams, nodal_system, solve  # noqa: E402

WIRES = WireParams(r_row_ohm=2.0, r_col_ohm=2.0)


def median_time(fn, repeats: int) -> float:
    return median_seconds(fn, repeats=repeats, warmup=0)


def realistic(n, seed, batch=None):
    rng = np.random.default_rng(seed)
    g = rng.uniform(1e-6, 1e-4, (n, n))
    v = rng.uniform(0.0, 0.2, (n,) if batch is None else (batch, n))
    return g, v


def spsolve_baseline(g, v):
    sysm = nodal_system(g, WIRES)
    A = sysm["A"].tocsc()
    b = sysm["B"] @ v
    return lambda: spla.spsolve(A, b)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None, help="write figures to this JSON file")
    ap.add_argument("--ngspice", action="store_true", help="also time ngspice at 128x128")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    k = args.repeats
    out: dict[str, dict[str, float]] = {}

    def record(name, seconds, baseline):
        out[name] = {"seconds": seconds, "baseline_seconds": baseline, "ratio": seconds / baseline}

    # warm-up: compile the Numba kernels
    g, v = realistic(8, 0)
    solve(g, v, WIRES, method="iterative")

    g, v = realistic(128, 1)
    base = median_time(spsolve_baseline(g, v), k)
    record("exact_128", median_time(lambda: solve(g, v, WIRES), k), base)
    record("iterative_128", median_time(lambda: solve(g, v, WIRES, method="iterative"), k), base)
    err = np.max(np.abs(solve(g, v, WIRES, method="iterative") - solve(g, v, WIRES)))
    print(
        f"iterative vs exact at 128x128: max |dI| / max |I| = {err / np.max(np.abs(solve(g, v, WIRES))):.2e}"
    )

    if args.ngspice:
        from neuromorph.hardware.spice import simulate

        t0 = time.perf_counter()
        ng = simulate(g, v, WIRES)
        t_ng = time.perf_counter() - t0
        ours = solve(g, v, WIRES)
        record("ngspice_128", t_ng, median_time(lambda: solve(g, v, WIRES), k))
        print(
            f"ngspice vs exact at 128x128: max |dI| / max |I| = "
            f"{np.max(np.abs(ng - ours)) / np.max(np.abs(ours)):.2e}"
        )

    g, x = realistic(256, 2, batch=1024)
    t0 = time.perf_counter()
    arr = WiredArray(g, WIRES)
    t_build_first = time.perf_counter() - t0
    W = np.random.default_rng(3).uniform(1e-6, 1e-4, (256, 256))
    t_read = median_time(lambda: arr.currents(x), k)
    record("batch_256", t_read, median_time(lambda: x @ W, k))
    x32, w32 = x.astype(np.float32), W.astype(np.float32)
    record("batch_256_f32", t_read, median_time(lambda: x32 @ w32, k))
    kb = max(1, k // 3)
    t_build = min(t_build_first, median_time(lambda: WiredArray(g, WIRES), kb))
    record("build_256", t_build, median_time(spsolve_baseline(g, x[0]), kb))

    rng = np.random.default_rng(4)

    def one_update():
        g2 = arr.g.copy()
        idx = rng.integers(0, g2.size)
        g2.flat[idx] = rng.uniform(1e-6, 1e-4)
        arr.update(g2)
        arr.update(g)  # back to the factorised state (also a low-rank step)

    t_upd = median_time(one_update, k) / 2.0
    record("update_step", t_upd, t_build)

    from neuromorph import RRAM_HFO2, Crossbar

    for name, fraction in (("train_step_sparse_128", 0.001), ("train_step_dense_128", 0.06)):
        times = {}
        for wired in (True, False):
            xbar = Crossbar.fabricate(
                128, 128, rng=np.random.default_rng(5), device=RRAM_HFO2, wires=WIRES if wired else None
            )
            xbar.program(np.random.default_rng(6).uniform(-0.5, 0.5, (128, 128)))
            xs = np.random.default_rng(7).uniform(-1, 1, (50, 128))
            drng = np.random.default_rng(8)

            def step(xbar=xbar, xs=xs, drng=drng, fraction=fraction):
                xbar.read(xs)
                mask = drng.random((128, 128)) < fraction
                xbar.apply_delta(np.where(mask, 0.05, 0.0))
                xbar.read(xs)

            step()
            times[wired] = median_time(step, max(3, k // 2))
        record(name, times[True], times[False])

    print(f"{'figure':<15}{'seconds':>12}{'baseline':>12}{'ratio':>10}")
    for name, row in out.items():
        print(f"{name:<15}{row['seconds']:>12.4g}{row['baseline_seconds']:>12.4g}{row['ratio']:>10.3g}")
    print(blas_note())
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
