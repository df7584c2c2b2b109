"""Input checks and grouping behind the figures of :mod:`neuromorph.faces.plots` (layer 5).

Turns what a caller hands a figure (arrays, study rows, sweep rows) into checked, grouped
numbers; draws nothing.  Errors name the argument, the rule and the value.  Imports NumPy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray


def finite_1d(name: str, values) -> NDArray[np.float64]:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1-D array of real numbers; got {type(values).__name__}.") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} must be finite; got {np.count_nonzero(~np.isfinite(arr))} NaN or infinite entries."
        )
    return arr


def spice_cases(expected, got, labels) -> tuple[list[NDArray], list[NDArray], list[str | None]]:
    """The cases of ``spice_agreement``: lists of checked arrays, and their labels."""
    multi = isinstance(expected, list | tuple) and len(expected) > 0 and np.ndim(expected[0]) == 1
    exps = list(expected) if multi else [expected]
    gots = list(got) if multi else [got]
    if len(exps) != len(gots):
        raise ValueError(f"got must hold one array per case of expected ({len(exps)}); got {len(gots)}.")
    exps = [finite_1d("expected", e) for e in exps]
    gots = [finite_1d("got", g) for g in gots]
    for k, (e, g) in enumerate(zip(exps, gots, strict=True)):
        if e.shape != g.shape:
            raise ValueError(
                f"got must have the shape of expected; got {g.shape} and {e.shape} for case {k}."
            )
    if labels is None:
        labels = [f"case {k + 1}" for k in range(len(exps))] if multi else [None]
    labels = list(labels)
    if len(labels) != len(exps):
        raise ValueError(f"labels must name each of the {len(exps)} cases; got {len(labels)}.")
    return exps, gots, labels


def series_stats(
    name: str, n: int, accuracies: Sequence, pct: float
) -> tuple[NDArray, NDArray, list[NDArray]]:
    """Mean, std (0 for single values) and the points of each condition, in percent."""
    if len(accuracies) != n:
        raise ValueError(f"{name} must hold one entry per value ({n}); got {len(accuracies)}.")
    mean, std, points = np.empty(n), np.zeros(n), []
    for k, a in enumerate(accuracies):
        arr = np.atleast_1d(np.asarray(a, dtype=np.float64)) * pct
        if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}[{k}] must be a finite number or a non-empty list of them; got {a!r}.")
        mean[k] = arr.mean()
        std[k] = arr.std(ddof=1) if arr.size > 1 else 0.0
        points.append(arr)
    return mean, std, points


def copyout_groups(
    methods: Sequence[Mapping], metric: str, against: tuple[str, ...], scale: float
) -> tuple[dict[str, list[tuple[float, ...]]], list[float]]:
    """Checked points (costs..., metric) of ``copyout_curves`` per method; the self-agreements."""
    if isinstance(methods, Mapping) or not isinstance(methods, Sequence) or not methods:
        raise TypeError(
            "methods must be a non-empty list of dicts with keys "
            f"{('method', *against, metric)}; got {type(methods).__name__}."
        )
    keys = ("method", *against, metric)
    groups: dict[str, list[tuple[float, ...]]] = {}
    selfs = []
    for k, row in enumerate(methods):
        if not isinstance(row, Mapping):
            raise TypeError(f"methods[{k}] must be a dict; got {type(row).__name__}.")
        missing = [key for key in keys if key not in row]
        if missing:
            raise ValueError(f"methods[{k}] must have keys {keys}; got no {missing}.")
        if row[metric] is None:  # e.g. no weight error for a copy of another shape
            continue
        costs = [float(row[key]) for key in against]
        y = float(row[metric])
        if not (all(c > 0 and np.isfinite(c) for c in costs) and np.isfinite(y)):
            got = ", ".join(f"{key}={c:g}" for key, c in zip(against, costs, strict=True))
            raise ValueError(
                f"methods[{k}] must have {' > 0, '.join(against)} > 0 and a finite {metric} "
                f"(log axes); got {got}, {metric}={y:g}."
            )
        groups.setdefault(str(row["method"]), []).append((*costs, y * scale))
        if metric == "fidelity" and row.get("self_agreement") is not None:
            selfs.append(float(row["self_agreement"]) * scale)
    return groups, selfs


def finished_rows(rows: Sequence[Mapping], key: str = "accuracy") -> list[Mapping]:
    """The finished rows of a sweep that have ``key``."""
    return [r for r in rows if r.get("status") == "ok" and r.get(key) is not None]


def sweep_group(row: Mapping) -> str:
    """The group of a sweep row in its figures: device preset and ADC resolution."""
    return f"{row['preset']}, {row['adc_bits']}-bit ADC"
