"""Shared fixtures: seeds and small crossbars."""

from __future__ import annotations

import numpy as np
import pytest

import neuromorph as nm


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def ideal_crossbar():
    def make(n_in=20, n_out=7, **kw):
        return nm.Crossbar.fabricate(
            n_in,
            n_out,
            rng=np.random.default_rng(0),
            device=nm.IDEAL,
            periphery=nm.IDEAL_PERIPHERY,
            **kw,
        )

    return make
