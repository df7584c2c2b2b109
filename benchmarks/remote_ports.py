"""Cost of the process boundary: a chip served in its own process against in-process ports.

Same chip (74-500-500 digits design, RRAM preset, 8-bit converters, every nonideality on),
same seeds, two ports: ``chip.ports()`` (in process) and ``chip.serve()`` (a server process;
every operation a round trip over a socket pair with pickled arrays).  Figures: one
Forward-Forward epoch (hard-negative goodness tables, positive/negative passes, pulse updates,
refresh) and one designed extraction at 4 (N + 1) queries per layer, medians over repeats
after a warm-up, interleaved; plus the server's start-up and close (chip state both ways).

Usage: ``python benchmarks/remote_ports.py [--repeats 3] [--json PATH]``
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _harness import figure, parser, report  # noqa: E402

from neuromorph import datasets  # noqa: E402
from neuromorph.algorithms import extract as ex  # noqa: E402
from neuromorph.algorithms import ff  # noqa: E402
from neuromorph.chip import Chip, ChipDesign  # noqa: E402

SIZES = (74, 500, 500)


def _programmed_chip() -> Chip:
    chip = Chip.fabricate(ChipDesign(layer_sizes=SIZES), seed=0)
    ports = chip.ports()
    weights = ff.initial_weights(SIZES, config=ff.FFConfig(), rng=np.random.default_rng(0), w_max=1.0)
    for layer, w in enumerate(weights):
        ports.program(layer, w)
    return chip


def _pair(work, local_ports, remote_ports, repeats: int) -> tuple[float, float]:
    """Medians of ``work(remote)`` and ``work(local)`` over ``repeats``, interleaved, after one
    untimed warm-up of each (Numba compile and caches)."""
    work(local_ports, -1)
    work(remote_ports, -1)
    far, near = [], []
    for r in range(repeats):
        t0 = time.perf_counter()
        work(remote_ports, r)
        far.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        work(local_ports, r)
        near.append(time.perf_counter() - t0)
    return statistics.median(far), statistics.median(near)


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.set_defaults(repeats=3)
    args = p.parse_args(argv)
    data = datasets.load_digits(seed=0)
    cfg = ff.FFConfig(epochs=1)
    local, served = _programmed_chip(), _programmed_chip()
    t0 = time.perf_counter()
    server = served.serve()
    start_s = time.perf_counter() - t0

    def epoch(ports, r):
        ff.train(ports, data, cfg, rng=np.random.default_rng(100 + r), progress=False)

    def extraction(ports, r):
        ex.extract(ports, method="designed", budget=4.0, rng=np.random.default_rng(200 + r), progress=False)

    with server as remote_ports:
        ff_far, ff_near = _pair(epoch, local.ports(), remote_ports, args.repeats)
        ex_far, ex_near = _pair(extraction, local.ports(), remote_ports, args.repeats)
        t0 = time.perf_counter()
        remote_ports.meter  # noqa: B018 - one round trip, the floor of every operation
        trip_s = time.perf_counter() - t0
        t0 = time.perf_counter()
    close_s = time.perf_counter() - t0
    figures = {
        "ff_epoch": figure(ff_far, ff_near, "same FF epoch, in-process ports"),
        "designed_extraction_4": figure(ex_far, ex_near, "same extraction, in-process ports"),
        "start_and_close": figure(start_s + close_s, ff_near, "one in-process FF epoch"),
    }
    report(
        figures,
        title="benchmarks/remote_ports.py",
        json_path=args.json,
        notes=[
            f"design {SIZES}, RRAM, 8-bit; {args.repeats} repeats each, interleaved",
            f"start {start_s:.2f} s, close {close_s:.2f} s, one meter round trip {trip_s * 1e3:.2f} ms",
        ],
    )
    return figures


if __name__ == "__main__":
    main()
