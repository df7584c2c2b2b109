"""scripts/readme_results.py renders the README's measured results from benchmark JSON alone.

Small fixture JSON in a temporary folder, shaped as the benchmarks write it
(``benchmarks/_harness.py``'s ``{"<figure>": {"seconds", "baseline_seconds", "ratio"}}``,
``ff_digits.py --out``'s rows, ``copyout.py --out``'s ``report.json`` and ``credible.json``);
no benchmark runs.  Checks that each figure lands in its table, that the text outside the
markers is left byte for byte, and that missing files or markers are reported.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "readme_results.py"


@pytest.fixture(scope="module")
def rr():
    spec = importlib.util.spec_from_file_location("readme_results_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fig(ratio: float, baseline: float = 1e-3) -> dict:
    return {"seconds": ratio * baseline, "baseline_seconds": baseline, "ratio": ratio}


CROSSBAR = {
    "read": _fig(2.04, 1.6e-3),
    "read_f32": _fig(4.2, 0.84e-3),
    "read_1f": _fig(206.0),
    "read_1f_f64": _fig(105.0),
    "update": _fig(1.9),
    "update_f32": _fig(3.7),
    "read_env_change": _fig(8.2),
    "read_ideal": _fig(1.3),
    "read_ideal_pass": _fig(0.97),
}
IR_DROP = {
    "exact_128": _fig(1 / 19),
    "iterative_128": _fig(1 / 12),
    "batch_256": _fig(1.2),
    "batch_256_f32": _fig(2.3),
    "build_256": _fig(0.13, 0.77),
    "update_step": _fig(0.021),
    "train_step_sparse_128": _fig(3.9),
    "train_step_dense_128": _fig(7.9),
}


def _ff_rows(in_place: float, epoch_s: float, pulses: float) -> list[dict]:
    temp = {"accuracy_before": 0.95, "accuracy_hot_aged": 0.93, "accuracy_retrained": 0.94}
    return [
        {
            "seed": s,
            "n_test": 360,
            "software": 0.97,
            "in_place": in_place + 0.01 * s,
            "ex_situ": 0.90,
            "in_place_pulses_per_epoch": pulses,
            "software_epoch_s": 0.5,
            "in_place_epoch_s": epoch_s,
            "temperature": temp,
        }
        for s in range(3)
    ]


def _copyout_report() -> dict:
    methods = [
        {"method": "designed", "budget": 4, "queries": 2304, "weight_rel_rms_layers": [0.0097, 0.0109],
         "weight_rel_rms": 0.0109, "fidelity": 0.997},
        {"method": "designed", "budget": 6, "queries": 3456, "weight_rel_rms_layers": [0.008, 0.009],
         "weight_rel_rms": 0.009, "fidelity": 0.997},
        {"method": "distill", "budget": 1437, "queries": 14370, "fidelity": 0.981},
    ]  # fmt: skip
    layer = {"measured_over_floor": 1.26, "measured_var": 1.0}
    return {
        "chip": {"device": "rram_hfo2", "accuracy": 0.967, "self_agreement": 0.997},
        "methods": methods,
        "variance": [
            {"method": "designed", "budget": 4, "layers": [layer, layer]},
            {"method": "fd", "budget": 4, "layers": [{"measured_var": 2.6}, {"measured_var": 5.8}]},
        ],
    }


def _credible() -> dict:
    def row(errs, fid, agree):
        return {"weight_rel_rms_layers": errs, "fidelity": fid, "self_agreement": agree}

    return {
        "credible": {
            "as_is": row([0.0202, 0.0247], 0.9944, 0.9972),
            "calibrated": row([0.0097, 0.0148], 0.9944, 0.9944),
            "nominal": row([0.0095, 0.0110], 1.0, 0.9972),
        },
        "budget_to_1pct": {
            "target": 0.01,
            "budgets": [2, 4, 8, 32],
            "variants": {
                "as_is": {"reached_at": None, "rows": []},
                "calibrated": {"reached_at": None, "rows": []},
                "nominal": {"reached_at": 8, "rows": []},
            },
        },
        "averaging": {
            "layer": 0,
            "trials": 12,
            "k": [2, 128],
            "white": {"variance": [6.4e-5, 1e-6]},
            "pink": {"variance": [7.0e-5, 1.27e-5]},
            "pink_mean_of_reads_ratio": [1.0, 40.0],
        },
    }


HEAD = "# Title\n\nintro kept <!-- not a marker -->\n\n## Measured results\n\n"
MIDDLE = "\nhand text between the blocks\n\n"
TAIL = "\nWhat the table says: kept.\n\n## Beside the peers\n"


def _readme(tmp_path: Path) -> Path:
    blocks = [f"<!-- {p}:begin -->\nold {p} table\n<!-- {p}:end -->\n" for p in ("speed", "ff", "copyout")]
    path = tmp_path / "README.md"
    path.write_text(HEAD + blocks[0] + MIDDLE + blocks[1] + MIDDLE + blocks[2] + TAIL)
    return path


def _results(tmp_path: Path, *, load: float = 7.2) -> Path:
    res = tmp_path / "results"
    (res / "speed").mkdir(parents=True)
    (res / "logs").mkdir()
    (res / "speed" / "crossbar.json").write_text(json.dumps(CROSSBAR))
    (res / "speed" / "ir_drop.json").write_text(json.dumps(IR_DROP))
    (res / "logs" / "ir_drop.log").write_text(
        "iterative vs exact at 128x128: max |dI| / max |I| = 7.12e-11\nBLAS: OpenBLAS 0.3.27 Zen 2 threads\n"
    )
    meta = {
        "part": "speed",
        "started": "2026-11-30 07:00 UTC",
        "machine": {"cores": 2, "cpu": "AMD EPYC", "system": "Linux x86_64", "python": "3.11.7"},
        "load_average_start": load,
        "blas": "OpenBLAS 0.3.27 Zen 2 threads; native OpenBLAS settings",
        "memory_latency_ns": [121.0, 87.0],
        "cross_core_write_ratio": [2.3, 5.1],
    }
    (res / "run_speed.json").write_text(json.dumps(meta))
    for name, ip, epoch, pulses in (("ff_rram", 0.96, 1.75, 4.3e6), ("ff_rram_array", 0.94, 0.95, 4.3e4)):
        (res / name).mkdir()
        (res / name / "ff_digits.json").write_text(json.dumps(_ff_rows(ip, epoch, pulses)))
    (res / "copyout").mkdir()
    (res / "copyout" / "report.json").write_text(json.dumps(_copyout_report()))
    (res / "copyout" / "credible.json").write_text(json.dumps(_credible()))
    return res


def _block(text: str, part: str) -> str:
    return text.split(f"<!-- {part}:begin -->", 1)[1].split(f"<!-- {part}:end -->", 1)[0]


def test_the_speed_table_holds_the_benchmarks_figures(rr, tmp_path):
    readme = _readme(tmp_path)
    assert rr.render(_results(tmp_path), readme, ("speed",), strict=True) == ["speed"]
    block = _block(readme.read_text(), "speed")
    for expected in (
        "4.2x a float32 `x @ W` (2.0x float64)",  # read: both baselines
        "206x a float32 `x @ W` (105x float64)",  # 1/f read
        "3.7x a float32 `x @ W` (1.9x float64)",  # update
        "8.2x a float64 `x @ W`",  # environment change: float64 only
        "1.3x a float64 `x @ W` (0.97x one followed by a pass",
        "2.3x a float32 `x @ W` (1.2x float64) once the transfer is built (0.1 s, 0.13x one `spsolve`)",
        "19x faster",
        "verified iterative: 12x faster, 7e-11 from exact",
        "ngspice not timed in this run",
        "3.9x (0.1 % of pairs pulsed), 7.9x (6 %",
        "3.5x on `rram` (4.3e+06 pulses an epoch), 1.9x on `rram_array`",  # FF epoch: 1.75 / 0.5
        "0.84 ms",  # the float32 baseline's absolute time
        "2026-11-30 07:00 UTC",
        "AMD EPYC",
        "OpenBLAS 0.3.27",
        "**measured under load**",
        "memory latency 121 ns before the figures and 87 ns after",
        "cross-core writes 2.3x before and 5.1x after",
        "--run --only speed",
        rr.PEERS["read"],
        "not regenerated",
    ):
        assert expected in block, expected
    assert "old speed table" not in block
    assert "telegraph" not in block  # no read_rtn in the JSON: its row is left out


def test_a_changed_figure_changes_the_table_and_a_quiet_run_is_not_flagged(rr, tmp_path):
    res = _results(tmp_path, load=0.3)
    figures = json.loads((res / "speed" / "crossbar.json").read_text())
    figures["read_f32"]["ratio"] = 5.6
    (res / "speed" / "crossbar.json").write_text(json.dumps(figures))
    readme = _readme(tmp_path)
    rr.render(res, readme, ("speed",), strict=True)
    block = _block(readme.read_text(), "speed")
    assert "5.6x a float32 `x @ W` (2.0x float64)" in block
    assert "4.2x a float32" not in block
    assert "under load" not in block


def test_text_outside_the_markers_is_left_byte_for_byte(rr, tmp_path):
    readme = _readme(tmp_path)
    before = readme.read_text()
    assert rr.render(_results(tmp_path), readme) == ["speed", "ff", "copyout"]
    after = readme.read_text()

    def outside(text):
        for part in ("speed", "ff", "copyout"):
            text = text.replace(_block(text, part), "|")
        return text

    assert outside(after) == outside(before)
    assert after.startswith(HEAD) and after.endswith(TAIL)
    rr.render(_results(tmp_path / "again"), readme)
    assert readme.read_text() == after  # rendering twice from the same JSON changes nothing


def test_the_ff_and_copyout_blocks_hold_their_figures(rr, tmp_path):
    readme = _readme(tmp_path)
    rr.render(_results(tmp_path), readme, ("ff", "copyout"), strict=True)
    text = readme.read_text()
    ff = _block(text, "ff")
    assert "| in place, Forward-Forward through the ports | 97.00 +/- 1.00 % | 95.00 +/- 1.00 % |" in ff
    assert "| ... heated to 358 K and aged a day | 93.00 +/- 0.00 % | 93.00 +/- 0.00 % |" in ff
    assert "mixed-precision" not in ff  # no in_place_mixed in the rows
    assert "--run --only ff" in ff
    co = _block(text, "copyout")
    assert "relative weight errors of 0.97 %, 1.09 %" in co
    assert "every layer is within 1 % from 6(N+1) queries" in co
    assert "| as fabricated: its own converters, white read noise | 2.02 %, 2.47 % | 99.4 % (99.7 %) " in co
    assert "| not within 32(N+1) |" in co
    assert "| the same die with nominal converters | 0.95 %, 1.10 % | 100.0 % (99.7 %) | 8(N+1) |" in co
    assert "by 64.0 with white read noise and by 5.5 with 1/f noise (the 1/K law: 64)" in co
    assert "would gain 1.6" in co
    assert "--run --only copyout" in co


def test_copyout_renders_the_old_keys_without_the_credible_ones(rr, tmp_path):
    res = _results(tmp_path)
    (res / "copyout" / "credible.json").unlink()
    readme = _readme(tmp_path)
    rr.render(res, readme, ("copyout",), strict=True)
    co = _block(readme.read_text(), "copyout")
    assert "Distillation's best fidelity is 98.1 % (14,370 queries)" in co
    assert "credible" not in co


def test_missing_files_leave_a_part_as_it_is_unless_named(rr, tmp_path):
    res = _results(tmp_path)
    for name in ("crossbar.json", "ir_drop.json"):
        (res / "speed" / name).unlink()
    readme = _readme(tmp_path)
    assert rr.render(res, readme) == ["ff", "copyout"]
    assert "old speed table" in _block(readme.read_text(), "speed")
    with pytest.raises(FileNotFoundError, match="speed/crossbar.json"):
        rr.render(res, readme, ("speed",), strict=True)


def test_markers_must_be_there_once_and_in_order(rr, tmp_path):
    with pytest.raises(ValueError, match="must hold <!-- speed:begin --> then <!-- speed:end -->"):
        rr.replace_block("no markers here", "speed", "x")
    with pytest.raises(ValueError, match="once each"):
        rr.replace_block("<!-- speed:end --> <!-- speed:begin -->", "speed", "x")
    twice = "<!-- ff:begin -->a<!-- ff:end --><!-- ff:begin -->b<!-- ff:end -->"
    with pytest.raises(ValueError, match="got 2 and 2"):
        rr.replace_block(twice, "ff", "x")


def test_only_takes_known_parts(rr):
    with pytest.raises(SystemExit):
        rr.main(["--only", "speed,nope", "--readme", "/nonexistent"])
    assert rr.part_commands("speed", Path("R"), ngspice=True)[1][1][-1] == "--ngspice"
    with pytest.raises(ValueError, match="`part` must be one of"):
        rr.part_commands("nope", Path("R"))


def test_ratio_and_seconds_formats(rr):
    assert [rr.ratio(r) for r in (0.0263, 0.1312, 0.998, 1.0, 4.25, 19.4, 105.2, 9000.0)] == [
        "0.026x", "0.13x", "1.00x", "1.0x", "4.2x", "19x", "105x", "9,000x",
    ]  # fmt: skip
    assert (rr.faster(1 / 19.2), rr.faster(1.3)) == ("19x faster", "1.3x slower")
    assert [rr.seconds(s) for s in (4e-5, 8.4e-4, 0.05, 0.77, 110.0)] == [
        "40 us",
        "0.84 ms",
        "50 ms",
        "0.77 s",
        "110 s",
    ]


def test_the_memory_latency_is_read_from_the_crossbar_log(rr):
    log = (
        "update_f32  1e-3  1e-3  1.0\n"
        "note: memory latency (random loads over 16 MB) 94 ns before the figures, 119 ns after: ~25 ns\n"
    )
    assert rr.latency_from_log(log) == [94.0, 119.0]
    assert rr.latency_from_log("no such note") is None


def test_the_cross_core_write_ratio_is_read_from_the_crossbar_log(rr):
    log = (
        "note: cross-core writes (1 MB that OpenBLAS's other thread had just read, against 1 MB this "
        "thread alone touched) took 2.3x as long before the figures, 11.0x after: 2.1-2.4x here\n"
    )
    assert rr.sharing_from_log(log) == [2.3, 11.0]
    assert rr.sharing_from_log("no such note") is None
