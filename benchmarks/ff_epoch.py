"""Wall time of one Forward-Forward epoch in place on a chip against one in software.

Same design (74-500-500 on the 8x8 digits), same FF defaults, same seeds; the chip is the
RRAM preset with 8-bit converters and every nonideality on (so each epoch includes the
hard-negative goodness tables, the positive/negative passes and every pulse update through
the ports, metered).  Medians over epochs after a warm-up epoch (Numba compile excluded).

The BLAS kernel in use is printed.  Run under OpenBLAS's native settings:
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/ff_epoch.py``.

Usage: ``python benchmarks/ff_epoch.py [--epochs 4] [--json PATH]``
"""

from __future__ import annotations

import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _harness import blas_note, figure, parser, report  # noqa: E402

from neuromorph import datasets  # noqa: E402
from neuromorph.algorithms import ff  # noqa: E402
from neuromorph.chip import Chip, ChipDesign  # noqa: E402
from neuromorph.chip.digital import DigitalNetwork  # noqa: E402


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=4)
    args = p.parse_args(argv)
    data = datasets.load_digits(seed=0)
    sizes = (74, 500, 500)
    cfg = ff.FFConfig(epochs=1)
    net = DigitalNetwork.initialize(sizes, rng=np.random.default_rng(0))
    chip = Chip.fabricate(ChipDesign(layer_sizes=sizes), seed=0)
    ports = chip.ports()
    for layer, w in enumerate(net.weights):
        ports.program(layer, np.clip(w, -1, 1))
    sw, ip = [], []
    for epoch in range(args.epochs + 1):  # epoch 0 warms up
        rng = np.random.default_rng(epoch)
        h_sw = ff.train(net, data, cfg, rng=rng, progress=False)
        h_ip = ff.train(ports, data, cfg, rng=np.random.default_rng(epoch), progress=False)
        if epoch:
            sw.append(h_sw.wall_seconds[0])
            ip.append(h_ip.wall_seconds[0])
    figures = {
        "in_place_epoch": figure(
            statistics.median(ip), statistics.median(sw), "software FF epoch, same design, float64"
        )
    }
    report(
        figures,
        title="benchmarks/ff_epoch.py",
        json_path=args.json,
        notes=[f"{args.epochs} epochs each, interleaved; design {sizes}, RRAM, 8-bit", blas_note()],
    )
    return figures


if __name__ == "__main__":
    main()
