"""Optimisers: each against a naive one-matrix reference written from its paper's formulas."""

from __future__ import annotations

import numpy as np
import pytest

from neuromorph.algorithms.optim import Adam, Sgd


def _naive_adam(grads, lr, b1=0.9, b2=0.999, eps=1e-8):
    m = v = 0.0
    steps = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        steps.append(-lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps))
    return steps


def test_adam_matches_its_formulas_per_matrix():
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 2)) for _ in range(5)]
    opt = Adam([(3, 2), (4,)])
    for g, want in zip(grads, _naive_adam(grads, 0.01), strict=True):
        np.testing.assert_allclose(opt.step(0, g, 0.01), want, rtol=1e-13)
    # Matrix 1 has its own step count: its first step is a bias-corrected ``-lr * sign(g)``.
    np.testing.assert_allclose(opt.step(1, np.full(4, 3.0), 0.1), np.full(4, -0.1), rtol=1e-6)


def test_sgd_momentum_accumulates():
    opt = Sgd([(2,)], momentum=0.5)
    g = np.array([1.0, -2.0])
    np.testing.assert_array_equal(opt.step(0, g, 0.1), -0.1 * g)
    np.testing.assert_array_equal(opt.step(0, g, 0.1), -0.1 * (0.5 * g + g))
    plain = Sgd([(2,)], momentum=0.0)
    plain.step(0, g, 1.0)
    np.testing.assert_array_equal(plain.step(0, g, 1.0), -g)


def test_optimiser_errors():
    with pytest.raises(ValueError, match=r"beta1 must be in \[0, 1\); got beta1=1.0"):
        Adam([(2,)], beta1=1.0)
    with pytest.raises(ValueError, match="eps must be > 0"):
        Adam([(2,)], eps=0.0)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\]"):
        Sgd([(2,)], momentum=1.5)
    with pytest.raises(TypeError, match="shapes must be a sequence of array shapes"):
        Sgd(3, momentum=0.9)
