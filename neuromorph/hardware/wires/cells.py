"""What sits at each crossing of a wired crossbar: the cell model (layer 1: hardware).

Contract
--------
:class:`CellModel` says what joins a row-line node to a column-line node at each cell:

* ``"resistive"`` (the default, today's model): the device alone, an ohmic conductance
  ``g``.  The array is then an exact linear map and every solver path of
  :mod:`neuromorph.hardware.wires` is unchanged.
* ``"one_t_one_r"``: the device in series with an access transistor (1T1R).  The device
  joins the row node to a cell-internal node; an n-channel transistor joins that node
  (drain side for positive inputs) to the column node (source side), its gate held at
  ``v_gate_v`` by the word line during a read and its bulk at ground.  The transistor is a
  SPICE level-1 MOSFET with ``lambda = 0``, no body effect (``gamma = 0``) and no junction
  current: ``I = k ((Vgs - Vt) Vds - Vds^2 / 2)`` in triode, ``k (Vgs - Vt)^2 / 2`` in
  saturation, 0 in cut-off, symmetric in drain and source.  ``k`` is fixed by the on-resistance
  at zero drain-source voltage, ``r_access_ohm = 1 / (k (v_gate_v - v_th_v))``.
* ``"nonlinear"``: a passive (selector-less) cell with the odd sinh I-V
  ``I = g v0 sinh(V / v0)``, scaled so the small-signal conductance at 0 V is the device's
  ``g``; at a half-select the current is below half the full-select current, the source of
  the sneak-path and half-select behaviour of passive arrays.

Nonlinear cells make the wired array a nonlinear network, solved by Newton's method on the
nodal equations (:mod:`neuromorph.hardware.wires._newton`); :meth:`CellModel.small_signal`
gives the conductance each cell shows at zero input (the linear map of small reads).

Temperature.  The transistor's mobility, hence ``k``, follows ``(T / t_ref_k)^-1.5``
(lattice scattering; also SPICE level 1's own law, ``KP(T) = KP(Tnom) (T/Tnom)^-1.5``,
ngspice manual, MOSFET temperature dependence).  Its threshold is held at ``v_th_v`` (not
modelled) and the sinh voltage ``v0_v`` is temperature independent (not modelled).  The
device's own conductance law lives in :mod:`neuromorph.hardware.devices`.

Layer 1 (hardware).  May import the shared leaves only.  SI units: ohms, siemens, volts,
amperes, kelvin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as val

__all__ = ["CELL_KINDS", "CellKindT", "CellModel", "mos_current", "sinh_current"]

CellKindT = Literal["resistive", "one_t_one_r", "nonlinear"]
CELL_KINDS: tuple[str, ...] = ("resistive", "one_t_one_r", "nonlinear")

#: NeuroSim's I-V nonlinearity of a cross-point cell: the current ratio between the write
#: voltage and half of it (``nonlinearity = 10``, DNN+NeuroSim V2.1 Param.cpp).
NEUROSIM_NONLINEARITY = 10.0
#: NeuroSim's write voltage, volts (``writeVoltage = 4``, Param.cpp), at which that ratio holds.
NEUROSIM_WRITE_V = 4.0
#: The sinh voltage with NeuroSim's ratio: ``I(Vw) / I(Vw/2) = 2 cosh(Vw / (2 v0)) = NL``.
DEFAULT_V0_V = (NEUROSIM_WRITE_V / 2.0) / math.acosh(NEUROSIM_NONLINEARITY / 2.0)


@dataclass(frozen=True)
class CellModel:
    """What joins a row node to a column node at each crossbar cell.

    Parameters
    ----------
    kind : {"resistive", "one_t_one_r", "nonlinear"}, default "resistive"
        See the module docstring.  Fields of the other kinds are ignored.
    r_access_ohm : float, default 15e3
        1T1R: on-resistance of the access transistor at ``Vds = 0``, ``t_ref_k``, ohms, > 0.
        NeuroSim's default ``resistanceAccess = 15e3`` (DNN+NeuroSim V2.1, Param.cpp).
    v_gate_v : float, default 1.1
        1T1R: word-line (gate) voltage during a read, volts.  NeuroSim's
        ``accessVoltage = 1.1`` (Param.cpp).
    v_th_v : float, default 0.442034
        1T1R: transistor threshold voltage, volts, < ``v_gate_v``.  NeuroSim's 32 nm
        low-standby-power transistor (its default roadmap, ``deviceroadmap = 2``):
        ``vth = 442.034e-3`` (Technology.cpp, PTM 32 nm LSTP).
    mobility_exponent : float, default 1.5
        1T1R: ``k(T) = k(t_ref) (T / t_ref_k)^-mobility_exponent``; 1.5 is lattice-scattering
        mobility and SPICE level 1's ``KP`` law (ngspice manual).
    v0_v : float, default 0.8725
        Nonlinear: sinh voltage, volts, > 0.  ``(4 V / 2) / acosh(10 / 2)``: NeuroSim's
        ``nonlinearity = 10`` (current ratio at its 4 V write voltage and half of it) for
        the sinh form.  At the 0.2 V DAC full scale the current is 0.9 % above linear.
    t_ref_k : float, default 300.0
        Temperature at which ``r_access_ohm`` holds, kelvin (NeuroSim's ``temp = 300``).
    """

    kind: CellKindT = "resistive"
    r_access_ohm: float = 15e3
    v_gate_v: float = 1.1
    v_th_v: float = 0.442034
    mobility_exponent: float = 1.5
    v0_v: float = DEFAULT_V0_V
    t_ref_k: float = 300.0

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str):
            raise TypeError(f"kind must be a string; got {type(self.kind).__name__}.")
        if self.kind not in CELL_KINDS:
            raise ValueError(f"kind must be one of {CELL_KINDS}; got kind={self.kind!r}.")
        object.__setattr__(self, "r_access_ohm", val.positive("r_access_ohm", self.r_access_ohm))
        object.__setattr__(self, "v_gate_v", val.real("v_gate_v", self.v_gate_v))
        object.__setattr__(self, "v_th_v", val.real("v_th_v", self.v_th_v))
        if not self.v_gate_v > self.v_th_v:
            raise ValueError(
                f"v_gate_v must be > v_th_v (the access transistor must conduct); got "
                f"v_gate_v={self.v_gate_v!r}, v_th_v={self.v_th_v!r}."
            )
        object.__setattr__(self, "mobility_exponent", val.real("mobility_exponent", self.mobility_exponent))
        object.__setattr__(self, "v0_v", val.positive("v0_v", self.v0_v))
        object.__setattr__(self, "t_ref_k", val.temperature("t_ref_k", self.t_ref_k))

    @property
    def is_linear(self) -> bool:
        """Whether the cell is ohmic (``kind == "resistive"``): the array is a linear map."""
        return self.kind == "resistive"

    def k_s(self, temperature_k: float) -> float:
        """1T1R transconductance factor ``k = KP W / L`` at ``temperature_k``, A/V^2."""
        t = val.temperature("temperature_k", temperature_k)
        k_ref = 1.0 / (self.r_access_ohm * (self.v_gate_v - self.v_th_v))
        return k_ref * (t / self.t_ref_k) ** (-self.mobility_exponent)

    def small_signal(self, g: NDArray[np.float64], temperature_k: float) -> NDArray[np.float64]:
        """Conductance of each cell at zero bias (n_rows, n_cols), siemens.

        ``g`` itself for resistive and sinh cells; for 1T1R the device in series with the
        transistor's ``k (v_gate_v - v_th_v)`` (its source at 0 V).
        """
        if self.kind != "one_t_one_r":
            return g
        g_t = self.k_s(temperature_k) * (self.v_gate_v - self.v_th_v)
        return g * g_t / (g + g_t)


def sinh_current(
    v: NDArray[np.float64], g: NDArray[np.float64], v0: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Sinh cell current ``g v0 sinh(v / v0)`` (amperes) and its derivative ``g cosh(v / v0)``."""
    u = v / v0
    return g * v0 * np.sinh(u), g * np.cosh(u)


def mos_current(
    va: NDArray[np.float64], vb: NDArray[np.float64], v_gate: float, v_th: float, k: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Level-1 MOSFET (lambda = 0, gamma = 0) current from terminal ``a`` to ``b``, amperes.

    The terminal at the higher voltage is the drain (the device is symmetric, as SPICE's
    level 1 is).  Returns the current and its derivatives with respect to ``va`` and ``vb``
    (siemens).
    """
    fwd = va >= vb
    vd = np.where(fwd, va, vb)
    vs = np.where(fwd, vb, va)
    vov = v_gate - vs - v_th
    vds = vd - vs
    on = vov > 0
    triode = on & (vds < vov)
    i = np.where(triode, k * (vov * vds - 0.5 * vds * vds), np.where(on, 0.5 * k * vov * vov, 0.0))
    di_dvd = np.where(triode, k * (vov - vds), 0.0)
    di_dvs = np.where(on, -k * vov, 0.0)
    sign = np.where(fwd, 1.0, -1.0)
    return sign * i, np.where(fwd, di_dvd, -di_dvs), np.where(fwd, di_dvs, -di_dvd)
