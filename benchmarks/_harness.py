"""Shared timing harness for the benchmark scripts.

Every figure is a median over repeats, measured beside its baseline in the same run, and
reported as a ratio so it survives a noisy machine.  ``--json PATH`` writes
``{"<figure>": {"seconds": s, "baseline_seconds": b, "ratio": r}}``.

Benchmarks run under OpenBLAS's own kernel choice: a shell that sets ``OPENBLAS_CORETYPE`` or
``OPENBLAS_L2_SIZE`` (this machine's sandbox may) should run them as
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/<name>.py``; tests and CI
never unset them.  :func:`blas_note` says which kernel ran.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], *, repeats: int, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved(
    fn: Callable[[], object], baseline: Callable[[], object], *, repeats: int, warmup: int = 2
) -> tuple[float, float]:
    """Medians of ``fn`` and ``baseline``, timed alternately so drifts in load hit both."""
    for _ in range(warmup):
        fn()
        baseline()
    a, b = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        a.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        baseline()
        b.append(time.perf_counter() - t0)
    return statistics.median(a), statistics.median(b)


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--repeats", type=int, default=15, help="timed repeats per figure")
    return p


def report(figures: dict[str, dict], *, title: str, notes: list[str], json_path: str | None):
    """Print a readable table and optionally write the JSON file atomically."""
    print(title)
    print(f"{'figure':<28}{'seconds':>12}{'baseline s':>12}{'ratio':>9}  baseline")
    for name, f in figures.items():
        print(
            f"{name:<28}{f['seconds']:>12.3e}{f['baseline_seconds']:>12.3e}"
            f"{f['ratio']:>9.2f}  {f.get('baseline', '')}"
        )
    for note in notes:
        print(f"note: {note}")
    if json_path:
        slim = {
            k: {key: v[key] for key in ("seconds", "baseline_seconds", "ratio")} for k, v in figures.items()
        }
        directory = os.path.dirname(os.path.abspath(json_path))
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(slim, fh, indent=2)
        os.replace(tmp, json_path)


def blas_note() -> str:
    """The BLAS in use, as threadpoolctl reports it: internal API, version, kernel
    architecture and threads (and whether the OpenBLAS environment overrides are set)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover
        return "BLAS: unknown (threadpoolctl missing)"
    parts = [
        f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} {i.get('num_threads')} threads"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    overrides = [k for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ]
    tail = f"; env overrides set: {', '.join(overrides)}" if overrides else "; native OpenBLAS settings"
    return "BLAS: " + (", ".join(parts) or "none found") + tail


def memory_latency_ns(mb: int = 16, steps: int = 100_000) -> float:
    """Nanoseconds per dependent random load over ``mb`` MB (a pointer chase; median of 3).

    A reading of the machine's state beside its figures: on this VM it was ~25 ns in quiet
    minutes and 70-140 ns in others (the host's shared cache busy).  Earlier runs saw the read
    and update ratios rise by up to 1.4x in such minutes; the larger swings turned out to
    follow :func:`cross_core_write_ratio` (the read at 3.5x with 82-136 ns here, 4.9x at 48 ns
    with the vCPUs far apart).
    """
    import numpy as np

    chase = _chase_kernel()
    n = mb * (1 << 20) // 8
    order = np.random.default_rng(0).permutation(n)
    nxt = np.empty(n, dtype=np.int64)
    nxt[order] = np.roll(order, -1)  # one cycle through every slot
    chase(nxt, 10)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        chase(nxt, steps)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / steps * 1e9


def cross_core_write_ratio(repeats: int = 41) -> float:
    """How many times longer this thread takes to overwrite 1 MB that OpenBLAS's other thread
    has just read (a float32 ``a @ w`` reads half of ``a``'s rows there) than 1 MB that only
    this thread touches; median over ``repeats`` pairs.

    The read's DAC output and the update's float32 inputs are such buffers: this thread writes
    them, then the BLAS product reads them on both cores, so every write first invalidates the
    other core's copy.  On this VM the ratio was 1.4-2.4 while a core-to-core round trip took
    50-95 ns (the two vCPUs close), and 6.7-11.9 while it took ~340-390 ns (the host had put
    them far apart, for minutes at a time): then the read's DAC pass took 0.6 ms instead of
    0.13 ms and ``read_f32`` rose from ~3.5x to 4.5-4.9x (the update's float32 cast took 0.53
    ms instead of 0.1 in one run of that kind, before this probe existed).
    """
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.uniform(-1.0, 1.0, (1024, 256)).astype(np.float32)
    w = rng.uniform(-1.0, 1.0, (256, 256)).astype(np.float32)
    own = np.zeros_like(a)
    shared, private = [], []
    for _ in range(repeats):
        a @ w
        t0 = time.perf_counter()
        a.fill(1.0)
        shared.append(time.perf_counter() - t0)
        a @ w
        t0 = time.perf_counter()
        own.fill(1.0)
        private.append(time.perf_counter() - t0)
    return statistics.median(shared) / statistics.median(private)


@functools.cache
def _chase_kernel():
    """The pointer chase, compiled once per process (Numba imported only when a script asks)."""
    from numba import njit

    @njit
    def chase(nxt, steps):
        j = 0
        for _ in range(steps):
            j = nxt[j]
        return j

    return chase


def matmul_baselines(x, w) -> dict[str, Callable[[], object]]:
    """Plain ``x @ W`` in float64 and float32, same shapes: ``{"f64": fn, "f32": fn}``."""
    import numpy as np

    x64, w64 = np.asarray(x, np.float64), np.asarray(w, np.float64)
    x32, w32 = x64.astype(np.float32), w64.astype(np.float32)
    return {"f64": lambda: x64 @ w64, "f32": lambda: x32 @ w32}


def figure(seconds: float, baseline_seconds: float, baseline: str) -> dict:
    return {
        "seconds": seconds,
        "baseline_seconds": baseline_seconds,
        "ratio": seconds / baseline_seconds,
        "baseline": baseline,
    }
