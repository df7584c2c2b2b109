"""Wires of a crossbar tile: resistances, the nodal system and its exact solution (layer 1).

:class:`WireParams` (row/column wire, driver and sense resistances), :func:`solve` and
:func:`node_voltages` for one array, and :class:`WiredArray`, a tile's exact transfer matrix
kept current by low-rank updates.  May import the shared leaves only; the crossbar imports it.
"""

from neuromorph.hardware.wires.solve import WiredArray, WireParams, nodal_system, node_voltages, solve

__all__ = ["WireParams", "WiredArray", "nodal_system", "node_voltages", "solve"]
