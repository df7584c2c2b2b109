"""Figures of arrays: conductance maps, IR drop, and ngspice against the simulator (layer 5).

Part of :mod:`neuromorph.faces.plots`; each function returns a :class:`Figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike, NDArray

from neuromorph import _validate as check
from neuromorph.faces._figure_data import conditions, display_name, spice_cases
from neuromorph.faces.plots._base import Figure, current_unit, diverging, integer_ticks
from neuromorph.hardware.crossbar import Crossbar
from neuromorph.hardware.devices import StuckCode
from neuromorph.hardware.wires import WireParams, node_voltages, solve

#: :meth:`Crossbar.stuck_codes` codes: stuck at the device's lower / upper bound.
_STUCK_LO, _STUCK_HI = StuckCode.LOW, StuckCode.HIGH
#: Smallest stuck-device marker, points^2 (about 6 pt across): visible at print size on a
#: large array, where a marker then covers a few cells.
MIN_STUCK_MARKER_AREA = 36.0
#: Largest stuck-device marker, points^2 (about 9 pt across), for small arrays.
MAX_STUCK_MARKER_AREA = 80.0


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
        Figure title; a second line always names the device (display name), the array's size,
        its temperature and its age since programming.

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
    # Marker area (points^2) follows the cell size on small arrays; on large ones it stays
    # visible and covers a few cells.
    cell_pt = 72.0 * min(panel_w / n_out, panel_h / n_in)
    area = float(np.clip((0.8 * cell_pt) ** 2, MIN_STUCK_MARKER_AREA, MAX_STUCK_MARKER_AREA))
    kinds = (
        (_STUCK_LO, "v", "white", r"stuck at $g_{lo}$"),
        (_STUCK_HI, "^", "tab:red", r"stuck at $g_{hi}$"),
    )
    image = None
    names = ("G+ (positive devices)", "G− (negative devices)")
    edge = 0.6  # a black outline keeps white and red markers apart from the colour map
    for k, (ax, name) in enumerate(zip(axes, names, strict=True)):
        image = ax.imshow(
            g_us[k], cmap="viridis", vmin=vmin, vmax=vmax, aspect=aspect, interpolation="nearest"
        )
        for code, marker, color, _ in kinds:
            i, j = np.nonzero(stuck[k] == code)
            ax.scatter(j, i, s=area, marker=marker, facecolor=color, edgecolor="black", linewidth=edge)
        ax.set_title(name)
        ax.set_xlabel("output column j")
        integer_ticks(ax)
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
    env = crossbar.environment
    where = f"{display_name(crossbar.device)}, {n_in} x {n_out} pairs, " + conditions(
        env.temperature_k, env.time_s
    )
    fig.suptitle(f"effective conductances\n{where}" if title is None else f"{title}\n{where}")
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
        im = ax.imshow(data, aspect=aspect, interpolation="nearest", **diverging(data))
        fig.colorbar(im, ax=ax, label=label, shrink=0.9)
        ax.set_title(name)
        ax.set_xlabel("column j (rows driven at j = 0)")
        ax.set_ylabel(f"row i (sensed at i = {n_rows - 1})")
        integer_ticks(ax)
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
    scale, unit = current_unit(largest if largest > 0 else 1.0)
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
