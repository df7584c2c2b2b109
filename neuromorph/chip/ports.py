"""The metered ports of a chip: the only object on-chip algorithms hold (layer 2).

:class:`Meter` keeps running totals of what the ports did; :class:`ChipPorts` drives DACs,
reads ADC taps and sends programming pulses, every call metered.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as check
from neuromorph.chip.design import ChipDesign
from neuromorph.errors import PortAccessError

if TYPE_CHECKING:
    from neuromorph.chip.chip import Chip


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
