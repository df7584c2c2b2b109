"""The mortal chip: layers of crossbar tiles, ADC taps, an environment and a meter (layer 2).

A :class:`ChipDesign` (layer widths, device, periphery, array size) is fabricated with a seed
into a :class:`Chip`.  Layer ``l`` is one :class:`~neuromorph.crossbar.Crossbar` of shape
``(n_l + 1, n_{l+1})`` (the last row is the bias, driven at a constant input); its column
outputs are digitised by the layer's ADC **tap**; digital periphery then applies ReLU and RMS
length normalisation and feeds the next layer's DAC (see :mod:`neuromorph.digital`).

Algorithms reach a chip only through :meth:`Chip.ports`: a :class:`ChipPorts` object whose
methods drive DACs, read taps and send programming pulses, every call **metered**
(:class:`Meter`).  The hidden state (conductances, effective weights) is reachable from the
chip for scorers and tests, not from the ports.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from neuromorph import _io
from neuromorph import _validate as check
from neuromorph import devices as dev
from neuromorph.crossbar import DEFAULT_TILE_SHAPE, Crossbar
from neuromorph.digital import DigitalNetwork, check_layer_sizes, propagate
from neuromorph.environment import Environment
from neuromorph.errors import ChipFileError, PortAccessError
from neuromorph.parasitics import WireParams
from neuromorph.periphery import AdcParams, DacParams, Periphery, TiaParams

_KIND, _VERSION = "neuromorph.chip", 1


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
        Time of one array read (DAC settle, integrate, convert), seconds.  100 ns: the
        order of NeuRRAM's per-core MVM latency, Wan et al., Nature 608, 504 (2022).
    pulse_v : float
        Programming pulse amplitude, volts.  1.2 V: HfO2 SET pulses of 1-2 V in Yao et al.,
        Nature 577, 641 (2020) and Li et al., Nature Commun. 9, 2385 (2018).
    t_pulse_s : float
        Programming pulse width, seconds.  100 ns (same sources: 10 ns-1 us).
    """

    adc_fom_j_per_step: float = 5e-15
    dac_fom_j_per_step: float = 5e-15
    t_read_s: float = 100e-9
    pulse_v: float = 1.2
    t_pulse_s: float = 100e-9

    def __post_init__(self) -> None:
        for name in ("adc_fom_j_per_step", "dac_fom_j_per_step", "t_read_s", "pulse_v",
                     "t_pulse_s"):  # fmt: skip
            check.positive(name, getattr(self, name))


@dataclass
class Meter:
    """Running totals of what the ports did (all floats/ints, JSON-ready).

    ``queries`` counts input vectors presented to the chip (one per row of a batch, per
    drive or run call); ``array_reads`` counts tile reads; ``energy_j`` is the sum of the
    ``energy_*`` terms.
    """

    queries: int = 0
    dac_conversions: int = 0
    adc_conversions: int = 0
    array_reads: int = 0
    pulses: int = 0
    verify_reads: int = 0
    chip_seconds: float = 0.0
    energy_read_j: float = 0.0
    energy_dac_j: float = 0.0
    energy_adc_j: float = 0.0
    energy_pulse_j: float = 0.0

    @property
    def energy_j(self) -> float:
        return self.energy_read_j + self.energy_dac_j + self.energy_adc_j + self.energy_pulse_j

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["energy_j"] = self.energy_j
        return d

    def copy(self) -> Meter:
        return dataclasses.replace(self)

    def minus(self, earlier: Meter) -> Meter:
        """The difference ``self - earlier``: what was spent in between."""
        return Meter(**{f.name: getattr(self, f.name) - getattr(earlier, f.name)
                        for f in dataclasses.fields(self)})  # fmt: skip


@dataclass(frozen=True)
class ChipDesign:
    """What a chip is made of, before fabrication.

    Parameters
    ----------
    layer_sizes : tuple of int
        Widths ``(n_inputs, n_hidden_1, ..., n_out)``.
    device : DeviceModel
    periphery : Periphery
        Default: 8-bit DACs with input full scale 8, automatic TIA gain, 8-bit ADCs.
    adc_full_scale : float
        Pre-activation (weight x input units) that reaches each tap's ADC full scale.  With
        the defaults (ADC 16, DAC 8) in-place FF on the digits chip reached 95.8 % on seeds 0
        and 4 where ADC 8 / DAC 4 reached 94.4 and 95.0 % (clipped RMS-normalised activities
        and saturated taps cost more than the coarser steps) and ADC 4 / DAC 4 91.9 %.
    w_max : float
        Weight of a pair at (g_max, g_min).
    tile_shape : (int, int)
    bias_input : float
        Constant driven on every bias row.
    inputs_drivable : bool
        If False, only the first layer's DAC can be driven from outside: the taps of deeper
        layers only read (a design option that makes copy-out harder).
    cost : CostModel
    wires : WireParams, optional
        Wire resistances of every tile (exact IR drop in every read); None is ideal wiring.
    """

    layer_sizes: tuple[int, ...]
    device: dev.DeviceModel = dev.RRAM_HFO2
    periphery: Periphery = field(
        default_factory=lambda: Periphery(dac=DacParams(bits=8, input_full_scale=8.0))
    )
    adc_full_scale: float = 16.0
    w_max: float = 1.0
    tile_shape: tuple[int, int] = DEFAULT_TILE_SHAPE
    bias_input: float = 1.0
    inputs_drivable: bool = True
    cost: CostModel = field(default_factory=CostModel)
    wires: WireParams | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layer_sizes", check_layer_sizes(self.layer_sizes))
        if not isinstance(self.device, dev.DeviceModel):
            raise TypeError(f"device must be a DeviceModel; got {type(self.device).__name__}.")
        if not isinstance(self.periphery, Periphery):
            raise TypeError(f"periphery must be a Periphery; got {type(self.periphery).__name__}.")
        check.positive("adc_full_scale", self.adc_full_scale)
        check.positive("w_max", self.w_max)
        check.positive("bias_input", self.bias_input)
        if not isinstance(self.cost, CostModel):
            raise TypeError(f"cost must be a CostModel; got {type(self.cost).__name__}.")
        if self.wires is not None and not isinstance(self.wires, WireParams):
            raise TypeError(f"wires must be a WireParams or None; got {type(self.wires).__name__}.")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ChipDesign:
        dv = d["device"]
        device = dev.DeviceModel(
            name=dv["name"],
            conductance=dev.ConductanceRange(**dv["conductance"]),
            pulse=dev.PulseParams(**dv["pulse"]),
            variation=dev.VariationParams(**dv["variation"]),
            noise=dev.NoiseParams(**dv["noise"]),
            drift=dev.DriftParams(**dv["drift"]),
            temperature=dev.TemperatureParams(**dv["temperature"]),
            source=dv["source"],
        )
        p = d["periphery"]
        periphery = Periphery(DacParams(**p["dac"]), TiaParams(**p["tia"]), AdcParams(**p["adc"]))
        return cls(
            layer_sizes=tuple(d["layer_sizes"]),
            device=device,
            periphery=periphery,
            adc_full_scale=d["adc_full_scale"],
            w_max=d["w_max"],
            tile_shape=tuple(d["tile_shape"]),
            bias_input=d["bias_input"],
            inputs_drivable=d["inputs_drivable"],
            cost=CostModel(**d["cost"]),
            wires=None if d.get("wires") is None else WireParams(**d["wires"]),
        )


class Chip:
    """A fabricated chip.  Build with :meth:`fabricate`; reach it with :meth:`ports`."""

    def __init__(self, *, design: ChipDesign, crossbars: list[Crossbar],
                 environment: Environment, meter: Meter, seed: int | None) -> None:  # fmt: skip
        self.design = design
        self.crossbars = crossbars
        self.environment = environment
        self.meter = meter
        self.seed = seed

    @classmethod
    def fabricate(cls, design: ChipDesign, *, seed: int,
                  environment: Environment | None = None) -> Chip:  # fmt: skip
        """Fabricate ``design``: every layer samples its device variation from ``seed``."""
        if not isinstance(design, ChipDesign):
            raise TypeError(f"design must be a ChipDesign; got {type(design).__name__}.")
        seed = check.integer("seed", seed, minimum=0)
        environment = Environment() if environment is None else environment
        sizes = design.layer_sizes
        rngs = np.random.default_rng(seed).spawn(len(sizes) - 1)
        crossbars = [
            Crossbar.fabricate(
                sizes[i] + 1, sizes[i + 1], rng=rngs[i], device=design.device,
                periphery=design.periphery, w_max=design.w_max, tile_shape=design.tile_shape,
                output_full_scale=design.adc_full_scale, environment=environment,
                wires=design.wires,
            )  # fmt: skip
            for i in range(len(sizes) - 1)
        ]
        return cls(design=design, crossbars=crossbars, environment=environment, meter=Meter(),
                   seed=seed)  # fmt: skip

    @property
    def n_layers(self) -> int:
        return len(self.crossbars)

    def ports(self) -> ChipPorts:
        """The only object algorithms that claim to run on hardware may hold."""
        return ChipPorts(self)

    # -------------------------------------------------------------- hidden (scorers only)
    def effective_weights(self) -> list[NDArray]:
        """Each layer's effective weights now (bias row last).  Hidden: scorers and tests."""
        return [xb.effective_weights() for xb in self.crossbars]

    def effective_network(self) -> DigitalNetwork:
        """The digital network with the chip's effective weights now.  Hidden state.

        Its forward is the chip's without the periphery: no DAC clipping/quantisation, no
        per-tile ADC saturation/quantisation, no read noise.  On a trained 74-500-500 digits
        chip it agreed with the chip's predictions on about 97 % of test inputs, mostly
        because of tap saturation; :class:`neuromorph.extract.PeripheryNetwork` emulates the
        public periphery too.
        """
        return DigitalNetwork(self.effective_weights(), bias_input=self.design.bias_input)

    # -------------------------------------------------------------- metered physics
    def _drive(self, index: int, x: NDArray) -> NDArray:
        """Read layer ``index`` for inputs ``x`` (batch, n_in), metering everything."""
        xb = self.crossbars[index]
        xa = np.hstack([x, np.full((x.shape[0], 1), self.design.bias_input)])
        y = xb.read(xa)
        batch = x.shape[0]
        m, cost, p = self.meter, self.design.cost, self.design.periphery
        row_tiles, col_tiles = xb.n_tiles
        m.dac_conversions += batch * xb.n_in
        m.adc_conversions += batch * xb.n_out * row_tiles
        m.array_reads += batch * row_tiles * col_tiles
        m.chip_seconds += batch * cost.t_read_s
        m.energy_dac_j += batch * xb.n_in * cost.dac_fom_j_per_step * 2 ** (p.dac.bits or 16)
        m.energy_adc_j += (batch * xb.n_out * row_tiles * cost.adc_fom_j_per_step
                           * 2 ** (p.adc.bits or 16))  # fmt: skip
        m.energy_read_j += cost.t_read_s * float(xb.last_row_v2 @ xb.row_conductance_s())
        return y

    def _meter_pulses(self, pulses: int, verify_reads: int = 0) -> None:
        m, cost = self.meter, self.design.cost
        c = self.design.device.conductance
        g_mid = 0.5 * (c.g_min_s + c.g_max_s)
        m.pulses += pulses
        m.verify_reads += verify_reads
        m.energy_pulse_j += pulses * cost.pulse_v**2 * g_mid * cost.t_pulse_s
        m.energy_read_j += verify_reads * self.design.periphery.dac.v_max_v**2 * g_mid * cost.t_read_s
        m.chip_seconds += pulses * cost.t_pulse_s + verify_reads * cost.t_read_s

    def forward(self, x: NDArray) -> list[NDArray]:
        return propagate(self._drive, x, self.n_layers)

    # -------------------------------------------------------------- files
    def save(self, path) -> str:
        """Save hidden state, design, environment and meter atomically (``.npz`` + JSON)."""
        arrays = {}
        rng_states = []
        for i, xb in enumerate(self.crossbars):
            for k, a in xb.state.items():
                arrays[f"layer{i}_{k}"] = a
            rng_states.append({k: g.bit_generator.state for k, g in xb.rngs.items()})
        meta = {
            "design": self.design.to_dict(),
            "environment": self.environment.to_dict(),
            "meter": dataclasses.asdict(self.meter),
            "seed": self.seed,
            "rng_states": rng_states,
            "output_full_scale": [xb.output_full_scale for xb in self.crossbars],
        }
        return _io.save(path, kind=_KIND, version=_VERSION, meta=meta, arrays=arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Chip:
        """Load a chip saved by :meth:`save`; a truncated or altered file raises ChipFileError."""
        meta, arrays = _io.load(path, kind=_KIND, version=_VERSION)
        try:
            design = ChipDesign.from_dict(meta["design"])
            env = Environment.from_dict(meta["environment"])
            meter = Meter(**meta["meter"])
            crossbars = []
            sizes = design.layer_sizes
            for i in range(len(sizes) - 1):
                state = {k: arrays[f"layer{i}_{k}"] for k in
                         ("g_prog", "tau_prog", "nu", "g_lo", "g_hi", "s_up", "s_down", "stuck")}  # fmt: skip
                n = (sizes[i] + 1) * sizes[i + 1]
                for k, a in state.items():
                    if a.shape != (2, n):
                        raise ValueError(f"layer{i}_{k} must have shape (2, {n}); got {a.shape}")
                rngs = {}
                for k, st in meta["rng_states"][i].items():
                    g = np.random.Generator(np.random.PCG64())
                    g.bit_generator.state = st
                    rngs[k] = g
                crossbars.append(Crossbar(
                    device=design.device, periphery=design.periphery, state=state,
                    shape=(sizes[i] + 1, sizes[i + 1]), w_max=design.w_max,
                    tile_shape=design.tile_shape, output_full_scale=meta["output_full_scale"][i],
                    environment=env, rngs=rngs, wires=design.wires,
                ))  # fmt: skip
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ChipFileError(f"{os.fspath(path)!r} has inconsistent chip metadata: {exc}") from exc
        return cls(design=design, crossbars=crossbars, environment=env, meter=meter,
                   seed=meta.get("seed"))  # fmt: skip

    def __repr__(self) -> str:
        return (f"Chip(layer_sizes={self.design.layer_sizes}, device={self.design.device.name!r}, "
                f"seed={self.seed}, {self.environment!r})")  # fmt: skip


class ChipPorts:
    """The metered ports of a chip: all an on-chip algorithm may touch.

    The chip is held in a closure, not an attribute, so that code handed a port object has
    no attribute path to conductances or effective weights.
    """

    __slots__ = ("_call",)

    def __init__(self, chip: Chip) -> None:
        def call(op: str, *args):
            return _PORT_OPS[op](chip, *args)

        object.__setattr__(self, "_call", call)

    def __setattr__(self, name, value):
        raise AttributeError("ChipPorts is read-only")

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Public design: layer widths."""
        return self._call("layer_sizes")

    @property
    def n_layers(self) -> int:
        return len(self.layer_sizes) - 1

    @property
    def inputs_drivable(self) -> bool:
        return self._call("inputs_drivable")

    @property
    def design(self) -> ChipDesign:
        """The public design (widths, device model, converters, ranges, tiles): a datasheet,
        frozen, with no conductances in it."""
        return self._call("design")

    @property
    def bias_input(self) -> float:
        """Public design: the constant driven on every bias row."""
        return self._call("bias_input")

    @property
    def weight_range(self) -> float:
        """Public design: the largest weight a pair can hold."""
        return self._call("w_max")

    @property
    def meter(self) -> Meter:
        """A snapshot of the meter."""
        return self._call("meter")

    def drive(self, layer: int, x) -> NDArray:
        """Drive layer ``layer``'s DAC with ``x`` (batch, n_in) and read its ADC tap.

        Returns the digitised pre-activations (batch, n_out).  Layers above 0 can be driven
        only if the design's ``inputs_drivable`` is True.
        """
        return self._call("drive", layer, x)

    def run(self, x) -> list[NDArray]:
        """Run inputs (batch, n_inputs) through the whole chip; activities of every layer."""
        return self._call("run", x)

    def apply_delta(self, layer: int, delta) -> int:
        """Send programming pulses for a desired weight change (n_in + 1, n_out); returns
        the pulses sent."""
        return self._call("apply_delta", layer, delta)

    def update(self, layer: int, x, d, learning_rate: float) -> int:
        """Outer-product pulse update ``learning_rate * [x, b].T @ d``; returns pulses sent."""
        return self._call("update", layer, x, d, learning_rate)

    def refresh(self, layer: int, **options) -> dict:
        """Re-centre pairs whose devices both climbed high, keeping each weight (verify reads
        and pulses, metered); returns the report."""
        return self._call("refresh", layer, options)

    def program(self, layer: int, weights, **options) -> dict:
        """Program-and-verify ``weights`` (n_in + 1, n_out) onto a layer; returns its report."""
        return self._call("program", layer, weights, options)


def _layer_index(chip: Chip, layer) -> int:
    layer = check.integer("layer", layer)
    if not 0 <= layer < chip.n_layers:
        raise ValueError(f"layer must be in 0..{chip.n_layers - 1}; got layer={layer}.")
    return layer


def _inputs(chip: Chip, layer: int, x) -> NDArray:
    x = check.array("x", x, ndim=2)
    n_in = chip.design.layer_sizes[layer]
    if x.shape[1] != n_in:
        raise ValueError(f"x must have {n_in} columns for layer {layer}; got shape {x.shape}.")
    return x


def _op_drive(chip: Chip, layer, x):
    layer = _layer_index(chip, layer)
    if layer > 0 and not chip.design.inputs_drivable:
        raise PortAccessError(
            f"layer {layer}'s inputs cannot be driven: this design's taps above layer 0 only "
            "read. Reach it through the layers below (ports.run)."
        )
    x = _inputs(chip, layer, x)
    chip.meter.queries += x.shape[0]
    return chip._drive(layer, x)


def _op_run(chip: Chip, x):
    x = _inputs(chip, 0, x)
    chip.meter.queries += x.shape[0]
    return chip.forward(x)


def _op_apply_delta(chip: Chip, layer, delta):
    layer = _layer_index(chip, layer)
    report = chip.crossbars[layer].apply_delta(delta)
    chip._meter_pulses(report.pulses)
    return report.pulses


def _op_update(chip: Chip, layer, x, d, learning_rate):
    layer = _layer_index(chip, layer)
    x = _inputs(chip, layer, x)
    xa = np.hstack([x, np.full((x.shape[0], 1), chip.design.bias_input)])
    report = chip.crossbars[layer].update(xa, d, learning_rate=learning_rate)
    chip._meter_pulses(report.pulses)
    return report.pulses


def _op_refresh(chip: Chip, layer, options):
    layer = _layer_index(chip, layer)
    report = chip.crossbars[layer].refresh(**options)
    chip._meter_pulses(report.pulses, report.verify_reads)
    return dataclasses.asdict(report)


def _op_program(chip: Chip, layer, weights, options):
    layer = _layer_index(chip, layer)
    report = chip.crossbars[layer].program(weights, **options)
    chip._meter_pulses(report.pulses, report.verify_reads)
    return dataclasses.asdict(report)


_PORT_OPS = {
    "layer_sizes": lambda chip: chip.design.layer_sizes,
    "inputs_drivable": lambda chip: chip.design.inputs_drivable,
    "w_max": lambda chip: chip.design.w_max,
    "bias_input": lambda chip: chip.design.bias_input,
    "design": lambda chip: chip.design,
    "meter": lambda chip: chip.meter.copy(),
    "drive": _op_drive,
    "run": _op_run,
    "apply_delta": _op_apply_delta,
    "update": _op_update,
    "program": _op_program,
    "refresh": _op_refresh,
}
