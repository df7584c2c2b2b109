"""The whole story in one run: ``neuromorph demo`` (layer 5, a face).

Fabricate two chips; train one in place with Forward-Forward; heat and age it, measure the
loss, retrain it in place (every accuracy: :func:`~neuromorph.studies.scoring.score_accuracy`,
R re-reads on a copy of the chip, so chip A's figure after retraining is the one ``copyout``
and ``lifetime`` give ``chip_a.npz``); copy it out by finite differences, designed probes and
distillation with the cost table; write the designed copy onto the second chip; export a
wired window of its first tile to SPICE (:data:`~neuromorph.faces.demo.DEMO_SPICE_WINDOW`)
and, where ngspice is present, check the agreement, which checks the wire solver.  Everything lands in a
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
from neuromorph.chip.export import export_spice
from neuromorph.errors import NgspiceNotFoundError
from neuromorph.faces import arguments as check
from neuromorph.faces import plots
from neuromorph.faces.demo import DEMO_SPICE_WINDOW, run_ngspice_check
from neuromorph.faces.reports import copyout_table, write_copyout_report
from neuromorph.hardware.wires import WireParams
from neuromorph.studies import copyout
from neuromorph.studies.scoring import score_accuracy
from neuromorph.studies.training import default_design, run_training, temperature_study

#: Resolution of the story's figures, dots per inch.
STORY_DPI = 120


def _save(fig: Figure, path: str) -> str:
    fig.savefig(path, dpi=STORY_DPI)
    return path


def run_story(
    out_dir: str,
    *,
    device: str = "rram",
    wires: WireParams | None = None,
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
    """Run the story on the 8x8 digits with the ``device`` preset; return the summary dict.

    Both chips are made of ``device`` (a preset name) with ``wires`` (None: ideal wiring;
    the SPICE step then gives its window :data:`~neuromorph.faces.arguments.DEFAULT_WIRES`).
    Five steps, each a function below that says what it does, adds its figures to ``out_dir``
    and its numbers to the summary: train chip A in place, heat / age / retrain it, copy it
    out, copy it onto chip B, export a crossbar to SPICE.  ``summary.json`` ends the run.
    """
    os.makedirs(out_dir, exist_ok=True)
    t_start = time.perf_counter()
    data = datasets.load_digits(seed=seed)
    config = ff.FFConfig(epochs=epochs)
    summary: dict = {"seed": seed, "epochs": epochs, "hidden": list(hidden), "files": []}
    summary["preset"], summary["wires"] = device, None if wires is None else asdict(wires)
    run = _Run(out_dir=out_dir, data=data, config=config, summary=summary, say=say, progress=progress)

    chip_a, chip_b, train_meter = _train_chip_a(run, seed=seed, hidden=hidden, device=device, wires=wires)
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


def _train_chip_a(
    run: _Run, *, seed: int, hidden: tuple[int, ...], device: str, wires: WireParams | None
) -> tuple[Chip, Chip, Meter]:
    """Step 1: fabricate chips A and B, train A in place; returns them and A's training meter."""
    data, epochs = run.data, run.config.epochs
    wired = "" if wires is None else f" with {wires.r_row_ohm:.2f} ohm wire segments"
    run.say(
        f"1. Fabricating two {device.upper()} chips {(data.n_features + data.n_classes, *hidden)}"
        f"{wired} and training chip A in place with Forward-Forward ({epochs} epochs)..."
    )
    trained = run_training(
        data,
        mode="in-place",
        device=device,
        wires=wires,
        seed=seed,
        config=run.config,
        hidden=hidden,
        eval_every=max(1, epochs // 5),
        progress=run.progress,
    )
    chip_a: Chip = trained.model
    chip_b = Chip.fabricate(default_design(data, device=device, hidden=hidden, wires=wires), seed=seed + 1)
    m = trained.metrics
    keys = ("test_accuracy", "test_score", "train_accuracy", "pulses", "energy_j", "pulses_per_epoch")
    run.summary["training"] = {k: m[k] for k in keys}
    run.say(
        f"   chip A: test accuracy {m['test_score']['text']} ({m['pulses']:.3g} pulses, "
        f"{m['energy_j']:.3g} J through its ports)"
    )
    sizes = "-".join(map(str, chip_a.design.layer_sizes))
    where = f"{plots.display_name(chip_a.design.device)}, {sizes}"
    title = f"chip A, {where}: trained in place at {chip_a.environment.temperature_k:g} K"
    run.figure(
        plots.training_curve(trained.history, title=title, n_test=data.y_test.size),
        "training_curve.png",
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
    cold_k = study["cold_k"]
    run.say(
        f"   {study['accuracy_before']:.2%} at {cold_k:g} K -> {study['accuracy_hot_aged']:.2%} hot and "
        f"aged -> {study['accuracy_retrained']:.2%} after retraining (means over "
        f"{study['scores']['accuracy_retrained']['reads']} re-reads)"
    )
    run.say(f"   chip A now: {study['scores']['accuracy_retrained']['text']}")
    conditions = [
        "300 K,\nbefore heating",
        f"{hot_k:g} K,\njust heated",
        f"{hot_k:g} K,\naged {age_hours:g} h",
        f"{hot_k:g} K, retrained\nin place ({retrain_epochs} ep.)",
    ]
    accs = [study[k] for k in ("accuracy_before", "accuracy_hot", "accuracy_hot_aged", "accuracy_retrained")]
    title = f"chip A, {plots.display_name(chip_a.design.device)}: heated, aged, retrained in place"
    run.figure(
        plots.accuracy_bars(conditions, accs, title=title, n_test=run.data.y_test.size),
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
    score_b = score_accuracy(chip_b, data.x_test, data.y_test, n_classes=data.n_classes, config=config)
    run.summary["copy_in"] = {
        "clipped": copied.clipped,
        "pulses": copied.spent.pulses,
        "energy_j": copied.spent.energy_j,
        "accuracy_chip_b": score_b.mean,
        "accuracy_chip_b_score": score_b.as_dict(),
        "agreement_with_chip_a": float(agree),
    }
    run.say(
        f"   chip B: accuracy {score_b.text()}; agrees with chip A on {agree:.2%} of test digits "
        f"({copied.spent.pulses:.3g} pulses)"
    )
    run.summary["files"].append(chip_b.save(os.path.join(run.out_dir, "chip_b.npz")))


def _spice(run: _Run, chip_a: Chip, *, seed: int) -> None:
    """Step 5: export a wired window of chip A's first tile to SPICE and, with ngspice, check it.

    The window (:data:`DEMO_SPICE_WINDOW`) has chip A's wires, or :data:`DEFAULT_WIRES` when
    chip A has none, so ngspice checks the simulator's wire solver, not only Ohm's law.
    """
    wires = chip_a.design.wires or check.wires_of("--wires", check.DEFAULT_WIRES)
    own = "its own" if chip_a.design.wires is not None else f"{check.DEFAULT_WIRES} (NeuroSim's)"
    netlist_path = os.path.join(run.out_dir, "layer0_tile0.cir")
    export = export_spice(
        chip_a, 0, window=DEMO_SPICE_WINDOW, wires=wires, seed=seed, name="chipA_layer0", path=netlist_path
    )
    run.summary["files"].append(netlist_path)
    cells = [int(export.voltages.size), int(export.expected_currents.size)]
    run.say(
        f"5. Exported a {cells[0]}x{cells[1]} window of chip A's first tile to SPICE with {own} "
        f"wires ({wires.r_row_ohm:.2f} ohm per segment)."
    )
    try:
        rel, got = run_ngspice_check(export, say=lambda text: run.say(f"   {text}"))
        run.summary["spice"] = {
            "max_relative_error": rel,
            "temperature_k": export.temperature_k,
            "cells": cells,
            "wires": asdict(wires),
        }
        where = plots.conditions(export.temperature_k, chip_a.environment.time_s)
        title = f"ngspice against neuromorph: chip A, layer 0, wired {cells[0]}x{cells[1]} cells at {where}"
        run.figure(plots.spice_agreement(export.expected_currents, got, title=title), "spice_agreement.png")
        run.say(f"   ngspice agrees with neuromorph to {rel:.1e} at {export.temperature_k:g} K")
    except NgspiceNotFoundError as exc:
        run.summary["spice"] = {"skipped": str(exc)}
        run.say(f"   ngspice not available, netlist written only: {exc}")
