"""Training runs and the temperature study (layer 4: composes chip, data and FF).

``run_training`` is what ``neuromorph train`` does: fabricate, train in one of three modes,
score, and write a run folder.  ``temperature_study`` trains in place at 300 K, heats and ages
the chip, measures the loss of accuracy, retrains in place at the new temperature and measures
the recovery.  Scorers here may read hidden state; the trainers they call may not.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from neuromorph._io import atomic_open
from neuromorph.algorithms import ff
from neuromorph.chip import Chip, ChipDesign
from neuromorph.chip.digital import DigitalNetwork
from neuromorph.datasets import Dataset
from neuromorph.hardware.devices import preset

Mode = Literal["software", "in-place", "ex-situ"]
MODES = ("software", "in-place", "ex-situ")


@dataclass(frozen=True)
class TrainResult:
    """A trained model and its figures (``model`` is a Chip or a DigitalNetwork)."""

    model: Chip | DigitalNetwork
    metrics: dict
    history: ff.History


def default_design(data: Dataset, *, device: str = "rram", hidden=(500, 500), **kw) -> ChipDesign:
    """The chip design used by the CLI: inputs = features + one-hot label, two hidden layers."""
    return ChipDesign(layer_sizes=(data.n_features + data.n_classes, *hidden), device=preset(device), **kw)


def program_initial_weights(ports, config: ff.FFConfig, rng: np.random.Generator) -> dict:
    """Program random initial weights through the ports by write-verify; returns pulses used."""
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
    hidden=(500, 500),
    eval_every: int = 0,
    progress: bool = True,
) -> TrainResult:
    """Fabricate (unless software), train in ``mode``, and score on the data's test split."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}; got {mode!r}.")
    config = ff.FFConfig() if config is None else config
    rng = np.random.default_rng(seed)
    n_classes = data.n_classes
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
    if mode == "software":
        net = DigitalNetwork.initialize(
            (data.n_features + n_classes, *hidden), rng=rng, scale=config.init_scale
        )
        hist = ff.train(
            net, data, config, rng=rng, eval_every=eval_every, progress=progress, desc="FF software"
        )
        model, scored = net, net
    else:
        chip = Chip.fabricate(default_design(data, device=device, hidden=hidden), seed=seed)
        chip.environment.set_temperature(temperature_k)
        ports = chip.ports()
        if mode == "in-place":
            metrics.update(program_initial_weights(ports, config, rng))
            hist = ff.train(
                ports, data, config, rng=rng, eval_every=eval_every, progress=progress, desc="FF in place"
            )
        else:
            net = DigitalNetwork.initialize(
                (data.n_features + n_classes, *hidden), rng=rng, scale=config.init_scale
            )
            hist = ff.train(
                net,
                data,
                config,
                rng=rng,
                eval_every=eval_every,
                progress=progress,
                desc="FF software (ex-situ)",
            )
            clipped = 0
            for layer, w in enumerate(net.weights):
                clipped += int(np.count_nonzero(np.abs(w) > ports.weight_range))
                ports.program(layer, np.clip(w, -ports.weight_range, ports.weight_range))
            metrics["ex_situ_clipped_weights"] = clipped
            metrics["software_test_accuracy"] = ff.accuracy(
                net, data.x_test, data.y_test, n_classes=n_classes, config=config
            )
        model, scored = chip, ports
        train_meter = ports.meter
    metrics["test_accuracy"] = ff.accuracy(
        scored, data.x_test, data.y_test, n_classes=n_classes, config=config
    )
    metrics["train_accuracy"] = ff.accuracy(
        scored, data.x_train, data.y_train, n_classes=n_classes, config=config
    )
    metrics["final_loss"] = hist.loss[-1] if hist.loss else None
    if mode != "software":
        metrics["meter_after_training"] = train_meter.as_dict()
        metrics["pulses"] = train_meter.pulses
        metrics["energy_j"] = train_meter.energy_j
        metrics["pulses_per_epoch"] = hist.pulses[-1] / len(hist.pulses) if hist.pulses else 0
        metrics["programming_energy_j"] = train_meter.energy_pulse_j
    return TrainResult(model=model, metrics=metrics, history=hist)


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

    The environment (oven and clock) is set on the chip; accuracy and retraining go through
    its ports only.
    """
    ports = chip.ports()
    n_classes = data.n_classes

    def acc():
        return ff.accuracy(ports, data.x_test, data.y_test, n_classes=n_classes, config=config)

    out = {
        "cold_k": chip.environment.temperature_k,
        "hot_k": hot_k,
        "age_hours": age_hours,
        "retrain_epochs": retrain_epochs,
        "accuracy_before": acc(),
    }
    chip.environment.set_temperature(hot_k)
    out["accuracy_hot"] = acc()
    chip.environment.advance(hours=age_hours)
    out["accuracy_hot_aged"] = acc()
    meter0 = ports.meter
    retrain = ff.FFConfig(
        **{
            **asdict(config),
            "epochs": retrain_epochs,
            "learning_rate": retrain_learning_rate or config.learning_rate / 3,
        }
    )
    ff.train(ports, data, retrain, rng=rng, progress=progress, desc="FF retrain hot")
    out["accuracy_retrained"] = acc()
    spent = ports.meter.minus(meter0)
    out["retrain_pulses"] = spent.pulses
    out["retrain_energy_j"] = spent.energy_j
    out["drop_points"] = 100 * (out["accuracy_before"] - out["accuracy_hot_aged"])
    out["gap_after_retrain_points"] = 100 * (out["accuracy_before"] - out["accuracy_retrained"])
    return out


def write_json(path: str, data: dict) -> None:
    """Write JSON atomically (temp file + rename)."""
    with atomic_open(path, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
