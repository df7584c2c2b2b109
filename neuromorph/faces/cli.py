"""Command line: ``neuromorph <command>`` (layer 5, faces).

Commands
--------
demo    fabricate a crossbar, read it at two temperatures, print what changed
train   train with Forward-Forward in software, in place on a chip, or ex-situ
spice   export one crossbar tile of a saved chip as an ngspice netlist (and run it)
copyout copy a saved chip out (finite differences, designed probes, distillation) and cost it
lifetime age a saved chip along temperatures and times; its accuracy, copy-out deadline and cost
sweep   Monte Carlo over dies, temperature, ADC bits, read noise and age on Dask
presets list the device presets; ``--check`` simulates each against its sources' numbers

``neuromorph`` alone prints the help and exits with status 0.  Every option's help gives its
units and its default; temperatures are in kelvin, ``--temperature-k`` for the die's and
``--hot-k`` for the heat study's (:mod:`neuromorph.faces.arguments` lists the deprecated
older names).  :func:`build_parser` builds the parser without side effects (the docs render
the command-line reference from it).

Each command parses its options, calls a study (layer 4) for the numbers, and prints and
writes what a person reads (:mod:`neuromorph.faces.reports`, :mod:`neuromorph.faces.plots`).
Every accuracy printed is :func:`neuromorph.studies.scoring.score_accuracy`'s (mean ± std over
R re-reads of the n test images, with a 95 % interval), and a saved chip is scored on the
split it was trained on (:mod:`neuromorph.faces.runs`), so one chip state gives one figure.
May import every layer below.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from neuromorph import __version__
from neuromorph.errors import NeuromorphError
from neuromorph.faces import arguments as check

#: Exit status of a user error (argparse's own), and of an interrupted command (128 + SIGINT).
EXIT_USAGE, EXIT_INTERRUPTED = 2, 130
#: Width the subcommands' descriptions are wrapped to, characters (argparse's own default
#: for a terminal of 80 columns, less its margin).
HELP_WIDTH = 78
#: ``spice --run``'s default limit on ngspice, seconds: about five times the slowest run seen
#: (a wired 101 x 200 tile, 113 s), so a whole tile finishes and a hung run ends the command.
SPICE_TIMEOUT_S = 600.0


def _demo(args: argparse.Namespace) -> int:
    from neuromorph.faces.demo import format_table, temperature_demo

    check.check_demo(args)
    rows, info = temperature_demo(
        device=args.preset, hot_k=args.hot_k, age_s=args.age_hours * 3600.0, seed=args.seed
    )
    print("0. One crossbar, read cold and hot:", flush=True)
    print(format_table(rows, info))
    if args.crossbar_only:
        return 0
    import time

    from neuromorph.faces.story import run_story

    out = args.out or os.path.join("runs", time.strftime("demo-%Y%m%d-%H%M%S"))
    print()
    run_story(
        out,
        device=args.preset,
        wires=args.wires,
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
    """The data set of ``train``; a bad MNIST file is reported under its option's name."""
    from neuromorph import datasets

    if args.dataset == "digits":
        return datasets.load_digits(seed=args.seed)
    if args.mnist_npz:
        try:
            return datasets.load_mnist(npz=args.mnist_npz)
        except ValueError as exc:
            raise ValueError(
                "--mnist-npz must be an .npz holding x_train, y_train, x_test and y_test; got "
                f"{args.mnist_npz!r} ({exc})"
            ) from None
    files = (args.mnist_train_images, args.mnist_train_labels, args.mnist_test_images, args.mnist_test_labels)
    try:
        return datasets.load_mnist(
            train_images=files[0], train_labels=files[1], test_images=files[2], test_labels=files[3]
        )
    except ValueError as exc:
        raise ValueError(
            f"--mnist-{{train,test}}-{{images,labels}} must be MNIST IDX files; got {exc}"
        ) from None


def _train(args: argparse.Namespace) -> int:
    check.check_train(args)
    import numpy as np

    from neuromorph._io import write_json
    from neuromorph.algorithms import ff
    from neuromorph.faces.plots import display_name, training_curve
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
        wires=args.wires,
    )
    metrics = result.metrics
    if args.wires is not None:
        metrics["wires"] = dataclasses.asdict(args.wires)
    if args.mode == "software":
        model_path = result.model.save(os.path.join(args.out, "network.npz"))
    else:
        if args.hot_k is not None:
            metrics["temperature_study"] = temperature_study(
                result.model,
                data,
                config=config,
                rng=np.random.default_rng(args.seed + 1),
                hot_k=args.hot_k,
                age_hours=args.age_hours,
                retrain_epochs=args.retrain_epochs,
                progress=not args.quiet,
            )
        model_path = result.model.save(os.path.join(args.out, "chip.npz"))
    write_json(os.path.join(args.out, "metrics.json"), metrics)
    where = f"{display_name(args.preset)}, {args.temperature_k:g} K, " if args.mode != "software" else ""
    curve = {"n_test": len(data.y_test), "title": f"Forward-Forward {args.mode} ({where}seed {args.seed})"}
    if args.mode == "ex-situ":  # the curve is the software network's; the chip scores once
        curve["title"] = f"Forward-Forward in software, then programmed onto a chip ({where}seed {args.seed})"
        curve["curve_label"] = "software network, before programming"
        curve["chip_accuracy"] = metrics["test_accuracy"]
    fig = training_curve(result.history, **curve)
    fig.savefig(os.path.join(args.out, "training_curve.png"), dpi=120)
    print(f"{args.mode} on {data.name}: test accuracy {metrics['test_score']['text']}")
    print(f"  train split: {metrics['train_score']['text']}")
    if "temperature_study" in metrics:
        t = metrics["temperature_study"]
        print(
            f"heated to {t['hot_k']:g} K and aged {t['age_hours']:g} h: "
            f"{t['accuracy_before']:.2%} -> {t['accuracy_hot_aged']:.2%}; retrained "
            f"{t['retrain_epochs']} epochs in place: {t['scores']['accuracy_retrained']['text']}"
        )
    print(f"wrote {model_path}, metrics.json and training_curve.png in {args.out}")
    return 0


def _spice(args: argparse.Namespace) -> int:
    import numpy as np

    from neuromorph._io import atomic_open
    from neuromorph.chip import Chip
    from neuromorph.chip.export import export_spice
    from neuromorph.faces.demo import run_ngspice_check

    chip = Chip.load(args.chipfile)
    tile = check.check_spice(args, chip)
    if args.temperature_k is not None:
        chip.environment.set_temperature(args.temperature_k)
    source = {"x": np.load(args.input, allow_pickle=False)} if args.input else {"seed": args.seed}
    export = export_spice(
        chip, args.layer, tile=tile, window=args.window, wires=args.wires, sense=args.sense, **source
    )
    with atomic_open(args.out, "w", encoding="ascii") as fh:
        fh.write(export.netlist)
    print(
        f"wrote {args.out}: layer {args.layer} tile {tile}, "
        f"{export.voltages.size} rows x {export.expected_currents.size} physical columns "
        f"at {export.temperature_k:g} K"
    )
    if args.run:
        rel, _ = run_ngspice_check(export, say=print, timeout_s=args.timeout or None)
        print(
            f"ngspice agrees with neuromorph's own solution to {rel:.2e} (max error relative "
            "to the largest column current)"
        )
    return 0


def _copyout(args: argparse.Namespace) -> int:
    from neuromorph import datasets
    from neuromorph.chip import Chip
    from neuromorph.faces.reports import copyout_table, write_copyout_report
    from neuromorph.faces.runs import run_context
    from neuromorph.studies import copyout

    methods, values = check.check_copyout(args, copyout.ALL_METHODS)
    chip = Chip.load(args.chipfile)
    # A train run folder holds metrics.json beside chip.npz: split seed, FF config, training meter.
    context = run_context(args.chipfile, chip, split_seed=args.split_seed)
    data = datasets.load_digits(seed=context.split_seed)
    budgets = None if values is None else {m: values for m in methods}
    result = copyout.study(
        chip,
        data,
        methods=methods,
        budgets=budgets,
        seed=args.seed,
        config=context.config,
        train_meter=context.train_meter,
        progress=not args.quiet,
    )
    paths = write_copyout_report(result, args.out)
    accuracy = result["chip"]["accuracy_score"]["text"]
    print(f"chip accuracy: {accuracy} (digits split seed {context.split_seed})")
    print(copyout_table(result))
    print(f"wrote {', '.join(os.path.basename(p) for p in paths)} in {args.out}")
    return 0


def _lifetime(args: argparse.Namespace) -> int:
    from neuromorph.faces import lifetime

    return lifetime.run(args)


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
    """The ``neuromorph`` parser: one subcommand per command of the module docstring.

    Side-effect free (it reads no file and fabricates nothing), so documentation tools may
    build it to render the command-line reference.  Every option's help states its units
    and ends with its default (:class:`~neuromorph.faces.arguments.HelpFormatter`).
    """
    parser = argparse.ArgumentParser(
        prog="neuromorph",
        description="Simulate mortal analog neuromorphic chips.  `neuromorph` alone prints this help.",
        formatter_class=check.HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"neuromorph {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for add in (_add_demo, _add_train, _add_spice, _add_copyout, _add_lifetime, _add_sweep, _add_presets):
        add(sub)
    return parser


def _command(
    sub, name: str, summary: str, description: str = "", epilog: str = ""
) -> argparse.ArgumentParser:
    """A subcommand parser with the house help formatter (its description wrapped here)."""
    import textwrap

    return sub.add_parser(
        name,
        help=summary,
        description=textwrap.fill(f"{summary[0].upper()}{summary[1:]}.{description}", HELP_WIDTH),
        epilog=epilog or None,
        formatter_class=check.HelpFormatter,
    )


def _add_seed(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--seed", type=int, default=0, help=f"seed of {what}, an integer >= 0")


def _add_wires(p: argparse.ArgumentParser, *, for_spice: bool = False, more: str = "") -> None:
    """``--wires NODE``: NeuroSim's wires at a CMOS node; ``--wires`` alone: the cited node."""
    other = "'chip' for the chip's own wires" if for_spice else "'none' for ideal wiring"
    p.add_argument(
        "--wires",
        nargs="?",
        const=check.DEFAULT_WIRES,
        default=check.CHIP_WIRES if for_spice else "none",
        choices=check.wire_choices(for_spice=for_spice),
        metavar="NODE",
        help=f"wires of every tile: {other}, or a CMOS node (7nm..130nm) whose per-segment "
        "resistance is NeuroSim's wire table for a 2F cross-point cell "
        f"({check.wires_text(check.DEFAULT_WIRES)} at {check.DEFAULT_WIRES}); --wires alone "
        f"means {check.DEFAULT_WIRES}, NeuroSim's own default node{more}",
    )


def _add_demo(sub) -> None:
    from neuromorph.faces.demo import DEMO_SPICE_WINDOW

    demo = _command(
        sub,
        "demo",
        "the whole story: train in place, heat, copy out, SPICE",
        "  One crossbar read cold and hot, then two chips of 74 inputs (64 pixels of the 8x8 "
        "digits and 10 label inputs, the label one-hot as Forward-Forward embeds it) and the "
        "layers of --hidden: chip A is trained in place, heated, aged, retrained, copied out "
        "and onto chip B, and a wired window of its first tile is checked against ngspice.",
    )
    demo.add_argument(
        "--preset",
        type=check.preset_name,
        default="rram",
        choices=check.PRESET_CHOICES,
        help="device preset of every crossbar: the opening crossbar and chips A and B",
    )
    demo.add_argument("--hot-k", type=float, default=358.0, help="hot temperature of the heat study, kelvin")
    demo.add_argument("--age-hours", type=float, default=24.0, help="time aged at --hot-k, hours")
    _add_seed(demo, "the dies (chip B: seed + 1), the digits split and every random draw")
    demo.add_argument("--out", default=None, help="run folder (default: runs/demo-<date>-<time>)")
    demo.add_argument("--force", action="store_true", help="write into a folder that holds an earlier run")
    demo.add_argument(
        "--epochs", type=int, default=30, help="Forward-Forward epochs training chip A in place"
    )
    demo.add_argument("--hidden", default="200,200", help="hidden layer widths of the chips, comma-separated")
    demo.add_argument(
        "--retrain-epochs", type=int, default=2, help="epochs retraining chip A in place after heat and age"
    )
    demo.add_argument(
        "--distill-budgets",
        default="200,800",
        help="distillation budgets, transfer inputs per copy, comma-separated",
    )
    _add_wires(
        demo,
        more="; the SPICE step always runs a wired "
        f"{DEMO_SPICE_WINDOW[0]}x{2 * DEMO_SPICE_WINDOW[1]} window (these wires, "
        f"else {check.DEFAULT_WIRES})",
    )
    demo.add_argument("--crossbar-only", action="store_true", help="print only the opening crossbar table")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)


def _add_train(sub) -> None:
    train = _command(
        sub,
        "train",
        "train with Forward-Forward and write a run folder",
        "  The chip's first layer takes the pixels and 10 label inputs (74 for the 8x8 digits, "
        "794 for MNIST); the run folder gets the model, metrics.json and training_curve.png.",
    )
    train.add_argument(
        "--dataset",
        default="digits",
        choices=["digits", "mnist"],
        help="bundled 8x8 digits (64 pixels), or MNIST from local files (784 pixels)",
    )
    train.add_argument(
        "--preset",
        type=check.preset_name,
        default="rram",
        choices=check.PRESET_CHOICES,
        help="device preset of the chip",
    )
    train.add_argument(
        "--mode",
        default="in-place",
        choices=["software", "in-place", "ex-situ"],
        help="software: a digital network; in-place: trained on the chip through its ports; "
        "ex-situ: trained in software, then written onto the chip",
    )
    _add_seed(train, "the die, the data split and every training draw")
    train.add_argument("--epochs", type=int, default=60, help="Forward-Forward epochs")
    train.add_argument("--hidden", default="500,500", help="hidden layer widths, comma-separated")
    train.add_argument(
        "--temperature-k", type=float, default=300.0, help="the die's temperature while training, kelvin"
    )
    train.add_argument(
        "--eval-every", type=int, default=10, help="test accuracy every N epochs (0: at the end only)"
    )
    train.add_argument(
        "--hot-k",
        type=float,
        default=None,
        help="after training, heat the die to this temperature, kelvin, age it --age-hours and "
        "retrain it in place (default: no heat study)",
    )
    check.add_deprecated_alias(train, "--heat-k", "--hot-k", dest="hot_k", type=float, units="kelvin")
    train.add_argument("--age-hours", type=float, default=24.0, help="time aged at --hot-k, hours")
    train.add_argument(
        "--retrain-epochs", type=int, default=2, help="epochs retraining in place after heat and age"
    )
    _add_wires(train)
    train.add_argument("--out", required=True, help="run folder to write")
    train.add_argument("--force", action="store_true", help="replace an earlier run in --out")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    for name in ("train-images", "train-labels", "test-images", "test-labels"):
        train.add_argument(
            f"--mnist-{name}", default=None, help=f"MNIST {name} IDX file, .gz or raw (default: none)"
        )
    train.add_argument(
        "--mnist-npz",
        default=None,
        help="MNIST as one .npz with x_train, y_train, x_test, y_test (default: none)",
    )
    train.set_defaults(func=_train)


def _add_spice(sub) -> None:
    sp = _command(
        sub,
        "spice",
        "export a crossbar tile of a saved chip to ngspice",
        "  The tile as it is now (its conductances at the chip's temperature and age) with "
        "the simulator's own solution of the same circuit beside it; --run checks ngspice "
        "against it and says beforehand roughly how long ngspice will take.",
    )
    sp.add_argument("chipfile", help="chip file (.npz) written by train, demo or Chip.save")
    sp.add_argument("--layer", type=int, default=0, help="layer index, 0 the input layer")
    sp.add_argument("--tile", default="0,0", metavar="ROW,COL", help="physical tile, 'row-tile,col-tile'")
    sp.add_argument(
        "--window",
        default=None,
        metavar="ROWS,COLS",
        help="export only the tile's first ROWS rows and COLS weight columns (2 COLS physical "
        "columns), 'ROWS,COLS'; ngspice's time grows about as the cube of the cell count "
        "(default: the whole tile)",
    )
    sp.add_argument(
        "--temperature-k",
        type=float,
        default=None,
        help="the die's temperature for the export, kelvin (default: the temperature saved in the chip file)",
    )
    check.add_deprecated_alias(
        sp, "--temperature", "--temperature-k", dest="temperature_k", type=float, units="kelvin"
    )
    sp.add_argument(
        "--input",
        default=None,
        help=".npy vector of the layer's inputs in input units, bias row optional "
        "(default: uniform random from --seed)",
    )
    _add_seed(sp, "the random input vector")
    sp.add_argument(
        "--sense",
        default=None,
        choices=["ammeter", "tia", "resistor"],
        help="column sense of the netlist: a 0 V ammeter, an op-amp transimpedance stage, or the "
        "wires' sense resistor (default: resistor when the wires sense by resistor, else ammeter)",
    )
    _add_wires(sp, for_spice=True)
    sp.add_argument("--out", required=True, help="netlist file to write (never the chip file)")
    sp.add_argument("--force", action="store_true", help="replace an existing netlist file")
    sp.add_argument(
        "--run", action="store_true", help="run ngspice and compare with neuromorph's own solution"
    )
    sp.add_argument(
        "--timeout",
        type=float,
        default=SPICE_TIMEOUT_S,
        metavar="SECONDS",
        help=f"with --run, halt ngspice and fail after this many seconds, 0 for no limit "
        f"(default: {SPICE_TIMEOUT_S:g})",
    )
    sp.set_defaults(func=_spice)


def _add_copyout(sub) -> None:
    """``neuromorph copyout CHIPFILE --out DIR [--methods ...] [--budgets ...] [--seed S] [--quiet]``.

    The training cost the copy-out is compared with, and the FF config (label embedding)
    used for predictions, come from ``metrics.json`` beside the chip file when it exists (a
    ``neuromorph train`` run folder); otherwise the chip's own saved meter and the default
    FFConfig.  The digits test split (``--seed``) gives fidelity and accuracy.
    """
    from neuromorph.studies.copyout import DEFAULT_BUDGETS

    per_method = "; ".join(f"{m} {','.join(f'{b:g}' for b in v)}" for m, v in DEFAULT_BUDGETS.items())
    p = _command(
        sub,
        "copyout",
        "copy a saved chip out and report cost vs quality",
        "  The training cost and FF config come from metrics.json beside the chip file when "
        "it is a train run folder.",
    )
    p.add_argument("chipfile", help="chip file (.npz) to copy out")
    p.add_argument("--out", required=True, help="report folder to write")
    p.add_argument("--force", action="store_true", help="replace an earlier report in --out")
    p.add_argument(
        "--methods",
        default="fd,designed,distill",
        help="comma-separated from fd (finite differences), designed (designed probes), "
        "distill (distillation)",
    )
    p.add_argument(
        "--budgets",
        default=None,
        help="comma-separated budgets for every method: extraction in multiples of N+1 "
        f"queries per layer, distillation in transfer inputs (default: per method, {per_method})",
    )
    _add_seed(p, "every probe and transfer input")
    p.add_argument(
        "--split-seed",
        type=int,
        default=None,
        help="seed of the digits train/test split (default: the training seed in metrics.json "
        "beside the chip file, else the chip's fabrication seed)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_copyout)


def _add_lifetime(sub) -> None:
    """``neuromorph lifetime CHIPFILE --out DIR [--temperatures-k ...] [--ages-s ...] ...``
    (the options: :func:`neuromorph.faces.lifetime.add_options`)."""
    from neuromorph.faces import lifetime

    p = _command(
        sub,
        "lifetime",
        "age a saved chip along temperatures and times, and find its copy-out deadline",
        "  Every temperature ages a copy of the chip from the state saved; each age is scored "
        "by R re-reads of the test split the chip was trained on; the chip is copied out by "
        "designed probes when fresh and at the copy-out ages.",
    )
    lifetime.add_options(p)
    p.set_defaults(func=_lifetime)


def _add_sweep(sub) -> None:
    """``neuromorph sweep SPEC.toml --out DIR [--scheduler ADDRESS] [--workers N]
    [--retry-failed] [--quiet]``.

    Writes ``DIR/results.jsonl`` (incremental; rerun to resume), ``DIR/results.csv`` and the
    summary PNGs.
    """
    from neuromorph.studies.sweep.spec import PARAMETERS

    keys = "\n".join(
        f"  {k:20s} {meaning} (default: {default!r})" for k, (default, meaning) in PARAMETERS.items()
    )
    p = _command(
        sub,
        "sweep",
        "run a sweep of chips over dies and conditions on Dask",
        "  Every point fabricates a die, trains it in place, stresses it and measures it; "
        "results.jsonl grows as points finish (rerun to resume).",
        epilog=f"spec keys (in [grid], [fixed] or [sample] of the TOML file):\n{keys}",
    )
    p.add_argument("spec", help="sweep spec, a TOML file (keys below)")
    p.add_argument("--out", required=True, help="folder for results.jsonl, results.csv and the PNGs")
    p.add_argument(
        "--scheduler", default=None, help="address of a running Dask scheduler (default: a local cluster)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes of the local cluster (default: the CPU count)",
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
    p = _command(
        sub,
        "presets",
        "list device presets; --check them against their sources",
        "  With --check the exit status is 1 when a row fails or a preset lacks a check.",
    )
    p.add_argument("--check", action="store_true", help="simulate every preset against its sources")
    p.add_argument(
        "--json", default=None, help="with --check: write the rows to this JSON file (default: none)"
    )
    p.add_argument(
        "--preset",
        action="append",
        type=check.preset_name,
        choices=check.PRESET_CHOICES,
        default=None,
        help="only this preset, repeatable (default: every preset)",
    )
    _add_seed(p, "the preset check's simulations")
    p.set_defaults(func=_presets)


def main(argv: list[str] | None = None) -> int:
    """Run one command; a user error prints one line and returns :data:`EXIT_USAGE` (2).

    ``neuromorph`` without a command prints the help and returns 0 (asking for nothing is not
    an error).  Every command checks all its arguments (:mod:`neuromorph.faces.arguments`)
    before it does any work, so a bad value costs nothing and leaves no files behind.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
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
