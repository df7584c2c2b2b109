"""The Ports protocol, its check, and the software twin of a DigitalNetwork."""

from __future__ import annotations

import ast
import importlib
import inspect

import numpy as np
import pytest

import neuromorph as nm
from neuromorph.chip import Chip, ChipDesign, DigitalNetwork, DigitalPorts, Meter, Ports, check_ports

SMALL = (6, 5, 4)


def _net(seed=0, scale=0.9):
    return DigitalNetwork.initialize(SMALL, rng=np.random.default_rng(seed), scale=scale)


def test_chip_ports_and_the_twin_satisfy_the_protocol():
    chip_ports = Chip.fabricate(ChipDesign(layer_sizes=SMALL), seed=0).ports()
    twin = _net().ports()
    assert isinstance(twin, DigitalPorts)
    for ports in (chip_ports, twin):
        assert isinstance(ports, Ports)
        assert check_ports(ports) is ports
    protocol_names = {
        name for name in vars(Ports) if not name.startswith("_") and name not in ("copy", "as_dict")
    }
    assert protocol_names >= {"layer_sizes", "meter", "design", "drive", "run", "program", "refresh"}
    for name in protocol_names:
        assert hasattr(type(twin), name) and hasattr(type(chip_ports), name), name


def test_check_ports_refuses_what_is_not_ports_naming_the_parameter():
    chip = Chip.fabricate(ChipDesign(layer_sizes=SMALL), seed=0)
    with pytest.raises(TypeError, match=r"teacher must be ports \(chip.ports\(\).*got a Chip itself"):
        check_ports(chip, "teacher")
    with pytest.raises(TypeError, match="Only ports are allowed"):
        check_ports(chip)
    with pytest.raises(TypeError, match="ports must be ports .*got a DigitalNetwork itself"):
        check_ports(_net())
    with pytest.raises(TypeError, match="model must satisfy the Ports protocol.*got object"):
        check_ports(object(), "model")
    with pytest.raises(TypeError, match="ports must satisfy the Ports protocol.*got dict"):
        check_ports({"run": None})


def test_twin_matches_an_ideal_chip_through_the_same_ports():
    # Ideal devices and converters, a DAC range wide enough that nothing clips: the chip's
    # ports and the twin of the same weights must answer alike.
    wide = nm.Periphery(
        nm.DacParams(bits=None, input_full_scale=100.0), nm.TiaParams(), nm.AdcParams(bits=None)
    )
    chip = Chip.fabricate(ChipDesign(layer_sizes=SMALL, device=nm.IDEAL, periphery=wide), seed=0)
    net = _net(1, scale=0.5)
    chip_ports, twin = chip.ports(), net.ports(weight_range=chip.ports().weight_range)
    for i, w in enumerate(net.weights):
        chip_ports.program(i, w, method="direct")
    x = np.random.default_rng(2).uniform(0, 1, (9, 6))
    np.testing.assert_allclose(chip_ports.drive(0, x), twin.drive(0, x), rtol=1e-10, atol=1e-12)
    for a, b in zip(chip_ports.run(x), twin.run(x), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for name in ("layer_sizes", "n_layers", "bias_input", "weight_range", "inputs_drivable"):
        assert getattr(twin, name) == getattr(chip_ports, name), name


def test_twin_operations_are_exact_and_free():
    net = _net()
    twin = net.ports()
    x = np.random.default_rng(3).normal(size=(4, 5))
    np.testing.assert_array_equal(twin.drive(1, x), net.augment(x) @ net.weights[1])
    w0 = net.weights[0].copy()
    delta = np.full_like(w0, 0.25)
    assert twin.apply_delta(0, delta) == 0
    np.testing.assert_array_equal(net.weights[0], w0 + delta)  # the twin writes through
    d = np.random.default_rng(4).normal(size=(4, 4))
    w1 = net.weights[1].copy()
    assert twin.update(1, x, d, -0.1) == 0
    np.testing.assert_allclose(net.weights[1], w1 - 0.1 * net.augment(x).T @ d, rtol=1e-12)
    target = np.linspace(-2.0, 2.0, w0.size).reshape(w0.shape)
    report = twin.program(0, target, method="write_verify", tolerance=1e-6)
    np.testing.assert_array_equal(net.weights[0], target)
    assert report == {"pulses": 0, "verify_reads": 0}  # a chip's public report: nothing hidden
    before = [w.copy() for w in net.weights]
    assert twin.refresh(1, threshold=0.5) == report
    for a, b in zip(before, net.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert twin.meter == Meter() and twin.design is None
    assert twin.inputs_drivable and twin.weight_range == np.inf


def test_twin_bounded_weights_behave_like_a_chip():
    net = _net(scale=0.1)
    twin = net.ports(weight_range=0.5)
    with pytest.raises(
        ValueError, match=r"weights must lie in \[-weight_range, weight_range\] = \[-0.5, 0.5\]"
    ):
        twin.program(0, np.full((7, 5), 0.6))
    twin.apply_delta(0, np.full((7, 5), 10.0))
    np.testing.assert_array_equal(net.weights[0], np.full((7, 5), 0.5))  # saturates, as a pair does
    with pytest.raises(ValueError, match="network weights must lie in"):
        net.ports(weight_range=0.1)


def test_twin_errors():
    twin = _net().ports()
    with pytest.raises(ValueError, match=r"layer must be in 0..1; got layer=2"):
        twin.drive(2, np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"x must have 5 columns for layer 1; got shape \(1, 6\)"):
        twin.drive(1, np.zeros((1, 6)))
    with pytest.raises(ValueError, match=r"delta must have shape \(7, 5\)"):
        twin.apply_delta(0, np.zeros((6, 5)))
    with pytest.raises(ValueError, match=r"d must have shape \(2, 4\)"):
        twin.update(1, np.zeros((2, 5)), np.zeros((3, 4)), 0.1)
    with pytest.raises(TypeError, match=r"program options must be among .*got \['methd'\]"):
        twin.program(0, np.zeros((7, 5)), methd="direct")
    with pytest.raises(TypeError, match=r"refresh options must be among .*got \['bogus'\]"):
        twin.refresh(0, bogus=1)
    with pytest.raises(ValueError, match="weight_range must be > 0"):
        _net().ports(weight_range=0.0)
    with pytest.raises(TypeError, match="network must be a DigitalNetwork"):
        DigitalPorts([np.zeros((7, 5))])


@pytest.mark.parametrize("module", ["ff", "distill", "optim", "drift"])
def test_algorithms_hold_ports_never_a_chip(module):
    mod = importlib.import_module(f"neuromorph.algorithms.{module}")
    assert not hasattr(mod, "Chip") and not hasattr(mod, "ChipPorts")
    for node in ast.walk(ast.parse(inspect.getsource(mod))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("neuromorph.chip"):
            assert node.module != "neuromorph.chip.chip", node.module
            assert not {a.name for a in node.names} & {"Chip", "ChipPorts"}, node.module


# ---------------------------------------------------------------- output correction
def _pair(seed=0):
    """Two copies of one chip (same seed): one to correct, one to read as it is."""
    design = ChipDesign(layer_sizes=SMALL)
    return Chip.fabricate(design, seed=seed), Chip.fabricate(design, seed=seed)


def _correction(n_out=5, seed=7):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 2.0, n_out), rng.normal(0.0, 0.05, n_out)


def test_output_correction_defaults_to_the_identity_and_keeps_todays_bits():
    a, b = _pair()
    x = np.random.default_rng(1).uniform(0, 1, (4, 6))
    scale, offset = a.ports().output_correction(0)
    np.testing.assert_array_equal(scale, np.ones(5))
    np.testing.assert_array_equal(offset, np.zeros(5))
    a.ports().set_output_correction(0, 1.0, 0.0)  # explicit identity: same bits as never set
    np.testing.assert_array_equal(a.ports().drive(0, x), b.ports().drive(0, x))
    assert a.meter == b.meter


def test_chip_applies_the_correction_in_drive_and_run_and_bills_nothing():
    a, b = _pair()
    scale, offset = _correction()
    a.ports().set_output_correction(0, scale, offset)
    x = np.random.default_rng(1).uniform(0, 1, (4, 6))
    y = b.ports().drive(0, x)
    np.testing.assert_array_equal(a.ports().drive(0, x), (y - offset) * scale)
    assert a.meter == b.meter  # the digital multiply-add is not billed
    h = a.ports().run(x)
    np.testing.assert_array_equal(h[0], np.maximum((b.ports().drive(0, x) - offset) * scale, 0.0))
    got_scale, got_offset = a.ports().output_correction(0)
    np.testing.assert_array_equal(got_scale, scale)
    np.testing.assert_array_equal(got_offset, offset)
    got_scale[:] = 9.0  # a copy: the chip's registers do not change
    np.testing.assert_array_equal(a.ports().output_correction(0)[0], scale)
    a.ports().set_output_correction(1, 2.0, 0.5)  # scalars broadcast to every column
    np.testing.assert_array_equal(a.ports().output_correction(1)[0], np.full(4, 2.0))


def test_output_correction_is_saved_and_reloaded_bit_for_bit(tmp_path):
    a, _ = _pair()
    scale, offset = _correction()
    a.set_output_correction(0, scale, offset)
    plain = Chip.load(_pair()[1].save(tmp_path / "plain.npz"))  # no correction: no arrays
    np.testing.assert_array_equal(plain.output_correction(0)[0], np.ones(5))
    back = Chip.load(a.save(tmp_path / "chip.npz"))
    for i in range(a.n_layers):
        for got, want in zip(back.output_correction(i), a.output_correction(i), strict=True):
            assert got.tobytes() == want.tobytes()
    x = np.random.default_rng(2).uniform(0, 1, (3, 6))
    np.testing.assert_array_equal(back.ports().drive(0, x), a.ports().drive(0, x))


def test_a_file_with_a_broken_correction_does_not_load(tmp_path):
    from neuromorph import _io

    a, _ = _pair()
    a.set_output_correction(0, 2.0, 0.0)
    meta, arrays = _io.load(a.save(tmp_path / "c.npz"), kind="neuromorph.chip", version=2)
    for name, change in (
        ("half", lambda d: d.pop("correction0_offset")),
        ("zero", lambda d: d.update(correction0_scale=np.zeros(5))),
    ):
        bad = dict(arrays)
        change(bad)
        path = _io.save(tmp_path / f"{name}.npz", kind="neuromorph.chip", version=2, meta=meta, arrays=bad)
        with pytest.raises(nm.ChipFileError, match="inconsistent chip metadata.*correction0|scale must"):
            Chip.load(path)


def test_twin_applies_the_correction_like_a_chip():
    net = _net()
    twin = net.ports()
    scale, offset = _correction(4)
    x = np.random.default_rng(3).normal(size=(4, 6))
    plain = twin.run(x)
    twin.set_output_correction(1, scale, offset)
    h = twin.run(x)
    np.testing.assert_array_equal(h[0], plain[0])
    np.testing.assert_array_equal(h[1], np.maximum((net.layer(1, _rms(plain[0])) - offset) * scale, 0))
    xh = np.random.default_rng(4).normal(size=(2, 5))
    np.testing.assert_array_equal(twin.drive(1, xh), (net.layer(1, xh) - offset) * scale)
    np.testing.assert_array_equal(twin.output_correction(1)[1], offset)
    np.testing.assert_array_equal(net.ports().run(x)[1], plain[1])  # new ports: identity


def _rms(h):
    from neuromorph.chip.digital import rms_normalize

    return rms_normalize(h)


def test_twin_and_ideal_chip_agree_with_a_correction():
    wide = nm.Periphery(
        nm.DacParams(bits=None, input_full_scale=100.0), nm.TiaParams(), nm.AdcParams(bits=None)
    )
    chip = Chip.fabricate(ChipDesign(layer_sizes=SMALL, device=nm.IDEAL, periphery=wide), seed=0)
    net = _net(1, scale=0.5)
    chip_ports, twin = chip.ports(), net.ports()
    for i, w in enumerate(net.weights):
        chip_ports.program(i, w, method="direct")
    for ports in (chip_ports, twin):
        ports.set_output_correction(0, *_correction())
    x = np.random.default_rng(2).uniform(0, 1, (9, 6))
    for a, b in zip(chip_ports.run(x), twin.run(x), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_remote_correction_matches_in_process_and_comes_home():
    from neuromorph.chip import remote

    a, b = _pair(seed=5)
    scale, offset = _correction()
    x = np.random.default_rng(6).uniform(0, 1, (3, 6))
    b.ports().set_output_correction(0, scale, offset)
    with a.serve() as ports:
        ports.set_output_correction(0, scale, offset)
        assert isinstance(ports, remote.RemotePorts)
        np.testing.assert_array_equal(ports.drive(0, x), b.ports().drive(0, x))
        np.testing.assert_array_equal(ports.output_correction(0)[0], scale)
        with pytest.raises(ValueError, match="scale must be nonzero"):
            ports.set_output_correction(0, 0.0, 0.0)
    np.testing.assert_array_equal(a.output_correction(0)[1], offset)  # Chip.restore kept it
    np.testing.assert_array_equal(a.ports().run(x)[0], b.ports().run(x)[0])


@pytest.mark.parametrize("make", ["chip", "twin"])
def test_output_correction_errors(make):
    ports = (
        Chip.fabricate(ChipDesign(layer_sizes=SMALL), seed=0).ports() if make == "chip" else _net().ports()
    )
    with pytest.raises(ValueError, match=r"scale must be nonzero in every column; got scale=0 at column 2"):
        ports.set_output_correction(0, [1, 1, 0, 1, 1], 0.0)
    with pytest.raises(ValueError, match=r"offset must be a scalar or have shape \(5,\); got shape \(4,\)"):
        ports.set_output_correction(0, 1.0, np.zeros(4))
    with pytest.raises(ValueError, match=r"scale must have 1 dimension\(s\); got shape \(1, 5\)"):
        ports.set_output_correction(0, np.ones((1, 5)), 0.0)
    with pytest.raises(ValueError, match=r"offset must be finite"):
        ports.set_output_correction(0, 1.0, np.inf)
    with pytest.raises(ValueError, match=r"scale must be finite"):
        ports.set_output_correction(0, np.nan, 0.0)
    with pytest.raises(TypeError, match=r"scale must be an array of numbers"):
        ports.set_output_correction(0, "big", 0.0)
    with pytest.raises(ValueError, match=r"layer must be in 0..1; got layer=2"):
        ports.set_output_correction(2, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"layer must be in 0..1; got layer=-1"):
        ports.output_correction(-1)
    np.testing.assert_array_equal(ports.output_correction(0)[0], np.ones(5))  # nothing was set
