"""One naming scheme in the public API: seeds and generators, presets, top-level names, SPICE."""

from __future__ import annotations

import pydoc

import numpy as np
import pytest

import neuromorph as nm
from neuromorph.chip.export import estimate_ngspice_seconds, export_spice, ngspice_nodes
from neuromorph.hardware import spice
from neuromorph.hardware.wires import WireParams

# ------------------------------------------------------------------ seed or rng


def _design(**kw):
    return nm.ChipDesign(layer_sizes=(6, 5, 3), tile_shape=(4, 3), **kw)


def test_chip_seed_and_rng_make_the_same_die_bit_for_bit():
    a = nm.Chip.fabricate(_design(), seed=7)
    b = nm.Chip.fabricate(_design(), rng=np.random.default_rng(7))
    for xa, xb in zip(a.crossbars, b.crossbars, strict=True):
        np.testing.assert_array_equal(xa.effective_weights(), xb.effective_weights())
        np.testing.assert_array_equal(xa.tile_conductances((0, 0)), xb.tile_conductances((0, 0)))
    assert a.seed == 7 and b.seed is None
    other = nm.Chip.fabricate(_design(), seed=8)
    assert not np.array_equal(a.crossbars[0].tile_conductances(), other.crossbars[0].tile_conductances())


def test_crossbar_seed_and_rng_make_the_same_crossbar_and_the_same_reads():
    a = nm.Crossbar.fabricate(5, 4, seed=3, device=nm.RRAM_HFO2)
    b = nm.Crossbar.fabricate(5, 4, rng=np.random.default_rng(3), device=nm.RRAM_HFO2)
    a.program(np.full((5, 4), 0.3))
    b.program(np.full((5, 4), 0.3))
    x = np.linspace(-1, 1, 10).reshape(2, 5)
    np.testing.assert_array_equal(a.read(x), b.read(x))


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: nm.Chip.fabricate(_design(), **kw),
        lambda **kw: nm.Crossbar.fabricate(3, 2, **kw),
    ],
    ids=["Chip", "Crossbar"],
)
def test_seed_and_rng_exactly_one(make):
    with pytest.raises(TypeError, match="seed or rng must be given"):
        make()
    with pytest.raises(TypeError, match="seed and rng must not both be given"):
        make(seed=1, rng=np.random.default_rng(1))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        make(rng=1)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        make(seed=-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        make(seed=1.5)


# ------------------------------------------------------------------ presets


@pytest.mark.parametrize(
    "constant, short", [("RRAM_HFO2", "rram"), ("PCM_GST", "pcm"), ("IDEAL", "ideal"),
                        ("RRAM_HFO2_ARRAY", "rram_array"), ("RRAM_OM_ARRAY", "rram_om_array")]
)  # fmt: skip
def test_a_preset_has_one_object_under_every_name(constant, short):
    model = getattr(nm, constant)
    assert nm.PRESETS[short] is model
    for name in (short, short.upper(), constant, constant.lower()):
        assert nm.preset(name) is model, name
        assert nm.ChipDesign(layer_sizes=(2, 1), device=name).device is model, name
    assert nm.ChipDesign(layer_sizes=(2, 1), device=name) == nm.ChipDesign(layer_sizes=(2, 1), device=model)


def test_chip_design_device_names_round_trip_and_fail_clearly():
    design = nm.ChipDesign(layer_sizes=(3, 2), device="pcm")
    assert nm.ChipDesign.from_dict(design.to_dict()) == design
    from_name = nm.ChipDesign.from_dict({"layer_sizes": [3, 2], "device": "PCM_GST"})
    assert from_name.device is nm.PCM_GST
    assert nm.ChipDesign(layer_sizes=(3, 2)).device is nm.RRAM_HFO2
    with pytest.raises(ValueError, match="preset must be one of .* got 'flash'"):
        nm.ChipDesign(layer_sizes=(3, 2), device="flash")
    with pytest.raises(TypeError, match="device must be a DeviceModel or a preset name; got int"):
        nm.ChipDesign(layer_sizes=(3, 2), device=3)


def test_help_of_chip_design_is_short():
    import inspect

    signature = str(inspect.signature(nm.ChipDesign))
    assert "device: 'dev.DeviceModel | str' = 'rram'" in signature
    assert len(signature) < 600, signature
    text = pydoc.render_doc(nm.ChipDesign, renderer=pydoc.plaintext)
    assert "Gong et al" not in text  # the RRAM preset's source text
    assert len(text) < 12000


def test_top_level_names():
    from neuromorph.chip.export import export_spice as export
    from neuromorph.hardware import wires

    assert nm.WireParams is wires.WireParams and nm.export_spice is export
    for name in ("WireParams", "export_spice", "RRAM_HFO2_ARRAY", "RRAM_OM_ARRAY"):
        assert name in nm.__all__


# ------------------------------------------------------------------ export_spice


@pytest.fixture(scope="module")
def chip():
    chip = nm.Chip.fabricate(_design(), seed=0)
    rng = np.random.default_rng(1)
    for xbar in chip.crossbars:
        xbar.program(rng.uniform(-0.5, 0.5, xbar.shape))
    return chip


def test_export_spice_of_a_whole_tile_is_export_crossbar(chip):
    xbar = chip.crossbars[1]
    x = np.random.default_rng(5).uniform(0, xbar.periphery.dac.input_full_scale, xbar.n_in)
    want = spice.export_crossbar(xbar, x, tile=(1, 0), name="layer1")
    got = export_spice(chip, 1, tile=(1, 0), seed=5)
    assert got.netlist == want.netlist
    np.testing.assert_array_equal(got.expected_currents, want.expected_currents)
    # the layer's inputs without the bias row: the design's bias input is appended
    no_bias = export_spice(chip, 1, x[:-1], tile=(1, 0))
    np.testing.assert_array_equal(no_bias.voltages, xbar.periphery.dac.convert(np.append(x[:-1], 1.0))[4:])


def test_export_spice_window_with_wires_agrees_with_ngspice(chip):
    wires = WireParams(r_row_ohm=2.5, r_col_ohm=2.5)
    export = export_spice(chip, 0, window=(3, 2), wires=wires, rng=np.random.default_rng(2))
    assert export.voltages.shape == (3,) and export.expected_currents.shape == (4,)
    g = chip.crossbars[0].tile_conductances((0, 0))[:3, :4]
    # with wires the expected currents are the wired solution, not Ohm's law
    assert not np.allclose(export.expected_currents, export.voltages @ g, rtol=1e-9, atol=0)
    got = spice.run_ngspice(export.netlist)
    rel = np.max(np.abs(got - export.expected_currents)) / np.max(np.abs(export.expected_currents))
    assert rel < 1e-9
    # a window larger than the tile is clipped to it
    assert export_spice(chip, 0, window=(99, 99), seed=0).expected_currents.shape == (6,)


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        (dict(layer=2, seed=0), ValueError, "layer must be <= 1"),
        (dict(layer=0), TypeError, "seed or rng must be given"),
        (dict(layer=0, x=np.zeros(7), seed=1), TypeError, "seed and rng must be None when x is given"),
        (dict(layer=0, x=np.zeros(5)), ValueError, "x must have shape"),
        (dict(layer=0, seed=0, window=(0, 2)), ValueError, r"window\[0\] must be >= 1"),
        (dict(layer=0, seed=0, window=3), TypeError, "window must be a pair"),
        (dict(layer=0, seed=0, wires=2.0), TypeError, "wires must be a WireParams or None"),
    ],
)
def test_export_spice_errors(chip, kwargs, exc, message):
    with pytest.raises(exc, match=message):
        export_spice(chip, **kwargs)
    with pytest.raises(TypeError, match="chip must be a Chip"):
        export_spice(chip.crossbars[0], 0, seed=0)


def test_ngspice_nodes_and_the_time_estimate():
    g = np.full((3, 2), 1e-5)
    wired = spice.write_netlist(g, [0.1, 0.2, 0.3], WireParams(1.0, 1.0))
    # a row node and a column node per cell (drivers and sense of 0 ohm merge into them)
    assert ngspice_nodes(wired) == 2 * 3 * 2
    plain = spice.write_netlist(g, [0.1, 0.2, 0.3], None, sense="tia")
    assert ngspice_nodes(plain) == 3 + 2 + 2  # rows, column inputs and TIA outputs
    small = estimate_ngspice_seconds(wired)
    big = estimate_ngspice_seconds(
        spice.write_netlist(np.full((64, 64), 1e-5), np.ones(64), WireParams(1, 1))
    )
    assert 0 < small < 1 < big < 10
    with pytest.raises(TypeError, match="netlist must be a string"):
        ngspice_nodes(3)
