"""Mixed-signal periphery of a crossbar: DAC, transimpedance amplifier, ADC (layer 1).

Conventions
-----------
Both converters are **signed and symmetric** (sign-magnitude): a ``bits``-bit converter
has the codes ``-(2**(bits-1) - 1) .. 2**(bits-1) - 1``, so zero is exact and the grid is
symmetric about it; ``bits`` counts the sign bit and must be >= 2.  ``bits=None`` is an
ideal converter of infinite resolution (for tests and ideal references).

* DAC: a dimensionless input ``x`` in ``[-input_full_scale, input_full_scale]`` becomes the
  row voltage ``v = v_max_v * q(x / input_full_scale)``; inputs beyond full scale clip.
* TIA: a column current ``I`` becomes ``V = gain_ohm * I``.
* ADC: ``V`` plus optional input-referred Gaussian noise (``noise_v`` std, per conversion)
  becomes ``lsb * clip(round(V / lsb), -max_code, max_code)`` with
  ``lsb = full_scale_v / max_code``; values beyond full scale saturate.

Those are the *nominal* laws, and with ``Periphery.mismatch=None`` every converter of every
die follows them exactly (today's bits).  A :class:`ConverterMismatch` (e.g.
:data:`SAR_MISMATCH`) makes each die's converters its own, drawn once at fabrication
(:mod:`neuromorph.hardware.converters`): per-row capacitive DACs and per-column SAR ADCs
with capacitor mismatch, and per-column gain and offset errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph import _validate as check
from neuromorph._rng import STREAM_ADC_NOISE, noise_key
from neuromorph.hardware import _converter_kernels
from neuromorph.hardware.energy import check_sensing


def _check_bits(name: str, bits: int | None) -> int | None:
    if bits is None:
        return None
    bits = check.integer(name, bits)
    if bits < 2:
        raise ValueError(
            f"{name} must be >= 2 (one sign bit and at least one magnitude bit) or None for an "
            f"ideal converter; got {name}={bits}."
        )
    if bits > 32:
        raise ValueError(f"{name} must be <= 32; got {name}={bits}.")
    return bits


def max_code(bits: int | None) -> int:
    """Largest code magnitude of a signed ``bits``-bit converter (0 means ideal)."""
    return 0 if bits is None else 2 ** (bits - 1) - 1


@dataclass(frozen=True)
class DacParams:
    """Input digital-to-analog converter driving the rows.

    Parameters
    ----------
    bits : int >= 2 or None
        Resolution including the sign bit; None is ideal.
    v_max_v : float > 0
        Row voltage at full-scale input, volts.  Default 0.2 V, a read voltage well below
        the set/reset thresholds of HfO2 RRAM (Yao et al., Nature 577, 641 (2020) read at
        0.2 V).
    input_full_scale : float > 0
        Input value that maps to ``v_max_v`` (dimensionless).
    """

    bits: int | None = 8
    v_max_v: float = 0.2
    input_full_scale: float = 1.0

    def __post_init__(self) -> None:
        _check_bits("bits", self.bits)
        check.positive("v_max_v", self.v_max_v)
        check.positive("input_full_scale", self.input_full_scale)

    @property
    def lsb_v(self) -> float:
        """Voltage step, volts (0 for an ideal DAC)."""
        return 0.0 if self.bits is None else self.v_max_v / max_code(self.bits)

    def convert(self, x: ArrayLike) -> NDArray[np.float64]:
        """Row voltages for inputs ``x`` (any shape), volts."""
        x = check.array("x", x)
        v = np.empty_like(x)
        _converter_kernels.dac_convert(
            x=x.reshape(-1),
            scale=1.0 / self.input_full_scale,
            v_max=self.v_max_v,
            levels=max_code(self.bits),
            v_out=v.reshape(-1),
            v2_out=np.empty(0, dtype=np.float32),
        )
        return v


@dataclass(frozen=True)
class TiaParams:
    """Transimpedance amplifier at the foot of each column.

    Parameters
    ----------
    gain_ohm : float > 0 or None
        Transimpedance, volts per ampere.  None lets the crossbar choose the gain that maps
        its ``output_full_scale`` onto the ADC's full scale.
    """

    gain_ohm: float | None = None

    def __post_init__(self) -> None:
        if self.gain_ohm is not None:
            check.positive("gain_ohm", self.gain_ohm)


@dataclass(frozen=True)
class AdcParams:
    """Column analog-to-digital converter.

    Parameters
    ----------
    bits : int >= 2 or None
        Resolution including the sign bit; None is ideal.
    full_scale_v : float > 0
        Largest magnitude converted without saturation, volts.
    noise_v : float >= 0
        Input-referred Gaussian noise std per conversion, volts.
    """

    bits: int | None = 8
    full_scale_v: float = 1.0
    noise_v: float = 0.0

    def __post_init__(self) -> None:
        _check_bits("bits", self.bits)
        check.positive("full_scale_v", self.full_scale_v)
        check.non_negative("noise_v", self.noise_v)

    @property
    def lsb_v(self) -> float:
        """Voltage of one code, volts (0 for an ideal ADC)."""
        return 0.0 if self.bits is None else self.full_scale_v / max_code(self.bits)

    def convert(self, v: ArrayLike, *, rng: np.random.Generator | None = None) -> NDArray[np.float64]:
        """Quantised voltages for analog inputs ``v`` (volts, any shape).

        ``rng`` is required when ``noise_v > 0``.
        """
        v = check.array("v", v)
        key = noise_key(rng, needed=self.noise_v > 0, name="rng")
        out = np.zeros_like(v)
        flat = v.reshape(1, -1)
        _converter_kernels.adc_accumulate(
            mu=flat,
            var=np.empty((0, 0), dtype=np.float32),
            key=key,
            stream=STREAM_ADC_NOISE,
            counter_base=0,
            gain=1.0,
            noise_v=self.noise_v,
            lsb=self.lsb_v,
            max_code=float(max_code(self.bits)),
            out_scale=1.0,
            out=out.reshape(1, -1),
        )
        return out


#: Largest unit-capacitor spread accepted: at 20 % a unit capacitor is still 5 sigma from 0.
_MAX_CAP_SIGMA_REL = 0.2


@dataclass(frozen=True)
class ConverterMismatch:
    """Statistics of the converter errors fixed at fabrication (one draw per die).

    Architecture (:mod:`neuromorph.hardware.converters`): every column of every row tile has
    a differential SAR ADC with monotonic capacitor switching (Liu et al., IEEE JSSC 45(4),
    731 (2010)): the first comparison gives the sign, then the binary-weighted capacitor
    array of the higher side resolves the magnitude, so the two signs use two different
    arrays; every row has a binary-weighted capacitive DAC with a polarity switch.  A
    capacitor of ``2**k`` units has the relative spread ``cap_sigma_rel / sqrt(2**k)`` (its
    absolute spread ``cap_sigma_rel * sqrt(2**k)`` units, Pelgrom's area law, as CrossSim's
    SAR model of Spear et al., IEEE JXCDC 2023, draws it).

    Parameters
    ----------
    cap_sigma_rel : float >= 0
        Relative standard deviation of one unit capacitor, in both the ADCs and the DACs.
        Default 0.85 %: metal-fringe (MOM) unit capacitors of 1 fF with the matching
        coefficient 0.85 %·sqrt(fF) reported for such capacitors by Tripathi & Murmann,
        IEEE TCAS-I 61(8), 2236 (2014) (see docs/references.md for what was checked).
        The 1 fF unit is illustrative: the size of unit capacitors in low-energy 8-10-bit
        SAR ADCs, chosen, not fitted.
    offset_sigma_v : float >= 0
        Standard deviation of each ADC's input-referred comparator offset, volts.  Default
        3.44 mV: the Monte-Carlo offset of a dynamic latch comparator in 0.18 um CMOS
        (Rahman et al., The Scientific World Journal 2014, 258068, abstract).
    gain_sigma_rel : float >= 0
        Relative standard deviation of each column's gain error ahead of the SAR (TIA
        feedback element against the ADC reference), on top of the gain error the capacitor
        array itself gives.  Default 0.5 %.
        Illustrative: the order of on-chip resistor/capacitor ratio matching; no source was
        found that states it for a compute-in-memory column, so it is a stated assumption.
    """

    cap_sigma_rel: float = 0.0085
    offset_sigma_v: float = 3.44e-3
    gain_sigma_rel: float = 0.005

    def __post_init__(self) -> None:
        for name in ("cap_sigma_rel", "offset_sigma_v", "gain_sigma_rel"):
            check.non_negative(name, getattr(self, name))
        if self.cap_sigma_rel > _MAX_CAP_SIGMA_REL:
            raise ValueError(
                f"cap_sigma_rel must be <= {_MAX_CAP_SIGMA_REL} (a unit capacitor that can turn "
                f"negative is not a capacitor); got cap_sigma_rel={self.cap_sigma_rel!r}."
            )


#: The cited SAR converter mismatch (defaults of :class:`ConverterMismatch`): a design opts in
#: with ``Periphery(..., mismatch=SAR_MISMATCH)``.
SAR_MISMATCH = ConverterMismatch()


@dataclass(frozen=True)
class Periphery:
    """The converters and amplifier around one crossbar.

    ``mismatch`` (a :class:`ConverterMismatch`) gives every die its own converters, drawn at
    fabrication; None (default) keeps every converter nominal and identical.

    ``sensing`` says where the column multiplexer sits
    (:data:`~neuromorph.hardware.energy.SENSING_SCHEMES`): ``"parallel"`` (default), one TIA
    per channel holding its columns at virtual ground, all channels sensed in one window,
    sampled and held, then sharing the ADC through the mux; ``"muxed"``, the mux before one
    TIA per ADC (NeuroSim's column mux ahead of its sense circuit), one channel per ADC
    sensed per slot while the others float.  It is the periphery's because it is circuit
    topology: it decides which columns conduct during a read, where the cost model only
    prices what conducts.  It changes the bills (:mod:`neuromorph.hardware.energy`: line
    charging per slot, a sense window per slot in the latency, the floating columns'
    current), not the outputs: with ideal wires a selected column's current does not depend
    on the others; with wires the solver keeps every column at its sense node, which under
    ``"muxed"`` leaves out the floating columns' share of the row IR drop.  The default is
    ``"parallel"`` because that is the circuit this periphery describes (:class:`TiaParams`:
    a TIA "at the foot of each column") and the one every bill before this field assumed;
    files saved before it load as ``"parallel"``, their bills unchanged.
    """

    dac: DacParams = field(default_factory=DacParams)
    tia: TiaParams = field(default_factory=TiaParams)
    adc: AdcParams = field(default_factory=AdcParams)
    mismatch: ConverterMismatch | None = None
    sensing: str = "parallel"

    def __post_init__(self) -> None:
        for name, kind in (("dac", DacParams), ("tia", TiaParams), ("adc", AdcParams)):
            value = getattr(self, name)
            if not isinstance(value, kind):
                raise TypeError(f"{name} must be a {kind.__name__}; got {type(value).__name__}.")
        if self.mismatch is not None and not isinstance(self.mismatch, ConverterMismatch):
            raise TypeError(
                f"mismatch must be a ConverterMismatch or None; got {type(self.mismatch).__name__}."
            )
        check_sensing(self.sensing)


#: Periphery of infinite resolution and no noise: with the IDEAL device it reproduces x @ W.
IDEAL_PERIPHERY = Periphery(DacParams(bits=None), TiaParams(), AdcParams(bits=None))
