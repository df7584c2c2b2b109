"""What a chip is made of before fabrication, and what its operations cost (layer 2).

:class:`CostModel` holds the cited energy and time constants the meter bills;
:class:`ChipDesign` is the public datasheet of a chip (widths, device model, periphery,
ranges, tiles, wires), frozen and serialisable to JSON.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from neuromorph import _validate as check
from neuromorph.chip.digital import check_layer_sizes
from neuromorph.hardware import devices as dev
from neuromorph.hardware.crossbar import DEFAULT_TILE_SHAPE
from neuromorph.hardware.periphery import SAR_MISMATCH, DacParams, Periphery
from neuromorph.hardware.wires import WireParams

_T = TypeVar("_T")

#: The periphery of :class:`ChipDesign` by default: 8-bit DACs (input full scale 8), automatic
#: TIA gain, 8-bit ADCs, and :data:`~neuromorph.hardware.periphery.SAR_MISMATCH` (each die's
#: own converters; the cited statistics, one of them illustrative, see ConverterMismatch).
DEFAULT_PERIPHERY = Periphery(dac=DacParams(bits=8, input_full_scale=8.0), mismatch=SAR_MISMATCH)


@dataclass(frozen=True)
class CostModel:
    """Energy and time of the operations a port meters.

    Parameters
    ----------
    adc_fom_j_per_step : float
        Walden figure of merit of the ADC, joules per conversion step; one conversion of a
        ``bits``-bit ADC costs ``fom * 2**bits``.  5 fJ/step: SAR ADCs of 8-10 bits in
        B. Murmann, "ADC Performance Survey 1997-2024" (Stanford), typical, not best-in-class.
    dac_fom_j_per_step : float
        The same for the input DACs (same order as the ADC's; an assumption, not a survey
        figure).
    t_read_s : float
        Shortest sense window of a read (rows driven, TIAs integrating), seconds; a tile
        whose lines take longer to settle (:func:`neuromorph.hardware.timing.settling_time_s`)
        waits for them.  10 ns: NeuroSim's read pulse width (``readPulseWidth = 10e-9``,
        ``Param.cpp``, DNN+NeuroSim V1.4).  Files saved before issue 13 carry the old
        whole-read figure, 100 ns (NeuRRAM's per-core MVM latency, Wan et al., Nature 608,
        504 (2022)), and keep it as their window.
    pulse_v : float
        Programming pulse amplitude, volts.  1.2 V: HfO2 SET pulses of 1-2 V in Yao et al.,
        Nature 577, 641 (2020) and Li et al., Nature Commun. 9, 2385 (2018).
    t_pulse_s : float
        Programming pulse width, seconds.  100 ns (same sources: 10 ns-1 us).
    columns_per_adc : int
        Sensed channels sharing one ADC through a multiplexer; each ADC converts its
        channels one after another.  8: NeuroSim's default (``numColMuxed = 8``,
        ``Param.cpp``, DNN+NeuroSim V1.4).
    adc_clock_hz : float
        SAR ADC clock; a conversion takes ``bits + 1`` cycles
        (:func:`neuromorph.hardware.energy.sar_conversion_time_s`).  1 GHz: NeuroSim's SAR
        model (``(log2(levelOutput) + 1) * 1e-9`` s in ``SarADC.cpp``, V1.4).
    tia_power_w : float
        Bias power of one channel's TIA during the sense window, watts.
        Illustrative: 10 uW, the order of a low-power CMOS op-amp with tens of MHz of
        bandwidth; no survey gives TIA power as Murmann's does for ADCs.  Set it from your
        circuit.
    mux_energy_j : float
        Energy of one mux selection (pass gates and their decoder), joules.  2 fJ:
        DNN+NeuroSim V1.4's ``Mux`` + ``muxDecoder`` at 22 nm, 0.253 pJ for the 128
        selections of one 128x128 read with 8 columns per ADC (run recorded in
        ``benchmarks/energy.py``).
    c_line_per_cell_f : float
        Row-line capacitance per cell for chips whose wires give none, farads.  0.016 fF:
        NeuroSim's wire capacitance 0.2 fF/um (``SubArray.cpp``) over an 80 nm cross-point
        pitch (2F at its 32 nm node's 40 nm wire), as
        :func:`neuromorph.hardware.wires.technology.wires_for_node` gives by default.
        Wires with ``c_segment_f > 0`` override it.
    """

    adc_fom_j_per_step: float = 5e-15
    dac_fom_j_per_step: float = 5e-15
    t_read_s: float = 10e-9
    pulse_v: float = 1.2
    t_pulse_s: float = 100e-9
    columns_per_adc: int = 8
    adc_clock_hz: float = 1e9
    tia_power_w: float = 10e-6
    mux_energy_j: float = 2e-15
    c_line_per_cell_f: float = 1.6e-17

    def __post_init__(self) -> None:
        for name in ("adc_fom_j_per_step", "dac_fom_j_per_step", "t_read_s", "pulse_v", "t_pulse_s"):
            check.positive(name, getattr(self, name))
        k = check.integer("columns_per_adc", self.columns_per_adc, minimum=1)
        object.__setattr__(self, "columns_per_adc", k)
        check.positive("adc_clock_hz", self.adc_clock_hz)
        for name in ("tia_power_w", "mux_energy_j", "c_line_per_cell_f"):
            check.non_negative(name, getattr(self, name))


@dataclass(frozen=True)
class ChipDesign:
    """What a chip is made of, before fabrication.

    Parameters
    ----------
    layer_sizes : tuple of int
        Widths ``(n_inputs, n_hidden_1, ..., n_out)``.
    device : DeviceModel or str, default "rram"
        The device, or the name of a preset (:func:`neuromorph.hardware.presets.preset`:
        ``"pcm"``, ``"PCM_GST"``, any case), stored as that preset's :class:`DeviceModel`.
    periphery : Periphery
        Default (:data:`DEFAULT_PERIPHERY`): 8-bit DACs with input full scale 8, automatic
        TIA gain, 8-bit ADCs, and each die's own converters (:data:`SAR_MISMATCH`:
        capacitor, comparator-offset and column-gain mismatch drawn at fabrication), because
        a real chip's converters are not identical (issue 14: the credible design has its
        periphery effects on).  ``dataclasses.replace(design.periphery, mismatch=None)``
        gives identical nominal converters, as every design had before.
    adc_full_scale : float
        Pre-activation (weight x input units) that reaches each tap's ADC full scale.  With
        the defaults (ADC 16, DAC 8) in-place FF on the digits chip reached 95.8 % on seeds 0
        and 4 where ADC 8 / DAC 4 reached 94.4 and 95.0 % (clipped RMS-normalised activities
        and saturated taps cost more than the coarser steps) and ADC 4 / DAC 4 91.9 %.
    w_max : float
        Weight of a pair at (g_max, g_min), in [1e-30, 1e30] (:data:`neuromorph._validate.SCALE_MIN`).
    tile_shape : (int, int)
    bias_input : float
        Constant driven on every bias row.
    inputs_drivable : bool
        If False, only the first layer's DAC can be driven from outside: the taps of deeper
        layers only read (a design option that makes copy-out harder).
    cost : CostModel
    wires : WireParams, optional
        Wire resistances of every tile (exact IR drop in every read), their line
        capacitance and the cell model (``wires.cell``: resistive, 1T1R or sinh, solved
        exactly in every read); None is ideal wiring with resistive cells.
    """

    layer_sizes: tuple[int, ...]
    device: dev.DeviceModel | str = "rram"
    periphery: Periphery = field(default_factory=lambda: DEFAULT_PERIPHERY)
    adc_full_scale: float = 16.0
    w_max: float = 1.0
    tile_shape: tuple[int, int] = DEFAULT_TILE_SHAPE
    bias_input: float = 1.0
    inputs_drivable: bool = True
    cost: CostModel = field(default_factory=CostModel)
    wires: WireParams | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layer_sizes", check_layer_sizes(self.layer_sizes))
        if isinstance(self.device, str):
            object.__setattr__(self, "device", dev.preset(self.device))
        if not isinstance(self.device, dev.DeviceModel):
            raise TypeError(
                f"device must be a DeviceModel or a preset name; got {type(self.device).__name__}."
            )
        if not isinstance(self.periphery, Periphery):
            raise TypeError(f"periphery must be a Periphery; got {type(self.periphery).__name__}.")
        check.positive("adc_full_scale", self.adc_full_scale)
        check.scale("w_max", self.w_max)
        check.positive("bias_input", self.bias_input)
        if not isinstance(self.cost, CostModel):
            raise TypeError(f"cost must be a CostModel; got {type(self.cost).__name__}.")
        if self.wires is not None and not isinstance(self.wires, WireParams):
            raise TypeError(f"wires must be a WireParams or None; got {type(self.wires).__name__}.")

    def to_dict(self) -> dict:
        """A JSON-ready description: :func:`dataclasses.asdict`, nested dicts and lists."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ChipDesign:
        """Inverse of :meth:`to_dict`, driven by the dataclass fields and their annotations.

        A missing key takes the field's default; an unknown key raises ValueError.
        """
        return _from_dict(cls, d, "design")


def _from_dict(cls: type[_T], data: Mapping[str, Any], where: str) -> _T:
    """Rebuild the frozen dataclass ``cls`` from ``data`` (as :func:`dataclasses.asdict` made it).

    Fields typed as dataclasses (or ``X | None``) are rebuilt recursively, tuples from lists;
    annotations are resolved with :func:`typing.get_type_hints`.  ``where`` names ``data`` in
    error messages.
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"{where} must be a mapping of {cls.__name__}'s fields; got {type(data).__name__}.")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(
            f"{where} must have only {cls.__name__}'s fields {sorted(fields)}; got also {unknown}."
        )
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _from_value(hints[name], data[name], f"{where}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValueError(f"{where} must have the field {name!r}; got keys {sorted(data)}.")
    return cls(**kwargs)


def _from_value(hint: Any, value: Any, where: str) -> Any:
    """``value`` rebuilt as the annotation ``hint`` asks: dataclass, optional, tuple or as is."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        if isinstance(value, str) and str in options:
            return value
        classes = [t for t in options if dataclasses.is_dataclass(t)]
        return _from_dict(classes[0], value, where) if len(classes) == 1 else value
    if dataclasses.is_dataclass(hint):
        return _from_dict(hint, value, where)
    if origin is tuple:
        return tuple(value)
    return value
