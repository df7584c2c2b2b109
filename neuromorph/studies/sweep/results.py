"""Sweep results: rows, the tidy table, and the JSONL / CSV files (layer 4, studies).

A row is one point: :data:`BASE_COLUMNS` (index, key, status, error, parameters), then the
task's metrics (:data:`METRIC_COLUMNS` for the default task).  Every finished point is one
JSON line of ``results.jsonl`` (read back by :func:`read_results` to resume; a final line torn
by a kill is ignored, and cut by :func:`cut_torn_tail` before appending); ``results.csv`` is
written atomically with :mod:`csv` (lists as JSON text).  Results are JSON only, never pickles.

Imports the standard library, the shared leaves and :mod:`neuromorph.studies.sweep.spec`.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuromorph._io import atomic_open
from neuromorph.studies.sweep.spec import PARAMETERS, Point

#: Columns every row has, in table order; a task's own metrics follow.
BASE_COLUMNS = ("index", "key", "status", "error_type", "error_message", *PARAMETERS)
METRIC_COLUMNS = (
    "accuracy_trained",
    "accuracy_trained_std",
    "accuracy",
    "accuracy_std",
    "accuracy_drop_points",
    "train_pulses",
    "train_energy_j",
    "copyout_queries",
    "copyout_adc_conversions",
    "copyout_chip_seconds",
    "copyout_energy_j",
    "copyout_weight_rel_rms",
    "copyout_fidelity",
    "copyout_accuracy",
    "wall_seconds",
)
RESULTS_JSONL, RESULTS_CSV = "results.jsonl", "results.csv"


@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    rows : list of dict
        One row per point of the spec, in spec order.
    computed, resumed : int
        Points run now, and points taken from an earlier run's ``results.jsonl``.
    paths : dict of str to str
        ``"jsonl"`` and ``"csv"``: the files written (the faces add the figures).
    """

    rows: list[dict]
    computed: int
    resumed: int
    paths: dict = field(default_factory=dict)

    @property
    def failed(self) -> list[dict]:
        """The rows whose status is not ``"ok"``."""
        return [r for r in self.rows if r.get("status") != "ok"]


def row_head(point: Point) -> dict[str, Any]:
    """The first columns of a point's row: index, key, status ``"ok"``, no error, its parameters."""
    row = {"index": point.index, "key": point.key, "status": "ok", "error_type": None, "error_message": None}
    row.update({k: jsonable(v) for k, v in point.params.items()})
    return row


def jsonable(v: Any) -> Any:
    """``v`` as a JSON scalar or list (NumPy scalars unwrapped, non-finite floats as None).

    Raises TypeError for anything else (a task's metrics must be plain data).
    """
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if v is None or isinstance(v, bool | int | float | str):
        return v
    raise TypeError(f"task result values must be JSON scalars or lists; got {type(v).__name__}.")


def read_results(path: str | os.PathLike) -> dict[str, dict]:
    """Rows of a ``results.jsonl`` by key (the last line of a key wins).

    A final line without its newline (torn by a kill) is ignored; any other line that is not
    a JSON object with a ``key`` raises ValueError naming its line number.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    lines = text.split("\n")
    complete = lines[:-1]  # the piece after the last newline is empty or torn
    rows: dict[str, dict] = {}
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict) or not isinstance(row.get("key"), str):
            raise ValueError(f"{path} line {number} must be a JSON object with a 'key'; got {line[:80]!r}.")
        rows[row["key"]] = row
    return rows


def cut_torn_tail(path: str | os.PathLike) -> None:
    """Drop a final line that has no newline (a write torn by a kill) before appending."""
    if not os.path.exists(path):
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)


def columns(rows: Sequence[Mapping]) -> list[str]:
    """Table columns: the base and metric columns, then any others a task added, sorted."""
    cols = list(BASE_COLUMNS) + list(METRIC_COLUMNS)
    extra = sorted({k for r in rows for k in r} - set(cols))
    return cols + extra


def write_csv(rows: Sequence[Mapping], path: str | os.PathLike) -> str:
    """Write ``rows`` as CSV atomically (lists as JSON text, None as empty)."""
    path = os.fspath(path)
    cols = columns(rows)
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            w.writerow([_cell(r.get(c)) for c in cols])
    return path


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return json.dumps(v)
    if isinstance(v, float):
        return repr(v)
    return str(v)
