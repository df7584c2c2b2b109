"""A chip's layer as an ngspice netlist: :func:`export_spice` (layer 2, chip).

Contract
--------
:func:`export_spice` writes one physical tile of one layer of a :class:`Chip`, as it is now
(every device at its effective conductance at the chip's temperature and age, the rows
driven by the layer's DAC), as a self-contained ngspice netlist, with the simulator's own
solution of the same circuit beside it (:class:`neuromorph.hardware.spice.CrossbarExport`).
A ``window`` exports only the tile's first rows and weight columns (ngspice's solve time
grows about as the cube of the node count), and ``wires`` gives the exported array wires the
chip does not have (e.g. :func:`neuromorph.hardware.wires.wires_for_node`), so the agreement
checks the wire solver.  ``neuromorph spice`` and ``neuromorph demo`` call it.

:func:`ngspice_nodes` and :func:`estimate_ngspice_seconds` say, before a run, how big a
netlist is and roughly how long ngspice will take on it.

Layer 2 (chip).  Imports :mod:`neuromorph.hardware.spice` and
:mod:`neuromorph.hardware.wires` through their public names, and the shared leaves.
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from neuromorph import _validate as check
from neuromorph._rng import generator_from
from neuromorph.chip.chip import Chip
from neuromorph.hardware import spice
from neuromorph.hardware.wires import WireParams, solve

__all__ = ["estimate_ngspice_seconds", "export_spice", "ngspice_nodes"]

#: Reference point of the ngspice time estimate: a wired 64 x 64 array (8192 nodes) took
#: 1.5-3.4 s in Debian's ngspice 39 (Sparse 1.3, no KLU) on this project's 2-core
#: development machine, shared with other jobs (machine dependent; measured, not cited).
NGSPICE_REF_NODES, NGSPICE_REF_SECONDS = 8192, 2.5
#: Growth of ngspice's solve time with the node count (Sparse 1.3 spends most of its time
#: reordering).  Measured on the same machine, wired arrays: 32 x 32 (2048 nodes) 0.17 s,
#: 64 x 128 (16384) 28 s, 96 x 96 (18432) 50 s, 128 x 128 (32768) 164 s; a cube law
#: through the reference point gives 0.14, 20, 28 and 160 s: right to within a factor of
#: 2, enough to say "seconds" or "minutes" before a run, never a benchmark.
NGSPICE_TIME_EXPONENT = 3.0
#: Fixed cost of one ngspice run (load, parse, one small solve), seconds: 0.07-0.17 s
#: measured for 32 x 32 wired arrays.
NGSPICE_OVERHEAD_S = 0.1

#: Netlist element letters whose first two (R, V, I, C, L) or four (E, G) fields are nodes.
_TWO_NODE, _FOUR_NODE = "RVICL", "EG"


def export_spice(
    chip: Chip,
    layer: int = 0,
    x: ArrayLike | None = None,
    *,
    tile: tuple[int, int] = (0, 0),
    window: tuple[int, int] | None = None,
    wires: WireParams | None = None,
    sense: Literal["ammeter", "tia", "resistor"] | None = None,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    name: str | None = None,
    path: str | os.PathLike | None = None,
) -> spice.CrossbarExport:
    """Export one physical tile of ``chip``'s layer ``layer`` as an ngspice netlist.

    Parameters
    ----------
    chip : Chip
        Read as it is now: its environment's temperature and age (set them on
        ``chip.environment`` first to export another condition).
    layer : int, default 0
        Layer index, ``0 <= layer < chip.n_layers``.
    x : array_like of shape (n_in,) or (n_in - 1,), optional
        The layer's inputs in input units (the DAC's range): the crossbar's rows, bias row
        last, or without the bias row (then the design's ``bias_input`` is appended).
        Default: uniform in ``[0, input_full_scale)`` on every row (the bias row too), drawn
        from ``seed`` or ``rng``.
    tile : (int, int), default (0, 0)
        (row-tile, column-tile) index of the physical tile.
    window : (int, int), optional
        Export only the tile's first ``window[0]`` rows and ``window[1]`` weight columns
        (``2 window[1]`` physical columns: each weight is a G+/G- pair), each clipped to the
        tile; the window is an array of its own (its wires end where it ends).  Default: the
        whole tile.
    wires : WireParams, optional
        Wires of the exported array; default the chip's own (``chip.design.wires``, which may
        be None: ideal wiring).
    sense : {"ammeter", "tia", "resistor"}, optional
        Column sense of the netlist (:func:`neuromorph.hardware.spice.write_netlist`).
    seed, rng : int >= 0 or numpy.random.Generator, optional
        Draw the default ``x`` (exactly one when ``x`` is None, none when it is given;
        :func:`neuromorph._rng.generator_from`).
    name : str, optional
        Prefix of every node and element; default ``"layer<layer>"``.
    path : str or path-like, optional
        Also write the netlist to this file.

    Returns
    -------
    neuromorph.hardware.spice.CrossbarExport
        The netlist, the row voltages, the simulator's own column currents of the same
        circuit (physical columns, amperes: the exact wired solution when there are wires)
        and the temperature, kelvin.
    """
    if not isinstance(chip, Chip):
        raise TypeError(f"chip must be a Chip; got {type(chip).__name__}.")
    layer = check.integer("layer", layer, minimum=0, maximum=chip.n_layers - 1)
    xbar = chip.crossbars[layer]
    x = _inputs(chip, layer, x, seed=seed, rng=rng)
    name = f"layer{layer}" if name is None else name
    if wires is not None and not isinstance(wires, WireParams):
        raise TypeError(f"wires must be a WireParams or None; got {type(wires).__name__}.")
    if window is None and wires is None:
        return spice.export_crossbar(xbar, x, tile=tile, sense=sense, name=name, path=path)
    rows, cols = _window(window, xbar.tile_shape)
    g = xbar.tile_conductances(tile)[:rows, : 2 * cols]
    r0 = tile[0] * xbar.tile_shape[0]
    v = xbar.periphery.dac.convert(x)[r0 : r0 + g.shape[0]]
    wires = xbar.wires if wires is None else wires
    temperature_k = xbar.environment.temperature_k
    netlist = spice.write_netlist(g, v, wires, temperature_k=temperature_k, sense=sense, name=name, path=path)
    expected = v @ g if wires is None else solve(g, v, wires, temperature_k=temperature_k)
    return spice.CrossbarExport(
        netlist=netlist, voltages=v, expected_currents=expected, temperature_k=temperature_k
    )


def _inputs(
    chip: Chip, layer: int, x: ArrayLike | None, *, seed: int | None, rng: np.random.Generator | None
) -> np.ndarray:
    """The crossbar's full input vector (n_in,): ``x`` as given or completed, or drawn."""
    xbar = chip.crossbars[layer]
    if x is None:
        draw = generator_from(seed=seed, rng=rng)
        return draw.uniform(0.0, xbar.periphery.dac.input_full_scale, xbar.n_in)
    if seed is not None or rng is not None:
        raise TypeError("seed and rng must be None when x is given (they only draw a default x); got one.")
    x = np.asarray(x, dtype=np.float64)
    if x.shape == (xbar.n_in - 1,):
        x = np.append(x, chip.design.bias_input)
    return check.array("x", x, shape=(xbar.n_in,))


def _window(window: tuple[int, int] | None, tile_shape: tuple[int, int]) -> tuple[int, int]:
    """(rows, weight columns) of the exported window, clipped to the tile."""
    if window is None:
        return tile_shape
    if not isinstance(window, tuple | list) or len(window) != 2:
        raise TypeError(f"window must be a pair (rows, weight columns); got {window!r}.")
    rows = check.integer("window[0]", window[0], minimum=1)
    cols = check.integer("window[1]", window[1], minimum=1)
    return min(rows, tile_shape[0]), min(cols, tile_shape[1])


def ngspice_nodes(netlist: str) -> int:
    """Distinct circuit nodes of a netlist's top level (ground and subcircuit insides excluded).

    Counts the node fields of two-terminal elements (R, V, I, C, L), of controlled sources
    (E, G) and of subcircuit instances (X); enough to size a run, not a SPICE parser.
    """
    if not isinstance(netlist, str):
        raise TypeError(f"netlist must be a string; got {type(netlist).__name__}.")
    nodes: set[str] = set()
    inside = False
    for line in netlist.splitlines()[1:]:  # the first line of a netlist is its title
        fields = line.split()
        if not fields or fields[0][0] in "*+":
            continue
        word = fields[0].lower()
        if word.startswith(".subckt"):
            inside = True
        elif word.startswith(".ends"):
            inside = False
        elif inside or word.startswith("."):
            continue
        elif word[0].upper() in _TWO_NODE:
            nodes.update(fields[1:3])
        elif word[0].upper() in _FOUR_NODE:
            nodes.update(fields[1:5])
        elif word[0] == "x":
            nodes.update([f for f in fields[1:] if "=" not in f][:-1])  # the last is the subckt
    nodes.discard("0")
    return len(nodes)


def estimate_ngspice_seconds(netlist: str) -> float:
    """A rough time ngspice will take on ``netlist``, seconds, from its node count.

    ``overhead + t_ref (n / n_ref) ** p`` with the constants above (measured on this
    project's development machine): right to within a factor of about 2 there, enough to
    say "seconds" or "minutes" before a run; never a benchmark.
    """
    n = ngspice_nodes(netlist)
    return NGSPICE_OVERHEAD_S + NGSPICE_REF_SECONDS * (n / NGSPICE_REF_NODES) ** NGSPICE_TIME_EXPONENT
