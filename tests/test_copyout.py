"""The copy-out study on a small chip: rows, report files and the CLI subcommand."""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import pytest

import neuromorph as nm
from neuromorph.chip import Chip, ChipDesign
from neuromorph.datasets import Dataset
from neuromorph.hardware.periphery import AdcParams, DacParams, Periphery
from neuromorph.studies import copyout


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    x = rng.random((60, 6))
    y = (x[:, 0] > 0.5).astype(np.int64)
    data = Dataset(x[:40], y[:40], x[40:], y[40:], n_classes=2, name="toy")
    design = ChipDesign(
        layer_sizes=(8, 10, 6),
        device=nm.RRAM_HFO2,
        periphery=Periphery(DacParams(bits=8, input_full_scale=4.0), adc=AdcParams(bits=8)),
    )
    chip = Chip.fabricate(design, seed=0)
    ports = chip.ports()
    for layer, (a, b) in enumerate(((8, 10), (10, 6))):
        ports.program(layer, np.clip(rng.normal(0, 1.5 / np.sqrt(a + 1), (a + 1, b)), -1, 1))
    return chip, data


def test_study_rows_and_report(small, tmp_path):
    chip, data = small
    result = copyout.study(
        chip,
        data,
        budgets={"fd": (1,), "designed": (4,), "distill": (10,)},
        train_meter={"queries": 1000, "energy_j": 1e-6},
        sweep_adc_bits=(6,),
        sweep_age_s=(3600.0,),
        progress=False,
    )
    rows = result["methods"]
    assert [r["method"] for r in rows] == ["fd", "designed", "distill"]
    for r in rows:
        for key in (
            "queries",
            "adc_conversions",
            "chip_seconds",
            "energy_j",
            "weight_rel_rms",
            "fidelity",
            "self_agreement",
            "accuracy",
        ):
            assert key in r
        assert r["queries"] > 0 and 0.0 <= r["fidelity"] <= 1.0
    assert rows[1]["weight_rel_rms"] < 0.1
    assert rows[1]["train_ratio"]["queries"] > 0
    assert {s["sweep"] for s in result["sweeps"]} == {"adc_bits", "age_s"}
    paths = copyout.write_report(result, str(tmp_path))
    assert all(os.path.getsize(p) > 0 for p in paths)
    with open(tmp_path / "report.json") as fh:
        assert json.load(fh)["methods"][0]["method"] == "fd"
    assert "designed" in copyout.format_table(result)


def test_study_errors(small):
    chip, data = small
    with pytest.raises(TypeError, match="chip must be a Chip"):
        copyout.study(chip.ports(), data)
    with pytest.raises(ValueError, match="methods must be drawn from"):
        copyout.study(chip, data, methods=("magic",))
    with pytest.raises(ValueError, match="copy_weights must have 2 layers"):
        copyout.weight_errors([np.zeros((9, 10))], chip.effective_weights())


def test_cli(small, tmp_path, capsys, monkeypatch):
    chip, _ = small
    parser = argparse.ArgumentParser()
    copyout.register_cli(parser.add_subparsers(dest="command"))
    path = chip.save(str(tmp_path / "chip.npz"))
    args = parser.parse_args(
        [
            "copyout",
            path,
            "--out",
            str(tmp_path / "rep"),
            "--methods",
            "designed",
            "--budgets",
            "2",
            "--quiet",
        ]
    )
    from neuromorph import datasets

    data = Dataset(
        *(np.random.default_rng(0).random((20, 6)),),
        np.zeros(20, dtype=np.int64),
        np.random.default_rng(1).random((8, 6)),
        np.zeros(8, dtype=np.int64),
        n_classes=2,
        name="toy",
    )
    monkeypatch.setattr(datasets, "load_digits", lambda seed=0: data)
    assert args.func(args) == 0
    assert os.path.exists(tmp_path / "rep" / "report.json")
    assert "designed" in capsys.readouterr().out
