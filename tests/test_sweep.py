"""Sweeps on Dask: spec validation, reproducibility however scheduled, failures, resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from neuromorph.faces import cli
from neuromorph.studies import sweep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = {"hidden": [8], "epochs": 1, "n_train": 300, "n_test": 100}


def _numbers(rows):
    """Rows without what legitimately differs between runs (wall time)."""
    return [{k: v for k, v in r.items() if k != "wall_seconds"} for r in rows]


def _no_children():
    """No worker or nanny outlives the sweep (multiprocessing's one resource tracker may:
    it belongs to this interpreter and exits with it)."""
    time.sleep(0.2)
    kids = [
        p
        for p in psutil.Process().children(recursive=True)
        if p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(p.cmdline())
    ]
    assert not kids, f"leaked processes: {[p.cmdline() for p in kids]}"


# ---------------------------------------------------------------------------- the spec
def test_spec_points_grid_fixed_sample_and_defaults():
    spec = sweep.SweepSpec.from_dict(
        {
            "sweep": {"seed": 3, "name": "t"},
            "grid": {"seed": [0, 1], "temperature_k": [300, 358]},
            "fixed": {"hidden": [8, 8], "epochs": 1},
            "sample": {
                "n": 3,
                "seed": 5,
                "ranges": {
                    "read_noise_scale": [0.5, 2.0],
                    "adc_bits": {"choices": [4, 6]},
                    "age_hours": {"low": 1, "high": 1000, "log": True},
                    "n_test": [10, 20],
                },
            },
        }
    )
    pts = spec.points()
    assert len(pts) == 2 * 2 * 3
    assert [p.index for p in pts] == list(range(12))
    for p in pts:
        assert p.params["hidden"] == [8, 8] and p.params["preset"] == "rram"
        assert isinstance(p.params["temperature_k"], float)
        assert 0.5 <= p.params["read_noise_scale"] <= 2.0
        assert 1 <= p.params["age_hours"] <= 1000
        assert p.params["adc_bits"] in (4, 6) and p.params["n_test"] in range(10, 21)
    assert pts == spec.points(), "sampling is seeded"
    assert len({p.key for p in pts}) == 12


def test_spec_toml_file_and_sample_spec(tmp_path):
    spec = sweep.SweepSpec.load(os.path.join(ROOT, "examples", "sweep_small.toml"))
    assert len(spec.points()) == 18
    path = tmp_path / "s.toml"
    path.write_text("[grid]\nseed = [0, 1]\n[fixed]\nhidden = [8]\n")
    assert [p.params["seed"] for p in sweep.as_spec(str(path)).points()] == [0, 1]
    (tmp_path / "bad.toml").write_text("[grid\nseed = 1")
    with pytest.raises(ValueError, match="must be valid TOML"):
        sweep.SweepSpec.load(tmp_path / "bad.toml")
    with pytest.raises(FileNotFoundError, match="sweep spec not found"):
        sweep.SweepSpec.load(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    "spec, error, match",
    [
        ({"grid": {"tempertaure_k": [300]}}, ValueError, r"grid\.tempertaure_k must be a sweep parameter"),
        ({"grids": {}}, ValueError, r"spec keys must be among .*got 'grids'"),
        ({"grid": {"seed": 1}}, ValueError, r"grid\.seed must be a non-empty list of values; got 1"),
        ({"grid": {"seed": []}}, ValueError, r"grid\.seed must be a non-empty list"),
        ({"grid": {"hidden": [8, 16]}}, ValueError, r"grid\.hidden must be a non-empty list of width lists"),
        ({"grid": "x"}, TypeError, r"grid must be a table"),
        ({"fixed": {"seed": 1}, "grid": {"seed": [0]}}, ValueError, r"seed must appear in only one of"),
        ({"fixed": {"temperature_k": float("nan")}}, ValueError, r"fixed\.temperature_k must be finite"),
        ({"fixed": {"hidden": {"a": 1}}}, TypeError, r"fixed\.hidden must be a number, a string"),
        ({"sweep": {"seed": -1}}, ValueError, r"sweep\.seed must be >= 0; got sweep\.seed=-1"),
        ({"sweep": {"speed": 1}}, ValueError, r"sweep keys must be among"),
        ({"sample": {"n": 2}}, ValueError, r"sample\.ranges must name at least one parameter"),
        ({"sample": {"ranges": {"seed": [0, 3]}}}, ValueError, r"sample\.n must be >= 1"),
        (
            {"sample": {"n": 2, "ranges": {"seed": [0, 1, 2]}}},
            ValueError,
            r"sample\.ranges\.seed must be \[low, high\]",
        ),
        ({"sample": {"n": 2, "ranges": {"age_hours": [5.0, 1.0]}}}, ValueError, r"must have low <= high"),
        (
            {"sample": {"n": 2, "ranges": {"age_hours": {"low": 0, "high": 1, "log": True}}}},
            ValueError,
            r"sample\.ranges\.age_hours\.low must be > 0 for a log range",
        ),
        ({"sample": {"n": 2, "ranges": {"preset": {"choices": []}}}}, ValueError, r"choices"),
        ({"sample": {"n": 2, "ranges": {"speed": [0, 1]}}}, ValueError, r"must be a sweep parameter"),
        (["grid"], TypeError, r"spec must be a dict"),
    ],
)
def test_spec_errors_name_key_rule_and_value(spec, error, match):
    with pytest.raises(error, match=match):
        sweep.SweepSpec.from_dict(spec)


def test_point_key_is_stable_and_order_free():
    a = sweep.SweepSpec.from_dict({"grid": {"seed": [0, 1], "temperature_k": [300, 358.0]}})
    b = sweep.SweepSpec.from_dict({"grid": {"temperature_k": [358, 300.0], "seed": [1, 0]}})
    ka = {p.key: p.params for p in a.points()}
    kb = {p.key: p.params for p in b.points()}
    assert ka == kb, "a point's key depends on its parameters, not its position"
    c = sweep.SweepSpec.from_dict({"sweep": {"seed": 1}, "grid": {"seed": [0, 1]}})
    assert not set(ka) & {p.key for p in c.points()}, "the sweep seed is part of the key"
    # Duplicates are one point.
    d = sweep.SweepSpec.from_dict({"sample": {"n": 20, "ranges": {"seed": {"choices": [0, 1]}}}})
    assert len(d.points()) == 2


@pytest.mark.parametrize(
    "params, match",
    [
        ({"temperature_k": -5}, r"temperature_k must be > 0 K .*got temperature_k=-5"),
        ({"preset": "nope"}, r"preset must be one of \['ideal', 'pcm', 'rram', .*\]; got 'nope'"),
        ({"adc_bits": 1}, r"adc_bits must be >= 2; got adc_bits=1"),
        ({"hidden": [0]}, r"hidden must be a non-empty list of int >= 1; got hidden=\[0\]"),
        ({"read_noise_scale": -1.0}, r"read_noise_scale must be >= 0"),
        ({"copyout_method": "xray"}, r"copyout_method must be one of \['none', 'fd', 'designed'\]"),
        ({"copyout_method": "fd", "copyout_budget": 0.5}, r"copyout_budget must be >= 1"),
        ({"colour": 1}, r"parameter must be one of .*got 'colour'"),
    ],
)
def test_check_point_errors(params, match):
    with pytest.raises(ValueError, match=match):
        sweep.check_point(params)


def test_check_point_type_errors_and_defaults():
    with pytest.raises(TypeError, match="seed must be an integer; got float 1.5"):
        sweep.check_point({"seed": 1.5})
    with pytest.raises(TypeError, match="temperature_k must be a real number; got str 'hot'"):
        sweep.check_point({"temperature_k": "hot"})
    assert sweep.check_point({}) == {k: d for k, (d, _) in sweep.PARAMETERS.items()}


def test_studies_draw_nothing_and_never_import_faces():
    """Studies return data: no matplotlib and no faces import anywhere under studies/."""
    import ast
    import pathlib

    studies = pathlib.Path(ROOT, "neuromorph", "studies")
    files = sorted(studies.rglob("*.py"))
    assert len(files) >= 9
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith(("matplotlib", "neuromorph.faces")), f"{path.name} imports {name}"


def test_point_design_is_the_default_design_with_the_point_variants():
    from neuromorph.datasets import load_digits
    from neuromorph.studies.training import default_design

    data = load_digits(seed=0)
    p = sweep.check_point({"preset": "pcm", "hidden": [8, 4], "adc_bits": 5, "read_noise_scale": 2.0})
    design = sweep.point_design(p, data)
    base = default_design(data, device="pcm", hidden=(8, 4))
    assert design.layer_sizes == base.layer_sizes == (74, 8, 4)
    assert design.periphery.adc.bits == 5 and base.periphery.adc.bits != 5
    assert design.device.noise.read_noise_rel == 2.0 * base.device.noise.read_noise_rel
    assert design.device.name == base.device.name and design.w_max == base.w_max


# ---------------------------------------------------------------------------- points
def test_serial_rows_failures_and_stress_shares_training(tmp_path):
    spec = {"grid": {"preset": ["rram", "nope"], "temperature_k": [300, 358, -5]}, "fixed": TINY}
    res = sweep.run_sweep(spec, tmp_path, serial=True, progress=False)
    rows = res.rows
    assert len(rows) == 6 and res.computed == 6 and res.resumed == 0
    ok = [r for r in rows if r["status"] == "ok"]
    assert [(r["preset"], r["temperature_k"]) for r in ok] == [("rram", 300.0), ("rram", 358.0)]
    for r in res.failed:
        assert r["error_type"] == "ValueError"
        assert (
            "preset must be one of" in r["error_message"]
            or "temperature_k must be > 0 K" in r["error_message"]
        )
        assert "accuracy" not in r
    bad_t = next(r for r in rows if r["preset"] == "rram" and r["temperature_k"] == -5)
    assert "got temperature_k=-5" in bad_t["error_message"]
    assert ok[0]["accuracy_trained"] == ok[1]["accuracy_trained"], "one training per die"
    assert ok[0]["train_pulses"] == ok[1]["train_pulses"] > 0
    assert 0.0 <= ok[1]["accuracy"] <= 1.0
    # Each accuracy is the mean of the scorer's re-reads, its spread beside it.
    for r in ok:
        assert r["accuracy_std"] >= 0.0 and r["accuracy_trained_std"] >= 0.0
    assert ok[1]["accuracy_drop_points"] == pytest.approx(
        100 * (ok[1]["accuracy_trained"] - ok[1]["accuracy"])
    )
    # The table: CSV through the csv module, one row per point, lists as JSON.
    with open(res.paths["csv"], newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 6 and table[0]["key"] == rows[0]["key"]
    assert json.loads(table[0]["hidden"]) == [8] and table[2]["error_type"] == "ValueError"
    assert float(table[0]["accuracy"]) == rows[0]["accuracy"]
    assert set(res.paths) == {"jsonl", "csv"}, "the study writes data; the faces draw"
    assert not list(tmp_path.glob("*.png"))
    # Reordering the grid changes positions, never numbers.
    rev = {"grid": {"temperature_k": [-5, 358, 300], "preset": ["nope", "rram"]}, "fixed": TINY}
    res2 = sweep.run_sweep(rev, tmp_path / "rev", serial=True, progress=False)
    by_key = {r["key"]: r for r in _numbers(res2.rows)}
    for r in _numbers(rows):
        assert {**by_key[r["key"]], "index": r["index"]} == r


def test_a_noisy_point_reports_its_accuracy_as_a_mean_with_its_spread():
    # one read per accuracy (the old scoring) gives no spread; the re-read mean does
    out = sweep.run_point({**TINY, "read_noise_scale": 4.0}, sweep_seed=0)
    assert out["accuracy_std"] > 0.0 and out["accuracy_trained_std"] > 0.0


def test_copy_out_point_reports_cost_and_quality():
    out = sweep.run_point({**TINY, "copyout_method": "fd", "copyout_budget": 1}, sweep_seed=0)
    assert out["copyout_queries"] > 0 and out["copyout_energy_j"] > 0
    assert 0 <= out["copyout_fidelity"] <= 1 and out["copyout_weight_rel_rms"] >= 0


def test_execute_turns_any_failure_into_a_row():
    pt = sweep.SweepSpec.from_dict({"fixed": TINY}).points()[0]
    row = sweep.execute(_not_a_dict, pt, 0)
    assert row["status"] == "error" and row["error_type"] == "TypeError"
    assert "task result must be a dict" in row["error_message"]
    row = sweep.execute(_raises, pt, 0)
    assert (row["error_type"], row["error_message"]) == ("RuntimeError", "boom at seed 0")
    assert row["key"] == pt.key and row["hidden"] == [8]


def _not_a_dict(params, *, sweep_seed):
    return 3


def _raises(params, *, sweep_seed):
    raise RuntimeError(f"boom at seed {params['seed']}")


def _counting(params, *, sweep_seed):
    return {"accuracy": params["seed"] / 10, "temperature_k_seen": params["temperature_k"]}


def test_read_results_torn_tail_and_corruption(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"key": "a", "x": 1}\n{"key": "b", "x": 2}\n{"key": "a", "x": 3}\n{"key": "c"')
    rows = sweep.read_results(path)
    assert rows == {"a": {"key": "a", "x": 3}, "b": {"key": "b", "x": 2}}
    path.write_text('{"key": "a"}\n[1, 2]\n')
    with pytest.raises(ValueError, match=r"line 2 must be a JSON object with a 'key'"):
        sweep.read_results(path)
    assert sweep.read_results(tmp_path / "none.jsonl") == {}


def test_resume_in_process_and_retry_failed(tmp_path):
    spec = {"grid": {"seed": [0, 1, 2], "temperature_k": [300, -5]}}
    first = sweep.run_sweep(spec, tmp_path, serial=True, task=_counting, progress=False)
    assert first.computed == 6 and len(first.failed) == 0, "a custom task checks its own values"
    with open(tmp_path / "results.jsonl", "ab") as fh:
        fh.write(b'{"key": "torn')  # a write cut by a kill
    again = sweep.run_sweep(spec, tmp_path, serial=True, task=_raises, progress=False)
    assert again.computed == 0 and again.resumed == 6
    assert _numbers(again.rows) == _numbers(first.rows)
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 6, "the torn line was cut, nothing appended"
    # Failed points are kept unless retried.
    bad = sweep.run_sweep(spec, tmp_path / "b", serial=True, task=_raises, progress=False)
    assert len(bad.failed) == 6
    kept = sweep.run_sweep(spec, tmp_path / "b", serial=True, task=_counting, progress=False)
    assert kept.computed == 0 and len(kept.failed) == 6
    retried = sweep.run_sweep(
        spec, tmp_path / "b", serial=True, task=_counting, retry_failed=True, progress=False
    )
    assert retried.computed == 6 and not retried.failed
    assert _numbers(retried.rows) == _numbers(first.rows)


def test_run_sweep_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="workers must be >= 1; got workers=0"):
        sweep.run_sweep({"fixed": TINY}, tmp_path, workers=0, progress=False)
    with pytest.raises(TypeError, match="scheduler must be an address string"):
        sweep.run_sweep({"fixed": TINY}, tmp_path, scheduler=8786, progress=False)
    with pytest.raises(TypeError, match="task must be callable"):
        sweep.run_sweep({"fixed": TINY}, tmp_path, task="run_point", progress=False)


# ---------------------------------------------------------------------------- on Dask
def test_local_cluster_matches_serial_bit_for_bit(tmp_path):
    spec = {"sweep": {"seed": 7}, "grid": {"seed": [0, 1], "temperature_k": [300, 358, -5]}, "fixed": TINY}
    dask = sweep.run_sweep(spec, tmp_path / "dask", workers=2, progress=False)
    _no_children()
    serial = sweep.run_sweep(spec, tmp_path / "serial", serial=True, progress=False)
    assert len(dask.rows) == 6 and dask.computed == 6
    assert _numbers(dask.rows) == _numbers(serial.rows)
    assert sum(r["status"] == "error" for r in dask.rows) == 2, "bad points fail alone"
    assert all(r["status"] == "ok" for r in dask.rows if r["temperature_k"] > 0)
    with open(tmp_path / "dask" / "results.jsonl") as fh:
        assert len(fh.read().splitlines()) == 6


def test_existing_scheduler_is_used_unchanged(tmp_path):
    spec = {"grid": {"seed": [0, 1]}, "fixed": TINY}
    cluster = sweep.local_cluster(1)
    try:
        res = sweep.run_sweep(spec, tmp_path / "a", scheduler=cluster.scheduler_address, progress=False)
        assert len(cluster.scheduler_info["workers"]) == 1, "the cluster is left running"
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    finally:
        cluster.close()
    _no_children()
    serial = sweep.run_sweep(spec, tmp_path / "b", serial=True, progress=False)
    assert _numbers(res.rows) == _numbers(serial.rows)


_MARKER_TASK = """
import os, time

def task(params, *, sweep_seed):
    with open(os.environ["SWEEP_MARKER"], "a") as fh:
        fh.write(f"{params['seed']}\\n")
    time.sleep(0.25)
    return {"accuracy": params["seed"] / 100.0, "twice": 2 * params["seed"] + sweep_seed}
"""

_DRIVER = """
import sys
from neuromorph.studies import sweep
import marker_task

if __name__ == "__main__":
    spec = {"sweep": {"seed": 1}, "grid": {"seed": list(range(10))}}
    sweep.run_sweep(spec, sys.argv[1], workers=1, task=marker_task.task,
                    progress=False)
"""


def _driver(tmp_path):
    (tmp_path / "marker_task.py").write_text(_MARKER_TASK)
    (tmp_path / "driver.py").write_text(textwrap.dedent(_DRIVER))
    env = {
        **os.environ,
        "SWEEP_MARKER": str(tmp_path / "marker.txt"),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), ROOT, os.environ.get("PYTHONPATH", "")]),
    }
    return [sys.executable, str(tmp_path / "driver.py"), str(tmp_path / "out")], env


def test_killed_sweep_resumes_without_losing_or_repeating_points(tmp_path):
    cmd, env = _driver(tmp_path)
    results = tmp_path / "out" / "results.jsonl"
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if results.exists() and len(results.read_text().splitlines()) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"the sweep ended before it was killed: {proc.stderr.read()!r}"
        os.killpg(proc.pid, signal.SIGKILL)  # the driver, its nannies and its workers
    finally:
        proc.wait(timeout=30)
        proc.stderr.close()
    time.sleep(0.3)
    alive = [
        p
        for p in psutil.process_iter(["pid"])
        if _pgid(p.pid) == proc.pid and _status(p) != psutil.STATUS_ZOMBIE
    ]
    assert not alive, "every process of the killed sweep is gone"
    before = sweep.read_results(results)
    assert 3 <= len(before) < 10
    done_before = {r["seed"] for r in before.values()}
    lines_before = results.read_text().splitlines(keepends=True)

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    after = results.read_text().splitlines(keepends=True)
    assert after[: len(lines_before)] == [ln for ln in lines_before if ln.endswith("\n")]
    rows = [json.loads(ln) for ln in after]
    assert sorted(r["seed"] for r in rows) == list(range(10)), "each point exactly once"
    assert all(r["twice"] == 2 * r["seed"] + 1 for r in rows)
    runs = [int(s) for s in (tmp_path / "marker.txt").read_text().split()]
    for seed in done_before:
        assert runs.count(seed) == 1, f"finished point seed={seed} was computed again"
    assert set(runs) == set(range(10))
    with open(tmp_path / "out" / "results.csv", newline="") as fh:
        assert [int(r["seed"]) for r in csv.DictReader(fh)] == list(range(10))


def _status(p):
    try:
        return p.status()
    except psutil.NoSuchProcess:
        return psutil.STATUS_ZOMBIE


def _pgid(pid):
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


# ---------------------------------------------------------------------------- command line
def test_cli_resumes_finished_sweep_and_prints_summary(tmp_path, capsys):
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(
        textwrap.dedent("""
        [grid]
        seed = [0, 1]
        temperature_k = [300, 358]
        [fixed]
        hidden = [8]
        epochs = 1
        n_train = 300
        n_test = 100
    """)
    )
    sweep.run_sweep(str(spec_path), tmp_path / "out", serial=True, progress=False)
    capsys.readouterr()
    args = cli.build_parser().parse_args(
        ["sweep", str(spec_path), "--out", str(tmp_path / "out"), "--workers", "2", "--quiet"]
    )
    assert (args.scheduler, args.workers) == (None, 2)
    assert args.func(args) == 0  # every point is already there: no cluster is started
    out = capsys.readouterr().out
    assert "4 points: 4 ok, 0 failed; 0 computed now, 4 from earlier runs" in out
    assert "rram" in out and "358.0" in out
    names = ("results.jsonl", "results.csv", "accuracy_distribution.png", "accuracy_vs_temperature.png")
    for name in names:
        assert (tmp_path / "out" / name).exists()
    assert f"wrote {', '.join(names)} in" in out
    assert not (tmp_path / "out" / "copyout.png").exists(), "no point copied out"
