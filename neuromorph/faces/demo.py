"""The short demo: one crossbar, read cold and hot (layer 5, called by the CLI).

Fabricates a crossbar of the chosen preset, programs random weights by write-verify, reads a
batch at the programming temperature, heats it and lets it age, reads again, and tabulates
what changed.  Also the ngspice check that ``neuromorph demo`` and ``neuromorph spice --run``
share (:func:`run_ngspice_check`: it says how big the netlist is and roughly how long
ngspice will take before it runs).
May import every layer below.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neuromorph.chip.export import estimate_ngspice_seconds, ngspice_nodes
from neuromorph.faces._figure_data import display_name
from neuromorph.hardware import spice
from neuromorph.hardware.crossbar import Crossbar
from neuromorph.hardware.devices import DeviceModel, preset
from neuromorph.hardware.environment import Environment
from neuromorph.studies.scoring import relative_rms_error

#: The demo's SPICE step exports this window of chip A's first tile: (rows, weight columns),
#: i.e. 64 x 64 physical cells (each weight a G+/G- pair), 8,192 cell nodes with wires: a
#: size Debian's ngspice 39 solves in about 1.5-3.5 s here (:mod:`neuromorph.chip.export`),
#: where the whole 75 x 400 first tile would take tens of minutes.
DEMO_SPICE_WINDOW = (64, 32)


@dataclass(frozen=True)
class DemoRow:
    """One operating point of the demo."""

    label: str
    temperature_k: float
    age_s: float
    mean_abs_output: float
    rms_change: float
    weight_rel_rms_error: float


def temperature_demo(
    *,
    device: DeviceModel | str = "rram",
    shape: tuple[int, int] = (128, 64),
    hot_k: float = 358.0,
    age_s: float = 86400.0,
    batch: int = 256,
    seed: int = 0,
) -> tuple[list[DemoRow], dict]:
    """Program a crossbar at 300 K, read it, heat and age it, read again.

    Returns the table rows and a dict of programming figures.
    """
    device = preset(device) if isinstance(device, str) else device
    rng = np.random.default_rng(seed)
    data_rng, fab_rng = rng.spawn(2)
    env = Environment(temperature_k=300.0)
    xbar = Crossbar.fabricate(*shape, rng=fab_rng, device=device, environment=env)
    target = data_rng.uniform(-0.8, 0.8, shape)
    report = xbar.program(target)
    x = data_rng.uniform(-1.0, 1.0, (batch, shape[0]))
    ideal = x @ target

    rows: list[DemoRow] = []
    reference = None
    points = [
        ("programmed, 300 K", 300.0, 0.0),
        (f"heated, {hot_k:g} K", hot_k, 0.0),
        (f"heated {hot_k:g} K and aged", hot_k, age_s),
        ("cooled back to 300 K", 300.0, 0.0),
    ]
    for label, temperature_k, extra_age in points:
        env.set_temperature(temperature_k)
        env.advance(extra_age)
        y = xbar.read(x)
        if reference is None:
            reference = y
        w_eff = xbar.effective_weights()
        rows.append(
            DemoRow(
                label=label,
                temperature_k=temperature_k,
                age_s=env.time_s,
                mean_abs_output=float(np.mean(np.abs(y))),
                rms_change=float(np.sqrt(np.mean((y - reference) ** 2))),
                weight_rel_rms_error=relative_rms_error(w_eff, target),
            )
        )
    info = {
        "device": device.name,
        "shape": shape,
        "pulses": report.pulses,
        "verify_reads": report.verify_reads,
        "program_weight_rms_error": report.weight_rms_error,
        "ideal_mean_abs_output": float(np.mean(np.abs(ideal))),
    }
    return rows, info


def format_table(rows: list[DemoRow], info: dict) -> str:
    """A readable table of the demo's rows."""
    lines = [
        f"{display_name(info['device'])} crossbar {info['shape'][0]}x{info['shape'][1]}: programmed by "
        f"write-verify with {info['pulses']} pulses and {info['verify_reads']} verify reads "
        f"(weight RMS error {info['program_weight_rms_error']:.4f})",
        "",
        f"{'operating point':<30}{'T (K)':>8}{'age (h)':>10}{'mean |y|':>10}"
        f"{'RMS change':>12}{'weight err':>12}",
    ]
    for r in rows:
        lines.append(
            f"{r.label:<30}{r.temperature_k:>8.1f}{r.age_s / 3600:>10.1f}"
            f"{r.mean_abs_output:>10.3f}{r.rms_change:>12.3f}{r.weight_rel_rms_error:>11.1%}"
        )
    lines += [
        "",
        "mean |y|: mean magnitude of the digitised outputs (weight units; ideal "
        f"{info['ideal_mean_abs_output']:.3f}).",
        "RMS change: RMS difference from the first read.  weight err: relative RMS of the "
        "effective weights against the targets.",
    ]
    return "\n".join(lines)


def run_ngspice_check(
    export: spice.CrossbarExport,
    *,
    say: Callable[[str], object] = print,
    timeout_s: float | None = None,
) -> tuple[float, NDArray]:
    """Run ``export``'s netlist in ngspice, saying first how big it is and how long it may take.

    Returns the largest column-current error relative to the largest column current of the
    simulator's own solution, and ngspice's column currents (amperes).  ``timeout_s``
    (seconds, None for no limit) goes to :func:`~neuromorph.hardware.spice.run_ngspice`.
    """
    eta = estimate_ngspice_seconds(export.netlist)
    say(
        f"running ngspice on {ngspice_nodes(export.netlist)} nodes ({export.voltages.size} rows x "
        f"{export.expected_currents.size} columns): roughly {_duration(eta)}..."
    )
    start = time.perf_counter()
    got = spice.run_ngspice(export.netlist, timeout_s=timeout_s)
    say(f"ngspice took {_duration(time.perf_counter() - start)}")
    want = export.expected_currents
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want))), got


def _duration(seconds: float) -> str:
    """'0.4 s', '12 s', '3 min', '2.1 h': a duration as a person reads it."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"
