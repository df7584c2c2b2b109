"""Finite differences, regression through the layers below, and the whole-chip loop (layer 3).

:func:`extract_layer_fd` (one-hot differences), :func:`extract_layer_run` (for layers whose
inputs cannot be driven) and :func:`extract`, which reaches every layer, lowest tap first,
with one of them or :func:`~neuromorph.algorithms.extract.designed.extract_layer_designed`.
See the package docstring for the methods and their noise.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from tqdm.auto import tqdm

from neuromorph import _validate as check
from neuromorph.algorithms.extract.designed import PILOT_PER_TILE, extract_layer_designed, min_probes
from neuromorph.algorithms.extract.drive import (
    check_layer,
    check_queries,
    dac_quantize,
    drivable,
    driven_bias,
    public_design,
    require_drive,
    row_tiles,
    saturated,
)
from neuromorph.algorithms.extract.network import PeripheryNetwork
from neuromorph.algorithms.extract.records import Extraction, LayerRecord
from neuromorph.chip.design import ChipDesign
from neuromorph.chip.digital import rms_normalize
from neuromorph.chip.ports import Ports, check_ports

__all__ = ["METHODS", "Method", "extract", "extract_layer_fd", "extract_layer_run"]

Method = Literal["fd", "designed"]
METHODS = ("fd", "designed")
#: Ways to reach a layer above the first (see :func:`extract`).
_REACHES = ("auto", "drive", "run")
#: A default finite-difference step times the widest weight uses at most half the tap's
#: full scale (``adc_full_scale / (2 w_max)``), leaving the other half to the base reading.
_FD_HEADROOM = 2.0
#: Default run-probe amplitude: a quarter of the DAC's full scale, so the first layer's
#: random inputs are rarely clipped.
_RUN_FS_DIVISOR = 4.0


def extract_layer_fd(
    ports: Ports,
    layer: int,
    *,
    step: float | None = None,
    repeats: int = 1,
    base: NDArray | None = None,
    design: ChipDesign | None = None,
) -> tuple[NDArray, LayerRecord]:
    """One-hot finite differences on one layer: ``repeats * (N + 1)`` queries.

    Parameters
    ----------
    ports : Ports
    layer : int
    step : float > 0, optional
        Step ``h`` in DAC input units; default the largest step the design allows without
        saturating a tap for any weight within the weight range:
        ``min(input_full_scale, adc_full_scale / (2 w_max))``, on the DAC grid.
    repeats : int >= 1
        Reads of every point, averaged (at most what
        :data:`~neuromorph.algorithms.extract.drive.MAX_HELD_VALUES` allows).
    base : ndarray of shape (N,), optional
        The base point ``x0`` (default zeros).
    design : ChipDesign, optional
        Public design (see :func:`~neuromorph.algorithms.extract.drive.public_design`).

    Returns
    -------
    weights : ndarray of shape (N + 1, M)
    record : LayerRecord
    """
    check_ports(ports)
    design = public_design(ports, design)
    layer = check_layer(ports, layer)
    require_drive(ports, layer, "fd")
    repeats = check.integer("repeats", repeats, minimum=1)
    n = design.layer_sizes[layer]
    check_queries(
        "repeats",
        repeats,
        queries=repeats * (n + 1),
        per_query=_held_per_query(design, layer, "drive"),
        layer=layer,
    )
    fs_in = design.periphery.dac.input_full_scale
    if step is None:
        step = min(fs_in, design.adc_full_scale / (_FD_HEADROOM * design.w_max))
    step = check.positive("step", step)
    x0 = np.zeros(n) if base is None else check.array("base", base, shape=(n,))
    x0 = dac_quantize(x0, design)
    pts = np.tile(x0, (n + 1, 1))
    pts[np.arange(1, n + 1), np.arange(n)] += step
    pts = dac_quantize(pts, design)
    h_eff = np.diag(pts[1:] - x0)
    if np.any(h_eff == 0.0):
        raise ValueError(
            f"step must move every input on the DAC grid; got step={step:g} with base values "
            "at the clipping limit. Use a smaller step or a base point inside the full scale."
        )
    before = ports.meter
    reads = ports.drive(layer, np.tile(pts, (repeats, 1)))
    y = reads.reshape(repeats, n + 1, -1).mean(axis=0)
    w = np.empty((n + 1, y.shape[1]))
    w[:n] = (y[1:] - y[0]) / h_eff[:, None]
    w[n] = (y[0] - x0 @ w[:n]) / driven_bias(design)
    spent = ports.meter.minus(before)
    sat = int(np.count_nonzero(saturated(reads, design, len(row_tiles(design, layer)))))
    rec = LayerRecord(
        layer=layer,
        method="fd",
        queries=spent.queries,
        amplitude=float(step),
        dithered=False,
        saturated_readings=sat,
        residual_sigma=None,
        spent=spent,
    )
    return w, rec


def extract_layer_run(
    ports: Ports,
    layer: int,
    *,
    probes: int,
    amplitude: float | None = None,
    design: ChipDesign | None = None,
    rng: np.random.Generator,
) -> tuple[NDArray, LayerRecord]:
    """Fit one layer from whole-chip runs (for layers whose inputs cannot be driven).

    Drives ``probes`` random inputs into the first layer (uniform on +/-``amplitude``, default
    the DAC's full scale / 4), reads every layer's activity, forms layer ``layer``'s inputs as
    the chip does (RMS normalisation, then the DAC's clipping and grid) and fits each output
    unit by least squares on the queries where it is active.

    Raises
    ------
    ValueError
        When a unit is active on fewer than ``N + 1`` independent queries (never active
        units cannot be identified through a ReLU): the layer is unreachable at this budget.
    """
    check_ports(ports)
    design = public_design(ports, design)
    layer = check_layer(ports, layer)
    check.generator("rng", rng)
    n = design.layer_sizes[layer]
    probes = check.integer("probes", probes)
    if probes < n + 1:
        raise ValueError(f"probes must be >= N + 1 = {n + 1} for layer {layer}; got probes={probes}.")
    check_queries(
        "probes", probes, queries=probes, per_query=_held_per_query(design, layer, "run"), layer=layer
    )
    fs_in = design.periphery.dac.input_full_scale
    amplitude = fs_in / _RUN_FS_DIVISOR if amplitude is None else check.positive("amplitude", amplitude)
    before = ports.meter
    x0 = dac_quantize(rng.uniform(-amplitude, amplitude, (probes, design.layer_sizes[0])), design)
    hs = ports.run(x0)
    x = x0 if layer == 0 else dac_quantize(rms_normalize(hs[layer - 1]), design)
    h = hs[layer]
    x_aug = np.hstack([x, np.full((probes, 1), driven_bias(design))])
    sat = saturated(h, design, len(row_tiles(design, layer)))
    w, sigma = _fit_active(x_aug, h, (h > 0.0) & ~sat, layer)
    spent = ports.meter.minus(before)
    rec = LayerRecord(
        layer=layer,
        method="run",
        queries=spent.queries,
        amplitude=float(amplitude),
        dithered=False,
        saturated_readings=int(sat.sum()),
        residual_sigma=sigma,
        spent=spent,
    )
    return w, rec


def _fit_active(x_aug: NDArray, h: NDArray, keep: NDArray, layer: int) -> tuple[NDArray, float | None]:
    """Least squares of every unit over its kept (active, unclipped) queries; the weights
    (N + 1, M) and the noise of one reading from the pooled residuals (None if none left)."""
    n1 = x_aug.shape[1]
    w = np.zeros((n1, h.shape[1]))
    resid, dof = 0.0, 0
    for j in range(h.shape[1]):
        rows = keep[:, j]
        rank = np.linalg.matrix_rank(x_aug[rows]) if rows.any() else 0
        if rank < n1:
            raise ValueError(
                f"layer {layer} is unreachable through the layers below at this budget: unit {j} "
                f"is active on {int(rows.sum())} of {h.shape[0]} queries (rank {rank}); it needs "
                f"{n1} independent ones. Add probes (a unit that is never active cannot be "
                "identified through its ReLU)."
            )
        w[:, j] = np.linalg.lstsq(x_aug[rows], h[rows, j], rcond=None)[0]
        r = h[rows, j] - x_aug[rows] @ w[:, j]
        resid += float(r @ r)
        dof += int(rows.sum()) - n1
    return w, (float(np.sqrt(resid / dof)) if dof > 0 else None)


def extract(
    ports: Ports,
    *,
    method: Method = "designed",
    budget: float = 4.0,
    design: ChipDesign | None = None,
    reach: Literal["auto", "drive", "run"] = "auto",
    run_budget: float = 8.0,
    rng: np.random.Generator,
    progress: bool = True,
    **options,
) -> Extraction:
    """Extract every layer, lowest tap first, through the ports only.

    Parameters
    ----------
    ports : Ports
        ``chip.ports()``; a Chip raises TypeError.
    method : {"designed", "fd"}
    budget : float
        Queries per layer as a multiple of ``N + 1`` (``N`` the layer's inputs).  For
        ``"fd"`` it must be a whole number (the repeats); for ``"designed"`` it must be >= 1
        (``ceil(budget (N + 1))`` probes, the pilot included: at ``budget = 1`` pass
        ``amplitude=``).
    design : ChipDesign, optional
        The chip's public design (default: the default design of the ports' widths).
    reach : {"auto", "drive", "run"}
        How to reach layers above the first: ``"drive"`` their own DACs (PortAccessError if
        the design forbids it), ``"run"`` regression through the layers below, ``"auto"``
        drive when allowed, else run.
    run_budget : float
        Queries per undrivable layer as a multiple of ``N + 1`` when reached by ``"run"``.
        Both budgets are finite and at most what
        :data:`~neuromorph.algorithms.extract.drive.MAX_HELD_VALUES` allows for each layer;
        every layer is checked (budgets, drivability) before the first query.
    rng : numpy.random.Generator
    progress : bool
    **options
        Passed to :func:`~neuromorph.algorithms.extract.designed.extract_layer_designed`
        (``amplitude``, ``dither``, ``pilot``...) or :func:`extract_layer_fd` (``step``,
        ``base``).

    Returns
    -------
    Extraction
        Its ``network`` is a :class:`PeripheryNetwork` (the weights run through the public
        converters); ``network.plain()`` is the bare DigitalNetwork.
    """
    check_ports(ports)
    design = public_design(ports, design)
    check.generator("rng", rng)
    budget, run_budget = _check_budgets(method, reach, budget, run_budget)
    plan = _plan(
        ports, design, method=method, reach=reach, budget=budget, run_budget=run_budget, options=options
    )
    before = ports.meter
    weights, records = [], []
    for layer in tqdm(range(ports.n_layers), desc=f"extract {method}", disable=not progress, leave=False):
        via, queries = plan[layer]
        if via == "run":
            w, rec = extract_layer_run(ports, layer, probes=queries, design=design, rng=rng)
        elif method == "fd":
            w, rec = extract_layer_fd(ports, layer, repeats=int(budget), design=design, **options)
        else:
            w, rec = extract_layer_designed(ports, layer, probes=queries, design=design, rng=rng, **options)
        weights.append(w)
        records.append(rec)
    net = PeripheryNetwork(weights, design=design)
    return Extraction(network=net, method=method, layers=records, spent=ports.meter.minus(before))


def _held_per_query(design: ChipDesign, layer: int, via: str) -> int:
    """Float64 values one query of ``layer`` holds until its fit: the driven inputs and the
    tap's readings (``N + 1 + M``); through ``run``, the first layer's inputs, every layer's
    activities and the fit's inputs."""
    sizes = design.layer_sizes
    if via == "run":
        return sum(sizes) + sizes[layer] + 1
    return sizes[layer] + 1 + sizes[layer + 1]


def _plan(
    ports: Ports,
    design: ChipDesign,
    *,
    method: str,
    reach: str,
    budget: float,
    run_budget: float,
    options: dict,
) -> list[tuple[str, int]]:
    """How each layer is reached (``"drive"`` or ``"run"``) and its queries, every layer
    checked (drivable, budget within :data:`~neuromorph.algorithms.extract.drive.MAX_HELD_VALUES`)
    before the first query."""
    plan = []
    for layer in range(ports.n_layers):
        n = design.layer_sizes[layer]
        via = reach
        if reach == "auto":
            via = "drive" if drivable(ports, layer) else "run"
        if via == "drive":
            require_drive(ports, layer, method)
        name, value = ("run_budget", run_budget) if via == "run" else ("budget", budget)
        queries = math.ceil(value * (n + 1))
        check_queries(
            name, value, queries=queries, per_query=_held_per_query(design, layer, via), layer=layer
        )
        if via == "drive" and method == "designed":
            _check_designed_budget(design, layer, queries, budget, options)
        plan.append((via, queries))
    return plan


def _check_designed_budget(
    design: ChipDesign, layer: int, queries: int, budget: float, options: dict
) -> None:
    """ValueError unless ``queries`` designed probes cover ``layer``'s minimum
    (:func:`~neuromorph.algorithms.extract.designed.min_probes`, with the caller's options)."""
    fewest = min_probes(
        design,
        layer,
        measure_amplitude=options.get("amplitude") is None,
        pilot=options.get("pilot", PILOT_PER_TILE),
    )
    if queries < fewest:
        n1 = design.layer_sizes[layer] + 1
        raise ValueError(
            f"budget must be >= {fewest / n1:.4g} for layer {layer} ({fewest} probes: N + 1, zero "
            f"probes and the pilot); got budget={budget:g}. Pass amplitude= or a larger budget."
        )


def _check_budgets(method, reach, budget, run_budget) -> tuple[float, float]:
    """Check :func:`extract`'s method, reach and budgets; return the budgets as floats."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    if reach not in _REACHES:
        raise ValueError(f"reach must be 'auto', 'drive' or 'run'; got {reach!r}.")
    budget = check.real("budget", budget)
    if method == "fd" and (budget < 1 or budget != int(budget)):
        raise ValueError(
            f"budget must be a whole number >= 1 for 'fd' (repeats of N + 1 queries); got budget={budget:g}."
        )
    if method == "designed" and budget < 1:
        raise ValueError(
            f"budget must be >= 1 (probes >= N + 1 per layer) for 'designed'; got budget={budget:g}."
        )
    run_budget = check.real("run_budget", run_budget)
    if run_budget < 1:
        raise ValueError(f"run_budget must be >= 1; got run_budget={run_budget:g}.")
    return budget, run_budget
