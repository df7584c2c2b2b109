"""Input checks, intervals, names and grouping behind :mod:`neuromorph.faces.plots` (layer 5).

Turns what a caller hands a figure (arrays, study rows, sweep rows) into checked, grouped
numbers; draws nothing.  Errors name the argument, the rule and the value.  Also the few
numbers and words every face shares: the binomial interval of an accuracy measured on ``n``
inputs (:func:`~neuromorph.studies.scoring.binomial_interval`, the one the studies report,
re-exported here), the interval of a mean over seeds (:func:`mean_interval`),
a preset's display name (:func:`display_name`), a chip's conditions in words
(:func:`conditions`) and which copies have a weight error at all (:func:`weight_error`).
Imports NumPy, SciPy and :mod:`neuromorph.studies.scoring` (the interval and its coverage).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from neuromorph.studies.scoring import CONFIDENCE, binomial_interval

#: What a reader sees for a device preset, by preset key and by ``DeviceModel.name``
#: (figures never show the internal names).  Unknown names (a custom device) are shown as is.
DISPLAY_NAMES = {
    "rram": "HfO2 RRAM (device fit)",
    "rram_hfo2": "HfO2 RRAM (device fit)",
    "rram_array": "HfO2 RRAM (measured array)",
    "rram_hfo2_array": "HfO2 RRAM (measured array)",
    "rram_om_array": "OM RRAM (measured array)",
    "pcm": "GST PCM",
    "pcm_gst": "GST PCM",
    "ideal": "ideal device",
}

#: Copy-out methods whose copy has no weight error against the chip: distillation trains a
#: network of its own from the chip's outputs, whose hidden units need not be the chip's (any
#: permutation or rescaling of them computes the same function), so comparing its weights with
#: the chip's, unit by unit, measures nothing.  Their quality is their fidelity.
WEIGHTLESS_METHODS = ("distill",)

#: Seconds in an hour, for ages in titles.
_HOUR_S = 3600.0


def display_name(name) -> str:
    """The reader's name of a device preset: key (``"rram"``), model name or ``DeviceModel``."""
    name = getattr(name, "name", name)
    if not isinstance(name, str):
        raise TypeError(f"name must be a preset name or a DeviceModel; got {type(name).__name__}.")
    return DISPLAY_NAMES.get(name.lower(), name)


def conditions(temperature_k: float, time_s: float = 0.0) -> str:
    """A chip's conditions in words: ``"358 K, aged 24 h"`` or ``"300 K, just programmed"``."""
    age = f"aged {time_s / _HOUR_S:.3g} h" if time_s > 0 else "just programmed"
    return f"{temperature_k:g} K, {age}"


def accuracy_interval(p, n) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`binomial_interval` of accuracies ``p`` (fractions) measured on ``n`` inputs each."""
    n = check_n(n)
    k = np.rint(np.asarray(p, dtype=np.float64) * n)
    return binomial_interval(k, n)


def mean_interval(values) -> tuple[float, float, float]:
    """Mean and Student-t 95 % interval of the mean of repeats (seeds, dies); one value: no width."""
    arr = np.asarray(values, dtype=np.float64)
    mean = float(arr.mean())
    if arr.size < 2:
        return mean, mean, mean
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2.0, arr.size - 1) * arr.std(ddof=1) / math.sqrt(arr.size))
    return mean, mean - half, mean + half


def check_n(n) -> int:
    """``n`` (inputs an accuracy was measured on) as a positive int, or the error."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n_test must be a positive integer (test inputs per read); got {n!r}.")
    return int(n)


def weight_error(row: Mapping) -> float | None:
    """A copy-out row's worst-layer relative RMS weight error; None where it means nothing.

    None when the study recorded none (a copy of another shape) and for the methods of
    :data:`WEIGHTLESS_METHODS` (distillation), whose copies have no unit-by-unit weights.
    """
    if row.get("method") in WEIGHTLESS_METHODS:
        return None
    w = row.get("weight_rel_rms")
    return None if w is None else float(w)


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
) -> tuple[NDArray, NDArray, NDArray, list[NDArray]]:
    """Per condition: the mean, the 95 % interval of the mean over repeats, and the points.

    All in the accuracies' unit times ``pct``; a single value has an interval of no width
    (:func:`mean_interval`).  Returns (mean, lower, upper, points).
    """
    if len(accuracies) != n:
        raise ValueError(f"{name} must hold one entry per value ({n}); got {len(accuracies)}.")
    mean, lo, hi, points = np.empty(n), np.empty(n), np.empty(n), []
    for k, a in enumerate(accuracies):
        arr = np.atleast_1d(np.asarray(a, dtype=np.float64)) * pct
        if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}[{k}] must be a finite number or a non-empty list of them; got {a!r}.")
        mean[k], lo[k], hi[k] = mean_interval(arr)
        points.append(arr)
    return mean, lo, hi, points


def copyout_groups(
    methods: Sequence[Mapping], metric: str, against: tuple[str, ...], n_test: int | None = None
) -> tuple[dict[str, NDArray[np.float64]], list[tuple[float, float]], list[str]]:
    """Checked points of ``copyout_curves`` per method, the self-agreements, the methods left out.

    ``metric`` is ``"fidelity"`` or ``"disagreement"`` (both read the rows' ``fidelity``) or
    ``"weight_rel_rms"`` (read through :func:`weight_error`).  Each method's points are an
    array of shape (n_points, len(against) + 2): the costs, the value, and the test inputs it
    was measured on (``n_test`` if given, else the row's ``n_test``, else NaN), in order of
    the first cost.  Self-agreements are (fraction, n) pairs.  Methods left out are those of
    :data:`WEIGHTLESS_METHODS` when the metric is the weight error.
    """
    if isinstance(methods, Mapping) or not isinstance(methods, Sequence) or not methods:
        raise TypeError(
            "methods must be a non-empty list of dicts with keys "
            f"{('method', *against, metric)}; got {type(methods).__name__}."
        )
    key = "weight_rel_rms" if metric == "weight_rel_rms" else "fidelity"
    keys = ("method", *against, key)
    n_fixed = float(check_n(n_test)) if n_test is not None else None
    groups: dict[str, list[tuple[float, ...]]] = {}
    selfs: list[tuple[float, float]] = []
    left_out: list[str] = []
    for k, row in enumerate(methods):
        if not isinstance(row, Mapping):
            raise TypeError(f"methods[{k}] must be a dict; got {type(row).__name__}.")
        missing = [name for name in keys if name not in row]
        if missing:
            raise ValueError(f"methods[{k}] must have keys {keys}; got no {missing}.")
        y = weight_error(row) if key == "weight_rel_rms" else row[key]
        if y is None:  # no weight error: another shape, or a distilled copy
            if row["method"] in WEIGHTLESS_METHODS and row["method"] not in left_out:
                left_out.append(str(row["method"]))
            continue
        costs = [float(row[name]) for name in against]
        y = float(y)
        if not (all(c > 0 and np.isfinite(c) for c in costs) and np.isfinite(y)):
            got = ", ".join(f"{name}={c:g}" for name, c in zip(against, costs, strict=True))
            raise ValueError(
                f"methods[{k}] must have {' > 0, '.join(against)} > 0 and a finite {key} "
                f"(log axes); got {got}, {key}={y:g}."
            )
        n = n_fixed if n_fixed is not None else float(row.get("n_test") or np.nan)
        groups.setdefault(str(row["method"]), []).append((*costs, y, n))
        if key == "fidelity" and row.get("self_agreement") is not None:
            selfs.append((float(row["self_agreement"]), n))
    arrays = {name: np.array(sorted(pts)) for name, pts in groups.items()}
    return arrays, selfs, left_out


def finished_rows(rows: Sequence[Mapping], key: str = "accuracy") -> list[Mapping]:
    """The finished rows of a sweep that have ``key``."""
    return [r for r in rows if r.get("status") == "ok" and r.get(key) is not None]


def sweep_group(row: Mapping) -> str:
    """The group of a sweep row in its figures: device preset (display name) and ADC resolution."""
    return f"{display_name(row['preset'])}, {row['adc_bits']}-bit ADC"


def sweep_test_size(row: Mapping) -> int | None:
    """Test inputs behind a sweep row's accuracy: its ``n_test``, 0 meaning the whole split.

    The sweep's data set is the digits, so "the whole split" is the size of
    :func:`neuromorph.datasets.load_digits`'s test split; None for a row without ``n_test``.
    """
    n = row.get("n_test")
    if n is None:
        return None
    whole = _digits_test_size()
    return min(int(n), whole) if int(n) > 0 else whole


@functools.cache
def _digits_test_size() -> int:
    from neuromorph import datasets  # a leaf; imported when needed: it loads scikit-learn's copy

    return int(datasets.load_digits().y_test.size)
