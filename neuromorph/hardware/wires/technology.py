"""Cited wire resistance and capacitance per technology node (layer 1: hardware).

Contract
--------
:func:`wires_for_node` returns the :class:`~neuromorph.hardware.wires.params.WireParams`
of one crossbar line segment at a CMOS technology node, computed the way NeuroSim does
(DNN+NeuroSim V2.1, ``Training_pytorch/NeuroSIM/Param.cpp`` and ``SubArray.cpp``):

* resistance per unit length ``rho / (w^2 AR)`` with the wire width ``w``, aspect ratio
  ``AR`` and resistivity ``rho`` of NeuroSim's wire table (``Param.cpp``,
  ``switch(wireWidth)``: e.g. 32 nm node: ``w = 40 nm, AR = 1.90, rho = 4.03e-8 Ohm m``);
* segment length = cell pitch = ``w`` times the cell size in feature sizes (NeuroSim:
  2F x 2F for a cross-point cell, 4F x 4F for 1T1R, ``heightInFeatureSizeCrossbar`` /
  ``heightInFeatureSize1T1R``);
* capacitance per unit length 0.2 fF/um (``capRow1 = lengthRow * 0.2e-15/1e-6`` in
  ``SubArray.cpp``), so ``c_segment_f = 0.2e-9 F/m * pitch``.

So a cross-point segment at 32 nm is ``2 * 4.03e-8 / (40e-9 * 1.90) = 1.06 ohm`` and
``0.2e-9 * 80e-9 = 1.6e-17 F``.  NeuroSim's own wire temperature rule
(``rho (1 + 0.00451 |T - 300|)``) is not copied: the returned wires keep copper's linear
coefficient of :class:`WireParams` (see its ``tcr_per_k``).

Layer 1 (hardware).  Imports its sibling :mod:`neuromorph.hardware.wires.params` only.
"""

from __future__ import annotations

from typing import Literal

from neuromorph.hardware.wires.params import WireParams

__all__ = ["CELL_SIZE_F", "NODES_NM", "LayoutT", "wire_table", "wires_for_node"]

LayoutT = Literal["crossbar", "1t1r"]

#: Cell pitch in feature sizes (NeuroSim Param.cpp: heightInFeatureSizeCrossbar = 2,
#: heightInFeatureSize1T1R = 4; the cells are square, so rows and columns alike).
CELL_SIZE_F: dict[str, int] = {"crossbar": 2, "1t1r": 4}

#: NeuroSim's wire table (Param.cpp, ``switch(wireWidth)``, DNN+NeuroSim V2.1):
#: node (nm) -> (wire width m, aspect ratio, resistivity Ohm m).  Nodes 130/90 share the
#: 200 nm wire and 14/10 the 22 nm wire, as NeuroSim's comments map them.
_WIRE_TABLE: dict[int, tuple[float, float, float]] = {
    130: (200e-9, 2.10, 2.42e-8),
    90: (200e-9, 2.10, 2.42e-8),
    65: (100e-9, 2.30, 2.73e-8),
    45: (50e-9, 2.34, 3.91e-8),
    32: (40e-9, 1.90, 4.03e-8),
    22: (32e-9, 1.90, 4.51e-8),
    14: (22e-9, 2.00, 5.41e-8),
    10: (22e-9, 2.00, 5.41e-8),
    7: (14e-9, 2.10, 7.43e-8),
}

#: The technology nodes :func:`wires_for_node` knows, nm.
NODES_NM: tuple[int, ...] = tuple(sorted(_WIRE_TABLE))

#: Line capacitance per unit length, F/m: NeuroSim's 0.2 fF/um (SubArray.cpp, capRow1).
_C_PER_M = 0.2e-15 / 1e-6


def wire_table(node_nm: int) -> tuple[float, float, float]:
    """NeuroSim's ``(wire width m, aspect ratio, resistivity Ohm m)`` at ``node_nm``."""
    if isinstance(node_nm, bool) or not isinstance(node_nm, int):
        raise TypeError(f"node_nm must be an int; got {type(node_nm).__name__}.")
    if node_nm not in _WIRE_TABLE:
        raise ValueError(f"node_nm must be one of {NODES_NM}; got node_nm={node_nm!r}.")
    return _WIRE_TABLE[node_nm]


def wires_for_node(node_nm: int = 32, layout: LayoutT = "crossbar", **overrides: object) -> WireParams:
    """Wires of a crossbar at a technology node, after NeuroSim's wire model.

    Parameters
    ----------
    node_nm : int, default 32
        Technology node, one of :data:`NODES_NM`.
    layout : {"crossbar", "1t1r"}, default "crossbar"
        Cell layout, which sets the pitch (2F or 4F, :data:`CELL_SIZE_F`).
    **overrides
        Other :class:`WireParams` fields (driver, sense, temperature law, ``cell``...).

    Returns
    -------
    WireParams
        ``r_row_ohm = r_col_ohm = rho * pitch / (w^2 AR)`` and
        ``c_segment_f = 0.2 fF/um * pitch``, referenced to 300 K (NeuroSim's ``temp``).
    """
    w, ar, rho = wire_table(node_nm)
    if layout not in CELL_SIZE_F:
        raise ValueError(f"layout must be one of {tuple(CELL_SIZE_F)}; got layout={layout!r}.")
    pitch = w * CELL_SIZE_F[layout]
    r_seg = rho * pitch / (w * w * ar)
    fields: dict[str, object] = {"r_row_ohm": r_seg, "r_col_ohm": r_seg, "c_segment_f": _C_PER_M * pitch}
    fields.update(overrides)
    return WireParams(**fields)
