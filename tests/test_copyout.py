"""The copy-out study on a small chip: rows, report files and the CLI subcommand."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

import neuromorph as nm
from neuromorph.chip import Chip, ChipDesign
from neuromorph.datasets import Dataset
from neuromorph.faces import cli, reports
from neuromorph.hardware.periphery import AdcParams, DacParams, Periphery
from neuromorph.studies import copyout, scoring
from neuromorph.studies.training import default_design, design_variant


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
    assert copyout.write_report(result, str(tmp_path / "data")) == [str(tmp_path / "data" / "report.json")]
    paths = reports.write_copyout_report(result, str(tmp_path))
    names = ["report.json", "fidelity_vs_queries.png", "weight_error_vs_queries.png"]
    assert [os.path.basename(p) for p in paths] == names
    assert all(os.path.getsize(p) > 1000 for p in paths[1:])
    with open(tmp_path / "report.json") as fh:
        assert json.load(fh)["methods"][0]["method"] == "fd"
    table = reports.copyout_table(result)
    assert "designed" in table and "sweep adc_bits=6" in table


def test_study_errors(small):
    chip, data = small
    with pytest.raises(TypeError, match="chip must be a Chip"):
        copyout.study(chip.ports(), data)
    with pytest.raises(ValueError, match="methods must be drawn from"):
        copyout.study(chip, data, methods=("magic",))
    with pytest.raises(ValueError, match="copy_weights must have 2 layers"):
        scoring.weight_errors([np.zeros((9, 10))], chip.effective_weights())
    with pytest.raises(ValueError, match=r"copy_weights\[0\] must have shape \(9, 10\)"):
        scoring.weight_errors([np.zeros((9, 9)), np.zeros((11, 6))], chip.effective_weights())


def test_relative_rms_error_and_bits():
    rng = np.random.default_rng(4)
    b = rng.normal(size=(5, 3))
    assert scoring.relative_rms_error(b, b) == 0.0
    assert scoring.relative_rms_error(np.zeros_like(b), b) == pytest.approx(1.0)
    assert scoring.relative_rms_error(1.5 * b, b) == pytest.approx(0.5)
    a = b + rng.normal(scale=0.1, size=b.shape)
    naive = math.sqrt(
        sum((x - y) ** 2 for x, y in zip(a.ravel(), b.ravel(), strict=True)) / sum(y * y for y in b.ravel())
    )
    assert scoring.relative_rms_error(a, b) == pytest.approx(naive, rel=1e-12)
    assert scoring.weight_errors([a, b], [b, b]) == [scoring.relative_rms_error(a, b), 0.0]
    assert scoring.bits(0.25) == 2.0 and scoring.bits(0.0) == math.inf
    with pytest.raises(ValueError, match=r"estimate must have the shape of reference \(5, 3\); got \(3, 5\)"):
        scoring.relative_rms_error(b.T, b)


def test_design_variant_changes_only_what_it_names(small):
    chip, data = small
    base = chip.design
    assert design_variant(base) == base
    bits = design_variant(base, adc_bits=5)
    assert bits.periphery.adc.bits == 5 and bits.device == base.device
    noisy = design_variant(base, read_noise_rel=0.05)
    assert noisy.device.noise.read_noise_rel == 0.05 and noisy.periphery == base.periphery
    assert default_design(data, hidden=(4,)).layer_sizes == (8, 4)
    with pytest.raises(ValueError, match="bits"):
        design_variant(base, adc_bits=0)


def test_cli(small, tmp_path, capsys, monkeypatch):
    chip, _ = small
    path = chip.save(str(tmp_path / "chip.npz"))
    args = cli.build_parser().parse_args(
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
    for name in ("report.json", "fidelity_vs_queries.png", "weight_error_vs_queries.png"):
        assert os.path.exists(tmp_path / "rep" / name)
    out = capsys.readouterr().out
    assert "designed" in out
    assert "wrote report.json, fidelity_vs_queries.png, weight_error_vs_queries.png in" in out
