"""Global drift compensation through the ports (neuromorph.algorithms.drift)."""

from __future__ import annotations

import ast
import dataclasses
import inspect

import numpy as np
import pytest

import neuromorph as nm
from neuromorph.algorithms import drift
from neuromorph.chip import Chip, ChipDesign, DigitalNetwork, Meter
from neuromorph.hardware.presets import PCM_GST

SIZES = (30, 20, 10)
#: How close to 1 a compensated layer's output scale on data must come: one global factor
#: cannot undo the device-to-device spread of the drift exponent, which on these small
#: layers (210 pairs in layer 1) leaves up to 5 % between the reference inputs' decay and
#: the data's (measured over seeds 0-7: 0.955..1.051); the uncompensated scale is ~0.66.
#: With one-sided PCM pairs (issue 12) write-verify leaves both devices of more pairs above
#: the bottom, whose drifts partly cancel in the difference: 0.969..1.107 over seeds 0-7.
SCALE_TOLERANCE = 0.12


def _pcm_chip(seed: int, **design) -> Chip:
    """A small PCM chip with uniform random weights written by write-verify at t = 0."""
    chip = Chip.fabricate(ChipDesign(layer_sizes=SIZES, device=PCM_GST, **design), seed=seed)
    rng = np.random.default_rng(100 + seed)
    ports = chip.ports()
    for layer in range(chip.n_layers):
        ports.program(layer, rng.uniform(-1, 1, (SIZES[layer] + 1, SIZES[layer + 1])))
    return chip


def _scale(ports, x) -> list[float]:
    """Each layer's mean |output| on ``x``, layer by layer through drive."""
    out, xl = [], x
    for layer in range(ports.n_layers):
        y = ports.drive(layer, xl)
        out.append(float(np.mean(np.abs(y))))
        xl = nm.chip.digital.rms_normalize(np.maximum(y, 0.0))
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_compensation_restores_a_drifted_pcm_layers_output_scale(seed):
    chip = _pcm_chip(seed)
    ports = chip.ports()
    x = np.random.default_rng(seed).uniform(0, 1, (200, SIZES[0]))  # not the reference inputs
    before = _scale(ports, x)
    reference = drift.record_reference(ports)
    chip.environment.advance(days=1)
    aged = np.divide(_scale(ports, x), before)
    result = drift.compensate_drift(ports, reference)
    compensated = np.divide(_scale(ports, x), before)
    msg = f"seed={seed}: aged {aged}, compensated {compensated}, alphas {result.alphas}"
    assert np.all(aged < 0.8), msg  # a day of PCM drift takes a third of the output
    np.testing.assert_allclose(compensated, 1.0, atol=SCALE_TOLERANCE, err_msg=msg)
    np.testing.assert_allclose(np.multiply(aged, result.alphas), 1.0, atol=SCALE_TOLERANCE, err_msg=msg)
    again = drift.compensate_drift(ports, reference)  # compensating twice changes ~nothing
    # (read noise only: |alpha - 1| up to 0.0101 over seeds 0-7 after the PCM verify fix)
    np.testing.assert_allclose(again.alphas, 1.0, atol=0.015, err_msg=msg)


def test_reads_are_metered_and_the_correction_is_set_through_the_ports():
    chip = _pcm_chip(2)
    ports = chip.ports()
    meter0 = ports.meter
    reference = drift.record_reference(ports)
    n_queries = SIZES[0] + SIZES[1]  # one one-hot row per input of each layer
    assert reference.spent.queries == n_queries == ports.meter.minus(meter0).queries
    assert reference.spent.energy_j > 0 and reference.spent.pulses == 0
    chip.environment.advance(days=1)
    result = drift.compensate_drift(ports, reference)
    assert result.spent.queries == n_queries and result.spent.energy_j > 0
    for layer, alpha in enumerate(result.alphas):
        scale, offset = ports.output_correction(layer)
        np.testing.assert_array_equal(scale, np.full(SIZES[layer + 1], alpha))
        np.testing.assert_array_equal(offset, 0.0)
    assert np.all(np.array(result.alphas) > 1.2)


def test_compensation_composes_with_a_calibration_already_set():
    chip = _pcm_chip(3)
    ports = chip.ports()
    rng = np.random.default_rng(9)
    gain, offset = rng.uniform(0.9, 1.1, SIZES[1]), rng.normal(0, 0.05, SIZES[1])
    ports.set_output_correction(0, gain, offset)
    reference = drift.record_reference(ports, layers=[0])
    chip.environment.advance(days=1)
    result = drift.compensate_drift(ports, reference)
    assert result.layers == (0,)
    scale, kept = ports.output_correction(0)
    np.testing.assert_array_equal(kept, offset)
    np.testing.assert_array_equal(scale, gain * result.alphas[0])
    np.testing.assert_array_equal(ports.output_correction(1)[0], 1.0)  # not recorded: untouched


def test_runs_on_remote_ports_bit_for_bit_and_holds_no_chip():
    source = inspect.getsource(drift)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            assert node.module == "neuromorph.chip.ports" or not node.module.startswith("neuromorph.chip")
            assert not {a.name for a in node.names} & {"Chip", "ChipPorts"}
    local, far = _pcm_chip(4), _pcm_chip(4)
    for chip in (local, far):
        chip.environment.advance(hours=1)  # aged before serving: time is not a port operation
    ref_local = drift.record_reference(local.ports())
    res_local = drift.compensate_drift(local.ports(), ref_local)
    with far.serve() as ports:  # one server: its start-up is the slow part
        ref_far = drift.record_reference(ports)
        res_far = drift.compensate_drift(ports, ref_far)
    assert ref_far == ref_local and res_far == res_local
    np.testing.assert_array_equal(far.output_correction(1)[0], local.output_correction(1)[0])  # came home
    x = np.random.default_rng(5).uniform(0, 1, (4, SIZES[0]))
    np.testing.assert_array_equal(far.ports().run(x)[1], local.ports().run(x)[1])


def test_on_the_twin_nothing_drifts_and_nothing_changes():
    net = DigitalNetwork.initialize(SIZES, rng=np.random.default_rng(0))
    twin = net.ports()
    x = np.random.default_rng(1).uniform(0, 1, (5, SIZES[0]))
    plain = twin.run(x)
    reference = drift.record_reference(twin)
    assert reference.amplitude == drift.TWIN_REFERENCE_AMPLITUDE
    result = drift.compensate_drift(twin, reference)
    assert result.alphas == (1.0, 1.0) and result.spent == Meter()
    for a, b in zip(twin.run(x), plain, strict=True):
        np.testing.assert_array_equal(a, b)


def test_layers_that_cannot_be_driven_are_read_through_run():
    chip = _pcm_chip(5, inputs_drivable=False)
    ports = chip.ports()
    reference = drift.record_reference(ports)
    assert reference.spent.queries == 2 * SIZES[0]  # layer 1 through run on layer 0's rows
    chip.environment.advance(days=1)
    result = drift.compensate_drift(ports, reference)
    assert all(1.2 < a < 2.0 for a in result.alphas), result.alphas


def test_reference_amplitude_follows_the_datasheet():
    assert drift.reference_amplitude(Chip.fabricate(ChipDesign(layer_sizes=SIZES), seed=0).ports()) == 8.0
    small_adc = ChipDesign(layer_sizes=SIZES, adc_full_scale=4.0)
    assert drift.reference_amplitude(Chip.fabricate(small_adc, seed=0).ports()) == 2.0
    np.testing.assert_array_equal(drift.reference_inputs(3, 2.0), 2.0 * np.eye(3))


def test_errors():
    # Nominal converters: a mismatched ADC's comparator offset reads a little even from an
    # all-zero array, and this test needs a readout of exactly nothing.
    nominal = dataclasses.replace(nm.chip.design.DEFAULT_PERIPHERY, mismatch=None)
    chip = Chip.fabricate(ChipDesign(layer_sizes=SIZES, device=nm.IDEAL, periphery=nominal), seed=0)
    ports = chip.ports()
    with pytest.raises(TypeError, match="ports must be ports"):
        drift.record_reference(chip)
    with pytest.raises(ValueError, match=r"layer 0's readout must be > .* to measure drift; got 0"):
        drift.record_reference(ports)  # every weight zero: nothing to measure
    for layer in range(2):
        ports.program(layer, np.full((SIZES[layer] + 1, SIZES[layer + 1]), 0.5), method="direct")
    with pytest.raises(ValueError, match=r"layers must be in 0..1; got layer 2"):
        drift.record_reference(ports, layers=[2])
    with pytest.raises(ValueError, match=r"layers must not repeat a layer; got \[0, 0\]"):
        drift.record_reference(ports, layers=[0, 0])
    with pytest.raises(TypeError, match="layers must be a non-empty sequence"):
        drift.record_reference(ports, layers=[])
    with pytest.raises(TypeError, match=r"layers\[0\] must be an integer"):
        drift.record_reference(ports, layers=[0.5])
    reference = drift.record_reference(ports)
    with pytest.raises(TypeError, match="reference must be a DriftReference; got dict"):
        drift.compensate_drift(ports, {})
    other = DigitalNetwork.initialize((30, 20), rng=np.random.default_rng(0)).ports()
    with pytest.raises(ValueError, match=r"reference must be recorded on ports of these widths \(30, 20\)"):
        drift.compensate_drift(other, reference)
    with pytest.raises(ValueError, match="amplitude must be > 0"):
        drift.reference_inputs(3, 0.0)
    with pytest.raises(ValueError, match="n_in must be >= 1"):
        drift.reference_inputs(0, 1.0)
