"""Netlist lines of the crossbar cells beyond a resistor: 1T1R and sinh cells (layer 1).

The cells of :mod:`neuromorph.hardware.wires.cells`, written as the same circuit the
Newton solver (:func:`neuromorph.hardware.wires.solve.cell_solution`) solves:

* ``"one_t_one_r"``: the device as a resistor ``1/g`` from the row node to the cell's
  internal node ``<p>_m<i>_<j>``, then an ngspice level-1 NMOS from that node (drain) to the
  column node (source), gate on the word line ``<p>_wl`` (a source at ``v_gate_v``), bulk at
  ground.  Its model ``<p>_nmos`` has ``vto = v_th_v``, ``kp = k(T)`` with ``W = L`` (so
  ``Beta = kp`` exactly), ``lambda = 0``, ``gamma = 0`` and no junction saturation current
  (``is = 0``, ``js = 0``); its ``tnom`` is the simulation temperature, so ngspice applies no
  temperature law of its own: ``k`` is written at ``T`` from the cell's mobility law, the
  threshold is held.  ``gmin`` is set to :data:`GMIN_S` (ngspice puts ``gmin`` across every
  MOSFET junction; its default 1e-12 S would leak ~1e-8 of a cell's current).
* ``"nonlinear"``: a behavioural current source ``I = g v0 sinh((V(row) - V(col)) / v0)``
  (a ``B`` element; ngspice differentiates the expression for its Newton steps).

Nonlinear cells also get tight Newton tolerances (:data:`NEWTON_OPTIONS`): ngspice's
default ``reltol = 1e-3`` stops its iteration far from the 1e-9 agreement the tests ask.

Layer 1 (hardware).  May import the shared leaves, :mod:`neuromorph.hardware.wires` and its
sibling :mod:`neuromorph.hardware.spice.common` only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from neuromorph.hardware.spice.common import ZERO_C, fmt
from neuromorph.hardware.wires.cells import CellModel

__all__ = ["GMIN_S", "NEWTON_OPTIONS", "cell_device_lines", "cell_model_lines"]

#: ngspice's minimum junction conductance for netlists with transistors, siemens: small
#: enough that the leak it adds (GMIN_S x 0.2 V per junction) is below 1e-18 A.
GMIN_S = 1e-24
#: Newton tolerances for nonlinear netlists, tighter than ngspice's defaults (reltol 1e-3,
#: vntol 1e-6, abstol 1e-12) so the answer reflects the circuit, not the stopping rule.
#: Measured on a 32 x 32 sinh array (v0 = 0.1 V): reltol 1e-12 converges in 0.3 s; 1e-14
#: sits below what the iteration can reach in double precision, and ngspice never returned.
NEWTON_OPTIONS = ".options reltol=1e-12 vntol=1e-15 abstol=1e-21"


def cell_model_lines(cell: CellModel, p: str, temperature_k: float) -> list[str]:
    """Options, model cards and word-line source a netlist with ``cell`` needs (none for resistive)."""
    if cell.is_linear:
        return []
    lines = [f"* cells: {cell.kind}", NEWTON_OPTIONS]
    if cell.kind == "one_t_one_r":
        k = cell.k_s(temperature_k)
        t_c = temperature_k - ZERO_C
        lines += [
            f"* access transistor: level-1 NMOS, k = {fmt(k)} A/V^2 at {fmt(temperature_k)} K "
            f"(r_on {fmt(cell.r_access_ohm)} ohm at {fmt(cell.t_ref_k)} K, "
            f"mobility ~ T^-{fmt(cell.mobility_exponent)})",
            f".options gmin={fmt(GMIN_S)}",
            f".model {p}_nmos nmos level=1 vto={fmt(cell.v_th_v)} kp={fmt(k)} lambda=0 gamma=0 "
            f"is=0 js=0 tnom={fmt(t_c)}",
            f"V{p}_wl {p}_wl 0 {fmt(cell.v_gate_v)}",
        ]
    else:
        lines.append(f"* sinh cells: I = g v0 sinh(V / v0), v0 = {fmt(cell.v0_v)} V")
    return lines


def cell_device_lines(
    cell: CellModel,
    p: str,
    g: NDArray[np.float64],
    row: Callable[[int, int], str],
    col: Callable[[int, int], str],
) -> list[str]:
    """One cell per device with ``g > 0`` (``g = 0`` is open); ``row``/``col`` name its nodes."""
    lines = [f"* devices ({cell.kind} cells)"]
    for i, j in np.argwhere(g > 0).tolist():
        a, b = row(i, j), col(i, j)
        if cell.kind == "nonlinear":
            v0 = fmt(cell.v0_v)
            lines.append(f"B{p}_g{i}_{j} {a} {b} I={fmt(g[i, j] * cell.v0_v)}*sinh((V({a})-V({b}))/{v0})")
        else:
            m = f"{p}_m{i}_{j}"
            lines.append(f"R{p}_g{i}_{j} {a} {m} {fmt(1.0 / g[i, j])}")
            lines.append(f"M{p}_t{i}_{j} {m} {p}_wl {b} 0 {p}_nmos W=1e-6 L=1e-6")
    return lines
