"""One accuracy per chip state (scoring over re-reads) and a chip's lifetime (issue 14)."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest

import neuromorph as nm
from neuromorph.algorithms import ff
from neuromorph.chip import Chip, ChipDesign
from neuromorph.datasets import Dataset
from neuromorph.faces import reports
from neuromorph.hardware.devices import preset
from neuromorph.studies import lifetime, scoring
from neuromorph.studies.lifetime import LifetimeSchedule, run_lifetime

YEAR_S = 365.25 * 86400.0


def _toy_data() -> Dataset:
    """A two-class problem on 6 features: small enough that every read takes milliseconds."""
    rng = np.random.default_rng(0)
    x = rng.random((120, 6))
    y = (x[:, 0] + 0.3 * x[:, 1] > 0.65).astype(np.int64)
    return Dataset(x[:80], y[:80], x[80:], y[80:], n_classes=2, name="toy")


def _chip(device: str, *, seed: int = 0) -> Chip:
    """A (8, 12) chip of ``device`` whose weights are a fixed random draw, written by verify."""
    chip = Chip.fabricate(ChipDesign(layer_sizes=(8, 12), device=preset(device)), seed=seed)
    w = np.random.default_rng(1).normal(0.0, 0.5, (9, 12))
    chip.ports().program(0, np.clip(w, -1.0, 1.0))
    return chip


@pytest.fixture(scope="module")
def data():
    return _toy_data()


@pytest.fixture(scope="module")
def rram():
    return _chip("rram")


@pytest.fixture(scope="module")
def pcm():
    return _chip("pcm")


# ------------------------------------------------------------------ scoring over re-reads
def test_score_reads_a_copy_and_leaves_the_chip_as_it_was(rram, data):
    chip = copy.deepcopy(rram)
    clock = [xb.read_noise.state()[0] for xb in chip.crossbars]
    streams = [xb.generator_states() for xb in chip.crossbars]
    meter = chip.meter.as_dict()
    s1 = scoring.score_accuracy(chip, data.x_test, data.y_test, n_classes=2, reads=4)
    s2 = scoring.score_accuracy(chip, data.x_test, data.y_test, n_classes=2, reads=4)
    assert s1 == s2  # same state, same figure, bit for bit
    assert [xb.read_noise.state()[0] for xb in chip.crossbars] == clock
    assert [xb.generator_states() for xb in chip.crossbars] == streams
    assert chip.meter.as_dict() == meter
    assert (
        s1.reads == 4 and s1.n == data.y_test.size and len(set(s1.accuracies)) > 1
    )  # fresh noise per re-read
    assert s1.std == pytest.approx(np.std(s1.accuracies, ddof=1))
    lo, hi = s1.interval
    assert lo < s1.mean < hi
    assert (lo, hi) == tuple(float(v) for v in scoring.binomial_interval(round(s1.mean * s1.n), s1.n))


def test_the_same_saved_chip_scores_the_same(rram, data, tmp_path):
    chip = copy.deepcopy(rram)
    before = scoring.score_accuracy(chip, data.x_test, data.y_test, n_classes=2)
    loaded = Chip.load(chip.save(tmp_path / "c.npz"))
    assert scoring.score_accuracy(loaded, data.x_test, data.y_test, n_classes=2) == before
    # reading the chip itself moves its noise clock: the next score is of another state
    ff.predict(chip.ports(), data.x_test, n_classes=2)
    assert scoring.score_accuracy(chip, data.x_test, data.y_test, n_classes=2) != before


def test_score_text_network_and_errors(data):
    net = nm.DigitalNetwork.initialize((8, 5), rng=np.random.default_rng(0))
    s = scoring.score_accuracy(net, data.x_test, data.y_test, n_classes=2, reads=3)
    assert s.std == 0.0 and len(set(s.accuracies)) == 1  # a digital network reads exactly
    one = scoring.AccuracyScore(accuracies=(0.9583333333333334,), n=360)
    assert one.std == 0.0
    assert one.text().startswith("95.83 ± 0.00 % over 1 re-read of 360 images, 95 % interval [")
    five = scoring.AccuracyScore(accuracies=(0.95, 0.96, 0.95, 0.96, 0.95), n=360)
    assert "over 5 re-reads of 360 images" in five.text() and five.as_dict()["text"] == five.text()
    with pytest.raises(TypeError, match="model must be a Chip or a DigitalNetwork"):
        scoring.score_accuracy(net.ports(), data.x_test, data.y_test, n_classes=2)
    with pytest.raises(ValueError, match="reads must be"):
        scoring.score_accuracy(net, data.x_test, data.y_test, n_classes=2, reads=0)


def test_weights_as_read_follow_the_output_correction():
    design = ChipDesign(layer_sizes=(5, 3), device=nm.IDEAL, periphery=nm.IDEAL_PERIPHERY)
    chip = Chip.fabricate(design, seed=0)
    chip.ports().program(0, np.random.default_rng(2).uniform(-0.8, 0.8, (6, 3)), method="direct")
    assert all(
        np.array_equal(a, b)
        for a, b in zip(scoring.weights_as_read(chip), chip.effective_weights(), strict=True)
    )
    chip.set_output_correction(0, [1.5, 0.5, 2.0], [0.1, -0.2, 0.0])
    x = np.random.default_rng(3).uniform(-1.0, 1.0, (7, 5))
    (w,) = scoring.weights_as_read(chip)
    want = np.hstack([x, np.full((7, 1), design.bias_input)]) @ w
    np.testing.assert_allclose(chip.read_layer(0, x), want, rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------------ the lifetime
def test_lifetime_json_shape_and_figure(rram, data, tmp_path):
    schedule = LifetimeSchedule(temperatures_k=(300.0, 358.0), ages_s=(0.0, 3600.0, YEAR_S))
    result = run_lifetime(rram, data, schedule=schedule, reads=2, copyout_budget=2.0, progress=False)
    paths = reports.write_lifetime_report(result, tmp_path)
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["lifetime.json", "lifetime.png"]
    assert (tmp_path / "lifetime.png").stat().st_size > 5000
    got = json.loads((tmp_path / "lifetime.json").read_text())
    assert [c["temperature_k"] for c in got["temperatures"]] == [300.0, 358.0]
    for curve in got["temperatures"]:
        assert [p["age_s"] for p in curve["points"]] == [0.0, 3600.0, YEAR_S]
        for p in curve["points"]:
            assert {"age_s", "accuracy_mean", "accuracy_std", "reads", "n", "interval"} <= set(p)
            assert p["reads"] == 2 and p["n"] == data.y_test.size and 0 <= p["accuracy_mean"] <= 1
            assert p["interval"][0] <= p["accuracy_mean"] <= p["interval"][1]
        (row,) = curve["copyout"]  # default: the last age
        assert row["age_s"] == YEAR_S and 0 <= row["fidelity"] <= 1 and row["weight_rel_rms"] > 0
        assert row["weight_rel_rms_over_programmed"] > 0
    # the chip as loaded at its own temperature is age 0 at 300 K: one state, one figure
    assert got["temperatures"][0]["points"][0]["accuracies"] == got["programmed"]["accuracies"]
    assert got["protocol"]["reads"] == 2 and got["programmed"]["copyout"]["queries"] > 0
    text = reports.lifetime_table(result)
    assert "over 2 re-reads of 40 images, 95 % interval [" in text and "copy-out deadline" in text


def test_ageing_lowers_a_pcm_chips_weight_fidelity(pcm, data):
    """PCM drift: without compensation the weights as read leave their programmed values more
    the older the chip; global drift compensation takes back most of the mean decay."""
    schedule = LifetimeSchedule(temperatures_k=(300.0,), ages_s=(0.0, 3600.0, YEAR_S, 10 * YEAR_S))
    kw = {"schedule": schedule, "reads": 1, "copyout_ages_s": (), "progress": False}
    plain = run_lifetime(pcm, data, **kw)["temperatures"][0]["points"]
    change = [p["weight_change_rel_rms"] for p in plain]
    assert change[0] == 0.0 and all(b > a for a, b in zip(change, change[1:], strict=False)), change
    assert change[-1] > 0.2  # aihwkit's PCM drift, nu ~ 0.05: ten years take a third of G
    kept = run_lifetime(pcm, data, maintenance="compensate", **kw)["temperatures"][0]["points"]
    assert kept[-1]["maintenance"]["kind"] == "compensate" and kept[-1]["maintenance"]["queries"] > 0
    assert kept[-1]["weight_change_rel_rms"] < 0.5 * change[-1]


def test_the_same_seed_reproduces_lifetime_json_bit_for_bit(pcm, data, tmp_path):
    schedule = LifetimeSchedule(temperatures_k=(330.0,), ages_s=(0.0, 86400.0))
    texts = []
    for name in ("a", "b"):
        result = run_lifetime(
            pcm,
            data,
            schedule=schedule,
            reads=2,
            maintenance="refresh",
            copyout_budget=2.0,
            seed=5,
            progress=False,
        )
        lifetime.write_report(result, tmp_path / name)
        texts.append((tmp_path / name / "lifetime.json").read_bytes())
    assert texts[0] == texts[1]
    other = run_lifetime(pcm, data, schedule=schedule, reads=2, copyout_budget=2.0, seed=6, progress=False)
    assert other["temperatures"][0]["copyout"] != json.loads(texts[0])["temperatures"][0]["copyout"]


def test_deadline_is_the_first_age_below_the_threshold():
    points = [
        {"age_s": a, "accuracy_mean": m} for a, m in ((0.0, 0.9), (10.0, 0.88), (100.0, 0.8), (1e3, 0.7))
    ]
    assert lifetime.copyout_deadline(points, 0.85) == (100.0, [10.0, 100.0])
    assert lifetime.copyout_deadline(points, 0.95) == (0.0, [0.0, 0.0])
    assert lifetime.copyout_deadline(points, 0.5) == (None, None)


def test_log_ages():
    ages = lifetime.log_ages()
    assert ages[0] == 0.0 and ages[1] == lifetime.FIRST_AGE_S and ages[-1] == pytest.approx(10 * YEAR_S)
    assert len(ages) == 1 + lifetime.DEFAULT_AGE_POINTS and list(ages) == sorted(ages)
    with pytest.raises(ValueError, match="max_age_s must be > first_s"):
        lifetime.log_ages(60.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"ages_s": (-1.0, 10.0)}, ValueError, r"ages_s\[0\] must be a time in \[0,"),
        ({"ages_s": (0.0, 10.0, 10.0)}, ValueError, "ages_s must be strictly increasing"),
        ({"ages_s": ()}, ValueError, "ages_s must not be empty"),
        ({"ages_s": "0,1"}, TypeError, "ages_s must be a sequence of numbers"),
        ({"temperatures_k": (300.0, 2000.0)}, ValueError, r"temperatures_k\[1\] must be in \[1, 1000\] K"),
        ({"temperatures_k": (-5.0,)}, ValueError, r"temperatures_k\[0\] must be > 0 K"),
        ({"temperatures_k": (300.0, 300.0)}, ValueError, "temperatures_k must be distinct"),
    ],
)
def test_bad_schedules_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        LifetimeSchedule(**kwargs)


def test_bad_lifetime_arguments_are_refused(rram, data, tmp_path):
    narrow = nm.hardware.devices.TemperatureParams(alpha_low_per_k=-2e-3, alpha_high_per_k=-2e-3)
    assert narrow.valid_range_k()[1] < 1000.0
    hot = LifetimeSchedule(temperatures_k=(300.0, 999.0), ages_s=(0.0,))
    device = dataclasses.replace(preset("rram"), temperature=narrow)
    cold_only = Chip.fabricate(ChipDesign(layer_sizes=(8, 2), device=device), seed=0)
    with pytest.raises(ValueError, match=r"temperatures_k\[1\] must be in \(.*where the"):
        run_lifetime(cold_only, data, schedule=hot, progress=False)
    with pytest.raises(FileNotFoundError, match="file not found"):
        run_lifetime(tmp_path / "missing.npz", data, progress=False)
    short = LifetimeSchedule(temperatures_k=(300.0,), ages_s=(0.0, 10.0))
    cases = [
        ({"maintenance": "bake"}, ValueError, "maintenance must be one of"),
        ({"threshold_points": 0.0}, ValueError, r"threshold_points must be in \(0, 100\]"),
        ({"copyout_ages_s": (5.0,)}, ValueError, "copyout_ages_s must be ages of the schedule"),
        ({"copyout_budget": 0.5}, ValueError, "copyout_budget must be >= 1"),
        ({"maintenance_period_s": -1.0}, ValueError, "maintenance_period_s must be"),
        ({"reads": 0}, ValueError, "reads must be"),
        ({"schedule": (0.0, 1.0)}, TypeError, "schedule must be a LifetimeSchedule"),
    ]
    for extra, error, message in cases:
        with pytest.raises(error, match=message):
            run_lifetime(rram, data, **{"schedule": short, "progress": False, **extra})
    with pytest.raises(TypeError, match="chip must be a Chip or a chip file's path"):
        run_lifetime(rram.ports(), data, schedule=short, progress=False)
