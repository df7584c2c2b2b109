"""Per-die converter mismatch: the SAR and table-DAC kernels, the hidden truth, the
code-density test, fabrication streams and the chip file (issue 13, part 1-2)."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from neuromorph import _io
from neuromorph.chip import Chip, ChipDesign
from neuromorph.chip import chip as chip_module
from neuromorph.hardware import _converter_kernels as ck
from neuromorph.hardware import converters as cv
from neuromorph.hardware.crossbar import Crossbar
from neuromorph.hardware.periphery import (
    SAR_MISMATCH,
    AdcParams,
    ConverterMismatch,
    DacParams,
    Periphery,
)

MISMATCH = Periphery(mismatch=SAR_MISMATCH)
#: A coarse capacitor array (5 % per unit) whose DNL reaches missing codes: the hard case.
COARSE = Periphery(mismatch=ConverterMismatch(cap_sigma_rel=0.05))


def _crossbar(periphery, seed=1, n_in=40, n_out=12, tile_shape=(16, 8)):
    xb = Crossbar.fabricate(
        n_in, n_out, rng=np.random.default_rng(seed), periphery=periphery, tile_shape=tile_shape
    )
    xb.program(np.random.default_rng(seed + 100).uniform(-1, 1, (n_in, n_out)), method="direct")
    return xb


# ---------------------------------------------------------------- naive twins of the kernels


def _naive_sar(v, lsb, w_pos, w_neg):
    """The binary search as the model states it, one comparison per bit."""
    w = w_pos if v >= 0 else w_neg
    x, acc, code = abs(v) / lsb + 0.5, 0.0, 0
    for k in reversed(range(len(w))):
        if x >= acc + w[k]:
            acc += w[k]
            code += 2**k
    return code if v >= 0 else -code


def _by_bit(weights):
    """Weights (cols, 2, m) in the kernels' bit-major layout (2, m, cols)."""
    return np.ascontiguousarray(weights.transpose(1, 2, 0))


def test_sar_kernel_matches_naive_binary_search():
    rng = np.random.default_rng(0)
    m, cols, lsb = 6, 5, 0.01
    weights = 2.0 ** np.arange(m) * (1 + 0.05 * rng.standard_normal((cols, 2, m)))
    gain, offset = 1 + 0.01 * rng.standard_normal(cols), 0.003 * rng.standard_normal(cols)
    mu = rng.uniform(-0.8, 0.8, (30, cols))
    out = np.zeros_like(mu)
    ck.sar_accumulate(
        mu=mu, var=np.empty((0, 0)), key=np.uint64(0), stream=1, counter_base=0, gain=1.0, noise_v=0.0,
        lsb=lsb, out_scale=2.0, adc_gain=gain, adc_offset_v=offset, weights=_by_bit(weights), out=out,
    )  # fmt: skip
    want = [
        [
            2.0 * lsb * _naive_sar(gain[j] * mu[b, j] + offset[j], lsb, weights[j, 0], weights[j, 1])
            for j in range(cols)
        ]
        for b in range(30)
    ]
    np.testing.assert_array_equal(out, want)
    assert np.abs(out).max() <= 2.0 * lsb * (2**m - 1)  # saturates at the top code


def test_sar_serial_and_parallel_paths_match_the_scalar_twin_with_noise():
    """sar_rows (small reads, calling thread) and sar_accumulate (tasks of rows) give the bits of
    one normal per conversion drawn by the scalar ``normal``, branch-free SAR or not."""
    from neuromorph.hardware import _kernels as K

    rng = np.random.default_rng(5)
    m, cols, batch, lsb, base = 7, 9, 37, 0.02, 11
    weights = 2.0 ** np.arange(m) * (1 + 0.03 * rng.standard_normal((cols, 2, m)))
    gain, offset = 1 + 0.01 * rng.standard_normal(cols), 0.003 * rng.standard_normal(cols)
    mu = rng.uniform(-1.5, 1.5, (batch, cols)).astype(np.float32)
    var = rng.uniform(0, 2e-4, (batch, cols)).astype(np.float32)
    key = np.uint64(rng.integers(0, 2**63))
    args = dict(mu=mu, var=var, key=key, stream=1, counter_base=base, gain=1.0, noise_v=0.004, lsb=lsb,
                out_scale=2.0, adc_gain=gain, adc_offset_v=offset, weights=_by_bit(weights))  # fmt: skip
    parallel, serial = np.zeros((batch, cols)), np.zeros((batch, cols))
    ck.sar_accumulate(**args, out=parallel)
    ck.sar_rows(**args, out=serial, row0=0, row1=batch)
    want = np.empty((batch, cols))
    for b in range(batch):
        for j in range(cols):
            z = K.normal(key, 1, base + b * cols + j)
            v = float(mu[b, j]) + np.sqrt(0.004**2 + float(var[b, j])) * z
            want[b, j] = 2.0 * lsb * _naive_sar(gain[j] * v + offset[j], lsb, weights[j, 0], weights[j, 1])
    np.testing.assert_array_equal(parallel, want)
    np.testing.assert_array_equal(serial, want)
    assert len(np.unique(want)) > 20  # many codes, both signs: the test spans the transfer


def test_table_dac_rows_match_the_parallel_kernel():
    rng = np.random.default_rng(6)
    levels, n_rows, batch = 127, 13, 41
    table = np.sort(rng.uniform(0, 1, (n_rows, levels + 1)), axis=1)
    x = rng.uniform(-1.3, 1.3, (batch, n_rows)).reshape(-1)
    out = [(np.empty(x.size, np.float32), np.empty(x.size, np.float32)) for _ in range(2)]
    ck.dac_convert_table(x=x, n_rows=n_rows, scale=1.0, levels=levels, v_max=0.2, table=table,
                         v_out=out[0][0], v2_out=out[0][1])  # fmt: skip
    ck.dac_table_rows(x=x, n_rows=n_rows, scale=1.0, levels=levels, v_max=0.2, table=table,
                      v_out=out[1][0], v2_out=out[1][1], row0=0, row1=batch,
                      codes=np.empty(n_rows))  # fmt: skip
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


def test_table_dac_kernel_matches_lookup():
    rng = np.random.default_rng(1)
    levels, n_rows = 7, 4
    table = np.sort(rng.uniform(0, 1, (n_rows, levels + 1)), axis=1)
    table[:, 0] = 0.0  # code 0 switches no capacitor
    x = rng.uniform(-3, 3, (6, n_rows))
    v, v2 = np.empty_like(x), np.empty(x.size)
    ck.dac_convert_table(x=x.reshape(-1), n_rows=n_rows, scale=0.5, levels=levels, v_max=0.2, table=table,
                         v_out=v.reshape(-1), v2_out=v2)  # fmt: skip
    code = np.round(np.clip(x * 0.5, -1, 1) * levels).astype(int)
    want = np.sign(code) * table[np.arange(n_rows)[None, :], np.abs(code)] * 0.2
    np.testing.assert_array_equal(v, want)
    np.testing.assert_allclose(v2, (want**2).reshape(-1))


def test_sar_transfer_follows_its_transition_levels():
    """Code of a conversion == (transitions at or below the input) - max_code, for every ADC,
    also where a coarse array makes codes go missing."""
    xb = Crossbar.fabricate(30, 6, rng=np.random.default_rng(2), periphery=COARSE, tile_shape=(16, 8))
    adc = COARSE.adc
    t = cv.adc_transitions(xb.converter_state(), adc)
    v = np.random.default_rng(3).uniform(-1.05, 1.05, 4000) * adc.full_scale_v
    v = np.concatenate([v, t[0, 0] + 1e-12, t[1, 3] - 1e-12])
    codes = xb.convert_at_adcs(np.repeat(v[:, None], 6, axis=1)) / adc.lsb_v
    want = (t[None, :, :, :] <= v[:, None, None, None]).sum(axis=-1) - 127
    np.testing.assert_allclose(codes, want, atol=1e-9)
    dnl, _ = cv.linearity(t)
    assert (dnl == -1.0).any()  # missing codes exist in this die: the hard case is exercised


# ---------------------------------------------------------------- what mismatch changes, and not


def test_nominal_draws_give_the_bits_of_no_mismatch():
    """A die whose converters come out nominal (zero spreads) reads bit for bit as one without."""
    zero = Periphery(mismatch=ConverterMismatch(cap_sigma_rel=0.0, offset_sigma_v=0.0, gain_sigma_rel=0.0))
    x = np.random.default_rng(4).uniform(-1, 1, (50, 40))
    a, b = _crossbar(Periphery()), _crossbar(zero)
    np.testing.assert_array_equal(a.read(x), b.read(x))
    np.testing.assert_array_equal(a.read(x[0]), b.read(x[0]))
    c = _crossbar(MISMATCH)
    assert not np.array_equal(a.read(x), c.read(x))


def test_mismatch_leaves_devices_and_streams_of_the_die_unchanged():
    a, b = _crossbar(Periphery(), seed=7), _crossbar(MISMATCH, seed=7)
    for name, arr in a.device_state().arrays().items():
        np.testing.assert_array_equal(arr, b.device_state().arrays()[name])
    assert a.generator_states() == b.generator_states()
    assert a.converter_state() is None and b.converter_state() is not None


def test_mismatch_reads_same_bits_on_one_and_two_threads():
    x = np.random.default_rng(5).uniform(-1, 1, (300, 40))
    results = []
    original = numba.get_num_threads()
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            xb = _crossbar(COARSE, seed=5)
            results.append(np.hstack([xb.read(x), xb.convert_at_adcs(x[:, :12]).reshape(300, -1)]))
    finally:
        numba.set_num_threads(original)
    np.testing.assert_array_equal(results[0], results[1])


def test_draws_follow_their_statistics():
    """Gains and offsets spread as stated (a seed range: any seed passes)."""
    for seed in range(3):
        st = cv.draw_converters(
            MISMATCH, n_in=8, n_out=2000, tile_rows=8, rng=_spawned(np.random.default_rng(seed))
        )
        assert abs(st.adc_gain.std() / SAR_MISMATCH.gain_sigma_rel - 1) < 0.1, seed
        assert abs(st.adc_offset_v.std() / SAR_MISMATCH.offset_sigma_v - 1) < 0.1, seed
        msb = st.adc_caps[..., 6]  # 64 units: spread sqrt(64) sigma_u units
        assert abs(msb.std() / (8 * SAR_MISMATCH.cap_sigma_rel) - 1) < 0.1, seed


def _spawned(rng):
    rng.spawn(4)  # the crossbar's own four streams come first
    return rng


def test_ideal_dac_with_mismatch_stays_ideal():
    p = Periphery(dac=DacParams(bits=None), adc=AdcParams(bits=None), mismatch=SAR_MISMATCH)
    xb = Crossbar.fabricate(10, 3, rng=np.random.default_rng(0), periphery=p)
    st = xb.converter_state()
    assert st.adc_caps.shape == (1, 3, 2, 1) and st.dac_caps.shape == (10, 1)
    np.testing.assert_allclose(
        xb.convert_at_adcs(np.full((1, 3), 0.3))[0, 0], st.adc_gain[0] * 0.3 + st.adc_offset_v[0]
    )


# ---------------------------------------------------------------- hidden truth and the bench test


def test_gain_offset_and_linearity_of_nominal_and_pure_errors():
    st = cv.nominal_state(MISMATCH, n_in=3, n_out=4, n_row_tiles=1)
    adc = MISMATCH.adc
    t = cv.adc_transitions(st, adc)
    np.testing.assert_allclose(t[0, 0], (np.arange(254) - 127 + 0.5) * adc.lsb_v, atol=1e-15)
    dnl, inl = cv.linearity(t)
    assert np.abs(dnl).max() < 1e-9 and np.abs(inl).max() < 1e-9
    st2 = cv.ConverterState(st.adc_caps, st.adc_gain * 1.02, st.adc_offset_v + 0.25 * adc.lsb_v, st.dac_caps)
    g, o = cv.gain_offset(cv.adc_transitions(st2, adc), adc.lsb_v)
    np.testing.assert_allclose(g, 1.02)
    np.testing.assert_allclose(o, 0.25, atol=1e-9)
    np.testing.assert_allclose(st.dac_table[0], np.arange(128) / 127, rtol=0, atol=0)


@pytest.mark.parametrize("periphery", [MISMATCH, COARSE], ids=["sar", "coarse"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_code_density_recovers_dnl_within_five_hundredths_of_an_lsb(periphery, seed):
    """Acceptance (issue 13): a ramp histogram, through conversions only, finds each ADC's DNL
    within 0.05 LSB; and DNL is the die's own (another die's estimate misses by more)."""
    xb = Crossbar.fabricate(30, 8, rng=np.random.default_rng(seed), periphery=periphery, tile_shape=(16, 8))
    adc = periphery.adc
    est = cv.code_density_test(
        lambda v: xb.convert_at_adcs(np.repeat(v[:, None], 8, axis=1)) / adc.lsb_v, adc
    )
    dnl, inl = cv.linearity(cv.adc_transitions(xb.converter_state(), adc))
    err = np.abs(est.dnl - dnl).max()
    assert err < 0.05, f"seed {seed}: DNL error {err:.3f} LSB"
    assert np.abs(est.inl - inl[..., 1:]).max() < 0.05, f"seed {seed}"
    assert est.counts.sum(axis=-1).min() == est.conversions
    other = Crossbar.fabricate(
        30, 8, rng=np.random.default_rng(seed + 50), periphery=periphery, tile_shape=(16, 8)
    )
    assert np.abs(cv.linearity(cv.adc_transitions(other.converter_state(), adc))[0] - est.dnl).max() > 0.05


# ---------------------------------------------------------------- the chip file


def _mismatch_design(**kw):
    return ChipDesign(
        layer_sizes=(12, 20, 5),
        periphery=Periphery(dac=DacParams(bits=8, input_full_scale=8.0), mismatch=SAR_MISMATCH),
        tile_shape=(8, 16),
        **kw,
    )


def test_chip_file_round_trips_the_converters_bit_for_bit(tmp_path):
    chip = Chip.fabricate(_mismatch_design(), seed=9)
    x = np.random.default_rng(0).uniform(-8, 8, (20, 12))
    path = chip.save(tmp_path / "chip")
    loaded = Chip.load(path)
    for a, b in zip(chip.crossbars, loaded.crossbars, strict=True):
        for name, arr in a.converter_state().arrays().items():
            np.testing.assert_array_equal(arr, b.converter_state().arrays()[name])
    assert loaded.design.periphery.mismatch == SAR_MISMATCH
    np.testing.assert_array_equal(chip.ports().drive(0, x), loaded.ports().drive(0, x))


def test_chip_file_refuses_bad_converter_arrays(tmp_path):
    chip = Chip.fabricate(_mismatch_design(), seed=9)
    meta = {"design": chip.design.to_dict()}
    arrays = {f"converter0_{k}": v for k, v in chip.crossbars[0].converter_state().arrays().items()}
    del arrays["converter0_adc_gain"]
    with pytest.raises(ValueError, match="converter arrays must include"):
        chip_module._layer_converters(arrays, 0, chip.design)
    arrays = {f"converter0_{k}": v for k, v in chip.crossbars[0].converter_state().arrays().items()}
    arrays["converter0_dac_caps"] = arrays["converter0_dac_caps"][:, :3]
    with pytest.raises(ValueError, match=r"dac_caps must have shape \(13, 8\)"):
        chip_module._layer_converters(arrays, 0, chip.design)
    arrays["converter0_dac_caps"] = -np.ones((13, 8))
    with pytest.raises(ValueError, match="must be > 0"):
        chip_module._layer_converters(arrays, 0, chip.design)
    plain = ChipDesign.from_dict(
        {**meta["design"], "periphery": {**meta["design"]["periphery"], "mismatch": None}}
    )
    with pytest.raises(ValueError, match="must be absent when the design has no mismatch"):
        chip_module._layer_converters({"converter0_adc_gain": np.ones((2, 20))}, 0, plain)
    # A whole file whose design drops the mismatch but keeps the draws.
    meta, arrays = _io.load(chip.save(tmp_path / "chip"), kind="neuromorph.chip", version=2)
    assert any(k.startswith("converter") for k in arrays)
    with pytest.raises(ValueError, match="must be absent"):
        Chip._from_file({**meta, "design": plain.to_dict()}, arrays)


# ---------------------------------------------------------------- error paths


def test_error_paths():
    with pytest.raises(ValueError, match="must be an integer for transition levels"):
        cv.adc_transitions(cv.nominal_state(MISMATCH, n_in=1, n_out=1, n_row_tiles=1), AdcParams(bits=None))
    with pytest.raises(ValueError, match="must be an integer for a code-density test"):
        cv.code_density_test(lambda v: v, AdcParams(bits=None))
    with pytest.raises(ValueError, match="samples_per_code must be >= 10"):
        cv.code_density_test(lambda v: v, AdcParams(), samples_per_code=3)
    with pytest.raises(ValueError, match="convert must return one row per input"):
        cv.code_density_test(lambda v: v[:5], AdcParams(bits=4), samples_per_code=10)
    with pytest.raises(ValueError, match="rng must have spawned exactly 4 children"):
        cv.draw_converters(MISMATCH, n_in=2, n_out=2, tile_rows=2, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        cv.draw_converters(MISMATCH, n_in=2, n_out=2, tile_rows=2, rng=0)
    assert cv.draw_converters(Periphery(), n_in=2, n_out=2, tile_rows=2, rng=np.random.default_rng(0)) is None
    xb = _crossbar(MISMATCH)
    with pytest.raises(ValueError, match=r"v must have shape \(any, 12\)"):
        xb.convert_at_adcs(np.zeros((3, 5)))
