"""Training runs, chip designs and the temperature study (layer 4, studies).

``run_training`` is what ``neuromorph train`` does: fabricate, train in one of three modes and
score (the face writes the run folder).  Every accuracy here is
:func:`~neuromorph.studies.scoring.score_accuracy`'s: re-reads of the test set on a copy of
the chip, so scoring never changes the chip that is then saved, heated or copied out.
:func:`default_design` is the chip every study fabricates for a data set,
:func:`design_variant` the one way a study changes its ADC bits or read noise, and
:func:`program_initial_weights` the one way a chip gets its random starting weights.
``temperature_study`` trains in place at 300 K, heats and ages the chip, measures the loss of
accuracy, retrains in place at the new temperature and measures the recovery.
Scorers here may read hidden state; the trainers they call may not.

May import ``algorithms``, ``chip``, ``hardware`` and the shared leaves; never ``faces``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from neuromorph.algorithms import ff
from neuromorph.chip import Chip, ChipDesign
from neuromorph.chip.digital import DigitalNetwork
from neuromorph.chip.ports import ENERGY_FIELDS, SECONDS_FIELDS, Ports
from neuromorph.datasets import Dataset
from neuromorph.hardware.devices import preset
from neuromorph.hardware.wires import WireParams
from neuromorph.studies.scoring import DEFAULT_REREADS, score_accuracy

Mode = Literal["software", "in-place", "ex-situ"]
MODES = ("software", "in-place", "ex-situ")


@dataclass(frozen=True)
class TrainResult:
    """A trained model and its figures (``model`` is a Chip or a DigitalNetwork)."""

    model: Chip | DigitalNetwork
    metrics: dict
    history: ff.History


def default_design(
    data: Dataset, *, device: str = "rram", hidden: Sequence[int] = (500, 500), **kw
) -> ChipDesign:
    """The chip design every study fabricates for ``data``.

    Inputs are the features plus the one-hot label (Forward-Forward's embedding), then the
    ``hidden`` widths; ``device`` names a preset of :data:`neuromorph.hardware.devices.PRESETS`;
    other keywords go to :class:`~neuromorph.chip.ChipDesign`.
    """
    return ChipDesign(layer_sizes=(data.n_features + data.n_classes, *hidden), device=preset(device), **kw)


def design_variant(
    design: ChipDesign, *, adc_bits: int | None = None, read_noise_rel: float | None = None
) -> ChipDesign:
    """``design`` with another ADC resolution and/or relative read noise (None keeps it).

    Parameters
    ----------
    design : ChipDesign
    adc_bits : int, optional
        Resolution of every tap's ADC, sign bit included.
    read_noise_rel : float, optional
        The device's cycle-to-cycle read noise, relative to the conductance read.

    Returns
    -------
    ChipDesign
        A new design (validated by its constructor); ``design`` is unchanged.
    """
    if read_noise_rel is not None:
        dv = design.device
        device = dataclasses.replace(dv, noise=dataclasses.replace(dv.noise, read_noise_rel=read_noise_rel))
        design = dataclasses.replace(design, device=device)
    if adc_bits is not None:
        p = design.periphery
        design = dataclasses.replace(
            design, periphery=dataclasses.replace(p, adc=dataclasses.replace(p.adc, bits=adc_bits))
        )
    return design


def program_initial_weights(ports: Ports, config: ff.FFConfig, rng: np.random.Generator) -> dict:
    """Program random initial weights through the ports by write-verify.

    The weights are :func:`neuromorph.algorithms.ff.initial_weights` for the ports' widths and
    weight range, drawn from ``rng``.  Returns ``{"init_pulses": pulses used}``.
    """
    weights = ff.initial_weights(ports.layer_sizes, config=config, rng=rng, w_max=ports.weight_range)
    pulses = 0
    for layer, w in enumerate(weights):
        pulses += ports.program(layer, w)["pulses"]
    return {"init_pulses": pulses}


def run_training(
    data: Dataset,
    *,
    mode: Mode,
    device: str = "rram",
    seed: int = 0,
    config: ff.FFConfig | None = None,
    temperature_k: float = 300.0,
    hidden: Sequence[int] = (500, 500),
    eval_every: int = 0,
    progress: bool = True,
    wires: WireParams | None = None,
) -> TrainResult:
    """Fabricate (unless software), train in ``mode``, and score on the data's test split.

    One Generator, ``default_rng(seed)``, draws the initial weights and every training
    step; the die is ``Chip.fabricate(default_design(..., wires=wires), seed=seed)`` (``wires``:
    the design's :class:`~neuromorph.hardware.wires.WireParams`, None for ideal wiring).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}; got {mode!r}.")
    config = ff.FFConfig() if config is None else config
    rng = np.random.default_rng(seed)
    metrics: dict = {
        "mode": mode,
        "preset": device,
        "seed": seed,
        "epochs": config.epochs,
        "dataset": data.name,
        "hidden": list(hidden),
        "temperature_k": temperature_k,
        "config": asdict(config),
    }
    fit = {"config": config, "rng": rng, "eval_every": eval_every, "progress": progress}
    if mode == "software":
        model = _initial_network(data, hidden, config, rng)
        hist = ff.train(model, data, desc="FF software", **fit)
    else:
        model = Chip.fabricate(default_design(data, device=device, hidden=hidden, wires=wires), seed=seed)
        model.environment.set_temperature(temperature_k)
        ports = model.ports()
        if mode == "in-place":
            metrics.update(program_initial_weights(ports, config, rng))
            hist = ff.train(ports, data, desc="FF in place", **fit)
        else:
            hist = _train_ex_situ(ports, data, hidden, metrics, **fit)
        train_meter = ports.meter  # scoring reads a copy of the chip: the meter stays as is
    metrics.update(_accuracies(model, data, config))
    metrics["final_loss"] = hist.loss[-1] if hist.loss else None
    if mode != "software":
        metrics["meter_after_training"] = train_meter.as_dict()
        metrics["pulses"] = train_meter.pulses
        metrics["energy_j"] = train_meter.energy_j
        metrics["pulses_per_epoch"] = hist.pulses[-1] / len(hist.pulses) if hist.pulses else 0
        metrics["programming_energy_j"] = train_meter.energy_pulse_j
        metrics["energy_by_component_j"] = {k: getattr(train_meter, k) for k in ENERGY_FIELDS}
        metrics["seconds_by_component"] = {k: getattr(train_meter, k) for k in SECONDS_FIELDS}
    return TrainResult(model=model, metrics=metrics, history=hist)


def _initial_network(
    data: Dataset, hidden: Sequence[int], config: ff.FFConfig, rng: np.random.Generator
) -> DigitalNetwork:
    return DigitalNetwork.initialize(
        (data.n_features + data.n_classes, *hidden), rng=rng, scale=config.init_scale
    )


def _train_ex_situ(ports, data: Dataset, hidden: Sequence[int], metrics: dict, **fit) -> ff.History:
    """Train a software network, write it (clipped to the weight range) onto the chip."""
    net = _initial_network(data, hidden, fit["config"], fit["rng"])
    hist = ff.train(net, data, desc="FF software (ex-situ)", **fit)
    clipped = 0
    for layer, w in enumerate(net.weights):
        clipped += int(np.count_nonzero(np.abs(w) > ports.weight_range))
        ports.program(layer, np.clip(w, -ports.weight_range, ports.weight_range))
    metrics["ex_situ_clipped_weights"] = clipped
    metrics["software_test_accuracy"] = ff.accuracy(
        net, data.x_test, data.y_test, n_classes=data.n_classes, config=fit["config"]
    )
    return hist


#: Re-reads of the training split behind ``train_accuracy``: one, a training figure beside the
#: chip's score (``test_accuracy``, :data:`~neuromorph.studies.scoring.DEFAULT_REREADS` re-reads);
#: the training split is four times the test split and re-reading it would dominate a run.
TRAIN_SPLIT_READS = 1


def _accuracies(model: Chip | DigitalNetwork, data: Dataset, config: ff.FFConfig) -> dict:
    """The model's test score (``test_accuracy``: its mean; ``test_score``: the whole
    :class:`~neuromorph.studies.scoring.AccuracyScore` as a dict) and its training-split score."""
    c = data.n_classes
    test = score_accuracy(model, data.x_test, data.y_test, n_classes=c, config=config, reads=DEFAULT_REREADS)
    train = score_accuracy(
        model, data.x_train, data.y_train, n_classes=c, config=config, reads=TRAIN_SPLIT_READS
    )
    return {
        "test_accuracy": test.mean,
        "test_score": test.as_dict(),
        "train_accuracy": train.mean,
        "train_score": train.as_dict(),
    }


def temperature_study(
    chip: Chip,
    data: Dataset,
    *,
    config: ff.FFConfig,
    rng: np.random.Generator,
    hot_k: float = 358.0,
    age_hours: float = 24.0,
    retrain_epochs: int = 2,
    retrain_learning_rate: float | None = None,
    progress: bool = True,
) -> dict:
    """Heat and age a trained chip, measure, retrain in place at the new temperature, measure.

    The environment (oven and clock) is set on the chip; retraining goes through its ports
    only.  Each ``accuracy_*`` is the mean of :func:`~neuromorph.studies.scoring.score_accuracy`
    (re-reads on a copy of the chip, so scoring changes nothing the retraining sees);
    ``scores`` holds each whole score (``AccuracyScore.as_dict``) by the same names.
    """
    ports = chip.ports()
    scores: dict[str, dict] = {}

    def score(name: str) -> None:
        s = score_accuracy(chip, data.x_test, data.y_test, n_classes=data.n_classes, config=config)
        out[name], scores[name] = s.mean, s.as_dict()

    out = {
        "cold_k": chip.environment.temperature_k,
        "hot_k": hot_k,
        "age_hours": age_hours,
        "retrain_epochs": retrain_epochs,
    }
    score("accuracy_before")
    chip.environment.set_temperature(hot_k)
    score("accuracy_hot")
    chip.environment.advance(hours=age_hours)
    score("accuracy_hot_aged")
    meter0 = ports.meter
    retrain = ff.FFConfig(
        **{
            **asdict(config),
            "epochs": retrain_epochs,
            "learning_rate": retrain_learning_rate or config.learning_rate / 3,
        }
    )
    ff.train(ports, data, retrain, rng=rng, progress=progress, desc="FF retrain hot")
    score("accuracy_retrained")
    out["scores"] = scores
    spent = ports.meter.minus(meter0)
    out["retrain_pulses"] = spent.pulses
    out["retrain_energy_j"] = spent.energy_j
    out["drop_points"] = 100 * (out["accuracy_before"] - out["accuracy_hot_aged"])
    out["gap_after_retrain_points"] = 100 * (out["accuracy_before"] - out["accuracy_retrained"])
    return out
