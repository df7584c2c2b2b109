"""Copy-out acceptance: how cheaply the trained digits chip's knowledge can be copied out.

Trains (once, cached) the digits chip of the chip issue: ``run_training(load_digits(seed),
mode="in-place", device="rram", seed, FFConfig(epochs=60), hidden=(500, 500))`` -- layer
sizes (74, 500, 500), RRAM preset, 8-bit DAC/ADC, default read noise -- then runs
:func:`neuromorph.studies.copyout.study` with one-hot finite differences, designed probes and
distillation at several budgets, and sweeps over ADC bits, read noise and age.

Acceptance figures printed:

* designed probing: worst-layer relative RMS weight error at <= 4(N+1) queries per layer;
  fidelity of the copy (FF predictions) against the chip's, beside the chip's agreement with
  itself on a second read;
* measured variance of designed probing over the floor sigma^2 / (K a^2), per layer;
* one-hot finite differences at the same budget: the measured variance factor (and the
  factor at equal amplitude, to compare with the theory's 2(N+1));
* distillation: fidelity against queries and the budget at which it reaches 99 % (transfer
  sets beyond the 1,437 training images grow by mixup of them).

Timing figures (``--json``): simulator wall time of each copy-out, against the wall time of
one FF inference pass of the chip over the test set (10 label passes of 360 images), measured
in the same run.

The BLAS kernel in use is printed; run under OpenBLAS's native settings:
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/copyout.py``.

Usage: ``python benchmarks/copyout.py [--json PATH] [--out DIR] [--cache PATH] [--epochs 60]``
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _harness import blas_note, figure, parser, report  # noqa: E402

from neuromorph import datasets  # noqa: E402
from neuromorph._io import write_json  # noqa: E402
from neuromorph.algorithms import extract as ex  # noqa: E402
from neuromorph.algorithms import ff  # noqa: E402
from neuromorph.chip import Chip  # noqa: E402
from neuromorph.faces.reports import copyout_table, write_copyout_report  # noqa: E402
from neuromorph.studies import copyout  # noqa: E402
from neuromorph.studies.scoring import relative_rms_error  # noqa: E402
from neuromorph.studies.training import run_training  # noqa: E402


def trained_chip(path: str, *, seed: int, epochs: int) -> tuple[Chip, dict]:
    """Load the cached trained chip, or train it and cache it (``.npz`` + ``.json``).

    The cache is used only if it was trained with today's FFConfig defaults (the config is
    stored in its metrics); otherwise the chip is retrained.
    """
    meta_path = path + ".json"
    config = ff.FFConfig(epochs=epochs)
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as fh:
            metrics = json.load(fh)
        if metrics.get("config") == dataclasses.asdict(config):
            return Chip.load(path), metrics
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    t0 = time.perf_counter()
    res = run_training(
        datasets.load_digits(seed=seed),
        mode="in-place",
        device="rram",
        seed=seed,
        config=config,
        hidden=(500, 500),
        progress=True,
    )
    metrics = dict(res.metrics, train_wall_seconds=time.perf_counter() - t0)
    res.model.save(path)
    write_json(meta_path, metrics)
    return res.model, metrics


def _print_findings(result: dict, metrics: dict, sizes: tuple[int, ...]) -> None:
    """The chip, designed probing at 4(N+1), and its variance against the floor and one-hot FD."""

    def row(method, budget):
        return next(r for r in result["methods"] if r["method"] == method and r["budget"] == budget)

    def var(method, budget):
        return next(v for v in result["variance"] if v["method"] == method and v["budget"] == budget)

    d4 = row("designed", 4)
    print(
        f"\nchip: test accuracy {result['chip']['accuracy']:.4f}, agreement with itself on a second "
        f"read {result['chip']['self_agreement']:.4f}; trained in place with "
        f"{metrics['meter_after_training']['queries']} queries, "
        f"{metrics['meter_after_training']['energy_j']:.3e} J"
    )
    print(
        f"designed, 4(N+1) queries per layer ({d4['queries']} in all): relative RMS weight error "
        f"per layer {[round(e, 5) for e in d4['weight_rel_rms_layers']]} (worst "
        f"{d4['weight_rel_rms']:.4f} = {d4['weight_bits']:.1f} bits); fidelity {d4['fidelity']:.4f} "
        f"(chip vs itself {d4['self_agreement']:.4f})"
    )
    reach = [r for r in result["methods"] if r["method"] == "designed" and r["weight_rel_rms"] <= 0.01]
    print(
        "designed reaches <= 1 % in every layer at budget "
        + (f"{min(r['budget'] for r in reach):g} x (N+1)" if reach else "none of those tried")
    )
    dv, fv = var("designed", 4)["layers"], var("fd", 4)["layers"]
    for a, b in zip(dv, fv, strict=True):
        n = sizes[a["layer"]]
        equal_amp = b["measured_var"] * b["amplitude"] ** 2 / (a["measured_var"] * a["amplitude"] ** 2)
        print(
            f"layer {a['layer']} (N={n}): designed variance {a['measured_var']:.3e} = "
            f"{a['measured_over_floor']:.2f} x floor sigma^2/(K a^2) (sigma {a['residual_sigma']:.4f}, "
            f"a {a['amplitude']:.3f}); one-hot FD (h {b['amplitude']:g}) {b['measured_var']:.3e} = "
            f"{b['measured_var'] / a['measured_var']:.1f} x designed; at equal amplitude "
            f"{equal_amp:.0f} x (theory ~2(N+1) = {2 * (n + 1)})"
        )


def _print_clean_floor(chip: Chip, *, seed: int) -> None:
    """Designed probing with no reading allowed to saturate: the clean test of the floor."""
    # The clean test of the floor: no reading allowed to saturate (column_quantile=1), so every
    # probe counts; with the default (the widest columns saturate at times and lose readings)
    # the floor above, which counts every probe, is optimistic for those columns.
    clean = ex.extract(
        chip.ports(),
        method="designed",
        budget=4,
        design=chip.design,
        rng=np.random.default_rng(seed + 7),
        progress=False,
        column_quantile=1.0,
        headroom=3.0,
    )
    true = chip.effective_weights()
    for rec, w_hat, w in zip(clean.layers, clean.network.weights, true, strict=True):
        measured = float(np.mean((w_hat[:-1] - w[:-1]) ** 2))
        floor = float(np.mean(ex.designed_floor(rec, chip.design)))
        rel = relative_rms_error(w_hat, w)
        print(
            f"layer {rec.layer}, no saturation allowed (4(N+1) queries): measured variance "
            f"{measured:.3e} = {measured / floor:.2f} x floor; relative RMS error {rel:.4f}, "
            f"{rec.saturated_readings} readings dropped"
        )


def _print_distillation(result: dict) -> None:
    """Distillation's fidelity per budget, and where it reaches 99 %."""
    dist = sorted((r for r in result["methods"] if r["method"] == "distill"), key=lambda r: r["queries"])
    print(
        "distillation (soft targets, T=2): "
        + ", ".join(f"{r['queries']} queries -> fidelity {r['fidelity']:.4f}" for r in dist)
    )
    hit = [r for r in dist if r["fidelity"] >= 0.99]
    print(
        "distillation reaches 99 % fidelity at "
        + (
            f"{hit[0]['queries']} queries"
            if hit
            else f"none of the budgets tried (best {max(r['fidelity'] for r in dist):.4f})"
        )
    )


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--out", default=None, help="also write the study's report.json and plots here")
    p.add_argument("--cache", default=None, help="trained chip file (default: in the temp dir)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    cache = args.cache or os.path.join(
        tempfile.gettempdir(), "neuromorph-copyout", f"digits_rram_seed{args.seed}_e{args.epochs}.npz"
    )
    chip, metrics = trained_chip(cache, seed=args.seed, epochs=args.epochs)
    data = datasets.load_digits(seed=args.seed)
    progress = not args.quiet
    config = ff.FFConfig(**metrics["config"])  # the label embedding the chip was trained with

    # Baseline for the timing ratios: one FF inference pass of the chip over the test set.
    t0 = time.perf_counter()
    ff.predict(chip.ports(), data.x_test, n_classes=data.n_classes, config=config)
    infer_s = time.perf_counter() - t0

    budgets = {"fd": (1, 4), "designed": (1.5, 2, 4, 6), "distill": (50, 200, 600, 1437, 2874, 5748)}
    t0 = time.perf_counter()
    result = copyout.study(
        chip,
        data,
        budgets=budgets,
        train_meter=metrics["meter_after_training"],
        sweep_adc_bits=(6, 10),
        sweep_read_noise=(0.0, 0.03),
        sweep_age_s=(86400.0, 30 * 86400.0),
        seed=args.seed,
        config=config,
        progress=progress,
    )
    study_s = time.perf_counter() - t0
    print(copyout_table(result))

    def row(method, budget):
        return next(r for r in result["methods"] if r["method"] == method and r["budget"] == budget)

    d4, f4 = row("designed", 4), row("fd", 4)
    _print_findings(result, metrics, chip.design.layer_sizes)
    _print_clean_floor(chip, seed=args.seed)
    _print_distillation(result)
    if args.out:
        write_copyout_report(result, args.out)
        print(f"wrote report.json and plots in {args.out}")

    figures = {
        "designed_4x_wall": figure(d4["wall_seconds"], infer_s, "chip FF inference of the test set"),
        "fd_4x_wall": figure(f4["wall_seconds"], infer_s, "chip FF inference of the test set"),
        "distill_1437_wall": figure(
            row("distill", 1437)["wall_seconds"], infer_s, "chip FF inference of the test set"
        ),
        "study_wall": figure(study_s, infer_s, "chip FF inference of the test set"),
    }
    report(
        figures,
        title="benchmarks/copyout.py (simulator wall time)",
        notes=[f"chip cached at {cache}", blas_note()],
        json_path=args.json,
    )
    return {"result": result, "figures": figures}


if __name__ == "__main__":
    main()
