"""Distillation from chip answers and copy-in by program-and-verify."""

from __future__ import annotations

import numpy as np
import pytest

import neuromorph as nm
from neuromorph.algorithms import distill as di
from neuromorph.algorithms import ff
from neuromorph.chip import Chip, ChipDesign
from neuromorph.chip.digital import DigitalNetwork
from neuromorph.hardware.crossbar import Crossbar
from tests.test_extract import IDEAL_PERIPHERY, make_chip

N_CLASSES = 3


def small_chip(seed=0):
    return make_chip(sizes=(8 + N_CLASSES, 10, 6), seed=seed, scale=1.5)


def fidelity(net, ports, x):
    mine = ff.predict(net, x, n_classes=N_CLASSES)
    return float(np.mean(mine == ff.predict(ports, x, n_classes=N_CLASSES)))


def test_soft_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    net = DigitalNetwork.initialize((7, 5, 4), rng=rng)
    inputs = rng.normal(size=(3 * 4, 7))
    p = di._softmax(rng.normal(size=(4, 3)))
    t = 1.5
    _, grads = di._soft_grads(net, inputs, p, n_classes=3, temperature=t, first=0)
    for i in range(2):
        num = np.zeros_like(net.weights[i])
        for idx in np.ndindex(num.shape):
            net.weights[i][idx] += 1e-6
            lp, _ = di._soft_grads(net, inputs, p, n_classes=3, temperature=t, first=0)
            net.weights[i][idx] -= 2e-6
            lm, _ = di._soft_grads(net, inputs, p, n_classes=3, temperature=t, first=0)
            net.weights[i][idx] += 1e-6
            num[idx] = (lp - lm) / 2e-6
        np.testing.assert_allclose(grads[i], t**2 * num, rtol=1e-4, atol=1e-7)


def test_fidelity_improves_with_queries():
    chip, _ = small_chip()
    ports = chip.ports()
    rng = np.random.default_rng(1)
    x_test = rng.random((300, 8))
    fids, queries = [], []
    for n in (4, 200):
        x = np.random.default_rng(2).random((n, 8))
        d = di.distill(ports, x, n_classes=N_CLASSES, epochs=40, rng=np.random.default_rng(3), progress=False)
        fids.append(fidelity(d.network, ports, x_test))
        queries.append(d.queries)
    assert queries == [4 * N_CLASSES, 200 * N_CLASSES]
    assert fids[1] > fids[0] + 0.05, fids
    assert fids[1] > 0.85, fids


def test_activities_target_and_only_ports(monkeypatch):
    chip, _ = small_chip()
    ports = chip.ports()

    def forbidden(*args, **kwargs):
        raise AssertionError("hidden state read during distillation")

    monkeypatch.setattr(Chip, "effective_weights", forbidden)
    monkeypatch.setattr(Crossbar, "effective_weights", forbidden)
    monkeypatch.setattr(Crossbar, "effective_conductances", forbidden)
    x = np.random.default_rng(0).random((100, 8))
    d = di.distill(
        ports,
        x,
        n_classes=N_CLASSES,
        target="activities",
        epochs=30,
        rng=np.random.default_rng(0),
        progress=False,
    )
    assert d.loss[-1] < d.loss[0]
    assert d.spent.queries == 100 * N_CLASSES


def test_distill_errors():
    chip, _ = small_chip()
    ports, rng = chip.ports(), np.random.default_rng(0)
    x = rng.random((5, 8))
    with pytest.raises(TypeError, match="Only ports are allowed"):
        di.distill(chip, x, n_classes=N_CLASSES, rng=rng)
    with pytest.raises(ValueError, match="target must be"):
        di.distill(ports, x, n_classes=N_CLASSES, target="logits", rng=rng)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        di.distill(ports, x, n_classes=N_CLASSES, temperature=0.0, rng=rng)
    with pytest.raises(ValueError, match="x_transfer must have n_inputs - n_classes = 8 features"):
        di.distill(ports, rng.random((5, 9)), n_classes=N_CLASSES, rng=rng)
    with pytest.raises(ValueError, match="hidden must equal the chip's hidden widths"):
        di.distill(ports, x, n_classes=N_CLASSES, target="activities", hidden=(4,), rng=rng)


def test_copy_in_ideal_chip_high_fidelity():
    source, design = small_chip(seed=0)
    target = Chip.fabricate(design, seed=7)
    net = source.effective_network()
    res = di.copy_in(net, target.ports())
    assert res.clipped == 0
    assert res.spent.pulses > 0 and res.spent.verify_reads > 0
    x = np.random.default_rng(5).random((200, 8))
    assert fidelity(target.ports(), source.ports(), x) > 0.95
    net.weights[0][0, 0] = 3.0  # beyond the weight range: clipped and counted
    assert di.copy_in(net, target.ports()).clipped == 1
    with pytest.raises(ValueError, match="network.layer_sizes must match"):
        di.copy_in(DigitalNetwork.initialize((11, 10, 5), rng=np.random.default_rng(0)), target.ports())
    with pytest.raises(TypeError, match="Only ports are allowed"):
        di.copy_in(net, target)
    with pytest.raises(TypeError, match="network must be a DigitalNetwork"):
        di.copy_in([np.zeros((12, 10))], target.ports())


def test_a_digital_network_teaches_and_learns_through_its_twin():
    teacher = DigitalNetwork.initialize((8 + N_CLASSES, 10, 6), rng=np.random.default_rng(4), scale=1.5)
    x = np.random.default_rng(0).random((60, 8))
    d = di.distill(
        teacher.ports(), x, n_classes=N_CLASSES, epochs=30, rng=np.random.default_rng(0), progress=False
    )
    assert d.queries == 60 * N_CLASSES and d.spent == nm.Meter()  # presented, but free
    assert d.loss[-1] < d.loss[0]
    student = DigitalNetwork.initialize(teacher.layer_sizes, rng=np.random.default_rng(1))
    res = di.copy_in(teacher, student.ports())
    assert res.clipped == 0 and res.spent == nm.Meter()
    for a, b in zip(teacher.weights, student.weights, strict=True):
        np.testing.assert_array_equal(a, b)  # the twin writes exactly
    blank = DigitalNetwork([np.zeros_like(w) for w in teacher.weights])
    assert di.copy_in(teacher, blank.ports(weight_range=0.5)).clipped > 0
    assert np.abs(blank.weights[0]).max() == 0.5
    with pytest.raises(TypeError, match="got a DigitalNetwork itself"):
        di.distill(teacher, x, n_classes=N_CLASSES, rng=np.random.default_rng(0))


def test_copy_in_with_fine_tune():
    design = ChipDesign(
        layer_sizes=(4 + 2, 5), device=nm.IDEAL, periphery=IDEAL_PERIPHERY, adc_full_scale=1e3
    )
    chip = Chip.fabricate(design, seed=0)
    rng = np.random.default_rng(0)
    from neuromorph.datasets import Dataset

    data = Dataset(
        rng.random((20, 4)),
        rng.integers(0, 2, 20),
        rng.random((6, 4)),
        rng.integers(0, 2, 6),
        n_classes=2,
        name="toy",
    )
    net = DigitalNetwork.initialize((6, 5), rng=rng, scale=0.5)
    res = di.copy_in(
        net,
        chip.ports(),
        fine_tune=data,
        fine_tune_config=ff.FFConfig(epochs=1, batch_size=10),
        rng=rng,
        progress=False,
    )
    assert res.history is not None and len(res.history.loss) == 1


def test_mixup_transfer_set_grows_from_the_real_inputs():
    from neuromorph.algorithms.distill import mixup_inputs

    x = np.random.default_rng(0).random((20, 5))
    t = mixup_inputs(x, 50, rng=np.random.default_rng(1))
    assert t.shape == (50, 5)
    np.testing.assert_array_equal(t[:20], x)
    assert np.all(t[20:] >= x.min(axis=0)) and np.all(t[20:] <= x.max(axis=0))
    assert not np.any(np.all(np.isin(t[20:], x), axis=1))  # new points, not copies
    np.testing.assert_array_equal(t, mixup_inputs(x, 50, rng=np.random.default_rng(1)))
    np.testing.assert_array_equal(mixup_inputs(x, 7, rng=np.random.default_rng(1)), x[:7])
    with pytest.raises(ValueError, match="n must be"):
        mixup_inputs(x, 0, rng=np.random.default_rng(1))
