"""The whole story in one run: ``neuromorph demo`` (layer 5, a face).

Fabricate two chips; train one in place with Forward-Forward; heat and age it, measure the
loss, retrain it in place; copy it out by finite differences, designed probes and
distillation with the cost table; write the designed copy onto the second chip; export one
crossbar to SPICE and, where ngspice is present, check the agreement.  Everything lands in a
run folder: ``summary.json``, the chip files, the netlist and PNG figures.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict

import numpy as np

from neuromorph import datasets
from neuromorph.algorithms import distill as dist
from neuromorph.algorithms import extract as ex
from neuromorph.algorithms import ff
from neuromorph.chip import Chip
from neuromorph.errors import NgspiceNotFoundError
from neuromorph.faces import plots
from neuromorph.hardware import spice
from neuromorph.studies import copyout
from neuromorph.studies.training import default_design, run_training, temperature_study, write_json


def _save(fig, path: str) -> str:
    fig.savefig(path, dpi=120)
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
    say=print,
) -> dict:
    """Run the story on the 8x8 digits with the RRAM preset; return the summary dict."""
    os.makedirs(out_dir, exist_ok=True)
    t_start = time.perf_counter()
    data = datasets.load_digits(seed=seed)
    config = ff.FFConfig(epochs=epochs)
    summary: dict = {"seed": seed, "epochs": epochs, "hidden": list(hidden), "files": []}

    say(
        f"1. Fabricating two RRAM chips {(data.n_features + data.n_classes, *hidden)} and "
        f"training chip A in place with Forward-Forward ({epochs} epochs)..."
    )
    trained = run_training(
        data,
        mode="in-place",
        device="rram",
        seed=seed,
        config=config,
        hidden=hidden,
        eval_every=max(1, epochs // 5),
        progress=progress,
    )
    chip_a: Chip = trained.model
    chip_b = Chip.fabricate(default_design(data, hidden=hidden), seed=seed + 1)
    m = trained.metrics
    summary["training"] = {
        k: m[k] for k in ("test_accuracy", "train_accuracy", "pulses", "energy_j", "pulses_per_epoch")
    }
    say(
        f"   chip A: test accuracy {m['test_accuracy']:.2%} ({m['pulses']:.3g} pulses, "
        f"{m['energy_j']:.3g} J through its ports)"
    )
    summary["files"].append(
        _save(
            plots.training_curve(trained.history, title="Forward-Forward in place, chip A"),
            os.path.join(out_dir, "training_curve.png"),
        )
    )
    summary["files"].append(
        _save(
            plots.conductance_maps(chip_a.crossbars[0], title="chip A, layer 0 after training"),
            os.path.join(out_dir, "conductance_layer0.png"),
        )
    )
    train_meter = chip_a.ports().meter

    say(
        f"2. Heating chip A to {hot_k:g} K, ageing it {age_hours:g} h, retraining in place "
        f"({retrain_epochs} epochs)..."
    )
    study = temperature_study(
        chip_a,
        data,
        config=config,
        rng=np.random.default_rng(seed + 7),
        hot_k=hot_k,
        age_hours=age_hours,
        retrain_epochs=retrain_epochs,
        progress=progress,
    )
    summary["temperature"] = study
    say(
        f"   {study['accuracy_before']:.2%} at 300 K -> {study['accuracy_hot_aged']:.2%} hot and "
        f"aged -> {study['accuracy_retrained']:.2%} after retraining"
    )
    conditions = ["300 K", f"{hot_k:g} K", f"{hot_k:g} K +{age_hours:g} h", "retrained"]
    accs = [study[k] for k in ("accuracy_before", "accuracy_hot", "accuracy_hot_aged", "accuracy_retrained")]
    summary["files"].append(
        _save(
            plots.accuracy_bars(conditions, accs, title="Chip A through heat, age and retraining"),
            os.path.join(out_dir, "temperature.png"),
        )
    )
    summary["files"].append(chip_a.save(os.path.join(out_dir, "chip_a.npz")))

    say("3. Copying chip A out: finite differences, designed probes, distillation...")
    result = copyout.study(
        chip_a,
        data,
        methods=("fd", "designed", "distill"),
        budgets={"fd": [1], "designed": [1.5, 4], "distill": list(distill_budgets)},
        train_meter=train_meter,
        config=config,
        seed=seed,
        progress=progress,
    )
    say(copyout.format_table(result))
    summary["copyout"] = {"methods": result["methods"], "chip": result["chip"]}
    summary["files"] += copyout.write_report(result, os.path.join(out_dir, "copyout"))

    say("4. Writing the designed-probe copy onto chip B by program-and-verify...")
    extraction = ex.extract(
        chip_a.ports(), method="designed", budget=4.0, rng=np.random.default_rng(seed + 11), progress=progress
    )
    ports_b = chip_b.ports()
    copied = dist.copy_in(extraction.network, ports_b, progress=progress)
    agree = np.mean(
        ff.predict(ports_b, data.x_test, n_classes=10, config=config)
        == ff.predict(chip_a.ports(), data.x_test, n_classes=10, config=config)
    )
    acc_b = ff.accuracy(ports_b, data.x_test, data.y_test, n_classes=10, config=config)
    summary["copy_in"] = {
        "clipped": copied.clipped,
        "pulses": copied.spent.pulses,
        "energy_j": copied.spent.energy_j,
        "accuracy_chip_b": acc_b,
        "agreement_with_chip_a": float(agree),
    }
    say(
        f"   chip B: accuracy {acc_b:.2%}, agrees with chip A on {agree:.2%} of test digits "
        f"({copied.spent.pulses:.3g} pulses)"
    )
    summary["files"].append(chip_b.save(os.path.join(out_dir, "chip_b.npz")))

    say("5. Exporting chip A's first crossbar tile to SPICE...")
    xbar = chip_a.crossbars[0]
    x = np.random.default_rng(seed).uniform(0, xbar.periphery.dac.input_full_scale, xbar.n_in)
    netlist_path = os.path.join(out_dir, "layer0_tile0.cir")
    export = spice.export_crossbar(xbar, x, path=netlist_path, name="chipA_layer0")
    summary["files"].append(netlist_path)
    try:
        got = spice.run_ngspice(export.netlist)
        rel = float(np.max(np.abs(got - export.expected_currents)) / np.max(np.abs(export.expected_currents)))
        summary["spice"] = {"max_relative_error": rel, "temperature_k": export.temperature_k}
        summary["files"].append(
            _save(
                plots.spice_agreement(export.expected_currents, got),
                os.path.join(out_dir, "spice_agreement.png"),
            )
        )
        say(f"   ngspice agrees with neuromorph to {rel:.1e} at {export.temperature_k:g} K")
    except NgspiceNotFoundError as exc:
        summary["spice"] = {"skipped": str(exc)}
        say(f"   ngspice not available, netlist written only: {exc}")
    summary["config"] = asdict(config)
    summary["wall_seconds"] = time.perf_counter() - t_start
    write_json(os.path.join(out_dir, "summary.json"), summary)
    say(f"Done in {summary['wall_seconds']:.0f} s. Run folder: {out_dir}")
    return summary
