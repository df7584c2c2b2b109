"""Figures of copy-out: a copy's quality against what it cost (layer 5, faces).

Part of :mod:`neuromorph.faces.plots`; :func:`copyout_curves` returns a :class:`Figure`,
:func:`copyout_title` names the chip a study copied and its conditions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from neuromorph.faces._figure_data import (
    WEIGHTLESS_METHODS,
    binomial_interval,
    conditions,
    copyout_groups,
    display_name,
)
from neuromorph.faces.plots._base import Figure, percent_axis

__all__ = ["copyout_curves", "copyout_title"]

#: What a copy-out curve can show, with its axis label.
_COPYOUT_METRICS = {
    "fidelity": "fidelity: top-1 agreement with the chip",
    "disagreement": "disagreement with the chip: 1 − fidelity (%)",
    "weight_rel_rms": "worst-layer relative RMS weight error",
}
#: What a copy-out curve can be drawn against (a log axis each), with its label.
_COPYOUT_COSTS = {
    "queries": "queries to the chip (input vectors presented)",
    "energy_j": "chip energy spent on the copy (J)",
}
_COST_TITLES = {"queries": "against queries", "energy_j": "against energy"}
#: Decades of a disagreement axis above its linear part (percent): 1 %, 10 %, 100 %.
_DISAGREEMENT_DECADES = (1.0, 10.0, 100.0)
#: Headroom above the largest upper interval bound on a disagreement axis (factor).
_HEADROOM = 1.6


def copyout_title(chip: Mapping) -> str:
    """A copy-out figure's title from a study's ``result["chip"]``: device, sizes, conditions."""
    sizes = "-".join(str(s) for s in chip.get("layer_sizes", ()))
    line = f"copy-out of a {display_name(chip['device'])} chip {sizes}".rstrip()
    if "temperature_k" in chip:
        line += f"\nat {conditions(float(chip['temperature_k']), float(chip.get('time_s', 0.0)))}"
    if chip.get("accuracy") is not None:
        line += f"; chip accuracy {100 * chip['accuracy']:.1f} % (one read)"
    return line


def copyout_curves(
    methods: Sequence[Mapping],
    *,
    metric: Literal["fidelity", "disagreement", "weight_rel_rms"] = "fidelity",
    against: Sequence[Literal["queries", "energy_j"]] = ("queries", "energy_j"),
    connect: bool = True,
    fraction: bool = True,
    n_test: int | None = None,
    title: str = "copying a chip out: fidelity against cost",
) -> Figure:
    """A copy's quality against what it cost, one curve per method: the copy-out figure.

    Parameters
    ----------
    methods : sequence of dict
        Rows as :func:`neuromorph.studies.copyout.study` records them, each with ``method``
        (str), the metric's key (``fidelity`` or ``weight_rel_rms``), every key of ``against``
        and optionally ``n_test`` (test inputs the fidelity was measured on); several rows of
        one method are several budgets (or points), joined in order of cost.  An optional
        ``self_agreement`` (the chip against a second read of itself) is drawn as a dashed
        reference line with the fidelity and the disagreement: it is the chip's own
        read-to-read noise, not a ceiling (a copy can agree with one read more often than a
        second noisy read does).
    metric : {"fidelity", "disagreement", "weight_rel_rms"}
        ``"fidelity"``: top-1 agreement of the copy with the chip, in percent on a full
        0-100 % axis.  ``"disagreement"``: 1 - fidelity in percent on a symmetric-log axis,
        linear below one input in ``n`` and logarithmic above, so that copies that agree on
        all or all but a few inputs stay apart (needs ``n``).  ``"weight_rel_rms"``: the
        worst layer's relative RMS weight error against the chip's true weights (log axis);
        distilled copies are left out, with a note (they have no weight error:
        :func:`~neuromorph.faces.plots.weight_error`).
    against : sequence of {"queries", "energy_j"}
        One panel per cost, each on a log axis: queries presented to the chip (> 0), chip
        energy spent on the copy (joules, > 0).
    connect : bool, default True
        Join each method's points by a line (budgets of one study); False draws markers
        only (points of a sweep, many dies at one budget).
    fraction : bool, default True
        Fidelities are fractions in [0, 1]; False if they are already percent.
    n_test : int, optional
        Test inputs behind every fidelity (overrides the rows' ``n_test``): fidelities and
        disagreements get their exact 95 % binomial intervals, and the axis names ``n``.
    title : str
        Name the chip and its conditions (:func:`copyout_title`).

    Returns
    -------
    Figure
    """
    if metric not in _COPYOUT_METRICS:
        raise ValueError(f"metric must be one of {list(_COPYOUT_METRICS)}; got {metric!r}.")
    against = tuple(against)
    if not against or any(key not in _COPYOUT_COSTS for key in against):
        raise ValueError(f"against must be a non-empty list from {list(_COPYOUT_COSTS)}; got {against!r}.")
    groups, selfs, left_out = copyout_groups(methods, metric, against, n_test)
    if metric != "weight_rel_rms" and not fraction:  # percent in: fractions from here on
        groups = {k: np.column_stack([p[:, :-2], p[:, -2] / 100.0, p[:, -1]]) for k, p in groups.items()}
        selfs = [(s / 100.0, n) for s, n in selfs]
    ns = [p[:, -1] for p in groups.values()]
    known = np.concatenate(ns) if ns else np.array([])
    n_all = int(known.min()) if known.size and np.all(np.isfinite(known)) else None
    if metric == "disagreement" and n_all is None:
        raise ValueError(
            "n_test must be given (argument or every row's n_test) with metric='disagreement'; "
            "got rows without it."
        )
    two = len(against) > 1
    fig = Figure(figsize=(10.5, 4.8) if two else (7, 4.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(against), sharey=True))
    for k, (name, pts) in enumerate(groups.items()):
        y, yerr = _values(metric, pts[:, -2], pts[:, -1])
        for i, ax in enumerate(axes):
            ax.errorbar(
                pts[:, i],
                y,
                yerr=yerr,
                color=f"C{k}",
                marker="o",
                capsize=3,
                linestyle="-" if connect else "none",
                alpha=1.0 if connect else 0.7,
                label=name if i == 0 else None,
            )
    for ax, key in zip(axes, against, strict=True):
        if selfs and metric != "weight_rel_rms":
            level = float(np.mean([s for s, _ in selfs]))
            ax.axhline(
                100.0 * (1.0 - level if metric == "disagreement" else level),
                color="gray",
                linestyle="--",
                linewidth=1,
                label="chip against a second read of itself" if ax is axes[0] else None,
            )
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(alpha=0.3, which="both")
        ax.set_xlabel(_COPYOUT_COSTS[key])
        ax.tick_params(labelleft=True)
        if two:
            ax.set_title(_COST_TITLES[key])
    _metric_axis(axes[0], metric, n_all, groups)
    if left_out:
        axes[-1].text(
            0.98,
            0.97,
            _left_out_note(left_out),
            transform=axes[-1].transAxes,
            ha="right",
            va="top",
            fontsize="small",
            color="dimgray",
            wrap=True,
        )
    handles, labels = axes[0].get_legend_handles_labels()
    if labels:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), frameon=False)
    fig.suptitle(title)
    return fig


def _values(metric: str, value, n) -> tuple[np.ndarray, np.ndarray | None]:
    """The plotted values and their ``yerr`` (None without n, or for the weight error)."""
    value = np.asarray(value, dtype=np.float64)
    if metric == "weight_rel_rms":
        return value, None
    shown = 100.0 * (1.0 - value if metric == "disagreement" else value)
    if not np.all(np.isfinite(n)):
        return shown, None
    k = np.rint((1.0 - value if metric == "disagreement" else value) * n)
    lo, hi = binomial_interval(k, n)
    return shown, np.clip(np.vstack([shown - 100.0 * lo, 100.0 * hi - shown]), 0.0, None)


def _metric_axis(ax, metric: str, n: int | None, groups: Mapping[str, np.ndarray]) -> None:
    """The y axis of ``metric``: full percent, symmetric log of the disagreement, or log."""
    if metric == "fidelity":
        percent_axis(ax, _COPYOUT_METRICS[metric], n)
        return
    if metric == "weight_rel_rms":
        ax.set_yscale("log")
        ax.set_ylabel(_COPYOUT_METRICS[metric])
        return
    one = 100.0 / n  # one input in n, percent: the axis is linear below it
    top = max(
        [one]
        + [100.0 * binomial_interval(np.rint((1.0 - p[:, -2]) * n), n)[1].max() for p in groups.values()]
    )
    ax.set_yscale("symlog", linthresh=one, linscale=1.0)
    ax.set_ylim(0.0, min(100.0, top * _HEADROOM))
    ax.yaxis.set_major_locator(FixedLocator([0.0, one, *(d for d in _DISAGREEMENT_DECADES if d > one)]))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.2g}"))
    ax.set_ylabel(f"{_COPYOUT_METRICS[metric]}\nsymmetric log: linear below 1 input of n = {n}")


def _left_out_note(methods: list[str]) -> str:
    names = ", ".join(m for m in methods if m in WEIGHTLESS_METHODS)
    return (
        f"{names} not shown: a distilled network\nlearns hidden units of its own, so it has\n"
        "no weight error against the chip\n(its quality is its fidelity)"
    )
