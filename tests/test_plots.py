"""Every figure renders to PNG with labelled axes, nothing outside the canvas; bad input is refused."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

import neuromorph as nm
from neuromorph.algorithms.ff import History
from neuromorph.faces import plots
from neuromorph.hardware.devices import StuckCode
from neuromorph.hardware.wires import WireParams

WIRES = WireParams(r_row_ohm=2.0, r_col_ohm=2.0)


#: Names a figure must never show: preset keys and device model names (display names instead).
INTERNAL_NAMES = sorted({*nm.PRESETS, *(m.name for m in nm.PRESETS.values())}, key=len, reverse=True)


def texts_of(fig) -> list[str]:
    """Every title, suptitle, axis label and legend entry of ``fig``."""
    out = [fig.get_suptitle()]
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        if ax.get_legend():
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    for legend in fig.legends:
        out += [t.get_text() for t in legend.get_texts()]
    return out


def assert_no_internal_names(fig) -> None:
    for text in texts_of(fig):
        for name in INTERNAL_NAMES:
            assert not re.search(rf"\b{name}\b", text), f"internal name {name!r} in {text!r}"


def assert_full_percent_axis(ax) -> None:
    lo, hi = ax.get_ylim()
    assert lo <= 0.0 and hi >= 100.0, f"a percent axis must show 0..100; got {lo:g}..{hi:g}"


def error_bars(ax) -> list[ErrorbarContainer]:
    """The error-bar containers of ``ax`` that carry vertical bars."""
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer) and c.has_yerr]


def render(fig, tmp_path, name: str):
    """Save ``fig`` to PNG and check what a reader needs: labels, units, nothing clipped."""
    assert isinstance(fig, Figure)
    path = tmp_path / name
    fig.savefig(path, dpi=60)
    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    renderer = FigureCanvasAgg(fig).get_renderer()
    box = fig.bbox
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            assert ax.get_ylabel() or ax.get_xlabel(), "a colorbar carries its unit"
        else:  # shared and twin axes may leave the label to their sibling
            xs = ax.get_shared_x_axes().get_siblings(ax)
            ys = ax.get_shared_y_axes().get_siblings(ax)
            assert any(a.get_xlabel() for a in xs), f"no x label: {ax.get_title()!r}"
            assert any(a.get_ylabel() for a in ys), f"no y label: {ax.get_title()!r}"
        tight = ax.get_tightbbox(renderer)
        assert tight.x0 >= box.x0 - 1 and tight.y0 >= box.y0 - 1, f"clipped: {ax.get_title()!r}"
        assert tight.x1 <= box.x1 + 1 and tight.y1 <= box.y1 + 1, f"clipped: {ax.get_title()!r}"
    titles = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]
    for k, a in enumerate(titles):
        assert not any(a.overlaps(b) for b in titles[k + 1 :]), "panel titles overlap"
    return path


@pytest.fixture(scope="module")
def wired_crossbar():
    rng = np.random.default_rng(3)
    xbar = nm.Crossbar.fabricate(10, 6, rng=rng, device=nm.RRAM_HFO2, wires=WIRES)
    xbar.program(rng.uniform(-0.8, 0.8, xbar.shape))
    return xbar


def test_training_curve_still_renders(tmp_path):
    history = History(loss=[1.0, 0.7, 0.5], test_epochs=[1, 3], test_accuracy=[0.5, 0.8])
    fig = plots.training_curve(history)  # the old call: no n, no intervals
    render(fig, tmp_path, "training.png")
    assert "n not given" in fig.axes[1].get_ylabel()


def test_conductance_maps_marks_stuck_devices(tmp_path, wired_crossbar):
    xbar = wired_crossbar
    saved = xbar.stuck_codes()
    codes = saved.copy()
    codes.reshape(2, -1)[0, 3] = StuckCode.LOW
    codes.reshape(2, -1)[1, 7] = StuckCode.HIGH
    try:
        xbar.set_stuck(codes)
        fig = plots.conductance_maps(xbar)
        render(fig, tmp_path, "conductances.png")
    finally:
        xbar.set_stuck(saved)
    main = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(main) == 2
    # G+ holds the stuck-low device, G- the stuck-high one: one marker each.
    counts = [[len(c.get_offsets()) for c in ax.collections] for ax in main]
    assert counts[0][0] >= 1 and counts[1][1] >= 1
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("stuck" in t for t in labels)
    cbar = next(ax for ax in fig.axes if ax.get_label() == "<colorbar>")
    assert "µS" in cbar.get_ylabel()


def test_conductance_maps_narrow_crossbar(tmp_path):
    xbar = nm.Crossbar.fabricate(40, 4, rng=np.random.default_rng(0), device=nm.RRAM_HFO2)
    render(plots.conductance_maps(xbar, title="narrow"), tmp_path, "narrow.png")


def test_conductance_maps_rejects_non_crossbar():
    with pytest.raises(TypeError, match="crossbar must be a Crossbar"):
        plots.conductance_maps(np.zeros((2, 3, 3)))


def test_ir_drop_map(tmp_path, wired_crossbar):
    g = wired_crossbar.tile_conductances()
    v = np.linspace(0.05, 0.2, g.shape[0])
    fig = plots.ir_drop_map(g, v, WIRES, temperature_k=330.0, paired=True)
    render(fig, tmp_path, "ir_drop.png")
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 2
    bars = [ax for ax in fig.axes if ax.patches]
    heights = [p.get_height() for p in bars[0].patches]
    assert all(h < 0 for h in heights), "wires only ever lower the column currents here"


def test_ir_drop_map_mixed_signs_and_unpaired(tmp_path):
    rng = np.random.default_rng(1)
    g = rng.uniform(1e-6, 1e-4, (6, 5))
    v = np.array([0.1, -0.1, 0.2, 0.0, -0.05, 0.1])
    render(plots.ir_drop_map(g, v, WIRES), tmp_path, "ir_drop_signs.png")


def test_ir_drop_map_rejects_a_batch():
    with pytest.raises(ValueError, match="v must have 1 dimension"):
        plots.ir_drop_map(np.full((3, 2), 1e-5), np.zeros((2, 3)), WIRES)
    with pytest.raises(TypeError, match="wires must be a WireParams"):
        plots.ir_drop_map(np.full((3, 2), 1e-5), np.zeros(3), None)


def test_spice_agreement_one_and_several_cases(tmp_path):
    rng = np.random.default_rng(2)
    expected = rng.uniform(1e-5, 1e-4, 12)
    got = expected * (1 + 1e-13 * rng.standard_normal(12))
    render(plots.spice_agreement(expected, got), tmp_path, "spice1.png")
    fig = plots.spice_agreement([expected, -expected], [got, -expected], labels=["300 K", "358 K"])
    render(fig, tmp_path, "spice2.png")
    left, right = fig.axes
    assert "µA" in left.get_xlabel()
    assert right.get_yscale() == "log"
    texts = [t.get_text() for t in left.get_legend().get_texts()]
    assert any(t.startswith("300 K") for t in texts) and "y = x" in texts


def test_spice_agreement_rejects_mismatch():
    with pytest.raises(ValueError, match="got must have the shape of expected"):
        plots.spice_agreement(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="labels must name each"):
        plots.spice_agreement([np.ones(3)], [np.ones(3)], labels=["a", "b"])
    with pytest.raises(ValueError, match="expected must be finite"):
        plots.spice_agreement(np.array([1.0, np.nan]), np.ones(2))


def test_accuracy_vs_condition_spread_and_log_time(tmp_path):
    temps = [300.0, 330.0, 358.0]
    runs = {"hot": [[0.9, 0.92], [0.85, 0.8], [0.7, 0.74]], "retrained": [0.93, 0.91, 0.9]}
    fig = plots.accuracy_vs_condition(
        temps, runs, xlabel="temperature (K)", reference=0.95, reference_label="software"
    )
    render(fig, tmp_path, "acc_temp.png")
    ax = fig.axes[0]
    assert ax.get_ylabel().startswith("accuracy (%)")
    assert_full_percent_axis(ax)
    band = [c for c in ax.collections if c.get_label().startswith("95 % interval of the mean")]
    assert band, "repeats carry the interval of their mean"
    fig = plots.accuracy_vs_condition(
        [0.1, 1.0, 10.0],
        [[90, 91], [88, 85], [80, 82]],
        xlabel="time since programming (h)",
        log_x=True,
        fraction=False,
    )
    render(fig, tmp_path, "acc_time.png")
    assert fig.axes[0].get_xscale() == "log"


def test_accuracy_vs_condition_rejects_bad_input():
    with pytest.raises(ValueError, match="one entry per value"):
        plots.accuracy_vs_condition([1, 2], [0.5], xlabel="temperature (K)")
    with pytest.raises(ValueError, match="must be > 0 with log_x"):
        plots.accuracy_vs_condition([0.0, 1.0], [0.5, 0.6], xlabel="time (h)", log_x=True)
    with pytest.raises(TypeError, match="xlabel must be a non-empty string"):
        plots.accuracy_vs_condition([1, 2], [0.5, 0.6], xlabel="")
    with pytest.raises(ValueError, match=r"accuracies\[1\] must be a finite number"):
        plots.accuracy_vs_condition([1, 2], [0.5, []], xlabel="temperature (K)")


def copyout_rows():
    rows = []
    for method, base, energy in (("fd", 0.5, 1e-6), ("designed", 0.7, 2e-6), ("distill", 0.6, 5e-6)):
        for budget in (4, 1, 2):  # unsorted on purpose
            rows.append(
                {
                    "method": method,
                    "queries": 100 * budget,
                    "energy_j": energy * budget,
                    "fidelity": base + 0.05 * budget,
                    "self_agreement": 0.97,
                }
            )
    return rows


def test_copyout_curves(tmp_path):
    fig = plots.copyout_curves(copyout_rows())
    render(fig, tmp_path, "copyout.png")
    ax_q, ax_e = fig.axes
    assert ax_q.get_xscale() == ax_e.get_xscale() == "log"
    assert "J" in ax_e.get_xlabel()
    first = ax_q.get_lines()[0]
    assert list(first.get_xdata()) == [100.0, 200.0, 400.0]  # joined in order of queries
    assert first.get_ydata()[0] == pytest.approx(55.0)  # percent
    dashed = [ln for ln in ax_q.get_lines() if ln.get_linestyle() == "--"]
    assert dashed and dashed[0].get_ydata()[0] == pytest.approx(97.0)
    assert len(fig.legends[0].get_texts()) == 4


def test_copyout_curves_rejects_bad_rows():
    with pytest.raises(TypeError, match="methods must be a non-empty list"):
        plots.copyout_curves([])
    with pytest.raises(ValueError, match=r"methods\[0\] must have keys"):
        plots.copyout_curves([{"method": "fd", "queries": 10}])
    with pytest.raises(ValueError, match="energy_j > 0"):
        plots.copyout_curves([{"method": "fd", "queries": 10, "energy_j": 0.0, "fidelity": 0.5}])


def test_copyout_curves_weight_error_one_panel_and_markers(tmp_path):
    rows = copyout_rows()
    for k, row in enumerate(rows):
        row["weight_rel_rms"] = None if row["method"] == "distill" else 0.1 / (k + 1)
    fig = plots.copyout_curves(rows, metric="weight_rel_rms", against=("queries",), title="t")
    render(fig, tmp_path, "weight_error.png")
    (ax,) = fig.axes
    assert ax.get_yscale() == "log" and "relative RMS" in ax.get_ylabel()
    assert len(ax.get_lines()) == 2, "copies without a weight error are left out; no self line"
    fig = plots.copyout_curves(rows, against=("queries",), connect=False)
    (ax,) = fig.axes
    first = ax.get_lines()[0]
    assert first.get_linestyle() == "None" and first.get_marker() == "o"


def test_copyout_curves_rejects_bad_options():
    with pytest.raises(ValueError, match="metric must be one of"):
        plots.copyout_curves(copyout_rows(), metric="accuracy")
    with pytest.raises(ValueError, match="against must be a non-empty list"):
        plots.copyout_curves(copyout_rows(), against=("seconds",))
    with pytest.raises(
        ValueError, match=r"methods\[0\] must have keys \('method', 'queries', 'weight_rel_rms'\)"
    ):
        plots.copyout_curves(copyout_rows(), metric="weight_rel_rms", against=("queries",))


def sweep_rows():
    rows = []
    for seed in range(4):
        for t in (300.0, 358.0):
            for bits in (6, 8):
                rows.append(
                    {
                        "status": "ok",
                        "preset": "rram",
                        "adc_bits": bits,
                        "temperature_k": t,
                        "n_test": 0,
                        "accuracy": 0.9 - 0.001 * t / 10 + 0.01 * seed,
                        "copyout_method": "fd" if seed % 2 else "designed",
                        "copyout_queries": 100 * (seed + 1),
                        "copyout_energy_j": 1e-8 * (seed + 1),
                        "copyout_fidelity": 0.8 + 0.02 * seed,
                    }
                )
    rows.append({"status": "error", "preset": "nope", "adc_bits": 8, "temperature_k": 300.0})
    return rows


def test_sweep_figures(tmp_path):
    rows = sweep_rows()
    fig = plots.sweep_accuracy_distribution(rows)
    render(fig, tmp_path, "dist.png")
    assert len(fig.axes[0].get_legend().get_texts()) == 2, "one curve per preset/ADC group"
    fig = plots.sweep_accuracy_vs_temperature(rows)
    render(fig, tmp_path, "temp.png")
    assert "K" in fig.axes[0].get_xlabel()
    for make in (plots.sweep_accuracy_distribution, plots.sweep_accuracy_vs_temperature):
        empty = make([{"status": "error"}])
        assert "no finished points" in [t.get_text() for t in empty.axes[0].texts]


def test_write_sweep_plots_names_the_files_as_before(tmp_path):
    from neuromorph.faces import reports

    paths = reports.write_sweep_plots(sweep_rows(), tmp_path)
    names = ["accuracy_distribution.png", "accuracy_vs_temperature.png", "copyout.png"]
    assert [p.rsplit("/", 1)[1] for p in paths] == names
    assert all((tmp_path / n).stat().st_size > 1000 for n in names)
    no_copy = [{k: v for k, v in r.items() if not k.startswith("copyout")} for r in sweep_rows()]
    assert len(reports.write_sweep_plots(no_copy, tmp_path / ".")) == 2


# ------------------------------------------------------------- what a reviewer checks (issue 16)
def test_binomial_interval_is_exact_at_the_edges():
    n = 360
    lo, hi = plots.binomial_interval([0, n], n)
    # Clopper-Pearson at 0 and n successes has a closed form: 1 - (alpha/2)^(1/n).
    assert hi[0] == pytest.approx(1 - 0.025 ** (1 / n)) and lo[0] == 0.0
    assert lo[1] == pytest.approx(0.025 ** (1 / n)) and hi[1] == 1.0
    lo, hi = plots.binomial_interval(180, n)
    assert lo < 0.5 < hi and hi - lo == pytest.approx(2 * 1.96 * np.sqrt(0.25 / n), rel=0.05)
    with pytest.raises(ValueError, match="k and n must satisfy"):
        plots.binomial_interval(5, 4)


def test_display_names_and_conditions():
    assert plots.display_name("rram") == plots.display_name(nm.RRAM_HFO2) == "HfO2 RRAM (device fit)"
    assert plots.display_name("my_oxide") == "my_oxide"  # a custom device is shown as named
    assert plots.conditions(358.0, 24 * 3600.0) == "358 K, aged 24 h"
    assert plots.conditions(300.0) == "300 K, just programmed"
    with pytest.raises(TypeError, match="name must be a preset name or a DeviceModel"):
        plots.display_name(3)


def test_training_curve_full_axis_intervals_and_n(tmp_path):
    history = History(loss=[0.7, 0.5, 0.4], test_epochs=[1, 2, 3], test_accuracy=[0.936, 0.958, 0.961])
    fig = plots.training_curve(history, title="t", n_test=360)
    render(fig, tmp_path, "training_n.png")
    ax = fig.axes[1]
    assert_full_percent_axis(ax)
    assert "n = 360" in ax.get_ylabel()
    (bars,) = error_bars(ax)
    (segments,) = [c.get_segments() for c in bars.lines[2]]
    lo, hi = plots.binomial_interval(round(0.958 * 360), 360)
    assert segments[1][:, 1] == pytest.approx([100 * lo, 100 * hi])
    with pytest.raises(ValueError, match="n_test must be a positive integer"):
        plots.training_curve(history, n_test=0)


def test_training_curve_ex_situ_labels_the_software_curve_and_the_chip(tmp_path):
    """The ex-situ curve is the software network's; the chip's accuracy is its own marker."""
    history = History(loss=[0.7, 0.5], test_epochs=[1, 2], test_accuracy=[0.936, 0.964])
    fig = plots.training_curve(
        history, n_test=360, curve_label="software network, before programming", chip_accuracy=0.908
    )
    render(fig, tmp_path, "ex_situ.png")
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert labels[0].startswith("software network") and labels[1].endswith("90.8 %")
    chip = error_bars(fig.axes[1])[1]
    assert chip.lines[0].get_ydata()[0] == pytest.approx(90.8)


def test_accuracy_bars_start_at_zero_with_intervals(tmp_path):
    labels = ["300 K", "358 K", "358 K, aged 24 h", "retrained"]
    fig = plots.accuracy_bars(labels, [0.964, 0.967, 0.967, 0.961], title="t", n_test=360)
    render(fig, tmp_path, "bars.png")
    ax = fig.axes[0]
    assert_full_percent_axis(ax)
    assert all(p.get_y() == 0.0 for p in ax.patches), "bars start at 0"
    assert error_bars(ax) and "n = 360" in ax.get_ylabel()
    with pytest.raises(ValueError, match="n_test must be a positive integer"):
        plots.accuracy_bars(labels, [0.9] * 4, n_test=2.5)


def near_perfect_rows(n: int = 360) -> list[dict]:
    """Probing copies at 100 % and 1 disagreement, distillation far below, the chip at 99.7 %."""
    rows = []
    for method, points in (
        ("fd", [(276, 1.0)]),
        ("designed", [(415, 1 - 1 / n), (1104, 1.0)]),
        ("distill", [(1000, 0.90), (14370, 0.975)]),
    ):
        for queries, fidelity in points:
            rows.append(
                {
                    "method": method,
                    "queries": queries,
                    "energy_j": 1e-9 * queries,
                    "fidelity": fidelity,
                    "self_agreement": 1 - 1 / n,
                    "n_test": n,
                    "weight_rel_rms": 1.13 if method == "distill" else 0.03,
                }
            )
    return rows


def test_copyout_disagreement_keeps_near_perfect_copies_apart(tmp_path):
    fig = plots.copyout_curves(near_perfect_rows(), metric="disagreement", against=("queries",))
    render(fig, tmp_path, "disagreement.png")
    (ax,) = fig.axes
    assert ax.get_yscale() == "symlog" and "n = 360" in ax.get_ylabel()
    bars = error_bars(ax)
    assert len(bars) == 3, "every method carries binomial intervals"
    fd, designed = (c.lines[0].get_ydata() for c in bars[:2])
    assert fd[0] == 0.0 and designed[0] == pytest.approx(100 / 360)
    # On this axis one disagreement in 360 sits well apart from none: a third of the axis
    # height or more, where a percent fidelity axis would put them 0.3 points apart.
    to_px = ax.transData.transform
    gap = to_px((300, designed[0]))[1] - to_px((300, 0.0))[1]
    assert gap > 0.2 * ax.bbox.height
    with pytest.raises(ValueError, match="n_test must be given"):
        rows = [{k: v for k, v in r.items() if k != "n_test"} for r in near_perfect_rows()]
        plots.copyout_curves(rows, metric="disagreement")


def test_copyout_fidelity_full_axis_with_intervals(tmp_path):
    fig = plots.copyout_curves(near_perfect_rows(), against=("queries",), title="t")
    render(fig, tmp_path, "fidelity_n.png")
    (ax,) = fig.axes
    assert_full_percent_axis(ax)
    assert len(error_bars(ax)) == 3


def test_copyout_weight_error_leaves_distillation_out_and_says_why(tmp_path):
    fig = plots.copyout_curves(near_perfect_rows(), metric="weight_rel_rms", against=("queries",))
    render(fig, tmp_path, "weights_no_distill.png")
    (ax,) = fig.axes
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "distill" not in labels and {"fd", "designed"} <= set(labels)
    assert max(max(line.get_ydata()) for line in ax.get_lines()) < 0.1, "nothing near 1.0"
    assert any("distill not shown" in t.get_text() for t in ax.texts)


def test_copyout_table_has_no_weight_error_for_distillation():
    from neuromorph.faces import reports

    rows = near_perfect_rows()
    for r in rows:
        r.update(budget=1, adc_conversions=1, chip_seconds=1e-6, wall_seconds=0.1, accuracy=0.9)
        r["weight_bits"] = -np.log2(r["weight_rel_rms"])
    table = reports.copyout_table({"methods": rows})
    distill = [line for line in table.splitlines() if line.startswith("distill")]
    assert distill and all("-0.1" not in line and "1.1300" not in line for line in distill)
    assert "0.0300" in table


def test_titles_show_display_names_and_conditions(tmp_path):
    xbar = nm.Crossbar.fabricate(8, 4, rng=np.random.default_rng(0), device=nm.RRAM_HFO2)
    xbar.environment.set_temperature(358.0)
    xbar.environment.advance(24 * 3600.0)
    fig = plots.conductance_maps(xbar, title="chip A, layer 0")
    assert "HfO2 RRAM" in fig.get_suptitle() and "358 K, aged 24 h" in fig.get_suptitle()
    assert_no_internal_names(fig)
    chip = {"device": "rram_hfo2", "layer_sizes": [74, 200], "temperature_k": 358.0, "time_s": 86400.0}
    title = plots.copyout_title(chip)
    assert "rram_hfo2" not in title and "358 K, aged 24 h" in title
    rows = sweep_rows()
    for make in (plots.sweep_accuracy_distribution, plots.sweep_accuracy_vs_temperature):
        assert_no_internal_names(make(rows))


def test_stuck_markers_stay_visible_on_a_large_array():
    from neuromorph.faces.plots.arrays import MIN_STUCK_MARKER_AREA

    xbar = nm.Crossbar.fabricate(75, 200, rng=np.random.default_rng(0), device=nm.RRAM_HFO2)
    codes = xbar.stuck_codes().copy()
    codes.reshape(2, -1)[0, :40:3] = StuckCode.LOW
    codes.reshape(2, -1)[1, :40:3] = StuckCode.HIGH
    xbar.set_stuck(codes)
    fig = plots.conductance_maps(xbar)
    markers = [c for ax in fig.axes for c in ax.collections if isinstance(c, PathCollection)]
    sizes = np.concatenate([c.get_sizes() for c in markers if len(c.get_offsets())])
    assert sizes.size and sizes.min() >= MIN_STUCK_MARKER_AREA


def test_sweep_histogram_integer_counts_and_interval_matches_title(tmp_path):
    rows = sweep_rows()
    ax = plots.sweep_accuracy_distribution(rows).axes[0]
    ticks = ax.get_yticks()
    assert np.allclose(ticks, np.round(ticks)), f"half-count ticks: {ticks}"
    fig = plots.sweep_accuracy_vs_temperature(rows)
    ax = fig.axes[0]
    assert "95 % interval of the mean" in ax.get_title() and "std" not in ax.get_title()
    assert "min-max" not in " ".join(texts_of(fig))
    assert_full_percent_axis(ax)
    first = error_bars(ax)[0]  # the 6-bit group at 300 K: four dies
    acc = [100 * r["accuracy"] for r in rows[:-1] if r["adc_bits"] == 6 and r["temperature_k"] == 300.0]
    mean = np.mean(acc)
    half = 3.182446 * np.std(acc, ddof=1) / 2  # Student t, 3 degrees of freedom, 97.5 %
    (segments,) = [c.get_segments() for c in first.lines[2]]
    assert segments[0][:, 1] == pytest.approx([mean - half, mean + half], rel=1e-5)


def test_figures_script_regenerates_every_figure(tmp_path):
    """scripts/figures.py, at toy sizes: the demo runs and every README figure is written."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "figures.py"
    spec = importlib.util.spec_from_file_location("figures_script", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    written = script.regenerate(tmp_path, quick=True)
    assert sorted(p.name for p in written) == sorted(dst for _, dst in script.FIGURES)
    for p in written:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
