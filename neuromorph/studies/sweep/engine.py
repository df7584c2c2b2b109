"""The sweep engine: run points serially or on Dask, append, resume (layer 4, studies).

:func:`run_sweep` runs every point of a spec as an independent task and collects one row per
point into a tidy table.

* **Reproducible however scheduled.**  Each task (:func:`execute`) limits BLAS and Numba to
  one thread, so a point gives the same bits in a worker, in this process, on one cluster or
  another.  Tasks are module-level functions that Dask workers import by name.
* **One failure, one row.**  A point whose parameters are invalid, or whose task raises, or
  whose worker dies, is recorded with ``status = "error"``, ``error_type`` and
  ``error_message``; the other points finish.
* **Incremental and resumable.**  Every finished point is appended as one JSON line to
  ``OUT/results.jsonl`` (flushed and fsynced) the moment it completes.  Rerunning the same
  spec into the same folder skips every key already there (failed ones too, unless
  ``retry_failed``), so an interrupted sweep resumes without recomputing finished points.

Imports Dask, tqdm, threadpoolctl and Numba (deferred), the shared leaves and the sweep's own
modules; never ``faces`` (the figures of a sweep are drawn by
:func:`neuromorph.faces.reports.write_sweep_plots`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from neuromorph import _validate as check
from neuromorph.studies.sweep.results import (
    RESULTS_CSV,
    RESULTS_JSONL,
    SweepResult,
    cut_torn_tail,
    jsonable,
    read_results,
    row_head,
    write_csv,
)
from neuromorph.studies.sweep.spec import Point, SweepSpec, as_spec
from neuromorph.studies.sweep.task import run_point

if TYPE_CHECKING:
    from dask.distributed import LocalCluster

#: A sweep task: ``task(params: dict, *, sweep_seed: int) -> dict`` of metrics.
Task = Callable[..., dict]


def local_cluster(n_workers: int) -> LocalCluster:
    """A Dask LocalCluster on this machine: processes, one thread each, no dashboard, loopback.

    Everything listens on 127.0.0.1.  The scheduler's small HTTP server (health and metrics
    routes, which Dask starts even without a dashboard) takes a free port instead of 8787,
    so two sweeps at once never collide there.  Dask's own logs are kept to errors.
    """
    from dask.distributed import LocalCluster

    n_workers = check.integer("workers", n_workers, minimum=1)
    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
    )


def run_sweep(
    spec: SweepSpec | Mapping | str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    serial: bool = False,
    retry_failed: bool = False,
    task: Task | None = None,
    progress: bool = True,
) -> SweepResult:
    """Run every point of ``spec`` not yet in ``out_dir/results.jsonl``; write the table.

    Parameters
    ----------
    spec : SweepSpec, dict or path to a TOML file
    out_dir : path
        Created if missing.  ``results.jsonl`` there is appended to (one line per finished
        point) and read back to resume; ``results.csv`` is rewritten at the end.
    scheduler : str, optional
        Address of a running Dask scheduler (``"tcp://host:8786"``); used unchanged and
        not closed.  Its workers must be able to import neuromorph (and ``task``).
        Default: a :func:`local_cluster` of ``workers`` processes, closed at
        the end.
    workers : int
        Worker processes of the local cluster.
    serial : bool
        Run the points one after another in this process, without Dask (debugging and
        baselines); the rows are the same bits.
    retry_failed : bool
        Recompute points whose recorded row is an error.
    task : callable, optional
        ``task(params: dict, *, sweep_seed: int) -> dict`` of metrics; default
        :func:`~neuromorph.studies.sweep.task.run_point`.  Must be importable by the workers
        (a module-level function).
    progress : bool
        A tqdm bar over finished points.

    Returns
    -------
    SweepResult
        The rows in spec order and the paths of ``results.jsonl`` and ``results.csv``.  The
        summary figures are drawn by the faces (``neuromorph sweep`` writes them).
    """
    spec = as_spec(spec)
    task = run_point if task is None else task
    if not callable(task):
        raise TypeError(f"task must be callable; got {type(task).__name__}.")
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address string or None; got {scheduler!r}.")
    if not serial and scheduler is None:
        workers = check.integer("workers", workers, minimum=1)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    jsonl = os.path.join(out_dir, RESULTS_JSONL)
    cut_torn_tail(jsonl)
    points = spec.points()
    done = read_results(jsonl)
    todo = [
        pt for pt in points if pt.key not in done or (retry_failed and done[pt.key].get("status") != "ok")
    ]
    fresh = _run_points(
        task,
        todo,
        spec,
        jsonl,
        resumed=len(points) - len(todo),
        serial=serial,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
    )
    rows = []
    for pt in points:
        row = dict(fresh.get(pt.key) or done[pt.key])
        row["index"] = pt.index
        rows.append(row)
    paths = {"jsonl": jsonl, "csv": write_csv(rows, os.path.join(out_dir, RESULTS_CSV))}
    return SweepResult(rows=rows, computed=len(fresh), resumed=len(points) - len(todo), paths=paths)


def _run_points(
    task: Task,
    todo: list[Point],
    spec: SweepSpec,
    jsonl: str,
    *,
    resumed: int,
    serial: bool,
    scheduler: str | None,
    workers: int,
    progress: bool,
) -> dict[str, dict]:
    """Run ``todo``, appending each finished row to ``jsonl`` (fsynced); the new rows by key."""
    from tqdm.auto import tqdm

    fresh: dict[str, dict] = {}
    total = resumed + len(todo)
    bar = tqdm(total=total, initial=resumed, desc=f"sweep {spec.name}", unit="point", disable=not progress)
    try:
        with open(jsonl, "a", encoding="utf-8") as fh:

            def record(row: dict) -> None:
                fh.write(json.dumps(row, allow_nan=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
                fresh[row["key"]] = row
                bar.update(1)

            if serial or not todo:
                for pt in todo:
                    record(execute(task, pt, spec.seed))
            else:
                _run_dask(task, todo, spec.seed, record, scheduler=scheduler, workers=workers)
    finally:
        bar.close()
    return fresh


def _run_dask(
    task: Task,
    todo: list[Point],
    sweep_seed: int,
    record: Callable[[dict], None],
    *,
    scheduler: str | None,
    workers: int,
) -> None:
    """Submit every point; record each as it completes (errors of the engine as error rows)."""
    from dask.distributed import Client, as_completed

    cluster = None
    if scheduler is None:
        cluster = local_cluster(workers)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    futures: list = []
    try:
        run = f"{os.getpid()}-{time.time_ns()}"
        for pt in todo:
            futures.append(
                client.submit(
                    execute, task, pt, sweep_seed, pure=False, key=f"neuromorph-sweep-{pt.key}-{run}"
                )
            )
        by_key = dict(zip((f.key for f in futures), todo, strict=True))
        for fut in as_completed(futures):
            pt = by_key[fut.key]
            try:
                row = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails its point only
                row = row_head(pt)
                row.update(status="error", error_type=type(exc).__name__, error_message=str(exc))
            record(row)
            fut.release()
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class _OneThread:
    """Limit BLAS (threadpoolctl) and Numba to one thread inside a task, then restore."""

    def __enter__(self):
        import numba
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=1)
        self._numba = numba.get_num_threads()
        numba.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        import numba

        numba.set_num_threads(self._numba)
        self._limits.restore_original_limits()
        return False


def execute(task: Task, point: Point, sweep_seed: int) -> dict[str, Any]:
    """Run ``task(point.params, sweep_seed=...)`` and return the point's full row.

    Never raises for a failure of the task: the row gets ``status="error"`` with the
    exception's type and message.  This is what each Dask task runs.
    """
    row = row_head(point)
    t0 = time.perf_counter()
    try:
        with _OneThread():
            metrics = task(dict(point.params), sweep_seed=sweep_seed)
        if not isinstance(metrics, Mapping):
            raise TypeError(f"task result must be a dict; got {type(metrics).__name__}.")
        row.update({k: jsonable(v) for k, v in metrics.items() if k not in row})
    except Exception as exc:  # noqa: BLE001 - one point's failure is data, not a crash
        row.update(status="error", error_type=type(exc).__name__, error_message=str(exc))
    row["wall_seconds"] = time.perf_counter() - t0
    return row
