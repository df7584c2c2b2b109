"""03: copy a chip's weights out through its taps, and write them onto another chip.

Fabricates an RRAM chip (8-bit DAC and ADC, 1 % read noise), programs random weights by
write-verify, then copies it out through its ports only: one-hot finite differences and
designed +/-a probes at the same budget of 4(N+1) queries per layer.  Prints each copy's
relative weight error against the chip's true effective weights (which only the scorer
reads) and what the copy-out spent, then programs the better copy onto a second chip.

Run: ``python examples/03_copy_out.py [--inputs 64 --hidden 128]``
"""

from __future__ import annotations

import argparse

import numpy as np

from neuromorph.algorithms.distill import copy_in
from neuromorph.algorithms.extract import extract
from neuromorph.chip import Chip, ChipDesign
from neuromorph.studies.scoring import weight_errors


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--budget", type=float, default=4.0, help="queries per layer / (N+1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    design = ChipDesign(layer_sizes=(args.inputs, args.hidden, args.hidden))
    chip = Chip.fabricate(design, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    ports = chip.ports()
    sizes = design.layer_sizes
    for layer in range(len(sizes) - 1):
        w = rng.normal(0.0, 2.0 / np.sqrt(sizes[layer] + 1), (sizes[layer] + 1, sizes[layer + 1]))
        ports.program(layer, np.clip(w, -design.w_max, design.w_max))

    true = chip.effective_weights()  # the scorer's view: hidden from the extractor
    results = {}
    for method in ("fd", "designed"):
        copy = extract(ports, method=method, budget=args.budget, design=design, rng=rng, progress=False)
        rel = weight_errors(copy.network.weights, true)
        results[method] = {"rel_rms": rel, "queries": copy.spent.queries, "energy_j": copy.spent.energy_j}
        print(
            f"{method:>8}: {copy.spent.queries} queries, {copy.spent.energy_j:.2e} J, relative RMS "
            f"weight error per layer {[f'{e:.4f}' for e in rel]}"
        )
        if method == "designed":
            best = copy.network
    second = Chip.fabricate(design, seed=args.seed + 1)
    written = copy_in(best.plain(), second.ports())
    print(f"copied onto a second chip: {written.spent.pulses} pulses, {written.clipped} weights clipped")
    results["copy_in_pulses"] = written.spent.pulses
    return results


if __name__ == "__main__":
    main()
