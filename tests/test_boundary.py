"""The port boundary holds (issue 15): the known escape routes, billing and reports, and
algorithms that check every input before their first pulse or query."""

from __future__ import annotations

import dataclasses
import gc
import pickle
import types

import numpy as np
import pytest

import neuromorph as nm
from neuromorph import datasets
from neuromorph.algorithms import distill as di
from neuromorph.algorithms import extract as ex
from neuromorph.algorithms import ff
from neuromorph.chip import Chip, ChipDesign, DigitalNetwork, remote
from neuromorph.chip.ports import PUBLIC_REPORT_FIELDS, direct_write_pulses
from neuromorph.datasets import Dataset
from neuromorph.errors import PortAccessError
from neuromorph.hardware.crossbar import Crossbar
from neuromorph.hardware.fabrication import DeviceState

SMALL = (6, 5, 4)
#: What an algorithm must never reach from its ports.
HIDDEN = (Chip, Crossbar, DeviceState)


def _reachable(root, limit=100_000):
    """Every object reachable from ``root``'s own data: ``gc.get_referents`` followed through
    instances, containers and closure cells, never into classes, modules or function
    globals (from there every module, and so anything, is reachable in any process)."""
    seen, stack, found = set(), [root], []
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type | types.ModuleType):
            continue
        seen.add(id(obj))
        found.append(obj)
        if isinstance(obj, types.FunctionType):
            stack.extend(c.cell_contents for c in obj.__closure__ or ())
            continue
        if isinstance(obj, types.MethodType):
            stack.append(obj.__self__)
            continue
        stack.extend(gc.get_referents(obj))
    return found


def _chips_alive() -> int:
    return sum(isinstance(o, Chip) for o in gc.get_objects())


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    x = rng.random((60, 4))
    y = (x[:, 0] > 0.5).astype(np.int64)
    return Dataset(x[:40], y[:40], x[40:], y[40:], n_classes=2, name="toy")


def _toy_chip(seed=0):
    chip = Chip.fabricate(ChipDesign(layer_sizes=(6, 5, 4)), seed=seed)
    ports = chip.ports()
    rng = np.random.default_rng(seed)
    for layer, w in enumerate(
        ff.initial_weights(ports.layer_sizes, config=ff.FFConfig(), rng=rng, w_max=1.0)
    ):
        ports.program(layer, w)
    return chip


# ---------------------------------------------------------------- in-process ports
def test_chip_ports_hold_no_chip_in_a_closure_or_attribute():
    ports = Chip.fabricate(ChipDesign(layer_sizes=SMALL), seed=0).ports()
    for name in dir(ports):  # the audit's escape: ports._call.__closure__[0].cell_contents
        value = getattr(ports, name)
        cells = getattr(getattr(value, "__func__", value), "__closure__", None) or ()
        assert not any(isinstance(c.cell_contents, HIDDEN) for c in cells), name
        assert not isinstance(value, HIDDEN), name
    for obj in _reachable(ports):
        assert not isinstance(obj, HIDDEN), type(obj)
        if isinstance(obj, types.FunctionType):
            assert not any(isinstance(c.cell_contents, HIDDEN) for c in obj.__closure__ or ())


def test_chip_ports_keep_their_chip_alive_and_refuse_pickling():
    ports = Chip.fabricate(ChipDesign(layer_sizes=SMALL), seed=0).ports()
    gc.collect()
    assert ports.run(np.zeros((1, 6)))[0].shape == (1, 5)  # the chip outlives the expression
    with pytest.raises(TypeError, match="ChipPorts cannot be pickled"):
        pickle.dumps(ports)


# ---------------------------------------------------------------- billing and reports
def test_direct_programming_is_billed():
    chip = Chip.fabricate(ChipDesign(layer_sizes=SMALL), seed=0)
    ports = chip.ports()
    report = ports.program(0, np.full((7, 5), 0.3), method="direct")
    m = ports.meter
    assert m.pulses == report["pulses"] == direct_write_pulses(7 * 5) == 2 * 7 * 5
    assert m.energy_pulse_j > 0 and m.chip_seconds > 0


@pytest.mark.parametrize("method", ["write_verify", "direct"])
def test_reports_hold_no_hidden_error(method):
    ports = Chip.fabricate(ChipDesign(layer_sizes=SMALL), seed=0).ports()
    report = ports.program(0, np.full((7, 5), 0.3), method=method)
    assert tuple(report) == PUBLIC_REPORT_FIELDS == ("pulses", "verify_reads")
    assert tuple(ports.refresh(0)) == PUBLIC_REPORT_FIELDS
    twin = DigitalNetwork.initialize(SMALL, rng=np.random.default_rng(0)).ports()
    assert tuple(twin.program(0, np.zeros((7, 5)))) == PUBLIC_REPORT_FIELDS
    assert tuple(twin.refresh(0)) == PUBLIC_REPORT_FIELDS


# ---------------------------------------------------------------- remote ports
@pytest.fixture(scope="module")
def served():
    """A chip fabricated inside its server: this process never holds it while it serves."""
    before = _chips_alive()
    server = remote.fabricate(ChipDesign(layer_sizes=SMALL), seed=3)
    yield server, before
    server.close()


def test_remote_ports_reach_no_chip(served):
    server, chips_before = served
    ports = server.ports
    ports.program(0, np.full((7, 5), 0.2))
    ports.run(np.zeros((2, 6)))
    assert _chips_alive() == chips_before  # no Chip in this process at all
    for obj in _reachable(ports):
        assert not isinstance(obj, HIDDEN), type(obj)
    with pytest.raises(TypeError, match="RemotePorts cannot be pickled"):
        pickle.dumps(ports)
    with pytest.raises(AttributeError, match="read-only"):
        ports._conn = None


def test_remote_ports_carry_errors_across(served):
    ports = served[0].ports
    with pytest.raises(ValueError, match=r"layer must be in 0..1; got layer=5"):
        ports.drive(5, np.zeros((1, 6)))
    with pytest.raises(ValueError, match=r"x must be finite"):
        ports.run(np.full((1, 6), np.nan))
    assert ports.layer_sizes == SMALL and ports.design.layer_sizes == SMALL


def test_remote_training_matches_in_process_bit_for_bit(toy):
    cfg = ff.FFConfig(epochs=2, batch_size=10, refresh_every=1)
    local, far = _toy_chip(), _toy_chip()
    h_local = ff.train(local.ports(), toy, cfg, rng=np.random.default_rng(5), progress=False)
    with far.serve() as ports:
        assert isinstance(ports, remote.RemotePorts)
        h_far = ff.train(ports, toy, cfg, rng=np.random.default_rng(5), progress=False)
        acc = ff.accuracy(ports, toy.x_test, toy.y_test, n_classes=2, config=cfg)
    assert h_far.loss == h_local.loss and h_far.pulses == h_local.pulses
    assert acc == ff.accuracy(local.ports(), toy.x_test, toy.y_test, n_classes=2, config=cfg)
    for a, b in zip(local.effective_weights(), far.effective_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the chip came home with its training
    assert local.meter == far.meter
    with pytest.raises(PortAccessError, match="closed"):
        ports.run(np.zeros((1, 6)))


def test_fabricated_server_hands_the_chip_over_on_close():
    server = remote.fabricate(ChipDesign(layer_sizes=SMALL), seed=4)
    with pytest.raises(RuntimeError, match="still serving"):
        server.chip  # noqa: B018
    with server as ports:
        ports.program(0, np.full((7, 5), 0.1))
    chip = server.chip
    twin = Chip.fabricate(ChipDesign(layer_sizes=SMALL), seed=4)
    twin.ports().program(0, np.full((7, 5), 0.1))
    np.testing.assert_array_equal(chip.effective_weights()[0], twin.effective_weights()[0])
    assert server.close() is chip  # closing twice is harmless


def test_serve_errors():
    with pytest.raises(TypeError, match="chip must be a Chip"):
        remote.serve(object())
    with pytest.raises(ValueError, match=r"other must be a copy of this chip \(design and seed 0\)"):
        Chip.fabricate(ChipDesign(layer_sizes=SMALL), seed=0).restore(
            Chip.fabricate(ChipDesign(layer_sizes=SMALL), seed=1)
        )
    with pytest.raises(TypeError, match="design must be a ChipDesign"):
        remote.fabricate((6, 5), seed=0)


# ---------------------------------------------------------------- datasets
def test_dataset_construction_checks_every_part():
    x, y = np.random.default_rng(0).random((10, 3)), np.arange(10) % 2
    with pytest.raises(ValueError, match=r"x_train must be finite.*row 3"):
        Dataset(np.where(np.arange(30).reshape(10, 3) == 10, np.nan, x), y, x, y, n_classes=2, name="t")
    with pytest.raises(TypeError, match=r"y_train must hold integer labels; got float64"):
        Dataset(x, y.astype(float), x, y, n_classes=2, name="t")
    with pytest.raises(ValueError, match=r"y_test must have one label per row of x_test \(10\); got 9"):
        Dataset(x, y, x, y[:9], n_classes=2, name="t")
    with pytest.raises(ValueError, match=r"n_classes must be >= 2"):
        Dataset(x, y * 0, x, y * 0, n_classes=1, name="t")
    with pytest.raises(ValueError, match=r"x_train must have at least one row"):
        Dataset(x[:0], y[:0], x, y, n_classes=2, name="t")
    with pytest.raises(ValueError, match=r"y_test must hold labels in 0..1; got 0..2"):
        Dataset(x, y, x, y + (y == 1), n_classes=2, name="t")
    with pytest.raises(TypeError, match=r"x_test must be real"):
        Dataset(x, y, x + 1j, y, n_classes=2, name="t")
    with pytest.raises(ValueError, match=r"x_test must have 3 columns \(as x_train\)"):
        Dataset(x, y, x[:, :2], y, n_classes=2, name="t")


# ---------------------------------------------------------------- FF validates first
def _spoiled(data: Dataset, row: int) -> Dataset:
    """``data`` with one NaN pixel in training row ``row``, as an in-place edit after
    construction would leave it."""
    bad = dataclasses.replace(data, x_train=data.x_train.copy())
    bad.x_train[row, 2] = np.nan
    return bad


def test_ff_nan_pixel_fails_before_any_pulse(toy):
    chip = _toy_chip()
    ports = chip.ports()
    before = ports.meter
    with pytest.raises(ValueError, match=r"x_train must be finite.*row 37"):
        ff.train(ports, _spoiled(toy, 37), ff.FFConfig(epochs=1), rng=np.random.default_rng(0))
    assert ports.meter == before
    with pytest.raises(ValueError, match=r"x_train must be finite.*row 3"):
        ff.fit_head(ports, _spoiled(toy, 3), config=ff.FFConfig())
    assert ports.meter == before


def test_ff_labels_and_classes_checked_before_any_query(toy):
    ports = _toy_chip().ports()
    before = ports.meter
    x, y = toy.x_test, toy.y_test
    with pytest.raises(TypeError, match=r"y must hold integer labels; got float64"):
        ff.accuracy(ports, x, y.astype(float), n_classes=2)
    with pytest.raises(ValueError, match=r"y must have one label per row of x \(20\); got 19"):
        ff.accuracy(ports, x, y[:19], n_classes=2)
    with pytest.raises(ValueError, match=r"y must hold labels in 0..1; got 0..7"):
        ff.accuracy(ports, x, y * 7, n_classes=2)
    with pytest.raises(ValueError, match=r"n_classes must be >= 2"):
        ff.predict(ports, x, n_classes=1)
    with pytest.raises(ValueError, match=r"x must have n_inputs - n_classes = 6 - 2 = 4 columns"):
        ff.predict(ports, x[:, :3], n_classes=2)
    with pytest.raises(TypeError, match=r"x must be real"):
        ff.predict(ports, x + 0j, n_classes=2)
    with pytest.raises(ValueError, match=r"x must have at least one row"):
        ff.predict(ports, x[:0], n_classes=2)
    assert ports.meter == before


def test_ff_needs_a_test_split_to_evaluate(toy):
    ports = _toy_chip().ports()
    no_test = dataclasses.replace(toy, x_test=toy.x_test[:0], y_test=toy.y_test[:0])
    before = ports.meter
    with pytest.raises(ValueError, match=r"x_test must have at least one row when eval_every > 0"):
        ff.train(ports, no_test, ff.FFConfig(epochs=1), rng=np.random.default_rng(0), eval_every=1)
    assert ports.meter == before


# ---------------------------------------------------------------- distil, copy in, extract
def test_distill_empty_or_complex_transfer_set_fails_before_a_query():
    ports = _toy_chip().ports()
    before = ports.meter
    with pytest.raises(ValueError, match=r"x_transfer must have at least one row; got shape \(0, 4\)"):
        di.distill(ports, np.empty((0, 4)), n_classes=2, rng=np.random.default_rng(0), progress=False)
    with pytest.raises(TypeError, match=r"x_transfer must be real"):
        di.distill(ports, np.ones((3, 4)) * 1j, n_classes=2, rng=np.random.default_rng(0), progress=False)
    with pytest.raises(ValueError, match=r"n_classes must be >= 2"):
        di.distill(ports, np.ones((3, 5)), n_classes=1, rng=np.random.default_rng(0), progress=False)
    assert ports.meter == before


def test_copy_in_checks_fine_tune_data_before_programming(toy):
    ports = _toy_chip().ports()
    net = DigitalNetwork.initialize((6, 5, 4), rng=np.random.default_rng(0), scale=0.5)
    before = ports.meter
    with pytest.raises(ValueError, match=r"x_train must be finite.*row 5"):
        di.copy_in(net, ports, fine_tune=_spoiled(toy, 5), rng=np.random.default_rng(0), progress=False)
    assert ports.meter == before


@pytest.mark.parametrize("method", ["designed", "fd"])
def test_extraction_budget_beyond_the_maximum_fails_before_a_query(method):
    ports = _toy_chip().ports()
    before = ports.meter
    with pytest.raises(ValueError, match=r"budget must be <= .* for layer 0 .*got budget=1e\+09"):
        ex.extract(ports, method=method, budget=1e9, rng=np.random.default_rng(0), progress=False)
    if method == "designed":  # the pilot's share is checked for every layer up front too
        with pytest.raises(ValueError, match=r"budget must be >= .* for layer 0 .*the pilot"):
            ex.extract(ports, method=method, budget=1, rng=np.random.default_rng(0), progress=False)
    with pytest.raises(ValueError, match=r"budget must be finite"):
        ex.extract(ports, method=method, budget=np.inf, rng=np.random.default_rng(0), progress=False)
    with pytest.raises(ValueError, match=r"probes must be <= "):
        ex.extract_layer_designed(ports, 0, probes=10**12, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"repeats must be <= "):
        ex.extract_layer_fd(ports, 0, repeats=10**12)
    with pytest.raises(ValueError, match=r"probes must be <= "):
        ex.extract_layer_run(ports, 1, probes=10**12, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"base must be real"):
        ex.extract_layer_fd(ports, 0, base=np.zeros(6) + 0j)
    assert ports.meter == before


def test_bundled_digits_pass_the_checks():
    d = datasets.load_digits(seed=0)
    assert d.x_train.dtype == np.float64 and d.y_train.dtype == np.int64
    assert nm.__version__
