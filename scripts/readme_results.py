"""Regenerate the README's measured Forward-Forward and copy-out results from the benchmarks.

One command, two steps:

1. ``--run`` runs the benchmarks that produce the figures, each writing its results folder
   under ``--results`` (default ``runs/readme``)::

       benchmarks/ff_digits.py --seeds 3 --out RESULTS/ff_rram
       benchmarks/ff_digits.py --seeds 3 --preset rram_array --out RESULTS/ff_rram_array
       benchmarks/copyout.py --out RESULTS/copyout

   (about 25 minutes on the project's 2-core machine; OpenBLAS's core-type overrides are
   dropped from their environment, as the benchmarks ask).
2. It then renders the tables from those folders into ``README.md`` between the markers
   ``<!-- results:begin -->`` and ``<!-- results:end -->``.  Without ``--run`` only this step
   runs, from existing folders.  The README's figures come from ``scripts/figures.py`` (the
   deterministic demo), not from here.

Usage: ``python scripts/readme_results.py [--run] [--results DIR] [--readme PATH]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
#: The two chip presets the FF table compares: the device fit and the measured-array fit.
FF_RUNS = (
    ("ff_rram", "rram", "`rram` (device fit)"),
    ("ff_rram_array", "rram_array", "`rram_array` (measured array)"),
)
#: Seeds per FF run: three give a spread without making the command take an hour.
SEEDS = 3
#: Test images of the digits split (``neuromorph.datasets.load_digits``): each accuracy is one
#: read of this many images.
N_TEST = 360
#: Two-sided 95 % normal quantile, for the binomial interval of one accuracy.
Z95 = 1.959964


def run_benchmarks(results: Path) -> None:
    """Run the three benchmarks into ``results`` (native OpenBLAS kernel choice)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["PYTHONPATH"] = str(ROOT)
    commands = [
        ["benchmarks/ff_digits.py", "--seeds", str(SEEDS), "--preset", preset, "--out", str(results / name)]
        for name, preset, _ in FF_RUNS
    ]
    commands.append(["benchmarks/copyout.py", "--quiet", "--out", str(results / "copyout")])
    for cmd in commands:
        print("running", " ".join(cmd), flush=True)
        subprocess.run([sys.executable, *cmd], cwd=ROOT, env=env, check=True)


def _pct(values: list[float]) -> str:
    mean = 100 * statistics.mean(values)
    spread = 100 * statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.2f} +/- {spread:.2f} %"


def binomial_halfwidth(p: float, n: int = N_TEST) -> float:
    """Half-width, in points, of the 95 % normal interval of one accuracy ``p`` on ``n`` images."""
    return 100 * Z95 * math.sqrt(p * (1 - p) / n)


def ff_table(results: Path) -> str:
    """The FF table: software, in place, ex-situ and the temperature study, per preset."""
    runs = [
        (label, json.loads((results / name / "ff_digits.json").read_text())) for name, _, label in FF_RUNS
    ]
    rows = [
        ("software FF (the ideal reference)", lambda r: r["software"]),
        ("in place, Forward-Forward through the ports", lambda r: r["in_place"]),
        ("ex-situ: software weights written by program-and-verify", lambda r: r["ex_situ"]),
        ("in-place chip, 300 K, just before heating", lambda r: r["temperature"]["accuracy_before"]),
        ("... heated to 358 K and aged a day", lambda r: r["temperature"]["accuracy_hot_aged"]),
        ("... then retrained in place for 2 epochs", lambda r: r["temperature"]["accuracy_retrained"]),
    ]
    lines = ["| | " + " | ".join(label for label, _ in runs) + " |", "|---" * (len(runs) + 1) + "|"]
    for name, get in rows:
        lines.append(f"| {name} | " + " | ".join(_pct([get(r) for r in rs]) for _, rs in runs) + " |")
    pulses = " | ".join(
        f"{statistics.mean(r['in_place_pulses_per_epoch'] for r in rs):.2g}" for _, rs in runs
    )
    lines.append(f"| programming pulses per in-place epoch | {pulses} |")
    typical = statistics.mean(r["in_place"] for _, rs in runs for r in rs)
    n_seeds = len(runs[0][1])
    return (
        f"**Forward-Forward on the 8x8 digits** (`benchmarks/ff_digits.py`, 74-500-500, 60 epochs, "
        f"{n_seeds} seeds; mean +/- std over seeds).  Each accuracy is one read of {N_TEST} test images, "
        f"so one figure near {100 * typical:.0f} % carries a 95 % binomial interval of about "
        f"+/-{binomial_halfwidth(typical):.1f} points by itself:\n\n" + "\n".join(lines) + "\n"
    )


def copyout_paragraph(results: Path) -> str:
    """The copy-out figures of the digits chip from ``copyout/report.json``."""
    rep = json.loads((results / "copyout" / "report.json").read_text())
    methods = rep["methods"]

    def row(method: str, budget: float) -> dict:
        return next(r for r in methods if r["method"] == method and r["budget"] == budget)

    d4 = row("designed", 4)
    layers = ", ".join(f"{100 * e:.2f} %" for e in d4["weight_rel_rms_layers"])
    reach = sorted(r["budget"] for r in methods if r["method"] == "designed" and r["weight_rel_rms"] <= 0.01)
    var = {(v["method"], v["budget"]): v["layers"] for v in rep["variance"]}
    floor = ", ".join(f"{a['measured_over_floor']:.2f}x" for a in var[("designed", 4)])
    fd = ", ".join(
        f"{b['measured_var'] / a['measured_var']:.1f}x"
        for a, b in zip(var[("designed", 4)], var[("fd", 4)], strict=True)
    )
    dist = sorted((r for r in methods if r["method"] == "distill"), key=lambda r: r["queries"])
    best = max(dist, key=lambda r: r["fidelity"])
    chip = rep["chip"]
    return (
        f"**Copy-out** (`benchmarks/copyout.py`, the 60-epoch digits chip on `{chip['device']}`, "
        f"{100 * chip['accuracy']:.1f} % accurate on one read; it agrees with itself on "
        f"{100 * chip['self_agreement']:.1f} % of a second read): designed probes at 4(N+1) queries per "
        f"layer ({d4['queries']:,} in all) give relative weight errors of {layers} (layer by layer) "
        f"and a copy that agrees with the chip on {100 * d4['fidelity']:.1f} % of test digits, with "
        f"variances {floor} the floor sigma^2/(K a^2); "
        + (
            f"every layer is within 1 % from {reach[0]:g}(N+1) queries. "
            if reach
            else "no budget tried reaches 1 % in every layer. "
        )
        + f"One-hot finite differences at the same budget have {fd} the designed probes' variance.  "
        f"Distillation's best fidelity is {100 * best['fidelity']:.1f} % ({best['queries']:,} queries).\n"
    )


def render(results: Path, readme: Path) -> None:
    """Write the tables into ``readme`` between the markers."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme} must hold the markers {BEGIN} and {END}")
    block = (
        f"{BEGIN}\n<!-- generated by scripts/readme_results.py; do not edit by hand -->\n\n"
        + ff_table(results)
        + "\n"
        + copyout_paragraph(results)
        + END
    )
    head, rest = text.split(BEGIN, 1)
    readme.write_text(head + block + rest.split(END, 1)[1])
    print(f"wrote the results into {readme}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", action="store_true", help="run the benchmarks first (~25 min)")
    p.add_argument("--results", default=str(ROOT / "runs" / "readme"), help="benchmark results folder")
    p.add_argument("--readme", default=str(ROOT / "README.md"))
    args = p.parse_args(argv)
    results = Path(args.results)
    if args.run:
        results.mkdir(parents=True, exist_ok=True)
        run_benchmarks(results)
    render(results, Path(args.readme))


if __name__ == "__main__":
    main()
