"""What a person reads of a study: its text tables and its report folder (layer 5, faces).

Studies return data; this module turns it into text (:func:`copyout_table`,
:func:`lifetime_table`, :func:`sweep_summary`) and files (:func:`write_copyout_report`,
:func:`write_lifetime_report`, :func:`write_sweep_plots`),
with the figures of :mod:`neuromorph.faces.plots`.  PNGs are written atomically (temp file +
rename), so an interrupted run never leaves a half-written figure under its name.

May import every layer below; used by the command line, the story, examples and notebooks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from neuromorph._io import atomic_open
from neuromorph.faces import plots
from neuromorph.faces._figure_data import finished_rows, sweep_test_size, weight_error
from neuromorph.studies import copyout, lifetime
from neuromorph.studies.scoring import AccuracyScore
from neuromorph.studies.sweep import COPYOUT_METHODS, SweepResult

#: Resolution of a copy-out report's figures, dots per inch.
COPYOUT_DPI = 120
#: Resolution of a lifetime's figure, dots per inch.
LIFETIME_DPI = 120
#: Durations an age is written in, longest first: (seconds, unit).
_AGE_UNITS = ((365.25 * 86400.0, "years"), (86400.0, "days"), (3600.0, "h"), (60.0, "min"), (1.0, "s"))
#: Resolution of a sweep's summary figures, dots per inch (smaller: a sweep folder holds many).
SWEEP_DPI = 110
#: Failed points a sweep summary lists one by one; the rest are counted.
SHOWN_FAILURES = 5


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int) -> str:
    """Write ``fig`` as a PNG at ``path`` atomically; return the path."""
    path = os.fspath(path)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=dpi)
    return path


# ---------------------------------------------------------------------------- copy-out
def copyout_table(result: Mapping) -> str:
    """A readable table of a copy-out study's rows (:func:`neuromorph.studies.copyout.study`)."""
    head = (
        f"{'method':<9}{'budget':>7}{'queries':>9}{'ADC conv':>11}{'chip s':>10}{'energy J':>10}"
        f"{'wall s':>8}{'w relRMS':>10}{'bits':>6}{'fidelity':>9}{'self':>7}{'acc':>7}"
    )
    lines = [head]
    for r in result["methods"]:
        w = weight_error(r)  # None for a distilled copy: it has no weight error
        w_txt = "-" if w is None else f"{w:.4f}"
        b_txt = "-" if w is None else f"{r['weight_bits']:.1f}"
        lines.append(
            f"{r['method']:<9}{r['budget']:>7g}{r['queries']:>9d}{r['adc_conversions']:>11d}"
            f"{r['chip_seconds']:>10.2e}{r['energy_j']:>10.2e}{r['wall_seconds']:>8.1f}"
            f"{w_txt:>10}{b_txt:>6}"
            f"{r['fidelity']:>9.4f}{r['self_agreement']:>7.3f}{r['accuracy']:>7.3f}"
        )
    lines += energy_split_lines(result["methods"])
    for s in result.get("sweeps", []):
        lines.append(
            f"sweep {s['sweep']}={s['value']:g}: queries {s['queries']}, worst relRMS "
            f"{s['weight_rel_rms']:.4f}, fidelity {s['fidelity']:.4f} (self "
            f"{s['self_agreement']:.3f})"
        )
    return "\n".join(lines)


#: Meter energy fields and their short names in report tables (issue 13's components).
ENERGY_COLUMNS = {
    "energy_read_j": "array",
    "energy_line_j": "line",
    "energy_dac_j": "DAC",
    "energy_tia_j": "TIA",
    "energy_mux_j": "mux",
    "energy_adc_j": "ADC",
    "energy_pulse_j": "pulse",
}
#: Meter fields that split the chip's time, in report tables.
_SECONDS_COLUMNS = ("seconds_settle", "seconds_convert", "seconds_program")


def energy_split_lines(rows: Sequence[Mapping]) -> list[str]:
    """Lines of a table of each row's energy by component (J) and its time split (s).

    Rows are copy-out rows or meter dicts (:meth:`neuromorph.chip.Meter.as_dict`); rows
    without the components (older reports) are skipped, and so is the table if none has them.
    """
    rows = [r for r in rows if all(k in r for k in ENERGY_COLUMNS)]
    if not rows:
        return []
    head = f"{'energy J by component':<22}" + "".join(f"{n:>10}" for n in ENERGY_COLUMNS.values())
    head += "".join(f"{k.replace('seconds_', '') + ' s':>10}" for k in _SECONDS_COLUMNS)
    lines = [head]
    for r in rows:
        label = f"{r.get('method', '')} {r.get('budget', '')}".strip() or "meter"
        cells = "".join(f"{r[k]:>10.2e}" for k in ENERGY_COLUMNS)
        times = "".join(f"{r.get(k, 0.0):>10.2e}" for k in _SECONDS_COLUMNS)
        lines.append(f"{label:<22}{cells}{times}")
    return lines


def write_copyout_report(result: Mapping, out_dir: str | os.PathLike) -> list[str]:
    """Write a copy-out study's report folder; return the paths written.

    ``report.json`` (:func:`neuromorph.studies.copyout.write_report`), then
    ``fidelity_vs_queries.png`` (the disagreement 1 - fidelity, so that copies near 100 %
    stay apart) and ``weight_error_vs_queries.png``
    (:func:`neuromorph.faces.plots.copyout_curves` against queries).
    """
    out_dir = os.fspath(out_dir)
    paths = copyout.write_report(result, out_dir)
    title = plots.copyout_title(result["chip"])
    for metric, name in (
        ("disagreement", "fidelity_vs_queries.png"),
        ("weight_rel_rms", "weight_error_vs_queries.png"),
    ):
        fig = plots.copyout_curves(result["methods"], metric=metric, against=("queries",), title=title)
        paths.append(save_figure(fig, os.path.join(out_dir, name), dpi=COPYOUT_DPI))
    return paths


# ---------------------------------------------------------------------------- lifetime
def age_text(seconds: float) -> str:
    """An age as a person reads it: ``"0"``, ``"45 s"``, ``"17 h"``, ``"12 days"``, ``"10 years"``."""
    if seconds <= 0:
        return "0"
    for unit_s, name in _AGE_UNITS:
        if seconds >= unit_s:
            return f"{seconds / unit_s:.3g} {name}"
    return f"{seconds:.3g} s"


def lifetime_table(result: Mapping) -> str:
    """A readable account of a lifetime (:func:`neuromorph.studies.lifetime.run_lifetime`).

    The accuracy at programming and at every age and temperature, each as "mean ± std over R
    re-reads of n images, 95 % interval [a, b]"; the copy-out deadline per temperature; the
    copy-out error and fidelity at programming and at the copy-out ages, and how many times
    harder copying out the aged chip is.
    """
    p = result["protocol"]
    lines = [f"at programming ({result['chip']['temperature_k']:g} K): {_score_text(result['programmed'])}"]
    threshold = 100 * result["threshold_accuracy"]
    lines.append(
        f"copy-out threshold: {threshold:.2f} % ({p['threshold_points']:g} points below programming)"
    )
    first = result["programmed"].get("copyout")
    if first:
        lines.append(f"copy-out at programming: {_copy_text(first)}")
    for curve in result["temperatures"]:
        lines.append(f"{curve['temperature_k']:g} K:")
        for point in curve["points"]:
            upkeep = f"  [{point['maintenance']['kind']}]" if point.get("maintenance") else ""
            lines.append(f"  {age_text(point['age_s']):>12}  {_score_text(point)}{upkeep}")
        if curve["deadline_s"] is None:
            lines.append("  copy-out deadline: beyond the schedule (never below the threshold)")
        elif curve["deadline_bracket_s"][0] == curve["deadline_s"]:
            lines.append(
                f"  copy-out deadline: {age_text(curve['deadline_s'])}, the first age (below from the start)"
            )
        else:
            lo, hi = curve["deadline_bracket_s"]
            lines.append(
                f"  copy-out deadline: {age_text(curve['deadline_s'])} (below the threshold between "
                f"{age_text(lo)} and {age_text(hi)})"
            )
        for row in curve["copyout"]:
            harder = row.get("weight_rel_rms_over_programmed")
            by = "" if harder is None else f"; weight error {harder:.2f} times the fresh chip's"
            lines.append(f"  copy-out at {age_text(row['age_s'])}: {_copy_text(row)}{by}")
    return "\n".join(lines)


def _score_text(d: Mapping) -> str:
    """A point's or score's "mean ± std over R re-reads of n images, 95 % interval" text."""
    accs = d.get("accuracies")
    return AccuracyScore(accuracies=tuple(accs), n=int(d["n"])).text()


def _copy_text(row: Mapping) -> str:
    w = row.get("weight_rel_rms")
    err = "-" if w is None else f"{w:.4f}"
    return f"{row['queries']} queries, worst relative RMS weight error {err}, fidelity {row['fidelity']:.4f}"


def write_lifetime_report(result: Mapping, out_dir: str | os.PathLike) -> list[str]:
    """Write ``lifetime.json`` (:func:`neuromorph.studies.lifetime.write_report`) and
    ``lifetime.png`` (:func:`neuromorph.faces.plots.lifetime_curves`); return their paths."""
    out_dir = os.fspath(out_dir)
    paths = lifetime.write_report(result, out_dir)
    fig = plots.lifetime_curves(result)
    paths.append(save_figure(fig, os.path.join(out_dir, "lifetime.png"), dpi=LIFETIME_DPI))
    return paths


# ---------------------------------------------------------------------------- sweeps
def _sweep_copyout_rows(rows: Sequence[Mapping]) -> list[dict]:
    """The copy-out points of a sweep as copy-out rows (method, queries, energy, quality)."""
    copied = [r for r in finished_rows(rows, "copyout_fidelity") if r["copyout_method"] in COPYOUT_METHODS]
    copied.sort(key=lambda r: COPYOUT_METHODS.index(r["copyout_method"]))  # fixed legend order
    return [
        {
            "method": r["copyout_method"],
            "queries": r["copyout_queries"],
            "energy_j": r["copyout_energy_j"],
            "fidelity": r["copyout_fidelity"],
            "n_test": sweep_test_size(r),
        }
        for r in copied
    ]


def write_sweep_plots(rows: Sequence[Mapping], out_dir: str | os.PathLike) -> list[str]:
    """Write a sweep's summary PNGs into ``out_dir``; return their paths.

    ``accuracy_distribution.png`` and ``accuracy_vs_temperature.png``, and ``copyout.png``
    (fidelity against queries, one marker per point) when points copied out.
    """
    out_dir = os.fspath(out_dir)
    figs = [
        ("accuracy_distribution.png", plots.sweep_accuracy_distribution(rows)),
        ("accuracy_vs_temperature.png", plots.sweep_accuracy_vs_temperature(rows)),
    ]
    copied = _sweep_copyout_rows(rows)
    if copied:
        fig = plots.copyout_curves(
            copied, against=("queries",), connect=False, title="copy-out cost and quality over points"
        )
        figs.append(("copyout.png", fig))
    return [save_figure(fig, os.path.join(out_dir, name), dpi=SWEEP_DPI) for name, fig in figs]


def sweep_summary(result: SweepResult) -> str:
    """A short text summary: counts, and accuracy mean +/- std per preset/ADC/temperature."""
    rows = result.rows
    lines = [
        f"{len(rows)} points: {len(rows) - len(result.failed)} ok, {len(result.failed)} "
        f"failed; {result.computed} computed now, {result.resumed} from earlier runs"
    ]
    groups: dict[tuple, list[float]] = {}
    for r in finished_rows(rows):
        key = (r["preset"], r["adc_bits"], float(r["temperature_k"]))
        groups.setdefault(key, []).append(100 * r["accuracy"])
    if groups:
        lines.append(f"{'preset':<8}{'ADC bits':>9}{'T (K)':>9}{'n':>5}{'accuracy (%)':>22}")
        for (pr, bits, t), acc in sorted(groups.items()):
            lines.append(
                f"{pr:<8}{bits:>9}{t:>9.1f}{len(acc):>5}{np.mean(acc):>13.2f} +/- {np.std(acc):<5.2f}"
            )
    for r in result.failed[:SHOWN_FAILURES]:
        lines.append(f"point {r['index']} ({r['key']}): {r['error_type']}: {r['error_message']}")
    if len(result.failed) > SHOWN_FAILURES:
        lines.append(f"... and {len(result.failed) - SHOWN_FAILURES} more failed points (see results.csv)")
    return "\n".join(lines)
