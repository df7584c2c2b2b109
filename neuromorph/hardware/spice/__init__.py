"""SPICE netlists out, ngspice results in (layer 1: hardware).

Contract
--------
:func:`write_netlist` turns one crossbar read (conductances, row voltages, wires,
temperature) into a self-contained ngspice netlist; :func:`run_ngspice` runs such a netlist
through ngspice's shared library (via PySpice) and returns the column currents in amperes;
:func:`simulate` does both.  The circuit is the one solved by
:mod:`neuromorph.hardware.wires.solve` (same nodes, same wire segments, same driver and sense), so
ngspice's answer must equal :func:`neuromorph.hardware.wires.solve.solve` to rounding.

* Every device is a resistor of ``1 / g`` ohms written with 17 significant digits (a
  zero conductance is an open circuit and is left out).  With a :class:`TemperatureLaw` the
  resistance is instead an expression in ngspice's ``temper`` (Celsius), so ``.temp`` and
  ``.dc temp`` sweeps re-evaluate the device's own law; the wires then carry copper's
  law as an expression too.
* Zero-ohm wires, drivers or sense are written as merged nodes, never as 0-ohm resistors.
* ``.options temp tnom`` are set explicitly.  Resistors have no ``tc1``/``tc2``, so nothing
  in ngspice scales them with temperature except the expressions written here.
* Column sense: ``"ammeter"`` (a 0 V source; the current is its branch current),
  ``"tia"`` (the ``nm_tia`` op-amp transimpedance stage of ``circuits/tia.lib``), or
  ``"resistor"`` (``I = V_sense / r_sense_ohm``).

A finite-gain TIA with gain ``A`` and feedback ``R_f`` is exactly a sense resistance
``R_f / (1 + A)`` whose current is ``-V_out (1 + 1/A) / R_f``; that current is what is
returned.  With the defaults (``A = 1e12``, ``R_f = 1 kOhm``) the input resistance is
1e-9 ohm, which moves a column current by about ``1e-9 ohm x`` (the column's total
conductance), i.e. below 1e-11 relative for realistic arrays.

PySpice is imported lazily, the first time ngspice is needed.  Every function that runs
ngspice takes ``timeout_s`` (seconds, default None: no limit); runs can be interrupted and
log their progress (:mod:`~neuromorph.hardware.spice.ngspice`).

Modules: :mod:`~neuromorph.hardware.spice.common` (names, numbers, subcircuits,
:class:`TemperatureLaw`), :mod:`~neuromorph.hardware.spice.netlist` (:func:`write_netlist`),
:mod:`~neuromorph.hardware.spice.ngspice` (:func:`run_ngspice`, :func:`simulate`),
:mod:`~neuromorph.hardware.spice.export` (:func:`export_crossbar`),
:mod:`~neuromorph.hardware.spice.cells` (1T1R and sinh cells as netlist lines),
:mod:`~neuromorph.hardware.spice.transient` (``.tran`` netlists of a DAC step charging the
lines, and the settling time read off them).

Layer 1 (hardware).  May import the shared leaves, :mod:`neuromorph.hardware.devices` (for
Boltzmann's constant) and :mod:`neuromorph.hardware.wires`; :func:`export_crossbar` imports
:mod:`neuromorph.hardware.crossbar` when called (the crossbar does not import this package).
"""

from neuromorph.hardware.spice.common import MEMRISTOR_TEMP_LIB, TIA_LIB, TemperatureLaw, safe_name
from neuromorph.hardware.spice.export import CrossbarExport, export_crossbar
from neuromorph.hardware.spice.netlist import write_netlist
from neuromorph.hardware.spice.ngspice import run_ngspice, run_ngspice_transient, simulate
from neuromorph.hardware.spice.transient import (
    Transient,
    measured_settling_s,
    simulate_transient,
    transient_settling_s,
    write_transient_netlist,
)

__all__ = [
    "MEMRISTOR_TEMP_LIB",
    "TIA_LIB",
    "CrossbarExport",
    "TemperatureLaw",
    "Transient",
    "export_crossbar",
    "measured_settling_s",
    "run_ngspice",
    "run_ngspice_transient",
    "safe_name",
    "simulate",
    "simulate_transient",
    "transient_settling_s",
    "write_netlist",
    "write_transient_netlist",
]
