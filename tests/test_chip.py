"""The chip: fabrication, ports and their meter, hidden state, files."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import neuromorph as nm
from neuromorph.chip import Chip, ChipDesign, ChipPorts
from neuromorph.chip.digital import DigitalNetwork
from neuromorph.errors import ChipFileError, LegacyFileWarning, PortAccessError

SMALL = (6, 5, 4)
DATA = Path(__file__).parent / "data"


def _design(**kw):
    return ChipDesign(layer_sizes=kw.pop("layer_sizes", SMALL), **kw)


def test_two_seeds_two_dies_same_seed_same_die():
    a, b, c = (Chip.fabricate(_design(), seed=s).crossbars[0].device_state() for s in (1, 2, 1))
    assert not np.array_equal(a.s_up, b.s_up)
    for k, v in a.arrays().items():
        np.testing.assert_array_equal(v, c.arrays()[k])


def test_ideal_chip_forward_equals_digital_network():
    # Ideal converters with a DAC range wide enough that no activity clips.
    wide = nm.Periphery(
        nm.DacParams(bits=None, input_full_scale=100.0), nm.TiaParams(), nm.AdcParams(bits=None)
    )
    design = _design(device=nm.IDEAL, periphery=wide)
    chip = Chip.fabricate(design, seed=0)
    net = DigitalNetwork.initialize(SMALL, rng=np.random.default_rng(1), scale=0.9)
    for i, w in enumerate(net.weights):
        chip.crossbars[i].program(w, method="direct")
    x = np.random.default_rng(2).uniform(0, 1, (9, 6))
    for h_chip, h_net in zip(chip.ports().run(x), net.forward(x), strict=True):
        np.testing.assert_allclose(h_chip, h_net, rtol=1e-10, atol=1e-12)


def test_ports_meter_a_known_sequence():
    design = _design(layer_sizes=(6, 5, 4), tile_shape=(4, 3))
    chip = Chip.fabricate(design, seed=0)
    ports = chip.ports()
    ports.drive(0, np.zeros((3, 6)))  # layer 0: 7 rows (6 + bias) -> 2 row tiles, 5 cols -> 2
    m = ports.meter
    assert (m.queries, m.dac_conversions, m.adc_conversions, m.array_reads) == (3, 21, 30, 12)
    # Each read: the sense window, then the 3 columns of a tile one after another through
    # their shared ADC (8-bit SAR: 9 clock cycles each).
    assert m.chip_seconds == pytest.approx(3 * (design.cost.t_read_s + 3 * 9 / design.cost.adc_clock_hz))
    assert m.chip_seconds == pytest.approx(m.seconds_settle + m.seconds_convert)
    assert m.energy_adc_j == pytest.approx(30 * design.cost.adc_fom_j_per_step * 2**8)
    assert m.energy_read_j > 0  # the bias row is driven even for zero inputs
    ports.run(np.zeros((2, 6)))  # layer 1: 6 rows -> 2 row tiles, 4 cols -> 2 col tiles
    m = ports.meter
    assert m.queries == 5 and m.dac_conversions == 21 + 14 + 12
    assert m.adc_conversions == 30 + 2 * 5 * 2 + 2 * 4 * 2
    report = ports.program(0, np.full((7, 5), 0.3))
    m2 = ports.meter
    assert m2.pulses == report["pulses"] > 0 and m2.verify_reads == report["verify_reads"]
    pulses = ports.apply_delta(1, np.full((6, 4), 0.05))
    assert ports.meter.pulses == m2.pulses + pulses
    assert ports.meter.energy_j > m2.energy_j


def test_ports_expose_no_hidden_state():
    ports = Chip.fabricate(_design(), seed=0).ports()
    assert isinstance(ports, ChipPorts)
    assert not hasattr(ports, "__dict__")
    for name in ("chip", "_chip", "crossbars", "effective_weights", "state"):
        assert not hasattr(ports, name)
    with pytest.raises(AttributeError, match="read-only"):
        ports.chip = 1


def test_taps_that_only_read():
    ports = Chip.fabricate(_design(inputs_drivable=False), seed=0).ports()
    ports.drive(0, np.zeros((1, 6)))
    with pytest.raises(PortAccessError, match="layer 1's inputs cannot be driven"):
        ports.drive(1, np.zeros((1, 5)))
    assert len(ports.run(np.zeros((1, 6)))) == 2


def test_port_errors():
    ports = Chip.fabricate(_design(), seed=0).ports()
    with pytest.raises(ValueError, match=r"layer must be in 0..1; got layer=2"):
        ports.drive(2, np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"x must have 6 columns for layer 0; got shape \(1, 7\)"):
        ports.run(np.zeros((1, 7)))
    with pytest.raises(ValueError, match="x must be finite"):
        ports.run(np.full((1, 6), np.nan))
    with pytest.raises(ValueError, match=r"delta_w must have shape \(7, 5\)"):
        ports.apply_delta(0, np.zeros((6, 5)))


def test_design_errors():
    with pytest.raises(ValueError, match="layer_sizes must list at least two widths"):
        ChipDesign(layer_sizes=(5,))
    with pytest.raises(ValueError, match=r"layer_sizes\[1\] must be >= 1"):
        ChipDesign(layer_sizes=(5, 0))
    with pytest.raises(TypeError, match="device must be a DeviceModel or a preset name"):
        ChipDesign(layer_sizes=(5, 3), device=3)  # a preset's name is accepted (tests/test_api_names.py)
    with pytest.raises(ValueError, match="adc_full_scale must be > 0"):
        ChipDesign(layer_sizes=(5, 3), adc_full_scale=-1)
    with pytest.raises(TypeError, match="design must be a ChipDesign"):
        Chip.fabricate((5, 3), seed=0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        Chip.fabricate(ChipDesign(layer_sizes=(5, 3)), seed=-1)


def test_save_load_round_trip(tmp_path):
    chip = Chip.fabricate(_design(device=nm.PCM_GST), seed=3)
    ports = chip.ports()
    ports.program(0, np.full((7, 5), -0.2))
    chip.environment.set_temperature(320.0)
    chip.environment.advance(hours=2)
    path = chip.save(tmp_path / "chip")
    assert path.endswith(".npz")
    again = Chip.load(path)
    assert again.design == chip.design
    assert again.meter == chip.meter
    assert again.environment.to_dict() == chip.environment.to_dict()
    x = np.random.default_rng(0).uniform(0, 1, (4, 6))
    for a, b in zip(chip.ports().run(x), again.ports().run(x), strict=True):
        np.testing.assert_array_equal(a, b)  # same state, same noise streams
    for c in (chip, again):  # a loaded state takes writes, from the same write streams
        c.crossbars[0].apply_delta(np.full((7, 5), 0.05))
    np.testing.assert_array_equal(chip.effective_weights()[0], again.effective_weights()[0])


def test_a_chip_saved_before_the_state_moved_behind_methods_still_loads(tmp_path):
    """tests/data/chip_v1_small.npz: saved by the code of commit 92b2b75 right after
    ``Chip.fabricate(design, seed=3)`` (state as a dict, design fields listed by hand).
    Fabrication draws did not change since, so its state is today's die of seed 3.  It is a
    version-1 file (no digest over its metadata): it loads with a LegacyFileWarning, and a
    save writes it as version 2."""
    # The PCM preset as it was when the file was saved (issue 12 changed its drift,
    # programming noise, variation and temperature paths and added endurance); a design in a
    # file keeps its own numbers, and a file without `paths` reads as parallel paths; issue 12
    # also made PCM one-sided with aihwkit's SET law: a file without `one_sided` reads as None.
    dev = nm.hardware.devices
    pcm_v1 = nm.PCM_GST.with_(
        pulse=dev.PulseParams(n_states=40, step_down_scale=20.0, nonlinearity_up=0.8, c2c_rel=0.4),
        one_sided=None,
        noise=dev.NoiseParams(program_noise_rel=0.03, read_noise_rel=0.015),
        drift=dev.DriftParams(nu_mean=0.05, nu_std=0.02, t0_s=20.0, ea_drift_ev=1.0),
        endurance=dev.EnduranceParams(),
        variation=dev.VariationParams(bounds_rel=0.05, step_rel=0.3, stuck_at_min_fraction=0.005),
        temperature=dataclasses.replace(nm.PCM_GST.temperature, paths="parallel"),
    )
    design = ChipDesign(
        layer_sizes=(6, 5, 4),
        device=pcm_v1,
        tile_shape=(4, 3),
        wires=nm.hardware.wires.WireParams(2.0, 3.0),
        # The file's converters are nominal: converter mismatch (issue 13) did not exist then
        # and became the default in issue 14; an old file keeps what it was made with.
        periphery=dataclasses.replace(nm.chip.design.DEFAULT_PERIPHERY, mismatch=None),
        # The file's cost model has the five fields of then (100 ns reads); the periphery
        # constants of issue 13 take their defaults.
        cost=nm.CostModel(t_read_s=100e-9),
    )
    with pytest.warns(LegacyFileWarning, match="metadata is not covered"):
        old = Chip.load(DATA / "chip_v1_small.npz")
    design = dataclasses.replace(design, device=pcm_v1.with_(source=old.design.device.source))  # text only
    assert old.design == design and old.seed == 3
    assert Chip.load(old.save(tmp_path / "v2.npz")).design == design  # version 2: no warning
    new = Chip.fabricate(design, seed=3)
    for xb_old, xb_new in zip(old.crossbars, new.crossbars, strict=True):
        for k, v in xb_old.device_state().arrays().items():
            np.testing.assert_array_equal(v, xb_new.device_state().arrays()[k], err_msg=k)
        # The file predates the "noise" stream (correlated read noise; white noise needs none).
        new_states = xb_new.generator_states()
        assert xb_old.generator_states() == {k: new_states[k] for k in ("write", "read")}
    x = np.random.default_rng(0).uniform(0, 1, (3, 6))
    for a, b in zip(old.ports().run(x), new.ports().run(x), strict=True):
        np.testing.assert_array_equal(a, b)


def test_design_from_dict_follows_the_dataclasses():
    design = _design(wires=nm.hardware.wires.WireParams(1.0, 2.0, sense="resistor", r_sense_ohm=5.0))
    data = json.loads(json.dumps(design.to_dict()))  # lists where tuples were, as in a file
    again = ChipDesign.from_dict(data)
    assert again == design and isinstance(again.tile_shape, tuple)
    assert isinstance(again.device.temperature, nm.hardware.devices.TemperatureParams)
    del data["wires"], data["cost"]  # a missing field takes its default
    assert ChipDesign.from_dict(data) == _design(cost=nm.CostModel())
    with pytest.raises(
        ValueError, match=r"design.device must have only DeviceModel's fields .* \['colour'\]"
    ):
        ChipDesign.from_dict(dict(data, device=dict(data["device"], colour="red")))
    with pytest.raises(ValueError, match="design must have the field 'layer_sizes'"):
        ChipDesign.from_dict({k: v for k, v in data.items() if k != "layer_sizes"})


def test_corrupt_files_fail_clearly(tmp_path):
    chip = Chip.fabricate(_design(), seed=0)
    path = chip.save(tmp_path / "chip.npz")
    with open(path, "rb") as fh:
        raw = fh.read()
    (tmp_path / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ChipFileError, match="truncated or corrupted"):
        Chip.load(tmp_path / "trunc.npz")
    # Alter one array but keep the metadata: the checksum catches it.
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["layer0_g_prog"] = arrays["layer0_g_prog"] * 1.01
    np.savez(tmp_path / "altered.npz", **arrays)
    with pytest.raises(ChipFileError, match="array 'layer0_g_prog' fails its checksum"):
        Chip.load(tmp_path / "altered.npz")
    with pytest.raises(FileNotFoundError, match="file not found"):
        Chip.load(tmp_path / "missing.npz")
    net_path = DigitalNetwork.initialize((3, 2), rng=np.random.default_rng(0)).save(tmp_path / "net.npz")
    with pytest.raises(ChipFileError, match="must be a 'neuromorph.chip' file"):
        Chip.load(net_path)
    with zipfile.ZipFile(tmp_path / "plain.npz", "w") as z:
        z.writestr("a.npy", b"junk")
    with pytest.raises(ChipFileError):
        Chip.load(tmp_path / "plain.npz")


def test_save_is_atomic_and_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    chip = Chip.fabricate(_design(), seed=0)
    path = chip.save(tmp_path / "chip.npz")
    with open(path, "rb") as fh:
        before = fh.read()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        chip.save(path)
    with open(path, "rb") as fh:
        assert fh.read() == before
    assert [p.name for p in tmp_path.iterdir()] == ["chip.npz"]


def test_digital_network_round_trip_and_errors(tmp_path):
    net = DigitalNetwork.initialize((4, 3, 2), rng=np.random.default_rng(0))
    again = DigitalNetwork.load(net.save(tmp_path / "n.npz"))
    for a, b in zip(net.weights, again.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"weights\[1\] must have 4 rows"):
        DigitalNetwork.from_weights([np.zeros((5, 3)), np.zeros((3, 2))])
    with pytest.raises(ValueError, match="x must have 4 features"):
        net.forward(np.zeros((1, 5)))


def test_a_plain_npy_is_not_a_chip(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(3))
    (tmp_path / "x.npy").rename(tmp_path / "x.npz")
    with pytest.raises(ChipFileError, match="not an .npz archive"):
        Chip.load(tmp_path / "x.npz")
