"""Names, numbers, library subcircuits and the device temperature law of the netlists (layer 1).

Shared by the modules of :mod:`neuromorph.hardware.spice`: the column senses
(:data:`SENSES`), number formatting (:func:`fmt`, :func:`spice_number`), node-name
sanitising (:func:`safe_name`), the ``nm_tia`` and ``nm_memristor_temp`` subcircuits
(:data:`TIA_LIB`, :data:`MEMRISTOR_TEMP_LIB`) and :class:`TemperatureLaw`.

Layer 1 (hardware).  May import the shared leaves and :mod:`neuromorph.hardware.devices`
(Boltzmann's constant) only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as val
from neuromorph.hardware.devices import K_B_EV

__all__ = [
    "MEMRISTOR_TEMP_LIB",
    "NAME_RE",
    "READ_TAG",
    "SENSES",
    "TIA_LIB",
    "ZERO_C",
    "SenseT",
    "TemperatureLaw",
    "fmt",
    "safe_name",
    "spice_number",
]

SenseT = Literal["ammeter", "tia", "resistor"]
SENSES = ("ammeter", "tia", "resistor")

#: 0 degC in kelvin.
ZERO_C = 273.15


def spice_number(x: float) -> str:
    """Shortest text that reads back as ``x``, exponent unpadded (``8.617333262e-5``)."""
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", repr(float(x)))


#: :data:`ZERO_C` and Boltzmann's constant (:data:`~neuromorph.hardware.devices.K_B_EV`) as
#: they appear in netlist expressions.
ZERO_C_TEXT = spice_number(ZERO_C)
K_B_TEXT = spice_number(K_B_EV)

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
    f"* G(T) = gref (1 + alpha (T - tref)) exp(-ea / kB (1/T - 1/tref)), T = temper + {ZERO_C_TEXT} (K)\n"
    f"* gref siemens at tref kelvin, alpha 1/K, ea eV, kB = {K_B_TEXT} eV/K (CODATA 2018).\n"
    ".subckt nm_memristor_temp p n params: gref=1e-5 alpha=0 ea=0 tref=300\n"
    f"Rmem p n {{1/(gref*(1+alpha*(temper+{ZERO_C_TEXT}-tref))"
    f"*exp(-ea/{K_B_TEXT}*(1/(temper+{ZERO_C_TEXT})-1/tref)))}}\n"
    ".ends nm_memristor_temp\n"
)

READ_TAG = "* neuromorph-read:"
NAME_RE = re.compile(r"[^A-Za-z0-9_]")


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
    out = NAME_RE.sub("_", name)
    if not out or out[0].isdigit():
        out = "n" + out
    return out.lower()


def fmt(x: float) -> str:
    """``x`` with 17 significant digits (reads back exactly)."""
    return f"{float(x):.17g}"
