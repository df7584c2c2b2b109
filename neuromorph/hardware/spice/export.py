"""A crossbar tile as it is now, exported as a netlist beside the simulator's answer (layer 1).

Layer 1 (hardware).  May import the shared leaves, :mod:`neuromorph.hardware.wires` and its
sibling modules; :func:`export_crossbar` imports :mod:`neuromorph.hardware.crossbar` when
called (the crossbar does not import this package).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph import _validate as val
from neuromorph.hardware.spice.common import SenseT
from neuromorph.hardware.spice.netlist import write_netlist

if TYPE_CHECKING:
    from neuromorph.hardware.crossbar import Crossbar

__all__ = ["CrossbarExport", "export_crossbar"]


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
