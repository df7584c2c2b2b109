"""Column calibration through the ports: per-column gain and offset, corrected digitally (layer 3).

A die's column ADCs each have their own gain and offset (converter mismatch,
:mod:`neuromorph.hardware.converters`), so the same pre-activation reads differently on
different columns and different dies.  :func:`calibrate_columns` measures them as a chip's
self-test would, and cancels them in the digital periphery:

1. the layer's output correction is reset to the identity, so the taps read raw codes;
2. known reference levels are driven into every column's ADCs through the test mux
   (:meth:`~neuromorph.chip.ports.Ports.read_reference`), the same levels on every column,
   evenly spaced over :data:`DEFAULT_SPAN` of the tap's full scale (so that neither end
   saturates on a column whose gain or offset pushes it out);
3. per column, the least-squares line ``y = a level + b`` through the readings; the
   even spacing, incommensurate with the ADC's LSB, makes the levels fall at every phase of
   the code grid, so the fit resolves the line to a small fraction of an LSB (a dither the
   reference provides, not the noise);
4. ``set_output_correction(layer, 1 / a, b)``: every later read is ``(y - b) / a``.

It holds only a :class:`~neuromorph.chip.ports.Ports` object and reads only the public
design (converter bits, tap full scale, tiles) and the meter; every reference conversion is
billed by the chip.  A layer of several row tiles has one ADC per column per tile, and the
tap reads their sum: one correction per column then cancels the summed offset exactly and
the tiles' mean gain, leaving the spread of gains between tiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as check
from neuromorph.algorithms.extract.drive import adc_lsb, check_layer, row_tiles
from neuromorph.chip.ports import Meter, Ports, check_ports

__all__ = ["DEFAULT_LEVELS", "DEFAULT_SPAN", "Calibration", "calibrate_columns", "reference_full_scale"]

#: Reference levels per layer: 256 levels over 90 % of a 8-bit tap's full scale are spaced
#: 0.9 LSB apart, so they cover every phase of the code grid many times.
DEFAULT_LEVELS = 256
#: Fraction of the tap's full scale the levels span: a column whose gain error is a few
#: percent still stays off its end codes (:data:`neuromorph.hardware.periphery.SAR_MISMATCH`
#: draws gains of 0.5 % spread).
DEFAULT_SPAN = 0.9


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate_columns` measured and set, per calibrated layer.

    Attributes
    ----------
    layers : tuple of int
        The calibrated layers.
    gain : list of ndarray of shape (n_out,)
        Each column's measured gain ``a`` (1 for a nominal column).
    offset : list of ndarray of shape (n_out,)
        Each column's measured offset ``b``, output units.
    residual_rms : list of ndarray of shape (n_out,)
        RMS of the readings about each column's fitted line, output units (the ADC's
        quantisation, nonlinearity and noise).
    spent : Meter
        What the calibration cost (reference conversions, chip time, energy).
    """

    layers: tuple[int, ...]
    gain: list[NDArray[np.float64]]
    offset: list[NDArray[np.float64]]
    residual_rms: list[NDArray[np.float64]]
    spent: Meter


def reference_full_scale(ports: Ports, layer: int) -> float:
    """Largest reference level of ``layer``'s taps, output units: the design's tap full scale
    (``adc_full_scale``) times the layer's row tiles, whose ADCs each take their share."""
    design = _design(ports)
    return design.adc_full_scale * len(row_tiles(design, layer))


def calibrate_columns(
    ports: Ports,
    *,
    layers: tuple[int, ...] | None = None,
    n_levels: int = DEFAULT_LEVELS,
    span: float = DEFAULT_SPAN,
) -> Calibration:
    """Measure every column's gain and offset with reference levels; correct them digitally.

    Parameters
    ----------
    ports : Ports
        A chip's ports (the datasheet plans the levels; a twin, without one, is refused).
    layers : tuple of int, optional
        Layers to calibrate; default all.  A layer's previous output correction is replaced.
    n_levels : int >= 8
        Reference levels per layer (each one conversion per column and row tile).
    span : float in (0, 1]
        Fraction of the tap's full scale the levels cover.

    Returns
    -------
    Calibration
    """
    ports = check_ports(ports)
    design = _design(ports)
    if adc_lsb(design) == 0.0:
        raise ValueError("ports.design.periphery.adc.bits must be an integer to calibrate; got None (ideal).")
    n_levels = check.integer("n_levels", n_levels, minimum=8)
    span = check.fraction("span", span)
    if span == 0.0:
        raise ValueError("span must be > 0; got span=0.")
    layers = tuple(range(ports.n_layers)) if layers is None else tuple(check_layer(ports, i) for i in layers)
    before = ports.meter
    gains, offsets, residuals = [], [], []
    for layer in layers:
        n_out = ports.layer_sizes[layer + 1]
        ports.set_output_correction(layer, 1.0, 0.0)
        level = np.linspace(-span, span, n_levels) * reference_full_scale(ports, layer)
        y = ports.read_reference(layer, np.repeat(level[:, None], n_out, axis=1))
        a, b, rms = _fit_lines(level, y)
        if not np.all(a > 0):
            bad = int(np.flatnonzero(~(a > 0))[0])
            raise ValueError(
                f"every column's measured gain must be > 0 to correct it; got {a[bad]:.3g} at "
                f"layer {layer}, column {bad} (a dead or saturated column)."
            )
        ports.set_output_correction(layer, 1.0 / a, b)
        gains.append(a)
        offsets.append(b)
        residuals.append(rms)
    return Calibration(layers, gains, offsets, residuals, ports.meter.minus(before))


def _fit_lines(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Least-squares ``y[:, j] = a_j x + b_j`` for every column; ``(a, b, residual RMS)``."""
    xc = x - x.mean()
    a = xc @ (y - y.mean(axis=0)) / (xc @ xc)
    b = y.mean(axis=0) - a * x.mean()
    rms = np.sqrt(np.mean((y - np.outer(x, a) - b) ** 2, axis=0))
    return a, b, rms


def _design(ports: Ports):
    design = ports.design
    if design is None:
        raise ValueError(
            "ports.design must be a chip's datasheet to plan reference levels; got None (a digital "
            "twin has no converters to calibrate)."
        )
    return design
