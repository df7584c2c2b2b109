"""Command line: ``neuromorph <command>`` (layer 5, faces).

Commands
--------
demo    fabricate a crossbar, read it at two temperatures, print what changed
train   train with Forward-Forward in software, in place on a chip, or ex-situ
spice   export one crossbar tile of a saved chip as an ngspice netlist (and run it)
copyout copy a saved chip out (finite differences, designed probes, distillation) and cost it
sweep   Monte Carlo over dies, temperature, ADC bits, read noise and age on Dask
presets list the device presets; ``--check`` simulates each against its sources' numbers

Each command parses its options, calls a study (layer 4) for the numbers, and prints and
writes what a person reads (:mod:`neuromorph.faces.reports`, :mod:`neuromorph.faces.plots`).
May import every layer below.
"""

from __future__ import annotations

import argparse
import os
import sys

from neuromorph import __version__
from neuromorph.errors import NeuromorphError
from neuromorph.faces import arguments as check

#: Exit status of a user error (argparse's own), and of an interrupted command (128 + SIGINT).
EXIT_USAGE, EXIT_INTERRUPTED = 2, 130


def _demo(args: argparse.Namespace) -> int:
    from neuromorph.faces.demo import format_table, temperature_demo

    check.check_demo(args)
    rows, info = temperature_demo(
        device=args.preset, hot_k=args.hot_k, age_s=args.age_hours * 3600.0, seed=args.seed
    )
    print("0. One crossbar, read cold and hot:")
    print(format_table(rows, info))
    if args.crossbar_only:
        return 0
    import time

    from neuromorph.faces.story import run_story

    out = args.out or os.path.join("runs", time.strftime("demo-%Y%m%d-%H%M%S"))
    print()
    run_story(
        out,
        seed=args.seed,
        epochs=args.epochs,
        hidden=args.hidden,
        hot_k=args.hot_k,
        age_hours=args.age_hours,
        retrain_epochs=args.retrain_epochs,
        distill_budgets=args.distill_budgets,
        progress=not args.quiet,
    )
    return 0


def _load_data(args):
    from neuromorph import datasets

    if args.dataset == "digits":
        return datasets.load_digits(seed=args.seed)
    if args.mnist_npz:
        return datasets.load_mnist(npz=args.mnist_npz)
    files = (args.mnist_train_images, args.mnist_train_labels, args.mnist_test_images, args.mnist_test_labels)
    return datasets.load_mnist(
        train_images=files[0], train_labels=files[1], test_images=files[2], test_labels=files[3]
    )


def _train(args: argparse.Namespace) -> int:
    check.check_train(args)
    import numpy as np

    from neuromorph._io import write_json
    from neuromorph.algorithms import ff
    from neuromorph.faces.plots import training_curve
    from neuromorph.studies.training import run_training, temperature_study

    data = _load_data(args)
    os.makedirs(args.out, exist_ok=True)
    config = ff.FFConfig(epochs=args.epochs)
    hidden = args.hidden
    result = run_training(
        data,
        mode=args.mode,
        device=args.preset,
        seed=args.seed,
        config=config,
        temperature_k=args.temperature_k,
        hidden=hidden,
        eval_every=args.eval_every,
        progress=not args.quiet,
    )
    metrics = result.metrics
    if args.mode == "software":
        model_path = result.model.save(os.path.join(args.out, "network.npz"))
    else:
        if args.heat_k is not None:
            metrics["temperature_study"] = temperature_study(
                result.model,
                data,
                config=config,
                rng=np.random.default_rng(args.seed + 1),
                hot_k=args.heat_k,
                age_hours=args.age_hours,
                retrain_epochs=args.retrain_epochs,
                progress=not args.quiet,
            )
        model_path = result.model.save(os.path.join(args.out, "chip.npz"))
    write_json(os.path.join(args.out, "metrics.json"), metrics)
    fig = training_curve(result.history, title=f"FF {args.mode}, {args.preset}, seed {args.seed}")
    fig.savefig(os.path.join(args.out, "training_curve.png"), dpi=120)
    print(
        f"{args.mode} on {data.name}: test accuracy {metrics['test_accuracy']:.2%}, train "
        f"{metrics['train_accuracy']:.2%}"
    )
    if "temperature_study" in metrics:
        t = metrics["temperature_study"]
        print(
            f"heated to {t['hot_k']:g} K and aged {t['age_hours']:g} h: "
            f"{t['accuracy_before']:.2%} -> {t['accuracy_hot_aged']:.2%}; retrained "
            f"{t['retrain_epochs']} epochs in place: {t['accuracy_retrained']:.2%}"
        )
    print(f"wrote {model_path}, metrics.json and training_curve.png in {args.out}")
    return 0


def _spice(args: argparse.Namespace) -> int:
    import numpy as np

    from neuromorph._io import atomic_open
    from neuromorph.chip import Chip
    from neuromorph.hardware import spice

    chip = Chip.load(args.chipfile)
    tile = check.check_spice(args, chip)
    if args.temperature is not None:
        chip.environment.set_temperature(args.temperature)
    xbar = chip.crossbars[args.layer]
    if args.input:
        x = np.load(args.input, allow_pickle=False)
    else:
        rng = np.random.default_rng(args.seed)
        x = rng.uniform(0.0, xbar.periphery.dac.input_full_scale, xbar.n_in)
    export = spice.export_crossbar(xbar, x, tile=tile, sense=args.sense, name=f"layer{args.layer}")
    with atomic_open(args.out, "w", encoding="ascii") as fh:
        fh.write(export.netlist)
    print(
        f"wrote {args.out}: layer {args.layer} tile {tile}, "
        f"{export.voltages.size} rows x {export.expected_currents.size} physical columns "
        f"at {export.temperature_k:g} K"
    )
    if args.run:
        got = spice.run_ngspice(export.netlist)
        want = export.expected_currents
        rel = float(np.max(np.abs(got - want)) / np.max(np.abs(want)))
        print(
            f"ngspice agrees with neuromorph's own solution to {rel:.2e} (max error relative "
            "to the largest column current)"
        )
    return 0


def _copyout(args: argparse.Namespace) -> int:
    import json

    from neuromorph import datasets
    from neuromorph.algorithms import ff
    from neuromorph.chip import Chip
    from neuromorph.faces.reports import copyout_table, write_copyout_report
    from neuromorph.studies import copyout

    methods, values = check.check_copyout(args, copyout.ALL_METHODS)
    chip = Chip.load(args.chipfile)
    data = datasets.load_digits(seed=args.seed)
    # A run folder of ``neuromorph train`` holds metrics.json beside chip.npz: the FF config
    # the chip was trained with (its label embedding) and the training meter.
    config, train_meter = None, chip.meter.as_dict()
    metrics_path = os.path.join(os.path.dirname(os.path.abspath(args.chipfile)), "metrics.json")
    if os.path.exists(metrics_path):
        with open(metrics_path) as fh:
            metrics = json.load(fh)
        if "config" in metrics:
            config = ff.FFConfig(**metrics["config"])
        train_meter = metrics.get("meter_after_training", train_meter)
    budgets = None if values is None else {m: values for m in methods}
    result = copyout.study(
        chip,
        data,
        methods=methods,
        budgets=budgets,
        seed=args.seed,
        config=config,
        train_meter=train_meter,
        progress=not args.quiet,
    )
    paths = write_copyout_report(result, args.out)
    print(copyout_table(result))
    print(f"wrote {', '.join(os.path.basename(p) for p in paths)} in {args.out}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from neuromorph.faces.reports import sweep_summary, write_sweep_plots
    from neuromorph.studies.sweep import run_sweep

    check.check_sweep(args)
    result = run_sweep(
        args.spec,
        args.out,
        scheduler=args.scheduler,
        workers=args.workers,
        retry_failed=args.retry_failed,
        progress=not args.quiet,
    )
    paths = [*result.paths.values(), *write_sweep_plots(result.rows, args.out)]
    print(sweep_summary(result))
    names = ", ".join(os.path.basename(p) for p in paths)
    print(f"wrote {names} in {args.out}")
    return 0


def _presets(args: argparse.Namespace) -> int:
    """List the presets, or (``--check``) print the preset check; 1 when any row fails."""
    from neuromorph.hardware.devices import PRESETS
    from neuromorph.studies.presets import check_presets, missing_effects

    names = args.preset or None
    if not args.check:
        if args.json:
            raise ValueError("--json must come with --check; got --json without --check.")
        for name in names or PRESETS:
            if name not in PRESETS:
                raise ValueError(f"--preset must be one of {sorted(PRESETS)}; got {name!r}.")
            first = PRESETS[name].source.strip().splitlines()[0] if PRESETS[name].source else ""
            print(f"{name:12s} {PRESETS[name].name:16s} {first}")
        return 0
    rows = check_presets(names, seed=args.seed)
    print(_check_table(rows))
    gaps = missing_effects(names)
    for name, effects in gaps.items():
        print(f"{name}: no check for {', '.join(effects)}")
    if args.json:
        import json

        from neuromorph._io import atomic_open

        with atomic_open(args.json, "w") as fh:
            json.dump([row.as_dict() for row in rows], fh, indent=2)
        print(f"wrote {args.json}")
    failed = sum(not row.ok for row in rows)
    print(f"{len(rows) - failed} of {len(rows)} rows ok" + (f", {failed} failed" if failed else ""))
    return 1 if failed or gaps else 0


def _check_table(rows) -> str:
    """The preset check as a fixed-width table, one line per row."""
    head = (
        f"{'preset':8s} {'effect':12s} {'quantity':56s} {'expected':>11s} {'simulated':>11s} {'tol':>5s}  ok"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.preset:8s} {r.effect:12s} {r.quantity[:56]:56s} {r.expected:11.4g} {r.simulated:11.4g} "
            f"{r.rel_tol:5.0%}  {'ok' if r.ok else 'FAIL'}"
        )
        lines.append(f"{'':8s} {'':12s}   source: {r.source}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The ``neuromorph`` parser: one subcommand per command of the module docstring."""
    parser = argparse.ArgumentParser(
        prog="neuromorph", description="Simulate mortal analog neuromorphic chips."
    )
    parser.add_argument("--version", action="version", version=f"neuromorph {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_demo, _add_train, _add_spice, _add_copyout, _add_sweep, _add_presets):
        add(sub)
    return parser


def _add_demo(sub) -> None:
    demo = sub.add_parser("demo", help="the whole story: train in place, heat, copy out, SPICE")
    demo.add_argument(
        "--preset",
        default="rram",
        choices=["rram", "pcm", "ideal"],
        help="device of the opening crossbar demo (the story uses rram)",
    )
    demo.add_argument("--hot-k", type=float, default=358.0, help="hot temperature, kelvin")
    demo.add_argument("--age-hours", type=float, default=24.0, help="hours aged while hot")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default=None, help="run folder (default runs/demo-<time>)")
    demo.add_argument("--force", action="store_true", help="write into a folder that holds an earlier run")
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--hidden", default="200,200")
    demo.add_argument("--retrain-epochs", type=int, default=2)
    demo.add_argument("--distill-budgets", default="200,800", help="transfer inputs, comma list")
    demo.add_argument("--crossbar-only", action="store_true", help="only the crossbar table")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)


def _add_train(sub) -> None:
    train = sub.add_parser("train", help="train with Forward-Forward and write a run folder")
    train.add_argument("--dataset", default="digits", choices=["digits", "mnist"])
    train.add_argument("--preset", default="rram", choices=["rram", "pcm", "ideal"])
    train.add_argument("--mode", default="in-place", choices=["software", "in-place", "ex-situ"])
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--epochs", type=int, default=60)
    train.add_argument("--hidden", default="500,500", help="hidden widths, comma separated")
    train.add_argument("--temperature-k", type=float, default=300.0)
    train.add_argument("--eval-every", type=int, default=10, help="test accuracy every N epochs")
    train.add_argument(
        "--heat-k",
        type=float,
        default=None,
        help="after training, heat to this temperature, age, retrain in place",
    )
    train.add_argument("--age-hours", type=float, default=24.0)
    train.add_argument("--retrain-epochs", type=int, default=2)
    train.add_argument("--out", required=True, help="run folder to write")
    train.add_argument("--force", action="store_true", help="replace an earlier run in --out")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    for name in ("train-images", "train-labels", "test-images", "test-labels", "npz"):
        train.add_argument(f"--mnist-{name}", default=None, help=f"MNIST {name} file (local)")
    train.set_defaults(func=_train)


def _add_spice(sub) -> None:
    sp = sub.add_parser("spice", help="export a crossbar tile of a saved chip to ngspice")
    sp.add_argument("chipfile")
    sp.add_argument("--layer", type=int, default=0)
    sp.add_argument("--tile", default="0,0", help="row-tile,col-tile index")
    sp.add_argument("--temperature", type=float, default=None, help="kelvin (default: saved)")
    sp.add_argument("--input", default=None, help=".npy input vector (default: seeded random)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--sense", default=None, choices=["ammeter", "tia", "resistor"])
    sp.add_argument("--out", required=True, help="netlist file to write (never the chip file)")
    sp.add_argument("--force", action="store_true", help="replace an existing netlist file")
    sp.add_argument("--run", action="store_true", help="run ngspice and compare")
    sp.set_defaults(func=_spice)


def _add_copyout(sub) -> None:
    """``neuromorph copyout CHIPFILE --out DIR [--methods ...] [--budgets ...] [--seed S] [--quiet]``.

    The training cost the copy-out is compared with, and the FF config (label embedding)
    used for predictions, come from ``metrics.json`` beside the chip file when it exists (a
    ``neuromorph train`` run folder); otherwise the chip's own saved meter and the default
    FFConfig.  The digits test split (``--seed``) gives fidelity and accuracy.
    """
    p = sub.add_parser("copyout", help="copy a saved chip out and report cost vs quality")
    p.add_argument("chipfile")
    p.add_argument("--out", required=True, help="report folder to write")
    p.add_argument("--force", action="store_true", help="replace an earlier report in --out")
    p.add_argument(
        "--methods", default="fd,designed,distill", help="comma-separated from fd, designed, distill"
    )
    p.add_argument(
        "--budgets",
        default=None,
        help="comma-separated budgets for every method (extraction: multiples of N+1 "
        "queries per layer; distill: transfer inputs); default per method",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_copyout)


def _add_sweep(sub) -> None:
    """``neuromorph sweep SPEC.toml --out DIR [--scheduler ADDRESS] [--workers N]
    [--retry-failed] [--quiet]``.

    Writes ``DIR/results.jsonl`` (incremental; rerun to resume), ``DIR/results.csv`` and the
    summary PNGs.
    """
    p = sub.add_parser("sweep", help="run a sweep of chips over dies and conditions on Dask")
    p.add_argument("spec", help="sweep spec, a TOML file")
    p.add_argument("--out", required=True, help="folder for results.jsonl, results.csv, PNGs")
    p.add_argument(
        "--scheduler", default=None, help="address of a running Dask scheduler (default: a local cluster)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=max(1, os.cpu_count() or 1),
        help="worker processes of the local cluster (default: CPU count)",
    )
    p.add_argument("--retry-failed", action="store_true", help="recompute points that failed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_sweep)


def _add_presets(sub) -> None:
    """``neuromorph presets [--check] [--json PATH] [--preset NAME ...] [--seed S]``.

    Without ``--check``: the presets and their sources' first lines.  With ``--check``: for
    every preset and effect, the quantity, its source, the source's value, the simulated
    value, the tolerance and ok/FAIL; exit status 1 when a row fails or a non-ideal preset
    lacks a check for an effect.
    """
    p = sub.add_parser("presets", help="list device presets; --check them against their sources")
    p.add_argument("--check", action="store_true", help="simulate every preset against its sources")
    p.add_argument("--json", default=None, help="with --check: write the rows to this JSON file")
    p.add_argument("--preset", action="append", default=None, help="only this preset (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_presets)


def main(argv: list[str] | None = None) -> int:
    """Run one command; a user error prints one line and returns :data:`EXIT_USAGE` (2).

    Every command checks all its arguments (:mod:`neuromorph.faces.arguments`) before it
    does any work, so a bad value costs nothing and leaves no files behind.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError, NeuromorphError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"neuromorph {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"neuromorph {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
