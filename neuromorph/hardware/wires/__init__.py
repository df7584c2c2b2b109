"""Wires of a crossbar tile: resistances, the nodal system and its exact solution (layer 1).

Layer 1 (hardware).  The modules here may import the shared leaves only (and each other);
the crossbar and the SPICE export import this package.

* :mod:`~neuromorph.hardware.wires.params`: :class:`WireParams` (row/column wire, driver and
  sense resistances, copper's temperature law).
* :mod:`~neuromorph.hardware.wires.technology`: :func:`wires_for_node` (NeuroSim's cited
  wire resistance and capacitance per segment at a technology node).
* :mod:`~neuromorph.hardware.wires.solve`: the nodal system (:func:`nodal_system`), column
  currents (:func:`solve`) and node voltages (:func:`node_voltages`) of one array, exact or
  iterative.
* :mod:`~neuromorph.hardware.wires.array`: :class:`WiredArray`, a tile's exact transfer
  matrix kept current by low-rank updates.
* private: ``_nested`` (nested-dissection ordering and symbolic analysis), ``_multifrontal``
  (its numeric phase and low-rank updates) and their Numba kernels ``_factor_kernels``,
  ``_solve_kernels``, ``_pcg_kernels``.

Note that ``neuromorph.hardware.wires.solve`` as an attribute is the function :func:`solve`,
not the module of that name; import the module's other names with
``from neuromorph.hardware.wires.solve import ...``.
"""

from neuromorph.hardware.wires.array import WiredArray
from neuromorph.hardware.wires.params import WireParams
from neuromorph.hardware.wires.solve import nodal_system, node_voltages, solve
from neuromorph.hardware.wires.technology import wires_for_node

__all__ = ["WireParams", "WiredArray", "nodal_system", "node_voltages", "solve", "wires_for_node"]
