"""The command line, run as a user would."""

from __future__ import annotations

import json
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
        "--temperature-k",
        "330",
        "--out",
        str(tmp_path / "net.cir"),
        "--run",
    )
    assert out.returncode == 0, out.stderr
    assert "running ngspice on" in out.stdout and "roughly" in out.stdout
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
        "--preset",
        "PCM_GST",
        "--wires",
        "22nm",
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
    # every crossbar of both chips is PCM and wired (--preset and --wires reach them all)
    from neuromorph.chip import Chip
    from neuromorph.hardware.wires import wires_for_node

    for name in ("chip_a.npz", "chip_b.npz"):
        chip = Chip.load(run / name)
        assert [x.device.name for x in chip.crossbars] == ["pcm_gst"] * 2
        assert chip.design.wires == wires_for_node(22) and all(x.wires is not None for x in chip.crossbars)
    # the SPICE step ran a wired window of chip A's own wires: 64 rows x the layer's 32 columns
    assert summary["spice"]["cells"] == [64, 32] and summary["spice"]["wires"]["r_row_ohm"] > 0
    assert summary["preset"] == "pcm" and "two PCM chips" in out.stdout
    assert "running ngspice on" in out.stdout
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
    # one chip state, one figure: chip A as saved after retraining scores in copyout as in the demo
    retrained = summary["temperature"]["scores"]["accuracy_retrained"]
    assert f"chip A now: {retrained['text']}" in out.stdout
    assert summary["copyout"]["chip"]["accuracy_score"] == retrained
    copied = _run(
        "copyout", str(run / "chip_a.npz"), "--out", str(tmp_path / "co"), "--methods", "fd", "--budgets", "1"
    )
    assert copied.returncode == 0, copied.stderr
    assert json.loads((tmp_path / "co" / "report.json").read_text())["chip"]["accuracy_score"] == retrained


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
        (("--temperature-k", "30"), "Did you mean 303.15 K?"),
        (("--temperature-k", "1e6"), "--temperature-k must be in [233.15, 423.15] K"),
        (("--temperature-k", "nan"), "--temperature-k must be finite"),
        (("--window", "4"), "--window must be 'ROWS,COLS'"),
        (("--window", "0,2"), "--window must be comma-separated integers >= 1"),
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
        (("--hot-k", "-5"), "Did you mean 268.15 K?"),
        (("--temperature-k", "30"), "--temperature-k must be in [233.15, 423.15] K"),
        (("--temperature-k", "30"), "Did you mean 303.15 K?"),
        (("--mode", "software", "--hot-k", "350"), "--hot-k must come with --mode in-place or ex-situ"),
        (("--mode", "software", "--wires"), "--wires must come with --mode in-place or ex-situ"),
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


# ------------------------------------------------------------------ one figure per chip state (issue 14)
def test_train_copyout_and_lifetime_report_the_same_accuracy(tmp_path, capsys):
    """The chip ``train`` saved scores the same in ``copyout`` and ``lifetime`` (age 0, at its
    own temperature): the same R re-reads of the same test split, on a copy of the same state."""
    from neuromorph.faces.cli import main

    run = tmp_path / "run"
    args = ["train", "--epochs", "1", "--hidden", "8", "--quiet", "--eval-every", "0", "--seed", "3"]
    assert main([*args, "--out", str(run)]) == 0
    trained = json.loads((run / "metrics.json").read_text())["test_score"]
    said = capsys.readouterr().out
    assert f"test accuracy {trained['text']}" in said and "re-reads of 360 images, 95 % interval [" in said
    chip = str(run / "chip.npz")
    assert (
        main(["copyout", chip, "--out", str(tmp_path / "co"), "--methods", "fd", "--budgets", "1", "--quiet"])
        == 0
    )
    copied = json.loads((tmp_path / "co" / "report.json").read_text())["chip"]["accuracy_score"]
    assert f"chip accuracy: {trained['text']} (digits split seed 3)" in capsys.readouterr().out
    lt = tmp_path / "lt"
    opts = ["--temperatures-k", "300,330", "--ages-s", "0,3600", "--copyout-ages-s", "none", "--quiet"]
    assert main(["lifetime", chip, "--out", str(lt), *opts]) == 0
    said = capsys.readouterr().out
    life = json.loads((lt / "lifetime.json").read_text())
    assert copied == trained
    assert {k: life["programmed"][k] for k in trained} == trained
    first = life["temperatures"][0]["points"][0]
    assert (first["age_s"], first["accuracy_mean"], first["accuracy_std"]) == (
        0.0,
        trained["mean"],
        trained["std"],
    )
    assert [len(c["points"]) for c in life["temperatures"]] == [2, 2] and (
        lt / "lifetime.png"
    ).stat().st_size > 5000
    assert f"at programming (300 K): {trained['text']}" in said and "seed 3 (the training seed" in said


@pytest.mark.parametrize(
    "args, message",
    [
        (("--ages-s=-5,0",), "--ages-s must be ages in [0, "),
        (("--ages-s", "0,10,5"), "--ages-s must be strictly increasing"),
        (("--ages-s", "0,4e8"), "(10 years); got 4e+08"),
        (("--temperatures-k", "300,900"), "--temperatures-k must be in [233.15, 423.15] K"),
        (("--temperatures-k", "30"), "Did you mean 303.15 K?"),
        (("--temperatures-k", "hot"), "--temperatures-k must be comma-separated numbers"),
        (("--copyout-ages-s", "7"), "--copyout-ages-s must be ages of the schedule"),
        (("--max-age-years", "20"), "--max-age-years must be in"),
        (("--reads", "0"), "--reads must be >= 1"),
        (("--threshold-points", "0"), "--threshold-points must be in (0, 100]"),
        (("--maintenance", "bake"), "invalid choice: 'bake'"),
        (("--ages-s", "0"), "chipfile must be a digits chip (74 inputs"),
    ],
)
def test_lifetime_checks_its_arguments(chipfile, tmp_path, capsys, args, message):
    from neuromorph.faces.cli import main

    try:
        code = main(["lifetime", str(chipfile), "--out", str(tmp_path / "lt"), *args])
    except SystemExit as stop:  # argparse's own choices
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert not (tmp_path / "lt").exists()


def test_lifetime_needs_its_chip_file(tmp_path, capsys):
    code, err = _main(capsys, "lifetime", tmp_path / "missing.npz", "--out", tmp_path / "lt")
    assert code == 2 and "chipfile file not found" in err
    assert not (tmp_path / "lt").exists()


# ------------------------------------------------------------------ help and names
def _parsers():
    """(command, parser) for the top level and every subcommand of the real parser."""
    import argparse

    from neuromorph.faces.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return [("", parser), *sub.choices.items()]


def test_neuromorph_alone_prints_help(capsys):
    from neuromorph.faces.cli import main

    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: neuromorph")
    for command in ("demo", "train", "spice", "copyout", "lifetime", "sweep", "presets"):
        assert f"    {command} " in out, command


@pytest.mark.parametrize("command", ["demo", "train", "spice", "copyout", "lifetime", "sweep", "presets"])
def test_every_option_shows_a_default_and_a_help_line(command, capsys):
    """``neuromorph <cmd> --help``: every option's help is shown, with its default (or
    "(required)"), and temperatures and ages name their units."""
    import argparse

    from neuromorph.faces.cli import main

    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    shown = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # argparse wraps at hyphens
    parser = dict(_parsers())[command]
    checked = 0
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = action.option_strings[-1] if action.option_strings else action.dest
        assert action.help and action.help != argparse.SUPPRESS, f"{command} {name}: no help"
        text = " ".join(parser._get_formatter()._expand_help(action).split()).replace("- ", "-")
        assert "(default" in text or text.endswith("(required)"), f"{command} {name}: {text}"
        assert text in shown, f"{command} {name}: help not shown"
        if action.dest.endswith("_k"):
            assert "kelvin" in text, f"{command} {name}: {text}"
        if action.dest.endswith("_hours"):
            assert "hours" in text, f"{command} {name}: {text}"
        checked += 1
    assert checked >= 4


def test_one_flag_name_per_temperature_meaning():
    """``--temperature-k`` is the die's temperature, ``--hot-k`` the heat study's, ``--temperatures-k``
    the lifetime's list of oven temperatures; nothing else."""
    names = {o for _, p in _parsers() for a in p._actions for o in a.option_strings}
    temperatures = {o for o in names if "temp" in o or o.endswith("-k")}
    assert temperatures == {"--temperature-k", "--hot-k", "--heat-k", "--temperature", "--temperatures-k"}
    for command, parser in _parsers():
        for action in parser._actions:
            if set(action.option_strings) & {"--heat-k", "--temperature"}:  # the deprecated names
                assert "deprecated" in action.help and action.dest in ("hot_k", "temperature_k"), command


def test_deprecated_names_still_work_and_warn(chipfile, tmp_path, capsys):
    from neuromorph.faces.cli import main

    code = main(["train", "--out", str(tmp_path / "run"), "--mode", "software", "--heat-k", "350"])
    err = capsys.readouterr().err
    assert "--heat-k is deprecated; use --hot-k" in err
    assert code == 2 and "--hot-k must come with --mode in-place or ex-situ" in err
    code = main(["spice", str(chipfile), "--out", str(tmp_path / "n.cir"), "--temperature", "330"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "--temperature is deprecated; use --temperature-k" in captured.err
    assert "at 330 K" in captured.out


def test_sweep_help_lists_the_spec_keys(capsys):
    from neuromorph.faces.cli import main
    from neuromorph.studies.sweep.spec import PARAMETERS

    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    out = capsys.readouterr().out
    for key in PARAMETERS:
        assert f"\n  {key} " in out, key


def test_presets_are_named_as_the_api_names_them(capsys):
    from neuromorph.faces.cli import main

    assert main(["presets", "--preset", "PCM_GST", "--preset", "rram"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["pcm", "rram"]


def test_mnist_errors_name_the_option(tmp_path, capsys):
    import numpy as np

    np.savez(tmp_path / "bad.npz", x_train=np.zeros((2, 4)))
    code, err = _main(
        capsys, "train", "--dataset", "mnist", "--mnist-npz", tmp_path / "bad.npz", "--out", tmp_path / "r"
    )
    assert code == 2 and "--mnist-npz must be an .npz holding x_train, y_train, x_test and y_test" in err, err
    assert "npz=" not in err and not (tmp_path / "r").exists()


def test_spice_window_and_wires_from_the_command_line(chipfile, tmp_path, capsys):
    from neuromorph.faces.cli import main

    net = tmp_path / "w.cir"
    assert main(["spice", str(chipfile), "--out", str(net), "--window", "2,1", "--wires", "--run"]) == 0
    out = capsys.readouterr().out
    assert "2 rows x 2 physical columns" in out and "running ngspice on 8 nodes" in out
    assert float(out.split("solution to ")[1].split()[0]) < 1e-9
    assert "Rlayer0_wr0_0" in net.read_text()  # a row wire segment: the tile is wired
    with pytest.raises(SystemExit) as stop:
        main(["spice", str(chipfile), "--out", str(tmp_path / "x.cir"), "--wires", "3nm"])
    assert stop.value.code == 2 and "invalid choice: '3nm'" in capsys.readouterr().err


def test_setup_script_does_no_apt_work_when_everything_is_there():
    """scripts/setup.sh --dry-run only looks: on this machine (ngspice and its library
    installed by the first run) nothing is missing, so a second run would not call apt."""
    import shutil

    if shutil.which("ngspice") is None:
        pytest.skip("ngspice is not installed here")
    script = pathlib.Path(__file__).parent.parent / "scripts" / "setup.sh"
    out = subprocess.run(["bash", str(script), "--dry-run"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "setup: missing system packages: none"
