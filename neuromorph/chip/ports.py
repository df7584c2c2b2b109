"""The metered ports of a chip: the only object on-chip algorithms hold (layer 2).

:class:`Ports` is the protocol that names everything an on-chip algorithm may use: the public
design (widths, bias input, weight range, drivable taps, datasheet), a :class:`Meter`
snapshot, and the operations ``drive``, ``run``, ``apply_delta``, ``update``, ``program``,
``refresh`` and ``set_output_correction`` / ``output_correction`` (a per-column digital
correction of a layer's outputs, applied by every later read), and ``read_reference`` (known
reference levels into a layer's ADCs through a test mux, for calibration).  Two classes implement it:
:class:`ChipPorts` (a fabricated chip's DACs, ADC taps and programming pulses, every call
metered) and
:class:`~neuromorph.chip.twin.DigitalPorts` (the software twin over a
:class:`~neuromorph.chip.digital.DigitalNetwork`, whose meter stays zero).  Algorithms take a
``Ports`` and check it with :func:`check_ports`; they never import ``Chip`` or ``ChipPorts``.
A third, :class:`~neuromorph.chip.remote.RemotePorts`, reaches a chip served in another
process (:meth:`Chip.serve <neuromorph.chip.chip.Chip.serve>`): the boundary that holds by
construction, where ``ChipPorts`` only hides the chip from attribute paths.

Every programming operation bills the meter (a ``method="direct"`` write too, one pulse per
device: :func:`direct_write_pulses`), and ``program`` / ``refresh`` return only what the
programmer counted (:data:`PUBLIC_REPORT_FIELDS`), never an error computed from the hidden
conductances.  :func:`perform` is the one dispatcher behind a chip's ports, in this process
or in a server.
"""

from __future__ import annotations

import dataclasses
import itertools
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

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
    ``energy_*`` terms (:data:`ENERGY_FIELDS`).  By component (issue 13, after NeuroSim;
    :mod:`neuromorph.hardware.energy`): ``energy_read_j`` the array's own ``v**2 G``
    dissipation (reads and verify reads), ``energy_line_j`` row-line charging,
    ``energy_dac_j`` / ``energy_adc_j`` the converters, ``energy_tia_j`` the TIAs' bias,
    ``energy_mux_j`` the ADC multiplexers, ``energy_pulse_j`` programming pulses.
    ``chip_seconds`` is the chip's busy time; ``seconds_settle`` (sense windows),
    ``seconds_convert`` (ADC conversions through the mux) and ``seconds_program``
    (pulses) split it.  Meters saved before the split load with those fields at zero.
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
    energy_line_j: float = 0.0
    energy_tia_j: float = 0.0
    energy_mux_j: float = 0.0
    seconds_settle: float = 0.0
    seconds_convert: float = 0.0
    seconds_program: float = 0.0

    @property
    def energy_j(self) -> float:
        return sum(getattr(self, name) for name in ENERGY_FIELDS)

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["energy_j"] = self.energy_j
        return d

    def copy(self) -> Meter:
        return dataclasses.replace(self)

    def minus(self, earlier: Meter) -> Meter:
        """The difference ``self - earlier``: what was spent in between."""
        return Meter(
            **{f.name: getattr(self, f.name) - getattr(earlier, f.name) for f in dataclasses.fields(self)}
        )


#: The :class:`Meter` fields whose sum is ``energy_j``, by component.
ENERGY_FIELDS = (
    "energy_read_j",
    "energy_line_j",
    "energy_dac_j",
    "energy_tia_j",
    "energy_mux_j",
    "energy_adc_j",
    "energy_pulse_j",
)

#: The :class:`Meter` fields that split ``chip_seconds`` (meters of new chips; older saved
#: meters have them at zero).
SECONDS_FIELDS = ("seconds_settle", "seconds_convert", "seconds_program")


@runtime_checkable
class Ports(Protocol):
    """Everything an on-chip algorithm may use: public design, a meter, and the port operations.

    Layer ``l`` holds weights of shape ``(n_l + 1, n_{l+1})`` (the last row is the bias,
    driven at the constant :attr:`bias_input`).  Implemented by :class:`ChipPorts` (a chip,
    metered) and :class:`~neuromorph.chip.twin.DigitalPorts` (a digital network; meter zero,
    ``design`` None).  ``isinstance(x, Ports)`` checks that the names exist, not their
    signatures; :func:`check_ports` is the check algorithms call.
    """

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Widths ``(n_inputs, n_hidden_1, ..., n_out)``."""
        ...

    @property
    def n_layers(self) -> int:
        """Number of weight layers, ``len(layer_sizes) - 1``."""
        ...

    @property
    def bias_input(self) -> float:
        """The constant driven on every bias row."""
        ...

    @property
    def weight_range(self) -> float:
        """The largest ``|weight|`` a layer can hold (``inf`` for an unbounded twin)."""
        ...

    @property
    def inputs_drivable(self) -> bool:
        """Whether layers above 0 can be driven directly (else reach them through ``run``)."""
        ...

    @property
    def design(self) -> ChipDesign | None:
        """The public datasheet (no conductances), or None where there is none (a twin)."""
        ...

    @property
    def meter(self) -> Meter:
        """A snapshot of what the ports have spent so far."""
        ...

    def drive(self, layer: int, x: ArrayLike) -> NDArray[np.float64]:
        """Pre-activations (batch, n_out) of ``layer`` for inputs ``x`` (batch, n_in)."""
        ...

    def run(self, x: ArrayLike) -> list[NDArray[np.float64]]:
        """Activities of every layer for inputs ``x`` (batch, n_inputs)."""
        ...

    def apply_delta(self, layer: int, delta: ArrayLike) -> int:
        """Change ``layer``'s weights by ``delta`` (n_in + 1, n_out); returns pulses sent."""
        ...

    def update(self, layer: int, x: ArrayLike, d: ArrayLike, learning_rate: float) -> int:
        """Outer-product update ``learning_rate * [x, b].T @ d``; returns pulses sent."""
        ...

    def program(self, layer: int, weights: ArrayLike, **options: Any) -> dict:
        """Write ``weights`` (n_in + 1, n_out) onto ``layer``; returns a programming report
        with the keys :data:`PUBLIC_REPORT_FIELDS` (pulses and verify reads sent)."""
        ...

    def refresh(self, layer: int, **options: Any) -> dict:
        """Re-centre ``layer``'s device pairs, keeping its weights; returns a report with the
        keys :data:`PUBLIC_REPORT_FIELDS`."""
        ...

    def set_output_correction(self, layer: int, scale: ArrayLike, offset: ArrayLike) -> None:
        """Set ``layer``'s digital output correction ``y_out = (y - offset) * scale`` per column
        (scalars or arrays of length n_out; see :func:`check_output_correction`)."""
        ...

    def output_correction(self, layer: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``layer``'s output correction now: copies of ``(scale, offset)``, each (n_out,)."""
        ...

    def read_reference(self, layer: int, levels: ArrayLike) -> NDArray[np.float64]:
        """What ``layer``'s taps read (batch, n_out) when reference ``levels`` (batch, n_out;
        output units) drive its ADCs through the test mux, bypassing the array; corrected."""
        ...


def check_ports(ports: object, name: str = "ports") -> Ports:
    """Return ``ports`` if it satisfies :class:`Ports`; TypeError otherwise.

    An object that *has* ports (a ``Chip``, a ``DigitalNetwork``: anything with a
    ``ports()`` method) is refused with a hint to pass its ports instead: an algorithm that
    claims to run on hardware may not hold the chip's hidden state.
    """
    if callable(getattr(ports, "ports", None)):
        raise TypeError(
            f"{name} must be ports (chip.ports() or network.ports()); got a {type(ports).__name__} "
            "itself. Only ports are allowed: an algorithm that claims to run on hardware may not "
            "hold the chip's hidden state."
        )
    if not isinstance(ports, Ports):
        raise TypeError(
            f"{name} must satisfy the Ports protocol (chip.ports() or network.ports()); got "
            f"{type(ports).__name__}."
        )
    return ports


class ChipPorts:
    """The metered ports of a chip in this process (implements :class:`Ports`).

    The object holds a registry token, not the chip: it has no attribute, closure cell or
    referent that is a ``Chip``, so code handed ports has no attribute path to
    conductances or effective weights.  That is a convention, not a wall: in one process
    :mod:`gc` (``gc.get_objects()``) or this module's private registry can still find the
    chip.  The guarantee that holds by construction is the remote one
    (:func:`neuromorph.chip.remote.serve`): the chip lives in another process and the
    ports hold only a connection.  ChipPorts cannot be pickled (a copy would carry no chip).
    """

    __slots__ = ("_token", "__weakref__")

    def __init__(self, chip: Chip) -> None:
        token = next(_TOKENS)
        _CHIPS[token] = chip
        object.__setattr__(self, "_token", token)
        weakref.finalize(self, _CHIPS.pop, token, None)

    def __setattr__(self, name, value):
        raise AttributeError("ChipPorts is read-only")

    def __reduce__(self):
        raise TypeError(
            "ChipPorts cannot be pickled: they stand for a chip in this process. Serve the chip "
            "(chip.serve()) to reach it from another process."
        )

    def _call(self, op: str, *args):
        return perform(_CHIPS[self._token], op, args)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Public design: layer widths."""
        return self._call("layer_sizes")

    @property
    def n_layers(self) -> int:
        """Number of weight layers."""
        return len(self.layer_sizes) - 1

    @property
    def inputs_drivable(self) -> bool:
        """Public design: whether layers above 0 can be driven directly."""
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

    def drive(self, layer: int, x: ArrayLike) -> NDArray[np.float64]:
        """Drive layer ``layer``'s DAC with ``x`` (batch, n_in) and read its ADC tap.

        Returns the digitised pre-activations (batch, n_out).  Layers above 0 can be driven
        only if the design's ``inputs_drivable`` is True.
        """
        return self._call("drive", layer, x)

    def run(self, x: ArrayLike) -> list[NDArray[np.float64]]:
        """Run inputs (batch, n_inputs) through the whole chip; activities of every layer."""
        return self._call("run", x)

    def apply_delta(self, layer: int, delta: ArrayLike) -> int:
        """Send programming pulses for a desired weight change (n_in + 1, n_out); returns
        the pulses sent."""
        return self._call("apply_delta", layer, delta)

    def update(self, layer: int, x: ArrayLike, d: ArrayLike, learning_rate: float) -> int:
        """Outer-product pulse update ``learning_rate * [x, b].T @ d``; returns pulses sent."""
        return self._call("update", layer, x, d, learning_rate)

    def refresh(self, layer: int, **options: Any) -> dict:
        """Re-centre pairs whose devices both climbed high, keeping each weight (verify reads
        and pulses, metered); returns the report."""
        return self._call("refresh", layer, options)

    def program(self, layer: int, weights: ArrayLike, **options: Any) -> dict:
        """Program ``weights`` (n_in + 1, n_out) onto a layer (program-and-verify, or
        ``method="direct"``, billed :func:`direct_write_pulses`); returns the public report
        (:data:`PUBLIC_REPORT_FIELDS`)."""
        return self._call("program", layer, weights, options)

    def set_output_correction(self, layer: int, scale: ArrayLike, offset: ArrayLike) -> None:
        """Set the digital periphery's per-column correction of ``layer``'s outputs,
        ``y_out = (y - offset) * scale`` (see :func:`check_output_correction`); unbilled."""
        return self._call("set_output_correction", layer, scale, offset)

    def output_correction(self, layer: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``layer``'s output correction now: copies of ``(scale, offset)``, each (n_out,)."""
        return self._call("output_correction", layer)

    def read_reference(self, layer: int, levels: ArrayLike) -> NDArray[np.float64]:
        """Drive reference ``levels`` (batch, n_out; output units) into ``layer``'s ADCs through
        the test mux and read the taps (with the output correction), metered
        (:meth:`Chip.read_reference <neuromorph.chip.chip.Chip.read_reference>`)."""
        return self._call("read_reference", layer, levels)


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
    return chip.read_layer(layer, x)


def _op_run(chip: Chip, x):
    x = _inputs(chip, 0, x)
    chip.meter.queries += x.shape[0]
    return chip.forward(x)


def _op_apply_delta(chip: Chip, layer, delta):
    layer = _layer_index(chip, layer)
    report = chip.crossbars[layer].apply_delta(delta)
    chip.bill_programming(report.pulses, report.verify_reads)
    return report.pulses


def _op_update(chip: Chip, layer, x, d, learning_rate):
    layer = _layer_index(chip, layer)
    x = _inputs(chip, layer, x)
    xa = np.hstack([x, np.full((x.shape[0], 1), chip.design.bias_input)])
    report = chip.crossbars[layer].update(xa, d, learning_rate=learning_rate)
    chip.bill_programming(report.pulses, report.verify_reads)
    return report.pulses


def _op_refresh(chip: Chip, layer, options):
    layer = _layer_index(chip, layer)
    report = chip.crossbars[layer].refresh(**options)
    chip.bill_programming(report.pulses, report.verify_reads)
    return public_report(report.pulses, report.verify_reads)


def _op_program(chip: Chip, layer, weights, options):
    layer = _layer_index(chip, layer)
    xb = chip.crossbars[layer]
    report = xb.program(weights, **options)
    pulses = report.pulses
    if options.get("method") == "direct":
        # The crossbar's idealised one-shot write reports no pulses; the programmer still
        # sent one to every device (see direct_write_pulses).
        pulses = direct_write_pulses(xb.n_in * xb.n_out)
    chip.bill_programming(pulses, report.verify_reads)
    return public_report(pulses, report.verify_reads)


def _op_set_output_correction(chip: Chip, layer, scale, offset):
    layer = _layer_index(chip, layer)
    chip.set_output_correction(layer, scale, offset)


def _op_output_correction(chip: Chip, layer):
    return chip.output_correction(_layer_index(chip, layer))


def _op_read_reference(chip: Chip, layer, levels):
    layer = _layer_index(chip, layer)
    n_out = chip.design.layer_sizes[layer + 1]
    return chip.read_reference(layer, check.array("levels", levels, shape=(None, n_out)))


# ---------------------------------------------------------------- output correction


def check_output_correction(
    n_out: int, scale: ArrayLike, offset: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate a per-column output correction and return ``(scale, offset)``, each (n_out,).

    ``scale`` and ``offset`` are scalars (broadcast to every column) or arrays of length
    ``n_out``; both finite, ``scale`` never 0 (a zero gain would erase a column's output).

    Metering: the correction is one digital multiply-add per column output and is billed
    nothing, like the rest of the digital periphery (ReLU, RMS normalisation), which the
    meter does not bill either.  For scale: an 8-bit integer multiply and a 32-bit add cost
    about 0.2 + 0.1 pJ at 45 nm (Horowitz, ISSCC 2014, energy table), against
    ``adc_fom_j_per_step * 2**bits`` = 1.3 pJ for the default 8-bit conversion it follows,
    so omitting it understates a read's converter-side energy by up to about a fifth at
    45 nm, less in newer nodes.  Setting the registers is a host write, not an analog
    operation, and is not billed either.
    """
    out = []
    for name, value in (("scale", scale), ("offset", offset)):
        a = check.array(name, value, ndim=1)  # a scalar arrives as shape (1,)
        if a.shape[0] not in (1, n_out):
            raise ValueError(f"{name} must be a scalar or have shape ({n_out},); got shape {a.shape}.")
        out.append(np.array(np.broadcast_to(a, (n_out,)), dtype=np.float64))
    scale_a, offset_a = out
    if np.any(scale_a == 0.0):
        first = int(np.flatnonzero(scale_a == 0.0)[0])
        raise ValueError(f"scale must be nonzero in every column; got scale=0 at column {first}.")
    return scale_a, offset_a


def apply_output_correction(
    y: NDArray[np.float64], correction: tuple[NDArray[np.float64], NDArray[np.float64]] | None
) -> NDArray[np.float64]:
    """``(y - offset) * scale`` on the columns of ``y`` (batch, n_out); ``y`` itself when
    ``correction`` is None (the identity: today's bits, untouched)."""
    if correction is None:
        return y
    scale, offset = correction
    return (y - offset) * scale


#: Pulses a ``method="direct"`` write costs per device: the model is an idealised one-shot
#: write (one amplitude-coded pulse sets a device to its target, no verify read), so each of
#: a pair's two devices gets exactly one pulse, billed at the cost model's pulse energy and
#: width like any other (:meth:`~neuromorph.chip.chip.Chip.bill_programming`).
DIRECT_PULSES_PER_DEVICE = 1

#: The fields of a programming report that ports return: only what the programmer itself
#: counted.  A crossbar's report also carries ``weight_rms_error`` and ``unconverged``,
#: computed from the hidden conductances against the targets; a real programmer knows
#: neither (its verify kernel does not return its last reads), so the ports drop them.
PUBLIC_REPORT_FIELDS = ("pulses", "verify_reads")


def direct_write_pulses(n_pairs: int) -> int:
    """Pulses billed for a direct write of ``n_pairs`` weights: one per device, two per pair."""
    return 2 * DIRECT_PULSES_PER_DEVICE * n_pairs


def public_report(pulses: int, verify_reads: int) -> dict:
    """A programming report as ports return it: :data:`PUBLIC_REPORT_FIELDS`, nothing hidden."""
    return {"pulses": int(pulses), "verify_reads": int(verify_reads)}


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
    "set_output_correction": _op_set_output_correction,
    "output_correction": _op_output_correction,
    "read_reference": _op_read_reference,
}

#: The operations :func:`perform` knows: the :class:`Ports` protocol's, by name (``w_max``
#: answers ``weight_range``).
PORT_OPERATIONS = tuple(_PORT_OPS)

#: Chips of the live :class:`ChipPorts` of this process, by token (released with the ports).
_CHIPS: dict[int, Chip] = {}
_TOKENS = itertools.count()


def perform(chip: Chip, op: str, args: tuple = ()) -> Any:
    """Carry out the port operation ``op`` (one of :data:`PORT_OPERATIONS`) on ``chip``.

    The one dispatcher behind every chip's ports: :class:`ChipPorts` in this process and the
    server of :mod:`neuromorph.chip.remote` in another.  Each operation checks its inputs
    before it touches the chip, then bills the meter.
    """
    if op not in _PORT_OPS:
        raise ValueError(f"op must be one of {list(PORT_OPERATIONS)}; got op={op!r}.")
    return _PORT_OPS[op](chip, *args)
