"""Column calibration through the ports, and the reference port it uses (issue 13, part 5)."""

from __future__ import annotations

import numpy as np
import pytest

from neuromorph.algorithms.calibrate import DEFAULT_LEVELS, calibrate_columns, reference_full_scale
from neuromorph.chip import Chip, ChipDesign
from neuromorph.chip.digital import DigitalNetwork
from neuromorph.hardware import converters as cv
from neuromorph.hardware import reading
from neuromorph.hardware.periphery import SAR_MISMATCH, AdcParams, DacParams, Periphery

QUARTER_LSB = 0.25


def _design(mismatch=SAR_MISMATCH, **kw):
    kw.setdefault("layer_sizes", (20, 48, 10))
    return ChipDesign(
        periphery=Periphery(dac=DacParams(bits=8, input_full_scale=8.0), mismatch=mismatch), **kw
    )


def _column_errors(chip: Chip, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """Scorer: each column's gain error at full scale and offset, in LSBs, after the chip's
    output correction (hidden state: the true transition levels of every ADC)."""
    xb, p = chip.crossbars[layer], chip.design.periphery
    gain, offset = cv.gain_offset(cv.adc_transitions(xb.converter_state(), p.adc), p.adc.lsb_v)
    scale, off = chip.output_correction(layer)
    per_code = reading.output_per_volt(p.dac, gain_ohm=xb.tia_gain_ohm, g_unit=xb.g_unit) * p.adc.lsb_v
    max_code = 2 ** (p.adc.bits - 1) - 1
    return np.abs(gain[0] * scale - 1) * max_code, np.abs((offset[0] - off / per_code) * scale)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_calibration_brings_every_column_under_a_quarter_lsb(seed):
    """Acceptance (issue 13): after calibration through the ports, every column's gain error
    (at full scale) and offset are under a quarter of an LSB; before it, some are not."""
    chip = Chip.fabricate(_design(), seed=seed)
    before = [_column_errors(chip, layer) for layer in range(chip.n_layers)]
    assert max(max(g.max(), o.max()) for g, o in before) > QUARTER_LSB, f"seed {seed}"
    result = calibrate_columns(chip.ports())
    for layer in range(chip.n_layers):
        gain_err, offset_err = _column_errors(chip, layer)
        assert gain_err.max() < QUARTER_LSB, f"seed {seed}, layer {layer}: {gain_err.max():.3f} LSB"
        assert offset_err.max() < QUARTER_LSB, f"seed {seed}, layer {layer}: {offset_err.max():.3f} LSB"
    assert result.layers == (0, 1)


def test_calibration_is_metered_and_reads_no_array():
    chip = Chip.fabricate(_design(layer_sizes=(300, 40)), seed=3)  # two row tiles of 256
    n_rt = chip.crossbars[0].n_tiles[0]
    assert n_rt == 2
    result = calibrate_columns(chip.ports(), n_levels=64)
    spent = result.spent
    assert spent.adc_conversions == 64 * 40 * n_rt
    assert spent.dac_conversions == 64 * 40
    assert spent.queries == 0 and spent.array_reads == 0 and spent.pulses == 0
    assert spent.chip_seconds > 0 and spent.energy_adc_j > 0 and spent.energy_j > 0
    assert chip.meter.adc_conversions == spent.adc_conversions


def test_calibration_removes_the_column_bias_of_reads():
    """Reads of a programmed layer against the true products (scorer): the per-column mean
    error that the converters' gains and offsets give falls to the level of a die without
    mismatch (the same devices and read-noise draws: only the converters differ)."""
    x = np.random.default_rng(0).uniform(-8, 8, (1000, 20))
    w = np.random.default_rng(1).uniform(-0.5, 0.5, (21, 48))
    chips = [Chip.fabricate(_design(mismatch=m), seed=4) for m in (None, SAR_MISMATCH)]
    for chip in chips:
        chip.ports().program(0, w, method="direct")
    true = np.hstack([x, np.ones((len(x), 1))]) @ chips[0].effective_weights()[0]

    def worst_bias(chip):
        return np.abs((chip.ports().drive(0, x) - true).mean(axis=0)).max()

    nominal, raw = worst_bias(chips[0]), worst_bias(chips[1])
    calibrate_columns(chips[1].ports(), layers=(0,))
    calibrated = worst_bias(chips[1])
    assert calibrated < 0.25 * raw, (raw, calibrated)
    assert calibrated < 2 * nominal, (nominal, calibrated)


def test_reference_port_on_nominal_chip_and_twin():
    chip = Chip.fabricate(_design(mismatch=None), seed=0)
    ports = chip.ports()
    fs = reference_full_scale(ports, 0)
    assert fs == pytest.approx(chip.design.adc_full_scale)
    levels = np.linspace(-fs, fs, 11)[:, None] * np.ones(48)
    lsb = fs / 127
    y = ports.read_reference(0, levels)
    assert np.abs(y - levels).max() <= 0.5 * lsb + 1e-12
    ports.set_output_correction(0, 2.0, 1.0)
    np.testing.assert_allclose(ports.read_reference(0, levels), (y - 1.0) * 2.0)
    with pytest.raises(ValueError, match=r"levels must have shape \(any, 48\)"):
        ports.read_reference(0, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="layer must be in 0..1"):
        ports.read_reference(5, levels)
    twin = DigitalNetwork([np.zeros((21, 48)), np.zeros((49, 10))]).ports()
    np.testing.assert_array_equal(twin.read_reference(0, levels), levels)
    with pytest.raises(ValueError, match="levels must have shape"):
        twin.read_reference(0, np.zeros((2, 5)))


def test_calibration_through_a_served_chip():
    """The reference port crosses the process boundary (RemotePorts)."""
    chip = Chip.fabricate(_design(layer_sizes=(8, 12)), seed=5)
    with chip.serve() as ports:
        result = calibrate_columns(ports, n_levels=32)
    assert result.spent.adc_conversions == 32 * 12
    assert chip.meter.adc_conversions == 32 * 12  # the served chip came home with its meter
    assert not np.allclose(chip.output_correction(0)[0], 1.0)


def test_calibration_error_paths():
    twin = DigitalNetwork([np.zeros((5, 3))]).ports()
    with pytest.raises(ValueError, match="ports.design must be a chip's datasheet"):
        calibrate_columns(twin)
    ideal = Chip.fabricate(
        ChipDesign(layer_sizes=(4, 3), periphery=Periphery(adc=AdcParams(bits=None), mismatch=SAR_MISMATCH)),
        seed=0,
    )
    with pytest.raises(ValueError, match="adc.bits must be an integer to calibrate"):
        calibrate_columns(ideal.ports())
    ports = Chip.fabricate(_design(layer_sizes=(4, 3)), seed=0).ports()
    with pytest.raises(ValueError, match="n_levels must be >= 8"):
        calibrate_columns(ports, n_levels=2)
    with pytest.raises(ValueError, match="span must be > 0"):
        calibrate_columns(ports, span=0.0)
    with pytest.raises(ValueError, match="span must be"):
        calibrate_columns(ports, span=1.5)
    with pytest.raises(ValueError, match="layer must be in 0..0"):
        calibrate_columns(ports, layers=(3,))
    with pytest.raises(TypeError, match="ports must be ports"):
        calibrate_columns(Chip.fabricate(_design(layer_sizes=(4, 3)), seed=0))
    assert DEFAULT_LEVELS >= 8
