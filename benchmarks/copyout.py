"""Copy-out acceptance: how cheaply the trained digits chip's knowledge can be copied out.

Trains (once, cached) the digits chip of the chip issue: ``run_training(load_digits(seed),
mode="in-place", device="rram", seed, FFConfig(epochs=60), hidden=(500, 500))`` -- layer
sizes (74, 500, 500), RRAM preset, 8-bit DAC/ADC, default read noise, the default design's
converter mismatch -- then runs
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

The credible chip (issue 14, deliverable 5), on copies of the trained chip as loaded (it is
trained on today's default design, so each die has its own converters, ``SAR_MISMATCH``):

* ``credible``: designed probing at 4(N+1) per layer, graded against the devices' effective
  weights (:func:`copy_and_grade`), with fidelity beside the chip's self-agreement, in five
  conditions (:data:`VARIANTS`): ``as_is``; ``calibrated`` (``calibrate_columns`` first,
  its cost under ``calibration``); ``pink``, the same die with 1/f read noise whose one read
  has the white law's variance (:func:`white_equivalent_pink`); ``pink_calibrated``; and
  ``nominal``, the same die with nominal converters (:func:`same_die`);
* ``budget_to_1pct``: per condition, designed probing at budgets of ``--budgets`` (N+1) in
  turn until the worst layer's error is <= 1 %: ``reached_at`` (None: not reached within
  the largest budget) and every budget's errors;
* ``averaging``: the variance over independent noise realisations of the designed estimate
  of one layer against its budget K (N+1), white and 1/f (:func:`averaging_study`), and the
  ratio to the 1/K law.

Timing figures (``--json``): simulator wall time of each copy-out, against the wall time of
one FF inference pass of the chip over the test set (10 label passes of 360 images), measured
in the same run; ``credible_wall`` is the whole credible section.  ``--json`` also holds the
three keys above; ``--out`` writes them in ``credible.json`` and in ``report.json``.

The BLAS kernel in use is printed; run under OpenBLAS's native settings:
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/copyout.py``.

Usage: ``python benchmarks/copyout.py [--json PATH] [--out DIR] [--cache PATH] [--epochs 60]
[--skip-study] [--budgets 2,4,6,8,12,16,24,32] [--variants as_is,calibrated,...]
[--averaging-k 2,8,32,128] [--trials 12] [--averaging-layer 0]`` (``--trials 0`` skips the
averaging study; ``--skip-study`` runs only the credible section).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _copyout_credible import (  # noqa: E402
    AVERAGING_K,
    AVERAGING_TRIALS,
    CREDIBLE_BUDGETS,
    TARGET_ERROR,
    VARIANTS,
    averaging_study,
    budget_to_target,
    credible_rows,
    credible_variants,
    print_credible,
)
from _harness import blas_note, figure, parser, report  # noqa: E402

from neuromorph import datasets  # noqa: E402
from neuromorph._io import write_json  # noqa: E402
from neuromorph.algorithms import extract as ex  # noqa: E402
from neuromorph.algorithms import ff  # noqa: E402
from neuromorph.chip import Chip  # noqa: E402
from neuromorph.faces.reports import copyout_table, write_copyout_report  # noqa: E402
from neuromorph.studies import copyout  # noqa: E402
from neuromorph.studies.scoring import relative_rms_error  # noqa: E402
from neuromorph.studies.training import default_design, run_training  # noqa: E402


def trained_chip(path: str, *, seed: int, epochs: int) -> tuple[Chip, dict]:
    """Load the cached trained chip, or train it and cache it (``.npz`` + ``.json``).

    The cache is used only if it was trained with today's FFConfig defaults (the config is
    stored in its metrics) on today's default design (e.g. converter mismatch on since issue
    14); otherwise the chip is retrained.
    """
    meta_path = path + ".json"
    config = ff.FFConfig(epochs=epochs)
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as fh:
            metrics = json.load(fh)
        if metrics.get("config") == dataclasses.asdict(config):
            chip = Chip.load(path)
            if chip.design == default_design(
                datasets.load_digits(seed=seed), device="rram", hidden=(500, 500)
            ):
                return chip, metrics
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


def run_credible(chip: Chip, data, config: ff.FFConfig, args) -> dict:
    """The credible section (issue 14, deliverable 5) on copies of ``chip``: JSON-ready keys
    ``credible``, ``budget_to_1pct`` and ``averaging`` (None with ``--trials 0``)."""
    variants = credible_variants(chip, args.variants)
    rows = credible_rows(variants, data, config, budget=4, seed=args.seed)
    budget = budget_to_target(variants, args.budgets, seed=args.seed, target=TARGET_ERROR)
    averaging = None
    if args.trials:
        averaging = averaging_study(
            chip, layer=args.averaging_layer, ks=args.averaging_k, trials=args.trials, seed=args.seed
        )
    print_credible(rows, budget, averaging)
    return {"credible": rows, "budget_to_1pct": budget, "averaging": averaging}


def _run_study(chip: Chip, data, config: ff.FFConfig, metrics: dict, args) -> tuple[dict, dict]:
    """The copy-out study of the README (methods, budgets, sweeps); its result and wall times."""
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
        progress=not args.quiet,
    )
    study_s = time.perf_counter() - t0
    print(copyout_table(result))

    def row(method, budget):
        return next(r for r in result["methods"] if r["method"] == method and r["budget"] == budget)

    _print_findings(result, metrics, chip.design.layer_sizes)
    _print_clean_floor(chip, seed=args.seed)
    _print_distillation(result)
    walls = {
        "designed_4x_wall": row("designed", 4)["wall_seconds"],
        "fd_4x_wall": row("fd", 4)["wall_seconds"],
        "distill_1437_wall": row("distill", 1437)["wall_seconds"],
        "study_wall": study_s,
    }
    return result, walls


def _numbers(kind):
    """An argparse type: a comma-separated list of ``kind``."""
    return lambda text: tuple(kind(v) for v in text.split(","))


def _arguments(argv) -> argparse.Namespace:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--out", default=None, help="also write the study's report.json and plots here")
    p.add_argument("--cache", default=None, help="trained chip file (default: in the temp dir)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--skip-study", action="store_true", help="only the credible section")
    p.add_argument(
        "--budgets", type=_numbers(float), default=CREDIBLE_BUDGETS, help="budget sweep, multiples of N+1"
    )
    p.add_argument("--variants", type=_numbers(str), default=VARIANTS, help=f"subset of {','.join(VARIANTS)}")
    p.add_argument("--averaging-k", type=_numbers(int), default=AVERAGING_K, help="designed budgets K")
    p.add_argument("--trials", type=int, default=AVERAGING_TRIALS, help="noise realisations per K (0: skip)")
    p.add_argument("--averaging-layer", type=int, default=0)
    args = p.parse_args(argv)
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        p.error(f"--variants must be drawn from {list(VARIANTS)}; got {sorted(unknown)}")
    if args.trials == 1 or args.trials < 0:
        p.error(f"--trials must be 0 or >= 2; got {args.trials}")
    return args


def main(argv=None) -> dict:
    args = _arguments(argv)
    cache = args.cache or os.path.join(
        tempfile.gettempdir(), "neuromorph-copyout", f"digits_rram_seed{args.seed}_e{args.epochs}.npz"
    )
    chip, metrics = trained_chip(cache, seed=args.seed, epochs=args.epochs)
    data = datasets.load_digits(seed=args.seed)
    config = ff.FFConfig(**metrics["config"])  # the label embedding the chip was trained with
    pristine = copy.deepcopy(chip)  # the credible section starts from the chip as loaded

    # Baseline for the timing ratios: one FF inference pass of the chip over the test set.
    t0 = time.perf_counter()
    ff.predict(chip.ports(), data.x_test, n_classes=data.n_classes, config=config)
    infer_s = time.perf_counter() - t0

    result, walls = ({}, {}) if args.skip_study else _run_study(chip, data, config, metrics, args)
    t0 = time.perf_counter()
    credible = run_credible(pristine, data, config, args)
    walls["credible_wall"] = time.perf_counter() - t0
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        write_json(os.path.join(args.out, "credible.json"), credible)
        if result:
            write_copyout_report({**result, **credible}, args.out)
        print(f"wrote credible.json{', report.json and plots' if result else ''} in {args.out}")
    figures = {k: figure(s, infer_s, "chip FF inference of the test set") for k, s in walls.items()}
    report(
        figures,
        title="benchmarks/copyout.py (simulator wall time)",
        notes=[f"chip cached at {cache}", blas_note()],
        json_path=args.json,
    )
    if args.json:  # the timing figures as before, and the credible section's keys beside them
        with open(args.json) as fh:
            timings = json.load(fh)
        write_json(args.json, {**timings, **credible})
    return {"result": result, "figures": figures, **credible}


if __name__ == "__main__":
    main()
