"""The command line, run as a user would."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest


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
    assert "--hot-k must be in [233.15, 423.15] K" in out.stderr
    assert "Did you mean 268.15 K?" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


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


def test_train_is_reproducible_and_replaces_an_earlier_run_only_with_force(tmp_path):
    import json

    args = ("train", "--mode", "in-place", "--epochs", "1", "--hidden", "8", "--quiet")
    args += ("--eval-every", "0", "--seed", "3", "--out", str(tmp_path / "a"))
    runs = []
    for extra in ((), ("--force",)):
        out = _run(*args, *extra)
        assert out.returncode == 0, out.stderr
        runs.append((tmp_path / "a" / "metrics.json").read_text())
        if not extra:  # the same folder again without --force: refused, the run kept
            refused = _run(*args)
            assert refused.returncode == 2 and "holds an earlier run" in refused.stderr
            assert "--force" in refused.stderr
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


# ------------------------------------------------------------------ argument checks, in process
def _main(capsys, *args) -> tuple[int, str]:
    from neuromorph.faces.cli import main

    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


@pytest.fixture
def chipfile(tmp_path):
    from neuromorph.chip import Chip, ChipDesign

    return Chip.fabricate(ChipDesign(layer_sizes=(4, 3), tile_shape=(3, 2)), seed=0).save(
        tmp_path / "chip.npz"
    )


def test_spice_never_writes_over_its_chip(chipfile, capsys):
    before = pathlib.Path(chipfile).read_bytes()
    for extra in ((), ("--force",)):
        code, err = _main(capsys, "spice", chipfile, "--out", chipfile, *extra)
        assert code == 2 and "--out must not be an input file" in err
    assert pathlib.Path(chipfile).read_bytes() == before


def test_spice_replaces_a_netlist_only_with_force(chipfile, tmp_path, capsys):
    net = tmp_path / "n.cir"
    net.write_text("old")
    code, err = _main(capsys, "spice", chipfile, "--out", net)
    assert code == 2 and "without --force" in err and net.read_text() == "old"
    assert _main(capsys, "spice", chipfile, "--out", net, "--force", "--tile", "1,1")[0] == 0
    assert net.read_text().startswith("*") or ".end" in net.read_text()
    assert [p.name for p in tmp_path.iterdir() if "tmp" in p.name] == []


@pytest.mark.parametrize(
    "args, message",
    [
        (("--temperature", "30"), "Did you mean 303.15 K?"),
        (("--temperature", "1e6"), "--temperature must be in [233.15, 423.15] K"),
        (("--temperature", "nan"), "--temperature must be finite"),
        (("--layer", "5"), "--layer must be in 0..0"),
        (("--tile", "2,0"), "--tile must be 'row,col' with row < 2 and col < 2"),
        (("--tile", "a"), "--tile must be comma-separated integers"),
        (("--input", "missing.npy"), "--input file not found"),
    ],
)
def test_spice_argument_errors(chipfile, tmp_path, capsys, args, message):
    code, err = _main(capsys, "spice", chipfile, "--out", tmp_path / "n.cir", *args)
    assert code == 2 and message in err, err
    assert not (tmp_path / "n.cir").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (("--heat-k", "-5"), "Did you mean 268.15 K?"),
        (("--temperature-k", "30"), "--temperature-k must be in [233.15, 423.15] K"),
        (("--temperature-k", "30"), "Did you mean 303.15 K?"),
        (("--mode", "software", "--heat-k", "350"), "--heat-k must come with --mode in-place or ex-situ"),
        (("--age-hours", "1e308"), "--age-hours must be <= 87660 hours (10 years)"),
        (("--age-hours", "-1"), "--age-hours must be >= 0"),
        (("--hidden", "a,b"), "--hidden must be comma-separated integers >= 1"),
        (("--hidden", "0"), "--hidden must be comma-separated integers >= 1"),
        (("--epochs", "-1"), "--epochs must be >= 0"),
        (("--seed", "-2"), "--seed must be >= 0"),
        (("--dataset", "mnist"), "--dataset mnist must come with --mnist-npz"),
        (("--dataset", "mnist", "--mnist-npz", "nope.npz"), "--mnist-npz file not found"),
    ],
)
def test_train_checks_every_argument_before_any_work(tmp_path, capsys, args, message):
    code, err = _main(capsys, "train", "--out", tmp_path / "run", *args)
    assert code == 2 and message in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ("--methods", "distill", "--budgets", "0"),
            "--budgets must be whole numbers >= 1 for method 'distill'",
        ),
        (("--methods", "fd", "--budgets", "1.5"), "--budgets must be whole numbers >= 1 for method 'fd'"),
        (("--methods", "designed", "--budgets", "x"), "--budgets must be comma-separated numbers"),
        (
            ("--methods", "ocr"),
            "--methods must be a comma-separated choice from ['fd', 'designed', 'distill']",
        ),
        (("--methods", ","), "--methods must be a comma-separated choice"),
        (("--seed", "-1"), "--seed must be >= 0"),
    ],
)
def test_copyout_checks_every_argument_before_any_work(chipfile, tmp_path, capsys, args, message):
    code, err = _main(capsys, "copyout", chipfile, "--out", tmp_path / "report", *args)
    assert code == 2 and message in err, err
    assert not (tmp_path / "report").exists()


def test_copyout_keeps_an_earlier_report_and_its_input(chipfile, tmp_path, capsys):
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.json").write_text("{}")
    code, err = _main(capsys, "copyout", chipfile, "--out", tmp_path / "report")
    assert code == 2 and "holds an earlier run (report.json)" in err
    code, err = _main(capsys, "copyout", tmp_path / "report" / "report.json", "--out", tmp_path / "report")
    assert code == 2 and "report.json would replace it" in err


def test_other_commands_refuse_bad_arguments(tmp_path, capsys):
    code, err = _main(capsys, "demo", "--hidden", "16,x", "--out", tmp_path / "d")
    assert code == 2 and "--hidden must be comma-separated integers" in err
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "summary.json").write_text("{}")
    code, err = _main(capsys, "demo", "--out", tmp_path / "d")
    assert code == 2 and "holds an earlier run (summary.json)" in err
    code, err = _main(capsys, "demo", "--crossbar-only", "--hot-k", "85")
    assert code == 2 and "Did you mean 358.15 K?" in err
    code, err = _main(capsys, "sweep", tmp_path / "none.toml", "--out", tmp_path / "s")
    assert code == 2 and "spec file not found" in err
    code, err = _main(capsys, "copyout", tmp_path, "--out", tmp_path / "r")
    assert code == 2 and "chipfile must be a file" in err
