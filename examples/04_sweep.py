"""How is accuracy spread over fabricated dies and temperatures?  A small sweep on Dask.

Fabricates ``--dies`` RRAM chips, trains each in place with Forward-Forward, heats it to each
temperature, ages it a day there, and measures its test accuracy: one independent task per
(die, temperature) on a local Dask cluster.  Writes ``results.jsonl`` (rerun to resume),
``results.csv`` (the study) and two PNGs (drawn by the faces) into ``--out`` and prints
accuracy per temperature over dies.

Run: ``python examples/04_sweep.py --dies 8 --hidden 32 --epochs 3 --out runs/sweep``
"""

from __future__ import annotations

import argparse
import tempfile

from neuromorph.faces.reports import sweep_summary, write_sweep_plots
from neuromorph.studies import sweep


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dies", type=int, default=2)
    p.add_argument("--temperatures", default="300,358", help="kelvin, comma separated")
    p.add_argument("--hidden", type=int, default=8)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default=None, help="results folder (default: a temporary one)")
    args = p.parse_args(argv)

    spec = {
        "sweep": {"seed": 0, "name": "dies x temperature"},
        "grid": {
            "seed": list(range(args.dies)),
            "temperature_k": [float(t) for t in args.temperatures.split(",")],
        },
        "fixed": {"preset": "rram", "hidden": [args.hidden], "epochs": args.epochs, "age_hours": 24.0},
    }
    with tempfile.TemporaryDirectory() as tmp:
        result = sweep.run_sweep(spec, args.out or tmp, workers=args.workers)
        write_sweep_plots(result.rows, args.out or tmp)
        print(sweep_summary(result))
    return result.rows


if __name__ == "__main__":
    main()
