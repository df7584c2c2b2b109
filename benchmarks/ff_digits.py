"""Forward-Forward on the 8x8 digits: software, in place and ex-situ, over seeds.

The acceptance script of the chip issue.  For each seed: a software FF network, an RRAM chip
trained in place (default design: 74-500-500, 8-bit DAC/ADC, the preset's variation, stuck
devices and read noise), and an ex-situ chip (software weights programmed by write-verify);
then the temperature study on the in-place chip (heat to 358 K, age a day, retrain in place).
Prints accuracies as mean +/- std over seeds (each a chip's test score, the mean of the
re-reads the training study makes; the test-set size and the reads are printed), pulses and
programming energy per epoch, and the wall time of one in-place epoch against one software
epoch (same run).

``--update mixed`` (or ``pulse,mixed``) trains in place with mixed-precision updates
(``FFConfig(update="mixed")``: a digital accumulator sends whole device steps, Nandakumar et
al. 2020) and reports the accumulator's digital operations and memory beside the pulses;
``--modes`` picks the runs (e.g. ``software,in-place`` skips ex-situ and the temperature
study), ``--seed-list 10,11,12`` names the seeds.

Usage: ``python benchmarks/ff_digits.py [--seeds 5 | --seed-list 10,11,12] [--epochs 60]
[--preset rram] [--update pulse|mixed|pulse,mixed] [--modes software,in-place,ex-situ,temperature]
[--json PATH] [--out DIR]``
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _harness import figure, parser, report  # noqa: E402

from neuromorph import datasets  # noqa: E402
from neuromorph.algorithms import ff  # noqa: E402
from neuromorph.studies.training import run_training, temperature_study  # noqa: E402

#: The runs a seed can make, in order; the temperature study heats the first in-place chip.
MODES = ("software", "in-place", "ex-situ", "temperature")

#: Row key of an in-place run's accuracy for each update rule ("in_place" as before issue 14).
IN_PLACE_KEY = {"pulse": "in_place", "mixed": "in_place_mixed"}


def _ms(values) -> str:
    mean = 100 * statistics.mean(values)
    std = 100 * statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:6.2f} +/- {std:4.2f} %"


def _list(text: str, allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    items = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [t for t in items if t not in allowed]
    if not items or bad:
        raise SystemExit(f"--{name} must be a comma list of {list(allowed)}; got {text!r}.")
    return items


def _run_seed(seed: int, args, config: ff.FFConfig, updates, modes, hidden) -> dict:
    """Every requested run of one seed; returns its row (accuracies, pulses, meters, timings)."""
    data = datasets.load_digits(seed=seed)
    common = {"seed": seed, "hidden": hidden, "progress": False}
    row: dict = {"seed": seed, "n_test": int(data.x_test.shape[0])}
    if "software" in modes:
        t0 = time.perf_counter()
        sw = run_training(data, mode="software", config=config, **common)
        row.update(software=sw.metrics["test_accuracy"], software_total_s=time.perf_counter() - t0)
        row["reads"] = _reads(sw.metrics)
        row["software_epoch_s"] = statistics.median(sw.history.wall_seconds)
    first = None
    for update in updates if "in-place" in modes else ():
        cfg = dataclasses.replace(config, update=update)
        if update == "mixed" and args.mixed_learning_rate is not None:
            cfg = dataclasses.replace(cfg, learning_rate=args.mixed_learning_rate)
        t0 = time.perf_counter()
        ip = run_training(data, mode="in-place", device=args.preset, config=cfg, **common)
        key = IN_PLACE_KEY[update]
        row[key] = ip.metrics["test_accuracy"]
        row["reads"] = _reads(ip.metrics)
        row[f"{key}_total_s"] = time.perf_counter() - t0
        row[f"{key}_epoch_s"] = statistics.median(ip.history.wall_seconds)
        row[f"{key}_pulses_per_epoch"] = ip.metrics["pulses_per_epoch"]
        row[f"{key}_programming_energy_j"] = ip.metrics["programming_energy_j"]
        row[f"{key}_energy_j"] = ip.metrics["energy_j"]
        row[f"{key}_accumulator_ops"] = ip.history.accumulator_ops[-1] if ip.history.accumulator_ops else 0
        row[f"{key}_accumulator_bytes"] = ip.history.accumulator_bytes
        first = first or (ip, cfg)
    if "ex-situ" in modes:
        ex = run_training(data, mode="ex-situ", device=args.preset, config=config, **common)
        row.update(ex_situ=ex.metrics["test_accuracy"], ex_situ_pulses=ex.metrics["pulses"])
    if "temperature" in modes and first is not None:
        rng = np.random.default_rng(seed + 100)
        row["temperature"] = temperature_study(first[0].model, data, config=first[1], rng=rng, progress=False)
    print(f"seed {seed}: " + "  ".join(f"{k} {v:.4f}" for k, v in row.items() if _is_accuracy(k)), flush=True)
    return row


def _reads(metrics: dict) -> int:
    """Re-reads of the test split behind a run's ``test_accuracy`` (1 before scores had them)."""
    return int(metrics.get("test_score", {}).get("reads", 1))


def _is_accuracy(key: str) -> bool:
    return key in ("software", "ex_situ") or key in IN_PLACE_KEY.values()


def _summary(rows: list[dict], args, hidden, updates) -> None:
    """Print mean +/- std over seeds of every accuracy, the gaps to software, and the costs."""

    def col(key):
        return [r[key] for r in rows if key in r]

    seeds = [r["seed"] for r in rows]
    print()
    print(
        f"digits, seeds {seeds}, {args.epochs} epochs, hidden {hidden}, preset {args.preset}; "
        f"test set {rows[0]['n_test']} images, each figure the mean of {rows[0].get('reads', 1)} "
        "read(s) of it; mean +/- std over seeds"
    )
    labels = {"software": "software FF", "ex_situ": "ex-situ (write-verify)"}
    labels.update({IN_PLACE_KEY[u]: f"in-place FF ({u} updates)" for u in updates})
    for key, label in labels.items():
        if col(key):
            print(f"  {label:<28} {_ms(col(key))}")
    for update in updates:
        key = IN_PLACE_KEY[update]
        if col(key) and col("software"):
            gap = [100 * (r["software"] - r[key]) for r in rows]
            print(f"  software - in place ({update}) {statistics.mean(gap):5.2f} points")
        if col(key):
            per_epoch = {
                k: statistics.mean(col(f"{key}_{k}")) / args.epochs
                for k in ("programming_energy_j", "accumulator_ops")
            }
            print(
                f"  {update}: pulses per epoch {statistics.mean(col(key + '_pulses_per_epoch')):.3g}, "
                f"programming energy per epoch {per_epoch['programming_energy_j']:.3g} J, "
                f"accumulator ops per epoch {per_epoch['accumulator_ops']:.3g}, "
                f"accumulator memory {statistics.mean(col(key + '_accumulator_bytes')):.3g} B"
            )
    if col("temperature"):
        t = col("temperature")
        before, hot, after = (
            [s[k] for s in t] for k in ("accuracy_before", "accuracy_hot_aged", "accuracy_retrained")
        )
        print(
            f"  temperature study: before {_ms(before)}, 358 K + 1 day {_ms(hot)}, "
            f"retrained 2 epochs {_ms(after)}"
        )


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    p.add_argument("--seed-list", default=None, help="comma list of seeds (overrides --seeds)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--hidden", default="500,500")
    p.add_argument("--out", default=None, help="also write per-seed results as JSON here")
    p.add_argument("--preset", default="rram", help="device preset of the chips (default: rram)")
    p.add_argument("--update", default="pulse", help="in-place update rules: pulse, mixed or pulse,mixed")
    p.add_argument("--modes", default=",".join(MODES), help=f"comma list of {list(MODES)}")
    p.add_argument(
        "--mixed-learning-rate", type=float, default=None, help="learning rate of mixed runs (default: FF's)"
    )
    args = p.parse_args(argv)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    updates = _list(args.update, ff.UPDATES, "update")
    modes = _list(args.modes, MODES, "modes")
    seeds = [int(s) for s in args.seed_list.split(",")] if args.seed_list else list(range(args.seeds))
    config = ff.FFConfig(epochs=args.epochs)
    rows = [_run_seed(seed, args, config, updates, modes, hidden) for seed in seeds]
    _summary(rows, args, hidden, updates)
    figures = {}
    key = IN_PLACE_KEY[updates[0]]
    if "software" in modes and "in-place" in modes:
        sw_epoch = statistics.median(r["software_epoch_s"] for r in rows)
        ip_epoch = statistics.median(r[f"{key}_epoch_s"] for r in rows)
        figures["in_place_epoch"] = figure(ip_epoch, sw_epoch, "software FF epoch, same design")
    report(figures, title="benchmarks/ff_digits.py", notes=[], json_path=args.json)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "ff_digits.json"), "w") as fh:
            json.dump(rows, fh, indent=2)
    return {"rows": rows, "figures": figures}


if __name__ == "__main__":
    main()
