"""Extraction through the ports: exactness on an ideal chip, the noise floor, error paths."""

from __future__ import annotations

import numpy as np
import pytest

import neuromorph as nm
from neuromorph.algorithms import extract as ex
from neuromorph.chip import Chip, ChipDesign
from neuromorph.chip.digital import DigitalNetwork
from neuromorph.hardware.crossbar import Crossbar
from neuromorph.hardware.periphery import AdcParams, DacParams, Periphery, TiaParams

IDEAL_PERIPHERY = Periphery(DacParams(bits=None, input_full_scale=4.0), TiaParams(), AdcParams(bits=None))


def make_chip(
    *,
    sizes=(12, 8, 6),
    device=nm.IDEAL,
    periphery=IDEAL_PERIPHERY,
    adc_full_scale=1e3,
    drivable=True,
    seed=0,
    scale=1.0,
    tile_shape=(256, 256),
):
    design = ChipDesign(
        layer_sizes=sizes,
        device=device,
        periphery=periphery,
        adc_full_scale=adc_full_scale,
        inputs_drivable=drivable,
        tile_shape=tile_shape,
    )
    chip = Chip.fabricate(design, seed=seed)
    rng = np.random.default_rng(seed + 100)
    ports = chip.ports()
    for layer, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        w = np.clip(rng.normal(0.0, scale / np.sqrt(a + 1), (a + 1, b)), -1.0, 1.0)
        ports.program(layer, w)
    return chip, design


@pytest.mark.parametrize("method", ["fd", "designed"])
def test_ideal_chip_exact_with_n_plus_1_queries(method):
    chip, design = make_chip()
    opts = {"amplitude": 1.0} if method == "designed" else {}
    res = ex.extract(
        chip.ports(),
        method=method,
        budget=1,
        design=design,
        rng=np.random.default_rng(1),
        progress=False,
        **opts,
    )
    for rec, w_hat, w in zip(res.layers, res.network.weights, chip.effective_weights(), strict=True):
        assert rec.queries == w.shape[0]  # N + 1
        np.testing.assert_allclose(w_hat, w, atol=1e-9, rtol=0)
    assert res.spent.queries == sum(w.shape[0] for w in chip.effective_weights())


def test_ideal_undrivable_chip_reached_through_run():
    chip, design = make_chip(drivable=False)
    res = ex.extract(
        chip.ports(), method="fd", budget=1, design=design, rng=np.random.default_rng(2), progress=False
    )
    assert [r.method for r in res.layers] == ["fd", "run"]
    for w_hat, w in zip(res.network.weights, chip.effective_weights(), strict=True):
        np.testing.assert_allclose(w_hat, w, atol=1e-9, rtol=0)


def test_periphery_network_reproduces_ideal_forward():
    chip, design = make_chip()
    net = ex.PeripheryNetwork(chip.effective_weights(), design=design)
    x = np.random.default_rng(0).uniform(-1, 1, (5, 12))
    for a, b in zip(net.forward(x), chip.ports().run(x), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-9)


NOISY = Periphery(DacParams(bits=8, input_full_scale=4.0), TiaParams(), AdcParams(bits=8))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_designed_variance_near_floor(seed):
    chip, design = make_chip(
        sizes=(40, 16), device=nm.RRAM_HFO2, periphery=NOISY, adc_full_scale=8.0, seed=seed, scale=2.0
    )
    w_true = chip.effective_weights()[0]
    errs, floors = [], []
    rng = np.random.default_rng(seed)
    for _ in range(4):
        w, rec = ex.extract_layer_designed(chip.ports(), 0, probes=328, design=design, rng=rng)
        errs.append(np.mean((w[:-1] - w_true[:-1]) ** 2))
        floors.append(np.mean(ex.designed_floor(rec, design)))
    ratio = np.mean(errs) / np.mean(floors)
    assert 0.5 < ratio < 2.0, f"seed={seed}: measured/floor = {ratio:.3f}"


def test_one_hot_worse_than_designed_at_same_budget():
    chip, design = make_chip(
        sizes=(40, 16), device=nm.RRAM_HFO2, periphery=NOISY, adc_full_scale=8.0, scale=2.0
    )
    w_true = chip.effective_weights()[0]
    kw = {"design": design, "rng": np.random.default_rng(0), "progress": False}
    fd = ex.extract(chip.ports(), method="fd", budget=4, step=0.5, **kw)
    de = ex.extract(chip.ports(), method="designed", budget=4, **kw)
    assert fd.spent.queries == de.spent.queries == 4 * 41
    v_fd = np.mean((fd.network.weights[0][:-1] - w_true[:-1]) ** 2)
    v_de = np.mean((de.network.weights[0][:-1] - w_true[:-1]) ** 2)
    print(f"one-hot / designed variance at 4(N+1) queries: {v_fd / v_de:.1f}")
    assert v_fd > 3.0 * v_de


def test_multi_tile_layer(rng):
    chip, design = make_chip(
        sizes=(40, 16),
        device=nm.RRAM_HFO2,
        periphery=NOISY,
        adc_full_scale=8.0,
        scale=2.0,
        tile_shape=(16, 16),
    )
    w, rec = ex.extract_layer_designed(chip.ports(), 0, probes=200, design=design, rng=rng)
    w_true = chip.effective_weights()[0]
    assert len(rec.tile_probes) == 3
    assert np.sqrt(np.mean((w - w_true) ** 2) / np.mean(w_true**2)) < 0.05


def test_only_ports_touch_the_chip(monkeypatch):
    chip, design = make_chip()
    ports = chip.ports()

    def forbidden(*args, **kwargs):
        raise AssertionError("hidden state read during extraction")

    monkeypatch.setattr(Chip, "effective_weights", forbidden)
    monkeypatch.setattr(Chip, "effective_network", forbidden)
    monkeypatch.setattr(Crossbar, "effective_weights", forbidden)
    monkeypatch.setattr(Crossbar, "effective_conductances", forbidden)
    for method in ("fd", "designed"):
        ex.extract(
            ports, method=method, budget=2, design=design, rng=np.random.default_rng(0), progress=False
        )


def test_error_paths():
    chip, design = make_chip()
    ports, rng = chip.ports(), np.random.default_rng(0)
    with pytest.raises(TypeError, match="Only ports are allowed"):
        ex.extract(chip, rng=rng)
    with pytest.raises(TypeError, match="Ports protocol"):
        ex.extract("chip", rng=rng)
    with pytest.raises(ValueError, match="probes must be >= N \\+ 1 = 13"):
        ex.extract_layer_designed(ports, 0, probes=12, amplitude=1.0, design=design, rng=rng)
    with pytest.raises(ValueError, match="amplitude must be > 0"):
        ex.extract_layer_designed(ports, 0, probes=20, amplitude=-1.0, design=design, rng=rng)
    with pytest.raises(ValueError, match="budget must be a whole number"):
        ex.extract(ports, method="fd", budget=1.5, design=design, rng=rng)
    with pytest.raises(ValueError, match="budget must be >= 1"):
        ex.extract(ports, method="designed", budget=0.5, design=design, rng=rng)
    with pytest.raises(ValueError, match="method must be one of"):
        ex.extract(ports, method="magic", design=design, rng=rng)
    with pytest.raises(ValueError, match="step must be > 0"):
        ex.extract_layer_fd(ports, 0, step=0.0, design=design)
    with pytest.raises(ValueError, match="layer must be in 0..1"):
        ex.extract_layer_fd(ports, 5, design=design)
    other = ChipDesign(layer_sizes=(12, 8, 5), device=nm.IDEAL, periphery=IDEAL_PERIPHERY)
    with pytest.raises(ValueError, match="design.layer_sizes must match"):
        ex.extract(ports, design=other, rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        ex.extract(ports, design=design, rng=0)


def test_unreachable_layers():
    chip, design = make_chip(drivable=False)
    ports, rng = chip.ports(), np.random.default_rng(0)
    with pytest.raises(nm.PortAccessError, match="layer 1 is unreachable"):
        ex.extract(ports, method="fd", reach="drive", design=design, rng=rng, progress=False)
    with pytest.raises(nm.PortAccessError, match="layer 1 is unreachable"):
        ex.extract_layer_designed(ports, 1, probes=20, amplitude=1.0, design=design, rng=rng)
    # A layer whose units are never active cannot be identified through its ReLU.
    dead, dead_design = make_chip(drivable=False, seed=3)
    w = np.zeros((9, 6))
    w[-1] = -1.0
    dead.ports().program(1, w)
    with pytest.raises(ValueError, match="layer 1 is unreachable through the layers below"):
        ex.extract(dead.ports(), method="fd", design=dead_design, rng=rng, progress=False)


def test_hadamard_and_sign_design(rng):
    h = ex.hadamard(8)
    np.testing.assert_array_equal(h @ h.T, 8 * np.eye(8))
    d = ex.sign_design(20, 7, rng=rng)
    assert d.shape == (20, 7) and set(np.unique(d)) == {-1.0, 1.0}
    np.testing.assert_array_equal(d[:8].sum(axis=0), 0)  # a whole block is balanced
    with pytest.raises(ValueError, match="n must be a power of two"):
        ex.hadamard(6)


def test_bias_weight_is_the_chips_own_on_a_quantising_dac():
    # bias_input 1.0 is not on this DAC's grid (step 4/127): the chip drives 1.0079 and the
    # extractor must model that, or the bias row comes out scaled by it.
    periphery = Periphery(DacParams(bits=8, input_full_scale=4.0), TiaParams(), AdcParams(bits=None))
    chip, design = make_chip(periphery=periphery)
    assert ex.driven_bias(design) != design.bias_input
    for method, opts in (("designed", {"amplitude": 1.0}), ("fd", {})):
        res = ex.extract(
            chip.ports(),
            method=method,
            budget=1,
            design=design,
            rng=np.random.default_rng(1),
            progress=False,
            **opts,
        )
        for w_hat, w in zip(res.network.weights, chip.effective_weights(), strict=True):
            np.testing.assert_allclose(w_hat, w, atol=1e-9, rtol=0)
        x = np.random.default_rng(2).uniform(-2, 2, (7, 12))
        for a, b in zip(res.network.forward(x), chip.ports().run(x), strict=True):
            np.testing.assert_allclose(a, b, atol=1e-9)


def test_idle_bias_tile_rounding_stays_out_of_the_bias_weight():
    # Several row tiles, no read noise: probes that leave the bias tile idle read the bias
    # with the same ADC rounding error every time (up to half an LSB).  It must not leak
    # into the bias weight, which the bias tile's own dithered probes determine.
    chip, design = make_chip(
        sizes=(40, 16), device=nm.IDEAL, periphery=NOISY, adc_full_scale=8.0, scale=2.0, tile_shape=(16, 16)
    )
    w_true = chip.effective_weights()[0]
    lsb = ex.adc_lsb(design)
    w, _ = ex.extract_layer_designed(chip.ports(), 0, probes=400, design=design, rng=np.random.default_rng(3))
    bias_rms = np.sqrt(np.mean((w[-1] - w_true[-1]) ** 2))
    assert bias_rms < 0.08 * lsb, f"bias error {bias_rms / lsb:.3f} LSB"


def _wide_column_chip(seed):
    design = ChipDesign(layer_sizes=(64, 40), device=nm.RRAM_HFO2, periphery=NOISY, adc_full_scale=8.0)
    chip = Chip.fabricate(design, seed=seed)
    rng = np.random.default_rng(seed + 100)
    w = rng.normal(0.0, 0.08, (65, 40))
    w[:, :3] = rng.choice([-0.7, 0.7], size=(65, 3)) * rng.uniform(0.8, 1.0, (65, 3))
    chip.ports().program(0, np.clip(w, -1.0, 1.0))
    return chip, design


def test_two_rounds_steer_around_wide_columns():
    # Three columns ~8x wider than the rest clip at the working amplitude; the second round
    # drives their directions at an amplitude they tolerate.
    chip, design = _wide_column_chip(0)
    w_true = chip.effective_weights()[0]
    err, dropped = {}, {}
    for two in (True, False):
        e, d = [], []
        for k in range(3):
            w, rec = ex.extract_layer_designed(
                chip.ports(), 0, probes=4 * 65, design=design, rng=np.random.default_rng(k), two_rounds=two
            )
            e.append(np.mean((w[:, :3] - w_true[:, :3]) ** 2))
            d.append(rec.saturated_readings)
        err[two], dropped[two] = np.mean(e), np.mean(d)
    print(
        f"wide columns: variance one round / two rounds {err[False] / err[True]:.2f}, dropped "
        f"readings {dropped[False]:.0f} -> {dropped[True]:.0f}"
    )
    assert dropped[True] < 0.5 * dropped[False]
    assert err[True] < err[False] / 1.3


def test_column_solvers_match_direct_weighted_least_squares():
    rng = np.random.default_rng(5)
    x = np.hstack([rng.choice([-1.0, 1.0], (300, 20)), np.ones((300, 1))])
    y = x @ rng.normal(size=(21, 6)) + 0.1 * rng.normal(size=(300, 6))
    keep = np.ones((300, 6), dtype=bool)
    keep[:3, 1] = False  # a few dropped: Woodbury downdate
    keep[:150, 2] = False  # many dropped: downdated Gram solved afresh
    group = rng.integers(0, 3, 300)
    var = rng.uniform(0.5, 2.0, (3, 6))
    w = ex.lstsq_columns(x, y, keep)
    out = np.zeros((21, 6))
    ex.gls_columns(x, y, keep, group, var, np.arange(6), out)
    for j in range(6):
        k = keep[:, j]
        np.testing.assert_allclose(w[:, j], np.linalg.lstsq(x[k], y[k, j], rcond=None)[0], atol=1e-10)
        sw = 1.0 / np.sqrt(var[group[k], j])
        direct = np.linalg.lstsq(x[k] * sw[:, None], y[k, j] * sw, rcond=None)[0]
        np.testing.assert_allclose(out[:, j], direct, atol=1e-10)


# ---------------------------------------------------------------------------- package helpers
def test_drive_helpers():
    chip, design = make_chip(sizes=(40, 16), periphery=NOISY, adc_full_scale=8.0, drivable=False)
    ports = chip.ports()
    assert ex.check_layer(ports, np.int64(0)) == 0
    with pytest.raises(ValueError, match="layer must be in 0..0"):
        ex.check_layer(ports, 1)
    assert ex.drivable(ports, 0)
    ex.require_drive(ports, 0, "fd")
    lsb = ex.adc_lsb(design)
    assert ex.clip_edge(design, 2) == pytest.approx(16.0 - 0.5 * lsb)
    y = np.array([[0.0, 8.0 - 0.4 * lsb, -8.0, 8.0 - 0.6 * lsb]])
    np.testing.assert_array_equal(ex.saturated(y, design, 1), [[False, True, True, False]])
    assert not ex.saturated(y, design, 2).any()
    with pytest.raises(ValueError, match="n_tiles must be >= 1"):
        ex.saturated(y, design, 0)
    deep = make_chip(drivable=False)[0].ports()
    assert not ex.drivable(deep, 1)
    with pytest.raises(nm.PortAccessError, match="layer 1 is unreachable by 'fd'"):
        ex.require_drive(deep, 1, "fd")


def test_public_design_needs_a_datasheet():
    twin = DigitalNetwork([np.zeros((13, 8)), np.zeros((9, 6))]).ports()
    with pytest.raises(ValueError, match="design must be given when the ports publish none"):
        ex.public_design(twin)
    with pytest.raises(TypeError, match="Only ports are allowed"):
        ex.public_design(make_chip()[0])


def test_pilot_amplitudes_stay_inside_the_converters():
    chip, design = make_chip(
        sizes=(40, 16),
        device=nm.RRAM_HFO2,
        periphery=NOISY,
        adc_full_scale=8.0,
        scale=2.0,
        tile_shape=(16, 16),
    )
    x, tile_of = ex.pilot_probes(design, 0, 8, rng=np.random.default_rng(0))
    assert x.shape == (24, 40)
    np.testing.assert_array_equal(tile_of, np.repeat([0, 1, 2], 8))
    for t, (r0, r1) in enumerate(ex.row_tiles(design, 0)):
        outside = np.delete(x[tile_of == t], np.arange(r0, min(r1, 40)), axis=1)
        assert not outside.any()  # each pilot probe drives its own tile only
    y = chip.ports().drive(0, x)
    amps, safes = ex.pilot_amplitudes(
        y, design, 0, headroom=2.5, column_quantile=0.9, dither_steps=3, safe_headroom=2.0
    )
    assert amps.shape == safes.shape == (3,)
    assert np.all(safes <= amps) and np.all(safes > 0)
    assert np.all(amps <= 4.0 - 4 * ex.dac_step(design))
    with pytest.raises(ValueError, match="per_tile must be >= 1"):
        ex.pilot_probes(design, 0, 0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="same number of pilot readings"):
        ex.pilot_amplitudes(
            y[:-1], design, 0, headroom=2.5, column_quantile=0.9, dither_steps=3, safe_headroom=2.0
        )


def _plan(design, amplitude=1.0, safe=0.5, dither_steps=0):
    n_tiles = len(ex.row_tiles(design, 0))
    amps, safes = np.full(n_tiles, amplitude), np.full(n_tiles, safe)
    return ex.ProbePlan(design, 0, amps, safes, dither_steps, 0.25, 2.5)


def test_round_probes_and_fit_recover_exact_weights():
    _, design = make_chip(sizes=(40, 16), periphery=IDEAL_PERIPHERY, tile_shape=(16, 16))
    plan = _plan(design)
    assert plan.n == 40 and len(plan.tiles) == 3
    rng = np.random.default_rng(1)
    empty = np.zeros((0, 40)), np.zeros(0, np.int64)
    x, tile_of, group = ex.round_probes(
        plan, [40, 40, 30], x_pilot=empty[0], t_pilot=empty[1], n_zero=2, rng=rng
    )
    assert x.shape == (112, 40)
    np.testing.assert_array_equal(tile_of[:2], [-1, -1])
    assert set(np.unique(group)) <= {ex.GROUPS_PER_TILE * t + g for t in range(3) for g in (1, 2)} | {12}
    safe_rows = group == ex.SAFE_GROUP  # tile 0's safe share: N_t + 9 probes
    assert safe_rows.sum() == 16 + 9
    np.testing.assert_allclose(np.abs(x[safe_rows][:, :16]), 0.5)
    x_fit = ex.fit_inputs(x, tile_of, design, 3)
    assert x_fit.shape == (112, 42)
    w = np.random.default_rng(2).normal(size=(42, 5))
    y = x_fit @ w
    w_fit, keep, var_g, var_gj = ex.designed_fit(x_fit, y, tile_of, group, design, 0)
    np.testing.assert_allclose(w_fit, w, atol=1e-9)
    assert keep.all() and var_gj.shape == (var_g.size, 5)
    assert ex.residual_sigma(x_fit, y, w_fit, keep) < 1e-9
    assert ex.residual_sigma(x_fit[:42], y[:42], w_fit, keep[:42]) is None
    with pytest.raises(ValueError, match="probes must determine all 41 weights"):
        ex.round_probes(plan, [4, 4, 4], x_pilot=empty[0], t_pilot=empty[1], n_zero=2, rng=rng)
    with pytest.raises(ValueError, match="n_tiles must be >= 1"):
        ex.fit_inputs(x, tile_of, design, 0)


def test_projected_probes_keep_wide_columns_inside_full_scale():
    chip, design = _wide_column_chip(0)
    w = chip.effective_weights()[0]
    headroom, amp = 2.5, 2.0
    plan = ex.ProbePlan(design, 0, np.array([amp]), np.array([amp]), 0, 0.25, headroom)
    x, tile_of, group = ex.projected_probes(plan, [256], w, rng=np.random.default_rng(0))
    assert x.shape == (256, 64)
    np.testing.assert_array_equal(group, ex.SECOND_GROUP)
    plain = amp * ex.sign_design(256, 64, rng=np.random.default_rng(0))
    room = design.adc_full_scale - np.abs(w[-1, :3]) * ex.driven_bias(design)
    assert np.all(np.std(plain @ w[:64, :3], axis=0) > room / headroom)
    assert np.all(np.std(x @ w[:64, :3], axis=0) < 1.05 * room / headroom)
    assert np.mean(x[:, :] ** 2) > 0.9 * amp**2  # the other directions keep the working amplitude


def test_column_solver_error_paths():
    x = np.hstack([np.random.default_rng(0).normal(size=(8, 4)), np.ones((8, 1))])
    y, keep = np.ones((8, 2)), np.ones((8, 2), dtype=bool)
    keep[:4, 1] = False
    with pytest.raises(ValueError, match="column 1 keeps only 4 unsaturated readings; it needs 5"):
        ex.lstsq_columns(x, y, keep)
    with pytest.raises(ValueError, match="group must be < var_gj.shape"):
        ex.gls_columns(x, y, keep, np.full(8, 3), np.ones((2, 2)), np.arange(2), np.zeros((5, 2)))
