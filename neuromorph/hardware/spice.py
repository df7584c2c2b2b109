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

PySpice is imported lazily, the first time ngspice is needed.

Layer 1 (hardware).  May import the shared leaves, :mod:`neuromorph.hardware.devices` (for
Boltzmann's constant) and :mod:`neuromorph.hardware.wires`; :func:`export_crossbar` imports
:mod:`neuromorph.hardware.crossbar` when called (the crossbar does not import this module).
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph import _validate as val
from neuromorph.errors import NeuromorphError, NgspiceNotFoundError
from neuromorph.hardware.devices import K_B_EV
from neuromorph.hardware.wires import WireParams

if TYPE_CHECKING:
    from neuromorph.hardware.crossbar import Crossbar

__all__ = [
    "MEMRISTOR_TEMP_LIB",
    "TIA_LIB",
    "CrossbarExport",
    "TemperatureLaw",
    "export_crossbar",
    "run_ngspice",
    "safe_name",
    "simulate",
    "write_netlist",
]

SenseT = Literal["ammeter", "tia", "resistor"]
_SENSES = ("ammeter", "tia", "resistor")

#: 0 degC in kelvin.
_ZERO_C = 273.15


def _spice_number(x: float) -> str:
    """Shortest text that reads back as ``x``, exponent unpadded (``8.617333262e-5``)."""
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", repr(float(x)))


#: :data:`_ZERO_C` and Boltzmann's constant (:data:`~neuromorph.hardware.devices.K_B_EV`) as
#: they appear in netlist expressions.
_ZERO_C_TEXT = _spice_number(_ZERO_C)
_K_B_TEXT = _spice_number(K_B_EV)

#: Ideal op-amp transimpedance stage: a VCVS of gain ``gain`` driving ``out`` from the
#: inverting input ``inv`` (non-inverting input at ground) with feedback ``rf``.
#: Identical to ``circuits/tia.lib`` (a test checks).
TIA_LIB = """\
* nm_tia: ideal op-amp transimpedance amplifier (neuromorph, circuits/tia.lib)
* inv: inverting input (the column's virtual ground); out: output voltage.
* V(out) = -gain V(inv); rf from inv to out.  Input current I = -V(out) (1 + 1/gain) / rf;
* seen from the column the stage is a resistance rf / (1 + gain) to ground.
.subckt nm_tia inv out params: gain=1e12 rf=1e3
Eamp out 0 0 inv {gain}
Rf inv out {rf}
.ends nm_tia
"""

#: A memristor as a resistor whose conductance follows its temperature law
#: ``G(T) = gref (1 + alpha (T - tref)) exp(-ea / k_B (1/T - 1/tref))``, T = temper + 273.15.
#: Identical to ``circuits/memristor_temp.lib`` (a test checks).
MEMRISTOR_TEMP_LIB = (
    "* nm_memristor_temp: memristor with its temperature law"
    " (neuromorph, circuits/memristor_temp.lib)\n"
    f"* G(T) = gref (1 + alpha (T - tref)) exp(-ea / kB (1/T - 1/tref)), T = temper + {_ZERO_C_TEXT} (K)\n"
    f"* gref siemens at tref kelvin, alpha 1/K, ea eV, kB = {_K_B_TEXT} eV/K (CODATA 2018).\n"
    ".subckt nm_memristor_temp p n params: gref=1e-5 alpha=0 ea=0 tref=300\n"
    f"Rmem p n {{1/(gref*(1+alpha*(temper+{_ZERO_C_TEXT}-tref))"
    f"*exp(-ea/{_K_B_TEXT}*(1/(temper+{_ZERO_C_TEXT})-1/tref)))}}\n"
    ".ends nm_memristor_temp\n"
)

_READ_TAG = "* neuromorph-read:"
#: Analysis and end of every netlist: one operating point (a read is DC).
_ANALYSIS = (".op", ".end", "")
_NAME_RE = re.compile(r"[^A-Za-z0-9_]")


# --------------------------------------------------------------------------- temperature law
@dataclass(frozen=True)
class TemperatureLaw:
    """A device conductance law ``G(T)`` that a netlist can carry.

    ``G(T) = g_ref (1 + alpha_per_k (T - t_ref_k)) exp(-ea_ev / k_B (1/T - 1/t_ref_k))``
    with ``k_B`` = :data:`~neuromorph.hardware.devices.K_B_EV`: a linear temperature coefficient times an
    Arrhenius factor (activation energy ``ea_ev``).

    Parameters
    ----------
    g_ref : array_like of shape (n_rows, n_cols), siemens
        Conductances at ``t_ref_k`` (>= 0).
    alpha_per_k : float or array_like of shape (n_rows, n_cols), 1/K
    ea_ev : float, eV
    t_ref_k : float, kelvin
    """

    g_ref: NDArray[np.float64]
    alpha_per_k: float | NDArray[np.float64] = 0.0
    ea_ev: float = 0.0
    t_ref_k: float = 300.0

    def __post_init__(self) -> None:
        g_ref = val.array("g_ref", self.g_ref, ndim=2)
        if (g_ref < 0).any():
            raise ValueError(f"g_ref must be >= 0 (siemens); got min(g_ref)={g_ref.min():.6g}.")
        if np.ndim(self.alpha_per_k) == 0:
            alpha = np.asarray(val.real("alpha_per_k", self.alpha_per_k))
        else:
            alpha = val.array("alpha_per_k", self.alpha_per_k)
            if alpha.shape != g_ref.shape:
                raise ValueError(
                    f"alpha_per_k must be a scalar or have shape {g_ref.shape}; got shape {alpha.shape}."
                )
        object.__setattr__(self, "g_ref", g_ref)
        object.__setattr__(self, "alpha_per_k", np.broadcast_to(alpha, g_ref.shape).copy())
        object.__setattr__(self, "ea_ev", val.real("ea_ev", self.ea_ev))
        object.__setattr__(self, "t_ref_k", val.temperature("t_ref_k", self.t_ref_k))

    def conductance(self, temperature_k: float) -> NDArray[np.float64]:
        """``G(T)`` (n_rows, n_cols), siemens, evaluated in Python."""
        t = val.temperature("temperature_k", temperature_k)
        lin = 1.0 + self.alpha_per_k * (t - self.t_ref_k)
        arr = math.exp(-self.ea_ev / K_B_EV * (1.0 / t - 1.0 / self.t_ref_k))
        return self.g_ref * lin * arr


# --------------------------------------------------------------------------- names
def safe_name(name: str) -> str:
    """``name`` reduced to ``[A-Za-z0-9_]``, never empty and never starting with a digit."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string; got {type(name).__name__}.")
    out = _NAME_RE.sub("_", name)
    if not out or out[0].isdigit():
        out = "n" + out
    return out.lower()


def _f(x: float) -> str:
    return f"{float(x):.17g}"


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
    sense = _netlist_sense(sense, wires)
    tia = _TiaParams(val.positive("tia_gain", tia_gain), val.positive("tia_rf_ohm", tia_rf_ohm))
    nodes = _NodeNames(safe_name(name), g_arr.shape, wires)
    values = _WireValues(wires, temperature_k, expressions=temperature_law is not None)
    lines = [
        *_header_lines(nodes, sense, wires, tia, temperature_k, temperature_law),
        *_driver_lines(nodes, v, values),
        *_wire_lines(nodes, values),
        *_device_lines(nodes, g_arr, temperature_law),
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
    if sense not in _SENSES:
        raise ValueError(f"sense must be one of {_SENSES}; got sense={sense!r}.")
    if (sense == "resistor") != (wires.sense == "resistor"):
        raise ValueError(
            f"sense must match wires.sense; got sense={sense!r}, wires.sense={wires.sense!r}. "
            "Use sense='resistor' exactly when wires.sense == 'resistor'."
        )
    return sense


# --------------------------------------------------------------------------- netlist: names and values
class _NodeNames:
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
            return _f(getattr(self.now, attr))
        w = self.wires
        return f"{{{_f(getattr(w, attr))}*(1+{_f(w.tcr_per_k)}*(temper+{_ZERO_C_TEXT}-{_f(w.t_ref_k)}))}}"


# --------------------------------------------------------------------------- netlist: sections
def _header_lines(
    nodes: _NodeNames,
    sense: SenseT,
    wires: WireParams,
    tia: _TiaParams,
    temperature_k: float,
    law: TemperatureLaw | None,
) -> list[str]:
    """Title, read comment, temperature options and the subcircuit models used."""
    p, n_rows, n_cols = nodes.p, nodes.n_rows, nodes.n_cols
    t_c = temperature_k - _ZERO_C
    lines = [
        f"neuromorph crossbar {p} ({n_rows}x{n_cols})",
        _read_line(p, n_rows, n_cols, sense, wires, tia.gain, tia.rf_ohm),
        f"* temperature {_f(temperature_k)} K; SI units; devices written as 1/g ohms",
    ]
    if law is not None:
        t_nom = law.t_ref_k - _ZERO_C
        lines.append(f"* devices follow nm_memristor_temp; wires follow tcr={_f(wires.tcr_per_k)}/K")
    else:
        t_nom = t_c
    lines.append(f".options temp={_f(t_c)} tnom={_f(t_nom)}")
    if sense == "tia":
        lines.append(TIA_LIB.rstrip())
    if law is not None:
        lines.append(MEMRISTOR_TEMP_LIB.rstrip())
    return lines


def _driver_lines(nodes: _NodeNames, v: NDArray[np.float64], values: _WireValues) -> list[str]:
    """Row input sources (the DAC outputs) and, if resistive, the drivers behind them."""
    p = nodes.p
    lines = ["* row inputs (DAC outputs)"]
    lines += [f"V{p}_in{i} {p}_in{i} 0 {_f(v[i])}" for i in range(nodes.n_rows)]
    if values.wires.r_driver_ohm > 0:
        lines.append("* driver resistances")
        r = values("driver")
        lines += [f"R{p}_d{i} {p}_in{i} {nodes.row(i, 0)} {r}" for i in range(nodes.n_rows)]
    return lines


def _wire_lines(nodes: _NodeNames, values: _WireValues) -> list[str]:
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


def _device_lines(nodes: _NodeNames, g: NDArray[np.float64], law: TemperatureLaw | None) -> list[str]:
    """One resistor ``1/g`` (or ``nm_memristor_temp`` instance) per device; ``g = 0`` is open."""
    p = nodes.p
    lines = ["* devices"]
    for i, j in np.argwhere(g > 0).tolist():
        ends = f"{nodes.row(i, j)} {nodes.col(i, j)}"
        if law is None:
            lines.append(f"R{p}_g{i}_{j} {ends} {_f(1.0 / g[i, j])}")
        else:
            lines.append(
                f"X{p}_g{i}_{j} {ends} nm_memristor_temp gref={_f(g[i, j])} "
                f"alpha={_f(law.alpha_per_k[i, j])} ea={_f(law.ea_ev)} tref={_f(law.t_ref_k)}"
            )
    return lines


def _sense_lines(nodes: _NodeNames, sense: SenseT, wires: WireParams, tia: _TiaParams) -> list[str]:
    """The column sense at the bottom of every column: 0 V ammeter, TIA or resistor."""
    p = nodes.p
    lines = [f"* column sense: {sense}"]
    for j in range(nodes.n_cols):
        bottom = f"{p}_cb{j}"
        if sense == "ammeter":
            lines.append(f"V{p}_s{j} {bottom} 0 0")
        elif sense == "tia":
            lines.append(f"X{p}_t{j} {bottom} {p}_out{j} nm_tia gain={_f(tia.gain)} rf={_f(tia.rf_ohm)}")
        else:
            lines.append(f"R{p}_s{j} {bottom} 0 {_f(wires.r_sense_ohm)}")
    return lines


def _read_line(
    p: str, n_rows: int, n_cols: int, sense: SenseT, wires: WireParams, gain: float, rf: float
) -> str:
    fields = [f"prefix={p}", f"n_rows={n_rows}", f"n_cols={n_cols}", f"sense={sense}"]
    if sense == "tia":
        fields += [f"tia_gain={_f(gain)}", f"tia_rf_ohm={_f(rf)}"]
    if sense == "resistor":
        fields.append(f"r_sense_ohm={_f(wires.r_sense_ohm)}")
    return f"{_READ_TAG} " + " ".join(fields)


def _parse_read_line(netlist: str) -> dict:
    for line in netlist.splitlines():
        if line.startswith(_READ_TAG):
            fields = dict(tok.split("=", 1) for tok in line[len(_READ_TAG) :].split() if "=" in tok)
            break
    else:
        raise ValueError(f"netlist must carry the '{_READ_TAG}' comment written by write_netlist; got none.")
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
            f"netlist's '{_READ_TAG}' comment must name prefix, n_cols and sense; got {fields!r}."
        ) from exc
    if _NAME_RE.search(out["prefix"]):
        raise ValueError(f"prefix must match [A-Za-z0-9_]+; got prefix={out['prefix']!r}.")
    return out


# --------------------------------------------------------------------------- ngspice
_NG = None
_LOCK = threading.Lock()
_INSTALL = "apt-get install -y ngspice libngspice0-dev"


class _QuietPySpice:
    """Silence PySpice's logging and warnings (e.g. 'Unsupported Ngspice version 39')."""

    def __enter__(self):
        self._logger = logging.getLogger("PySpice")
        self._level = self._logger.level
        self._logger.setLevel(logging.CRITICAL + 1)
        self._warn = warnings.catch_warnings()
        self._warn.__enter__()
        warnings.simplefilter("ignore")
        return self

    def __exit__(self, *exc):
        self._warn.__exit__(*exc)
        self._logger.setLevel(self._level)
        return False


def _ngspice():
    """The process-wide PySpice ``NgSpiceShared`` instance (loaded on first use)."""
    global _NG
    if _NG is None:
        with _QuietPySpice():
            try:
                from PySpice.Spice.NgSpice.Shared import NgSpiceShared

                _NG = NgSpiceShared.new_instance()
            except (OSError, ImportError) as exc:
                raise NgspiceNotFoundError(
                    "ngspice's shared library libngspice.so must be installed and findable; "
                    f"got {type(exc).__name__}: {exc}. Install it with `{_INSTALL}` (Debian/"
                    "Ubuntu), or set NGSPICE_LIBRARY_PATH to libngspice.so before importing "
                    "PySpice."
                ) from exc
    return _NG


def run_ngspice(netlist: str) -> NDArray[np.float64]:
    """Run a netlist from :func:`write_netlist` in ngspice and return its column currents.

    Parameters
    ----------
    netlist : str
        Netlist text carrying the ``* neuromorph-read:`` comment.

    Returns
    -------
    ndarray of shape (n_cols,), amperes
        Current into each column's sense, in full double precision (read from ngspice's
        vectors through the shared library, not from printed output).

    Raises
    ------
    NgspiceNotFoundError
        PySpice or libngspice.so is missing.
    NeuromorphError
        ngspice rejected the netlist or did not produce the expected vectors.
    """
    if not isinstance(netlist, str):
        raise TypeError(f"netlist must be a string; got {type(netlist).__name__}.")
    info = _parse_read_line(netlist)
    too_long = [k for k, line in enumerate(netlist.splitlines()) if len(line) > 1023]
    if too_long:
        raise ValueError(
            f"netlist lines must be <= 1023 characters (ngspice's limit); got line "
            f"{too_long[0] + 1} of {len(netlist.splitlines()[too_long[0]])} characters."
        )
    p, m = info["prefix"], info["n_cols"]
    with _LOCK:
        ng = _ngspice()
        with _QuietPySpice():
            try:
                ng.load_circuit(netlist)
                ng.run()
                plot_name = ng.last_plot
                vectors = ng.plot(None, plot_name)
            except NameError as exc:  # PySpice's NgSpiceCircuitError / NgSpiceCommandError
                out = (ng.stdout + "\n" + "\n".join(ng._stderr))[-2000:]
                raise NeuromorphError(
                    f"netlist must be accepted by ngspice; got {type(exc).__name__}. ngspice said:\n{out}"
                ) from exc
            finally:
                _cleanup(ng)
    data = {k.lower(): np.asarray(vec._data, dtype=np.float64) for k, vec in vectors.items()}

    def get(key: str) -> float:
        if key not in data:
            raise NeuromorphError(f"ngspice output must contain vector {key!r}; got none.")
        return float(data[key][0])

    if info["sense"] == "ammeter":
        out = [get(f"v{p}_s{j}#branch") for j in range(m)]
    elif info["sense"] == "tia":
        a, rf = info["tia_gain"], info["tia_rf_ohm"]
        out = [-get(f"{p}_out{j}") * (1.0 + 1.0 / a) / rf for j in range(m)]
    else:
        rs = info["r_sense_ohm"]
        out = [get(f"{p}_cb{j}") / rs for j in range(m)]
    return np.asarray(out, dtype=np.float64)


def _cleanup(ng) -> None:
    """Remove the circuit and its plots so the next run starts clean."""
    for command in ("destroy all", "remcirc"):
        try:
            ng.exec_command(command)
        except NameError:
            pass


def simulate(
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
) -> NDArray[np.float64]:
    """:func:`write_netlist` then :func:`run_ngspice`: column currents (n_cols,), amperes."""
    netlist = write_netlist(
        g,
        v,
        wires,
        temperature_k=temperature_k,
        sense=sense,
        name=name,
        temperature_law=temperature_law,
        tia_gain=tia_gain,
        tia_rf_ohm=tia_rf_ohm,
    )
    return run_ngspice(netlist)


# --------------------------------------------------------------------------- crossbars
@dataclass(frozen=True)
class CrossbarExport:
    """A crossbar tile as an ngspice netlist, with the simulator's own answer beside it.

    Attributes
    ----------
    netlist : str
    voltages : ndarray (rows,), volts: the DAC outputs written as sources
    expected_currents : ndarray (2 * cols,), amperes: the simulator's exact solution of the
        same circuit (physical columns: G+ of weight column j at 2j, G- at 2j + 1)
    temperature_k : float
    """

    netlist: str
    voltages: NDArray[np.float64]
    expected_currents: NDArray[np.float64]
    temperature_k: float

    @staticmethod
    def differential(currents: NDArray[np.float64]) -> NDArray[np.float64]:
        """Weight-column currents ``I+ - I-`` from physical column currents."""
        return currents[..., 0::2] - currents[..., 1::2]


def export_crossbar(
    xbar: Crossbar,
    x: ArrayLike,
    *,
    tile: tuple[int, int] = (0, 0),
    sense: SenseT | None = None,
    name: str = "xbar",
    path: str | os.PathLike | None = None,
) -> CrossbarExport:
    """Write one physical tile of a :class:`~neuromorph.hardware.crossbar.Crossbar` as it is now.

    Every device at its effective conductance at the crossbar's current environment (drift
    and temperature law applied), the wires at that temperature, the rows driven by the DAC
    outputs for inputs ``x`` (the tile's rows of a full input vector of shape (n_in,)).
    """
    from neuromorph.hardware.crossbar import Crossbar
    from neuromorph.hardware.wires import solve

    if not isinstance(xbar, Crossbar):
        raise TypeError(f"xbar must be a Crossbar; got {type(xbar).__name__}.")
    x = val.array("x", x, shape=(xbar.n_in,))
    g = xbar.tile_conductances(tile)
    r0 = tile[0] * xbar.tile_shape[0]
    v = xbar.periphery.dac.convert(x)[r0 : r0 + g.shape[0]]
    temperature_k = xbar.environment.temperature_k
    netlist = write_netlist(g, v, xbar.wires, temperature_k=temperature_k, sense=sense, name=name, path=path)
    if xbar.wires is None:
        expected = v @ g
    else:
        expected = solve(g, v, xbar.wires, temperature_k=temperature_k)
    return CrossbarExport(
        netlist=netlist, voltages=v, expected_currents=expected, temperature_k=temperature_k
    )
