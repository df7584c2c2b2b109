"""02: IR drop in a wired crossbar, checked against ngspice.

Fabricates an HfO2 RRAM crossbar whose tile has resistive row and column wires (2 ohm per
cell segment by default) and a wire-free twin from the same seed (same devices, same
programming), programs the same random weights into both, and reads the same inputs:
how far each read is from the ideal ``x @ W``, and how much of that the wires cost.  Then
exports the first physical tile as an ngspice netlist at 300 K and hot, runs ngspice, and
compares its column currents with neuromorph's own nodal solution.  Shows: wires on a
crossbar, the IR drop they cause, SPICE export and the ngspice check.

Run: ``python examples/02_ir_drop_and_spice.py [--rows 32 --cols 32 --r-wire 2 --out figs]``
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np

import neuromorph as nm
from neuromorph.faces import plots
from neuromorph.hardware import spice
from neuromorph.hardware.wires import WireParams, solve
from neuromorph.studies.scoring import relative_rms_error


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=32, help="inputs (crossbar rows)")
    parser.add_argument("--cols", type=int, default=32, help="outputs (weight columns)")
    parser.add_argument(
        "--r-wire",
        type=float,
        default=2.0,
        help="row and column wire resistance per cell segment, ohms at 300 K",
    )
    parser.add_argument("--hot-k", type=float, default=358.0, help="hot temperature, kelvin")
    parser.add_argument("--reads", type=int, default=200, help="input vectors read")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=pathlib.Path, default=None, help="directory for PNG figures (none written by default)"
    )
    return parser


def _tile_at(wired, x0, wires: WireParams, temperature_k: float, out, results: dict) -> None:
    """IR drop of the first physical tile at ``temperature_k``, and ngspice's agreement."""
    wired.environment.set_temperature(temperature_k)
    export = spice.export_crossbar(wired, x0)  # first physical tile, as it is now
    g = wired.tile_conductances()
    v = export.voltages
    ideal_i = v @ g
    wired_i = solve(g, v, wires, temperature_k=temperature_k)
    ir = float(np.max(np.abs(wired_i - ideal_i) / np.abs(ideal_i)))
    tag = f"{temperature_k:g}K"
    results[f"ir_drop_max_rel_{tag}"] = ir
    try:
        got = spice.run_ngspice(export.netlist)
    except nm.NgspiceNotFoundError as exc:
        print(f"ngspice not available, skipping the SPICE check: {exc}")
        got = None
    line = (
        f"{temperature_k:5g} K tile {g.shape[0]}x{g.shape[1]}: IR drop moves column "
        f"currents by up to {ir:.2%} against v @ g"
    )
    if got is not None:
        err = float(np.max(np.abs(got - export.expected_currents) / np.abs(export.expected_currents)))
        results[f"spice_max_rel_error_{tag}"] = err
        line += f"; ngspice agrees to {err:.1e} (max relative error over columns)"
    print(line)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        plots.ir_drop_map(g, v, wires, temperature_k=temperature_k, paired=True).savefig(
            out / f"ir_drop_{tag}.png", dpi=110
        )
        if got is not None:
            plots.spice_agreement(
                export.expected_currents, got, title=f"ngspice against neuromorph at {temperature_k:g} K"
            ).savefig(out / f"spice_{tag}.png", dpi=110)


def main(argv=None) -> dict:
    args = _parser().parse_args(argv)

    wires = WireParams(r_row_ohm=args.r_wire, r_col_ohm=args.r_wire)
    # Same seed, same devices and same programming noise: the twins differ only in wiring.
    wired = nm.Crossbar.fabricate(
        args.rows, args.cols, rng=np.random.default_rng(args.seed), device=nm.RRAM_HFO2, wires=wires
    )
    twin = nm.Crossbar.fabricate(
        args.rows, args.cols, rng=np.random.default_rng(args.seed), device=nm.RRAM_HFO2
    )
    rng = np.random.default_rng(args.seed + 1)
    w = rng.uniform(-0.8, 0.8, wired.shape)
    report = wired.program(w)
    twin.program(w)
    print(
        f"programmed {wired}: {report.pulses} pulses, weight RMS error "
        f"{report.weight_rms_error:.3f}, {report.unconverged} pairs off target"
    )

    # Non-negative inputs (e.g. activations after a ReLU) drive every row one way: the
    # worst case for IR drop.
    x = rng.uniform(0.0, 1.0, (args.reads, args.rows))
    ideal = x @ w
    y_wired, y_twin = wired.read(x), twin.read(x)
    results = {
        "read_error_no_wires": relative_rms_error(y_twin, ideal),
        "read_error_wired": relative_rms_error(y_wired, ideal),
        "wired_vs_no_wires": relative_rms_error(y_wired, y_twin),
    }
    print(
        f"relative RMS distance from x @ W: without wires {results['read_error_no_wires']:.1%}, "
        f"with wires {results['read_error_wired']:.1%} "
        f"(wired against wire-free reads: {results['wired_vs_no_wires']:.1%})"
    )

    for temperature_k in (300.0, args.hot_k):
        _tile_at(wired, x[0], wires, temperature_k, args.out, results)
    if args.out is not None:
        plots.conductance_maps(wired).savefig(args.out / "conductances.png", dpi=110)
        print(f"figures written to {args.out}/")
    return results


if __name__ == "__main__":
    main()
