"""Figures: every figure of the package, drawn once (layer 5, faces).  Each returns a Figure.

Every function builds a :class:`matplotlib.figure.Figure` directly (object API, no pyplot
state, constrained layout) and returns it; save it with ``fig.savefig(path)`` or show it
by leaving it as a notebook cell's value.  Inputs follow the package's SI units; figures
show convenient multiples (microsiemens, millivolts, microamperes, percent) and say so on
their axes.

* :func:`training_curve`: Forward-Forward loss and test accuracy per epoch.
* :func:`conductance_maps`: G+ and G- of a crossbar, stuck devices marked.
* :func:`ir_drop_map`: wire voltages over an array and the column-current error they cause.
* :func:`spice_agreement`: ngspice's column currents against the simulator's.
* :func:`accuracy_vs_condition`: accuracy against temperature or time, with spread.
* :func:`copyout_curves`: a copy's fidelity (or weight error) against queries and energy.
* :func:`sweep_accuracy_distribution`, :func:`sweep_accuracy_vs_temperature`: a sweep's
  accuracy over dies and temperatures.
* :func:`accuracy_bars`: accuracy under named conditions.

May import every layer below (studies hand their results here as data); nothing below
imports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None
import io  # noqa: E402

import numpy as np  # noqa: E402
from matplotlib.figure import Figure as _MatplotlibFigure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator, NullFormatter  # noqa: E402
from numpy.typing import ArrayLike, NDArray  # noqa: E402

from neuromorph import _validate as check  # noqa: E402
from neuromorph.algorithms.ff import History  # noqa: E402
from neuromorph.faces._figure_data import (  # noqa: E402
    copyout_groups,
    finished_rows,
    finite_1d,
    series_stats,
    spice_cases,
    sweep_group,
)
from neuromorph.hardware.crossbar import Crossbar  # noqa: E402
from neuromorph.hardware.devices import StuckCode  # noqa: E402
from neuromorph.hardware.wires import WireParams, node_voltages, solve  # noqa: E402

#: Resolution of a figure shown inline in Jupyter, dots per inch.
NOTEBOOK_DPI = 100


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


__all__ = [
    "accuracy_bars",
    "accuracy_vs_condition",
    "conductance_maps",
    "copyout_curves",
    "ir_drop_map",
    "spice_agreement",
    "sweep_accuracy_distribution",
    "sweep_accuracy_vs_temperature",
    "training_curve",
]

#: :meth:`Crossbar.stuck_codes` codes: stuck at the device's lower / upper bound.
_STUCK_LO, _STUCK_HI = StuckCode.LOW, StuckCode.HIGH


def training_curve(history: History, *, title: str = "Forward-Forward training") -> Figure:
    """Loss per epoch, and test accuracy where it was measured."""
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    epochs = range(1, len(history.loss) + 1)
    ax.plot(epochs, history.loss, color="tab:blue", label="FF loss (mean over layers)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (nats)", color="tab:blue")
    ax.set_title(title)
    if history.test_accuracy:
        ax2 = ax.twinx()
        ax2.plot(
            history.test_epochs,
            [100 * a for a in history.test_accuracy],
            "o-",
            color="tab:orange",
            label="test accuracy",
        )
        ax2.set_ylabel("test accuracy (%)", color="tab:orange")
    ax.grid(alpha=0.3)
    return fig


# --------------------------------------------------------------------------- helpers
def _current_unit(largest_a: float) -> tuple[float, str]:
    """A scale factor and unit name that put ``largest_a`` (amperes) in [1, 1000)."""
    for scale, unit in ((1.0, "A"), (1e3, "mA"), (1e6, "µA"), (1e9, "nA")):
        if largest_a * scale >= 1.0:
            return scale, unit
    return 1e12, "pA"


def _diverging(data: NDArray) -> dict:
    """imshow colour arguments: diverging around 0 when ``data`` changes sign."""
    lo, hi = float(np.min(data)), float(np.max(data))
    if lo < 0.0 < hi:
        m = max(-lo, hi)
        return {"cmap": "RdBu_r", "vmin": -m, "vmax": m}
    return {"cmap": "magma" if hi > 0 else "magma_r", "vmin": lo, "vmax": hi}


def _integer_ticks(ax) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))


# --------------------------------------------------------------------------- crossbars
def conductance_maps(crossbar: Crossbar, *, title: str | None = None) -> Figure:
    """G+ and G- of a crossbar as two maps on one colour scale, stuck devices marked.

    Parameters
    ----------
    crossbar : Crossbar
        Its effective conductances now (:meth:`Crossbar.effective_conductances`, drift and
        temperature applied) are shown in microsiemens; rows are inputs ``i``, columns
        outputs ``j`` of the weight matrix.  Devices stuck at their lower bound are marked
        with downward triangles, those stuck at their upper bound with upward ones (hidden
        state: this is the scorer's view of a chip).
    title : str, optional
        Figure title; default names the device and the temperature.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(crossbar, Crossbar):
        raise TypeError(f"crossbar must be a Crossbar; got {type(crossbar).__name__}.")
    n_in, n_out = crossbar.shape
    g_us = crossbar.effective_conductances() * 1e6
    stuck = crossbar.stuck_codes()
    panel_h = 3.6
    panel_w = float(np.clip(panel_h * n_out / n_in, 2.6, 7.0))
    fig = Figure(figsize=(2 * panel_w + 1.6, panel_h + 1.5), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    vmin, vmax = float(g_us.min()), float(g_us.max())
    # Panels follow the matrix's shape within limits; cells stretch only beyond them.
    aspect = "auto"
    # Marker area (points^2) follows the cell size so markers stay inside their cells.
    cell_pt = 72.0 * min(panel_w / n_out, panel_h / n_in)
    # (at least 6 points^2, so that they stay visible on large arrays, where they overlap).
    area = float(np.clip((0.7 * cell_pt) ** 2, 6.0, 40.0))
    kinds = (
        (_STUCK_LO, "v", "white", r"stuck at $g_{lo}$"),
        (_STUCK_HI, "^", "tab:red", r"stuck at $g_{hi}$"),
    )
    image = None
    names = ("G+ (positive devices)", "G− (negative devices)")
    edge = 0.5 if cell_pt > 6 else 0.0  # an outline helps on large cells, hides small markers
    for k, (ax, name) in enumerate(zip(axes, names, strict=True)):
        image = ax.imshow(
            g_us[k], cmap="viridis", vmin=vmin, vmax=vmax, aspect=aspect, interpolation="nearest"
        )
        for code, marker, color, _ in kinds:
            i, j = np.nonzero(stuck[k] == code)
            ax.scatter(j, i, s=area, marker=marker, facecolor=color, edgecolor="black", linewidth=edge)
        ax.set_title(name)
        ax.set_xlabel("output column j")
        _integer_ticks(ax)
    axes[0].set_ylabel("input row i")
    fig.colorbar(image, ax=axes, label="effective conductance (µS)", shrink=0.9)
    handles = [
        Line2D(
            [],
            [],
            linestyle="none",
            marker=marker,
            markersize=8,
            markerfacecolor=color,
            markeredgecolor="black",
            markeredgewidth=0.7,
            label=f"{label} ({int(np.count_nonzero(stuck == code))} devices)",
        )
        for code, marker, color, label in kinds
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
    if title is None:
        title = (
            f"{crossbar.device.name}: effective conductances at "
            f"{crossbar.environment.temperature_k:g} K ({n_in} x {n_out} pairs)"
        )
    fig.suptitle(title)
    return fig


def _deviation_bars(ax, dev: NDArray, ok: NDArray, *, paired: bool) -> None:
    """The bar panel of :func:`ir_drop_map`: each column's current against the ideal, %."""
    n_cols = dev.size
    cols = np.arange(n_cols)
    if paired:
        for start, color, label in ((0, "tab:blue", "G+ columns"), (1, "tab:orange", "G− columns")):
            ax.bar(cols[start::2], dev[start::2], width=0.85, color=color, label=label)
        ax.legend(loc="best", frameon=False, ncols=2)
        ax.set_xlabel("physical column (G+ of weight column k at 2k, G− at 2k + 1)")
    else:
        ax.bar(cols, dev, width=0.85, color="tab:blue")
        ax.set_xlabel("column j")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_ylabel("current vs ideal v @ g (%)")
    ax.set_xlim(-0.7, n_cols - 0.3)
    ax.grid(alpha=0.3, axis="y")
    worst = float(np.nanmax(np.abs(dev))) if np.any(ok) else float("nan")
    ax.set_title(f"column currents with wires: worst deviation {worst:.3g} %")


def ir_drop_map(
    g: ArrayLike,
    v: ArrayLike,
    wires: WireParams,
    *,
    temperature_k: float = 300.0,
    paired: bool = False,
    title: str | None = None,
) -> Figure:
    """Where the IR drop bites: wire voltages over the array and the column-current error.

    Three panels: the voltage lost along the row wires (source voltage minus row-wire node
    voltage, ``v[i] - V_row[i, j]``), the voltage the column wires rise above the sense
    (``V_col[i, j]``), both in millivolts from :func:`~neuromorph.hardware.wires.solve.node_voltages`;
    and, per column, the relative deviation of the wired column current from the ideal
    ``v @ g`` in percent (columns whose ideal current is below 1e-9 of the largest are
    left out: their relative deviation is undefined).  Rows are driven at the left (column
    0) and columns sensed at the bottom (the last row), as in :mod:`neuromorph.hardware.wires.solve`.

    Parameters
    ----------
    g : array_like of shape (n_rows, n_cols), siemens
        Device conductances of one physical array (e.g. :meth:`Crossbar.tile_conductances`).
    v : array_like of shape (n_rows,), volts
        Row input voltages.
    wires : WireParams
    temperature_k : float, default 300.0
        Chip temperature, kelvin (scales the wire resistances).
    paired : bool, default False
        The columns are differential pairs laid out as a crossbar tile (G+ of weight column
        ``k`` in column ``2k``, G- in ``2k + 1``): colour the bars by device sign.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    g = check.array("g", g, ndim=2)
    v = check.array("v", v, ndim=1)
    v_row, v_col = node_voltages(g, v, wires, temperature_k=temperature_k)
    n_rows, n_cols = g.shape
    wired = solve(g, v, wires, temperature_k=temperature_k)
    ideal = v @ g
    ok = np.abs(ideal) > 1e-9 * max(float(np.max(np.abs(ideal))), np.finfo(float).tiny)
    dev = np.full(n_cols, np.nan)
    dev[ok] = 100.0 * (wired[ok] - ideal[ok]) / np.abs(ideal[ok])
    row_drop_mv = 1e3 * (v[:, None] - v_row)
    col_mv = 1e3 * v_col

    panel_h = 3.2
    panel_w = float(np.clip(panel_h * n_cols / n_rows, 2.2, 5.5))
    fig = Figure(figsize=(2 * panel_w + 2.4, panel_h + 3.6), layout="constrained")
    axd = fig.subplot_mosaic([["row", "col"], ["bar", "bar"]], height_ratios=[panel_h, 2.2])
    aspect = "equal" if 0.25 <= n_cols / n_rows <= 4 else "auto"
    for key, data, name, label in (
        ("row", row_drop_mv, "voltage lost along the row wires", r"$v_i - V_{row}$ (mV)"),
        ("col", col_mv, "column wires above the sense", r"$V_{col}$ (mV)"),
    ):
        ax = axd[key]
        im = ax.imshow(data, aspect=aspect, interpolation="nearest", **_diverging(data))
        fig.colorbar(im, ax=ax, label=label, shrink=0.9)
        ax.set_title(name)
        ax.set_xlabel("column j (rows driven at j = 0)")
        ax.set_ylabel(f"row i (sensed at i = {n_rows - 1})")
        _integer_ticks(ax)
    _deviation_bars(axd["bar"], dev, ok, paired=paired)
    if title is None:
        w = wires
        title = (
            f"IR drop in a {n_rows} x {n_cols} array at {temperature_k:g} K "
            f"(row segment {w.r_row_ohm:g} Ω, column segment {w.r_col_ohm:g} Ω at "
            f"{w.t_ref_k:g} K)"
        )
    fig.suptitle(title)
    return fig


def spice_agreement(
    expected: ArrayLike | Sequence[ArrayLike],
    got: ArrayLike | Sequence[ArrayLike],
    *,
    labels: Sequence[str] | None = None,
    title: str = "ngspice against neuromorph",
) -> Figure:
    """ngspice's column currents against the simulator's: scatter and relative error.

    Parameters
    ----------
    expected, got : array_like of shape (n_cols,), amperes, or sequences of such arrays
        The simulator's column currents and ngspice's for the same circuit
        (:attr:`~neuromorph.hardware.spice.CrossbarExport.expected_currents` and
        :func:`~neuromorph.hardware.spice.run_ngspice`).  Give lists (one array per case, e.g. per
        temperature) to overlay several cases.
    labels : sequence of str, optional
        One name per case (default "case 1", "case 2", ... ; none for a single case).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        Left: ngspice against neuromorph with the line y = x.  Right: the relative error
        ``|got - expected| / |expected|`` per column on a log axis (denominators floored at
        1e-9 of the largest current; errors below double-precision epsilon drawn at it).
    """
    exps, gots, labels = spice_cases(expected, got, labels)
    largest = max(float(np.max(np.abs(np.concatenate([e, g])))) for e, g in zip(exps, gots, strict=True))
    scale, unit = _current_unit(largest if largest > 0 else 1.0)
    eps = np.finfo(np.float64).eps

    fig = Figure(figsize=(10.5, 4.4), layout="constrained")
    ax_s, ax_e = fig.subplots(1, 2)
    lo, hi = np.inf, -np.inf
    worst = 0.0
    for k, (e, g, label) in enumerate(zip(exps, gots, labels, strict=True)):
        color = f"C{k}"
        denom = np.maximum(np.abs(e), 1e-9 * max(float(np.max(np.abs(e))), np.finfo(float).tiny))
        rel = np.abs(g - e) / denom
        worst = max(worst, float(rel.max()))
        name = f"max relative error {rel.max():.2g}"
        name = f"{label} ({name})" if label else name
        ax_s.scatter(
            e * scale, g * scale, s=18, color=color, alpha=0.8, label=name, edgecolor="none", zorder=3
        )
        lo, hi = min(lo, e.min(), g.min()), max(hi, e.max(), g.max())
        ax_e.plot(np.arange(e.size), np.maximum(rel, eps), "o", ms=3.5, color=color)
    pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi), 1e-30)
    line = np.array([lo - pad, hi + pad]) * scale
    ax_s.plot(line, line, "--", color="gray", linewidth=1, label="y = x", zorder=2)
    ax_s.set_xlim(line)
    ax_s.set_ylim(line)
    ax_s.set_aspect("equal")
    ax_s.set_xlabel(f"neuromorph column current ({unit})")
    ax_s.set_ylabel(f"ngspice column current ({unit})")
    ax_s.set_title("column currents")
    ax_s.grid(alpha=0.3)
    ax_s.legend(frameon=False, loc="upper left", fontsize="small")
    ax_e.set_yscale("log")
    ax_e.axhline(eps, color="gray", linestyle=":", linewidth=1)
    ax_e.annotate(
        "double-precision ε",
        (1.0, eps),
        xycoords=("axes fraction", "data"),
        xytext=(-4, 3),
        textcoords="offset points",
        ha="right",
        va="bottom",
        color="gray",
        fontsize="small",
    )
    ax_e.set_xlabel("column")
    ax_e.set_ylabel("|ngspice − neuromorph| / |neuromorph|")
    ax_e.set_title(f"relative error per column (worst {worst:.2g})")
    ax_e.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_e.grid(alpha=0.3, which="major")
    fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------- studies
def accuracy_vs_condition(
    values: Sequence[float],
    accuracies: Sequence[float] | Mapping[str, Sequence[float]],
    *,
    xlabel: str,
    log_x: bool = False,
    fraction: bool = True,
    reference: float | None = None,
    reference_label: str = "reference",
    title: str | None = None,
) -> Figure:
    """Accuracy against a condition (temperature, time since programming...), with spread.

    Parameters
    ----------
    values : array_like of shape (n,)
        The condition, in the unit ``xlabel`` names (kelvin, hours...).
    accuracies : sequence of n entries, or dict of label -> such a sequence
        Each entry a number, or a list of numbers (repeats: other seeds or chips), drawn
        as the mean with a mean ± standard deviation band and the repeats as dots.  A dict
        overlays several series (e.g. "hot" and "retrained in place").
    xlabel : str
        Axis label with unit, e.g. ``"temperature (K)"`` or ``"time since programming (h)"``.
    log_x : bool, default False
        Logarithmic condition axis (for times; values must then be > 0).
    fraction : bool, default True
        Accuracies are fractions in [0, 1] (the package's convention) and are drawn in
        percent; False if they already are percentages.
    reference : float, optional
        A horizontal dashed line (e.g. the software network's accuracy), same unit as the
        accuracies.
    reference_label : str
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(xlabel, str) or not xlabel:
        raise TypeError(f"xlabel must be a non-empty string with a unit; got {xlabel!r}.")
    x = finite_1d("values", values)
    if log_x and not np.all(x > 0):
        raise ValueError(f"values must be > 0 with log_x=True; got min {x.min():.6g}.")
    series = dict(accuracies) if isinstance(accuracies, dict) else {None: accuracies}
    pct = 100.0 if fraction else 1.0
    order = np.argsort(x, kind="stable")
    fig = Figure(figsize=(6.8, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for k, (label, acc) in enumerate(series.items()):
        mean, std, points = series_stats("accuracies", x.size, list(acc), pct)
        color = f"C{k}"
        ax.plot(x[order], mean[order], "o-", color=color, label=label, zorder=3)
        if np.any(std > 0):
            ax.fill_between(
                x[order],
                (mean - std)[order],
                (mean + std)[order],
                color=color,
                alpha=0.2,
                linewidth=0,
                label="mean ± std" if len(series) == 1 else None,
            )
            xs = np.concatenate([np.full(p.size, xv) for xv, p in zip(x, points, strict=True)])
            ax.scatter(xs, np.concatenate(points), s=10, color=color, alpha=0.5, zorder=2, edgecolor="none")
    if reference is not None:
        ax.axhline(float(reference) * pct, color="gray", linestyle="--", linewidth=1, label=reference_label)
    if log_x:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy (%)")
    ax.grid(alpha=0.3, which="both" if log_x else "major")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, loc="best")
    if title is not None:
        ax.set_title(title)
    return fig


#: What a copy-out curve can show, with its axis label and whether its axis is logarithmic.
_COPYOUT_METRICS = {
    "fidelity": ("fidelity (% top-1 agreement with the chip)", False),
    "weight_rel_rms": ("worst-layer relative RMS weight error", True),
}
#: What a copy-out curve can be drawn against (a log axis each), with its label.
_COPYOUT_COSTS = {
    "queries": "queries to the chip (input vectors presented)",
    "energy_j": "chip energy spent on the copy (J)",
}
_COST_TITLES = {"queries": "against queries", "energy_j": "against energy"}


def copyout_curves(
    methods: Sequence[Mapping],
    *,
    metric: Literal["fidelity", "weight_rel_rms"] = "fidelity",
    against: Sequence[Literal["queries", "energy_j"]] = ("queries", "energy_j"),
    connect: bool = True,
    fraction: bool = True,
    title: str = "copying a chip out: fidelity against cost",
) -> Figure:
    """A copy's quality against what it cost, one curve per method: the copy-out figure.

    Parameters
    ----------
    methods : sequence of dict
        Rows as :func:`neuromorph.studies.copyout.study` records them, each with ``method``
        (str), ``metric`` and every key of ``against``; several rows of one method are several
        budgets (or points), joined in order of cost.  Rows whose ``metric`` is None are left
        out.  An optional ``self_agreement`` (the chip against a second read of itself) is
        drawn as a dashed reference line when the metric is the fidelity.
    metric : {"fidelity", "weight_rel_rms"}
        Top-1 agreement of the copy with the chip (in percent when ``fraction``), or the
        worst layer's relative RMS weight error against the chip's true weights (log axis).
    against : sequence of {"queries", "energy_j"}
        One panel per cost, each on a log axis: queries presented to the chip (> 0), chip
        energy spent on the copy (joules, > 0).
    connect : bool, default True
        Join each method's points by a line (budgets of one study); False draws markers
        only (points of a sweep, many dies at one budget).
    fraction : bool, default True
        Fidelities are fractions in [0, 1], drawn in percent; False if already percent.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    if metric not in _COPYOUT_METRICS:
        raise ValueError(f"metric must be one of {list(_COPYOUT_METRICS)}; got {metric!r}.")
    against = tuple(against)
    if not against or any(key not in _COPYOUT_COSTS for key in against):
        raise ValueError(f"against must be a non-empty list from {list(_COPYOUT_COSTS)}; got {against!r}.")
    scale = 100.0 if fraction and metric == "fidelity" else 1.0
    groups, selfs = copyout_groups(methods, metric, against, scale)
    ylabel, log_y = _COPYOUT_METRICS[metric]
    two = len(against) > 1
    fig = Figure(figsize=(10.5, 4.6) if two else (7, 4.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(against), sharey=True))
    style = {"marker": "o", "linestyle": "-" if connect else "none", "alpha": 1.0 if connect else 0.7}
    for k, (name, pts) in enumerate(groups.items()):
        cols = np.array(sorted(pts)).T
        for i, ax in enumerate(axes):
            ax.plot(cols[i], cols[-1], color=f"C{k}", label=name if i == 0 else None, **style)
    for ax, key in zip(axes, against, strict=True):
        if selfs:
            ax.axhline(
                float(np.mean(selfs)),
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
    if log_y:
        axes[0].set_yscale("log")
    axes[0].set_ylabel(ylabel)
    handles, labels = axes[0].get_legend_handles_labels()
    if labels:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), frameon=False)
    fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------- sweeps
def _no_points(ax) -> None:
    ax.text(0.5, 0.5, "no finished points", ha="center", va="center", transform=ax.transAxes)


#: Histogram bins of :func:`sweep_accuracy_distribution`: at least a few, at most a readable 30.
_MIN_BINS, _MAX_BINS = 6, 30


def sweep_accuracy_distribution(rows: Sequence[Mapping]) -> Figure:
    """Histogram of stressed test accuracy over a sweep's points, one step curve per preset/ADC.

    Parameters
    ----------
    rows : sequence of dict
        Rows of :func:`neuromorph.studies.sweep.run_sweep` (``status``, ``preset``,
        ``adc_bits``, ``accuracy`` as a fraction); failed rows are left out.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    groups: dict[str, list[float]] = {}
    for r in finished_rows(rows):
        groups.setdefault(sweep_group(r), []).append(100 * r["accuracy"])
    every = [a for g in groups.values() for a in g]
    if every:
        lo, hi = min(every), max(every)
        bins = np.linspace(lo - 0.5, hi + 0.5, max(_MIN_BINS, min(_MAX_BINS, len(every) // 2 + 2)))
        for name, acc in sorted(groups.items()):
            label = f"{name}: {np.mean(acc):.1f} +/- {np.std(acc):.1f} % (n={len(acc)})"
            ax.hist(acc, bins=bins, histtype="step", linewidth=1.8, label=label)
        ax.legend(fontsize=8)
    else:
        _no_points(ax)
    ax.set_xlabel("test accuracy after stress (%)")
    ax.set_ylabel("points (dies x conditions)")
    ax.set_title("accuracy over fabricated dies")
    ax.grid(alpha=0.3)
    return fig


def sweep_accuracy_vs_temperature(rows: Sequence[Mapping]) -> Figure:
    """Mean stressed accuracy of a sweep against temperature, +/- 1 std band, min-max bars.

    One curve per preset/ADC group (its temperatures may differ from the other groups');
    every point is drawn faintly.  ``rows`` as for :func:`sweep_accuracy_distribution`, with
    ``temperature_k``.  Returns a Figure.
    """
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    groups: dict[str, dict[float, list[float]]] = {}
    for r in finished_rows(rows):
        by_t = groups.setdefault(sweep_group(r), {})
        by_t.setdefault(float(r["temperature_k"]), []).append(100 * r["accuracy"])
    for i, (name, by_t) in enumerate(sorted(groups.items())):
        color = f"C{i % 10}"
        ts = np.array(sorted(by_t))
        mean, std, lo, hi = (np.array([f(by_t[t]) for t in ts]) for f in (np.mean, np.std, np.min, np.max))
        for t in ts:
            ax.plot([t] * len(by_t[t]), by_t[t], ".", color=color, alpha=0.35)
        ax.errorbar(
            ts,
            mean,
            yerr=[mean - lo, hi - mean],
            fmt="o-",
            color=color,
            capsize=3,
            label=f"{name} (mean, min-max)",
        )
        ax.fill_between(ts, mean - std, mean + std, color=color, alpha=0.15)
    if groups:
        ax.legend(fontsize=8)
    else:
        _no_points(ax)
    ax.set_xlabel("stress temperature (K)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("accuracy against temperature (band: +/- 1 std over dies)")
    ax.grid(alpha=0.3)
    return fig


# --------------------------------------------------------------------------- conditions
def accuracy_bars(
    labels: Sequence[str], accuracies: Sequence[float], *, title: str = "Accuracy", fraction: bool = True
) -> Figure:
    """Accuracy (%) for named conditions as labelled bars (e.g. cold, hot, aged, retrained)."""
    values = [100.0 * a if fraction else float(a) for a in accuracies]
    if len(labels) != len(values) or not values:
        raise ValueError(
            f"labels and accuracies must be non-empty and as long as each other; got "
            f"{len(labels)} labels and {len(values)} accuracies."
        )
    fig = Figure(figsize=(1.6 * len(values) + 2.5, 3.8), layout="constrained")
    ax = fig.add_subplot()
    bars = ax.bar(range(len(values)), values, color="tab:blue")
    ax.set_xticks(range(len(values)), labels)
    ax.set_ylabel("test accuracy (%)")
    ax.set_xlabel("condition")
    low = min(values)
    ax.set_ylim(max(0.0, low - 10.0), min(100.0, max(values) + 3.0))
    for bar, v in zip(bars, values, strict=True):
        ax.annotate(
            f"{v:.1f}",
            (bar.get_x() + bar.get_width() / 2, v),
            ha="center",
            va="bottom",
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return fig
