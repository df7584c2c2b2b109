"""Regenerate the reference netlists in this folder and their ngspice outputs.

Run from the repository root:  python circuits/make_references.py

Each case writes ``<case>.cir`` (the netlist, as ngspice read it) and ``<case>.json``
(the inputs, and the column currents ngspice returned, amperes, with 17 significant
digits).  ``tests/test_spice.py`` re-runs every netlist and compares it with both the
stored currents and neuromorph's own IR-drop solver.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from neuromorph.hardware.spice import MEMRISTOR_TEMP_LIB, TIA_LIB, run_ngspice, write_netlist
from neuromorph.hardware.wires import WireParams
from neuromorph.hardware.wires.cells import CellModel

HERE = Path(__file__).resolve().parent

CASES = {
    # name: (n_rows, n_cols, seed, wires kwargs, temperature_k, sense)
    "xbar4x4_ammeter_300k": (4, 4, 11, {"r_row_ohm": 2.0, "r_col_ohm": 2.0}, 300.0, "ammeter"),
    "xbar8x8_tia_358k": (8, 8, 12, {"r_row_ohm": 2.0, "r_col_ohm": 2.0, "r_driver_ohm": 5.0}, 358.0, "tia"),
    "xbar8x4_resistor_330k": (
        8,
        4,
        13,
        {"r_row_ohm": 2.5, "r_col_ohm": 1.5, "sense": "resistor", "r_sense_ohm": 100.0},
        330.0,
        "resistor",
    ),
    "xbar6x5_1t1r_358k": (
        6,
        5,
        14,
        {"r_row_ohm": 2.0, "r_col_ohm": 2.0, "r_driver_ohm": 5.0, "cell": {"kind": "one_t_one_r"}},
        358.0,
        "ammeter",
    ),
    "xbar6x5_sinh_300k": (
        6,
        5,
        15,
        {"r_row_ohm": 2.0, "r_col_ohm": 2.0, "cell": {"kind": "nonlinear", "v0_v": 0.1}},
        300.0,
        "ammeter",
    ),
}


def wires_from(wkw: dict) -> WireParams:
    """The :class:`WireParams` of a case's ``wires`` record (its ``cell`` as a dict)."""
    if "cell" in wkw:
        return WireParams(**{**wkw, "cell": CellModel(**wkw["cell"])})
    return WireParams(**wkw)


def main() -> None:
    (HERE / "tia.lib").write_text(TIA_LIB, encoding="ascii")
    (HERE / "memristor_temp.lib").write_text(MEMRISTOR_TEMP_LIB, encoding="ascii")
    for case, (n_rows, n_cols, seed, wkw, temperature_k, sense) in CASES.items():
        rng = np.random.default_rng(seed)
        g = rng.uniform(1e-6, 1e-4, (n_rows, n_cols))
        v = rng.uniform(0.0, 0.2, n_rows)
        wires = wires_from(wkw)
        netlist = write_netlist(g, v, wires, temperature_k=temperature_k, sense=sense, name=case)
        currents = run_ngspice(netlist)
        (HERE / f"{case}.cir").write_text(netlist, encoding="ascii")
        record = {
            "g_s": g.tolist(),
            "v_v": v.tolist(),
            "wires": wkw,
            "temperature_k": temperature_k,
            "sense": sense,
            "ngspice_version": "39 (Debian 12 package)",
            "currents_a": [float(f"{c:.17g}") for c in currents],
        }
        (HERE / f"{case}.json").write_text(json.dumps(record, indent=1) + "\n", encoding="ascii")
        print(case, currents)


if __name__ == "__main__":
    main()
