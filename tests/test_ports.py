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


@pytest.mark.parametrize("module", ["ff", "distill", "optim"])
def test_algorithms_hold_ports_never_a_chip(module):
    mod = importlib.import_module(f"neuromorph.algorithms.{module}")
    assert not hasattr(mod, "Chip") and not hasattr(mod, "ChipPorts")
    for node in ast.walk(ast.parse(inspect.getsource(mod))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("neuromorph.chip"):
            assert node.module != "neuromorph.chip.chip", node.module
            assert not {a.name for a in node.names} & {"Chip", "ChipPorts"}, node.module
