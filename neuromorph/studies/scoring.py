"""How close a copy is to the original: relative RMS error and its bits (layer 4, studies).

One meaning, one place: the relative RMS error ``sqrt(mean((a - b)^2) / mean(b^2))`` of an
estimate ``a`` against a reference ``b`` is written here once and used by the copy-out study,
the sweep's copy-out points and the crossbar demo.  A scorer reads the reference (a chip's
hidden effective weights); the algorithms being scored never do.

May import NumPy and the standard library only (the lowest studies module).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray


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
