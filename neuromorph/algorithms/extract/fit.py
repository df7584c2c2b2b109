"""Least squares for designed probes: per-column solves, noise groups, weighted fits (layer 3).

The designed probes' readings are ``y = X W + noise`` with ``X`` from
:func:`~neuromorph.algorithms.extract.probes.fit_inputs`.  Readings that may have been
clipped are dropped per column, so every column has its own rows: :func:`lstsq_columns`
solves them all from one shared Gram matrix, and :func:`gls_columns` does the same with
per-column noise weights.  :func:`designed_fit` is the whole fit: drop readings predicted to
clip, weight every noise group by its measured noise, and refit columns whose noise differs
in proportion.  :func:`residual_sigma` is the noise of one reading the fit leaves.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.linalg
from numpy.typing import NDArray

from neuromorph._numba import one_blas_thread
from neuromorph.algorithms.extract.drive import adc_lsb, clip_edge, row_tiles
from neuromorph.chip.design import ChipDesign

__all__ = ["designed_fit", "gls_columns", "lstsq_columns", "residual_sigma"]

#: Readings of a probe group in a column from which that column's own noise is estimated.
_MIN_GROUP = 30
#: Floor on a group's noise variance, as a share of the noisiest group's: a group with
#: (almost) no residual, e.g. zero probes reading a constant, must not get an unbounded weight.
_VAR_FLOOR = 1e-4
#: A column dropping more than ``p // _WOODBURY_DIVISOR`` of its rows (``p`` regressors) has
#: its downdated Gram matrix solved afresh: the Woodbury form would cancel badly.
_WOODBURY_DIVISOR = 4
#: Passes of selecting readings on their predicted sums and refitting; each uses the
#: previous pass's weights and noise.
_SELECTION_PASSES = 2
#: Share of full scale within which a predicted sum cannot clip: those readings measure a
#: column's noise free of clipping bias.
_INNER_SHARE = 0.5
#: Noise sigmas (plus one ADC code) a kept reading's predicted sum stays inside full scale.
_MARGIN_SIGMAS = 3.0
#: The margin never exceeds this share of full scale, so a very noisy column keeps readings.
_MAX_MARGIN_SHARE = 0.25
#: Columns whose noise groups' ratios differ from the typical column's by more than this
#: factor get their own weights: weights off by less than 2x cost under 13 % of variance.
_ODD_NOISE_RATIO = 2.0


# ---------------------------------------------------------------------------- column solves
def lstsq_columns(x_aug: NDArray, y: NDArray, keep: NDArray | None) -> NDArray:
    """Least squares of every column of ``y`` over its kept rows, shape (p, M).

    One shared solve where nothing is dropped; for the others a Woodbury downdate of the
    shared inverse Gram matrix (a few rows dropped) or the downdated Gram matrix solved
    afresh (many rows dropped, where the Woodbury form would cancel badly).

    Parameters
    ----------
    x_aug : ndarray of shape (K, p)
    y : ndarray of shape (K, M)
    keep : ndarray of bool, shape (K, M), or None (keep every reading)

    Raises
    ------
    ValueError
        When a column keeps fewer than ``p`` readings.
    """
    gram = x_aug.T @ x_aug
    gram_inv = np.linalg.inv(gram)
    w = gram_inv @ (x_aug.T @ y)
    if keep is None or keep.all():
        return w
    cols = np.flatnonzero(~keep.all(axis=0))
    xty = x_aug.T @ y[:, cols]
    with one_blas_thread():  # many small solves: a second BLAS thread only waits
        _downdated_columns(x_aug, y, keep, cols, xty, gram, gram_inv, w)
    return w


def _downdated_columns(x_aug, y, keep, cols, xty, gram, gram_inv, w) -> None:
    """:func:`lstsq_columns` for the columns ``cols`` that drop readings, written into ``w``."""
    p = x_aug.shape[1]
    for c, j in enumerate(cols):
        drop = ~keep[:, j]
        if x_aug.shape[0] - np.count_nonzero(drop) < p:
            raise ValueError(
                f"column {j} keeps only {x_aug.shape[0] - np.count_nonzero(drop)} unsaturated "
                f"readings; it needs {p}. Lower the amplitude or add probes."
            )
        xd = x_aug[drop]
        rhs = xty[:, c] - xd.T @ y[drop, j]
        if xd.shape[0] > p // _WOODBURY_DIVISOR:
            w[:, j] = _solve_normal(gram - xd.T @ xd, rhs, lambda j=j, drop=drop: (x_aug[~drop], y[~drop, j]))
            continue
        # (G - Xd^T Xd)^-1 = G^-1 + G^-1 Xd^T (I - Xd G^-1 Xd^T)^-1 Xd G^-1
        u = xd @ gram_inv
        core = np.eye(xd.shape[0]) - u @ xd.T
        try:
            w[:, j] = gram_inv @ rhs + u.T @ np.linalg.solve(core, u @ rhs)
        except np.linalg.LinAlgError:
            w[:, j] = np.linalg.lstsq(x_aug[~drop], y[~drop, j], rcond=None)[0]


def gls_columns(
    x_fit: NDArray, y: NDArray, keep: NDArray, group: NDArray, var_gj: NDArray, cols: NDArray, out: NDArray
) -> None:
    """Weighted least squares of the columns ``cols``, each with its own group variances.

    Column ``j`` weights a reading of group ``g`` by ``1 / var_gj[g, j]`` over its kept rows
    and is written into ``out[:, j]``.  The Gram matrix of a column is a weighted sum of the
    groups' Gram matrices (computed once) less its dropped rows.

    Parameters
    ----------
    x_fit : ndarray of shape (K, p)
    y : ndarray of shape (K, M)
    keep : ndarray of bool, shape (K, M)
    group : ndarray of int, shape (K,)
        Noise group of every reading, ``0 .. G - 1``.
    var_gj : ndarray of shape (G, M)
    cols : ndarray of int
    out : ndarray of shape (p, M)
        Written in place.
    """
    if cols.size == 0:
        return
    n_groups = var_gj.shape[0]
    if group.max() >= n_groups:
        raise ValueError(f"group must be < var_gj.shape[0] = {n_groups}; got group up to {group.max()}.")
    grams = np.stack([x_fit[group == g].T @ x_fit[group == g] for g in range(n_groups)])
    with one_blas_thread():  # one small solve per column: a second BLAS thread only waits
        _gls_each(x_fit, y, keep, group, var_gj, grams, cols, out)


def _gls_each(x_fit, y, keep, group, var_gj, grams, cols, out) -> None:
    """:func:`gls_columns`' per-column weighted solves, written into ``out``."""
    for j in cols:
        inv_v = 1.0 / var_gj[:, j]
        drop = ~keep[:, j]
        xd = x_fit[drop]
        gram = np.tensordot(inv_v, grams, axes=1) - (xd * inv_v[group[drop], None]).T @ xd
        rhs = x_fit.T @ np.where(keep[:, j], y[:, j] * inv_v[group], 0.0)

        def fallback(j=j, drop=drop, inv_v=inv_v):
            sw = np.sqrt(inv_v[group[~drop]])
            return x_fit[~drop] * sw[:, None], y[~drop, j] * sw

        out[:, j] = _solve_normal(gram, rhs, fallback)


def _solve_normal(gram: NDArray, rhs: NDArray, fallback: Callable[[], tuple[NDArray, NDArray]]) -> NDArray:
    """Solve ``gram w = rhs`` by Cholesky; if the Gram matrix is too ill-conditioned for it,
    an orthogonal least-squares solve of ``x w = y`` with ``(x, y) = fallback()``."""
    try:
        c = scipy.linalg.cho_factor(gram, check_finite=False)
        return scipy.linalg.cho_solve(c, rhs, check_finite=False)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(*fallback(), rcond=None)[0]


# ---------------------------------------------------------------------------- noise
def residual_sigma(x_aug: NDArray, y: NDArray, w: NDArray, keep: NDArray) -> float | None:
    """Noise of one reading from the residuals of the kept readings (weight units), or None
    when the fit is exactly determined (no degrees of freedom left)."""
    dof = int(keep.sum()) - x_aug.shape[1] * y.shape[1]
    if dof <= 0:
        return None
    r = np.where(keep, y - x_aug @ w, 0.0)
    return float(np.sqrt(np.sum(r * r) / dof))


def _residual_group_var(
    x_fit: NDArray, y: NDArray, w: NDArray, keep: NDArray, group: NDArray, n_groups: int
) -> tuple[NDArray, NDArray]:
    """Per group and column (groups, M): the kept readings' residual variance (corrected for
    the fitted degrees of freedom) and their count."""
    r2 = np.where(keep, (y - x_fit @ w) ** 2, 0.0)
    onehot = np.eye(n_groups)[group]  # (K, groups)
    cnt = onehot.T @ keep.astype(np.float64)
    var = (onehot.T @ r2) * (keep.sum() / max(keep.sum() - w.size, 1)) / np.maximum(cnt, 1.0)
    return var, cnt


def _column_group_var(
    x_fit: NDArray, y: NDArray, w: NDArray, keep: NDArray, group: NDArray, var_g: NDArray
) -> NDArray:
    """Noise variance of every probe group in every column (groups, M), from the residuals of
    the kept readings; the typical ``var_g`` where a column has fewer than ``_MIN_GROUP``."""
    var, cnt = _residual_group_var(x_fit, y, w, keep, group, var_g.size)
    return np.where(cnt >= _MIN_GROUP, np.maximum(var, _VAR_FLOOR * var_g.max()), var_g[:, None])


def _group_var(x_fit: NDArray, y: NDArray, w: NDArray, keep: NDArray, group: NDArray) -> NDArray:
    """Typical noise variance of every probe group, from the kept readings' residuals."""
    var_j, cnt = _residual_group_var(x_fit, y, w, keep, group, int(group.max()) + 1)
    # The typical column's noise: the median over columns where a group has enough readings
    # per column (a few wide, noisy columns must not set every column's weights; they get
    # their own in designed_fit), the mean over columns otherwise.
    many = cnt.min(axis=1) >= _MIN_GROUP
    tot = cnt.sum(axis=1)
    var = np.where(many, np.median(var_j, axis=1), (var_j * cnt).sum(axis=1) / np.maximum(tot, 1.0))
    var = np.where(tot > 0, var, np.nan)
    top = np.nanmax(var) if np.any(var > 0) else 1.0
    return np.where(np.isfinite(var), np.maximum(var, _VAR_FLOOR * top), top)


def _weighted_fit(
    x_fit: NDArray, y: NDArray, keep: NDArray, group: NDArray, var_g: NDArray | None = None
) -> tuple[NDArray, NDArray]:
    """Least squares weighted by each noise group's measured noise.

    Read noise grows with a probe's amplitude and with the conductances of the tile it
    drives, while quantisation noise does not, so probes of different tiles and amplitudes
    differ in noise; weighting each reading by ``1 / sigma_group^2`` (estimated from the
    first, unweighted fit's residuals, typical over columns) is the efficient (generalised)
    least squares.  Returns the weights and the variance of every group (indexed by group),
    measured from the weighted fit's residuals.  With ``var_g`` (from an earlier fit) the
    unweighted pass is skipped.
    """
    if var_g is not None:
        sw = 1.0 / np.sqrt(var_g[group])
        w = lstsq_columns(x_fit * sw[:, None], y * sw[:, None], keep)
        return w, _group_var(x_fit, y, w, keep, group)
    w = lstsq_columns(x_fit, y, keep)
    var = _group_var(x_fit, y, w, keep, group)
    sw = 1.0 / np.sqrt(var[group])
    return lstsq_columns(x_fit * sw[:, None], y * sw[:, None], keep), var


# ---------------------------------------------------------------------------- saturation
def _unsaturated(y: NDArray, tile_of: NDArray, design: ChipDesign, n_tiles: int) -> NDArray:
    """Readings with no tile at full scale (boolean (K, M)), for probes that drive one tile.

    ``tile_of[k]`` is the tile probe ``k`` drives (-1: none).  Undriven tiles read zero,
    except the bias tile, which reads the bias alone: measured by the zero probes (-1) and
    subtracted before comparing with a tile's full scale.
    """
    lsb = adc_lsb(design)
    if lsb == 0.0:
        return np.ones(y.shape, dtype=bool)
    edge = clip_edge(design)
    zero = tile_of < 0
    base = np.median(y[zero], axis=0) if zero.any() else np.zeros(y.shape[1])
    keep = np.ones(y.shape, dtype=bool)
    for t in range(n_tiles):
        rows = tile_of == t
        if t == n_tiles - 1:
            keep[rows] = np.abs(y[rows]) < edge
        else:
            # The bias tile's reading under this probe may round one code away from the zero
            # probes' (noise): allow for it, so that no clipped reading passes as unclipped.
            keep[rows] = np.abs(y[rows] - base) < edge - lsb
    return keep


def _predicted_unsaturated(
    x_aug: NDArray, w: NDArray, tile_of: NDArray, design: ChipDesign, layer: int, margin: NDArray | float
) -> NDArray:
    """Readings whose driven tile's predicted sum stays ``margin`` inside full scale."""
    keep = np.ones((x_aug.shape[0], w.shape[1]), dtype=bool)
    fs = design.adc_full_scale
    tiles = row_tiles(design, layer)
    for t, (r0, r1) in enumerate(tiles):
        rows = tile_of == t
        if len(tiles) == 1:
            rows = np.ones(x_aug.shape[0], dtype=bool)
        keep[rows] = np.abs(x_aug[rows, r0:r1] @ w[r0:r1]) < fs - margin
    return keep


# ---------------------------------------------------------------------------- the whole fit
def designed_fit(
    x_fit: NDArray,
    ys: NDArray,
    tile_of: NDArray,
    group: NDArray,
    design: ChipDesign,
    layer: int,
    *,
    per_column: bool = True,
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """The designed probes' fit: weighted least squares over the unclipped readings.

    Parameters
    ----------
    x_fit : ndarray of shape (K, p)
        Regressors (:func:`~neuromorph.algorithms.extract.probes.fit_inputs`).
    ys : ndarray of shape (K, M)
        Tap readings.
    tile_of, group : ndarray of int, shape (K,)
        The tile each probe drives (-1: none) and its noise group.
    design : ChipDesign
    layer : int
    per_column : bool
        Refit the columns whose groups' noise differs in proportion with their own weights.

    Returns
    -------
    w_fit : ndarray of shape (p, M)
        Fitted coefficients (inputs, bias, and the idle bias tile's offset).
    keep : ndarray of bool, shape (K, M)
        The readings the fit used.
    var_g, var_gj : ndarray of shape (G,) and (G, M)
        Noise variance of every probe group, typical and per column.
    """
    n = design.layer_sizes[layer]
    n_tiles = len(row_tiles(design, layer))
    x_aug = x_fit[:, : n + 1]
    observed = _unsaturated(ys, tile_of, design, n_tiles)
    w_fit, var_g = _weighted_fit(x_fit, ys, observed, group)
    keep = observed
    if not observed.all():
        # Dropping readings because they *read* at full scale selects on the noise (a reading
        # just below full scale is kept only when its noise pulled it down): a bias.  Select
        # on the inputs instead: drop every reading whose predicted tile sum (first fit) comes
        # within _MARGIN_SIGMAS noise sigmas of full scale, then refit.  Read noise is
        # relative, so a wide column's readings are noisier than the typical column's: each
        # column's margin uses its own noisiest group, measured on the readings whose
        # predicted sum stays within _INNER_SHARE of full scale (no clipping there to bias it).
        fs = design.adc_full_scale
        for _ in range(_SELECTION_PASSES):
            inner = observed & _predicted_unsaturated(
                x_aug, w_fit[: n + 1], tile_of, design, layer, _INNER_SHARE * fs
            )
            var_gj = _column_group_var(x_fit, ys, w_fit, inner, group, var_g)
            margin = np.minimum(
                _MARGIN_SIGMAS * np.sqrt(var_gj.max(axis=0)) + adc_lsb(design), _MAX_MARGIN_SHARE * fs
            )
            keep = observed & _predicted_unsaturated(x_aug, w_fit[: n + 1], tile_of, design, layer, margin)
            w_fit, var_g = _weighted_fit(x_fit, ys, keep, group, var_g)
    var_gj = _column_group_var(x_fit, ys, w_fit, keep, group, var_g)
    if per_column:
        # Columns whose groups' noise differs from the typical column's *in proportion*
        # (wide columns: relative read noise grows with the amplitude and their conductances,
        # quantisation does not) get their own weights: per-column GLS.  Only the ratios
        # between groups matter to the fit, not a column's overall noise level.
        dev = np.log(var_gj / var_g[:, None])
        dev -= np.median(dev, axis=0)
        odd = np.flatnonzero(np.max(np.abs(dev), axis=0) > math.log(_ODD_NOISE_RATIO))
        gls_columns(x_fit, ys, keep, group, var_gj, odd, w_fit)
    return w_fit, keep, var_g, var_gj
