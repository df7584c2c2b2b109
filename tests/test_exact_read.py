"""The one-product read (``reading.one_product``): an ideal crossbar's read is ``x @ M``."""

from __future__ import annotations

import numpy as np
import pytest

import neuromorph as nm
from neuromorph import _validate
from neuromorph.hardware import reading
from neuromorph.hardware.periphery import AdcParams, DacParams, Periphery


def _ideal(seed: int = 2, **kw) -> nm.Crossbar:
    xb = nm.Crossbar.fabricate(40, 12, seed=seed, device=nm.IDEAL, periphery=nm.IDEAL_PERIPHERY, **kw)
    xb.program(np.random.default_rng(seed).uniform(-1, 1, (40, 12)))
    return xb


def test_an_ideal_read_is_x_times_the_effective_weights_and_counts_like_any_read():
    x = np.random.default_rng(0).uniform(-1, 1, (30, 40))
    fast, general = _ideal(), _ideal()
    assert reading.one_product(40, fast.tile_shape[0], None, fast.device, fast.periphery, None)
    y = fast.read(x)
    np.testing.assert_allclose(y, x @ fast.effective_weights(), rtol=1e-13, atol=1e-13)
    # An input beyond full scale takes the general path (it clips); both count the reads and
    # draw one key, so whatever the crossbar does next sees the same random state.
    y_clip = general.read(np.vstack([x[:-1], 5.0 * np.ones(40)]))
    np.testing.assert_allclose(y_clip[-1], np.ones(40) @ general.effective_weights(), rtol=1e-13)
    np.testing.assert_allclose(y_clip[:-1], y[:-1], rtol=1e-13, atol=1e-13)
    assert fast._noise.reads_done == general._noise.reads_done == 30
    assert fast._rngs["read"].bit_generator.state == general._rngs["read"].bit_generator.state
    metered = fast.read_metered(x, t_read_s=1e-8)
    v = x * (nm.IDEAL_PERIPHERY.dac.v_max_v / nm.IDEAL_PERIPHERY.dac.input_full_scale)
    want = 1e-8 * np.sum(v**2 @ fast.row_conductance_s())
    assert metered[1] == pytest.approx(want, rel=1e-12)
    np.testing.assert_array_equal(metered[0], fast.read(x))


@pytest.mark.parametrize(
    "kw",
    [
        {"periphery": Periphery(DacParams(bits=8), adc=AdcParams(bits=None))},
        {"periphery": Periphery(DacParams(bits=None), adc=AdcParams(bits=8))},
        {"periphery": Periphery(DacParams(bits=None), adc=AdcParams(bits=None, noise_v=1e-3))},
        {"device": nm.IDEAL.with_(noise=nm.IDEAL.noise.__class__(read_noise_rel=0.01))},
        {"tile_shape": (16, 16)},
    ],
)
def test_anything_nonlinear_or_noisy_is_not_one_product(kw):
    device = kw.get("device", nm.IDEAL)
    periphery = kw.get("periphery", nm.IDEAL_PERIPHERY)
    rows = kw.get("tile_shape", (256, 256))[0]
    assert not reading.one_product(40, rows, None, device, periphery, None)


def test_bad_inputs_are_still_refused():
    xb = _ideal()
    with pytest.raises(ValueError, match=r"x must be finite \(no NaN or inf\); got nan at index \(0, 3\)"):
        bad = np.zeros((2, 40))
        bad[0, 3] = np.nan
        xb.read(bad)
    # The one-product pass is the finiteness check: inf, -inf and a single vector are refused
    # through every entry point, before anything is counted or drawn.
    state = xb._rngs["read"].bit_generator.state
    for value in (np.inf, -np.inf, np.nan):
        vec = np.zeros(40)
        vec[39] = value
        with pytest.raises(ValueError, match=rf"x must be finite .* got {value} at index \(39,\)"):
            xb.read(vec)
        with pytest.raises(ValueError, match=r"x must be finite .* index \(1, 39\)"):
            xb.read_metered(np.vstack([np.zeros(40), vec]), t_read_s=1e-8)
    assert xb._noise.reads_done == 0 and xb._rngs["read"].bit_generator.state == state
    # Finite values whose sum overflows are finite: the fast check must not refuse them.
    assert _validate.array("x", np.full(4, 1e308)).shape == (4,)
    with pytest.raises(ValueError, match=r"got inf at index \(2,\)"):
        _validate.array("x", np.array([1e308, 1.0, np.inf]))
