"""Running netlists in ngspice's shared library and reading its vectors back (layer 1).

:func:`run_ngspice` runs a netlist from :func:`~neuromorph.hardware.spice.netlist.write_netlist`
through ngspice's shared library (via PySpice, imported lazily on first use) and returns
the column currents in amperes; :func:`simulate` writes and runs in one call.

Runs go through ngspice's background thread (``bg_run``) while the caller polls, so a run can
be bounded (``timeout_s``: on time-out it is halted with ``bg_halt`` and
:class:`~neuromorph.errors.SpiceTimeoutError` is raised) and interrupted (Ctrl-C, a notebook's
"interrupt kernel": the run is halted and :class:`KeyboardInterrupt` goes on).  ngspice checks
for a halt between the time steps of an analysis, so a ``.tran`` run stops within
milliseconds; a long operating-point solve (``.op``) cannot be interrupted inside ngspice: it
finishes in the background thread, and the next run waits for it first.  While a run goes on,
its progress is logged at INFO every :data:`PROGRESS_EVERY_S` seconds.

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

from neuromorph import _validate as val
from neuromorph.errors import NeuromorphError, NgspiceNotFoundError, SpiceTimeoutError
from neuromorph.hardware.spice.common import SenseT, TemperatureLaw
from neuromorph.hardware.spice.netlist import parse_read_line, write_netlist
from neuromorph.hardware.wires import WireParams

__all__ = ["run_ngspice", "run_ngspice_transient", "simulate"]

_LOG = logging.getLogger("neuromorph.hardware.spice")

_NG = None
_LOCK = threading.Lock()
_INSTALL = "apt-get install -y ngspice libngspice0-dev"
#: True while a run that timed out and could not be halted still goes on in ngspice's
#: background thread; the next run waits for it, then clears its circuit and plots.
_LEFT_RUNNING = False

#: Interval of the INFO progress lines while a run goes on, seconds: often enough that a
#: notebook user sees a long run is alive, rarely enough not to flood a log.
PROGRESS_EVERY_S = 10.0
#: First and longest sleep of the poll loop, seconds: a small run (~10 ms) is collected within
#: about a millisecond, and a long one costs at most 20 wake-ups a second; a time-out is noticed
#: within this of its deadline.
_POLL_FIRST_S = 1e-3
_POLL_MAX_S = 0.05
#: Analysis lines named in the log and in time-out messages (``.options`` is not one).
_ANALYSES = ([".op"], [".tran"], [".dc"], [".ac"])


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


def _shared_class():
    """PySpice's ``NgSpiceShared`` with two callbacks fixed for background runs.

    * ``BGThreadRunning``: PySpice's returns None where the C signature wants an int, so
      cffi prints "Exception ignored from cffi callback" at each start and end of a
      background run; this one returns 0.  Like PySpice's, it stores the flag in
      ``_is_running`` (ngspice 39 passes False when the thread starts and True when it
      ends, the opposite of its header's comment; :func:`_finished` relies on neither).
    * ``SendStat``: keeps ngspice's last status line (e.g. ``'tran: 42.0%'``) for the
      progress log.
    """
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared, ffi

    class _NgSpice(NgSpiceShared):
        last_status = ""

        @staticmethod
        def _background_thread_running(flag, ngspice_id, user_data):
            ffi.from_handle(user_data)._is_running = bool(flag)
            return 0

        def send_stat(self, message, ngspice_id):
            self.last_status = message
            return 0

    return _NgSpice


def _ngspice():
    """The process-wide PySpice ``NgSpiceShared`` instance (loaded on first use).

    PySpice keeps one instance per process; if another caller made it first (a plain
    ``NgSpiceShared``), that one is used: timeouts still work, only the progress log has no
    ngspice status and cffi may print a harmless note per background run.
    """
    global _NG
    if _NG is None:
        with _QuietPySpice():
            try:
                _NG = _shared_class().new_instance()
            except (OSError, ImportError) as exc:
                raise NgspiceNotFoundError(
                    "ngspice's shared library libngspice.so must be installed and findable; "
                    f"got {type(exc).__name__}: {exc}. Install it with `{_INSTALL}` (Debian/"
                    "Ubuntu), or set NGSPICE_LIBRARY_PATH to libngspice.so before importing "
                    "PySpice."
                ) from exc
    return _NG


def run_ngspice(netlist: str, *, timeout_s: float | None = None) -> NDArray[np.float64]:
    """Run a netlist from :func:`write_netlist` in ngspice and return its column currents.

    Parameters
    ----------
    netlist : str
        Netlist text carrying the ``* neuromorph-read:`` comment.
    timeout_s : float > 0 or None, optional
        Longest the run may take, seconds (wall clock, from the call).  Default None: no
        limit, because a legitimate run's time grows steeply with the array (0.1 s at
        32 x 32, minutes at 128 x 128 with wires;
        :func:`neuromorph.chip.export.estimate_ngspice_seconds` says roughly how long) and
        the run never blocks for good anyway: Ctrl-C or a notebook's "interrupt kernel"
        halts it, and progress is logged at INFO every :data:`PROGRESS_EVERY_S` seconds.
        Give a limit for unattended runs (the ``neuromorph spice --run`` command uses 600 s).

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
    SpiceTimeoutError
        The run did not finish within ``timeout_s``.  A ``.tran`` run is halted; an ``.op``
        solve cannot be interrupted inside ngspice and finishes in ngspice's background
        thread, which the next run waits for (the message says which happened).
    """
    info, data = _run(netlist, timeout_s)
    return _column_currents(info, data)[0]


def run_ngspice_transient(
    netlist: str, *, timeout_s: float | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Run a ``.tran`` netlist (:func:`~neuromorph.hardware.spice.transient.write_transient_netlist`).

    ``timeout_s`` (seconds, None for no limit) as for :func:`run_ngspice`; a timed-out
    transient is halted within milliseconds.

    Returns
    -------
    time_s : ndarray of shape (n_t,), seconds
        ngspice's time points.
    currents : ndarray of shape (n_t, n_cols), amperes
        Current into each column's sense at each time point.

    Raises as :func:`run_ngspice`.
    """
    info, data = _run(netlist, timeout_s)
    if "time" not in data:
        raise NeuromorphError("ngspice output must contain vector 'time' (a .tran analysis); got none.")
    return data["time"].copy(), _column_currents(info, data)


def _run(netlist: str, timeout_s: float | None = None) -> tuple[dict, dict[str, NDArray[np.float64]]]:
    """Run ``netlist``; its read comment and every vector of its last plot (lower-case names).

    Logs (``neuromorph.hardware.spice``, INFO) the size before the run, its progress every
    :data:`PROGRESS_EVERY_S` seconds and the time it took: ngspice's sparse solver grows
    steeply with the node count (REFERENCES: 0.1 s at 32 x 32, minutes at 128 x 128), so a
    caller can tell a long run from a hung one.
    """
    if timeout_s is not None:
        timeout_s = val.positive("timeout_s", timeout_s, hint="Use None for no limit.")
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
    analysis = next((ln.split()[0] for ln in lines if ln.split()[:1] in _ANALYSES), "?")
    run = _Run(info["prefix"], sum(1 for ln in lines if ln[:1].isalpha()), analysis, timeout_s)
    _LOG.info("ngspice: running %s (%s) ...", run.name, run.size)
    with _LOCK:
        ng = _ngspice()
        with _QuietPySpice():
            _wait_for_left_run(ng, run)
            try:
                ng.load_circuit(netlist)
                _run_background(ng, run)
                plot_name = ng.last_plot
                vectors = ng.plot(None, plot_name)
            except NameError as exc:  # PySpice's NgSpiceCircuitError / NgSpiceCommandError
                out = (ng.stdout + "\n" + "\n".join(ng._stderr))[-2000:]
                raise NeuromorphError(
                    f"netlist must be accepted by ngspice; got {type(exc).__name__}. ngspice said:\n{out}"
                ) from exc
            finally:
                if not _LEFT_RUNNING:
                    _cleanup(ng)
    _LOG.info("ngspice: %s done in %.3g s", run.name, run.elapsed())
    return info, {k.lower(): np.asarray(vec._data, dtype=np.float64) for k, vec in vectors.items()}


class _Run:
    """One run's name, size, clock and deadline, for the poll loop and its messages."""

    def __init__(self, name: str, n_elements: int, analysis: str, timeout_s: float | None):
        self.name, self.timeout_s = name, timeout_s
        self.size = f"{n_elements} elements, {analysis}"
        self.start = time.perf_counter()
        self.deadline = None if timeout_s is None else self.start + timeout_s

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def timed_out(self) -> bool:
        return self.deadline is not None and time.perf_counter() >= self.deadline


def _finished(ng) -> bool:
    """Whether the background run started by :func:`_run_background` has ended.

    ``_is_running`` is None until the thread's first callback (its start; PySpice's
    attribute, set by the callback whatever the polarity of its flag), and
    ``ngSpice_running()`` is true from that start to the thread's end.  Checking only
    ``ngSpice_running()`` would race: right after ``bg_run`` it is still false.
    """
    return ng._is_running is not None and not ng._ngspice_shared.ngSpice_running()


def _wait(ng, run: _Run) -> bool:
    """Poll until the background run ends (True) or ``run``'s deadline passes (False).

    Logs progress at INFO every :data:`PROGRESS_EVERY_S` seconds (elapsed time and ngspice's
    status line, which for ``.tran`` is the percentage of the stop time reached).
    """
    delay, next_log = _POLL_FIRST_S, run.start + PROGRESS_EVERY_S
    while not _finished(ng):
        if run.timed_out():
            return False
        now = time.perf_counter()
        if now >= next_log:
            status = getattr(ng, "last_status", "")
            _LOG.info(
                "ngspice: %s still running after %.1f s%s",
                run.name,
                now - run.start,
                f" (ngspice: {status})" if status else "",
            )
            next_log += PROGRESS_EVERY_S
        time.sleep(delay)
        delay = min(2.0 * delay, _POLL_MAX_S)
    return True


def _run_background(ng, run: _Run) -> None:
    """Run the loaded circuit in ngspice's background thread; halt it on time-out or Ctrl-C.

    Raises NameError, as PySpice's foreground ``run`` does, when ngspice reported an error
    during the run, and :class:`SpiceTimeoutError` on time-out.
    """
    global _LEFT_RUNNING
    ng._is_running = None  # see _finished
    ng.last_status = ""
    try:
        ng.exec_command("bg_run")
    except NameError:  # an error printed as the thread starts: let the thread end, then raise
        ng._error_in_stdout = True
    try:
        done = _wait(ng, run)
    except KeyboardInterrupt:
        _LEFT_RUNNING = not _halt(ng)
        raise
    if not done:
        _LEFT_RUNNING = not _halt(ng)
        raise SpiceTimeoutError(_timeout_message(run, halted=not _LEFT_RUNNING))
    if ng._error_in_stdout or ng._error_in_stderr:
        raise NameError("ngspice reported an error during the run")


def _halt(ng) -> bool:
    """Ask ngspice to stop its background run (``bg_halt`` waits up to 1 s); True if it stopped.

    Sent to the library directly, not through PySpice's ``halt``: its ``exec_command`` now
    and then first frees ngspice's command history, which must not happen while the
    background thread runs, and it flags ngspice's "Background thread stopped" note as an
    error.
    """
    ng._ngspice_shared.ngSpice_Command(b"bg_halt")
    return not ng._ngspice_shared.ngSpice_running()


def _wait_for_left_run(ng, run: _Run) -> None:
    """Before a run: let a timed-out run that could not be halted end, then clear it."""
    global _LEFT_RUNNING
    if not _LEFT_RUNNING:
        return
    _LOG.info("ngspice: waiting for an earlier run that timed out and could not be halted ...")
    if not _wait(ng, run):
        raise SpiceTimeoutError(
            f"timeout_s must leave time for ngspice to finish an earlier run that timed out and "
            f"could not be halted, then {run.name} ({run.size}); got timeout_s={run.timeout_s:g} "
            "and that earlier run is still going on. Wait, or give a larger timeout_s."
        )
    _LEFT_RUNNING = False
    _cleanup(ng)


def _timeout_message(run: _Run, *, halted: bool) -> str:
    """The :class:`SpiceTimeoutError` message: the rule, what was given, the size, the outcome."""
    if halted:
        outcome = "The run was halted; ngspice is ready for the next run."
    else:
        outcome = (
            "ngspice could not halt it (an operating-point solve cannot be interrupted): it "
            "finishes in ngspice's background thread, and the next run waits for it."
        )
    status = getattr(_NG, "last_status", "")
    reached = f"; ngspice's status: {status}" if status else ""
    return (
        f"timeout_s must be long enough for ngspice to finish {run.name} ({run.size}); got "
        f"timeout_s={run.timeout_s:g} (still running after {run.elapsed():.3g} s{reached}). {outcome} "
        "Give a larger timeout_s, None for no limit, or a smaller circuit "
        "(neuromorph.chip.export.estimate_ngspice_seconds says roughly how long a netlist takes)."
    )


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
    timeout_s: float | None = None,
) -> NDArray[np.float64]:
    """:func:`write_netlist` then :func:`run_ngspice`: column currents (n_cols,), amperes.

    ``timeout_s`` (seconds, None for no limit) goes to :func:`run_ngspice`.
    """
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
    return run_ngspice(netlist, timeout_s=timeout_s)
