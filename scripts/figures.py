"""Regenerate ``docs/figures/`` from the current code: one run of ``neuromorph demo``.

The README's figures are what the deterministic demo draws (seed 0, its default sizes), so
this script runs exactly that command into a temporary run folder and copies its figures
into ``docs/figures/`` under the names the README links:

====================================  ===============================================
``training_curve.png``                chip A trained in place: loss, test accuracy
``conductance_layer0.png``            chip A's layer-0 conductances, stuck devices
``temperature.png``                   chip A heated, aged and retrained
``fidelity_vs_queries.png``           copy-out: disagreement with the chip vs queries
``weight_error_vs_queries.png``       copy-out: weight error vs queries
``spice_agreement.png``               ngspice against neuromorph on chip A's tile
====================================  ===============================================

Full mode takes the demo's time (a few minutes on two cores) and needs ngspice for the last
figure; ``--quick`` runs the demo at toy sizes (2 epochs, 16-16 hidden units) in seconds, to
check that the script and every figure still work (the tests run it).

Usage: ``python scripts/figures.py [--quick] [--out DIR]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Figures of a demo run folder (path inside it) and their names in ``docs/figures/``.
FIGURES = (
    ("training_curve.png", "training_curve.png"),
    ("conductance_layer0.png", "conductance_layer0.png"),
    ("temperature.png", "temperature.png"),
    ("copyout/fidelity_vs_queries.png", "fidelity_vs_queries.png"),
    ("copyout/weight_error_vs_queries.png", "weight_error_vs_queries.png"),
    ("spice_agreement.png", "spice_agreement.png"),
)
#: Toy sizes of ``--quick``: enough for every step and figure of the story, in seconds.
QUICK_ARGS = ("--epochs", "2", "--hidden", "16,16", "--retrain-epochs", "1", "--distill-budgets", "20")


def regenerate(out: Path, *, quick: bool = False) -> list[Path]:
    """Run the demo (``--quick``: at toy sizes) and copy its figures into ``out``; return them.

    Raises
    ------
    RuntimeError
        If the demo fails or leaves out a figure (ngspice missing: no ``spice_agreement.png``).
    """
    sys.path.insert(0, str(ROOT))
    from neuromorph.faces import cli

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="neuromorph-figures-") as tmp:
        run = Path(tmp) / "demo"
        code = cli.main(["demo", "--quiet", "--out", str(run), *(QUICK_ARGS if quick else ())])
        if code != 0:
            raise RuntimeError(f"neuromorph demo must succeed; got exit code {code}.")
        missing = [src for src, _ in FIGURES if not (run / src).is_file()]
        if missing:
            raise RuntimeError(f"the demo must draw every figure; got none of {missing}.")
        written = []
        for src, dst in FIGURES:
            shutil.copyfile(run / src, out / dst)
            written.append(out / dst)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="toy sizes, seconds (a check, not the figures)")
    p.add_argument("--out", default=str(ROOT / "docs" / "figures"), help="folder the figures go to")
    args = p.parse_args(argv)
    written = regenerate(Path(args.out), quick=args.quick)
    print(f"wrote {len(written)} figures into {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
