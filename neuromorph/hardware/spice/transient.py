"""Transient netlists: the read as a DAC step charging the lines, and its settling (layer 1).

Contract
--------
:func:`write_transient_netlist` writes the circuit of
:func:`~neuromorph.hardware.spice.netlist.write_netlist` (same nodes, wires, cells and
sense) with three changes:

* every row input is a step: 0 V until ``t = 0``, then a linear ramp to its DAC voltage in
  ``t_rise_s`` (a ``PWL`` source; the DAC's own slew);
* every wire node carries the line capacitance of the segments that meet there:
  ``wires.c_segment_f`` per cell node to ground (a node merged by a zero-ohm wire carries
  the sum over its cells; nodes pinned to a source or a virtual ground carry none);
* the analysis is ``.tran t_step_s t_stop_s 0 t_step_s`` (time points at most ``t_step_s``
  apart) with ``uic`` (all capacitors start at 0 V, as the lines do before the step).

:func:`simulate_transient` runs it (:func:`~neuromorph.hardware.spice.ngspice.run_ngspice_transient`),
:func:`measured_settling_s` reads a settling time off the waveforms: the first time after
which every column current stays within half an LSB of its final value, the LSB being
``2^-bits`` of the largest final column current (the converter's full scale), with the
final values from the simulator's own DC solution.  :func:`transient_settling_s` does all
three.  :func:`neuromorph.hardware.timing.settling_time_s` is the analytic (Elmore)
estimate it is compared with (tests).

Layer 1 (hardware).  May import the shared leaves, :mod:`neuromorph.hardware.wires`,
:mod:`neuromorph.hardware.timing` and its sibling modules only.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph import _validate as val
from neuromorph.hardware import timing
from neuromorph.hardware.spice.common import READ_TAG, SenseT, fmt, safe_name
from neuromorph.hardware.spice.netlist import NodeNames, write_netlist
from neuromorph.hardware.spice.ngspice import run_ngspice_transient
from neuromorph.hardware.wires import WireParams
from neuromorph.hardware.wires import solve as wire_solve

__all__ = [
    "Transient",
    "measured_settling_s",
    "simulate_transient",
    "transient_settling_s",
    "write_transient_netlist",
]

#: Default stop time, in units of the Elmore estimate of the lines' time constant
#: (:func:`neuromorph.hardware.timing.line_time_constant_s`): a 10-bit settle is ~7.6 of
#: them, so 40 leaves room for an estimate off by a factor of 5.
_T_STOP_TAUS = 40.0
#: Default time points per run (``t_step_s = t_stop_s / _N_POINTS``): resolves the settling
#: time to 0.25 % of the stop time.
_N_POINTS = 400
#: Default DAC ramp, as a fraction of the Elmore time constant: a step as far as the lines
#: can tell, without an infinitely fast edge for the integrator.
_RISE_TAUS = 1e-3


class Transient(NamedTuple):
    """Waveforms of one transient read: ``time_s`` (n_t,), ``currents`` (n_t, n_cols), amperes."""

    time_s: NDArray[np.float64]
    currents: NDArray[np.float64]


def _time_constant_s(shape: tuple[int, int], wires: WireParams, temperature_k: float) -> float:
    w = wires.at_temperature(temperature_k)
    return timing.line_time_constant_s(
        shape[0],
        shape[1],
        r_row_ohm=w.r_row_ohm,
        r_col_ohm=w.r_col_ohm,
        c_segment_f=w.c_segment_f,
        r_driver_ohm=w.r_driver_ohm,
        r_sense_ohm=w.r_sense_ohm if w.sense == "resistor" else 0.0,
    )


def _capacitor_lines(nodes: NodeNames, shape: tuple[int, int], wires: WireParams, sense: SenseT) -> list[str]:
    """One capacitor to ground per distinct wire node: ``c_segment_f`` per cell it holds."""
    p = nodes.p
    count: dict[str, int] = {}
    for i in range(shape[0]):
        for j in range(shape[1]):
            count[nodes.row(i, j)] = count.get(nodes.row(i, j), 0) + 1
            count[nodes.col(i, j)] = count.get(nodes.col(i, j), 0) + 1
    pinned = re.compile(rf"^{p}_in\d+$" + (rf"|^{p}_cb\d+$" if sense != "resistor" else ""))
    lines = [f"* line capacitance: {fmt(wires.c_segment_f)} F per cell node"]
    for k, (node, n) in enumerate(count.items()):
        if not pinned.match(node):
            lines.append(f"C{p}_l{k} {node} 0 {fmt(n * wires.c_segment_f)}")
    return lines


def write_transient_netlist(
    g: ArrayLike,
    v: ArrayLike,
    wires: WireParams,
    *,
    temperature_k: float = 300.0,
    sense: SenseT | None = None,
    name: str = "xbar",
    t_stop_s: float | None = None,
    t_step_s: float | None = None,
    t_rise_s: float | None = None,
    path: str | os.PathLike | None = None,
) -> str:
    """A ``.tran`` netlist of one read: the DAC step charging the wired lines.

    Parameters
    ----------
    g, v, temperature_k, sense, name
        As for :func:`~neuromorph.hardware.spice.netlist.write_netlist`.
    wires : WireParams
        With ``c_segment_f > 0`` (line capacitance per segment, farads).
    t_stop_s, t_step_s, t_rise_s : float, optional
        Stop time, largest time step and DAC ramp, seconds.  Defaults: 40, 1/10 and 1e-3
        of the Elmore time constant of the lines
        (:func:`neuromorph.hardware.timing.line_time_constant_s`).
    path : str or path-like, optional
        Also write the netlist to this file.

    Returns
    -------
    str
    """
    if not isinstance(wires, WireParams):
        raise TypeError(f"wires must be a WireParams; got {type(wires).__name__}.")
    if not wires.c_segment_f > 0:
        raise ValueError(
            f"wires.c_segment_f must be > 0 for a transient netlist; got c_segment_f={wires.c_segment_f!r}. "
            "Use neuromorph.hardware.wires.wires_for_node for a cited value."
        )
    dc = write_netlist(g, v, wires, temperature_k=temperature_k, sense=sense, name=name)
    g_arr = np.asarray(g, dtype=np.float64)
    tau = _time_constant_s(g_arr.shape, wires, temperature_k)
    t_stop = val.positive("t_stop_s", t_stop_s if t_stop_s is not None else _T_STOP_TAUS * tau)
    t_step = val.positive("t_step_s", t_step_s if t_step_s is not None else t_stop / _N_POINTS)
    t_rise = val.positive("t_rise_s", t_rise_s if t_rise_s is not None else _RISE_TAUS * tau)
    p = safe_name(name)
    sense_now = dc.split(" sense=", 1)[1].split()[0]
    nodes = NodeNames(p, g_arr.shape, wires)
    source = re.compile(rf"^(V{p}_in\d+ {p}_in\d+ 0) (\S+)$")
    out = []
    for line in dc.splitlines():
        m = source.match(line)
        if m:
            line = f"{m.group(1)} PWL(0 0 {fmt(t_rise)} {m.group(2)})"
        elif line.startswith(READ_TAG):
            line += " analysis=tran"
        elif line == ".op":
            out += _capacitor_lines(nodes, g_arr.shape, wires, sense_now)
            line = f".tran {fmt(t_step)} {fmt(t_stop)} 0 {fmt(t_step)} uic"
        out.append(line)
    text = "\n".join(out)
    if path is not None:
        with open(path, "w", encoding="ascii") as fh:
            fh.write(text)
    return text


def simulate_transient(
    g: ArrayLike, v: ArrayLike, wires: WireParams, *, timeout_s: float | None = None, **kwargs
) -> Transient:
    """:func:`write_transient_netlist` (same arguments) then ngspice: the read's waveforms.

    ``timeout_s`` (seconds, None for no limit) goes to
    :func:`~neuromorph.hardware.spice.ngspice.run_ngspice_transient`.
    """
    netlist = write_transient_netlist(g, v, wires, **kwargs)
    return Transient(*run_ngspice_transient(netlist, timeout_s=timeout_s))


def measured_settling_s(time_s: ArrayLike, currents: ArrayLike, final: ArrayLike, *, bits: int) -> float:
    """First time after which every column stays within half an LSB of its final current, seconds.

    Parameters
    ----------
    time_s : array_like of shape (n_t,), seconds, increasing
    currents : array_like of shape (n_t, n_cols), amperes
    final : array_like of shape (n_cols,), amperes
        Settled column currents (e.g. the DC solution).
    bits : int >= 1
        Converter resolution: half an LSB is ``2^-(bits + 1) max |final|``.

    Returns
    -------
    float
        Linearly interpolated between the last time point outside the band and the next;
        ``inf`` when the waveform is still outside at its last point.
    """
    t = val.array("time_s", time_s, ndim=1)
    i = val.array("currents", currents, ndim=2)
    f = val.array("final", final, ndim=1)
    bits = val.integer("bits", bits, minimum=1)
    if i.shape != (t.size, f.size):
        raise ValueError(f"currents must have shape {(t.size, f.size)}; got shape {i.shape}.")
    band = 2.0 ** -(bits + 1) * np.max(np.abs(f))
    err = np.max(np.abs(i - f) / band, axis=1)  # in half-LSBs; > 1 is outside
    outside = np.flatnonzero(err > 1.0)
    if outside.size == 0:
        return float(t[0])
    k = int(outside[-1])
    if k == t.size - 1:
        return float("inf")
    frac = (err[k] - 1.0) / (err[k] - err[k + 1])
    return float(t[k] + frac * (t[k + 1] - t[k]))


def transient_settling_s(
    g: ArrayLike,
    v: ArrayLike,
    wires: WireParams,
    *,
    bits: int,
    temperature_k: float = 300.0,
    timeout_s: float | None = None,
    **kwargs,
) -> float:
    """Settling time of one read in ngspice (:func:`measured_settling_s`), seconds.

    ``kwargs`` go to :func:`write_transient_netlist`, ``timeout_s`` (seconds, None for no
    limit) to :func:`simulate_transient`; the final currents are the exact DC solution
    (:func:`neuromorph.hardware.wires.solve`).
    """
    run = simulate_transient(g, v, wires, temperature_k=temperature_k, timeout_s=timeout_s, **kwargs)
    final = wire_solve(g, v, wires, temperature_k=temperature_k)
    return measured_settling_s(run.time_s, run.currents, final, bits=bits)
