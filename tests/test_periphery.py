"""DAC, TIA and ADC: conversion laws and error paths."""

from __future__ import annotations

import numpy as np
import pytest

from neuromorph.hardware.periphery import (
    IDEAL_PERIPHERY,
    SAR_MISMATCH,
    AdcParams,
    ConverterMismatch,
    DacParams,
    Periphery,
    TiaParams,
)
from tests import naive


def test_dac_quantises_clips_and_keeps_zero():
    dac = DacParams(bits=3, v_max_v=0.3, input_full_scale=2.0)
    x = np.array([-5.0, -2.0, -0.1, 0.0, 0.4, 1.0, 7.0])
    np.testing.assert_allclose(dac.convert(x), naive.dac(x, input_full_scale=2, v_max=0.3, bits=3))
    assert dac.convert(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    assert dac.convert(np.array([9.0]))[0] == 0.3
    assert dac.lsb_v == pytest.approx(0.1)


def test_adc_quantises_saturates_and_adds_noise():
    adc = AdcParams(bits=4, full_scale_v=0.7)
    v = np.linspace(-2, 2, 101)
    np.testing.assert_allclose(adc.convert(v), naive.adc(v, full_scale=0.7, bits=4), atol=1e-15)
    assert adc.convert(np.array([5.0]))[0] == pytest.approx(0.7)
    noisy = AdcParams(bits=None, noise_v=0.01)
    out = noisy.convert(np.zeros(50_000), rng=np.random.default_rng(0))
    assert abs(out.std() - 0.01) < 3e-4
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator when noise is on"):
        noisy.convert(np.zeros(3))


@pytest.mark.parametrize(
    ("factory", "exc", "match"),
    [
        (lambda: DacParams(bits=1), ValueError, r"bits must be >= 2 \(one sign bit"),
        (lambda: DacParams(bits=0), ValueError, "bits must be >= 2"),
        (lambda: DacParams(bits=8.0), TypeError, "bits must be an integer"),
        (lambda: DacParams(v_max_v=0), ValueError, "v_max_v must be > 0"),
        (lambda: AdcParams(bits=40), ValueError, "bits must be <= 32"),
        (lambda: AdcParams(full_scale_v=-1), ValueError, "full_scale_v must be > 0"),
        (lambda: AdcParams(noise_v=float("inf")), ValueError, "noise_v must be finite"),
        (lambda: TiaParams(gain_ohm=0), ValueError, "gain_ohm must be > 0"),
        (lambda: Periphery(dac=AdcParams()), TypeError, "dac must be a DacParams"),
        (lambda: Periphery(mismatch=0.01), TypeError, "mismatch must be a ConverterMismatch or None"),
        (lambda: ConverterMismatch(cap_sigma_rel=-0.1), ValueError, "cap_sigma_rel must be >= 0"),
        (lambda: ConverterMismatch(cap_sigma_rel=0.5), ValueError, r"cap_sigma_rel must be <= 0.2"),
        (lambda: ConverterMismatch(offset_sigma_v=float("nan")), ValueError, "offset_sigma_v must be"),
        (lambda: ConverterMismatch(gain_sigma_rel=-1), ValueError, "gain_sigma_rel must be >= 0"),
    ],
)
def test_periphery_errors(factory, exc, match):
    with pytest.raises(exc, match=match):
        factory()


def test_convert_rejects_nan():
    with pytest.raises(ValueError, match="x must be finite"):
        DacParams().convert(np.array([0.0, np.nan]))


def test_mismatch_is_opt_in():
    """Nominal converters unless a design asks for mismatch; the ideal periphery stays ideal."""
    assert Periphery().mismatch is None and IDEAL_PERIPHERY.mismatch is None
    assert SAR_MISMATCH == ConverterMismatch()
    assert Periphery(mismatch=SAR_MISMATCH).mismatch.cap_sigma_rel > 0
