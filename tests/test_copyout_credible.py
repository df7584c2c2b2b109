"""The credible-chip copy-out of ``benchmarks/copyout.py`` (issue 14, deliverable 5), on small chips.

Calibration through the ports must undo what converter mismatch does to designed probing, the
same-die variants must be the same die, the 1/f variant must match the white law's one-read
variance, and averaging (the designed probes' budget) must follow 1/K under white noise and
fall slower under 1/f noise.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from neuromorph.algorithms import extract as ex
from neuromorph.algorithms import ff
from neuromorph.algorithms.calibrate import calibrate_columns
from neuromorph.chip import Chip, ChipDesign
from neuromorph.hardware import noise
from neuromorph.hardware.periphery import SAR_MISMATCH, DacParams, Periphery
from neuromorph.hardware.presets import preset
from neuromorph.studies.scoring import weight_errors
from neuromorph.studies.training import program_initial_weights

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
#: Each die's own converters, stated here so the tests do not depend on the design's default.
MISMATCHED = Periphery(dac=DacParams(bits=8, input_full_scale=8.0), mismatch=SAR_MISMATCH)


def _load(name: str):
    """``benchmarks/<name>.py`` as a module (the folder on sys.path only while it imports)."""
    saved = list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name.strip('_')}", BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module


@pytest.fixture(scope="module")
def bench():
    """``benchmarks/_copyout_credible.py``: the credible section of the copy-out benchmark."""
    return _load("_copyout_credible")


def _chip(sizes, *, seed, device="rram", periphery=MISMATCHED) -> Chip:
    chip = Chip.fabricate(ChipDesign(layer_sizes=sizes, device=device, periphery=periphery), seed=seed)
    program_initial_weights(chip.ports(), ff.FFConfig(), np.random.default_rng(seed))
    return chip


def _designed_error(chip: Chip, seed: int) -> float:
    """Worst-layer error of designed probing at 4(N+1), against the effective weights."""
    res = ex.extract(
        chip.ports(),
        method="designed",
        budget=4,
        design=chip.design,
        rng=np.random.default_rng(seed),
        progress=False,
    )
    return max(weight_errors(res.network.weights, chip.effective_weights()))


@pytest.mark.parametrize("seed", [0, 1])
def test_calibration_lowers_the_designed_probes_error(bench, seed):
    chip = _chip((24, 32), seed=seed)
    as_is = _designed_error(copy.deepcopy(chip), seed)
    calibrated = copy.deepcopy(chip)
    calibrate_columns(calibrated.ports())
    cal = _designed_error(calibrated, seed)
    nominal = _designed_error(
        bench.same_die(chip, periphery=dataclasses.replace(MISMATCHED, mismatch=None)), seed
    )
    # Mismatch costs several times the nominal error (column offsets and gains); the
    # calibration takes most of it back, to near the same die with nominal converters.
    assert as_is > 2.5 * nominal
    assert cal < 0.5 * as_is
    assert cal < 1.5 * nominal


def test_same_die_reads_as_the_chip_and_fresh_streams_read_anew(bench):
    chip = _chip((12, 16, 8), seed=3)
    twin = bench.same_die(chip)
    a = ex.extract(chip.ports(), budget=4, design=chip.design, rng=np.random.default_rng(5), progress=False)
    b = ex.extract(twin.ports(), budget=4, design=twin.design, rng=np.random.default_rng(5), progress=False)
    for wa, wb in zip(a.network.weights, b.network.weights, strict=True):
        np.testing.assert_array_equal(wa, wb)
    fresh = bench.same_die(chip, streams_seed=(1, 2))
    c = ex.extract(fresh.ports(), budget=4, design=fresh.design, rng=np.random.default_rng(5), progress=False)
    assert not np.array_equal(c.network.weights[0], a.network.weights[0])
    for w0, w1 in zip(chip.effective_weights(), fresh.effective_weights(), strict=True):
        np.testing.assert_array_equal(w0, w1)


def test_white_equivalent_pink_has_one_reads_white_variance(bench):
    chip = _chip((12, 16), seed=0)
    device, info = bench.white_equivalent_pink(chip)
    white, pink = chip.design.device.noise, device.noise
    assert pink.read_noise_law == "pink" and white.read_noise_law == "white"
    # Every device of a fresh chip has the same age (0): the match is exact per device.
    span = noise.ln_span(np.zeros(1), t0_s=device.drift.t0_s, t_read_s=pink.t_read_s)[0]
    assert pink.read_noise_rel**2 * (span - math.log(2.0)) == pytest.approx(
        white.read_noise_rel**2, rel=1e-12
    )
    assert pink.read_noise_rel < white.read_noise_rel
    assert dataclasses.replace(pink, read_noise_law="white", read_noise_rel=white.read_noise_rel) == white
    assert info["pink_read_noise_rel"] == pink.read_noise_rel


def test_averaging_follows_one_over_k_for_white_noise_and_not_for_pink(bench):
    # N + 1 = 16 inputs: every budget K (N + 1) is whole Sylvester-Hadamard blocks, so the
    # white-noise variance of the designed estimate is sigma^2 / (K a^2) exactly.  A read
    # noise of 5 % (matched one-read variance for 1/f) keeps the converters' share small.
    rram = preset("rram")
    device = rram.with_(noise=dataclasses.replace(rram.noise, read_noise_rel=0.05))
    chip = _chip((15, 16), seed=0, device=device)
    trials, ks = 24, (1, 16)
    out = bench.averaging_study(chip, layer=0, ks=ks, trials=trials, seed=0)
    assert out["white"]["saturated_readings"] == [0, 0] == out["pink"]["saturated_readings"]
    # A variance over R trials has relative sd sqrt(2 / (R - 1)) per weight; over the M
    # weights (independent errors: orthogonal design, independent devices and columns) it
    # is divided by sqrt(M); the ratio of two such estimates has sqrt(2) times that.
    n_weights = 16 * 16
    sd = math.sqrt(2.0) * math.sqrt(2.0 / (trials - 1) / n_weights)
    assert out["variance_rel_sd"] == pytest.approx(sd / math.sqrt(2.0))
    tolerance = 5.0 * sd
    white, pink = out["white"]["ratio_to_white_law"][-1], out["pink"]["ratio_to_white_law"][-1]
    assert abs(white - 1.0) < tolerance
    assert pink > 1.0 + 10.0 * tolerance  # 1/f: averaging 16 x leaves most of the variance
    assert out["pink"]["variance"][-1] > 2.0 * out["white"]["variance"][-1]


def test_bad_flags_are_refused_before_any_work():
    main = _load("copyout").main
    for argv in (["--variants", "as_is,bogus"], ["--trials", "1"]):
        with pytest.raises(SystemExit):
            main([*argv, "--cache", "/nonexistent/never-trained.npz"])
