"""Global drift compensation through the ports (layer 3), after aihwkit's ``GlobalDriftCompensation``.

Conductance drift (PCM: ``G(t) = G(t0) (t / t0)**-nu``) shrinks every weight of a layer by
roughly one common factor, so the layer's outputs shrink with it.  Global drift compensation
measures that factor through the chip's own reads and undoes it digitally, without
reprogramming a device:

1. Right after programming, :func:`record_reference` drives each layer with a fixed set of
   reference inputs and stores one number per layer, its **readout**: the mean absolute
   output over every reference input and column (:class:`DriftReference`).
2. Later, :func:`compensate_drift` drives the same inputs, reads the readout again, and sets
   the layer's digital output correction (:meth:`~neuromorph.chip.ports.Ports.set_output_correction`)
   to ``scale * alpha`` with ``alpha = reference readout / current readout``, keeping any
   per-column offset already set (by a calibration): the correction composes with it.

This follows aihwkit's ``GlobalDriftCompensation`` (``src/aihwkit/inference/compensation/``
``drift.py`` and ``base.py``, IBM/aihwkit; Joshi et al., Nat. Commun. 11, 2473 (2020),
"Accurate deep neural network inference using computational phase-change memory",
Methods): a reference readout after programming, one scalar ``alpha = ref / current`` per
layer applied to the layer's digital outputs.  aihwkit's readout is the mean absolute output
clamped from below (earlier releases took the largest absolute output of one all-ones
input); here a readout too small to measure raises instead of being clamped.

Reference inputs: the one-hot rows of aihwkit's current choice (``eye(n_in)``), at amplitude
:func:`reference_amplitude`, not the all-ones vector.  Every row is driven alone, so every
device of the layer counts equally in the readout and no sum of many weights can saturate a
tap: a trained, clipped first layer of the digits chip (74 rows of weights up to ``w_max``)
can sum to several times the ADC full scale on an all-ones input, and a saturated reference
would under-read the drift.  The bias row is driven on every read (the ports always drive it)
and drifts like the rest.  The cost is ``n_in`` queries per layer (74 + 501 + 501 on the
74-500-500 digits chip), metered like any read.

Only the ports are used, so this runs unchanged on in-process, remote and twin ports.  It
corrects the *mean* decay only: device-to-device spread of the drift exponent, growing read
noise and the coarser ADC steps a smaller signal occupies stay.  A layer whose inputs cannot
be driven (``inputs_drivable`` False, above layer 0) is read through ``run`` on layer 0's
reference inputs; its readout is then the mean of its activities.

May import ``neuromorph.chip``'s ports and the shared leaves; never ``studies`` or ``faces``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as check
from neuromorph.chip.ports import Meter, Ports, check_ports

__all__ = [
    "DriftCompensation",
    "DriftReference",
    "compensate_drift",
    "record_reference",
    "reference_amplitude",
    "reference_inputs",
]

#: Share of a tap's ADC full scale one reference row may reach at full weight: half, so the
#: bias row (``bias_input * w_max``, 1 of 16 in the default design) fits in the other half
#: and no reference reading saturates.
REFERENCE_SHARE_OF_FULL_SCALE = 0.5

#: Amplitude of the reference inputs on ports without a datasheet (a twin): its reads are
#: exact, so any amplitude measures the same ratio; 1 is the unit input.
TWIN_REFERENCE_AMPLITUDE = 1.0

#: Smallest readout accepted, as a share of the readout's scale (the reference amplitude times
#: the weight range, or the amplitude on an unbounded twin): below it a layer reads next to
#: nothing on every reference input (all weights zero, or drifted to nothing) and a ratio
#: would amplify noise.  aihwkit clamps its readout at 1e-4 instead; here it raises.
MIN_READOUT_SHARE = 1e-6


@dataclass(frozen=True)
class DriftReference:
    """Readouts recorded right after programming, by :func:`record_reference`.

    Attributes
    ----------
    layer_sizes : tuple of int
        Widths of the ports it was recorded on (a later compensation must match them).
    amplitude : float
        Input value of the one-hot reference rows.
    layers : tuple of int
        The layers recorded, in order.
    readouts : tuple of float
        Per recorded layer, the mean absolute corrected output over every reference input and
        column (weight x input units).
    spent : Meter
        What the reference reads cost.
    """

    layer_sizes: tuple[int, ...]
    amplitude: float
    layers: tuple[int, ...]
    readouts: tuple[float, ...]
    spent: Meter


@dataclass(frozen=True)
class DriftCompensation:
    """What :func:`compensate_drift` read and set.

    Attributes
    ----------
    layers : tuple of int
    alphas : tuple of float
        Per layer, the factor applied: reference readout over the readout before compensation.
    readouts : tuple of float
        Per layer, the readout before compensation.
    spent : Meter
        What the reads cost (setting the correction is not billed).
    """

    layers: tuple[int, ...]
    alphas: tuple[float, ...]
    readouts: tuple[float, ...]
    spent: Meter


def reference_amplitude(ports: Ports) -> float:
    """Input value of the reference rows on ``ports``.

    The DAC's full-scale input (the largest signal over the ADC step), capped so that one row
    at full weight reaches at most :data:`REFERENCE_SHARE_OF_FULL_SCALE` of a tap's ADC full
    scale: ``min(input_full_scale, share * adc_full_scale / w_max)`` (8 on the default
    design).  :data:`TWIN_REFERENCE_AMPLITUDE` on ports without a datasheet.
    """
    design = check_ports(ports).design
    if design is None:
        return TWIN_REFERENCE_AMPLITUDE
    cap = REFERENCE_SHARE_OF_FULL_SCALE * design.adc_full_scale / design.w_max
    return float(min(design.periphery.dac.input_full_scale, cap))


def reference_inputs(n_in: int, amplitude: float) -> NDArray[np.float64]:
    """The reference inputs of an ``n_in``-wide layer: ``amplitude * eye(n_in)``, (n_in, n_in)."""
    n_in = check.integer("n_in", n_in, minimum=1)
    return check.positive("amplitude", amplitude) * np.eye(n_in)


def record_reference(ports: Ports, *, layers: Sequence[int] | None = None) -> DriftReference:
    """Read every layer's reference readout: call right after programming.

    Parameters
    ----------
    ports : Ports
        A chip's ports (in process or remote) or a twin's.
    layers : sequence of int, optional
        Layers to record (default: all).

    Returns
    -------
    DriftReference

    Raises
    ------
    ValueError
        If a layer reads (next to) nothing on its reference inputs (see
        :data:`MIN_READOUT_SHARE`), or ``layers`` names no layer of ``ports``.
    """
    ports = check_ports(ports)
    layers = _layers(ports, layers)
    amplitude = reference_amplitude(ports)
    before = ports.meter
    readouts = tuple(_readout(ports, layer, amplitude) for layer in layers)
    return DriftReference(
        layer_sizes=tuple(ports.layer_sizes),
        amplitude=amplitude,
        layers=layers,
        readouts=readouts,
        spent=ports.meter.minus(before),
    )


def compensate_drift(ports: Ports, reference: DriftReference) -> DriftCompensation:
    """Re-read each recorded layer and rescale its digital outputs back to the reference.

    Layers are done in order, each read after the layers below it are corrected.  A layer's
    new correction is ``(scale * alpha, offset)`` from its current ``(scale, offset)``
    (:meth:`~neuromorph.chip.ports.Ports.output_correction`), ``alpha = reference readout /
    readout now``: compensating twice changes nothing but noise.

    Raises
    ------
    TypeError
        If ``reference`` is not a :class:`DriftReference`, or ``ports`` are not ports.
    ValueError
        If ``reference`` was recorded on ports of other widths, or a layer now reads (next to)
        nothing.
    """
    ports = check_ports(ports)
    if not isinstance(reference, DriftReference):
        raise TypeError(f"reference must be a DriftReference; got {type(reference).__name__}.")
    if tuple(ports.layer_sizes) != reference.layer_sizes:
        raise ValueError(
            f"reference must be recorded on ports of these widths {tuple(ports.layer_sizes)}; "
            f"got one recorded on {reference.layer_sizes}."
        )
    before = ports.meter
    alphas, readouts = [], []
    for layer, ref in zip(reference.layers, reference.readouts, strict=True):
        now = _readout(ports, layer, reference.amplitude)
        alpha = ref / now
        scale, offset = ports.output_correction(layer)
        ports.set_output_correction(layer, scale * alpha, offset)
        alphas.append(alpha)
        readouts.append(now)
    return DriftCompensation(
        layers=reference.layers,
        alphas=tuple(alphas),
        readouts=tuple(readouts),
        spent=ports.meter.minus(before),
    )


def _layers(ports: Ports, layers: Sequence[int] | None) -> tuple[int, ...]:
    if layers is None:
        return tuple(range(ports.n_layers))
    if isinstance(layers, str) or not isinstance(layers, Sequence) or not layers:
        raise TypeError(f"layers must be a non-empty sequence of layer indices; got {layers!r}.")
    out = tuple(check.integer(f"layers[{i}]", v) for i, v in enumerate(layers))
    for v in out:
        if not 0 <= v < ports.n_layers:
            raise ValueError(f"layers must be in 0..{ports.n_layers - 1}; got layer {v}.")
    if len(set(out)) != len(out):
        raise ValueError(f"layers must not repeat a layer; got {list(out)}.")
    return tuple(sorted(out))


def _readout(ports: Ports, layer: int, amplitude: float) -> float:
    """Mean absolute (corrected) output of ``layer`` over its reference inputs."""
    if layer == 0 or ports.inputs_drivable:
        y = ports.drive(layer, reference_inputs(ports.layer_sizes[layer], amplitude))
    else:
        y = ports.run(reference_inputs(ports.layer_sizes[0], amplitude))[layer]
    readout = float(np.mean(np.abs(y)))
    weight_scale = ports.weight_range if np.isfinite(ports.weight_range) else 1.0
    floor = MIN_READOUT_SHARE * amplitude * weight_scale
    if not readout > floor:
        raise ValueError(
            f"layer {layer}'s readout must be > {floor:.3g} to measure drift; got {readout:.3g} "
            "(the layer reads next to nothing on every reference input)."
        )
    return readout
