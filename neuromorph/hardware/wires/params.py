"""Wire, driver and sense resistances (and line capacitance) of a crossbar tile (layer 1).

Contract
--------
:class:`WireParams` is a small frozen record of the resistances that cause IR drop in a
crossbar (row and column wire segments, the row drivers' output resistance, the column
sense), the line capacitance per segment that transient analyses charge and the cell
model (:class:`~neuromorph.hardware.wires.cells.CellModel`), validated on construction,
with copper's linear temperature law (:meth:`WireParams.at_temperature`).
:func:`check_wires` is the one type check of a ``wires`` argument for the modules of
:mod:`neuromorph.hardware.wires`.

The circuit these resistances sit in, and its solution, are in
:mod:`neuromorph.hardware.wires.solve`.  May import the shared leaves only.

All quantities are SI: ohms, farads, kelvin, 1/K.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from neuromorph import _validate as val
from neuromorph.hardware.wires.cells import CellModel

__all__ = ["SenseT", "WireParams", "check_wires"]

SenseT = Literal["virtual_ground", "resistor"]

_SENSES = ("virtual_ground", "resistor")


@dataclass(frozen=True)
class WireParams:
    """Wire, driver and sense resistances of one crossbar.

    Parameters
    ----------
    r_row_ohm : float
        Resistance of one row-wire segment between neighbouring cells, ohms, >= 0.
        NeuroSim's wire table (Param.cpp) gives 1.06 ohm at 32 nm, 1.48 ohm at 22 nm and
        2.46 ohm at 14 nm per 2F cross-point pitch (twice that per 4F 1T1R pitch); see
        :func:`neuromorph.hardware.wires.technology.wires_for_node`.
    r_col_ohm : float
        Resistance of one column-wire segment, ohms, >= 0.
    r_driver_ohm : float, default 0.0
        Output resistance of each row driver (DAC), ohms, >= 0.
    sense : {"virtual_ground", "resistor"}, default "virtual_ground"
        Column termination: an ideal virtual ground (0 V) or a resistor to ground.
    r_sense_ohm : float, default 0.0
        Sense resistance, ohms; must be > 0 when ``sense="resistor"``, ignored otherwise.
    tcr_per_k : float, default 0.0039
        Linear temperature coefficient of the wire (and driver) resistance, 1/K, at
        ``t_ref_k``.  Copper: about 0.39 %/K near room temperature (CRC Handbook of
        Chemistry and Physics, "Electrical resistivity of pure metals", after R. A. Matula,
        J. Phys. Chem. Ref. Data 8, 1147 (1979): 1.725 uOhm cm at 293 K, 1.772 at 300 K,
        2.475 at 400 K, i.e. 0.0039-0.0040 /K).
    t_ref_k : float, default 300.0
        Temperature at which the resistances above hold, kelvin.
    c_segment_f : float, default 0.0
        Line capacitance of one wire segment between adjacent cells (row and column lines
        alike), farads, >= 0.  Only transient analyses use it (DC solves ignore it); 0 means
        "not given".  NeuroSim charges every line at 0.2 fF/um (``lengthRow * 0.2e-15/1e-6``
        in ``SubArray.cpp``; ``unitLengthWireCap`` in ``Bus.cpp`` / ``HTree.cpp``, DNN+NeuroSim
        V2.1), i.e. 0.016 fF per 80 nm cross-point pitch at 32 nm;
        :func:`neuromorph.hardware.wires.technology.wires_for_node` gives the value per node.
    cell : CellModel, default ``CellModel()`` (resistive)
        What joins a row node to a column node at each cell: the ohmic device alone
        (today's linear array), a 1T1R cell or a nonlinear (sinh) passive cell; see
        :mod:`neuromorph.hardware.wires.cells`.  It rides on the wires because it is part
        of the same circuit: every solver, the transfer map and the netlist read it from here.
    """

    r_row_ohm: float
    r_col_ohm: float
    r_driver_ohm: float = 0.0
    sense: SenseT = "virtual_ground"
    r_sense_ohm: float = 0.0
    tcr_per_k: float = 0.0039
    t_ref_k: float = 300.0
    c_segment_f: float = 0.0
    cell: CellModel = field(default_factory=CellModel)

    def __post_init__(self) -> None:
        for name in ("r_row_ohm", "r_col_ohm", "r_driver_ohm", "r_sense_ohm", "c_segment_f"):
            object.__setattr__(self, name, val.non_negative(name, getattr(self, name)))
        if not isinstance(self.sense, str):
            raise TypeError(f"sense must be a string; got {type(self.sense).__name__}.")
        if self.sense not in _SENSES:
            raise ValueError(f"sense must be one of {_SENSES}; got sense={self.sense!r}.")
        if self.sense == "resistor" and not self.r_sense_ohm > 0:
            raise ValueError(
                f"r_sense_ohm must be > 0 when sense='resistor'; got r_sense_ohm={self.r_sense_ohm!r}."
            )
        object.__setattr__(self, "tcr_per_k", val.real("tcr_per_k", self.tcr_per_k))
        object.__setattr__(self, "t_ref_k", val.temperature("t_ref_k", self.t_ref_k))
        if not isinstance(self.cell, CellModel):
            raise TypeError(f"cell must be a CellModel; got {type(self.cell).__name__}.")

    def scale_at(self, temperature_k: float) -> float:
        """Resistance factor ``1 + tcr_per_k (T - t_ref_k)`` at ``temperature_k`` (> 0)."""
        temperature_k = val.temperature("temperature_k", temperature_k)
        scale = 1.0 + self.tcr_per_k * (temperature_k - self.t_ref_k)
        if not scale > 0:
            raise ValueError(
                "temperature_k must keep 1 + tcr_per_k (T - t_ref_k) > 0; "
                f"got temperature_k={temperature_k:.6g}, tcr_per_k={self.tcr_per_k:.6g}, "
                f"t_ref_k={self.t_ref_k:.6g}."
            )
        return scale

    def at_temperature(self, temperature_k: float) -> WireParams:
        """Wire and driver resistances at ``temperature_k`` (kelvin).

        ``R(T) = R(t_ref) (1 + tcr_per_k (T - t_ref))``; the sense resistor (a separate,
        typically temperature-compensated component) and the line capacitance keep their
        values.  The result is
        referenced to ``T`` (its ``t_ref_k`` is ``T`` and its coefficient is rescaled to
        ``tcr_per_k / (1 + tcr_per_k (T - t_ref))``), so chained calls compose exactly:
        ``w.at_temperature(a).at_temperature(b)`` equals ``w.at_temperature(b)``.
        """
        temperature_k = val.temperature("temperature_k", temperature_k)
        if temperature_k == self.t_ref_k:
            return self
        s = self.scale_at(temperature_k)
        return replace(
            self,
            r_row_ohm=self.r_row_ohm * s,
            r_col_ohm=self.r_col_ohm * s,
            r_driver_ohm=self.r_driver_ohm * s,
            tcr_per_k=self.tcr_per_k / s,
            t_ref_k=temperature_k,
        )


def check_wires(wires: object) -> WireParams:
    """``wires`` itself when it is a :class:`WireParams`; raises ``TypeError`` otherwise."""
    if not isinstance(wires, WireParams):
        raise TypeError(f"wires must be a WireParams; got {type(wires).__name__}.")
    return wires
