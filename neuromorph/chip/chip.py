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
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from neuromorph import _io
from neuromorph import _validate as check
from neuromorph._rng import generator_from
from neuromorph.chip import metering
from neuromorph.chip.design import ChipDesign
from neuromorph.chip.digital import DigitalNetwork, propagate
from neuromorph.chip.ports import ChipPorts, Meter, apply_output_correction, check_output_correction
from neuromorph.errors import ChipFileError
from neuromorph.hardware import reading
from neuromorph.hardware.converters import ConverterState
from neuromorph.hardware.crossbar import Crossbar
from neuromorph.hardware.energy import conversion_energy_j, sar_conversion_time_s
from neuromorph.hardware.environment import Environment
from neuromorph.hardware.fabrication import DeviceState

if TYPE_CHECKING:
    from neuromorph.chip.remote import ChipServer

#: Format version 2 added one digest over the metadata and every array; version 1 files
#: (metadata not covered) still load, with a warning.
_KIND, _VERSION, _LEGACY_VERSIONS = "neuromorph.chip", 2, (1,)
#: The random streams every saved crossbar has, by name, in ``rng_states``.
_STREAMS = ("write", "read")


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
        output_corrections: list[tuple[NDArray, NDArray] | None] | None = None,
    ) -> None:
        self.design = design
        self.crossbars = crossbars
        self.environment = environment
        self.meter = meter
        self.seed = seed
        # Per layer: (scale, offset) of the digital output correction, or None (identity).
        self._corrections = list(output_corrections or [None] * len(crossbars))

    @classmethod
    def fabricate(
        cls,
        design: ChipDesign,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        environment: Environment | None = None,
    ) -> Chip:
        """Fabricate ``design``: every layer samples its device variation from ``seed`` or ``rng``.

        Exactly one of ``seed`` (an int >= 0, kept as :attr:`seed` and in the chip file) and
        ``rng`` (a :class:`numpy.random.Generator`; :attr:`seed` is then None) must be given
        (:func:`neuromorph._rng.generator_from`); ``seed=s`` and
        ``rng=numpy.random.default_rng(s)`` make the same die, bit for bit.
        """
        if not isinstance(design, ChipDesign):
            raise TypeError(f"design must be a ChipDesign; got {type(design).__name__}.")
        seed = None if seed is None else check.integer("seed", seed, minimum=0)
        environment = Environment() if environment is None else environment
        sizes = design.layer_sizes
        rngs = generator_from(seed=seed, rng=rng).spawn(len(sizes) - 1)
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

    def serve(self) -> ChipServer:
        """Serve this chip in another process: ``with chip.serve() as ports: ...``.

        The ports hold only a connection (:mod:`neuromorph.chip.remote` says what that
        guarantees); at the end of the block this chip takes the served state back.
        """
        from neuromorph.chip.remote import serve  # remote imports this module

        return serve(self)

    def restore(self, other: Chip) -> None:
        """Take ``other``'s crossbars, environment, meter and output corrections: a chip
        coming home from a server.

        ``other`` must be this chip's copy (same design and seed); ValueError otherwise.
        """
        if not isinstance(other, Chip) or other.design != self.design or other.seed != self.seed:
            raise ValueError(
                f"other must be a copy of this chip (design and seed {self.seed}); got {other!r}."
            )
        self.crossbars, self.environment, self.meter = other.crossbars, other.environment, other.meter
        self._corrections = list(other._corrections)

    # -------------------------------------------------------------- digital periphery
    def set_output_correction(self, layer: int, scale, offset) -> None:
        """Set layer ``layer``'s per-column output correction ``y_out = (y - offset) * scale``.

        Chip state (saved, restored); every later read of the layer applies it.  ``layer``
        is trusted (the ports check it); ``scale``/``offset`` are checked by
        :func:`~neuromorph.chip.ports.check_output_correction`.  An identity correction is
        stored as none, so reads keep today's bits exactly.
        """
        scale, offset = check_output_correction(self.crossbars[layer].n_out, scale, offset)
        identity = bool(np.all(scale == 1.0) and np.all(offset == 0.0))
        self._corrections[layer] = None if identity else (scale, offset)

    def output_correction(self, layer: int) -> tuple[NDArray, NDArray]:
        """Copies of layer ``layer``'s ``(scale, offset)``, each (n_out,) (ones and zeros if none)."""
        c = self._corrections[layer]
        if c is None:
            n_out = self.crossbars[layer].n_out
            return np.ones(n_out), np.zeros(n_out)
        return c[0].copy(), c[1].copy()

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

        Counts DAC and ADC conversions, tile reads, chip time and energy by component
        (:func:`neuromorph.chip.metering.bill_read`: converters at their real resolution,
        TIAs, line charging, ADC multiplexers, and the array's own dissipation over the
        tile's sense window).  Inputs are not checked here:
        :class:`~neuromorph.chip.ports.ChipPorts` checks them first.
        """
        xb = self.crossbars[index]
        xa = np.hstack([x, np.full((x.shape[0], 1), self.design.bias_input)])
        rows, cols = metering.tile_size(self.design, xb.n_in, xb.n_out)
        settle_s = metering.sense_window_s(
            self.design, rows, cols, temperature_k=self.environment.temperature_k
        )
        y, energy_read_j = xb.read_metered(xa, t_read_s=settle_s)
        v = self.design.periphery.dac.convert(xa)
        metering.bill_read(self.meter, self.design, xb, v, settle_s=settle_s, energy_array_j=energy_read_j)
        return apply_output_correction(y, self._corrections[index])

    def bill_programming(self, pulses: int, verify_reads: int = 0) -> None:
        """Add ``pulses`` programming pulses and ``verify_reads`` verify reads to the meter.

        Each pulse costs ``pulse_v**2 g_mid t_pulse`` (``g_mid`` the middle of the device
        window); each verify read one device read through the periphery (DAC, TIA, mux and
        ADC conversion, row line, ``v_read**2 g_mid`` over the sense window), plus their
        time (:func:`neuromorph.chip.metering.bill_programming`).
        """
        settle_s = metering.verify_window_s(self.design, temperature_k=self.environment.temperature_k)
        metering.bill_programming(self.meter, self.design, pulses, verify_reads, settle_s=settle_s)

    def read_reference(self, index: int, levels: NDArray) -> NDArray:
        """Drive reference ``levels`` (batch, n_out; output units) into layer ``index``'s ADCs.

        The test mux of every column feeds each row tile's ADC the voltage an ideal chain
        would turn into ``levels / n_row_tiles``; the ADCs convert it (with their own gain,
        offset and nonlinearity on a die with converter mismatch), the partial outputs add as
        in a read, and the output correction applies.  A nominal chip returns ``levels``
        quantised.  The reference source is modelled exact.  Billed: one ADC conversion and
        mux selection per column and row tile, one reference DAC conversion per column, and
        per level vector a sample window (``t_read_s``) plus the ADCs' conversions (no array
        read, no query).  ``levels`` are trusted (the ports check them).
        """
        xb = self.crossbars[index]
        n_rt = xb.n_tiles[0]
        per_volt = reading.output_per_volt(
            self.design.periphery.dac, gain_ohm=xb.tia_gain_ohm, g_unit=xb.g_unit
        )
        volts = xb.convert_at_adcs(levels / (n_rt * per_volt))
        _bill_reference(
            self.meter, self.design, batch=levels.shape[0], n_adcs=n_rt * xb.n_out, n_out=xb.n_out
        )
        return apply_output_correction(per_volt * volts.sum(axis=1), self._corrections[index])

    def forward(self, x: NDArray) -> list[NDArray]:
        """Activities of every layer for inputs ``x`` (batch, n_inputs), metered."""
        return propagate(self.read_layer, x, self.n_layers)

    # -------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> str:
        """Save hidden state, design, environment and meter atomically (``.npz`` + JSON).

        Layer ``i``'s device arrays are stored as ``layer{i}_{name}`` for every field of
        :class:`~neuromorph.hardware.fabrication.DeviceState`; one SHA-256 digest covers the
        metadata and every array (format version 2, :mod:`neuromorph._io`).  ``.npz`` is
        appended when missing; returns the path written.

        Raises
        ------
        TypeError, ValueError
            If ``path`` cannot name a file (empty, ``'.npz'``, a directory...).
        FileNotFoundError
            If its folder does not exist.
        """
        arrays = {}
        noise_clocks = []
        for i, c in enumerate(self._corrections):
            if c is not None:
                arrays[f"correction{i}_scale"], arrays[f"correction{i}_offset"] = c
        for i, xb in enumerate(self.crossbars):
            for name, a in xb.device_state().arrays().items():
                arrays[f"layer{i}_{name}"] = a
            converters = xb.converter_state()
            for name, a in ({} if converters is None else converters.arrays()).items():
                arrays[f"converter{i}_{name}"] = a
            clock, rtn = xb.read_noise.state()
            noise_clocks.append(clock)
            if rtn is not None:
                arrays[f"noise{i}_rtn"] = rtn
        meta = {
            "design": self.design.to_dict(),
            "environment": self.environment.to_dict(),
            "meter": dataclasses.asdict(self.meter),
            "seed": self.seed,
            "rng_states": [xb.generator_states() for xb in self.crossbars],
            "output_full_scale": [xb.output_full_scale for xb in self.crossbars],
            "read_noise_clocks": noise_clocks,
        }
        return _io.save(path, kind=_KIND, version=_VERSION, meta=meta, arrays=arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Chip:
        """Load a chip saved by :meth:`save`.

        Files of format version 2 (this one) carry one digest over the metadata and every
        array.  Version-1 files (before the digest) still load, with a
        :class:`~neuromorph.errors.LegacyFileWarning`: their arrays are checksummed, their
        metadata (design, environment, meter, seed) is not.

        Raises
        ------
        FileNotFoundError
            If nothing exists at ``path``.
        ChipFileError
            If the file is a directory, unreadable, truncated, altered, of another kind, or
            its metadata does not describe a valid chip.
        """
        meta, arrays = _io.load(path, kind=_KIND, version=_VERSION, legacy_versions=_LEGACY_VERSIONS)
        try:
            return cls._from_file(meta, arrays)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ChipFileError(
                f"{os.fspath(path)!r} has inconsistent chip metadata: {type(exc).__name__}: {exc}"
            ) from exc

    @classmethod
    def _from_file(cls, meta: dict, arrays: dict[str, NDArray]) -> Chip:
        """The chip a file's checked metadata and arrays describe; ValueError/TypeError if none."""
        design = ChipDesign.from_dict(meta["design"])
        env = Environment.from_dict(meta["environment"])
        design.device.temperature.check_temperature(env.temperature_k)
        seed = meta.get("seed")
        if seed is not None:
            seed = check.integer("seed", seed, minimum=0)
        sizes = design.layer_sizes
        n_layers = len(sizes) - 1
        known = {f"layer{i}_{name}" for i in range(n_layers) for name in DeviceState.names()}
        known |= {f"noise{i}_rtn" for i in range(n_layers)}
        known |= {f"correction{i}_{part}" for i in range(n_layers) for part in ("scale", "offset")}
        known |= {f"converter{i}_{name}" for i in range(n_layers) for name in ConverterState.names()}
        if not set(arrays) <= known:
            unknown = sorted(set(arrays) - known)
            raise ValueError(f"arrays must be device state of layers 0..{n_layers - 1}; got also {unknown}.")
        rng_states, full_scales = meta["rng_states"], meta["output_full_scale"]
        for name, value in (("rng_states", rng_states), ("output_full_scale", full_scales)):
            if not isinstance(value, list) or len(value) != n_layers:
                raise ValueError(f"{name} must be a list of {n_layers} entries; got {value!r:.80}.")
        crossbars = [
            Crossbar(
                device=design.device,
                periphery=design.periphery,
                state=_layer_state(arrays, i, n_pairs=(sizes[i] + 1) * sizes[i + 1]),
                shape=(sizes[i] + 1, sizes[i + 1]),
                w_max=design.w_max,
                tile_shape=design.tile_shape,
                output_full_scale=check.positive("output_full_scale", full_scales[i]),
                environment=env,
                rngs=_generators(rng_states[i]),
                wires=design.wires,
                converters=_layer_converters(arrays, i, design),
            )
            for i in range(n_layers)
        ]
        _restore_read_noise(crossbars, meta.get("read_noise_clocks"), arrays)
        chip = cls(
            design=design, crossbars=crossbars, environment=env, meter=_meter(meta["meter"]), seed=seed
        )
        _restore_output_corrections(chip, arrays)
        return chip

    def __repr__(self) -> str:
        return (
            f"Chip(layer_sizes={self.design.layer_sizes}, device={self.design.device.name!r}, "
            f"seed={self.seed}, {self.environment!r})"
        )


def _bill_reference(meter: Meter, design: ChipDesign, *, batch: int, n_adcs: int, n_out: int) -> None:
    """Bill ``batch`` reference vectors into ``n_adcs`` ADCs of ``n_out`` columns (see
    :meth:`Chip.read_reference`); the reference DAC at the design DAC's figure of merit."""
    cost, p = design.cost, design.periphery
    convert_s = sar_conversion_time_s(p.adc.bits, cost.adc_clock_hz) * min(cost.columns_per_adc, n_out)
    meter.adc_conversions += batch * n_adcs
    meter.dac_conversions += batch * n_out
    meter.energy_adc_j += batch * n_adcs * conversion_energy_j(cost.adc_fom_j_per_step, p.adc.bits)
    meter.energy_mux_j += batch * n_adcs * cost.mux_energy_j
    meter.energy_dac_j += batch * n_out * conversion_energy_j(cost.dac_fom_j_per_step, p.dac.bits)
    meter.seconds_settle += batch * cost.t_read_s
    meter.seconds_convert += batch * convert_s
    meter.chip_seconds += batch * (cost.t_read_s + convert_s)


def _restore_read_noise(crossbars: list[Crossbar], clocks: object, arrays: dict[str, NDArray]) -> None:
    """Resume each layer's read-noise clock (files before it was saved start it afresh)."""
    if clocks is None:
        return
    if not isinstance(clocks, list) or len(clocks) != len(crossbars):
        raise ValueError(f"read_noise_clocks must be a list of {len(crossbars)} entries; got {clocks!r:.80}.")
    for i, (xb, clock) in enumerate(zip(crossbars, clocks, strict=True)):
        xb.read_noise.restore(clock, arrays.get(f"noise{i}_rtn"))


def _restore_output_corrections(chip: Chip, arrays: dict[str, NDArray]) -> None:
    """Set each layer's saved output correction (files without one keep the identity)."""
    for i in range(chip.n_layers):
        parts = [arrays.get(f"correction{i}_{part}") for part in ("scale", "offset")]
        if any(p is not None for p in parts):
            if any(p is None for p in parts):
                raise ValueError(f"correction{i} must have both scale and offset arrays; got one.")
            chip.set_output_correction(i, *parts)


def _layer_converters(arrays: dict[str, NDArray], layer: int, design: ChipDesign) -> ConverterState | None:
    """Layer ``layer``'s converter draws from a file (None for a design without mismatch)."""
    prefix = f"converter{layer}_"
    found = {k[len(prefix) :]: a for k, a in arrays.items() if k.startswith(prefix)}
    if design.periphery.mismatch is None:
        if found:
            raise ValueError(
                f"{prefix}* arrays must be absent when the design has no mismatch; got {sorted(found)}."
            )
        return None
    n_in, n_out = design.layer_sizes[layer] + 1, design.layer_sizes[layer + 1]
    return ConverterState.from_arrays(
        found,
        periphery=design.periphery,
        n_in=n_in,
        n_out=n_out,
        n_row_tiles=-(-n_in // design.tile_shape[0]),
    )


def _layer_state(arrays: dict[str, NDArray], layer: int, *, n_pairs: int) -> DeviceState:
    """Layer ``layer``'s device state from a file's arrays; ValueError if it is malformed."""
    prefix = f"layer{layer}_"
    state = DeviceState.from_arrays({k[len(prefix) :]: a for k, a in arrays.items() if k.startswith(prefix)})
    if state.n_pairs != n_pairs:
        raise ValueError(f"layer{layer} arrays must have shape (2, {n_pairs}); got {state.g_prog.shape}.")
    return state


def _generators(states: object) -> dict[str, np.random.Generator]:
    """A crossbar's named streams restored from saved bit-generator states (PCG64).

    The streams :data:`_STREAMS` must be there; others the crossbar added later (e.g. a
    read-noise stream) are restored too when present.
    """
    if not isinstance(states, dict) or not set(_STREAMS) <= set(states):
        raise ValueError(
            f"rng_states must map at least {list(_STREAMS)} to PCG64 states; got {states!r:.80}."
        )
    out = {}
    for name, state in states.items():
        g = np.random.Generator(np.random.PCG64())
        g.bit_generator.state = state
        out[name] = g
    return out


def _meter(data: object) -> Meter:
    """A :class:`Meter` from its saved fields: counts are ints >= 0, amounts finite floats >= 0."""
    fields = {f.name: f.type for f in dataclasses.fields(Meter)}
    if not isinstance(data, dict) or not set(data) <= set(fields):
        raise ValueError(f"meter must map some of {sorted(fields)} to numbers; got {data!r:.80}.")
    for name, value in data.items():
        if fields[name] in ("int", int):
            check.integer(f"meter.{name}", value, minimum=0)
        else:
            check.non_negative(f"meter.{name}", value)
    return Meter(**data)
