"""What a person reads of a study: its text tables and its report folder (layer 5, faces).

Studies return data; this module turns it into text (:func:`copyout_table`,
:func:`sweep_summary`) and files (:func:`write_copyout_report`, :func:`write_sweep_plots`),
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
from neuromorph.faces._figure_data import finished_rows
from neuromorph.studies import copyout
from neuromorph.studies.sweep import COPYOUT_METHODS, SweepResult

#: Resolution of a copy-out report's figures, dots per inch.
COPYOUT_DPI = 120
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
        w = r["weight_rel_rms"]
        w_txt = "-" if w is None else f"{w:.4f}"
        b_txt = "-" if w is None else f"{r['weight_bits']:.1f}"
        lines.append(
            f"{r['method']:<9}{r['budget']:>7g}{r['queries']:>9d}{r['adc_conversions']:>11d}"
            f"{r['chip_seconds']:>10.2e}{r['energy_j']:>10.2e}{r['wall_seconds']:>8.1f}"
            f"{w_txt:>10}{b_txt:>6}"
            f"{r['fidelity']:>9.4f}{r['self_agreement']:>7.3f}{r['accuracy']:>7.3f}"
        )
    for s in result.get("sweeps", []):
        lines.append(
            f"sweep {s['sweep']}={s['value']:g}: queries {s['queries']}, worst relRMS "
            f"{s['weight_rel_rms']:.4f}, fidelity {s['fidelity']:.4f} (self "
            f"{s['self_agreement']:.3f})"
        )
    return "\n".join(lines)


def write_copyout_report(result: Mapping, out_dir: str | os.PathLike) -> list[str]:
    """Write a copy-out study's report folder; return the paths written.

    ``report.json`` (:func:`neuromorph.studies.copyout.write_report`), then
    ``fidelity_vs_queries.png`` and ``weight_error_vs_queries.png``
    (:func:`neuromorph.faces.plots.copyout_curves` against queries).
    """
    out_dir = os.fspath(out_dir)
    paths = copyout.write_report(result, out_dir)
    chip = result["chip"]
    title = f"copy-out of a {chip['device']} chip {chip['layer_sizes']}"
    for metric, name in (
        ("fidelity", "fidelity_vs_queries.png"),
        ("weight_rel_rms", "weight_error_vs_queries.png"),
    ):
        fig = plots.copyout_curves(result["methods"], metric=metric, against=("queries",), title=title)
        paths.append(save_figure(fig, os.path.join(out_dir, name), dpi=COPYOUT_DPI))
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
