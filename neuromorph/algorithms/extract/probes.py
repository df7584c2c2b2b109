"""Designed probes: balanced sign patterns, the pilot, and the two rounds (layer 3).

Everything here plans inputs or reads a plan; nothing drives a chip.  :func:`sign_design`
gives balanced +/-1 patterns (whole Sylvester Hadamard blocks, then random signs);
:func:`pilot_probes` and :func:`pilot_amplitudes` turn a short pilot into every row tile's
working and safe amplitude; :func:`round_probes` and :func:`projected_probes` build the
first and the second round of a :class:`ProbePlan`; :func:`fit_inputs` gives the
regressors the fit solves for; :func:`noise_floor` and :func:`designed_floor` give the
variance a design leaves.

Every probe carries a *noise group* (its tile and its kind: pilot, safe, working or second
round; the zero probes form one more group after all tiles'), because read noise grows with
a probe's amplitude and with its tile's conductances: the fit weights each group by its own
measured noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as check
from neuromorph.algorithms.extract.drive import adc_lsb, dac_quantize, dac_step, driven_bias, row_tiles
from neuromorph.algorithms.extract.records import LayerRecord
from neuromorph.chip.design import ChipDesign

__all__ = [
    "GROUPS_PER_TILE",
    "PILOT_GROUP",
    "SAFE_GROUP",
    "SECOND_GROUP",
    "WORKING_GROUP",
    "ProbePlan",
    "designed_floor",
    "fit_inputs",
    "hadamard",
    "noise_floor",
    "pilot_amplitudes",
    "pilot_probes",
    "projected_probes",
    "round_probes",
    "sign_design",
]

#: Noise groups per row tile: pilot, safe, working and second-round probes (offsets below);
#: the zero probes form group ``GROUPS_PER_TILE * n_tiles``, after every tile's.
GROUPS_PER_TILE = 4
#: Offset of a tile's pilot probes among its noise groups.
PILOT_GROUP = 0
#: Offset of a tile's first-round probes at the safe amplitude.
SAFE_GROUP = 1
#: Offset of a tile's first-round probes at the working amplitude.
WORKING_GROUP = 2
#: Offset of a tile's second-round (projected) probes.
SECOND_GROUP = 3

#: Redraws of a rank-deficient random probe design before giving up (checked before any read).
_MAX_REDRAWS = 50
#: Full range of a uniform distribution over its standard deviation (``w_max / sigma``).
_UNIFORM_RANGE_PER_SD = math.sqrt(3.0)
#: Standard deviations of a full-range random tile's reading that the pilot keeps inside
#: full scale: a pilot amplitude safe for any trained chip.
_PILOT_SIGMAS = 4.0
#: Share of the ADC full scale left to a tile's spread however much the bias reading eats
#: (so a bias near full scale still leaves a usable amplitude).
_MIN_ROOM_SHARE = 0.25
#: Lowest amplitude of a tile (input units) when the DAC is ideal (step 0): probes must move.
_MIN_AMPLITUDE = 1e-12
#: Spare safe probes of a tile beyond one per weight it drives plus the bias: every column
#: keeps enough unsaturated readings to be determined, however wide.
_SAFE_SPARE = 8
#: A tile is steered around at most one wide column per this many of its rows; beyond, too
#: few directions would keep the working amplitude, and it gets plain sign probes.
_WIDE_ROWS_PER_COLUMN = 4
#: Margin on the remainder of a wide column outside the steered span (20 % below the spread
#: the working amplitude tolerates).
_STEER_MARGIN = 1.2
#: Singular values below this share of the largest are numerically zero.
_RANK_RTOL = 1e-6
#: Keeps a zero weight norm from dividing by zero.
_TINY = 1e-300
#: Condition number of the scaled Gram matrix above which probes do not determine the weights.
_MAX_CONDITION = 1e12


# ---------------------------------------------------------------------------- sign patterns
def hadamard(n: int) -> NDArray:
    """Sylvester Hadamard matrix of order ``n`` (a power of two), entries +/-1."""
    n = check.integer("n", n, minimum=1)
    if n & (n - 1):
        raise ValueError(f"n must be a power of two; got n={n}.")
    h = np.ones((1, 1))
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h


def sign_design(n_probes: int, n_inputs: int, *, rng: np.random.Generator) -> NDArray:
    """Balanced +/-1 patterns, shape (n_probes, n_inputs).

    Whole blocks of a Sylvester Hadamard matrix of order ``H = 2**ceil(log2(n_inputs + 1))``
    (columns 1..n_inputs: orthogonal to each other and to the constant bias column), each
    block with random column signs and row order; the remaining ``n_probes mod H`` rows are
    random signs.
    """
    check.generator("rng", rng)
    order = 1 << math.ceil(math.log2(n_inputs + 1))
    blocks = []
    if n_probes >= order:
        h = hadamard(order)[:, 1 : n_inputs + 1]
        for _ in range(n_probes // order):
            flip = rng.choice([-1.0, 1.0], size=n_inputs)
            blocks.append(h[rng.permutation(order)] * flip)
    rest = n_probes - order * len(blocks)
    if rest:
        blocks.append(rng.choice([-1.0, 1.0], size=(rest, n_inputs)))
    return np.vstack(blocks)


# ---------------------------------------------------------------------------- variance floors
def noise_floor(sigma: float, probes: int, amplitude: float) -> float:
    """The variance floor ``sigma^2 / (K a^2)`` of a weight after ``K`` probes of amplitude
    ``a`` with per-reading noise ``sigma`` (weight units)."""
    check.non_negative("sigma", sigma)
    check.integer("probes", probes, minimum=1)
    check.positive("amplitude", amplitude)
    return sigma**2 / (probes * amplitude**2)


def designed_floor(record: LayerRecord, design: ChipDesign, sigma: float | None = None) -> NDArray:
    """Variance floor of every input weight of a designed-probe layer, shape (N, M).

    Default: ``1 / sum_k (a_k^2 / sigma_kj^2)`` over the probes of the weight's tile, with
    each probe group's noise measured in the weight's column (``record.tile_information``);
    this is ``sigma^2 / (K_t a_t^2)`` when every probe has the same amplitude and noise.
    With ``sigma`` given: ``sigma^2 / (K_t a_t^2)`` with the main design's probes and
    amplitude, the same for every column.
    """
    if record.method != "designed":
        raise ValueError(f"record must be a 'designed' layer; got method={record.method!r}.")
    n, m = design.layer_sizes[record.layer], design.layer_sizes[record.layer + 1]
    tiles = row_tiles(design, record.layer)
    out = np.empty((n, m))
    if sigma is None and record.tile_information:
        for (r0, r1), info in zip(tiles, record.tile_information, strict=True):
            info = np.asarray(info, dtype=np.float64)
            out[r0 : min(r1, n)] = np.where(info > 0, 1.0 / np.where(info > 0, info, 1.0), np.inf)
        return out
    sigma = record.residual_sigma if sigma is None else sigma
    if sigma is None:
        raise ValueError(f"record must be an over-determined 'designed' layer; got residual_sigma={sigma}.")
    for (r0, r1), k, a in zip(tiles, record.tile_probes, record.tile_amplitudes, strict=True):
        out[r0 : min(r1, n)] = noise_floor(sigma, k, a)
    return out


# ---------------------------------------------------------------------------- regressors
def fit_inputs(xs: NDArray, tile_of: NDArray, design: ChipDesign, n_tiles: int) -> NDArray:
    """Regressors of the designed fit, shape (K, N + 1) or (K, N + 2): the inputs, the
    driven bias and, with several row tiles, an indicator of the probes that leave the bias
    tile undriven.

    An undriven bias tile reads the bias alone: the same analog value on every such probe,
    so the same ADC rounding error (no dither reaches that tile), a per-column offset of up
    to half an LSB.  Its own coefficient keeps that offset out of the bias weight, which is
    then fitted from the bias tile's own dithered probes.
    """
    n_tiles = check.integer("n_tiles", n_tiles, minimum=1)
    cols = [xs, np.full((xs.shape[0], 1), driven_bias(design))]
    if n_tiles > 1:
        cols.append((tile_of != n_tiles - 1).astype(np.float64)[:, None])
    return np.hstack(cols)


def _full_rank(x_aug: NDArray) -> bool:
    """Whether the probes determine every weight (Gram matrix well conditioned)."""
    gram = x_aug.T @ x_aug
    scale = np.sqrt(np.diag(gram))
    if np.any(scale == 0.0):
        return False
    return bool(np.linalg.cond(gram / np.outer(scale, scale)) < _MAX_CONDITION)


# ---------------------------------------------------------------------------- pilot
def _pilot_level(design: ChipDesign, layer: int) -> float:
    """The pilot's amplitude: a tile of uniformly random weights over the full range would
    reach full scale at ``_PILOT_SIGMAS`` standard deviations, so it is safe for any chip."""
    rows_max = max(r1 - r0 for r0, r1 in row_tiles(design, layer))
    fs_in, fs_out = design.periphery.dac.input_full_scale, design.adc_full_scale
    return min(fs_in, fs_out * _UNIFORM_RANGE_PER_SD / (_PILOT_SIGMAS * math.sqrt(rows_max) * design.w_max))


def pilot_probes(
    design: ChipDesign, layer: int, per_tile: int, *, rng: np.random.Generator
) -> tuple[NDArray, NDArray]:
    """The pilot: ``per_tile`` random-sign probes driving each row tile alone at a
    conservative amplitude (on the DAC grid).

    Returns
    -------
    x : ndarray of shape (per_tile * n_tiles, N)
        Inputs, tile by tile.
    tile_of : ndarray of int, shape (per_tile * n_tiles,)
        The tile each probe drives.
    """
    per_tile = check.integer("per_tile", per_tile, minimum=1)
    check.generator("rng", rng)
    n = design.layer_sizes[layer]
    tiles = row_tiles(design, layer)
    a0 = _pilot_level(design, layer)
    xs = []
    for r0, r1 in tiles:
        r1 = min(r1, n)  # the bias row (index n) is always driven by the port
        x = np.zeros((per_tile, n))
        if r1 > r0:
            x[:, r0:r1] = a0 * rng.choice([-1.0, 1.0], size=(per_tile, r1 - r0))
        xs.append(dac_quantize(x, design))
    return np.vstack(xs), np.repeat(np.arange(len(tiles)), per_tile)


def pilot_amplitudes(
    y: NDArray,
    design: ChipDesign,
    layer: int,
    *,
    headroom: float,
    column_quantile: float,
    dither_steps: int,
    safe_headroom: float,
) -> tuple[NDArray, NDArray]:
    """Every row tile's working and safe amplitude from the pilot's readings ``y``
    (from :func:`pilot_probes`, tile by tile).

    At amplitude ``a`` a tile's reading spreads ~ ``spread * a / a_pilot`` (plus the bias
    offset on the bias tile).  The working amplitude keeps ``headroom`` spreads of
    ``column_quantile`` of the columns inside full scale; the widest columns may saturate now
    and then, and their readings at full scale are dropped from their own fits (see
    :func:`~neuromorph.algorithms.extract.fit.designed_fit`), which costs them little since
    their weights are large.  The safe amplitude keeps ``safe_headroom`` spreads of every
    column inside.  Both stay ``dither_steps + 1`` DAC steps inside the DAC's full scale.

    Returns
    -------
    amplitudes, safe_amplitudes : ndarray of shape (n_tiles,)
    """
    n = design.layer_sizes[layer]
    fs_in = design.periphery.dac.input_full_scale
    fs_out = design.adc_full_scale
    tiles = row_tiles(design, layer)
    if y.shape[0] % len(tiles):
        raise ValueError(
            f"y must hold the same number of pilot readings for each of the {len(tiles)} tiles; "
            f"got {y.shape[0]} rows."
        )
    per_tile = y.shape[0] // len(tiles)
    a0 = _pilot_level(design, layer)
    bias_part = np.zeros(y.shape[1])
    scales = []
    # Each tile's readings: spread from its own rows, plus the bias (last tile only).
    for t, (_, r1) in enumerate(tiles):
        yt = y[t * per_tile : (t + 1) * per_tile]
        if r1 > n:  # the bias tile: the mean is (mostly) the bias
            bias_part = np.abs(yt.mean(axis=0))
        scales.append(np.sqrt(np.mean((yt - yt.mean(axis=0)) ** 2, axis=0)) + adc_lsb(design))
    limit = fs_in - (dither_steps + 1) * dac_step(design)
    amps, safes = [], []
    for t, (_, r1) in enumerate(tiles):
        room = fs_out - (bias_part if r1 > n else 0.0)
        room = np.maximum(room, _MIN_ROOM_SHARE * fs_out)
        ratio = np.quantile(room / (headroom * scales[t]), 1.0 - column_quantile) * a0
        amps.append(float(min(limit, max(ratio, dac_step(design), _MIN_AMPLITUDE))))
        safe = np.min(room / (safe_headroom * scales[t])) * a0
        safes.append(float(min(amps[-1], max(safe, dac_step(design), _MIN_AMPLITUDE))))
    return np.array(amps), np.array(safes)


# ---------------------------------------------------------------------------- the two rounds
@dataclass(frozen=True, eq=False)
class ProbePlan:
    """What every round of designed probes on one layer shares.

    Attributes
    ----------
    design : ChipDesign
    layer : int
    amplitudes, safe_amplitudes : ndarray of shape (n_tiles,)
        Working and safe amplitude of every row tile, DAC input units.
    dither_steps : int
        Random offset of up to this many DAC steps on every driven input (0: no dither).
    safe_fraction : float
        Share of a tile's first-round probes at its safe amplitude.
    headroom : float
        Standard deviations of a reading the working amplitude keeps inside full scale.
    """

    design: ChipDesign
    layer: int
    amplitudes: NDArray
    safe_amplitudes: NDArray
    dither_steps: int
    safe_fraction: float
    headroom: float

    @property
    def n(self) -> int:
        """Inputs of the layer (the bias excluded)."""
        return self.design.layer_sizes[self.layer]

    @property
    def tiles(self) -> list[tuple[int, int]]:
        """Row ranges of the layer's tiles (see :func:`row_tiles`)."""
        return row_tiles(self.design, self.layer)

    def dither(self, shape: tuple[int, int], rng: np.random.Generator) -> NDArray:
        """A random offset of up to ``dither_steps`` DAC steps (input units)."""
        return dac_step(self.design) * rng.integers(-self.dither_steps, self.dither_steps + 1, size=shape)


def round_probes(
    plan: ProbePlan,
    counts: list[int],
    *,
    x_pilot: NDArray,
    t_pilot: NDArray,
    n_zero: int,
    rng: np.random.Generator,
) -> tuple[NDArray, NDArray, NDArray]:
    """One round of balanced sign probes, each driving one tile (a share at the tile's safe
    amplitude), after ``n_zero`` zero probes; redrawn until, with the pilot (``x_pilot``
    driving tiles ``t_pilot``), they determine every weight.

    Returns
    -------
    x : ndarray of shape (n_zero + sum(counts), N)
    tile_of, group : ndarray of int
        The tile each probe drives (-1: none) and its noise group.

    Raises
    ------
    ValueError
        When ``_MAX_REDRAWS`` draws all leave the fit singular.
    """
    n, tiles = plan.n, plan.tiles
    n_tiles = len(tiles)
    for _ in range(_MAX_REDRAWS):
        blocks, t_rows = [np.zeros((n_zero, n))], [np.full(n_zero, -1)]
        g_rows = [np.full(n_zero, GROUPS_PER_TILE * n_tiles)]
        for t, (r0, r1) in enumerate(tiles):
            r1 = min(r1, n)
            xb = np.zeros((counts[t], n))
            n_safe = 0
            if r1 > r0:
                # A share of the probes at the safe amplitude keeps the widest columns (whose
                # readings at the working amplitude saturate at times) well determined: at
                # least N_t + 1 + _SAFE_SPARE of them when the budget allows.
                if plan.safe_amplitudes[t] < plan.amplitudes[t]:
                    n_safe = max(
                        int(round(plan.safe_fraction * counts[t])),
                        min(counts[t], r1 - r0 + 1 + _SAFE_SPARE),
                    )
                scale = np.r_[
                    np.full(n_safe, plan.safe_amplitudes[t]), np.full(counts[t] - n_safe, plan.amplitudes[t])
                ]
                xb[:, r0:r1] = scale[:, None] * sign_design(counts[t], r1 - r0, rng=rng)
                if plan.dither_steps:
                    xb[:, r0:r1] += plan.dither((counts[t], r1 - r0), rng)
            blocks.append(xb)
            t_rows.append(np.full(counts[t], t))
            g_rows.append(
                np.r_[
                    np.full(n_safe, GROUPS_PER_TILE * t + SAFE_GROUP),
                    np.full(counts[t] - n_safe, GROUPS_PER_TILE * t + WORKING_GROUP),
                ]
            )
        x = dac_quantize(np.vstack(blocks), plan.design)
        tile_of = np.concatenate([t_pilot, *t_rows])
        if _full_rank(fit_inputs(np.vstack([x_pilot, x]), tile_of, plan.design, n_tiles)):
            return x, np.concatenate(t_rows), np.concatenate(g_rows)
    probes = x_pilot.shape[0] + n_zero + sum(counts)
    raise ValueError(
        f"probes must determine all {n + 1} weights of a column of layer {plan.layer}; got a "
        f"singular design {_MAX_REDRAWS} times with {probes} probes (pilot and this round). "
        "Use more probes."
    )


def projected_probes(
    plan: ProbePlan, counts: list[int], w_hat: NDArray, *, rng: np.random.Generator
) -> tuple[NDArray, NDArray, NDArray]:
    """Second-round probes steered around the columns too wide for the working amplitude.

    Signs at the working amplitude outside the span of the wide columns' weights (from the
    first round's fit ``w_hat``, shape (N + 1, M)), at an amplitude they tolerate inside it,
    so those columns' readings stay unclipped while every other direction keeps the working
    amplitude.  Tiles with no wide column (or too many) get plain sign probes.

    Returns
    -------
    x : ndarray of shape (sum(counts), N)
    tile_of, group : ndarray of int
    """
    n = plan.n
    blocks, t_rows, g_rows = [], [], []
    for t, (r0, r1) in enumerate(plan.tiles):
        r1n = min(r1, n)
        xb = np.zeros((counts[t], n))
        if r1n > r0 and counts[t]:
            h = sign_design(counts[t], r1n - r0, rng=rng)
            xb[:, r0:r1n] = _steered(plan, t, h, w_hat, bias_tile=r1 > n)
            if plan.dither_steps:
                xb[:, r0:r1n] += plan.dither((counts[t], r1n - r0), rng)
        blocks.append(xb)
        t_rows.append(np.full(counts[t], t))
        g_rows.append(np.full(counts[t], GROUPS_PER_TILE * t + SECOND_GROUP))
    return dac_quantize(np.vstack(blocks), plan.design), np.concatenate(t_rows), np.concatenate(g_rows)


def _steered(plan: ProbePlan, t: int, h: NDArray, w_hat: NDArray, *, bias_tile: bool) -> NDArray:
    """Tile ``t``'s inputs for the sign patterns ``h``: the working amplitude, except inside
    the fewest leading directions of its wide columns' weights, driven at what they tolerate."""
    n, design, headroom, amp = plan.n, plan.design, plan.headroom, plan.amplitudes[t]
    r0, r1 = plan.tiles[t]
    fs = design.adc_full_scale
    wt = w_hat[r0 : min(r1, n)]
    # The bias tile's constant (the bias weight times the driven bias) eats room.
    room = fs - (np.abs(w_hat[n]) * driven_bias(design) if bias_tile else np.zeros(w_hat.shape[1]))
    room = np.maximum(room, _MIN_ROOM_SHARE * fs)
    norm = np.sqrt(np.sum(wt * wt, axis=0))
    wide = np.flatnonzero(amp * norm * headroom > room)
    if not 0 < wide.size <= wt.shape[0] // _WIDE_ROWS_PER_COLUMN:
        return amp * h
    # The fewest leading directions of the wide columns' weights that leave each of them a
    # remainder the working amplitude tolerates (with _STEER_MARGIN).
    u, sv, _ = np.linalg.svd(wt[:, wide], full_matrices=False)
    limit = room[wide] / (_STEER_MARGIN * headroom * amp)
    coef = u.T @ wt[:, wide]  # (rank, wide)
    rest = np.sqrt(np.maximum(norm[wide] ** 2 - np.cumsum(coef**2, axis=0), 0.0))
    ok = np.flatnonzero(np.all(rest <= limit, axis=1))
    r = int(ok[0]) + 1 if ok.size else int(np.count_nonzero(sv > sv[0] * _RANK_RTOL))
    q = u[:, :r]
    inside = (h @ q) @ q.T
    # Amplitude inside the span: each wide column's reading spread
    # a^2 |rest|^2 + a_in^2 |inside part|^2 stays within room / headroom.
    budget = (room[wide] / headroom) ** 2 - (amp * rest[r - 1]) ** 2
    part = np.sqrt(np.maximum(norm[wide] ** 2 - rest[r - 1] ** 2, _TINY))
    a_in = float(np.min(np.sqrt(np.maximum(budget, 0.0)) / part))
    a_in = min(amp, max(a_in, dac_step(design)))
    return amp * (h - inside) + a_in * inside
