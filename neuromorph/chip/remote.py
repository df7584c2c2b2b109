"""A chip served in its own process, reached only through ports over a link (layer 2).

A host talks to real analog hardware over a link: it sends inputs and programming commands
and receives readings and counts, and no code on the host can read a conductance.  This
module builds that boundary.  :func:`serve` (or :meth:`Chip.serve
<neuromorph.chip.chip.Chip.serve>`) moves a chip into a fresh Python process, a *chip
server*; :func:`fabricate` fabricates one there.  The server's only client is a
:class:`RemotePorts`, which implements :class:`~neuromorph.chip.ports.Ports` by sending each
operation over a connection; the server carries it out with
:func:`~neuromorph.chip.ports.perform`, the same dispatcher (checks, physics, meter) as
in-process :class:`~neuromorph.chip.ports.ChipPorts`, so a seed gives the same bits either way.

What is guaranteed
    A :class:`RemotePorts` object holds a connection and the public
    :class:`~neuromorph.chip.design.ChipDesign`, nothing else: no attribute, closure cell or
    :func:`gc.get_referents` path from it leads to a ``Chip``, a crossbar or device state,
    because none exists on this side of the link.  The chip an algorithm programs and reads
    lives in the server process; what crosses the link is exactly what
    :class:`~neuromorph.chip.ports.Ports` returns (activities, pulse counts, the public
    report, meter snapshots).  With :func:`fabricate`, this process holds no ``Chip`` at all
    until :meth:`ChipServer.close` hands it over (for the scorer).
What is not
    With :func:`serve`, the caller's ``Chip`` object stays in this process, frozen at the
    moment it was served (its fabrication and programming so far), and any code here can
    find it with :func:`gc.get_objects`; it is brought up to date when the server closes.
    Code that must not see a chip's hidden state at all should get ports from
    :func:`fabricate` (or a chip the caller has not kept).  Nothing stops code in this process
    from starting its own server or opening files; the boundary is between an algorithm and
    the chip it is handed, not a sandbox.

The link is a Unix socket pair between two of our own processes, and messages are pickles
(NumPy arrays and the design dataclasses): unpickling executes code, which is acceptable
between a parent and the child it started, and never acceptable for data from elsewhere.
The server is started with ``python -c`` (a fresh interpreter, as multiprocessing's
"spawn" does, but without re-importing the caller's ``__main__``), so scripts need no
``if __name__ == "__main__"`` guard.  It ignores SIGINT: a Ctrl-C interrupts the caller,
whose ``with`` block then still brings the chip home.  One client, one thread: a
:class:`RemotePorts` is not safe to share between threads.  POSIX only (``pass_fds``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import traceback
import weakref
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph import _validate as check
from neuromorph.chip.chip import Chip
from neuromorph.chip.design import ChipDesign
from neuromorph.chip.ports import Meter, perform
from neuromorph.errors import PortAccessError
from neuromorph.hardware.environment import Environment

__all__ = ["ChipServer", "RemotePorts", "fabricate", "serve"]

#: Seconds to wait for a closed server to exit before it is killed: it has already sent the
#: chip back, so only interpreter shutdown remains (well under a second here).
EXIT_TIMEOUT_S = 30.0

#: Socket buffer asked for at each end of the link (the kernel may cap it): a layer's weight
#: change (501 x 500 float64, 2 MB) then crosses in a few writes instead of dozens of
#: process switches through the default ~200 kB buffer.
SOCKET_BUFFER_BYTES = 8 * 2**20

#: The server's start-up: a fresh interpreter that imports this module and serves on the
#: inherited socket whose file descriptor is its one argument.
_SERVER_CODE = "import sys; from neuromorph.chip.remote import main; main(sys.argv[1:])"


class RemotePorts:
    """Ports of a chip served in another process (implements :class:`~neuromorph.chip.ports.Ports`).

    Built by :class:`ChipServer`; holds its connection and the public design only.  The
    public design's properties are answered here, every operation and the meter by the
    server (one round trip each).  After the server closes, every call raises
    :class:`~neuromorph.errors.PortAccessError`.
    """

    __slots__ = ("_conn", "_design")

    def __init__(self, conn: Connection, design: ChipDesign) -> None:
        object.__setattr__(self, "_conn", conn)
        object.__setattr__(self, "_design", design)

    def __setattr__(self, name, value):
        raise AttributeError("RemotePorts is read-only")

    def __reduce__(self):
        raise TypeError("RemotePorts cannot be pickled: they are one end of one server's link.")

    # ------------------------------------------------------------------ public design
    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Public design: layer widths."""
        return self._design.layer_sizes

    @property
    def n_layers(self) -> int:
        """Number of weight layers."""
        return len(self._design.layer_sizes) - 1

    @property
    def bias_input(self) -> float:
        """Public design: the constant driven on every bias row."""
        return self._design.bias_input

    @property
    def weight_range(self) -> float:
        """Public design: the largest weight a pair can hold."""
        return self._design.w_max

    @property
    def inputs_drivable(self) -> bool:
        """Public design: whether layers above 0 can be driven directly."""
        return self._design.inputs_drivable

    @property
    def design(self) -> ChipDesign:
        """The public design (a frozen datasheet, no conductances)."""
        return self._design

    # ------------------------------------------------------------------ operations
    @property
    def meter(self) -> Meter:
        """A snapshot of the served chip's meter."""
        return self._call("meter")

    def drive(self, layer: int, x: ArrayLike) -> NDArray[np.float64]:
        """Drive ``layer``'s DAC with ``x`` (batch, n_in); the digitised pre-activations."""
        return self._call("drive", layer, x)

    def run(self, x: ArrayLike) -> list[NDArray[np.float64]]:
        """Run inputs (batch, n_inputs) through the whole chip; activities of every layer."""
        return self._call("run", x)

    def apply_delta(self, layer: int, delta: ArrayLike) -> int:
        """Pulses for a desired weight change (n_in + 1, n_out); returns the pulses sent."""
        return self._call("apply_delta", layer, delta)

    def update(self, layer: int, x: ArrayLike, d: ArrayLike, learning_rate: float) -> int:
        """Outer-product pulse update ``learning_rate * [x, b].T @ d``; returns pulses sent."""
        return self._call("update", layer, x, d, learning_rate)

    def program(self, layer: int, weights: ArrayLike, **options: Any) -> dict:
        """Program ``weights`` (n_in + 1, n_out) onto a layer; returns the public report."""
        return self._call("program", layer, weights, options)

    def refresh(self, layer: int, **options: Any) -> dict:
        """Re-centre the layer's pairs, keeping its weights; returns the public report."""
        return self._call("refresh", layer, options)

    def set_output_correction(self, layer: int, scale: ArrayLike, offset: ArrayLike) -> None:
        """Set ``layer``'s per-column digital output correction ``y_out = (y - offset) * scale``."""
        return self._call("set_output_correction", layer, scale, offset)

    def output_correction(self, layer: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``layer``'s output correction now: ``(scale, offset)``, each (n_out,)."""
        return self._call("output_correction", layer)

    def read_reference(self, layer: int, levels: ArrayLike) -> NDArray[np.float64]:
        """Reference ``levels`` (batch, n_out) into ``layer``'s ADCs through the test mux; taps read."""
        return self._call("read_reference", layer, levels)

    def _call(self, op: str, *args) -> Any:
        return _exchange(self._conn, ("call", op, args))

    def __repr__(self) -> str:
        state = "closed" if self._conn.closed else "open"
        return f"RemotePorts(layer_sizes={self.layer_sizes}, {state})"


class ChipServer:
    """A chip in its own process and the ports that reach it.  Build with :func:`serve` or
    :func:`fabricate`.

    ``with server as ports:`` yields :attr:`ports` and closes the server at the end, even
    when the block raises (the chip was changed either way).  :meth:`close` returns the
    chip; for a server made by :func:`serve`, the caller's own ``Chip`` object is updated
    and returned.
    """

    def __init__(self, first: tuple, home: Chip | None) -> None:
        if os.name != "posix":
            raise NotImplementedError(
                "chip servers need a POSIX system (a socket pair passed by pass_fds); got "
                f"os.name={os.name!r}."
            )
        ours, theirs = socket.socketpair()
        for end in (ours, theirs):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER_BYTES)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
        env = dict(os.environ)
        # The directory holding the neuromorph package, so the server imports this very copy.
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        with theirs:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _SERVER_CODE, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                env=env,
                stdin=subprocess.DEVNULL,
            )
        self._conn = Connection(ours.detach())
        self._finalizer = weakref.finalize(self, _kill, self._proc, self._conn)
        self._home = home
        self._chip: Chip | None = None
        try:
            design = _exchange(self._conn, first)
        except BaseException:
            self._finalizer()
            raise
        self._ports = RemotePorts(self._conn, design)

    @property
    def ports(self) -> RemotePorts:
        """The served chip's ports: the only way to it while it is served."""
        return self._ports

    @property
    def chip(self) -> Chip:
        """The chip, once the server has closed (RuntimeError while it serves)."""
        if self._chip is None:
            raise RuntimeError(
                "chip must be read after the server has closed; got a server still serving. "
                "Call close() (or leave the with block) first."
            )
        return self._chip

    def close(self) -> Chip:
        """Stop serving: fetch the chip's state, end the server process, return the chip.

        For a server made by :func:`serve` the caller's ``Chip`` takes the served state
        (:meth:`~neuromorph.chip.chip.Chip.restore`) and is returned.  Closing twice returns
        the same chip.  If the server died, raises PortAccessError (the state since serving
        is lost; the caller's chip keeps its state from before).
        """
        if self._chip is not None:
            return self._chip
        try:
            chip = _exchange(self._conn, ("close",))
        finally:
            self._conn.close()
            try:
                self._proc.wait(timeout=EXIT_TIMEOUT_S)
            finally:
                self._finalizer()
        if self._home is not None:
            self._home.restore(chip)
            chip = self._home
        self._chip = chip
        return chip

    def __enter__(self) -> RemotePorts:
        return self._ports

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._chip is not None else f"serving in pid {self._proc.pid}"
        return f"ChipServer(layer_sizes={self._ports.layer_sizes}, {state})"


def serve(chip: Chip) -> ChipServer:
    """Serve ``chip`` in a new process; ``with serve(chip) as ports:`` ...

    The chip's state is copied to the server; on close it comes back into ``chip``.
    While it is served, ``chip`` in this process is a stale copy (see the module
    docstring for what that means for the boundary).
    """
    if not isinstance(chip, Chip):
        raise TypeError(f"chip must be a Chip; got {type(chip).__name__}.")
    return ChipServer(("chip", chip), home=chip)


def fabricate(design: ChipDesign, *, seed: int, environment: Environment | None = None) -> ChipServer:
    """Fabricate a chip inside a new server (as :meth:`Chip.fabricate
    <neuromorph.chip.chip.Chip.fabricate>` would here, bit for bit): this process holds no
    ``Chip`` until :meth:`ChipServer.close` hands it over."""
    if not isinstance(design, ChipDesign):
        raise TypeError(f"design must be a ChipDesign; got {type(design).__name__}.")
    seed = check.integer("seed", seed, minimum=0)
    if environment is not None and not isinstance(environment, Environment):
        raise TypeError(f"environment must be an Environment or None; got {type(environment).__name__}.")
    return ChipServer(("fabricate", design, seed, environment), home=None)


# ---------------------------------------------------------------------- the link
def _exchange(conn: Connection, message: tuple) -> Any:
    """Send ``message``, return the server's answer or raise its exception here."""
    try:
        conn.send(message)
        status, *payload = conn.recv()
    except (OSError, EOFError) as exc:
        raise PortAccessError(
            "ports must reach a running chip server; got a server that is closed or has exited "
            f"({type(exc).__name__}: {exc})."
        ) from None
    if status == "ok":
        return payload[0]
    error, remote_traceback = payload
    error.add_note(f"raised in the chip server:\n{remote_traceback}")
    raise error


def _kill(proc: subprocess.Popen, conn: Connection) -> None:
    """End a server that was not closed (or failed to start); its chip state is lost."""
    conn.close()
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _start(first: tuple) -> Chip:
    """The server's chip from the first message: a chip sent over, or one fabricated here."""
    kind, *args = first
    if kind == "chip":
        return args[0]
    if kind == "fabricate":
        design, seed, environment = args
        return Chip.fabricate(design, seed=seed, environment=environment)
    raise ValueError(f"the first message must be 'chip' or 'fabricate'; got {kind!r}.")


def _answer_error(conn: Connection, exc: Exception) -> None:
    """Send ``exc`` back; an exception that does not pickle travels as a RuntimeError."""
    tb = traceback.format_exc()
    try:
        conn.send(("error", exc, tb))
    except Exception:  # noqa: BLE001 - any pickling failure: send what can be sent
        conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}"), tb))


def main(argv: list[str]) -> None:
    """The server process: serve the chip on the inherited connection until told to close
    or until the client goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(int(argv[0]))
    try:
        chip = _start(conn.recv())
    except EOFError:
        return
    except Exception as exc:  # noqa: BLE001 - reported to the client, which raises it
        _answer_error(conn, exc)
        return
    conn.send(("ok", chip.design))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return  # the client went away without closing: the chip dies with us
        if message[0] == "close":
            conn.send(("ok", chip))
            return
        try:
            result = perform(chip, message[1], message[2])
        except Exception as exc:  # noqa: BLE001 - reported to the client, which raises it
            _answer_error(conn, exc)
            continue
        conn.send(("ok", result))
