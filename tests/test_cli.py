"""The command line, run as a user would."""

from __future__ import annotations

import pathlib
import subprocess
import sys


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "neuromorph.faces.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_demo_prints_the_temperature_table():
    out = _run("demo", "--seed", "1", "--crossbar-only")
    assert out.returncode == 0, out.stderr
    assert "programmed, 300 K" in out.stdout and "heated, 358 K" in out.stdout
    rows = [line for line in out.stdout.splitlines() if " K" in line and "%" in line]
    assert len(rows) == 4
    # the RMS change column is zero for the first read and not for the hot one
    assert float(rows[0].split()[-2]) == 0.0
    assert float(rows[1].split()[-2]) > 0.0


def test_demo_bad_temperature_is_a_clear_error():
    out = _run("demo", "--hot-k", "-5")
    assert out.returncode == 2
    assert "temperature_k must be > 0 K" in out.stderr


def test_train_then_spice_round_trip(tmp_path):
    import json

    out = _run(
        "train",
        "--mode",
        "in-place",
        "--epochs",
        "1",
        "--hidden",
        "16",
        "--quiet",
        "--eval-every",
        "1",
        "--out",
        str(tmp_path / "run"),
    )
    assert out.returncode == 0, out.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key in ("test_accuracy", "train_accuracy", "mode", "preset", "seed", "epochs", "pulses", "energy_j"):
        assert key in metrics
    assert metrics["pulses"] > 0 and 0 <= metrics["test_accuracy"] <= 1
    assert (tmp_path / "run" / "training_curve.png").stat().st_size > 1000
    out = _run(
        "spice",
        str(tmp_path / "run" / "chip.npz"),
        "--layer",
        "0",
        "--temperature",
        "330",
        "--out",
        str(tmp_path / "net.cir"),
        "--run",
    )
    assert out.returncode == 0, out.stderr
    assert "ngspice agrees" in out.stdout
    rel = float(out.stdout.split("solution to ")[1].split()[0])
    assert rel < 1e-9


def test_train_is_reproducible(tmp_path):
    import json

    runs = []
    for name in ("a", "b"):
        out = _run(
            "train",
            "--mode",
            "in-place",
            "--epochs",
            "1",
            "--hidden",
            "8",
            "--quiet",
            "--eval-every",
            "0",
            "--seed",
            "3",
            "--out",
            str(tmp_path / name),
        )
        assert out.returncode == 0, out.stderr
        runs.append((tmp_path / name / "metrics.json").read_text())
    assert runs[0] == runs[1]
    assert json.loads(runs[0])["seed"] == 3


def test_cli_errors(tmp_path):
    out = _run("spice", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "n.cir"))
    assert out.returncode == 2 and "file not found" in out.stderr
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04garbage")
    out = _run("spice", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "n.cir"))
    assert out.returncode == 2 and "truncated or corrupted" in out.stderr
    out = _run("train", "--preset", "flash", "--out", str(tmp_path / "r"))
    assert out.returncode == 2 and "invalid choice: 'flash'" in out.stderr


def test_demo_tells_the_whole_story(tmp_path):
    import json

    out = _run(
        "demo",
        "--quiet",
        "--epochs",
        "2",
        "--hidden",
        "16,16",
        "--retrain-epochs",
        "1",
        "--distill-budgets",
        "20",
        "--out",
        str(tmp_path / "run"),
    )
    assert out.returncode == 0, out.stderr
    run = tmp_path / "run"
    summary = json.loads((run / "summary.json").read_text())
    for key in ("training", "temperature", "copyout", "copy_in", "spice"):
        assert key in summary
    assert summary["spice"]["max_relative_error"] < 1e-9
    methods = {m["method"] for m in summary["copyout"]["methods"]}
    assert methods == {"fd", "designed", "distill"}
    for name in (
        "chip_a.npz",
        "chip_b.npz",
        "layer0_tile0.cir",
        "training_curve.png",
        "temperature.png",
        "conductance_layer0.png",
        "spice_agreement.png",
    ):
        assert (run / name).exists(), name
    for path in summary["files"]:
        assert (tmp_path.parent / path).exists() or pathlib.Path(path).exists(), path
    assert "Run folder:" in out.stdout
