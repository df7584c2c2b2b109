"""Pulse counts of an update: desired changes rounded to signed pulses per pair (layer 1).

A pulse update wants ``pulses_per_unit * delta[i]`` signed pulses on pair ``i``; stochastic
rounding (:func:`neuromorph.hardware._kernels.pulse_number`) turns that into a count.  For
the outer-product update of a batch, ``delta = x.T @ d``, the count needs the product only
as far as it changes the rounding, so :func:`outer_product` computes it in float32 (half the
time of a float64 product) together with a proven bound on its error, and
:func:`pulse_counts` keeps each count that every value within the bound agrees on and
recomputes the others in float64.  The counts are those of the float64 product: a count
could only differ where a float64 product lies within its own rounding (about 1e-13
relative) of a rounding threshold, the level at which two BLAS builds already disagree.

The error bound (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed. 2002,
§3.1, Lemma 3.1 and eq. 3.5; [Higham2002] in docs/references.md): converting ``x`` and
``d`` to float32 and summing ``K`` products in any order, with or without fused
multiply-adds, misses ``x[:, a] . d[:, b]``
by at most ``gamma_{K+2} sum_k |x_ka| |d_kb|``, ``gamma_n = n u / (1 - n u)``, ``u = 2**-24``,
plus an absolute term for results below float32's normal range; Cauchy-Schwarz bounds the
sum by ``||x[:, a]|| ||d[:, b]||``.  Inputs too large for float32 take the float64 product.

The pairs that bound leaves undecided (about one in a thousand here) are first recomputed from
the same float32 inputs, their products exact in float64 and summed in float64, which leaves
only the inputs' conversion error, ``(2u + u**2) sum_k |x_ka| |d_kb|``, plus float64's summation error
(:data:`FLOAT64_ROUNDOFF`): a bound some 500 times tighter, from inputs still in cache.  Only
the pairs it leaves undecided too (none in most updates) are summed from the float64 inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as check
from neuromorph.hardware import _pulse_kernels

#: float32's unit roundoff.
FLOAT32_ROUNDOFF = 2.0**-24
#: float64's unit roundoff.
FLOAT64_ROUNDOFF = 2.0**-53
#: Error of one float32 operation below the normal range, absolute: 4x the smallest normal
#: float32 (2**-126), so it holds even where subnormals are flushed to zero.
FLOAT32_TINY = 2.0**-124
#: Factor on the bound for the float64 roundings of the column norms, the scaling and the
#: interval ends (each below 1e-12 relative).
BOUND_SAFETY = 1.0 + 2.0**-10
#: Largest ``max|x| max|d| batch`` (with bounds on the maxima) for the float32 product: every
#: float32 value and partial sum stays finite (float32 overflows at 2**128).
FLOAT32_RANGE = 2.0**120
#: Largest ``|pulses_per_unit| max|x| max|d| batch`` (the same bounds) for the float32 path:
#: every scaled value and bound stays finite in float64 (larger ones take the float64 path and
#: its check).
FLOAT64_RANGE = 2.0**1000
#: ``(batch + 2) u`` must stay below this for ``gamma`` to be a bound (batch < 8.4 million).
MAX_GAMMA_REACH = 0.5
#: When more than this fraction of the pairs is undecided, one float64 BLAS product is
#: cheaper than their per-pair dot products (measured here: ~1 us per pair at batch 1024).
MAX_UNDECIDED_FRACTION = 1.0 / 32.0


@dataclass(frozen=True)
class OuterProduct:
    """The desired change ``x.T @ d`` of a batched update, ready to count in pulses.

    Made by :func:`outer_product`.  Either ``exact`` holds the float64 product, or
    ``approx`` its float32 counterpart with ``|x.T @ d - approx| <= rel * outer(x_norm,
    d_norm) + absolute`` elementwise; then the products ``x32[k, a] d32[k, b]`` (exact in
    float64) summed over the batch in float64, in any order, are within ``rel_inputs *
    outer(x_norm, d_norm) + absolute`` of ``x.T @ d``.

    Attributes
    ----------
    x : ndarray of shape (batch, n_in)
    d : ndarray of shape (batch, n_out)
        The inputs, float64, C-contiguous.
    exact : ndarray of shape (n_in, n_out) or None
    approx : float32 ndarray of shape (n_in, n_out) or None
    x32, d32 : float32 ndarrays like ``x`` and ``d``, or None
        The float32 inputs of ``approx``.
    x_norm : ndarray of shape (n_in,) or None
    d_norm : ndarray of shape (n_out,) or None
        Column 2-norms of ``x`` and ``d``.
    rel, rel_inputs, absolute : float
        Terms of the bounds.
    """

    x: NDArray[np.float64]
    d: NDArray[np.float64]
    exact: NDArray[np.float64] | None = None
    approx: NDArray[np.float32] | None = None
    x32: NDArray[np.float32] | None = None
    d32: NDArray[np.float32] | None = None
    x_norm: NDArray[np.float64] | None = None
    d_norm: NDArray[np.float64] | None = None
    rel: float = 0.0
    rel_inputs: float = 0.0
    absolute: float = 0.0

    @property
    def size(self) -> int:
        """Number of pairs, ``n_in * n_out``."""
        return self.x.shape[1] * self.d.shape[1]


def outer_product(
    x: NDArray[np.float64],
    d: NDArray[np.float64],
    *,
    pulses_per_unit: float,
    name: str = "learning_rate * x.T @ d",
) -> OuterProduct:
    """The update ``x.T @ d``, in float32 with its error bound where that is safe and pays.

    Float64 instead when the inputs exceed float32's range, or when the bound would leave
    more than :data:`MAX_UNDECIDED_FRACTION` of the pairs undecided (large updates, of
    several pulses per pair at batch 1024).

    Parameters
    ----------
    x : ndarray of shape (batch, n_in)
    d : ndarray of shape (batch, n_out)
        Float64 inputs.  Their finiteness is checked here, by the casting pass's sums of
        squares (a NaN or inf makes its column's sum non-finite; only then is the element
        test run, which raises naming ``x`` or ``d`` and the index).
    pulses_per_unit : float
        Signed pulses per unit of the product.
    name : str
        Name of the scaled product in the error message.

    Raises
    ------
    ValueError
        If ``x`` or ``d`` holds a NaN or inf, or ``pulses_per_unit * x.T @ d`` is not finite
        (overflow).
    """
    x, d = np.ascontiguousarray(x), np.ascontiguousarray(d)
    batch = x.shape[0]
    reach = (batch + 2) * FLOAT32_ROUNDOFF
    x32, x_sumsq, x_peak = _cast(x)  # x_peak, d_peak: bounds on every |x_ka|, |d_kb|
    d32, d_sumsq, d_peak = _cast(d)
    if not (math.isfinite(x_sumsq.sum()) and math.isfinite(d_sumsq.sum())):
        check.array("x", x)  # a NaN or inf, named; finite values whose squares overflow pass
        check.array("d", d)
    span = x_peak * d_peak * batch
    if (
        batch > 0
        and reach < MAX_GAMMA_REACH
        and max(x_peak, d_peak, span) <= FLOAT32_RANGE
        and abs(pulses_per_unit) * span <= FLOAT64_RANGE
    ):
        x_norm, d_norm = np.sqrt(x_sumsq), np.sqrt(d_sumsq)
        rel = reach / (1.0 - reach) * BOUND_SAFETY
        # A pair is undecided when a rounding threshold (one per pulse) lies within its
        # bound, so about twice the typical bound in pulses is the undecided fraction.
        typical = abs(pulses_per_unit) * rel * x_norm.mean() * d_norm.mean()
        if 2.0 * typical <= MAX_UNDECIDED_FRACTION:
            return OuterProduct(
                x,
                d,
                approx=x32.T @ d32,
                x32=x32,
                d32=d32,
                x_norm=x_norm,
                d_norm=d_norm,
                rel=rel,
                rel_inputs=_inputs_rel(batch),
                absolute=(batch + 2) * FLOAT32_TINY * (1.0 + x_peak + d_peak),
            )
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused just below
        product = x.T @ d
        check.array(name, pulses_per_unit * product)
    return OuterProduct(x, d, exact=product)


def _inputs_rel(batch: int) -> float:
    """Relative term of the bound on ``x.T @ d`` from the float32 inputs summed in float64.

    Each float32 input is within ``u |x| + t`` of its float64 value (``t`` = 2**-126, also
    where subnormals flush), so ``|x d - x32 d32| <= (2u + u**2) |x| |d| + t (1 + u) (|x| + |d|)
    + t**2``; the absolute part summed over the batch is within :class:`OuterProduct`'s
    ``absolute``.  The products of float32 values are exact in float64, and summing ``batch``
    of them in any order adds at most ``gamma64_batch sum |x32| |d32|`` (Higham §3.1), with
    ``|x32| |d32| <= (1 + u)**2 |x| |d|`` plus absolute terms that ``absolute``'s factor of 4
    covers.  Cauchy-Schwarz as for ``rel``; :data:`BOUND_SAFETY` for the float64 roundings.
    """
    u = FLOAT32_ROUNDOFF
    reach = batch * FLOAT64_ROUNDOFF
    gamma64 = reach / (1.0 - reach)
    return (2.0 * u + u * u + gamma64 * (1.0 + u) ** 2) * BOUND_SAFETY


def _cast(x: NDArray[np.float64]) -> tuple[NDArray[np.float32], NDArray[np.float64], float]:
    """``x`` as float32, its columns' sums of squares and a bound on its magnitudes.

    The bound is the largest column norm, ``sqrt(max sumsq)`` (no element exceeds its column's
    norm): the bounds above need no more, and a pass that also tracked each column's largest
    magnitude took 0.165 ms against 0.085 ms for the benchmark's ``x`` and ``d`` (measured).
    The counts do not depend on it: a looser bound only leaves more pairs to resolve exactly.
    """
    out = np.empty(x.shape, dtype=np.float32)
    sumsq = np.zeros(x.shape[1])
    _pulse_kernels.cast_with_sumsq(x=x, out=out, sumsq=sumsq)
    return out, sumsq, math.sqrt(float(sumsq.max(initial=0.0)))


def pulse_counts(
    desired: NDArray[np.float64] | OuterProduct,
    *,
    pulses_per_unit: float,
    key: np.uint64,
    max_pulses: int,
) -> NDArray[np.int64]:
    """Signed pulse count of every pair, shape (n,): stochastic rounding of the desired change.

    Parameters
    ----------
    desired : ndarray or OuterProduct
        The desired change per pair (any shape, flattened in C order; finite), or an
        update's product from :func:`outer_product`.
    pulses_per_unit : float
        Signed pulses per unit of ``desired``.
    key : numpy.uint64
        The update's key; pair ``i`` rounds with uniform ``i`` of ``STREAM_PULSE_ROUNDING``.
    max_pulses : int
        Saturation of a pair's count.
    """
    args = {"scale": pulses_per_unit, "key": key, "max_pulses": max_pulses}
    if not isinstance(desired, OuterProduct):
        flat = np.ascontiguousarray(desired, dtype=np.float64).reshape(-1)
        counts = np.empty(flat.size, dtype=np.int64)
        _pulse_kernels.rounded_counts(desired=flat, counts_out=counts, **args)
        return counts
    counts = np.empty(desired.size, dtype=np.int64)
    if desired.approx is None:
        _pulse_kernels.rounded_counts(desired=desired.exact.reshape(-1), counts_out=counts, **args)
        return counts
    pending = np.empty(counts.size, dtype=np.int64)
    undecided = _pulse_kernels.bounded_counts(
        approx=desired.approx,
        x_norm=desired.x_norm,
        d_norm=desired.d_norm,
        rel=desired.rel,
        absolute=desired.absolute,
        counts_out=counts,
        pending_out=pending,
        **args,
    )
    if undecided > MAX_UNDECIDED_FRACTION * counts.size:
        exact = (desired.x.T @ desired.d).reshape(-1)
        _pulse_kernels.rounded_counts(desired=exact, counts_out=counts, **args)
    elif undecided:
        _pulse_kernels.resolve_counts(
            counts=counts,
            pending=pending[:undecided],
            x=desired.x,
            d=desired.d,
            x32=desired.x32,
            d32=desired.d32,
            x_norm=desired.x_norm,
            d_norm=desired.d_norm,
            rel=desired.rel_inputs,
            absolute=desired.absolute,
            **args,
        )
    return counts


def pulsed_pairs(counts: NDArray[np.int64]) -> tuple[NDArray[np.int64], int, int]:
    """Indices of the pairs with a nonzero count, increasing (``np.flatnonzero``, faster), the
    pulses they take (sum of ``|count|``) and how many pairs have ``|count| > 1`` (both devices
    pulsed), in one pass."""
    pairs = np.empty(counts.size, dtype=np.int64)
    totals = np.zeros(2, dtype=np.int64)
    m = _pulse_kernels.nonzero_pairs(counts=counts, pairs_out=pairs, totals_out=totals)
    return pairs[:m], int(totals[0]), int(totals[1])
