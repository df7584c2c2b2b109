"""Figures of accuracy: training curves, conditions, sweeps (layer 5, faces).

Part of :mod:`neuromorph.faces.plots`; each function returns a :class:`Figure`.  Accuracy
axes run from 0 to 100 %.  An accuracy measured on ``n`` test inputs carries its exact 95 %
binomial interval when ``n_test`` is given (and the axis says ``n``); repeats over seeds or
dies carry the 95 % interval of their mean, each repeat drawn as a dot.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.ticker import NullFormatter

from neuromorph.algorithms.ff import History
from neuromorph.faces._figure_data import (
    check_n,
    finished_rows,
    finite_1d,
    mean_interval,
    series_stats,
    sweep_group,
    sweep_test_size,
)
from neuromorph.faces.plots._base import (
    Figure,
    binomial_yerr,
    integer_ticks,
    no_points,
    percent_axis,
)

#: Histogram bins of :func:`sweep_accuracy_distribution`: at least a few, at most a readable 30.
_MIN_BINS, _MAX_BINS = 6, 30
#: Characters per title line of a 7-inch figure before it wraps.
TITLE_WIDTH = 72
#: Where the chip's own marker sits right of the last epoch, as a fraction of the epochs.
_CHIP_OFFSET = 0.03


def _n_or_none(n_test: int | None) -> int | None:
    return None if n_test is None else check_n(n_test)


def training_curve(
    history: History,
    *,
    title: str = "Forward-Forward training",
    n_test: int | None = None,
    curve_label: str = "test accuracy",
    chip_accuracy: float | None = None,
    chip_label: str = "chip, after programming",
) -> Figure:
    """Loss per epoch above, test accuracy where it was measured below (full 0-100 % axis).

    Parameters
    ----------
    history : History
        What :func:`neuromorph.algorithms.ff.train` recorded.
    title : str
        Say what was trained, on which device and under which conditions.
    n_test : int, optional
        Test inputs behind each accuracy: draws their 95 % binomial intervals and names ``n``.
    curve_label : str, default "test accuracy"
        What the accuracy curve is: ex situ, the software network's ("software network,
        before programming"), not the chip's.
    chip_accuracy : float, optional
        Ex situ: the chip's test accuracy (fraction) after the software weights were
        programmed onto it, drawn as its own marker at the last epoch.
    chip_label : str
        Its legend entry.

    Returns
    -------
    Figure
    """
    n_test = _n_or_none(n_test)
    fig = Figure(figsize=(7, 5.6), layout="constrained")
    ax_loss, ax_acc = fig.subplots(2, 1, sharex=True, height_ratios=[1, 1.3])
    epochs = np.arange(1, len(history.loss) + 1)
    ax_loss.plot(epochs, history.loss, color="tab:blue")
    ax_loss.set_ylabel("FF loss (nats)\nmean over layers")
    ax_loss.set_ylim(0.0, max(history.loss, default=1.0) * 1.05)
    ax_loss.grid(alpha=0.3)
    fig.suptitle(textwrap.fill(title, TITLE_WIDTH))
    if history.test_accuracy:
        acc = 100.0 * np.asarray(history.test_accuracy)
        ax_acc.errorbar(
            history.test_epochs,
            acc,
            yerr=binomial_yerr(acc, n_test),
            fmt="o-",
            color="tab:orange",
            capsize=3,
            label=curve_label,
        )
        ax_acc.annotate(
            f"{acc[-1]:.1f} %",
            (history.test_epochs[-1], acc[-1]),
            xytext=(-6, -6),
            textcoords="offset points",
            ha="right",
            va="top",
            color="tab:orange",
        )
    if chip_accuracy is not None:
        chip = np.array([100.0 * float(chip_accuracy)])
        # just right of the last epoch: after training, and clear of the curve's last point
        x = [max(len(history.loss), 1) * (1.0 + _CHIP_OFFSET) + _CHIP_OFFSET]
        ax_acc.errorbar(
            x,
            chip,
            yerr=binomial_yerr(chip, n_test),
            fmt="*",
            ms=12,
            color="tab:red",
            capsize=3,
            label=f"{chip_label}: {chip[0]:.1f} %",
        )
    percent_axis(ax_acc, "test accuracy", n_test)
    ax_acc.set_xlabel("epoch")
    ax_acc.xaxis.get_major_locator().set_params(integer=True)
    ax_acc.grid(alpha=0.3)
    if ax_acc.get_legend_handles_labels()[0]:
        ax_acc.legend(frameon=False, loc="lower right")
    return fig


def accuracy_vs_condition(
    values: Sequence[float],
    accuracies: Sequence[float] | Mapping[str, Sequence[float]],
    *,
    xlabel: str,
    log_x: bool = False,
    fraction: bool = True,
    n_test: int | None = None,
    reference: float | None = None,
    reference_label: str = "reference",
    title: str | None = None,
) -> Figure:
    """Accuracy against a condition (temperature, time since programming...), with intervals.

    Parameters
    ----------
    values : array_like of shape (n,)
        The condition, in the unit ``xlabel`` names (kelvin, hours...).
    accuracies : sequence of n entries, or dict of label -> such a sequence
        Each entry a number (one read), or a list of numbers (repeats: other seeds or chips),
        drawn as their mean with the Student-t 95 % interval of the mean as a band and the
        repeats as dots.  A dict overlays several series (e.g. "hot" and "retrained").
    xlabel : str
        Axis label with unit, e.g. ``"temperature (K)"`` or ``"time since programming (h)"``.
    log_x : bool, default False
        Logarithmic condition axis (for times; values must then be > 0).
    fraction : bool, default True
        Accuracies are fractions in [0, 1] (the package's convention) and are drawn in
        percent; False if they already are percentages.
    n_test : int, optional
        Test inputs behind each single read: single values get their 95 % binomial interval.
    reference : float, optional
        A horizontal dashed line (e.g. the software network's accuracy), same unit as the
        accuracies.
    reference_label : str
    title : str, optional

    Returns
    -------
    Figure
    """
    if not isinstance(xlabel, str) or not xlabel:
        raise TypeError(f"xlabel must be a non-empty string with a unit; got {xlabel!r}.")
    n_test = _n_or_none(n_test)
    x = finite_1d("values", values)
    if log_x and not np.all(x > 0):
        raise ValueError(f"values must be > 0 with log_x=True; got min {x.min():.6g}.")
    series = dict(accuracies) if isinstance(accuracies, dict) else {None: accuracies}
    pct = 100.0 if fraction else 1.0
    order = np.argsort(x, kind="stable")
    fig = Figure(figsize=(6.8, 4.4), layout="constrained")
    ax = fig.add_subplot()
    for k, (label, acc) in enumerate(series.items()):
        mean, lo, hi, points = series_stats("accuracies", x.size, list(acc), pct)
        lo, hi = np.clip(lo, 0.0, 100.0), np.clip(hi, 0.0, 100.0)  # an accuracy stays in 0-100 %
        color = f"C{k}"
        single = np.array([p.size == 1 for p in points])
        yerr = binomial_yerr(mean, n_test) if n_test else None
        if yerr is not None:
            yerr[:, ~single] = 0.0  # repeats carry the interval of their mean instead
        ax.errorbar(
            x[order],
            mean[order],
            yerr=None if yerr is None else yerr[:, order],
            fmt="o-",
            color=color,
            capsize=3,
            label=label,
            zorder=3,
        )
        if not np.all(single):
            ax.fill_between(
                x[order],
                lo[order],
                hi[order],
                color=color,
                alpha=0.2,
                linewidth=0,
                label="95 % interval of the mean over repeats" if k == 0 else None,
            )
            xs = np.concatenate([np.full(p.size, xv) for xv, p in zip(x, points, strict=True)])
            ax.scatter(xs, np.concatenate(points), s=10, color=color, alpha=0.5, zorder=2, edgecolor="none")
    if reference is not None:
        ax.axhline(float(reference) * pct, color="gray", linestyle="--", linewidth=1, label=reference_label)
    if log_x:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel)
    percent_axis(ax, "accuracy", n_test)
    ax.grid(alpha=0.3, which="both" if log_x else "major")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, loc="lower left")
    if title is not None:
        ax.set_title(title)
    return fig


def accuracy_bars(
    labels: Sequence[str],
    accuracies: Sequence[float],
    *,
    title: str = "Accuracy",
    fraction: bool = True,
    n_test: int | None = None,
) -> Figure:
    """Accuracy (%) under named conditions as bars from 0, with 95 % binomial intervals.

    ``labels`` name the conditions (say the temperature and age: "358 K, aged 24 h");
    ``n_test`` (test inputs per read) adds each accuracy's exact binomial interval.
    """
    values = np.array([100.0 * a if fraction else float(a) for a in accuracies])
    if len(labels) != len(values) or not values.size:
        raise ValueError(
            f"labels and accuracies must be non-empty and as long as each other; got "
            f"{len(labels)} labels and {len(values)} accuracies."
        )
    n_test = _n_or_none(n_test)
    fig = Figure(figsize=(1.7 * len(values) + 2.5, 4.0), layout="constrained")
    ax = fig.add_subplot()
    yerr = binomial_yerr(values, n_test)
    bars = ax.bar(range(len(values)), values, color="tab:blue", yerr=yerr, capsize=4, ecolor="black")
    ax.set_xticks(range(len(values)), labels)
    percent_axis(ax, "test accuracy", n_test)
    ax.set_xlabel("condition")
    tops = values if yerr is None else values + yerr[1]
    for bar, v, top in zip(bars, values, tops, strict=True):
        ax.annotate(
            f"{v:.1f}",
            (bar.get_x() + bar.get_width() / 2, min(top, 100.0)),
            ha="center",
            va="bottom",
            xytext=(0, 2),
            textcoords="offset points",
            fontsize="small",
        )
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return fig


# --------------------------------------------------------------------------- sweeps
def _sweep_n(rows: Sequence[Mapping]) -> str:
    """The test-set size behind a sweep's accuracies, in words."""
    sizes = sorted({n for n in (sweep_test_size(r) for r in rows) if n is not None})
    if not sizes:
        return "n not recorded"
    return f"n = {sizes[0]} inputs" if len(sizes) == 1 else f"n = {sizes[0]}-{sizes[-1]} inputs"


def sweep_accuracy_distribution(rows: Sequence[Mapping]) -> Figure:
    """Histogram of stressed test accuracy over a sweep's points, one step curve per preset/ADC.

    Parameters
    ----------
    rows : sequence of dict
        Rows of :func:`neuromorph.studies.sweep.run_sweep` (``status``, ``preset``,
        ``adc_bits``, ``accuracy`` as a fraction, ``n_test``); failed rows are left out.

    Returns
    -------
    Figure
        Counts on an integer axis; the legend gives each group's mean and standard deviation
        over its points.
    """
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    done = finished_rows(rows)
    groups: dict[str, list[float]] = {}
    for r in done:
        groups.setdefault(sweep_group(r), []).append(100 * r["accuracy"])
    every = [a for g in groups.values() for a in g]
    if every:
        lo, hi = min(every), max(every)
        bins = np.linspace(lo - 0.5, hi + 0.5, max(_MIN_BINS, min(_MAX_BINS, len(every) // 2 + 2)))
        for name, acc in sorted(groups.items()):
            label = f"{name}: mean {np.mean(acc):.1f} %, std {np.std(acc):.1f} (n = {len(acc)} points)"
            ax.hist(acc, bins=bins, histtype="step", linewidth=1.8, label=label)
        ax.legend(fontsize=8)
    else:
        no_points(ax)
    integer_ticks(ax, x=False)
    ax.set_xlabel(f"test accuracy after stress (%), each point one read of {_sweep_n(done)}")
    ax.set_ylabel("points (dies x conditions)")
    ax.set_title("accuracy over fabricated dies")
    ax.grid(alpha=0.3)
    return fig


def sweep_accuracy_vs_temperature(rows: Sequence[Mapping]) -> Figure:
    """Mean stressed accuracy of a sweep against temperature, 95 % interval of the mean over dies.

    One curve per preset/ADC group (its temperatures may differ from the other groups'); each
    point (a die, one read of the test set) is drawn as a dot.  ``rows`` as for
    :func:`sweep_accuracy_distribution`, with ``temperature_k``.  Returns a Figure.
    """
    fig = Figure(figsize=(7, 4.6), layout="constrained")
    ax = fig.add_subplot()
    done = finished_rows(rows)
    groups: dict[str, dict[float, list[float]]] = {}
    for r in done:
        by_t = groups.setdefault(sweep_group(r), {})
        by_t.setdefault(float(r["temperature_k"]), []).append(100 * r["accuracy"])
    for i, (name, by_t) in enumerate(sorted(groups.items())):
        color = f"C{i % 10}"
        ts = np.array(sorted(by_t))
        mean, lo, hi = np.array([mean_interval(by_t[t]) for t in ts]).T
        for t in ts:
            ax.plot([t] * len(by_t[t]), by_t[t], ".", color=color, alpha=0.35)
        dies = sorted({len(by_t[t]) for t in ts})
        k = f"{dies[0]}" if len(dies) == 1 else f"{dies[0]}-{dies[-1]}"
        ax.errorbar(
            ts,
            mean,
            yerr=[mean - lo, hi - mean],
            fmt="o-",
            color=color,
            capsize=3,
            label=f"{name}: mean of {k} points per temperature",
        )
    if groups:
        ax.legend(fontsize=8, loc="lower left")
    else:
        no_points(ax)
    ax.set_xlabel("stress temperature (K)")
    percent_axis(ax, "test accuracy", None)
    ax.set_ylabel(f"test accuracy (%)\neach dot one read of {_sweep_n(done)}")
    ax.set_title("accuracy against temperature\nbars: 95 % interval of the mean over dies (Student t)")
    ax.grid(alpha=0.3)
    return fig
