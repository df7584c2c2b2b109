"""Scores of a chip and of a copy: accuracy over re-reads, relative RMS error (layer 4, studies).

One meaning, one place.

* **One accuracy per chip state** (:func:`score_accuracy`, issue 14): a chip is scored on a
  deep copy of itself, re-reading the same test set ``R`` times (:data:`DEFAULT_REREADS`) on
  that copy, so its read noise gives ``R`` accuracies; the score is their mean, their spread
  (sample std) and the exact 95 % binomial interval of the mean for the ``n`` test images
  (:func:`binomial_interval`, Clopper-Pearson).  The copy is thrown away: scoring neither
  ages the chip, nor advances its read-noise clock and streams, nor bills its meter.  So the
  same chip state (a chip file, or a chip in memory at the same age) gives the same figure,
  bit for bit, wherever it is scored: ``train``, ``demo``, ``copyout`` and ``lifetime`` all
  call this function with the same ``R``.
* The weights a chip computes with (:func:`weights_as_read`: its effective weights through
  its converters' straight lines and its digital output correction) and the relative RMS error
  ``sqrt(mean((a - b)^2) / mean(b^2))`` of an estimate ``a`` against a reference ``b``, used
  by the copy-out study, the sweep's copy-out points, the lifetime and the crossbar demo.  A
  scorer reads the reference (a chip's hidden effective weights); the algorithms being
  scored never do.

May import ``algorithms``, ``chip``, ``hardware``, NumPy, SciPy and the standard library; no other studies
module (every study imports this one).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from neuromorph import _validate as check
from neuromorph.algorithms import ff
from neuromorph.chip import Chip
from neuromorph.chip.digital import DigitalNetwork
from neuromorph.hardware.converters import dac_level_gain, linear_transfer
from neuromorph.hardware.reading import output_per_volt

#: Re-reads of the test set behind every accuracy a command reports (R): enough for a spread
#: (the sample std needs 2), few enough that scoring the 74-500-500 digits chip with white
#: read noise stays at seconds; one value everywhere, so the figures agree.
DEFAULT_REREADS = 5
#: Coverage of every interval reported and drawn: the usual two-sided 95 %.
CONFIDENCE = 0.95


def binomial_interval(k, n) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Clopper-Pearson (exact binomial) 95 % interval of ``k`` successes in ``n`` trials.

    Exact, so it stays honest at 0 and at ``n`` successes, where the normal approximation
    collapses to a point: the bounds are quantiles of beta distributions,
    ``B(alpha/2; k, n - k + 1)`` and ``B(1 - alpha/2; k + 1, n - k)`` (Clopper & Pearson,
    Biometrika 26, 404 (1934)).  Arrays broadcast; returns the (lower, upper) fractions.

    Raises
    ------
    ValueError
        Unless ``0 <= k <= n`` and ``n >= 1``.
    """
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError(f"k and n must satisfy 0 <= k <= n and n >= 1; got k={k}, n={n}.")
    tail = (1.0 - CONFIDENCE) / 2.0
    with np.errstate(invalid="ignore"):
        lo = np.where(k > 0, special.betaincinv(k, n - k + 1, tail), 0.0)
        hi = np.where(k < n, special.betaincinv(k + 1, n - k, 1.0 - tail), 1.0)
    return lo, hi


@dataclass(frozen=True)
class AccuracyScore:
    """The accuracy of one chip state: ``R`` re-reads of ``n`` test images.

    Attributes
    ----------
    accuracies : tuple of float
        One accuracy (fraction) per re-read, in read order.
    n : int
        Test images per read.
    """

    accuracies: tuple[float, ...]
    n: int

    @property
    def reads(self) -> int:
        """R, the re-reads of the test set."""
        return len(self.accuracies)

    @property
    def mean(self) -> float:
        """Mean accuracy over the re-reads (fraction)."""
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        """Sample standard deviation (ddof 1) over the re-reads; 0.0 for a single read."""
        return float(np.std(self.accuracies, ddof=1)) if self.reads > 1 else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        """Clopper-Pearson 95 % interval of the mean for ``n`` images: of ``round(mean n)``
        correct in ``n``.  The re-reads share the same ``n`` images, so they do not multiply
        the sample: this is the test set's uncertainty, the std the read noise's spread."""
        lo, hi = binomial_interval(round(self.mean * self.n), self.n)
        return float(lo), float(hi)

    def text(self) -> str:
        """``"95.83 ± 0.41 % over 5 re-reads of 360 images, 95 % interval [93.2, 97.6] %"``."""
        lo, hi = self.interval
        return (
            f"{100 * self.mean:.2f} ± {100 * self.std:.2f} % over {self.reads} "
            f"re-read{'s' if self.reads != 1 else ''} of {self.n} "
            f"images, 95 % interval [{100 * lo:.1f}, {100 * hi:.1f}] %"
        )

    def as_dict(self) -> dict:
        """JSON-ready: ``mean``, ``std``, ``reads``, ``n``, ``interval``, ``accuracies``, ``text``."""
        return {
            "mean": self.mean,
            "std": self.std,
            "reads": self.reads,
            "n": self.n,
            "interval": list(self.interval),
            "accuracies": list(self.accuracies),
            "text": self.text(),
        }


def score_accuracy(
    model: Chip | DigitalNetwork,
    x: ArrayLike,
    y: ArrayLike,
    *,
    n_classes: int,
    config: ff.FFConfig | None = None,
    reads: int = DEFAULT_REREADS,
) -> AccuracyScore:
    """The Forward-Forward accuracy of ``model`` on ``(x, y)``, read ``reads`` times.

    Protocol (the module docstring): a chip is deep-copied and the copy's ports read the whole
    of ``x`` ``reads`` times in a row, each re-read continuing the copy's read-noise clock and
    streams, so the re-reads see fresh read noise; ``model`` itself is untouched (state, noise
    clock, meter).  A :class:`~neuromorph.chip.digital.DigitalNetwork` is exact: every re-read
    agrees and the std is 0.

    Parameters
    ----------
    model : Chip or DigitalNetwork
        Not ports: ports cannot be copied, and reading through them would advance the chip.
    x : array_like (n, n_features)
    y : array_like (n,)
        Labels in [0, n_classes).
    n_classes : int
    config : FFConfig, optional
        The label embedding the chip was trained with (default ``FFConfig()``).
    reads : int >= 1
        R; default :data:`DEFAULT_REREADS`.

    Returns
    -------
    AccuracyScore

    Raises
    ------
    TypeError
        If ``model`` is neither a Chip nor a DigitalNetwork.
    ValueError
        If ``reads < 1`` (and as :func:`neuromorph.algorithms.ff.accuracy` for bad data).
    """
    if not isinstance(model, Chip | DigitalNetwork):
        raise TypeError(
            "model must be a Chip or a DigitalNetwork (scoring reads a copy of it); got "
            f"{type(model).__name__}."
        )
    reads = check.integer("reads", reads, minimum=1)
    config = ff.FFConfig() if config is None else config
    ports = copy.deepcopy(model).ports() if isinstance(model, Chip) else model.ports()
    accs = tuple(ff.accuracy(ports, x, y, n_classes=n_classes, config=config) for _ in range(reads))
    return AccuracyScore(accuracies=accs, n=int(np.shape(y)[0]))


def weights_as_read(chip: Chip) -> list[NDArray[np.float64]]:
    """Each layer's linear map through its ports: what the chip computes with, as weights.

    Three parts, in the order a read meets them:

    1. the devices' effective weights ``W`` (:meth:`Chip.effective_weights
       <neuromorph.chip.chip.Chip.effective_weights>`), bias row last;
    2. on a die with converter mismatch, the best linear fit of each converter
       (:func:`~neuromorph.hardware.converters.linear_transfer`, INL left out): row ``r``
       scaled by its DAC's gain (the bias row by its gain at the code of ``bias_input``,
       the only input it is driven at, :func:`~neuromorph.hardware.converters.dac_level_gain`),
       column ``j`` of row tile ``t`` by the gain of that tile's ADC, and the tiles' ADC
       offsets, summed in output units, added to the bias row divided by ``bias_input``;
    3. the layer's digital output correction ``y_out = (y - offset) * scale``
       (:meth:`Chip.set_output_correction <neuromorph.chip.chip.Chip.set_output_correction>`):
       every row times ``scale``, the bias row less ``offset / bias_input`` first.

    So every chip is graded against what it computes: an uncalibrated die's columns carry
    their ADCs' gain and offset, which is what an extractor reading its ports recovers; after
    :func:`~neuromorph.algorithms.calibrate.calibrate_columns` the correction cancels them,
    and the result is close to ``W`` again (to the calibration's precision) instead of ``W``
    divided by the ADC gains; a global drift compensation is a correction on a chip whose
    converters are unchanged, and is folded in as it acts.  With nominal converters
    (``periphery.mismatch`` None) part 2 is the identity and is skipped: the effective
    weights through the correction, bit for bit (the effective weights themselves without a
    correction).  What is left out is what no straight line holds: converter INL, DAC and
    ADC rounding, saturation and noise, and a row tile read idle (all its inputs zero, so no
    read noise dithers its ADCs), whose ADCs put out their offsets rounded to a code; the
    bias row is counted at ``bias_input``, not at the DAC's nominal level for it.  Hidden
    state: scorers and tests.

    Returns
    -------
    list of ndarray, one (n_in + 1, n_out) matrix per layer (bias row last), weight units.
    """
    out = []
    for layer, w in enumerate(chip.effective_weights()):
        w = _through_converters(chip, layer, w)
        scale, offset = chip.output_correction(layer)
        seen = w * scale
        seen[-1] = (w[-1] - offset / chip.design.bias_input) * scale
        out.append(seen)
    return out


def _through_converters(chip: Chip, layer: int, w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Layer ``layer``'s effective weights ``w`` through the straight lines of its converters
    (part 2 of :func:`weights_as_read`); ``w`` itself for nominal converters."""
    xb = chip.crossbars[layer]
    state = xb.converter_state()
    if state is None:
        return w
    periphery, bias_input = chip.design.periphery, chip.design.bias_input
    line = linear_transfer(state, periphery)
    dac_gain = line.dac_gain.copy()
    dac_gain[-1] = dac_level_gain(state, periphery.dac, bias_input)[-1]
    tile_of_row = np.arange(xb.n_in) // xb.tile_shape[0]
    seen = w * dac_gain[:, None] * line.adc_gain[tile_of_row]
    per_volt = output_per_volt(periphery.dac, gain_ohm=xb.tia_gain_ohm, g_unit=xb.g_unit)
    seen[-1] += per_volt * line.adc_offset_v.sum(axis=0) / bias_input
    return seen


def relative_rms_error(estimate: ArrayLike, reference: ArrayLike) -> float:
    """Relative RMS error of ``estimate`` against ``reference``.

    Parameters
    ----------
    estimate, reference : array_like of the same shape
        E.g. a copy's weights and the chip's true effective weights (weight units).

    Returns
    -------
    float
        ``sqrt(mean((estimate - reference)^2) / mean(reference^2))``; dimensionless (0 is a
        perfect copy, 1 is as far off as the all-zero guess).  ``inf`` or NaN when the
        reference is all zero.

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    a = np.asarray(estimate, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"estimate must have the shape of reference {b.shape}; got {a.shape}.")
    return float(np.sqrt(np.mean((a - b) ** 2) / np.mean(b * b)))


def weight_errors(copy_weights: Sequence[NDArray], true_weights: Sequence[NDArray]) -> list[float]:
    """Relative RMS error per layer (:func:`relative_rms_error` of each weight matrix).

    Parameters
    ----------
    copy_weights, true_weights : sequences of ndarray, one (n_in + 1, n_out) matrix per layer

    Returns
    -------
    list of float
        One relative RMS error per layer.

    Raises
    ------
    ValueError
        If the layer counts or a layer's shapes differ.
    """
    if len(copy_weights) != len(true_weights):
        raise ValueError(f"copy_weights must have {len(true_weights)} layers; got {len(copy_weights)}.")
    out = []
    for i, (a, b) in enumerate(zip(copy_weights, true_weights, strict=True)):
        if np.shape(a) != np.shape(b):
            raise ValueError(f"copy_weights[{i}] must have shape {np.shape(b)}; got {np.shape(a)}.")
        out.append(relative_rms_error(a, b))
    return out


def bits(rel: float) -> float:
    """Effective bits of a copy, ``-log2(rel)`` for a relative RMS error ``rel`` (``inf`` at 0)."""
    return float(-math.log2(rel)) if rel > 0 else float("inf")
