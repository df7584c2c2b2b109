"""What a run folder says about the chip file in it (layer 5, faces).

``neuromorph train`` writes ``metrics.json`` beside ``chip.npz``: the seed that split the
data, the Forward-Forward config the chip was trained with (its label embedding) and the
meter of its training.  Commands that score a saved chip (``copyout``, ``lifetime``) read
them here, so that they score it on the same test images with the same embedding as
``train`` did, and the same chip state gives the same figure
(:func:`neuromorph.studies.scoring.score_accuracy`).

**The test split** is ``load_digits(seed=s)``, ``s`` the first of: the command's
``--split-seed``; the ``seed`` in ``metrics.json`` beside the chip file; the chip's own
fabrication seed (``train`` and ``demo`` fabricate with the seed that splits their data:
``demo``'s chip A and ``train``'s chip); 0.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from neuromorph.algorithms import ff
from neuromorph.chip import Chip

#: The file of a training run beside its chip file.
METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class RunContext:
    """A saved chip's training context.

    Attributes
    ----------
    config : FFConfig or None
        The config it was trained with (None: not known; use the default).
    train_meter : dict
        What training cost (``meter_after_training``), else the chip's own saved meter.
    split_seed : int
        The seed of the digits split to score it on (see the module docstring).
    split_from : str
        Where ``split_seed`` came from, for the printout.
    """

    config: ff.FFConfig | None
    train_meter: dict
    split_seed: int
    split_from: str


def run_context(chipfile: str, chip: Chip, *, split_seed: int | None = None) -> RunContext:
    """The context of ``chip``, loaded from ``chipfile``: ``metrics.json`` beside it if any.

    Raises
    ------
    ValueError
        If ``metrics.json`` is there but is not a JSON object.
    """
    config, train_meter, metrics = None, chip.meter.as_dict(), {}
    path = os.path.join(os.path.dirname(os.path.abspath(chipfile)), METRICS_FILE)
    if os.path.exists(path):
        with open(path) as fh:
            metrics = json.load(fh)
        if not isinstance(metrics, dict):
            raise ValueError(
                f"{path!r} must hold a JSON object (a train run's metrics); got {metrics!r:.60}."
            )
        if "config" in metrics:
            config = ff.FFConfig(**metrics["config"])
        train_meter = metrics.get("meter_after_training", train_meter)
    if split_seed is not None:
        seed, source = split_seed, "--split-seed"
    elif isinstance(metrics.get("seed"), int):
        seed, source = metrics["seed"], f"the training seed in {METRICS_FILE}"
    elif chip.seed is not None:
        seed, source = chip.seed, "the chip's fabrication seed"
    else:
        seed, source = 0, "the default"
    return RunContext(config=config, train_meter=train_meter, split_seed=seed, split_from=source)
