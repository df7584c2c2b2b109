"""The grading target ``weights_as_read``: a chip's linear map through its ports.

Device weights, the converters' straight lines (per-column ADC gain and offset, per-row DAC
gain) and the digital output correction.  The map a chip's ports deliver is measured here as
an extractor would: the least-squares fit of many reads of random inputs (the read noise and
the spread of inputs dither the ADC), or designed extraction at a high budget.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from neuromorph.algorithms import extract as ex
from neuromorph.algorithms.calibrate import calibrate_columns
from neuromorph.algorithms.drift import compensate_drift, record_reference
from neuromorph.algorithms.extract.drive import dac_quantize, driven_bias
from neuromorph.chip import Chip, ChipDesign
from neuromorph.hardware import converters
from neuromorph.hardware.periphery import SAR_MISMATCH, ConverterMismatch, DacParams, Periphery
from neuromorph.studies.scoring import relative_rms_error, weights_as_read

#: Each die's own converters, stated here so the tests do not depend on the design's default.
MISMATCHED = Periphery(dac=DacParams(bits=8, input_full_scale=8.0), mismatch=SAR_MISMATCH)
SIZES = (24, 16)
#: Two row tiles (25 rows in tiles of 16): each column has two ADCs, with gains of their own.
TWO_TILES = (16, 16)
#: Reads behind a measured map: the fit's own error is then ~0.1 % of the weights' RMS.
READS = 20_000
#: Inputs of the measured map, uniform on +/- this (DAC input units): taps rarely saturate.
AMPLITUDE = 4.0


def _chip(seed: int, *, periphery: Periphery = MISMATCHED, device: str = "rram", tiles=None) -> Chip:
    """A (24, 16) die (one row tile unless ``tiles``) with fixed random weights, by verify."""
    tile_shape = {} if tiles is None else {"tile_shape": tiles}
    design = ChipDesign(layer_sizes=SIZES, device=device, periphery=periphery, **tile_shape)
    chip = Chip.fabricate(design, seed=seed)
    w = np.random.default_rng(1).normal(0.0, 0.4, (SIZES[0] + 1, SIZES[1]))
    chip.ports().program(0, np.clip(w, -1.0, 1.0))
    return chip


def _port_map(chip: Chip) -> np.ndarray:
    """Layer 0's linear map as its ports deliver it: least squares over ``READS`` reads of a
    copy of ``chip``, on the DAC's grid, the bias at the input the DAC drives."""
    x = dac_quantize(np.random.default_rng(7).uniform(-AMPLITUDE, AMPLITUDE, (READS, SIZES[0])), chip.design)
    y = copy.deepcopy(chip).ports().drive(0, x)
    xb = np.hstack([x, np.full((READS, 1), driven_bias(chip.design))])
    return np.linalg.lstsq(xb, y, rcond=None)[0]


def _rows_and_bias(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    return relative_rms_error(a[:-1], b[:-1]), relative_rms_error(a[-1], b[-1])


@pytest.fixture(scope="module")
def die():
    return _chip(0)


@pytest.fixture(scope="module")
def tiled():
    return _chip(0, tiles=TWO_TILES)


# ------------------------------------------------------------------ (a) nominal converters
def test_nominal_converters_give_the_old_target_bit_for_bit():
    chip = _chip(0, periphery=dataclasses.replace(MISMATCHED, mismatch=None), tiles=TWO_TILES)
    (w,) = chip.effective_weights()
    assert np.array_equal(weights_as_read(chip)[0], w)
    scale, offset = np.linspace(0.8, 1.2, SIZES[1]), np.linspace(-0.1, 0.1, SIZES[1])
    chip.set_output_correction(0, scale, offset)
    want = w * scale
    want[-1] = (w[-1] - offset / chip.design.bias_input) * scale
    assert np.array_equal(weights_as_read(chip)[0], want)


def test_mismatch_of_zero_spread_is_the_identity():
    # The same die through the mismatch path with every draw at its nominal value: each
    # converter's line is the identity, up to rounding.
    zero = dataclasses.replace(MISMATCHED, mismatch=ConverterMismatch(0.0, 0.0, 0.0))
    chip = _chip(0, periphery=zero, tiles=TWO_TILES)
    state = chip.crossbars[0].converter_state()
    assert state is not None
    np.testing.assert_allclose(weights_as_read(chip)[0], chip.effective_weights()[0], rtol=1e-12, atol=1e-14)
    line = converters.linear_transfer(state, zero)
    np.testing.assert_allclose(line.adc_gain, 1.0, rtol=1e-12)
    np.testing.assert_allclose(line.adc_offset_v, 0.0, atol=1e-15)
    np.testing.assert_allclose(line.dac_gain, 1.0, rtol=1e-12)


# ------------------------------------------------------------------ (b) a mismatched die
@pytest.mark.parametrize("which", ["die", "tiled"])
def test_the_ports_deliver_the_map_through_the_converters(which, request):
    chip = request.getfixturevalue(which)
    measured = _port_map(chip)
    (old,) = chip.effective_weights()
    (new,) = weights_as_read(chip)
    rows_old, bias_old = _rows_and_bias(measured, old)
    rows_new, bias_new = _rows_and_bias(measured, new)
    # Catches a dropped converter term (the target falls back to the effective weights):
    # the ADC gains put the rows ~0.6 % off, the ADC offsets the bias row ~20 %.  On the
    # tiled die it also catches a row scaled by the other tile's ADC.
    assert rows_new < rows_old / 3.0
    assert bias_new < bias_old / 8.0
    assert relative_rms_error(measured, new) < relative_rms_error(measured, old) / 8.0
    assert rows_new < 2e-3  # the fit's own error and the ADCs' INL, no more


def test_designed_extraction_recovers_the_new_target(die):
    # One row tile: designed probing leaves a tile idle (zero inputs, no read noise) at
    # times, and an idle tile's ADC puts out its offset rounded to a code, not the line's.
    res = ex.extract(
        copy.deepcopy(die).ports(),
        method="designed",
        budget=32,
        design=die.design,
        rng=np.random.default_rng(3),
        progress=False,
    )
    (copy_w,) = res.network.weights
    new, old = weights_as_read(die)[0], die.effective_weights()[0]
    assert relative_rms_error(copy_w, new) < relative_rms_error(copy_w, old) / 4.0  # a dropped term


def test_each_row_tile_is_scaled_by_its_own_adcs(tiled):
    state = tiled.crossbars[0].converter_state()
    line = converters.linear_transfer(state, tiled.design.periphery)
    (w,) = tiled.effective_weights()
    (new,) = weights_as_read(tiled)
    gain = new[:-1] / (w[:-1] * line.dac_gain[:-1, None])
    np.testing.assert_allclose(gain[:16], np.broadcast_to(line.adc_gain[0], (16, 16)), rtol=1e-12)
    np.testing.assert_allclose(gain[16:], np.broadcast_to(line.adc_gain[1], (8, 16)), rtol=1e-12)
    assert not np.allclose(line.adc_gain[0], line.adc_gain[1], rtol=1e-3)


# ------------------------------------------------------------------ (c) a calibrated die
def test_after_calibration_the_target_is_the_device_weights_again(die):
    calibrated = copy.deepcopy(die)
    cal = calibrate_columns(calibrated.ports())
    (w,) = calibrated.effective_weights()
    (new,) = weights_as_read(calibrated)
    rows, bias = _rows_and_bias(new, w)
    # The correction cancels the columns' gain and offset to the calibration's precision
    # (gains to ~1e-4, offsets to a few hundredths of an LSB).  Catches a dropped converter
    # term, which leaves the correction alone: W / a, off by the gains on the rows (~0.6 %)
    # and by the offsets on the bias row.
    assert rows < 1e-3
    assert bias < 1e-2
    assert rows < relative_rms_error(cal.gain[0], np.ones(SIZES[1])) / 4.0
    # And the ports agree: the measured map is as close to the target as on the raw die.
    assert relative_rms_error(_port_map(calibrated), new) < 3e-3


def test_a_calibrated_tiled_die_keeps_its_tiles_gain_spread(tiled):
    # One correction per column cancels the tiles' mean gain only (calibrate's docstring):
    # the chip computes W times each tile's gain over that mean, and so does the target.
    calibrated = copy.deepcopy(tiled)
    calibrate_columns(calibrated.ports())
    measured = _port_map(calibrated)
    (w,) = calibrated.effective_weights()
    (new,) = weights_as_read(calibrated)
    assert relative_rms_error(new[:-1], w[:-1]) > 2e-3  # the spread is there
    assert relative_rms_error(measured[:-1], new[:-1]) < relative_rms_error(measured[:-1], w[:-1]) / 2.0


# ------------------------------------------------------------------ drift compensation
def test_drift_compensation_is_graded_with_its_correction():
    chip = _chip(2, device="pcm")
    reference = record_reference(chip.ports())
    chip.environment.advance(30 * 86400.0)
    compensate_drift(chip.ports(), reference)
    measured = _port_map(chip)
    (new,) = weights_as_read(chip)
    scale, _ = chip.output_correction(0)
    assert np.all(scale > 1.01)  # the drift was compensated (a month of PCM drift)
    # Catches a correction left out: the target would then be the drifted, uncorrected map.
    unfolded = new / scale
    assert relative_rms_error(measured, new) < relative_rms_error(measured, unfolded) / 3.0
    # Loose: PCM's 1/f read noise is correlated from read to read, and 20,000 reads of it
    # do not average down as white noise would (~6 % already on the fresh chip).
    assert relative_rms_error(measured, new) < 0.15


def test_dac_level_gain_at_a_held_input():
    state = _chip(0).crossbars[0].converter_state()
    dac = MISMATCHED.dac
    g = converters.dac_level_gain(state, dac, 1.0)  # code 16 of 127
    np.testing.assert_allclose(g, state.dac_table[:, 16] * 127 / 16, rtol=1e-15)
    assert np.all(converters.dac_level_gain(state, dac, 0.0) == 1.0)
    assert np.all(converters.dac_level_gain(state, DacParams(bits=None), 1.0) == 1.0)
    assert 1e-4 < np.std(g) < 1e-2  # the low bits' mismatch: ~0.2 % at code 16
