"""The mortal chip: layers of crossbar tiles, ADC taps, an environment and a meter (layer 2).

A :class:`ChipDesign` (layer widths, device, periphery, array size) is fabricated with a seed
into a :class:`Chip`.  Layer ``l`` is one :class:`~neuromorph.hardware.crossbar.Crossbar` of shape
``(n_l + 1, n_{l+1})`` (the last row is the bias, driven at a constant input); its column
outputs are digitised by the layer's ADC **tap**; digital periphery then applies ReLU and RMS
length normalisation and feeds the next layer's DAC (see :mod:`neuromorph.chip.digital`).

Algorithms reach a chip only through :meth:`Chip.ports`: a :class:`ChipPorts` object whose
methods drive DACs, read taps and send programming pulses, every call **metered**
(:class:`Meter`).  The hidden state (conductances, effective weights) is reachable from the
chip for scorers and tests, not from the ports.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from numpy.typing import NDArray

from neuromorph import _io
from neuromorph import _validate as check
from neuromorph.chip.design import ChipDesign
from neuromorph.chip.digital import DigitalNetwork, propagate
from neuromorph.chip.ports import ChipPorts, Meter
from neuromorph.errors import ChipFileError
from neuromorph.hardware.crossbar import Crossbar
from neuromorph.hardware.environment import Environment
from neuromorph.hardware.fabrication import DeviceState

_KIND, _VERSION = "neuromorph.chip", 1


class Chip:
    """A fabricated chip.  Build with :meth:`fabricate`; reach it with :meth:`ports`."""

    def __init__(
        self,
        *,
        design: ChipDesign,
        crossbars: list[Crossbar],
        environment: Environment,
        meter: Meter,
        seed: int | None,
    ) -> None:
        self.design = design
        self.crossbars = crossbars
        self.environment = environment
        self.meter = meter
        self.seed = seed

    @classmethod
    def fabricate(cls, design: ChipDesign, *, seed: int, environment: Environment | None = None) -> Chip:
        """Fabricate ``design``: every layer samples its device variation from ``seed``."""
        if not isinstance(design, ChipDesign):
            raise TypeError(f"design must be a ChipDesign; got {type(design).__name__}.")
        seed = check.integer("seed", seed, minimum=0)
        environment = Environment() if environment is None else environment
        sizes = design.layer_sizes
        rngs = np.random.default_rng(seed).spawn(len(sizes) - 1)
        crossbars = [
            Crossbar.fabricate(
                sizes[i] + 1,
                sizes[i + 1],
                rng=rngs[i],
                device=design.device,
                periphery=design.periphery,
                w_max=design.w_max,
                tile_shape=design.tile_shape,
                output_full_scale=design.adc_full_scale,
                environment=environment,
                wires=design.wires,
            )
            for i in range(len(sizes) - 1)
        ]
        return cls(design=design, crossbars=crossbars, environment=environment, meter=Meter(), seed=seed)

    @property
    def n_layers(self) -> int:
        return len(self.crossbars)

    def ports(self) -> ChipPorts:
        """The only object algorithms that claim to run on hardware may hold."""
        return ChipPorts(self)

    # -------------------------------------------------------------- hidden (scorers only)
    def effective_weights(self) -> list[NDArray]:
        """Each layer's effective weights now (bias row last).  Hidden: scorers and tests."""
        return [xb.effective_weights() for xb in self.crossbars]

    def effective_network(self) -> DigitalNetwork:
        """The digital network with the chip's effective weights now.  Hidden state.

        Its forward is the chip's without the periphery: no DAC clipping/quantisation, no
        per-tile ADC saturation/quantisation, no read noise.  On a trained 74-500-500 digits
        chip it agreed with the chip's predictions on about 97 % of test inputs, mostly
        because of tap saturation; :class:`neuromorph.algorithms.extract.PeripheryNetwork` emulates the
        public periphery too.
        """
        return DigitalNetwork(self.effective_weights(), bias_input=self.design.bias_input)

    # -------------------------------------------------------------- metered physics
    def read_layer(self, index: int, x: NDArray) -> NDArray:
        """Read layer ``index`` for inputs ``x`` (batch, n_in), billing the meter.

        Counts DAC and ADC conversions, tile reads, chip time and energy (converters by the
        cost model's figures of merit, the array by the read's own dissipation).  Inputs are
        not checked here: :class:`~neuromorph.chip.ports.ChipPorts` checks them first.
        """
        xb = self.crossbars[index]
        xa = np.hstack([x, np.full((x.shape[0], 1), self.design.bias_input)])
        m, cost, p = self.meter, self.design.cost, self.design.periphery
        y, energy_read_j = xb.read_metered(xa, t_read_s=cost.t_read_s)
        batch = x.shape[0]
        row_tiles, col_tiles = xb.n_tiles
        m.dac_conversions += batch * xb.n_in
        m.adc_conversions += batch * xb.n_out * row_tiles
        m.array_reads += batch * row_tiles * col_tiles
        m.chip_seconds += batch * cost.t_read_s
        m.energy_dac_j += batch * xb.n_in * cost.dac_fom_j_per_step * 2 ** (p.dac.bits or 16)
        m.energy_adc_j += batch * xb.n_out * row_tiles * cost.adc_fom_j_per_step * 2 ** (p.adc.bits or 16)
        m.energy_read_j += energy_read_j
        return y

    def bill_programming(self, pulses: int, verify_reads: int = 0) -> None:
        """Add ``pulses`` programming pulses and ``verify_reads`` verify reads to the meter.

        Each pulse costs ``pulse_v**2 g_mid t_pulse`` and each verify read ``v_read**2 g_mid
        t_read`` (``g_mid`` the middle of the device window), plus their time.
        """
        m, cost = self.meter, self.design.cost
        c = self.design.device.conductance
        g_mid = 0.5 * (c.g_min_s + c.g_max_s)
        m.pulses += pulses
        m.verify_reads += verify_reads
        m.energy_pulse_j += pulses * cost.pulse_v**2 * g_mid * cost.t_pulse_s
        m.energy_read_j += verify_reads * self.design.periphery.dac.v_max_v**2 * g_mid * cost.t_read_s
        m.chip_seconds += pulses * cost.t_pulse_s + verify_reads * cost.t_read_s

    def forward(self, x: NDArray) -> list[NDArray]:
        """Activities of every layer for inputs ``x`` (batch, n_inputs), metered."""
        return propagate(self.read_layer, x, self.n_layers)

    # -------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> str:
        """Save hidden state, design, environment and meter atomically (``.npz`` + JSON).

        Layer ``i``'s device arrays are stored as ``layer{i}_{name}`` for every field of
        :class:`~neuromorph.hardware.fabrication.DeviceState`.
        """
        arrays = {}
        for i, xb in enumerate(self.crossbars):
            for name, a in xb.device_state().arrays().items():
                arrays[f"layer{i}_{name}"] = a
        meta = {
            "design": self.design.to_dict(),
            "environment": self.environment.to_dict(),
            "meter": dataclasses.asdict(self.meter),
            "seed": self.seed,
            "rng_states": [xb.generator_states() for xb in self.crossbars],
            "output_full_scale": [xb.output_full_scale for xb in self.crossbars],
        }
        return _io.save(path, kind=_KIND, version=_VERSION, meta=meta, arrays=arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Chip:
        """Load a chip saved by :meth:`save`; a truncated or altered file raises ChipFileError."""
        meta, arrays = _io.load(path, kind=_KIND, version=_VERSION)
        try:
            design = ChipDesign.from_dict(meta["design"])
            env = Environment.from_dict(meta["environment"])
            meter = Meter(**meta["meter"])
            sizes = design.layer_sizes
            crossbars = [
                Crossbar(
                    device=design.device,
                    periphery=design.periphery,
                    state=_layer_state(arrays, i, n_pairs=(sizes[i] + 1) * sizes[i + 1]),
                    shape=(sizes[i] + 1, sizes[i + 1]),
                    w_max=design.w_max,
                    tile_shape=design.tile_shape,
                    output_full_scale=meta["output_full_scale"][i],
                    environment=env,
                    rngs={name: _generator(st) for name, st in meta["rng_states"][i].items()},
                    wires=design.wires,
                )
                for i in range(len(sizes) - 1)
            ]
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ChipFileError(f"{os.fspath(path)!r} has inconsistent chip metadata: {exc}") from exc
        return cls(design=design, crossbars=crossbars, environment=env, meter=meter, seed=meta.get("seed"))

    def __repr__(self) -> str:
        return (
            f"Chip(layer_sizes={self.design.layer_sizes}, device={self.design.device.name!r}, "
            f"seed={self.seed}, {self.environment!r})"
        )


def _layer_state(arrays: dict[str, NDArray], layer: int, *, n_pairs: int) -> DeviceState:
    """Layer ``layer``'s device state from a file's arrays; ValueError if it is malformed."""
    state = DeviceState.from_arrays({name: arrays[f"layer{layer}_{name}"] for name in DeviceState.names()})
    if state.n_pairs != n_pairs:
        raise ValueError(f"layer{layer} arrays must have shape (2, {n_pairs}); got {state.g_prog.shape}.")
    return state


def _generator(state: dict) -> np.random.Generator:
    """A Generator restored to a saved bit-generator ``state`` (PCG64, numpy's default)."""
    g = np.random.Generator(np.random.PCG64())
    g.bit_generator.state = state
    return g
