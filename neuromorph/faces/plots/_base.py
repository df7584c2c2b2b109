"""What every figure of :mod:`neuromorph.faces.plots` shares (layer 5, faces).

The :class:`Figure` class (shows itself once in Jupyter), the accuracy axis (full 0-100 %,
``n`` in its label) and the drawing of binomial intervals, unit scaling, integer ticks.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
from matplotlib.figure import Figure as _MatplotlibFigure
from matplotlib.ticker import MaxNLocator, MultipleLocator
from numpy.typing import NDArray

from neuromorph.faces._figure_data import accuracy_interval

#: Resolution of a figure shown inline in Jupyter, dots per inch.
NOTEBOOK_DPI = 100
#: Top of a percent axis: 100 % plus room for a marker and its cap drawn at 100 %.
PERCENT_TOP = 103.0
#: Tick spacing of a full percent axis, points.
PERCENT_TICK = 20.0

if matplotlib.get_backend().lower() == "agg":  # headless: make it explicit for savefig
    matplotlib.use("Agg")


class Figure(_MatplotlibFigure):
    """A matplotlib Figure that shows itself once in Jupyter (``_repr_png_``).

    Figures here are built without pyplot, so pyplot neither keeps them open nor shows them a
    second time at the end of a cell; and a bare Figure has no display of its own until
    pyplot's inline backend registers one (which IPython 9 does only after ``%matplotlib``).
    Everything else is matplotlib's Figure: ``savefig`` and friends as usual.
    """

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=NOTEBOOK_DPI, bbox_inches="tight")
        return buf.getvalue()


def percent_axis(ax, label: str, n_test: int | None) -> None:
    """A full 0-100 % y axis whose label says how many inputs each value was measured on."""
    ax.set_ylim(0.0, PERCENT_TOP)
    ax.yaxis.set_major_locator(MultipleLocator(PERCENT_TICK))
    where = f"one read of n = {n_test} inputs" if n_test else "n not given: no interval"
    ax.set_ylabel(f"{label} (%)\n{where}")


def binomial_yerr(values_pct: NDArray, n_test: int | None) -> NDArray | None:
    """``errorbar`` yerr (2, k) of accuracies in percent measured on ``n_test`` inputs each."""
    if not n_test:
        return None
    p = np.asarray(values_pct, dtype=np.float64) / 100.0
    lo, hi = accuracy_interval(p, n_test)
    return np.clip(np.vstack([p - lo, hi - p]) * 100.0, 0.0, None)


def current_unit(largest_a: float) -> tuple[float, str]:
    """A scale factor and unit name that put ``largest_a`` (amperes) in [1, 1000)."""
    for scale, unit in ((1.0, "A"), (1e3, "mA"), (1e6, "µA"), (1e9, "nA")):
        if largest_a * scale >= 1.0:
            return scale, unit
    return 1e12, "pA"


def diverging(data: NDArray) -> dict:
    """imshow colour arguments: diverging around 0 when ``data`` changes sign."""
    lo, hi = float(np.min(data)), float(np.max(data))
    if lo < 0.0 < hi:
        m = max(-lo, hi)
        return {"cmap": "RdBu_r", "vmin": -m, "vmax": m}
    return {"cmap": "magma" if hi > 0 else "magma_r", "vmin": lo, "vmax": hi}


def integer_ticks(ax, *, x: bool = True, y: bool = True) -> None:
    """Ticks at whole numbers only (indices, counts)."""
    if x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    if y:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))


def no_points(ax) -> None:
    """Say so on an axis with nothing to draw."""
    ax.text(0.5, 0.5, "no finished points", ha="center", va="center", transform=ax.transAxes)
