"""01: a crossbar at two temperatures.

Fabricates an HfO2 RRAM crossbar, programs random weights by write-verify, then reads the
same inputs at 300 K, at 358 K, and at 358 K after a day, printing how far each read is from
the ideal product and how the effective weights moved.  Shows: fabrication, programming,
the environment, and the scorer's view of effective weights.

Run: ``python examples/01_crossbar_temperature.py [--rows 128 --cols 64]``
"""

from __future__ import annotations

import argparse

import numpy as np

import neuromorph as nm


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=128)
    parser.add_argument("--cols", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    xbar = nm.Crossbar.fabricate(args.rows, args.cols, rng=rng, device=nm.RRAM_HFO2)
    w = rng.uniform(-0.8, 0.8, xbar.shape)
    report = xbar.program(w)
    print(f"programmed {xbar}: {report.pulses} pulses, {report.verify_reads} verify reads")

    x = rng.uniform(-1, 1, (200, args.rows))
    ideal = x @ w
    results = {}
    for label, temperature_k, days in (("300 K", 300.0, 0), ("358 K", 358.0, 0), ("358 K + 1 day", 358.0, 1)):
        xbar.environment.set_temperature(temperature_k)
        xbar.environment.advance(days=days)
        y = xbar.read(x)
        err = float(np.sqrt(np.mean((y - ideal) ** 2) / np.mean(ideal**2)))
        drift = float(np.mean(xbar.effective_weights() - w))
        results[label] = err
        print(f"{label:>14}: relative RMS error of reads {err:6.1%}, mean weight shift {drift:+.4f}")
    return results


if __name__ == "__main__":
    main()
