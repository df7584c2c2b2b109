"""One sweep point: fabricate, train in place, stress, measure, copy out (layer 4, studies).

:func:`run_point` is the default task of a sweep.  It is a module-level function so that Dask
workers can import it by name.  The die is ``Chip.fabricate(design, seed=point.seed)`` (the
same die as ``neuromorph train --seed``) of :func:`point_design`; training and copy-out draw
from the point's streams (:func:`~neuromorph.studies.sweep.seeds.point_seeds`).  The digits
data set (bundled with scikit-learn, split with seed 0) is used; ``n_train`` and ``n_test``
take its first rows (0 keeps the whole split) for quick studies.

May import ``algorithms``, ``chip``, ``hardware``, the other studies and the shared leaves;
never ``faces``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from neuromorph.algorithms import extract as ex
from neuromorph.algorithms import ff
from neuromorph.chip import Chip, ChipDesign
from neuromorph.datasets import Dataset, load_digits
from neuromorph.studies.scoring import score_accuracy, weight_errors, weights_as_read
from neuromorph.studies.sweep.seeds import point_seeds
from neuromorph.studies.sweep.spec import check_point
from neuromorph.studies.training import default_design, design_variant, program_initial_weights

#: Data split seed of the digits: every sweep uses the same train / test rows.
DIGITS_SPLIT_SEED = 0


@lru_cache(maxsize=4)
def _digits(n_train: int, n_test: int) -> Dataset:
    """The digits split (seed 0), cut to its first rows (0 keeps all); cached per worker."""
    d = load_digits(seed=DIGITS_SPLIT_SEED)
    tr = slice(None) if n_train == 0 else slice(0, n_train)
    te = slice(None) if n_test == 0 else slice(0, n_test)
    return Dataset(
        d.x_train[tr], d.y_train[tr], d.x_test[te], d.y_test[te], n_classes=d.n_classes, name=d.name
    )


def run_point(params: Mapping[str, Any], *, sweep_seed: int) -> dict[str, Any]:
    """Fabricate, train in place, stress, measure (and optionally copy out) one point.

    Parameters
    ----------
    params : dict
        Point parameters (see :data:`~neuromorph.studies.sweep.spec.PARAMETERS`; missing
        ones take their defaults).
    sweep_seed : int

    Returns
    -------
    dict
        ``accuracy_trained`` (test accuracy at the training temperature, just trained),
        ``accuracy`` (after heating to ``temperature_k`` and ageing ``age_hours``), each
        the mean over :data:`~neuromorph.studies.scoring.DEFAULT_REREADS` re-reads of the
        test set with its spread beside it (``accuracy_trained_std``, ``accuracy_std``),
        ``accuracy_drop_points`` (of the means), ``train_pulses`` and ``train_energy_j`` (the chip's meter
        over initial programming and training); with a copy-out method, what the copy cost
        (``copyout_queries``, ``copyout_adc_conversions``, ``copyout_chip_seconds``,
        ``copyout_energy_j``) and how good it is (``copyout_weight_rel_rms``: worst layer's
        relative RMS error against the weights the chip computes with,
        :func:`~neuromorph.studies.scoring.weights_as_read`; ``copyout_fidelity``:
        agreement with the chip's predictions on the test inputs; ``copyout_accuracy``).

    Raises
    ------
    ValueError, TypeError
        From :func:`~neuromorph.studies.sweep.spec.check_point` for invalid parameters.
    """
    p = check_point(params)
    seeds = point_seeds(p, sweep_seed=sweep_seed)
    data = _digits(p["n_train"], p["n_test"])
    config = ff.FFConfig(epochs=p["epochs"], learning_rate=p["learning_rate"])
    rng = np.random.default_rng(seeds["train"])

    chip = Chip.fabricate(point_design(p, data), seed=p["seed"])
    chip.environment.set_temperature(p["train_temperature_k"])
    ports = chip.ports()
    program_initial_weights(ports, config, rng)
    ff.train(ports, data, config, rng=rng, progress=False)
    trained = ports.meter
    out = _scored("accuracy_trained", chip, data, config)
    chip.environment.set_temperature(p["temperature_k"])
    chip.environment.advance(hours=p["age_hours"])
    out.update(_scored("accuracy", chip, data, config))
    out["accuracy_drop_points"] = 100.0 * (out["accuracy_trained"] - out["accuracy"])
    out["train_pulses"] = trained.pulses
    out["train_energy_j"] = trained.energy_j
    if p["copyout_method"] != "none":
        out.update(_copy_out(chip, data, p, config, np.random.default_rng(seeds["copyout"])))
    return out


def _scored(name: str, chip: Chip, data: Dataset, config: ff.FFConfig) -> dict[str, float]:
    """``name``: the chip's test accuracy, the mean of :func:`score_accuracy`'s re-reads (on a
    copy of the chip, so the point's own read streams are untouched), and ``name_std``, their
    sample spread: one read of a noisy chip is one draw, not its accuracy."""
    score = score_accuracy(chip, data.x_test, data.y_test, n_classes=data.n_classes, config=config)
    return {name: score.mean, f"{name}_std": score.std}


def point_design(params: Mapping[str, Any], data: Dataset) -> ChipDesign:
    """The chip design of a (checked) point: :func:`~neuromorph.studies.training.default_design`
    for ``data`` with the point's preset and hidden widths, its ADC bits, and the preset's read
    noise times ``read_noise_scale``."""
    base = default_design(data, device=params["preset"], hidden=params["hidden"])
    read_noise_rel = base.device.noise.read_noise_rel * params["read_noise_scale"]
    return design_variant(base, adc_bits=params["adc_bits"], read_noise_rel=read_noise_rel)


def _copy_out(chip: Chip, data: Dataset, p: dict, config: ff.FFConfig, rng: np.random.Generator) -> dict:
    """Extract the stressed chip through its ports; the scorer here reads the hidden weights."""
    ports = chip.ports()
    c = data.n_classes
    chip_pred = ff.predict(ports, data.x_test, n_classes=c, config=config)
    res = ex.extract(
        ports,
        method=p["copyout_method"],
        budget=p["copyout_budget"],
        design=chip.design,
        rng=rng,
        progress=False,
    )
    rel = weight_errors(res.network.weights, weights_as_read(chip))
    pred = ff.predict(res.network, data.x_test, n_classes=c, config=config)
    return {
        "copyout_queries": res.spent.queries,
        "copyout_adc_conversions": res.spent.adc_conversions,
        "copyout_chip_seconds": res.spent.chip_seconds,
        "copyout_energy_j": res.spent.energy_j,
        "copyout_weight_rel_rms": max(rel),
        "copyout_fidelity": float(np.mean(pred == chip_pred)),
        "copyout_accuracy": float(np.mean(pred == data.y_test)),
    }
