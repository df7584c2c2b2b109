"""Designed +/-a probes on one layer, in named steps (layer 3).

:func:`extract_layer_designed` runs: a pilot that sets every row tile's amplitudes
(:func:`_pilot`), a first round of balanced sign probes (:func:`_first_round`), a second
round steered around the columns too wide for the working amplitude
(:func:`_second_round`), the weighted fit
(:func:`~neuromorph.algorithms.extract.fit.designed_fit`) and the record of what it cost
(:func:`_record`).  See the package docstring for why each step is there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as check
from neuromorph.algorithms.extract.drive import (
    adc_lsb,
    check_layer,
    check_queries,
    dac_step,
    public_design,
    require_drive,
    row_tiles,
)
from neuromorph.algorithms.extract.fit import designed_fit, residual_sigma
from neuromorph.algorithms.extract.probes import (
    GROUPS_PER_TILE,
    PILOT_GROUP,
    ProbePlan,
    fit_inputs,
    pilot_amplitudes,
    pilot_probes,
    projected_probes,
    round_probes,
)
from neuromorph.algorithms.extract.records import LayerRecord
from neuromorph.chip.design import ChipDesign
from neuromorph.chip.ports import Meter, Ports, check_ports

__all__ = [
    "COLUMN_QUANTILE",
    "DITHER_STEPS",
    "HEADROOM",
    "PILOT_PER_TILE",
    "SAFE_FRACTION",
    "SAFE_HEADROOM",
    "extract_layer_designed",
    "min_probes",
]

#: Default dither: up to this many DAC steps on every input, enough to spread the ADC's
#: rounding into a random error at a cost of a few percent of the amplitude.
DITHER_STEPS = 3
#: Default pilot probes per row tile: a spread estimate for every column before the design.
PILOT_PER_TILE = 8
#: Default standard deviations of a tap reading kept inside the ADC's full scale.
HEADROOM = 2.5
#: Default share of the columns that keep ``HEADROOM`` (the widest tenth may clip at times;
#: their clipped readings are dropped from their own fits).
COLUMN_QUANTILE = 0.9
#: Default share of the first round's probes at the safe amplitude.
SAFE_FRACTION = 0.25
#: Default headroom (standard deviations, widest column) of the safe share of the probes.
SAFE_HEADROOM = 2.0

#: Zero probes per layer with several row tiles: they read the bias tile alone, the baseline
#: against which the other tiles' readings are checked for clipping.
_ZERO_PROBES = 2
#: Share of a tile's probes in the first of two rounds.
_FIRST_SHARE = 1.0 / 3.0
#: Spare first-round probes of a tile beyond one per row: enough for the first fit to find
#: the wide columns.
_FIRST_SPARE = 32
#: Two rounds only when the second gets at least ``counts // _SECOND_MIN_DIVISOR`` of the
#: tile's probes (a quarter); otherwise the tile is probed in one round.
_SECOND_MIN_DIVISOR = 4


@dataclass(frozen=True, eq=False)
class _Readings:
    """Probes driven so far: inputs (K, N), readings (K, M), driven tile and noise group (K,)."""

    x: NDArray
    y: NDArray
    tile_of: NDArray
    group: NDArray

    def join(self, x: NDArray, y: NDArray, tile_of: NDArray, group: NDArray) -> _Readings:
        """These readings followed by the probes ``x`` and their readings ``y``."""
        return _Readings(
            np.vstack([self.x, x]),
            np.vstack([self.y, y]),
            np.concatenate([self.tile_of, tile_of]),
            np.concatenate([self.group, group]),
        )


def extract_layer_designed(
    ports: Ports,
    layer: int,
    *,
    probes: int,
    amplitude: float | None = None,
    dither: bool | None = None,
    dither_steps: int = DITHER_STEPS,
    pilot: int = PILOT_PER_TILE,
    headroom: float = HEADROOM,
    column_quantile: float = COLUMN_QUANTILE,
    safe_fraction: float = SAFE_FRACTION,
    safe_headroom: float = SAFE_HEADROOM,
    two_rounds: bool = True,
    design: ChipDesign | None = None,
    rng: np.random.Generator,
) -> tuple[NDArray, LayerRecord]:
    """Designed +/-a probes on one layer, solved by least squares.

    Parameters
    ----------
    ports : Ports
    layer : int
    probes : int >= N + 1
        Total queries for this layer, pilot included (the budget ``K``); at most what
        :data:`~neuromorph.algorithms.extract.drive.MAX_HELD_VALUES` allows.
    amplitude : float > 0, optional
        Probe amplitude ``a`` (DAC input units).  Default: measured by a pilot of ``pilot``
        probes per row tile so that ``headroom`` standard deviations of the tap readings of
        ``column_quantile`` of the columns fit in the ADC full scale.
    dither : bool, optional
        Add a random offset of up to ``dither_steps`` DAC steps to every input of every
        probe.  Default: on whenever the design's ADC quantises (the extractor cannot know
        the read noise in advance; dither costs nothing but a few percent of amplitude).
    dither_steps : int >= 1
    pilot : int >= 2
        Pilot probes per row tile (only when ``amplitude`` is None).
    headroom : float > 0
        Standard deviations of a tap reading that the amplitude keeps inside full scale...
    column_quantile : float in (0, 1]
        ...for this fraction of the columns (1: every column; the rest may saturate at
        times, and their saturated readings are dropped from their fits).
    safe_fraction : float in [0, 1]
        Share of the probes driven at the *safe* amplitude instead (``safe_headroom``
        standard deviations of the widest column; at least ``N_t + 9`` of a tile's probes,
        one per input of the tile and the bias plus eight spare, when the budget allows),
        so that columns whose readings saturate keep unclipped probes in every direction.
    safe_headroom : float > 0
    two_rounds : bool
        Probe in two rounds when the budget allows (see the package docstring): about a
        third of each tile's probes (at least its rows + 32) first, the rest steered around
        the wide columns' weight directions.
    design : ChipDesign, optional
    rng : numpy.random.Generator
        Probe signs, order and dither.

    Returns
    -------
    weights : ndarray of shape (N + 1, M)
    record : LayerRecord
    """
    check_ports(ports)
    design = public_design(ports, design)
    layer = check_layer(ports, layer)
    check.generator("rng", rng)
    require_drive(ports, layer, "designed")
    n = design.layer_sizes[layer]
    probes = _check_probes(probes, design, layer)
    dither_steps = check.integer("dither_steps", dither_steps, minimum=1)
    pilot = check.integer("pilot", pilot, minimum=2)
    headroom = check.positive("headroom", headroom)
    safe_fraction = check.fraction("safe_fraction", safe_fraction)
    safe_headroom = check.positive("safe_headroom", safe_headroom)
    if not isinstance(two_rounds, (bool, np.bool_)):
        raise TypeError(f"two_rounds must be a bool; got {type(two_rounds).__name__}.")
    column_quantile = check.fraction("column_quantile", column_quantile)
    if column_quantile == 0.0:
        raise ValueError(f"column_quantile must be in (0, 1]; got column_quantile={column_quantile:g}.")
    if dither is None:
        dither = adc_lsb(design) > 0.0
    dithered = bool(dither and dac_step(design) > 0.0)
    # Several row tiles: each probe drives one tile only (blocks in proportion to the tiles'
    # rows), so every reading holds one tile's analog sum and its saturation is visible;
    # with one tile this is the plain all-inputs design.
    n_zero = _ZERO_PROBES if len(row_tiles(design, layer)) > 1 else 0
    before = ports.meter
    pilot_reads, amps, safes = _pilot(
        ports,
        design,
        layer,
        probes=probes,
        amplitude=amplitude,
        n_zero=n_zero,
        per_tile=pilot,
        headroom=headroom,
        column_quantile=column_quantile,
        dither_steps=dither_steps,
        safe_headroom=safe_headroom,
        rng=rng,
    )
    plan = ProbePlan(design, layer, amps, safes, dither_steps if dithered else 0, safe_fraction, headroom)
    counts, first = _round_sizes(plan, probes - pilot_reads.x.shape[0] - n_zero, two_rounds=two_rounds)
    reads = _first_round(ports, plan, first, pilot_reads, n_zero=n_zero, rng=rng)
    reads = _second_round(ports, plan, [c - f for c, f in zip(counts, first, strict=True)], reads, rng=rng)
    x_fit = fit_inputs(reads.x, reads.tile_of, design, len(plan.tiles))
    w_fit, keep, _, var_gj = designed_fit(x_fit, reads.y, reads.tile_of, reads.group, design, layer)
    rec = _record(
        plan,
        reads,
        counts,
        n_pilot=pilot_reads.x.shape[0],
        sigma=residual_sigma(x_fit, reads.y, w_fit, keep),
        dropped=int(np.count_nonzero(~keep)),
        var_gj=var_gj,
        dithered=dithered,
        spent=ports.meter.minus(before),
    )
    return w_fit[: n + 1], rec


def min_probes(
    design: ChipDesign, layer: int, *, measure_amplitude: bool, pilot: int = PILOT_PER_TILE
) -> int:
    """The fewest probes :func:`extract_layer_designed` accepts for ``layer``: ``N + 1``, plus
    the zero probes of a layer with several row tiles, plus ``pilot`` per row tile when the
    amplitude is measured (``amplitude=None``)."""
    n_tiles = len(row_tiles(design, layer))
    n_zero = _ZERO_PROBES if n_tiles > 1 else 0
    return design.layer_sizes[layer] + 1 + n_zero + (pilot * n_tiles if measure_amplitude else 0)


def _check_probes(probes: int, design: ChipDesign, layer: int) -> int:
    """``probes`` as an int: at least ``N + 1`` (one per input and the bias), at most what
    :data:`~neuromorph.algorithms.extract.drive.MAX_HELD_VALUES` allows."""
    n = design.layer_sizes[layer]
    probes = check.integer("probes", probes)
    if probes < n + 1:
        raise ValueError(
            f"probes must be >= N + 1 = {n + 1} for layer {layer} (N = {n} inputs plus the "
            f"bias); got probes={probes}."
        )
    per_query = n + 1 + design.layer_sizes[layer + 1]
    check_queries("probes", probes, queries=probes, per_query=per_query, layer=layer)
    return probes


def _pilot(
    ports: Ports,
    design: ChipDesign,
    layer: int,
    *,
    probes: int,
    amplitude: float | None,
    n_zero: int,
    per_tile: int,
    headroom: float,
    column_quantile: float,
    dither_steps: int,
    safe_headroom: float,
    rng: np.random.Generator,
) -> tuple[_Readings, NDArray, NDArray]:
    """Step 1: the pilot's readings and every tile's working and safe amplitude; with a
    given ``amplitude`` no pilot (empty readings) and that amplitude for every tile."""
    n, n_tiles = design.layer_sizes[layer], len(row_tiles(design, layer))
    if amplitude is not None:
        amplitude = check.positive("amplitude", amplitude)
        if probes - n_zero < n + 1:
            raise ValueError(
                f"probes must be >= {n + 1 + n_zero} for layer {layer} (N + 1 plus "
                f"{n_zero} zero probes); got probes={probes}."
            )
        amps = np.full(n_tiles, amplitude)
        n_out = design.layer_sizes[layer + 1]
        empty = _Readings(
            np.zeros((0, n)), np.zeros((0, n_out)), np.zeros(0, np.int64), np.zeros(0, np.int64)
        )
        return empty, amps, amps
    n_pilot = per_tile * n_tiles
    if probes - n_pilot - n_zero < n + 1:
        raise ValueError(
            f"probes must be >= N + 1 + pilot probes = {n + 1 + n_pilot + n_zero} for layer "
            f"{layer} when the amplitude is measured; got probes={probes}. Pass amplitude= "
            "or a larger budget."
        )
    x, tile_of = pilot_probes(design, layer, per_tile, rng=rng)
    y = ports.drive(layer, x)
    amps, safes = pilot_amplitudes(
        y,
        design,
        layer,
        headroom=headroom,
        column_quantile=column_quantile,
        dither_steps=dither_steps,
        safe_headroom=safe_headroom,
    )
    return _Readings(x, y, tile_of, GROUPS_PER_TILE * tile_of + PILOT_GROUP), amps, safes


def _round_sizes(plan: ProbePlan, k: int, *, two_rounds: bool) -> tuple[list[int], list[int]]:
    """Step 2: the ``k`` main probes split over the tiles (in proportion to their rows, the
    bias row included) and each tile's share in the first round.

    Two rounds where the budget allows: the first (a third of a tile's probes, at least its
    rows + ``_FIRST_SPARE``) finds the columns too wide for the working amplitude; the second
    keeps them inside the ADC's range by driving their weight vectors' directions at a lower
    amplitude.
    """
    n = plan.n
    sizes = [min(r1, n + 1) - r0 for r0, r1 in plan.tiles]
    counts = [int(k * sz // (n + 1)) for sz in sizes]
    counts[-1] += k - sum(counts)
    first = list(counts)
    if two_rounds:
        for t, size in enumerate(sizes):
            a_cnt = max(size + _FIRST_SPARE, round(counts[t] * _FIRST_SHARE))
            if counts[t] - a_cnt >= counts[t] // _SECOND_MIN_DIVISOR:
                first[t] = a_cnt
    return counts, first


def _first_round(
    ports: Ports,
    plan: ProbePlan,
    first: list[int],
    pilot: _Readings,
    *,
    n_zero: int,
    rng: np.random.Generator,
) -> _Readings:
    """Step 3: the zero probes and the first round of sign probes, driven; joined to the
    pilot's readings."""
    x, tile_of, group = round_probes(
        plan, first, x_pilot=pilot.x, t_pilot=pilot.tile_of, n_zero=n_zero, rng=rng
    )
    return pilot.join(x, ports.drive(plan.layer, x), tile_of, group)


def _second_round(
    ports: Ports, plan: ProbePlan, second: list[int], reads: _Readings, *, rng: np.random.Generator
) -> _Readings:
    """Step 4: if any tile has second-round probes, fit what was read so far (each group
    weighted by its typical noise, no per-column refit) and drive probes steered around the
    wide columns that fit reveals."""
    if not sum(second):
        return reads
    n_tiles = len(plan.tiles)
    x_fit = fit_inputs(reads.x, reads.tile_of, plan.design, n_tiles)
    w_fit, _, _, _ = designed_fit(
        x_fit, reads.y, reads.tile_of, reads.group, plan.design, plan.layer, per_column=False
    )
    x, tile_of, group = projected_probes(plan, second, w_fit[: plan.n + 1], rng=rng)
    return reads.join(x, ports.drive(plan.layer, x), tile_of, group)


def _record(
    plan: ProbePlan,
    reads: _Readings,
    counts: list[int],
    *,
    n_pilot: int,
    sigma: float | None,
    dropped: int,
    var_gj: NDArray,
    dithered: bool,
    spent: Meter,
) -> LayerRecord:
    """Step 5: the layer's record, with every tile's main-design amplitude and information.

    The Fisher information ``sum_k a_k^2 / sigma_kj^2`` of an input weight of tile ``t``,
    column ``j``, sums over every probe driving the tile (kept or not): its floor is the
    inverse, ``sigma^2 / (K a^2)`` when all probes share one amplitude and noise.  Read noise
    is per device and relative, so sigma differs between columns (wide columns are
    noisier): each group's noise is measured per column where it has enough readings, pooled
    over columns otherwise.
    """
    n, n_groups = plan.n, var_gj.shape[0]
    info = []
    for t, (r0, r1) in enumerate(plan.tiles):
        r1 = min(r1, n)
        rows = reads.tile_of == t
        a2 = np.mean(reads.x[rows, r0:r1] ** 2, axis=1) if r1 > r0 else np.zeros(int(rows.sum()))
        a2_g = np.bincount(reads.group[rows], a2, minlength=n_groups)  # (groups,)
        info.append((a2_g @ (1.0 / var_gj)).tolist())
    x, tile_of = reads.x[n_pilot:], reads.tile_of[n_pilot:]
    return LayerRecord(
        layer=plan.layer,
        method="designed",
        queries=spent.queries,
        amplitude=float(np.min(plan.amplitudes)),
        dithered=dithered,
        saturated_readings=dropped,
        residual_sigma=sigma,
        spent=spent,
        tile_probes=[int(c) for c in counts],
        tile_amplitudes=[
            float(np.sqrt(np.mean(x[tile_of == t][:, r0 : min(r1, n)] ** 2))) if min(r1, n) > r0 else 0.0
            for t, (r0, r1) in enumerate(plan.tiles)
        ],
        tile_information=info,
    )
