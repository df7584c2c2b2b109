"""Driving a chip through its ports: the public design and its converters (layer 3).

What an extractor may know about a chip before it reads a single tap: the public design
checked against the ports (:func:`public_design`), the DAC's grid and clipping
(:func:`dac_quantize`, :func:`dac_step`, :func:`driven_bias`), the ADC's code size
(:func:`adc_lsb`), the physical row tiles of a layer (:func:`row_tiles`), which layers can be
driven (:func:`drivable`, :func:`require_drive`) and which readings sit at full scale
(:func:`saturated`).  Nothing here reads a conductance.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as check
from neuromorph.chip.design import ChipDesign
from neuromorph.chip.ports import Ports, check_ports
from neuromorph.errors import PortAccessError
from neuromorph.hardware.periphery import max_code

__all__ = [
    "MAX_HELD_VALUES",
    "adc_lsb",
    "check_layer",
    "check_queries",
    "clip_edge",
    "dac_quantize",
    "dac_step",
    "drivable",
    "driven_bias",
    "public_design",
    "require_drive",
    "row_tiles",
    "saturated",
]

#: A reading within half an ADC code of full scale rounds to the top code: it may be clipped.
_HALF_CODE = 0.5

#: Most float64 values one layer's extraction may hold for its queries (2**27, 1 GiB): the
#: inputs it drives and the readings it gets, about ``K (N + 1 + M)`` for ``K`` queries.
#: Extraction keeps every probe and reading for its least squares, so a larger budget would
#: fail deep in NumPy (or swap the machine) after the first queries instead of here, before
#: any.  The studies' budgets (a few times ``N + 1``) sit hundreds of times below it on the
#: digits chip (layer 1: at most 267 (N + 1)); a bigger run can raise it.
MAX_HELD_VALUES = 2**27


def public_design(ports: Ports, design: ChipDesign | None = None) -> ChipDesign:
    """The public design to plan probes with, checked against what the ports report.

    ``design=None`` takes the chip's datasheet from ``ports.design`` (public: widths,
    converters, ranges, tiles; no conductances).  TypeError if ``ports`` is not a
    :class:`~neuromorph.chip.ports.Ports` (a ``Chip`` is refused); ValueError if the ports
    publish no design and none is given, or if ``design`` disagrees with the ports.
    """
    check_ports(ports)
    if design is None:
        if ports.design is None:
            raise ValueError(
                "design must be given when the ports publish none (a digital twin); got "
                "design=None. Probe design plans from a chip's converters and tiles."
            )
        return ports.design
    if not isinstance(design, ChipDesign):
        raise TypeError(f"design must be a ChipDesign or None; got {type(design).__name__}.")
    pairs = (
        ("layer_sizes", design.layer_sizes, ports.layer_sizes),
        ("w_max", design.w_max, ports.weight_range),
        ("bias_input", design.bias_input, ports.bias_input),
        ("inputs_drivable", design.inputs_drivable, ports.inputs_drivable),
    )
    for name, mine, theirs in pairs:
        if mine != theirs:
            raise ValueError(
                f"design.{name} must match the chip's ports; got design.{name}={mine!r}, "
                f"ports report {theirs!r}. Pass the design this chip was fabricated from."
            )
    return design


def dac_quantize(x: NDArray, design: ChipDesign) -> NDArray:
    """Inputs as the design's DAC applies them: clipped to +/-input_full_scale and rounded
    to its grid (DAC input units, same shape)."""
    dac = design.periphery.dac
    fs = dac.input_full_scale
    t = np.clip(x / fs, -1.0, 1.0)
    levels = max_code(dac.bits)
    if levels > 0:
        t = np.round(t * levels) / levels
    return t * fs


def driven_bias(design: ChipDesign) -> float:
    """The bias input as the chip drives it: ``bias_input`` through the DAC (clipped and on
    its grid), so extracted bias weights are the chip's own, not scaled by the rounding."""
    return float(dac_quantize(np.array([design.bias_input]), design)[0])


def dac_step(design: ChipDesign) -> float:
    """One DAC input step (0 for an ideal DAC), input units."""
    levels = max_code(design.periphery.dac.bits)
    return 0.0 if levels == 0 else design.periphery.dac.input_full_scale / levels


def adc_lsb(design: ChipDesign) -> float:
    """One ADC code of a tap, weight x input units (0 for an ideal ADC)."""
    levels = max_code(design.periphery.adc.bits)
    return 0.0 if levels == 0 else design.adc_full_scale / levels


def row_tiles(design: ChipDesign, layer: int) -> list[tuple[int, int]]:
    """Row ranges ``(r0, r1)`` of the physical tiles of ``layer`` (bias row = the last row)."""
    n = design.layer_sizes[layer] + 1
    rows = design.tile_shape[0]
    return [(r0, min(n, r0 + rows)) for r0 in range(0, n, rows)]


def check_layer(ports: Ports, layer: int) -> int:
    """Return ``layer`` as an int if the ports have that layer; ValueError otherwise."""
    layer = check.integer("layer", layer)
    if not 0 <= layer < ports.n_layers:
        raise ValueError(f"layer must be in 0..{ports.n_layers - 1}; got layer={layer}.")
    return layer


def check_queries(name: str, value: float, *, queries: int, per_query: int, layer: int) -> None:
    """ValueError unless ``queries`` queries of ``per_query`` held values each fit in
    :data:`MAX_HELD_VALUES`.  ``value`` is the argument named ``name`` that asked for them
    (a budget, a probe or repeat count); the message gives its largest allowed value."""
    limit = MAX_HELD_VALUES // per_query
    if queries > limit:
        largest = value * limit / queries
        raise ValueError(
            f"{name} must be <= {largest:.6g} for layer {layer} ({queries} queries of {per_query} "
            f"held values each must fit in MAX_HELD_VALUES = 2**27, the probes and readings kept "
            f"for the fit); got {name}={value:g}."
        )


def drivable(ports: Ports, layer: int) -> bool:
    """Whether the ports can drive ``layer``'s inputs directly (the first layer always can)."""
    return layer == 0 or ports.inputs_drivable


def require_drive(ports: Ports, layer: int, method: str) -> None:
    """PortAccessError naming ``method`` unless ``layer``'s inputs can be driven."""
    if not drivable(ports, layer):
        raise PortAccessError(
            f"layer {layer} is unreachable by {method!r}: its inputs cannot be driven "
            "(inputs_drivable=False). Use reach='run' (regression through the layers below)."
        )


def saturated(y: NDArray, design: ChipDesign, n_tiles: int) -> NDArray:
    """Readings at a tap's full scale (boolean, same shape as ``y``); exact for one tile.

    ``n_tiles`` row tiles' partial sums are added digitally, so a reading of a layer with
    several tiles is flagged only when it reaches their combined full scale.
    """
    n_tiles = check.integer("n_tiles", n_tiles, minimum=1)
    if adc_lsb(design) == 0.0:
        return np.zeros(y.shape, dtype=bool)
    return np.abs(y) >= clip_edge(design, n_tiles)


def clip_edge(design: ChipDesign, n_tiles: int = 1) -> float:
    """The smallest reading magnitude that may have been clipped: ``n_tiles`` full scales
    less half an ADC code (a reading there rounds to the top code).  Weight x input units."""
    return design.adc_full_scale * n_tiles - _HALF_CODE * adc_lsb(design)
