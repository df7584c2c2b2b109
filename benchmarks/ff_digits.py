"""Forward-Forward on the 8x8 digits: software, in place and ex-situ, over seeds.

The acceptance script of the chip issue.  For each seed: a software FF network, an RRAM chip
trained in place (default design: 74-500-500, 8-bit DAC/ADC, the preset's variation, stuck
devices and read noise), and an ex-situ chip (software weights programmed by write-verify);
then the temperature study on the in-place chip (heat to 358 K, age a day, retrain in place).
Prints accuracies as mean +/- std over seeds, pulses and programming energy per epoch, and
the wall time of one in-place epoch against one software epoch (same run).

Usage: ``python benchmarks/ff_digits.py [--seeds 5] [--epochs 60] [--json PATH] [--out DIR]``
"""

from __future__ import annotations

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


def _ms(values) -> str:
    mean = 100 * statistics.mean(values)
    std = 100 * statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:6.2f} +/- {std:4.2f} %"


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--hidden", default="500,500")
    p.add_argument("--out", default=None, help="also write per-seed results as JSON here")
    p.add_argument("--preset", default="rram", help="device preset of the chips (default: rram)")
    args = p.parse_args(argv)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    config = ff.FFConfig(epochs=args.epochs)
    rows = []
    for seed in range(args.seeds):
        data = datasets.load_digits(seed=seed)
        t0 = time.perf_counter()
        sw = run_training(data, mode="software", seed=seed, config=config, hidden=hidden, progress=False)
        t_sw = time.perf_counter() - t0
        t0 = time.perf_counter()
        ip = run_training(
            data, mode="in-place", device=args.preset, seed=seed, config=config, hidden=hidden, progress=False
        )
        t_ip = time.perf_counter() - t0
        ex = run_training(
            data, mode="ex-situ", device=args.preset, seed=seed, config=config, hidden=hidden, progress=False
        )
        study = temperature_study(
            ip.model, data, config=config, rng=np.random.default_rng(seed + 100), progress=False
        )
        row = {
            "seed": seed,
            "software": sw.metrics["test_accuracy"],
            "in_place": ip.metrics["test_accuracy"],
            "ex_situ": ex.metrics["test_accuracy"],
            "in_place_pulses_per_epoch": ip.metrics["pulses_per_epoch"],
            "in_place_programming_energy_j": ip.metrics["programming_energy_j"],
            "in_place_energy_j": ip.metrics["energy_j"],
            "ex_situ_pulses": ex.metrics["pulses"],
            "software_epoch_s": statistics.median(sw.history.wall_seconds),
            "in_place_epoch_s": statistics.median(ip.history.wall_seconds),
            "software_total_s": t_sw,
            "in_place_total_s": t_ip,
            "temperature": study,
        }
        rows.append(row)
        print(
            f"seed {seed}: software {row['software']:.4f}  in place {row['in_place']:.4f}  "
            f"ex-situ {row['ex_situ']:.4f}  hot+aged {study['accuracy_hot_aged']:.4f}  "
            f"retrained {study['accuracy_retrained']:.4f}",
            flush=True,
        )

    def col(key):
        return [r[key] for r in rows]

    print()
    print(f"digits, {args.seeds} seeds, {args.epochs} epochs, hidden {hidden}, preset {args.preset}")
    print(f"  software FF              {_ms(col('software'))}")
    print(f"  in-place FF (chip)       {_ms(col('in_place'))}")
    print(f"  ex-situ (write-verify)   {_ms(col('ex_situ'))}")
    gap = [100 * (r["software"] - r["in_place"]) for r in rows]
    print(f"  software - in place      {statistics.mean(gap):.2f} points")
    before = [r["temperature"]["accuracy_before"] for r in rows]
    hot = [r["temperature"]["accuracy_hot_aged"] for r in rows]
    after = [r["temperature"]["accuracy_retrained"] for r in rows]
    print(
        f"  temperature study: before {_ms(before)}, 358 K + 1 day {_ms(hot)}, "
        f"retrained 2 epochs {_ms(after)}"
    )
    print(
        f"  in-place pulses per epoch {statistics.mean(col('in_place_pulses_per_epoch')):.3g}, "
        f"programming energy per epoch "
        f"{statistics.mean(col('in_place_programming_energy_j')) / args.epochs:.3g} J"
    )
    sw_epoch = statistics.median(col("software_epoch_s"))
    ip_epoch = statistics.median(col("in_place_epoch_s"))
    figures = {"in_place_epoch": figure(ip_epoch, sw_epoch, "software FF epoch, same design")}
    report(figures, title="benchmarks/ff_digits.py", notes=[], json_path=args.json)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "ff_digits.json"), "w") as fh:
            json.dump(rows, fh, indent=2)
    return {"rows": rows, "figures": figures}


if __name__ == "__main__":
    main()
