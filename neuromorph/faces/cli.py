"""Command line: ``neuromorph <command>`` (layer 5).

Commands
--------
demo    fabricate a crossbar, read it at two temperatures, print what changed
train   train with Forward-Forward in software, in place on a chip, or ex-situ
spice   export one crossbar tile of a saved chip as an ngspice netlist (and run it)
copyout copy a saved chip out (finite differences, designed probes, distillation) and cost it
sweep   Monte Carlo over dies, temperature, ADC bits, read noise and age on Dask
"""

from __future__ import annotations

import argparse
import os
import sys

from neuromorph import __version__
from neuromorph.errors import NeuromorphError


def _demo(args: argparse.Namespace) -> int:
    from neuromorph.faces.demo import format_table, temperature_demo

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
        hidden=tuple(int(h) for h in args.hidden.split(",")),
        hot_k=args.hot_k,
        age_hours=args.age_hours,
        retrain_epochs=args.retrain_epochs,
        distill_budgets=tuple(int(b) for b in args.distill_budgets.split(",")),
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
    import os

    import numpy as np

    from neuromorph.algorithms import ff
    from neuromorph.faces.plots import training_curve
    from neuromorph.studies.training import run_training, temperature_study, write_json

    data = _load_data(args)
    os.makedirs(args.out, exist_ok=True)
    config = ff.FFConfig(epochs=args.epochs)
    hidden = tuple(int(h) for h in args.hidden.split(","))
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

    from neuromorph.chip import Chip
    from neuromorph.hardware import spice

    chip = Chip.load(args.chipfile)
    if not 0 <= args.layer < chip.n_layers:
        raise ValueError(f"--layer must be in 0..{chip.n_layers - 1}; got {args.layer}.")
    if args.temperature is not None:
        chip.environment.set_temperature(args.temperature)
    xbar = chip.crossbars[args.layer]
    if args.input:
        x = np.load(args.input, allow_pickle=False)
    else:
        rng = np.random.default_rng(args.seed)
        x = rng.uniform(0.0, xbar.periphery.dac.input_full_scale, xbar.n_in)
    tile = tuple(int(t) for t in args.tile.split(","))
    export = spice.export_crossbar(
        xbar, x, tile=tile, sense=args.sense, path=args.out, name=f"layer{args.layer}"
    )
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuromorph", description="Simulate mortal analog neuromorphic chips."
    )
    parser.add_argument("--version", action="version", version=f"neuromorph {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
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
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--hidden", default="200,200")
    demo.add_argument("--retrain-epochs", type=int, default=2)
    demo.add_argument("--distill-budgets", default="200,800", help="transfer inputs, comma list")
    demo.add_argument("--crossbar-only", action="store_true", help="only the crossbar table")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)

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
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    for name in ("train-images", "train-labels", "test-images", "test-labels", "npz"):
        train.add_argument(f"--mnist-{name}", default=None, help=f"MNIST {name} file (local)")
    train.set_defaults(func=_train)

    sp = sub.add_parser("spice", help="export a crossbar tile of a saved chip to ngspice")
    sp.add_argument("chipfile")
    sp.add_argument("--layer", type=int, default=0)
    sp.add_argument("--tile", default="0,0", help="row-tile,col-tile index")
    sp.add_argument("--temperature", type=float, default=None, help="kelvin (default: saved)")
    sp.add_argument("--input", default=None, help=".npy input vector (default: seeded random)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--sense", default=None, choices=["ammeter", "tia", "resistor"])
    sp.add_argument("--out", required=True, help="netlist file to write")
    sp.add_argument("--run", action="store_true", help="run ngspice and compare")
    sp.set_defaults(func=_spice)

    from neuromorph.studies import copyout, sweep

    copyout.register_cli(sub)
    sweep.register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError, NeuromorphError) as exc:
        print(f"neuromorph {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
