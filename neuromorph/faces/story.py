"""The whole story in one run: ``neuromorph demo`` (layer 5, a face).

Fabricate two chips; train one in place with Forward-Forward; heat and age it, measure the
loss, retrain it in place; copy it out by finite differences, designed probes and
distillation with the cost table; write the designed copy onto the second chip; export one
crossbar to SPICE and, where ngspice is present, check the agreement.  Everything lands in a
run folder: ``summary.json``, the chip files, the netlist and PNG figures.

Layer 5 (faces): may import every layer below.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from matplotlib.figure import Figure

from neuromorph import datasets
from neuromorph._io import write_json
from neuromorph.algorithms import distill as dist
from neuromorph.algorithms import extract as ex
from neuromorph.algorithms import ff
from neuromorph.chip import Chip, Meter
from neuromorph.errors import NgspiceNotFoundError
from neuromorph.faces import plots
from neuromorph.faces.reports import copyout_table, write_copyout_report
from neuromorph.hardware import spice
from neuromorph.studies import copyout
from neuromorph.studies.training import default_design, run_training, temperature_study

#: Resolution of the story's figures, dots per inch.
STORY_DPI = 120


def _save(fig: Figure, path: str) -> str:
    fig.savefig(path, dpi=STORY_DPI)
    return path


def run_story(
    out_dir: str,
    *,
    seed: int = 0,
    epochs: int = 30,
    hidden: tuple[int, ...] = (200, 200),
    hot_k: float = 358.0,
    age_hours: float = 24.0,
    retrain_epochs: int = 2,
    distill_budgets: tuple[int, ...] = (200, 800),
    progress: bool = True,
    say: Callable[[str], object] = print,
) -> dict:
    """Run the story on the 8x8 digits with the RRAM preset; return the summary dict.

    Five steps, each a function below that says what it does, adds its figures to ``out_dir``
    and its numbers to the summary: train chip A in place, heat / age / retrain it, copy it
    out, copy it onto chip B, export a crossbar to SPICE.  ``summary.json`` ends the run.
    """
    os.makedirs(out_dir, exist_ok=True)
    t_start = time.perf_counter()
    data = datasets.load_digits(seed=seed)
    config = ff.FFConfig(epochs=epochs)
    summary: dict = {"seed": seed, "epochs": epochs, "hidden": list(hidden), "files": []}
    run = _Run(out_dir=out_dir, data=data, config=config, summary=summary, say=say, progress=progress)

    chip_a, chip_b, train_meter = _train_chip_a(run, seed=seed, hidden=hidden)
    _heat_and_retrain(run, chip_a, seed=seed, hot_k=hot_k, age_hours=age_hours, retrain_epochs=retrain_epochs)
    _copy_out(run, chip_a, train_meter, seed=seed, distill_budgets=distill_budgets)
    _copy_in(run, chip_a, chip_b, seed=seed)
    _spice(run, chip_a, seed=seed)
    summary["config"] = asdict(config)
    summary["wall_seconds"] = time.perf_counter() - t_start
    write_json(os.path.join(out_dir, "summary.json"), summary)
    say(f"Done in {summary['wall_seconds']:.0f} s. Run folder: {out_dir}")
    return summary


@dataclass
class _Run:
    """What every step of the story shares: the folder, data, config, summary, voice."""

    out_dir: str
    data: datasets.Dataset
    config: ff.FFConfig
    summary: dict
    say: Callable[[str], object]
    progress: bool

    def figure(self, fig: Figure, name: str) -> None:
        self.summary["files"].append(_save(fig, os.path.join(self.out_dir, name)))


def _train_chip_a(run: _Run, *, seed: int, hidden: tuple[int, ...]) -> tuple[Chip, Chip, Meter]:
    """Step 1: fabricate chips A and B, train A in place; returns them and A's training meter."""
    data, epochs = run.data, run.config.epochs
    run.say(
        f"1. Fabricating two RRAM chips {(data.n_features + data.n_classes, *hidden)} and "
        f"training chip A in place with Forward-Forward ({epochs} epochs)..."
    )
    trained = run_training(
        data,
        mode="in-place",
        device="rram",
        seed=seed,
        config=run.config,
        hidden=hidden,
        eval_every=max(1, epochs // 5),
        progress=run.progress,
    )
    chip_a: Chip = trained.model
    chip_b = Chip.fabricate(default_design(data, hidden=hidden), seed=seed + 1)
    m = trained.metrics
    run.summary["training"] = {
        k: m[k] for k in ("test_accuracy", "train_accuracy", "pulses", "energy_j", "pulses_per_epoch")
    }
    run.say(
        f"   chip A: test accuracy {m['test_accuracy']:.2%} ({m['pulses']:.3g} pulses, "
        f"{m['energy_j']:.3g} J through its ports)"
    )
    run.figure(
        plots.training_curve(trained.history, title="Forward-Forward in place, chip A"), "training_curve.png"
    )
    run.figure(
        plots.conductance_maps(chip_a.crossbars[0], title="chip A, layer 0 after training"),
        "conductance_layer0.png",
    )
    return chip_a, chip_b, chip_a.ports().meter


def _heat_and_retrain(
    run: _Run, chip_a: Chip, *, seed: int, hot_k: float, age_hours: float, retrain_epochs: int
) -> None:
    """Step 2: heat and age chip A, measure, retrain it in place; save it."""
    run.say(
        f"2. Heating chip A to {hot_k:g} K, ageing it {age_hours:g} h, retraining in place "
        f"({retrain_epochs} epochs)..."
    )
    study = temperature_study(
        chip_a,
        run.data,
        config=run.config,
        rng=np.random.default_rng(seed + 7),
        hot_k=hot_k,
        age_hours=age_hours,
        retrain_epochs=retrain_epochs,
        progress=run.progress,
    )
    run.summary["temperature"] = study
    run.say(
        f"   {study['accuracy_before']:.2%} at 300 K -> {study['accuracy_hot_aged']:.2%} hot and "
        f"aged -> {study['accuracy_retrained']:.2%} after retraining"
    )
    conditions = ["300 K", f"{hot_k:g} K", f"{hot_k:g} K +{age_hours:g} h", "retrained"]
    accs = [study[k] for k in ("accuracy_before", "accuracy_hot", "accuracy_hot_aged", "accuracy_retrained")]
    run.figure(
        plots.accuracy_bars(conditions, accs, title="Chip A through heat, age and retraining"),
        "temperature.png",
    )
    run.summary["files"].append(chip_a.save(os.path.join(run.out_dir, "chip_a.npz")))


def _copy_out(
    run: _Run, chip_a: Chip, train_meter: Meter, *, seed: int, distill_budgets: tuple[int, ...]
) -> None:
    """Step 3: the copy-out study of chip A, its table and its report folder."""
    run.say("3. Copying chip A out: finite differences, designed probes, distillation...")
    result = copyout.study(
        chip_a,
        run.data,
        methods=("fd", "designed", "distill"),
        budgets={"fd": [1], "designed": [1.5, 4], "distill": list(distill_budgets)},
        train_meter=train_meter,
        config=run.config,
        seed=seed,
        progress=run.progress,
    )
    run.say(copyout_table(result))
    run.summary["copyout"] = {"methods": result["methods"], "chip": result["chip"]}
    run.summary["files"] += write_copyout_report(result, os.path.join(run.out_dir, "copyout"))


def _copy_in(run: _Run, chip_a: Chip, chip_b: Chip, *, seed: int) -> None:
    """Step 4: extract chip A by designed probes and write the copy onto chip B."""
    run.say("4. Writing the designed-probe copy onto chip B by program-and-verify...")
    data, config = run.data, run.config
    extraction = ex.extract(
        chip_a.ports(),
        method="designed",
        budget=4.0,
        rng=np.random.default_rng(seed + 11),
        progress=run.progress,
    )
    ports_b = chip_b.ports()
    copied = dist.copy_in(extraction.network, ports_b, progress=run.progress)
    agree = np.mean(
        ff.predict(ports_b, data.x_test, n_classes=10, config=config)
        == ff.predict(chip_a.ports(), data.x_test, n_classes=10, config=config)
    )
    acc_b = ff.accuracy(ports_b, data.x_test, data.y_test, n_classes=10, config=config)
    run.summary["copy_in"] = {
        "clipped": copied.clipped,
        "pulses": copied.spent.pulses,
        "energy_j": copied.spent.energy_j,
        "accuracy_chip_b": acc_b,
        "agreement_with_chip_a": float(agree),
    }
    run.say(
        f"   chip B: accuracy {acc_b:.2%}, agrees with chip A on {agree:.2%} of test digits "
        f"({copied.spent.pulses:.3g} pulses)"
    )
    run.summary["files"].append(chip_b.save(os.path.join(run.out_dir, "chip_b.npz")))


def _spice(run: _Run, chip_a: Chip, *, seed: int) -> None:
    """Step 5: export chip A's first crossbar tile to SPICE and, with ngspice, check it."""
    run.say("5. Exporting chip A's first crossbar tile to SPICE...")
    xbar = chip_a.crossbars[0]
    x = np.random.default_rng(seed).uniform(0, xbar.periphery.dac.input_full_scale, xbar.n_in)
    netlist_path = os.path.join(run.out_dir, "layer0_tile0.cir")
    export = spice.export_crossbar(xbar, x, path=netlist_path, name="chipA_layer0")
    run.summary["files"].append(netlist_path)
    try:
        got = spice.run_ngspice(export.netlist)
        rel = float(np.max(np.abs(got - export.expected_currents)) / np.max(np.abs(export.expected_currents)))
        run.summary["spice"] = {"max_relative_error": rel, "temperature_k": export.temperature_k}
        run.figure(plots.spice_agreement(export.expected_currents, got), "spice_agreement.png")
        run.say(f"   ngspice agrees with neuromorph to {rel:.1e} at {export.temperature_k:g} K")
    except NgspiceNotFoundError as exc:
        run.summary["spice"] = {"skipped": str(exc)}
        run.say(f"   ngspice not available, netlist written only: {exc}")
