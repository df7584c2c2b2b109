"""The figure of a chip's lifetime: accuracy against age per temperature (layer 5, faces).

Part of :mod:`neuromorph.faces.plots`; :func:`lifetime_curves` returns a :class:`Figure` of
what :func:`neuromorph.studies.lifetime.run_lifetime` measured.  The accuracy axis runs from
0 to 100 %; every point is the mean of R re-reads of the same ``n`` test images, with its
Clopper-Pearson 95 % interval for ``n`` images as the bar (the spread over re-reads is in
``lifetime.json``).  Age runs on a symmetric-log axis (linear below the first non-zero age,
so the programmed chip, age 0, has a place), ticked at 0 and the named durations from the
first age on.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.ticker import FixedLocator, NullLocator

from neuromorph.faces._figure_data import display_name
from neuromorph.faces.plots._base import Figure, percent_axis

__all__ = ["lifetime_curves"]

_DAY_S = 86400.0
_YEAR_S = 365.25 * _DAY_S
#: Tick marks of the age axis: durations a reader knows, seconds.
AGE_TICKS = {
    "0": 0.0,
    "1 min": 60.0,
    "1 h": 3600.0,
    "1 day": _DAY_S,
    "1 month": _YEAR_S / 12.0,
    "1 year": _YEAR_S,
    "10 years": 10.0 * _YEAR_S,
}


def lifetime_curves(result: Mapping, *, title: str | None = None) -> Figure:
    """Accuracy against age, one curve per temperature, with the copy-out threshold.

    Parameters
    ----------
    result : mapping
        :func:`neuromorph.studies.lifetime.run_lifetime`'s dict (or ``lifetime.json`` read
        back): ``temperatures`` (each ``temperature_k``, ``points`` of ``age_s``,
        ``accuracy_mean``, ``interval``, ``n``, ``reads``, and ``deadline_s``),
        ``threshold_accuracy``, ``programmed`` (``mean``) and ``chip`` (``device``).
    title : str, optional
        Default: the device and the maintenance.

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        If ``result`` lacks what the figure draws.
    """
    try:
        curves = list(result["temperatures"])
        threshold = float(result["threshold_accuracy"])
        programmed = float(result["programmed"]["mean"])
        n, reads = int(curves[0]["points"][0]["n"]), int(curves[0]["points"][0]["reads"])
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ValueError(
            "result must be a lifetime study's result (temperatures with points, threshold_accuracy, "
            f"programmed); got one without {exc}."
        ) from None
    fig = Figure(figsize=(7.0, 4.6), layout="constrained")
    ax = fig.add_subplot()
    ages = [p["age_s"] for c in curves for p in c["points"]]
    first = min((a for a in ages if a > 0), default=1.0)
    for k, curve in enumerate(curves):
        _draw_curve(ax, curve, color=f"C{k}")
    ax.axhline(100 * programmed, color="0.4", ls=":", lw=1.0, label="at programming")
    drop = 100 * (programmed - threshold)
    ax.axhline(100 * threshold, color="0.2", ls="--", lw=1.0, label=f"copy-out threshold (−{drop:g} points)")
    percent_axis(ax, "test accuracy", n)
    ax.set_ylabel(f"test accuracy (%)\nmean of {reads} re-reads of n = {n} inputs, 95 % interval")
    ax.set_xscale("symlog", linthresh=first, linscale=0.4)
    top = max(ages) if ages else first
    ticks = {name: t for name, t in AGE_TICKS.items() if t == 0.0 or first * 0.99 <= t <= top * 1.01}
    ax.xaxis.set_major_locator(FixedLocator(list(ticks.values())))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels(list(ticks))
    ax.set_xlim(left=-0.05 * first)
    ax.set_xlabel("age since programming (symmetric-log axis, linear below the first age)")
    ax.legend(loc="lower left", fontsize="small")
    if title is None:
        chip = result.get("chip", {})
        maintenance = result.get("protocol", {}).get("maintenance", "none")
        upkeep = "no maintenance" if maintenance == "none" else f"maintenance: {maintenance}"
        title = f"{display_name(chip.get('device', 'chip'))} chip over its lifetime ({upkeep})"
    ax.set_title(title)
    return fig


def _draw_curve(ax, curve: Mapping, *, color: str) -> None:
    """One temperature: mean accuracy with interval bars, and its deadline as a vertical line."""
    points = curve["points"]
    age = np.array([p["age_s"] for p in points], dtype=np.float64)
    mean = 100 * np.array([p["accuracy_mean"] for p in points], dtype=np.float64)
    lo, hi = (100 * np.array([p["interval"][i] for p in points], dtype=np.float64) for i in (0, 1))
    yerr = np.clip(np.vstack([mean - lo, hi - mean]), 0.0, None)
    label = f"{curve['temperature_k']:g} K"
    ax.errorbar(age, mean, yerr=yerr, color=color, marker="o", ms=4, capsize=3, lw=1.4, label=label)
    if curve.get("deadline_s") is not None:
        ax.axvline(curve["deadline_s"], color=color, ls=":", lw=1.0)
