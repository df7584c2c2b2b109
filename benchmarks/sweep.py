"""Sweep engine on Dask: speedup of 2 workers over 1, and the engine's per-task overhead.

Figures (each a median over ``--repeats``, timed alternately with its baseline):

* ``sweep_2w_vs_1w``: one sweep (``--points`` RRAM dies, hidden ``--hidden``, ``--epochs``
  epochs of in-place Forward-Forward on the digits) on a warm local cluster of 2 worker
  processes, against the same sweep on a warm cluster of 1.  The ratio is time(2) / time(1);
  its inverse is the speedup.  Clusters are started once and warmed (imports, Numba cache,
  data) before timing; every timed sweep writes into a fresh folder (nothing resumes).
* ``sweep_2w_vs_1w_cold``: the same, end to end as the CLI runs it (the LocalCluster is
  started and closed inside each timed call).
* ``dask_per_task``: seconds per trivial task (returns at once) through ``run_sweep`` on the
  warm 1-worker cluster, against ``run_sweep(serial=True)`` (same bookkeeping: one row, one
  fsynced JSON line per point; no Dask).  The difference is Dask's cost per task.
* ``engine_per_task``: ``run_sweep(serial=True)`` per trivial task against a plain Python loop
  calling the task: the cost of the engine's rows, files and thread limits.

Usage: ``python benchmarks/sweep.py [--points 8] [--hidden 64,64] [--epochs 6]
[--trivial 200] [--repeats 3] [--json PATH]``
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _harness import figure, interleaved, parser, report  # noqa: E402

from neuromorph.studies import sweep  # noqa: E402


def trivial(params, *, sweep_seed):
    """A task that does nothing: what is left of its time is the engine's."""
    return {"accuracy": params["seed"] * 1e-3}


def _timed_sweep(spec, **kw) -> float:
    out = tempfile.mkdtemp(prefix="nm-sweep-bench-")
    try:
        t0 = time.perf_counter()
        sweep.run_sweep(spec, out, progress=False, **kw)
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=8)
    p.add_argument("--hidden", default="64,64")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--trivial", type=int, default=200, help="trivial tasks per overhead figure")
    p.set_defaults(repeats=3)
    args = p.parse_args(argv)
    hidden = [int(h) for h in args.hidden.split(",")]
    spec = {
        "sweep": {"name": "bench"},
        "grid": {"seed": list(range(args.points))},
        "fixed": {"hidden": hidden, "epochs": args.epochs},
    }
    warm = {"grid": {"seed": [100, 101]}, "fixed": {"hidden": hidden, "epochs": 1}}
    tiny = {"grid": {"seed": list(range(args.trivial))}}

    c1, c2 = sweep.local_cluster(1), sweep.local_cluster(2)
    try:
        for c in (c1, c2):
            _timed_sweep(warm, scheduler=c.scheduler_address)
        s2, s1 = interleaved(
            lambda: _timed_sweep(spec, scheduler=c2.scheduler_address),
            lambda: _timed_sweep(spec, scheduler=c1.scheduler_address),
            repeats=args.repeats,
            warmup=0,
        )
        td, ts = interleaved(
            lambda: _timed_sweep(tiny, scheduler=c1.scheduler_address, task=trivial),
            lambda: _timed_sweep(tiny, serial=True, task=trivial),
            repeats=args.repeats,
            warmup=1,
        )
    finally:
        c2.close()
        c1.close()
    cold2, cold1 = interleaved(
        lambda: _timed_sweep(spec, workers=2),
        lambda: _timed_sweep(spec, workers=1),
        repeats=max(1, args.repeats - 1),
        warmup=0,
    )

    points = sweep.SweepSpec.from_dict(tiny).points()

    def plain_loop():
        for pt in points:
            trivial(dict(pt.params), sweep_seed=0)

    te, tp = interleaved(
        lambda: _timed_sweep(tiny, serial=True, task=trivial), plain_loop, repeats=args.repeats, warmup=1
    )
    n = args.trivial
    figures = {
        "sweep_2w_vs_1w": figure(s2, s1, f"same sweep, warm 1-worker cluster ({args.points} points)"),
        "sweep_2w_vs_1w_cold": figure(cold2, cold1, "same sweep incl. cluster start, 1 worker"),
        "dask_per_task": figure(td / n, ts / n, "run_sweep(serial=True) per trivial task"),
        "engine_per_task": figure(te / n, tp / n, "plain loop calling the task"),
    }
    notes = [
        f"speedup of 2 workers over 1: {s1 / s2:.2f}x warm, {cold1 / cold2:.2f}x with cluster "
        f"start ({os.cpu_count()} CPUs visible; other jobs may share them)",
        f"one point ({hidden}, {args.epochs} epochs) takes about {s1 / args.points:.2f} s on one worker",
        f"Dask adds {(td - ts) / n * 1e3:.2f} ms per task over the serial engine; the serial "
        f"engine adds {(te - tp) / n * 1e3:.2f} ms per task over a plain loop (mostly the fsync)",
    ]
    report(
        figures,
        title="sweep engine on Dask (ratio = seconds / baseline seconds)",
        notes=notes,
        json_path=args.json,
    )
    return figures


if __name__ == "__main__":
    main()
