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
  its digital output correction) and the relative RMS error
  ``sqrt(mean((a - b)^2) / mean(b^2))`` of an estimate ``a`` against a reference ``b``, used
  by the copy-out study, the sweep's copy-out points, the lifetime and the crossbar demo.  A
  scorer reads the reference (a chip's hidden effective weights); the algorithms being
  scored never do.

May import ``algorithms``, ``chip``, NumPy, SciPy and the standard library; no other studies
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
    """Each layer's effective weights as its taps deliver them: with the output correction.

    A layer's digital output correction ``y_out = (y - offset) * scale``
    (:meth:`Chip.set_output_correction <neuromorph.chip.chip.Chip.set_output_correction>`: a
    calibration, a drift compensation) makes the layer compute ``x @ (W * scale)`` plus a
    bias row ``(w_bias - offset / bias_input) * scale``; that is what a copy read through the
    ports can recover and what it is graded against.  Without a correction these are the
    effective weights themselves, bit for bit.  Hidden state: scorers and tests only.

    Returns
    -------
    list of ndarray, one (n_in + 1, n_out) matrix per layer (bias row last), weight units.
    """
    out = []
    for layer, w in enumerate(chip.effective_weights()):
        scale, offset = chip.output_correction(layer)
        seen = w * scale
        seen[-1] = (w[-1] - offset / chip.design.bias_input) * scale
        out.append(seen)
    return out


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
