"""Running netlists in ngspice's shared library and reading its vectors back (layer 1).

:func:`run_ngspice` runs a netlist from :func:`~neuromorph.hardware.spice.netlist.write_netlist`
through ngspice's shared library (via PySpice, imported lazily on first use) and returns
the column currents in amperes; :func:`simulate` writes and runs in one call.

Layer 1 (hardware).  May import the shared leaves, :mod:`neuromorph.hardware.wires` and its
sibling modules in :mod:`neuromorph.hardware.spice` only.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph.errors import NeuromorphError, NgspiceNotFoundError
from neuromorph.hardware.spice.common import SenseT, TemperatureLaw
from neuromorph.hardware.spice.netlist import parse_read_line, write_netlist
from neuromorph.hardware.wires import WireParams

__all__ = ["run_ngspice", "run_ngspice_transient", "simulate"]

_LOG = logging.getLogger("neuromorph.hardware.spice")

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
    info, data = _run(netlist)
    return _column_currents(info, data)[0]


def run_ngspice_transient(netlist: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Run a ``.tran`` netlist (:func:`~neuromorph.hardware.spice.transient.write_transient_netlist`).

    Returns
    -------
    time_s : ndarray of shape (n_t,), seconds
        ngspice's time points.
    currents : ndarray of shape (n_t, n_cols), amperes
        Current into each column's sense at each time point.

    Raises as :func:`run_ngspice`.
    """
    info, data = _run(netlist)
    if "time" not in data:
        raise NeuromorphError("ngspice output must contain vector 'time' (a .tran analysis); got none.")
    return data["time"].copy(), _column_currents(info, data)


def _run(netlist: str) -> tuple[dict, dict[str, NDArray[np.float64]]]:
    """Run ``netlist``; its read comment and every vector of its last plot (lower-case names).

    Logs (``neuromorph.hardware.spice``, INFO) the size before the run and the time it took:
    ngspice's sparse solver grows steeply with the node count (REFERENCES: 0.1 s at 32 x 32,
    minutes at 128 x 128), so a caller can tell a long run from a hung one.
    """
    if not isinstance(netlist, str):
        raise TypeError(f"netlist must be a string; got {type(netlist).__name__}.")
    info = parse_read_line(netlist)
    lines = netlist.splitlines()
    too_long = [k for k, line in enumerate(lines) if len(line) > 1023]
    if too_long:
        raise ValueError(
            f"netlist lines must be <= 1023 characters (ngspice's limit); got line "
            f"{too_long[0] + 1} of {len(lines[too_long[0]])} characters."
        )
    analysis = next((ln.split()[0] for ln in lines if ln.startswith((".op", ".tran"))), "?")
    _LOG.info(
        "ngspice: running %s (%d elements, %s) ...",
        info["prefix"],
        sum(1 for ln in lines if ln[:1].isalpha()),
        analysis,
    )
    start = time.perf_counter()
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
    _LOG.info("ngspice: %s done in %.3g s", info["prefix"], time.perf_counter() - start)
    return info, {k.lower(): np.asarray(vec._data, dtype=np.float64) for k, vec in vectors.items()}


def _column_currents(info: dict, data: dict[str, NDArray[np.float64]]) -> NDArray[np.float64]:
    """Column currents (n_points, n_cols), amperes, from ngspice's vectors."""
    p, m = info["prefix"], info["n_cols"]

    def get(key: str) -> NDArray[np.float64]:
        if key not in data:
            raise NeuromorphError(f"ngspice output must contain vector {key!r}; got none.")
        return data[key]

    if info["sense"] == "ammeter":
        out = [get(f"v{p}_s{j}#branch") for j in range(m)]
    elif info["sense"] == "tia":
        a, rf = info["tia_gain"], info["tia_rf_ohm"]
        out = [-get(f"{p}_out{j}") * (1.0 + 1.0 / a) / rf for j in range(m)]
    else:
        rs = info["r_sense_ohm"]
        out = [get(f"{p}_cb{j}") / rs for j in range(m)]
    return np.stack(out, axis=-1).astype(np.float64, copy=False)


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
