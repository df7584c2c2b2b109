"""One crossbar read as an ngspice netlist (layer 1: hardware).

:func:`write_netlist` writes the circuit solved by :mod:`neuromorph.hardware.wires.solve`
(same nodes, wire segments, driver, sense and cells); :func:`parse_read_line` reads back
the ``* neuromorph-read:`` comment that tells :mod:`neuromorph.hardware.spice.ngspice` how
to turn ngspice's vectors into column currents.  See :mod:`neuromorph.hardware.spice` for
the conventions.

Layer 1 (hardware).  May import the shared leaves, :mod:`neuromorph.hardware.wires` and its
sibling modules in :mod:`neuromorph.hardware.spice` only.
"""

from __future__ import annotations

import os
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph import _validate as val
from neuromorph.hardware.spice.cells import cell_device_lines, cell_model_lines
from neuromorph.hardware.spice.common import (
    MEMRISTOR_TEMP_LIB,
    NAME_RE,
    READ_TAG,
    SENSES,
    TIA_LIB,
    ZERO_C,
    ZERO_C_TEXT,
    SenseT,
    TemperatureLaw,
    fmt,
    safe_name,
)
from neuromorph.hardware.wires import WireParams

__all__ = ["NodeNames", "parse_read_line", "write_netlist"]

#: Analysis and end of every DC netlist: one operating point (a read is DC).
_ANALYSIS = (".op", ".end", "")


# --------------------------------------------------------------------------- netlist
def write_netlist(
    g: ArrayLike | None,
    v: ArrayLike,
    wires: WireParams | None = None,
    *,
    temperature_k: float = 300.0,
    sense: SenseT | None = None,
    name: str = "xbar",
    temperature_law: TemperatureLaw | None = None,
    tia_gain: float = 1e12,
    tia_rf_ohm: float = 1e3,
    path: str | os.PathLike | None = None,
) -> str:
    """An ngspice netlist of one crossbar read.

    Parameters
    ----------
    g : array_like of shape (n_rows, n_cols), siemens, or None
        Device conductances at ``temperature_k``.  ``None`` when ``temperature_law`` gives
        them.
    v : array_like of shape (n_rows,), volts
        Row input voltages (the DAC outputs, written as voltage sources).
    wires : WireParams, optional
        Wire, driver and sense resistances (at ``wires.t_ref_k``); ``None`` means ideal
        wires, drivers and sense.
    temperature_k : float, default 300.0
        Simulation temperature, kelvin (``.options temp``).  Wires are written at their
        resistance at this temperature (``WireParams.at_temperature``).
    sense : {"ammeter", "tia", "resistor"}, optional
        Column sense.  Default: ``"resistor"`` when ``wires.sense == "resistor"``,
        otherwise ``"ammeter"``.  ``"resistor"`` needs ``wires.sense == "resistor"``;
        ``"ammeter"`` and ``"tia"`` model a virtual ground.
    name : str, default "xbar"
        Prefix of every node and element; sanitised by :func:`safe_name`.
    temperature_law : TemperatureLaw, optional
        Write devices as ``nm_memristor_temp`` instances whose conductance is re-evaluated
        at ngspice's temperature, and wires as ``R(T_ref) (1 + tcr (T - T_ref))``
        expressions, so ``.temp`` / ``.dc temp`` sweeps follow both laws.
    tia_gain, tia_rf_ohm : float
        Open-loop gain and feedback resistance (ohms) of the ``"tia"`` sense.
    path : str or path-like, optional
        Also write the netlist to this file.

    Returns
    -------
    str
        The netlist; its ``* neuromorph-read:`` comment tells :func:`run_ngspice` how to
        turn ngspice's vectors into column currents.
    """
    temperature_k = val.temperature("temperature_k", temperature_k)
    g_arr = _netlist_conductances(g, temperature_law)
    v = val.array("v", v, shape=(g_arr.shape[0],))
    wires = _netlist_wires(wires)
    if temperature_law is not None and not wires.cell.is_linear:
        raise ValueError(
            f"temperature_law must be None for {wires.cell.kind!r} cells; got a TemperatureLaw. "
            "Write the devices at their conductance at temperature_k instead."
        )
    sense = _netlist_sense(sense, wires)
    tia = _TiaParams(val.positive("tia_gain", tia_gain), val.positive("tia_rf_ohm", tia_rf_ohm))
    nodes = NodeNames(safe_name(name), g_arr.shape, wires)
    values = _WireValues(wires, temperature_k, expressions=temperature_law is not None)
    lines = [
        *_header_lines(nodes, sense, wires, tia, temperature_k, temperature_law),
        *_driver_lines(nodes, v, values),
        *_wire_lines(nodes, values),
        *_device_lines(nodes, g_arr, temperature_law, wires),
        *_sense_lines(nodes, sense, wires, tia),
        *_ANALYSIS,
    ]
    text = "\n".join(lines)
    if path is not None:
        with open(path, "w", encoding="ascii") as fh:
            fh.write(text)
    return text


# --------------------------------------------------------------------------- netlist: inputs
class _TiaParams(NamedTuple):
    """Open-loop gain and feedback resistance (ohms) of the ``"tia"`` sense."""

    gain: float
    rf_ohm: float


def _netlist_conductances(g: ArrayLike | None, law: TemperatureLaw | None) -> NDArray[np.float64]:
    """Device conductances (n_rows, n_cols), siemens: ``g``, or the law's ``g_ref``."""
    if law is not None:
        if not isinstance(law, TemperatureLaw):
            raise TypeError(f"temperature_law must be a TemperatureLaw; got {type(law).__name__}.")
        if g is not None:
            raise ValueError(
                "g must be None when temperature_law is given; got an array. "
                "The law's g_ref defines the conductances."
            )
        g_arr = law.g_ref
    else:
        if g is None:
            raise ValueError("g must be an array of conductances; got None.")
        g_arr = val.array("g", g, ndim=2)
        if (g_arr < 0).any():
            bad = tuple(int(i) for i in np.argwhere(g_arr < 0)[0])
            raise ValueError(
                f"g must be >= 0 (conductances in siemens); got g[{bad[0]}, {bad[1]}]={g_arr[bad]:.6g}."
            )
    if g_arr.shape[0] < 1 or g_arr.shape[1] < 1:
        raise ValueError(f"g must have at least one row and one column; got shape {g_arr.shape}.")
    return g_arr


def _netlist_wires(wires: WireParams | None) -> WireParams:
    """``wires``, or ideal wires, drivers and sense for ``None``."""
    if wires is None:
        return WireParams(0.0, 0.0)
    if not isinstance(wires, WireParams):
        raise TypeError(f"wires must be a WireParams or None; got {type(wires).__name__}.")
    return wires


def _netlist_sense(sense: SenseT | None, wires: WireParams) -> SenseT:
    """The column sense, defaulted from and checked against ``wires.sense``."""
    if sense is None:
        sense = "resistor" if wires.sense == "resistor" else "ammeter"
    if sense not in SENSES:
        raise ValueError(f"sense must be one of {SENSES}; got sense={sense!r}.")
    if (sense == "resistor") != (wires.sense == "resistor"):
        raise ValueError(
            f"sense must match wires.sense; got sense={sense!r}, wires.sense={wires.sense!r}. "
            "Use sense='resistor' exactly when wires.sense == 'resistor'."
        )
    return sense


# --------------------------------------------------------------------------- netlist: names and values
class NodeNames:
    """Node names of one crossbar, merging nodes joined by zero-ohm elements.

    Row ``i``'s input is ``<p>_in<i>``; a row-wire node ``<p>_r<i>_<j>`` (the input itself
    when there is no driver resistance at column 0, and column 0's node along a zero-ohm
    row wire); a column-wire node ``<p>_c<i>_<j>``, the bottom one (and every one along a
    zero-ohm column wire) ``<p>_cb<j>``.
    """

    def __init__(self, prefix: str, shape: tuple[int, int], wires: WireParams) -> None:
        self.p = prefix
        self.n_rows, self.n_cols = shape
        self._merged_row = wires.r_row_ohm == 0
        self._merged_driver = wires.r_driver_ohm == 0
        self._merged_col = wires.r_col_ohm == 0

    def row(self, i: int, j: int) -> str:
        if self._merged_row:
            j = 0
        if j == 0 and self._merged_driver:
            return f"{self.p}_in{i}"
        return f"{self.p}_r{i}_{j}"

    def col(self, i: int, j: int) -> str:
        if self._merged_col:
            i = self.n_rows - 1
        if i == self.n_rows - 1:
            return f"{self.p}_cb{j}"
        return f"{self.p}_c{i}_{j}"


class _WireValues:
    """Resistance values of the wires and drivers as netlist text.

    At ``temperature_k`` as numbers; with ``expressions``, as copper's law in ngspice's
    ``temper`` (Celsius) so that temperature sweeps follow it.
    """

    def __init__(self, wires: WireParams, temperature_k: float, *, expressions: bool) -> None:
        self.wires = wires
        self.now = wires.at_temperature(temperature_k)
        self.expressions = expressions

    def __call__(self, kind: Literal["row", "col", "driver"]) -> str:
        attr = f"r_{kind}_ohm"
        if not self.expressions:
            return fmt(getattr(self.now, attr))
        w = self.wires
        return f"{{{fmt(getattr(w, attr))}*(1+{fmt(w.tcr_per_k)}*(temper+{ZERO_C_TEXT}-{fmt(w.t_ref_k)}))}}"


# --------------------------------------------------------------------------- netlist: sections
def _header_lines(
    nodes: NodeNames,
    sense: SenseT,
    wires: WireParams,
    tia: _TiaParams,
    temperature_k: float,
    law: TemperatureLaw | None,
) -> list[str]:
    """Title, read comment, temperature options and the subcircuit models used."""
    p, n_rows, n_cols = nodes.p, nodes.n_rows, nodes.n_cols
    t_c = temperature_k - ZERO_C
    lines = [
        f"neuromorph crossbar {p} ({n_rows}x{n_cols})",
        _read_line(p, n_rows, n_cols, sense, wires, tia.gain, tia.rf_ohm),
        f"* temperature {fmt(temperature_k)} K; SI units; devices written as 1/g ohms",
    ]
    if law is not None:
        t_nom = law.t_ref_k - ZERO_C
        lines.append(f"* devices follow nm_memristor_temp; wires follow tcr={fmt(wires.tcr_per_k)}/K")
    else:
        t_nom = t_c
    lines.append(f".options temp={fmt(t_c)} tnom={fmt(t_nom)}")
    if sense == "tia":
        lines.append(TIA_LIB.rstrip())
    if law is not None:
        lines.append(MEMRISTOR_TEMP_LIB.rstrip())
    lines += cell_model_lines(wires.cell, p, temperature_k)
    return lines


def _driver_lines(nodes: NodeNames, v: NDArray[np.float64], values: _WireValues) -> list[str]:
    """Row input sources (the DAC outputs) and, if resistive, the drivers behind them."""
    p = nodes.p
    lines = ["* row inputs (DAC outputs)"]
    lines += [f"V{p}_in{i} {p}_in{i} 0 {fmt(v[i])}" for i in range(nodes.n_rows)]
    if values.wires.r_driver_ohm > 0:
        lines.append("* driver resistances")
        r = values("driver")
        lines += [f"R{p}_d{i} {p}_in{i} {nodes.row(i, 0)} {r}" for i in range(nodes.n_rows)]
    return lines


def _wire_lines(nodes: NodeNames, values: _WireValues) -> list[str]:
    """Row-wire and column-wire segments between neighbouring cells (none when zero-ohm)."""
    p, n_rows, n_cols, wires = nodes.p, nodes.n_rows, nodes.n_cols, values.wires
    lines = []
    if wires.r_row_ohm > 0 and n_cols > 1:
        lines.append("* row wire segments")
        r = values("row")
        for i in range(n_rows):
            for j in range(n_cols - 1):
                lines.append(f"R{p}_wr{i}_{j} {nodes.row(i, j)} {nodes.row(i, j + 1)} {r}")
    if wires.r_col_ohm > 0 and n_rows > 1:
        lines.append("* column wire segments")
        r = values("col")
        for j in range(n_cols):
            for i in range(n_rows - 1):
                lines.append(f"R{p}_wc{i}_{j} {nodes.col(i, j)} {nodes.col(i + 1, j)} {r}")
    return lines


def _device_lines(
    nodes: NodeNames, g: NDArray[np.float64], law: TemperatureLaw | None, wires: WireParams
) -> list[str]:
    """One resistor ``1/g`` (or ``nm_memristor_temp`` instance, or cell) per device; ``g = 0`` is open."""
    p = nodes.p
    if not wires.cell.is_linear:
        return cell_device_lines(wires.cell, p, g, nodes.row, nodes.col)
    lines = ["* devices"]
    for i, j in np.argwhere(g > 0).tolist():
        ends = f"{nodes.row(i, j)} {nodes.col(i, j)}"
        if law is None:
            lines.append(f"R{p}_g{i}_{j} {ends} {fmt(1.0 / g[i, j])}")
        else:
            lines.append(
                f"X{p}_g{i}_{j} {ends} nm_memristor_temp gref={fmt(g[i, j])} "
                f"alpha={fmt(law.alpha_per_k[i, j])} ea={fmt(law.ea_ev)} tref={fmt(law.t_ref_k)}"
            )
    return lines


def _sense_lines(nodes: NodeNames, sense: SenseT, wires: WireParams, tia: _TiaParams) -> list[str]:
    """The column sense at the bottom of every column: 0 V ammeter, TIA or resistor."""
    p = nodes.p
    lines = [f"* column sense: {sense}"]
    for j in range(nodes.n_cols):
        bottom = f"{p}_cb{j}"
        if sense == "ammeter":
            lines.append(f"V{p}_s{j} {bottom} 0 0")
        elif sense == "tia":
            lines.append(f"X{p}_t{j} {bottom} {p}_out{j} nm_tia gain={fmt(tia.gain)} rf={fmt(tia.rf_ohm)}")
        else:
            lines.append(f"R{p}_s{j} {bottom} 0 {fmt(wires.r_sense_ohm)}")
    return lines


def _read_line(
    p: str, n_rows: int, n_cols: int, sense: SenseT, wires: WireParams, gain: float, rf: float
) -> str:
    fields = [f"prefix={p}", f"n_rows={n_rows}", f"n_cols={n_cols}", f"sense={sense}"]
    if sense == "tia":
        fields += [f"tia_gain={fmt(gain)}", f"tia_rf_ohm={fmt(rf)}"]
    if sense == "resistor":
        fields.append(f"r_sense_ohm={fmt(wires.r_sense_ohm)}")
    return f"{READ_TAG} " + " ".join(fields)


def parse_read_line(netlist: str) -> dict:
    for line in netlist.splitlines():
        if line.startswith(READ_TAG):
            fields = dict(tok.split("=", 1) for tok in line[len(READ_TAG) :].split() if "=" in tok)
            break
    else:
        raise ValueError(f"netlist must carry the '{READ_TAG}' comment written by write_netlist; got none.")
    try:
        out = {
            "prefix": fields["prefix"],
            "n_cols": int(fields["n_cols"]),
            "sense": fields["sense"],
        }
        if out["sense"] == "tia":
            out["tia_gain"] = float(fields["tia_gain"])
            out["tia_rf_ohm"] = float(fields["tia_rf_ohm"])
        elif out["sense"] == "resistor":
            out["r_sense_ohm"] = float(fields["r_sense_ohm"])
        elif out["sense"] != "ammeter":
            raise KeyError("sense")
    except (KeyError, ValueError) as exc:
        raise ValueError(
            f"netlist's '{READ_TAG}' comment must name prefix, n_cols and sense; got {fields!r}."
        ) from exc
    if NAME_RE.search(out["prefix"]):
        raise ValueError(f"prefix must match [A-Za-z0-9_]+; got prefix={out['prefix']!r}.")
    return out
