"""The copy-out study: what it costs to get a mortal chip's knowledge out, and how well (layer 4).

Hinton argues a mortal chip's knowledge can leave only slowly, by distillation; others answer
that taps between layers make copying cheap.  :func:`study` settles it by measurement on one
trained chip: for every method (``"fd"`` one-hot finite differences, ``"designed"`` probes,
``"distill"``) and budget it records the cost (queries, ADC conversions, chip seconds, joules
from the chip's meter, and simulator wall time) against the quality of the copy:

* weight error against the weights the chip computes with at the operating point: its true
  effective weights through its converters' gains and offsets and its digital output
  correction (:func:`~neuromorph.studies.scoring.weights_as_read`; relative RMS per layer,
  the worst layer, and in bits, ``-log2(rel RMS)``);
* fidelity: top-1 agreement of the copy's Forward-Forward predictions with the chip's on the
  held-out test inputs, beside the chip's agreement with itself on a second read (a noisy chip
  disagrees with itself), and accuracy on the test labels;
* the ratio of the copy-out cost to the cost of training the chip in place.

Methods reach the chip through its ports only; this study (a scorer) reads the hidden
effective weights to grade them.  Sweeps repeat designed extraction on variants of the chip:

* ADC bits and read noise: the design is changed (``dataclasses.replace``), a new chip is
  fabricated from it (seed ``chip.seed + 1000``) and the source chip's weights as read
  (clipped to the weight range) are written onto it by program-and-verify; the variant is then
  scored against *its own* weights as read and predictions.
* time since programming: a deep copy of the chip whose environment is advanced (drift).

:func:`write_report` writes ``report.json``.  The study returns data only: its figures
(:func:`neuromorph.faces.plots.copyout_curves`), its table and the ``neuromorph copyout``
command live in the faces layer.

Layer 4 (studies): may import ``algorithms``, ``chip``, ``hardware`` and the shared leaves;
never ``faces``.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from neuromorph._io import write_json
from neuromorph.algorithms import distill as dist
from neuromorph.algorithms import extract as ex
from neuromorph.algorithms import ff
from neuromorph.chip import Chip, Meter
from neuromorph.chip.digital import DigitalNetwork
from neuromorph.chip.ports import ENERGY_FIELDS, SECONDS_FIELDS
from neuromorph.datasets import Dataset
from neuromorph.studies.scoring import AccuracyScore, bits, score_accuracy, weight_errors, weights_as_read
from neuromorph.studies.training import design_variant

ALL_METHODS = ("fd", "designed", "distill")
#: Default budgets: extraction in multiples of N + 1 queries per layer, distillation in
#: transfer inputs (each costs n_classes queries).
DEFAULT_BUDGETS = {"fd": (1, 4), "designed": (1.5, 2, 4), "distill": (50, 200, 1000)}


def _meter_dict(m: Meter) -> dict:
    """What a copy spent: counts, time and energy, with both split by component."""
    d = m.as_dict()
    keys = ("queries", "dac_conversions", "adc_conversions", "chip_seconds", "energy_j", "pulses")
    return {k: d[k] for k in keys + ENERGY_FIELDS + SECONDS_FIELDS}


class _Scorer:
    """Grades copies of one chip: hidden weights, chip predictions (twice), test labels.

    The chip's own accuracy is its :func:`~neuromorph.studies.scoring.score_accuracy` (re-reads
    on a copy, taken first, so it is the figure ``train`` and ``lifetime`` give this state;
    ``score`` passes one already taken); the two prediction reads that fidelity is measured
    against are then read from the chip itself, as before.
    """

    def __init__(
        self, chip: Chip, data: Dataset, config: ff.FFConfig, score: AccuracyScore | None = None
    ) -> None:
        self.chip, self.data, self.config = chip, data, config
        c = data.n_classes
        if score is None:
            score = score_accuracy(chip, data.x_test, data.y_test, n_classes=c, config=config)
        self.chip_score = score
        ports = chip.ports()
        self.true = weights_as_read(chip)
        self.pred = ff.predict(ports, data.x_test, n_classes=c, config=config)
        self.pred2 = ff.predict(ports, data.x_test, n_classes=c, config=config)
        self.self_agreement = float(np.mean(self.pred == self.pred2))
        self.accuracy = score.mean

    def score(self, net: DigitalNetwork, *, weights: bool = True) -> dict:
        p = ff.predict(net, self.data.x_test, n_classes=self.data.n_classes, config=self.config)
        out = {
            "fidelity": float(np.mean(p == self.pred)),
            "fidelity_second_read": float(np.mean(p == self.pred2)),
            "self_agreement": self.self_agreement,
            "accuracy": float(np.mean(p == self.data.y_test)),
            "chip_accuracy": self.accuracy,
            "n_test": int(self.data.y_test.size),
        }
        if weights and net.layer_sizes == self.chip.design.layer_sizes:
            rel = weight_errors(net.weights, self.true)
            out.update(weight_rel_rms_layers=rel, weight_rel_rms=max(rel), weight_bits=bits(max(rel)))
        else:
            out.update(weight_rel_rms_layers=None, weight_rel_rms=None, weight_bits=None)
        return out


def _variance_check(ext: ex.Extraction, true: list[NDArray], design) -> list[dict]:
    """Per layer: measured mean squared error of the input weights beside the floor."""
    rows = []
    for rec, w_hat, w in zip(ext.layers, ext.network.weights, true, strict=True):
        n = w.shape[0] - 1
        err = w_hat[:n] - w[:n]
        row = {
            "layer": rec.layer,
            "measured_var": float(np.mean(err * err)),
            "queries": rec.queries,
            "amplitude": rec.amplitude,
            "residual_sigma": rec.residual_sigma,
        }
        if rec.method == "designed" and rec.residual_sigma is not None:
            floor = ex.designed_floor(rec, design)
            row["floor_var"] = float(np.mean(floor))
            row["measured_over_floor"] = row["measured_var"] / row["floor_var"]
        rows.append(row)
    return rows


def _train_ratio(spent: dict, train: dict | None) -> dict | None:
    if not train:
        return None
    out = {}
    for k in ("queries", "adc_conversions", "chip_seconds", "energy_j"):
        if train.get(k):
            out[k] = spent[k] / train[k]
    return out


def _run_method(
    method: str,
    budget: float,
    ports,
    scorer: _Scorer,
    data: Dataset,
    *,
    config: ff.FFConfig,
    rng: np.random.Generator,
    progress: bool,
) -> tuple[dict, object]:
    design = scorer.chip.design  # the public design: widths, converters, tiles
    t0 = time.perf_counter()
    if method in ("fd", "designed"):
        res = ex.extract(ports, method=method, budget=budget, design=design, rng=rng, progress=progress)
        net, spent = res.network, res.spent
    else:
        # Beyond the real training inputs the transfer set grows by mixup of them.
        n = int(budget)
        epochs = int(max(8, min(60, 9000 // n)))
        x = dist.mixup_inputs(data.x_train, n, rng=rng)
        res = dist.distill(
            ports, x, n_classes=data.n_classes, epochs=epochs, config=config, rng=rng, progress=progress
        )
        net, spent = res.network, res.spent
    wall = time.perf_counter() - t0
    row = {"method": method, "budget": budget, **_meter_dict(spent), "wall_seconds": wall}
    row.update(scorer.score(net))
    return row, res


#: Fabrication seed offset of a variant chip: a different die from the source chip's.
VARIANT_SEED_OFFSET = 1000


def _variant_chips(
    chip: Chip, *, adc_bits: Iterable[int], read_noise: Iterable[float], age_s: Iterable[float]
) -> Iterator[tuple[str, float, Chip]]:
    """Yield (sweep name, value, variant chip) for every sweep point (documented above)."""
    weights = [np.clip(w, -chip.design.w_max, chip.design.w_max) for w in weights_as_read(chip)]

    def refab(design):
        new = Chip.fabricate(design, seed=(chip.seed or 0) + VARIANT_SEED_OFFSET)
        ports = new.ports()
        for layer, w in enumerate(weights):
            ports.program(layer, w)
        return new

    for value in adc_bits:
        yield "adc_bits", value, refab(design_variant(chip.design, adc_bits=value))
    for rel in read_noise:
        yield "read_noise_rel", rel, refab(design_variant(chip.design, read_noise_rel=rel))
    for age in age_s:
        aged = copy.deepcopy(chip)
        aged.environment.advance(age)
        yield "age_s", age, aged


def study(
    chip: Chip,
    data: Dataset,
    *,
    methods: Iterable[str] = ALL_METHODS,
    budgets: Mapping[str, Sequence[float]] | None = None,
    train_meter: Meter | dict | None = None,
    config: ff.FFConfig | None = None,
    sweep_adc_bits: Sequence[int] = (),
    sweep_read_noise: Sequence[float] = (),
    sweep_age_s: Sequence[float] = (),
    sweep_budget: float = 4.0,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Copy a trained chip out with every method and budget; grade and cost each copy.

    Parameters
    ----------
    chip : Chip
        The trained chip (the study reads its hidden state to score; the methods get ports).
    data : Dataset
        Test split: fidelity and accuracy; train split: distillation's transfer set.
    methods : iterable of {"fd", "designed", "distill"}
    budgets : dict, optional
        Per method: extraction budgets in multiples of ``N + 1`` queries per layer (``"fd"``:
        whole repeats), distillation budgets in transfer inputs (beyond the training split's
        size, the rest are mixup blends of its inputs: :func:`neuromorph.algorithms.distill.mixup_inputs`).
        Default :data:`DEFAULT_BUDGETS`.
    train_meter : Meter or dict, optional
        What training the chip in place cost (e.g. ``metrics['meter_after_training']``).
    config : FFConfig, optional
    sweep_adc_bits, sweep_read_noise, sweep_age_s : sequences
        Sweep points (ADC bits; relative read noise; seconds since programming), each run
        with designed probing at ``sweep_budget``.
    seed : int
        Seeds every method's Generator.
    progress : bool

    Returns
    -------
    dict
        JSON-ready: ``methods`` (one entry per method and budget), ``variance`` (designed
        and one-hot at the same budgets), ``sweeps``, ``chip`` and ``train_meter``.
    """
    if not isinstance(chip, Chip):
        raise TypeError(f"chip must be a Chip (the study scores hidden state); got {type(chip).__name__}.")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a neuromorph Dataset; got {type(data).__name__}.")
    methods = tuple(methods)
    for m in methods:
        if m not in ALL_METHODS:
            raise ValueError(f"methods must be drawn from {list(ALL_METHODS)}; got {m!r}.")
    budgets = {**DEFAULT_BUDGETS, **(budgets or {})}
    config = ff.FFConfig() if config is None else config
    if isinstance(train_meter, Meter):
        train_meter = train_meter.as_dict()
    scorer = _Scorer(chip, data, config)
    rng_root = np.random.default_rng(seed)
    rows, variance = _method_rows(
        chip, data, scorer, methods, budgets, train_meter, config=config, rng_root=rng_root, progress=progress
    )
    variants = _variant_chips(chip, adc_bits=sweep_adc_bits, read_noise=sweep_read_noise, age_s=sweep_age_s)
    sweeps = _sweep_rows(variants, data, config, budget=sweep_budget, rng_root=rng_root, progress=progress)
    return {
        "chip": {
            "layer_sizes": list(chip.design.layer_sizes),
            "device": chip.design.device.name,
            "adc_bits": chip.design.periphery.adc.bits,
            "seed": chip.seed,
            "self_agreement": scorer.self_agreement,
            "accuracy": scorer.accuracy,
            "accuracy_score": scorer.chip_score.as_dict(),
            "temperature_k": chip.environment.temperature_k,
            "time_s": chip.environment.time_s,
        },
        "train_meter": train_meter,
        "methods": rows,
        "variance": variance,
        "sweeps": sweeps,
    }


def _method_rows(
    chip: Chip,
    data: Dataset,
    scorer: _Scorer,
    methods: tuple[str, ...],
    budgets: Mapping[str, Sequence[float]],
    train_meter: dict | None,
    *,
    config: ff.FFConfig,
    rng_root: np.random.Generator,
    progress: bool,
) -> tuple[list[dict], list[dict]]:
    """Every method at every budget (one child stream each): the rows and the variance checks."""
    ports = chip.ports()
    rows, variance = [], []
    for method in methods:
        for budget in budgets[method]:
            row, res = _run_method(
                method,
                budget,
                ports,
                scorer,
                data,
                config=config,
                rng=rng_root.spawn(1)[0],
                progress=progress,
            )
            row["train_ratio"] = _train_ratio(row, train_meter)
            if isinstance(res, ex.Extraction):
                row["layers"] = [r.as_dict() for r in res.layers]
                layers = _variance_check(res, scorer.true, chip.design)
                variance.append({"method": method, "budget": budget, "layers": layers})
            else:
                row["loss"] = res.loss
            rows.append(row)
    return rows, variance


def _sweep_rows(
    variants: Iterable[tuple[str, float, Chip]],
    data: Dataset,
    config: ff.FFConfig,
    *,
    budget: float,
    rng_root: np.random.Generator,
    progress: bool,
) -> list[dict]:
    """Designed probing of every variant chip, scored against the variant itself."""
    sweeps = []
    for name, value, variant in variants:
        entry = {"sweep": name, "value": value}
        entry.update(
            copy_out_designed(
                variant, data, config=config, budget=budget, rng=rng_root.spawn(1)[0], progress=progress
            )
        )
        sweeps.append(entry)
    return sweeps


def copy_out_designed(
    chip: Chip,
    data: Dataset,
    *,
    config: ff.FFConfig,
    budget: float,
    rng: np.random.Generator,
    score: AccuracyScore | None = None,
    progress: bool = False,
) -> dict:
    """Copy ``chip`` out by designed probing at ``budget`` (multiples of ``N + 1`` queries per
    layer) and grade the copy against the chip itself, as every sweep point of :func:`study` is.

    Reads ``chip`` through its ports (its noise clock and meter move: pass a copy to keep a
    chip as it is).  ``score`` is the chip's accuracy when already taken (else it is taken
    first, :func:`~neuromorph.studies.scoring.score_accuracy`).  Returns one JSON-ready row:
    what the copy spent (:func:`_meter_dict`), ``wall_seconds``, and the grades of
    ``_Scorer.score`` (``weight_rel_rms``, ``weight_bits``, ``fidelity``, ``self_agreement``,
    ``accuracy``, ``chip_accuracy``, ``n_test``...).
    """
    scorer = _Scorer(chip, data, config, score)
    t0 = time.perf_counter()
    res = ex.extract(
        chip.ports(), method="designed", budget=budget, design=chip.design, rng=rng, progress=progress
    )
    wall = time.perf_counter() - t0
    row = {**_meter_dict(res.spent), "wall_seconds": wall}
    row.update(scorer.score(res.network))
    return row


def write_report(result: Mapping, out_dir: str | os.PathLike) -> list[str]:
    """Write a study's ``report.json`` into ``out_dir`` (created if missing); return its path.

    The figures of the report are drawn by the faces layer
    (:func:`neuromorph.faces.reports.write_copyout_report` writes both).
    """
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(os.fspath(out_dir), "report.json")
    write_json(path, result)
    return [path]
