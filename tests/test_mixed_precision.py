"""Mixed-precision updates (Nandakumar et al. 2020): the accumulator against a naive loop,
its bookkeeping (no update mass lost), and in-place FF with ``update="mixed"`` on a twin and
on a chip, through the ports only."""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import pytest

import neuromorph as nm
from neuromorph import datasets
from neuromorph.algorithms import ff
from neuromorph.algorithms.optim import (
    ACCUMULATOR_BYTES_PER_ENTRY,
    OPS_PER_ENTRY,
    OPS_PER_FIRING,
    MixedPrecisionAccumulator,
)
from neuromorph.chip import Chip, ChipDesign
from neuromorph.chip.digital import DigitalNetwork


@pytest.fixture(scope="module")
def tiny_digits():
    d = datasets.load_digits(seed=0)
    return dataclasses.replace(
        d, x_train=d.x_train[:200], y_train=d.y_train[:200], x_test=d.x_test[:100], y_test=d.y_test[:100]
    )


def _naive_steps(deltas, eps, max_pulses):
    """Nandakumar et al. 2020's update rule, one weight at a time: chi += dW; p = floor(|chi| / eps),
    capped; send p steps of sign(chi); chi -= p eps sign(chi)."""
    chi = np.zeros(deltas[0].shape)
    sent = []
    for delta in deltas:
        out = np.zeros(chi.shape)
        for i in np.ndindex(chi.shape):
            chi[i] += delta[i]
            p = min(int(np.floor(abs(chi[i]) / eps)), max_pulses)
            out[i] = p * eps * np.sign(chi[i])
            chi[i] -= out[i]
        sent.append(out)
    return sent, chi


@pytest.mark.parametrize("seed", range(4))
def test_accumulator_matches_the_papers_loop_and_loses_no_mass(seed):
    rng = np.random.default_rng(seed)
    eps, cap = 0.05, 3
    # Mostly sub-step updates, some beyond the cap (their excess must wait in chi).
    deltas = [rng.normal(0, 0.04, (4, 3)) + (rng.random((4, 3)) < 0.05) * 0.4 for _ in range(40)]
    acc = MixedPrecisionAccumulator([(4, 3)], granularity=eps, max_pulses=cap)
    got = [acc.step(0, d) for d in deltas]
    want, chi = _naive_steps(deltas, eps, cap)
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=0, atol=1e-12, err_msg=f"seed {seed}")
    np.testing.assert_allclose(acc.remainder(0), chi, rtol=0, atol=1e-12)
    # No mass lost: everything sent plus what waits equals everything asked for.
    np.testing.assert_allclose(sum(got) + acc.remainder(0), sum(deltas), rtol=0, atol=1e-12)
    counts = np.array(got) / eps
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)  # whole steps only
    assert np.abs(np.round(counts)).max() == cap  # the cap was reached and held
    assert acc.pulses == int(np.abs(np.round(counts)).sum())
    fired = int(np.count_nonzero(np.round(counts)))
    assert acc.ops == OPS_PER_ENTRY * 12 * 40 + OPS_PER_FIRING * fired


def test_accumulator_keeps_sub_step_updates_until_they_add_up():
    acc = MixedPrecisionAccumulator([(1,), (2, 2)], granularity=0.1, max_pulses=64)
    assert acc.memory_bytes == ACCUMULATOR_BYTES_PER_ENTRY * 5
    for _ in range(3):
        np.testing.assert_array_equal(acc.step(0, np.array([0.03])), [0.0])  # 0.09 waits
    np.testing.assert_allclose(acc.step(0, np.array([0.03])), [0.1])
    np.testing.assert_allclose(acc.remainder(0), [0.02], atol=1e-15)
    np.testing.assert_allclose(acc.step(0, np.array([-0.35])), [-0.3])  # sign kept, floor of |chi|
    np.testing.assert_array_equal(acc.remainder(1), np.zeros((2, 2)))  # each matrix its own chi


def test_accumulator_errors():
    with pytest.raises(ValueError, match="granularity must be > 0"):
        MixedPrecisionAccumulator([(2,)], granularity=0.0, max_pulses=4)
    with pytest.raises(ValueError, match="max_pulses must be >= 1"):
        MixedPrecisionAccumulator([(2,)], granularity=0.1, max_pulses=0)
    with pytest.raises(TypeError, match="shapes must be a sequence"):
        MixedPrecisionAccumulator("ab", granularity=0.1, max_pulses=4)
    acc = MixedPrecisionAccumulator([(2,)], granularity=0.1, max_pulses=4)
    with pytest.raises(ValueError, match=r"delta must have shape \(2\)"):
        acc.step(0, np.zeros(3))
    with pytest.raises(ValueError, match="delta must be finite"):
        acc.step(0, np.array([0.0, np.nan]))


def test_config_validates_the_update_options():
    assert ff.FFConfig().update == "pulse" and ff.FFConfig().granularity is None  # default unchanged
    with pytest.raises(ValueError, match=r"update must be one of \['pulse', 'mixed'\]; got 'exact'"):
        ff.FFConfig(update="exact")
    with pytest.raises(ValueError, match="granularity must be None unless update='mixed'"):
        ff.FFConfig(granularity=0.01)
    with pytest.raises(ValueError, match="granularity must be > 0"):
        ff.FFConfig(update="mixed", granularity=-1.0)
    with pytest.raises(TypeError, match="design must be a ChipDesign"):
        ff.design_granularity("rram")


def test_mixed_on_a_twin_needs_a_granularity(tiny_digits):
    net = DigitalNetwork.initialize((74, 8), rng=np.random.default_rng(0))
    before = [w.copy() for w in net.weights]
    with pytest.raises(ValueError, match="granularity must be given when the ports have no design"):
        ff.train(net, tiny_digits, ff.FFConfig(update="mixed"), rng=np.random.default_rng(0))
    for a, b in zip(net.weights, before, strict=True):
        np.testing.assert_array_equal(a, b)  # refused before any update


@pytest.mark.parametrize("name", ["rram", "rram_array", "pcm"])
def test_granularity_from_the_datasheet_is_the_chips_pulse_step(name):
    design = ChipDesign(layer_sizes=(6, 4), device=nm.preset(name), w_max=1.7)
    chip = Chip.fabricate(design, seed=0)
    assert ff.design_granularity(chip.ports().design) == chip.crossbars[0].weight_per_pulse


def test_mixed_on_a_twin_learns_in_whole_steps():
    d = datasets.load_digits(seed=0)
    data = dataclasses.replace(
        d, x_train=d.x_train[:400], y_train=d.y_train[:400], x_test=d.x_test[:100], y_test=d.y_test[:100]
    )
    eps = 1e-3  # fine beside Adam's steps (~learning rate, 0.02): mixed must train like exact
    scores, hists = {}, {}
    for update, granularity in (("pulse", None), ("mixed", eps)):
        cfg = ff.FFConfig(epochs=6, update=update, granularity=granularity)
        rng = np.random.default_rng(3)
        net = DigitalNetwork.initialize((74, 32, 32), rng=rng)
        start = [w.copy() for w in net.weights]
        hist = hists[update] = ff.train(net, data, cfg, rng=rng, progress=False)
        scores[update] = ff.accuracy(net, data.x_test, data.y_test, n_classes=10, config=cfg)
    assert scores["mixed"] > 0.5 and abs(scores["mixed"] - scores["pulse"]) < 0.1, scores
    for w, w0 in zip(net.weights, start, strict=True):  # every change a whole number of steps
        steps = (w - w0) / eps
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-6)
    assert hist.accumulator_bytes == ACCUMULATOR_BYTES_PER_ENTRY * (75 * 32 + 33 * 32)
    assert len(hist.accumulator_ops) == 6 and np.all(np.diff(hist.accumulator_ops) > 0)
    assert hist.pulses == [0] * 6  # the twin's meter stays zero
    assert hists["pulse"].accumulator_ops == [0] * 6 and hists["pulse"].accumulator_bytes == 0


def test_mixed_sends_whole_steps_through_a_chips_ports():
    # RRAM_HFO2 has no stuck devices: every commanded step is a pulse the chip sends.
    chip = Chip.fabricate(ChipDesign(layer_sizes=(10, 6), device=nm.preset("rram")), seed=1)
    ports = chip.ports()
    eps = ff.design_granularity(ports.design)
    acc = MixedPrecisionAccumulator([(11, 6)], granularity=eps, max_pulses=64)
    rng = np.random.default_rng(0)
    for _ in range(5):
        commanded = acc.pulses
        sent = ports.apply_delta(0, acc.step(0, rng.normal(0, 3 * eps, (11, 6))))
        assert sent == acc.pulses - commanded > 0
    assert ports.meter.pulses == acc.pulses


def _train_mixed_chip(data, threads: int):
    original = numba.get_num_threads()
    try:
        numba.set_num_threads(threads)
        chip = Chip.fabricate(ChipDesign(layer_sizes=(74, 16, 16), device=nm.preset("rram_array")), seed=2)
        ports = chip.ports()
        cfg = ff.FFConfig(epochs=2, update="mixed", refresh_every=1)
        rng = np.random.default_rng(2)
        for layer, w in enumerate(ff.initial_weights(ports.layer_sizes, config=cfg, rng=rng, w_max=1.0)):
            ports.program(layer, w)
        hist = ff.train(ports, data, cfg, rng=rng, progress=False)
        return hist, [xb.device_state().g_prog for xb in chip.crossbars]
    finally:
        numba.set_num_threads(original)


def test_mixed_in_place_same_bits_on_one_and_two_threads(tiny_digits):
    (h1, g1), (h2, g2) = (
        _train_mixed_chip(tiny_digits, t) for t in (1, min(2, numba.config.NUMBA_NUM_THREADS))
    )
    assert h1.loss == h2.loss and h1.pulses == h2.pulses and h1.accumulator_ops == h2.accumulator_ops
    assert h1.pulses[-1] > 0 and h1.accumulator_ops[-1] > 0
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_array_equal(a, b)
