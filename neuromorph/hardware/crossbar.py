"""One crossbar: a weight matrix held as differential conductance pairs (layer 1).

A :class:`Crossbar` maps a weight matrix ``W`` of shape ``(n_in, n_out)`` onto pairs of
devices, ``W = (G+ - G-) / g_unit`` with ``g_unit = (g_max - g_min) / w_max``: inputs drive
rows, outputs are sensed on columns, ``y = x @ W``.  A matrix larger than one physical
array is tiled (default 256 x 256); each tile's column currents are digitised by its own ADC
and the partial sums are added digitally.

What a read does, in order (:mod:`neuromorph.hardware.reading`; kernels but the BLAS products):

1. DAC: inputs become row voltages (quantised, clipped).
2. Effective conductances now: programmed G, drifted by the thermally accelerated age since
   each device was last programmed, scaled by the device's temperature law.  Cached until
   the state or the environment changes.
3. Column currents ``I = v @ (G+ - G-)`` per row tile (BLAS).
4. Read noise (laws in :mod:`neuromorph.hardware.noise`).  White: every device fluctuates
   independently on every read; summed over a column this is *exactly* Gaussian with variance
   ``sum_i v_i**2 q**2 (G+_ij**2 + G-_ij**2)``, one more product (``v**2 @ var``), so one
   normal per column current has the statistics of a per-device draw.  1/f and telegraph
   noise are correlated in read time: their per-device fluctuations add currents of their own.
5. TIA gain, ADC input noise, quantisation and saturation; partial sums added.
A read with nothing nonlinear or noisy in it (:func:`reading.one_product`) is one product.
:meth:`Crossbar.read_metered` also returns the energy the array dissipated, for a meter.

With wires (``wires=WireParams(...)``) a tile holds pair j in columns 2j (G+) and 2j+1 (G-),
and step 3 is the exact nodal solution of the tile with its wire, driver and sense resistances
(:class:`~neuromorph.hardware.wires.WiredArray`, kept exact by low-rank updates under
programming).  Read noise keeps the wire-free variance (first order in the fluctuations).

State: the :class:`~neuromorph.hardware.fabrication.DeviceState` is private (scorers and tests
read copies, :meth:`Crossbar.device_state`...); every change goes through one mutator that
invalidates the caches.  Child streams (fabrication, writes, reads, read noise) spawned at
fabrication make a seed reproduce every read and write.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph import _validate as check
from neuromorph._rng import generator_from, noise_key
from neuromorph.hardware import noise, programming, pulsing, reading
from neuromorph.hardware.converters import ConverterState, draw_converters
from neuromorph.hardware.devices import RRAM_HFO2, DeviceModel, StuckCode
from neuromorph.hardware.environment import Environment
from neuromorph.hardware.fabrication import DeviceState, sample_devices
from neuromorph.hardware.periphery import Periphery
from neuromorph.hardware.programming import DEFAULT_MAX_PULSES, ProgramReport, UpdateReport
from neuromorph.hardware.reading import MeteredRead
from neuromorph.hardware.wires import WiredArray, WireParams

__all__ = ["DEFAULT_TILE_SHAPE", "Crossbar", "MeteredRead", "ProgramReport", "UpdateReport"]

#: Default physical array size (rows, cols); aihwkit's default tile is 512 x 512, NeuroSim's
#: sub-array 128 x 128; 256 x 256 is the size of fabricated RRAM macros such as Wan et al.,
#: Nature 608, 504 (2022) (NeuRRAM cores of 256 x 256).
DEFAULT_TILE_SHAPE = (256, 256)

#: Standard deviations of a tile's output that the automatic ADC full scale spans.
_FULL_SCALE_SIGMAS = 4.0
#: Relative slack on ``|w| <= w_max``, so that weights rounded onto the bound are accepted.
_W_MAX_SLACK = 1e-12


class Crossbar:
    """A weight matrix on differential pairs of memristive devices, with its periphery.

    Build one with :meth:`fabricate`; the constructor only stores state.

    Parameters
    ----------
    device : DeviceModel
    periphery : Periphery
    state : DeviceState
        The devices' hidden state, ``n_in * n_out`` pairs (held privately from now on).
    shape : (n_in, n_out)
    w_max : float
        Weight represented by a pair at (g_max, g_min).
    tile_shape : (rows, cols)
    output_full_scale : float
        Output (weight units) mapped to the ADC's full scale when the TIA gain is automatic.
    environment : Environment
    rngs : dict of numpy.random.Generator
        ``"write"`` and ``"read"`` streams, and ``"noise"`` (the correlated read noise's
        lifetime key; needed for those laws only), held privately from now on.
    wires : WireParams, optional
    converters : ConverterState, optional
        This die's converter draws (None: nominal converters), held privately from now on.
    """

    def __init__(
        self,
        *,
        device: DeviceModel,
        periphery: Periphery,
        state: DeviceState,
        shape: tuple[int, int],
        w_max: float,
        tile_shape: tuple[int, int],
        output_full_scale: float,
        environment: Environment,
        rngs: dict[str, np.random.Generator],
        wires: WireParams | None = None,
        converters: ConverterState | None = None,
    ) -> None:
        self.device = device
        self.wires = wires
        self.periphery = periphery
        self.shape = shape
        self.w_max = w_max
        self.tile_shape = tile_shape
        self.output_full_scale = output_full_scale
        self.environment = environment
        self._state = state
        self._rngs = rngs
        self._converters = converters
        self._noise = noise.ReadNoise(device.noise, n_pairs=state.n_pairs, rng=rngs.get("noise"))
        #: Bumped by :meth:`_mutating`, the one way the state changes; caches key on it.
        self._version = 0
        #: What reads derive from the state now, by name; valid while ``_cache_key`` holds.
        self._cache: dict[str, Any] = {}
        self._cache_key: tuple[int, int] | None = None
        #: Per-tile wired arrays, kept across changes and updated incrementally.
        self._wired_tiles: dict[tuple[int, int], WiredArray] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def fabricate(
        cls,
        n_in: int,
        n_out: int,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        device: DeviceModel = RRAM_HFO2,
        periphery: Periphery | None = None,
        w_max: float = 1.0,
        tile_shape: tuple[int, int] = DEFAULT_TILE_SHAPE,
        output_full_scale: float | None = None,
        environment: Environment | None = None,
        wires: WireParams | None = None,
    ) -> Crossbar:
        """Fabricate a crossbar: variation and stuck-at faults sampled once, every device at its lower bound.

        Parameters
        ----------
        n_in, n_out : int >= 1
            Inputs (rows) and outputs (columns) of the weight matrix.
        seed, rng : int >= 0 or numpy.random.Generator
            Exactly one (:func:`neuromorph._rng.generator_from`): the source of all randomness;
            four child streams (fabrication, writes, reads, read noise), so a seed reproduces all.
        device : DeviceModel
        periphery : Periphery, optional
            Default: 8-bit DAC at 0.2 V, automatic TIA gain, 8-bit ADC of 1 V full scale.
        w_max : float > 0
            Weight of a pair at (g_max, g_min).
        tile_shape : (int, int)
            Physical array size (rows, cols).
        output_full_scale : float > 0, optional
            Output in weight units that reaches the ADC's full scale (used when the TIA gain
            is automatic).  Default ``(4/3) sqrt(rows) w_max input_full_scale``: four standard
            deviations of a tile's output for uniform random inputs and weights.
        environment : Environment, optional
            Shared clock and temperature; a new one at 300 K and t = 0 by default.
        wires : WireParams, optional
            Row/column wire, driver and sense resistances of every tile; None is ideal wiring.
        """
        n_in = check.integer("n_in", n_in, minimum=1)
        n_out = check.integer("n_out", n_out, minimum=1)
        rng = generator_from(seed=seed, rng=rng)
        if not isinstance(device, DeviceModel):
            raise TypeError(f"device must be a DeviceModel; got {type(device).__name__}.")
        periphery = Periphery() if periphery is None else periphery
        if not isinstance(periphery, Periphery):
            raise TypeError(f"periphery must be a Periphery; got {type(periphery).__name__}.")
        w_max = check.scale("w_max", w_max)
        tile_shape = _check_tile_shape(tile_shape)
        if output_full_scale is None:
            # Uniform inputs and weights in [-1, 1] give a tile output of std sqrt(rows) / 3.
            rows = min(tile_shape[0], n_in)
            output_full_scale = _FULL_SCALE_SIGMAS / 3.0 * math.sqrt(rows) * w_max
            output_full_scale *= periphery.dac.input_full_scale
        output_full_scale = check.positive("output_full_scale", output_full_scale)
        environment = Environment() if environment is None else environment
        if not isinstance(environment, Environment):
            raise TypeError(f"environment must be an Environment; got {type(environment).__name__}.")
        device.temperature.check_temperature(environment.temperature_k)
        if wires is not None and not isinstance(wires, WireParams):
            raise TypeError(f"wires must be a WireParams or None; got {type(wires).__name__}.")
        fab, write, read, read_noise = rng.spawn(4)
        tau_now = environment.retention_time(device)
        return cls(
            device=device,
            periphery=periphery,
            state=sample_devices(device, n_in * n_out, fab, tau_now=tau_now),
            shape=(n_in, n_out),
            w_max=w_max,
            tile_shape=tile_shape,
            output_full_scale=output_full_scale,
            environment=environment,
            rngs={"write": write, "read": read, "noise": read_noise},
            wires=wires,
            converters=draw_converters(periphery, n_in=n_in, n_out=n_out, tile_rows=tile_shape[0], rng=rng),
        )

    # ------------------------------------------------------------------ derived constants
    @property
    def n_in(self) -> int:
        return self.shape[0]

    @property
    def n_out(self) -> int:
        return self.shape[1]

    @property
    def g_unit(self) -> float:
        """Conductance difference per unit weight, siemens."""
        c = self.device.conductance
        return (c.g_max_s - c.g_min_s) / self.w_max

    @property
    def n_tiles(self) -> tuple[int, int]:
        """Number of physical tiles along rows and columns."""
        return (-(-self.n_in // self.tile_shape[0]), -(-self.n_out // self.tile_shape[1]))

    @property
    def tia_gain_ohm(self) -> float:
        """Transimpedance in use, ohms (automatic gain maps output_full_scale to the ADC)."""
        gain = self.periphery.tia.gain_ohm
        if gain is not None:
            return gain
        volts_per_unit = self.periphery.dac.v_max_v / self.periphery.dac.input_full_scale
        full_scale_current = self.output_full_scale * volts_per_unit * self.g_unit
        return self.periphery.adc.full_scale_v / full_scale_current

    @property
    def weight_per_pulse(self) -> float:
        """Nominal weight change of one pulse pair step (mean of up and down steps)."""
        p = self.device.pulse
        return 0.5 * (p.step_up_scale + p.step_down_scale) * self.device.step_s / self.g_unit

    def _tau_now(self) -> float:
        return self.environment.retention_time(self.device)

    # ------------------------------------------------------------------ hidden state
    def device_state(self) -> DeviceState:
        """A read-only copy of the devices' hidden state, arrays of shape (2, n_in * n_out).

        Pair ``i * n_out + j`` holds weight ``(i, j)``.  Hidden state: for scorers, files and
        tests, not for algorithms that claim to run on a chip.
        """
        return self._state.copy(read_only=True)

    def stuck_codes(self) -> NDArray[np.int8]:
        """:class:`~neuromorph.hardware.devices.StuckCode` of every device, (2, n_in, n_out).

        A copy; hidden state.
        """
        return self._state.stuck.reshape(2, *self.shape).copy()

    @property
    def read_noise(self) -> noise.ReadNoise:
        """The read-noise state (its clock, telegraph switches): hidden, for files and tests."""
        return self._noise

    def converter_state(self) -> ConverterState | None:
        """The converters' per-die draws (None: nominal converters).  Hidden: files, scorers, tests."""
        return self._converters

    def generator_states(self) -> dict[str, dict]:
        """The bit-generator states of the crossbar's random streams, by name (for files)."""
        return {name: g.bit_generator.state for name, g in self._rngs.items()}

    def set_programmed(self, g_prog: ArrayLike) -> None:
        """Place every programmable device at a conductance, as if written exactly just now.

        For tests that need a known state (a chip has no such write: use :meth:`program`).
        Stuck devices keep their conductance.

        Parameters
        ----------
        g_prog : array_like of shape (2, n_in, n_out), siemens
            G+ (index 0) and G- (index 1) of every pair, within each device's own bounds.
        """
        g = check.array("g_prog", g_prog, shape=(2, *self.shape)).reshape(2, -1)
        st = self._state
        movable = st.stuck == StuckCode.NONE
        outside = movable & ((g < st.g_lo) | (g > st.g_hi))
        if outside.any():
            raise ValueError(
                "g_prog must lie within each device's own [g_lo, g_hi]; "
                f"got {int(outside.sum())} device(s) outside."
            )
        tau_now = self._tau_now()
        with self._mutating() as st:
            st.g_prog[movable] = g[movable]
            st.tau_prog[movable] = tau_now

    def set_stuck(self, codes: ArrayLike) -> None:
        """Mark devices stuck (or free): a test's way to place stuck-at faults.

        A device given ``LOW`` or ``HIGH`` moves to its own lower or upper bound and stays
        there; one given ``NONE`` becomes programmable where it is.

        Parameters
        ----------
        codes : array_like of int, shape (2, n_in, n_out)
            :class:`~neuromorph.hardware.devices.StuckCode` of every device.
        """
        codes = check.array("codes", codes, shape=(2, *self.shape), dtype=np.int64).reshape(2, -1)
        valid = np.isin(codes, [int(c) for c in StuckCode])
        if not valid.all():
            raise ValueError(f"codes must be StuckCode values; got {sorted(set(codes[~valid].tolist()))}.")
        with self._mutating() as st:
            st.stuck[:] = codes
            st.g_prog[codes == StuckCode.LOW] = st.g_lo[codes == StuckCode.LOW]
            st.g_prog[codes == StuckCode.HIGH] = st.g_hi[codes == StuckCode.HIGH]

    @contextlib.contextmanager
    def _mutating(self) -> Iterator[DeviceState]:
        """The one way to change the device state: yields it, then invalidates every cache."""
        try:
            yield self._state
        finally:
            self._version += 1

    def _cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per state version and environment version."""
        key = (self._version, self.environment.version)
        if self._cache_key != key:
            self._cache, self._cache_key = {}, key
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    def effective_conductances(self) -> NDArray[np.float64]:
        """Conductances as a read sees them now, shape (2, n_in, n_out), siemens.

        Hidden state: for scorers and tests, not for algorithms that claim to run on a chip.
        """
        return self._effective()[0].reshape(2, *self.shape).copy()

    def effective_weights(self) -> NDArray[np.float64]:
        """The weights a noiseless, infinitely resolved read would see now, (n_in, n_out).

        Hidden state: for scorers and tests.
        """
        return self._effective()[1] / self.g_unit

    def row_conductance_s(self) -> NDArray[np.float64]:
        """Total effective conductance on each row (both devices of every pair), siemens.

        For energy metering (a row at voltage v dissipates v**2 times this); hidden state.
        """
        return self._cached("rowsum", lambda: self._effective()[0].reshape(2, *self.shape).sum(axis=(0, 2)))

    def _exact_matrix(self) -> NDArray[np.float64]:
        return reading.exact_matrix(self._effective()[1], self.periphery.dac, self.tia_gain_ohm, self.g_unit)

    def _effective(self) -> tuple[NDArray, NDArray, NDArray]:
        """(g_eff (2, n), gdiff (n_in, n_out), float32 gvar (n_in, n_out)) now, cached."""
        return self._cached("effective", self._compute_effective)

    def _compute_effective(self) -> tuple[NDArray, NDArray, NDArray]:
        temperature_k = self.device.temperature.check_temperature(self.environment.temperature_k)
        g_eff, gdiff, gvar = reading.effective_conductances(
            self._state, self.device, temperature_k=temperature_k, tau_now=self._tau_now()
        )
        return g_eff, gdiff.reshape(self.shape), gvar.astype(np.float32).reshape(self.shape)

    def tiles(self) -> list[tuple[int, int, int, int]]:
        """Physical tiles as (row0, row1, col0, col1) ranges of the weight matrix."""
        rows, cols = self.tile_shape
        return [
            (r0, min(self.n_in, r0 + rows), c0, min(self.n_out, c0 + cols))
            for r0 in range(0, self.n_in, rows)
            for c0 in range(0, self.n_out, cols)
        ]

    def tile_conductances(self, tile: tuple[int, int] = (0, 0)) -> NDArray[np.float64]:
        """Effective conductances of one physical tile as laid out, siemens.

        Shape (rows, 2 * cols): G+ of weight column j in physical column 2j, G- in 2j + 1.
        ``tile`` is (row-tile index, column-tile index).  Hidden state: for scorers, SPICE
        export and tests.
        """
        ranges = self.tiles()
        n_ct = self.n_tiles[1]
        try:
            r0, r1, c0, c1 = ranges[tile[0] * n_ct + tile[1]]
            if not (0 <= tile[0] < self.n_tiles[0] and 0 <= tile[1] < n_ct):
                raise IndexError
        except (IndexError, TypeError):
            raise ValueError(
                f"tile must be a (row, col) index within {self.n_tiles}; got {tile!r}."
            ) from None
        g = self._effective()[0].reshape(2, *self.shape)
        out = np.empty((r1 - r0, 2 * (c1 - c0)))
        out[:, 0::2] = g[0, r0:r1, c0:c1]
        out[:, 1::2] = g[1, r0:r1, c0:c1]
        return out

    def _wired(self) -> dict[tuple[int, int], WiredArray]:
        """Per-tile wired arrays for the current state and environment."""
        return self._cached("wired", self._update_wired)

    def _update_wired(self) -> dict[tuple[int, int], WiredArray]:
        temperature_k = self.environment.temperature_k
        n_ct = self.n_tiles[1]
        for idx, (r0, _, c0, _) in enumerate(self.tiles()):
            g_phys = self.tile_conductances((idx // n_ct, idx % n_ct))
            wa = self._wired_tiles.get((r0, c0))
            if wa is None or wa.temperature_k != temperature_k:
                self._wired_tiles[(r0, c0)] = WiredArray(g_phys, self.wires, temperature_k=temperature_k)
            else:
                wa.update(g_phys)
        return self._wired_tiles

    # ------------------------------------------------------------------ read
    def read(self, x: ArrayLike) -> NDArray[np.float64]:
        """Analog matrix-vector products ``x @ W`` as the hardware computes them.

        Parameters
        ----------
        x : array_like of shape (n_in,) or (batch, n_in)
            Inputs in DAC units (``input_full_scale`` maps to ``v_max_v``).

        Returns
        -------
        ndarray of shape (n_out,) or (batch, n_out)
            Digitised outputs in weight units (``x @ W`` for an ideal chip).
        """
        x2, single = reading.batch_inputs(x, self.shape, finite=False)
        out, _ = self._read_voltages(x2)
        return out[0] if single else out

    def read_metered(self, x: ArrayLike, *, t_read_s: float) -> MeteredRead:
        """:meth:`read`, and the energy the array dissipated during the reads.

        Parameters
        ----------
        x : array_like of shape (n_in,) or (batch, n_in)
            As for :meth:`read`.
        t_read_s : float > 0
            Duration of one read (the time each row is held at its voltage), seconds.

        Returns
        -------
        MeteredRead
            ``(y, energy_j)``: what :meth:`read` returns (the same draws), and joules
            dissipated in the array, ``G_row`` from :meth:`row_conductance_s`.
        """
        t_read_s = check.positive("t_read_s", t_read_s)
        x2, single = reading.batch_inputs(x, self.shape, finite=False)
        out, v = self._read_voltages(x2)
        energy_j = reading.array_energy_j(v, self.row_conductance_s(), t_read_s=t_read_s)
        return MeteredRead(out[0] if single else out, energy_j)

    def convert_at_adcs(self, v: ArrayLike) -> NDArray[np.float64]:
        """Test mux: :func:`reading.convert_at_adcs` on this crossbar's ADCs, (batch, row tiles, n_out) V."""
        v = check.array("v", v, shape=(None, self.n_out))
        key = noise_key(self._rngs["read"], needed=True, name="rng")
        return reading.convert_at_adcs(v, self.periphery.adc, self._converters, self.n_tiles[0], key)

    def _read_voltages(self, x: NDArray) -> tuple[NDArray, NDArray]:
        """Outputs (batch, n_out) for inputs ``x`` (batch, n_in; checked finite here), row volts."""
        p = self.periphery
        if reading.one_product(self.n_in, self.tile_shape[0], self.wires, self.device, p, self._converters):
            exact = reading.exact_read(x, self._cached("exact", self._exact_matrix), p.dac)
            if exact is not None:  # one product: the reads counted and their key drawn as below
                self._noise.reads_done += x.shape[0]
                noise_key(self._rngs["read"], needed=True, name="rng")
                return exact
        dtype = reading.product_dtype(p.adc)
        v, v2 = reading.dac_voltages(  # first: it refuses a NaN or inf in x before any work
            x, p.dac, dtype=dtype, squares=self._noise.has_white_part, converters=self._converters
        )
        inputs = self._cached("noise", self._noise_inputs)
        g_eff, gdiff, gvar = self._effective()
        rows = self.tile_shape[0]
        mu_noise = self._noise.currents(v, g_eff, inputs, time_s=self.environment.time_s, tile_rows=rows)
        if dtype == np.float32:
            gdiff = self._cached("gdiff32", lambda: self._effective()[1].astype(np.float32))
        out = reading.convert_tiles(
            v,
            v2,
            gdiff,
            gvar if inputs.gvar is None else inputs.gvar,
            self._wired() if self.wires is not None else None,
            tile_rows=rows,
            adc=p.adc,
            gain=self.tia_gain_ohm,
            out_scale=reading.output_per_volt(p.dac, gain_ohm=self.tia_gain_ohm, g_unit=self.g_unit),
            key=noise_key(self._rngs["read"], needed=True, name="rng"),
            mu_noise=mu_noise,
            converters=self._converters,
        )
        return out, v

    def _noise_inputs(self) -> noise.NoiseInputs:
        age_s = self._tau_now() - self._state.tau_prog
        return self._noise.inputs(
            self._effective()[0], age_s, g_prog=self._state.g_prog, device=self.device, shape=self.shape
        )

    # ------------------------------------------------------------------ write
    def update(self, x: ArrayLike, d: ArrayLike, *, learning_rate: float) -> UpdateReport:
        """Pulse-program the outer-product update ``learning_rate * x.T @ d``.

        Parameters
        ----------
        x : array_like of shape (batch, n_in)
        d : array_like of shape (batch, n_out)
            Input activities and output errors/deltas; the desired change of ``W`` is
            ``learning_rate * x.T @ d`` (pass a negative rate for gradient descent on a
            gradient ``x.T @ d``).
        learning_rate : float
        """
        x = check.array("x", x, ndim=2, finite=False)  # NaN/inf: checked by outer_product's pass
        d = check.array("d", d, ndim=2, finite=False)
        learning_rate = check.real("learning_rate", learning_rate)
        if x.shape[1] != self.n_in or d.shape[1] != self.n_out or x.shape[0] != d.shape[0]:
            raise ValueError(
                f"x and d must have shapes (batch, {self.n_in}) and (batch, {self.n_out}); "
                f"got x {x.shape} and d {d.shape}."
            )
        product = pulsing.outer_product(x, d, pulses_per_unit=learning_rate / self.weight_per_pulse)
        return self._pulse(product, learning_rate, max_pulses=DEFAULT_MAX_PULSES)

    def apply_delta(self, delta_w: ArrayLike, *, max_pulses: int = DEFAULT_MAX_PULSES) -> UpdateReport:
        """Pulse-program a desired weight change ``delta_w`` of shape (n_in, n_out).

        The change is converted to pulse counts with the nominal step
        (:attr:`weight_per_pulse`) and stochastic rounding; each device then follows its own
        nonlinear, asymmetric, noisy pulse law, so the achieved change differs from the
        desired one as it would on hardware.  A pair's count saturates at ``max_pulses``.
        """
        delta_w = check.array("delta_w", delta_w, shape=self.shape)
        max_pulses = check.integer("max_pulses", max_pulses, minimum=1)
        return self._pulse(delta_w, 1.0, max_pulses=max_pulses)

    def _pulse(self, delta: NDArray | pulsing.OuterProduct, scale: float, *, max_pulses: int) -> UpdateReport:
        """Pulse-program ``scale * delta`` (weight units); ``delta`` is finite."""
        key = noise_key(self._rngs["write"], needed=True, name="rng")
        with self._mutating() as state:
            return programming.send_pulses(
                state,
                self.device,
                delta,
                pulses_per_unit=scale / self.weight_per_pulse,
                max_pulses=max_pulses,
                tau_now=self._tau_now(),
                key=key,
                temperature_k=self.device.temperature.check_temperature(self.environment.temperature_k),
            )

    def program(
        self,
        weights: ArrayLike,
        *,
        method: str = "write_verify",
        tolerance: float | None = None,
        max_iterations: int = 20,
        max_pulses: int = DEFAULT_MAX_PULSES,
        compensate: bool = True,
    ) -> ProgramReport:
        """Program ``weights`` (n_in, n_out) onto the array.

        Parameters
        ----------
        weights : array_like of shape (n_in, n_out), each in [-w_max, w_max]
            Mapped to pairs by :func:`~neuromorph.hardware.programming.pair_targets`:
            ``G+ = g_min + max(w, 0) g_unit``, ``G- = g_min + max(-w, 0) g_unit``.
        method : {"write_verify", "direct"}
            ``"write_verify"``: verify-read then pulse each device, at the die's temperature,
            until within ``tolerance`` (counts pulses and verify reads).  ``"direct"``: each
            device at its target plus programming noise, an idealised one-shot write.
        tolerance : float, optional
            Verify tolerance in siemens; default one nominal pulse step.
        max_iterations, max_pulses : int
            Verify iterations per device and pulses per iteration.
        compensate : bool
            Write-verify only: retarget so the pair's *difference* hits the weight; whichever
            device is stuck or misses, its partner absorbs it where the window allows.
        """
        weights = check.array("weights", weights, shape=self.shape)
        worst = float(np.max(np.abs(weights))) if weights.size else 0.0
        if worst > self.w_max * (1.0 + _W_MAX_SLACK):
            raise ValueError(
                f"weights must lie in [-w_max, w_max] = [-{self.w_max:g}, {self.w_max:g}]; got "
                f"max |w| = {worst:.6g}. Scale the weights or fabricate with a larger w_max."
            )
        if method not in ("write_verify", "direct"):
            raise ValueError(f"method must be 'write_verify' or 'direct'; got method={method!r}.")
        target = self._pair_targets(weights.reshape(-1))
        if method == "direct":
            with self._mutating() as state:
                return programming.write_direct(
                    state,
                    self.device,
                    target,
                    rng=self._rngs["write"],
                    tau_now=self._tau_now(),
                    g_unit=self.g_unit,
                )
        active = np.ones(target.shape[1], dtype=np.int8)
        return self._write_verify(
            target,
            active,
            tolerance=tolerance,
            max_iterations=max_iterations,
            max_pulses=max_pulses,
            compensate=compensate,
        )

    def refresh(
        self, *, threshold: float = 0.4, tolerance: float | None = None, max_iterations: int = 20
    ) -> ProgramReport:
        """Re-centre pairs whose two devices have both climbed high, keeping their weight.

        Blind pulse updates (up on one device, down on its partner) let the common mode of
        a pair wander up the window, where read noise and read energy grow with G.  A refresh
        verify-reads every device once, and pairs whose lower device sits above
        ``g_min + threshold (g_max - g_min)`` are re-programmed by write-verify to the same
        *measured* weight with the lower device back at g_min (as PCM and RRAM training
        controllers do; cf. aihwkit's refresh of PCM pairs).  All reads and pulses count; the
        levels are as read at the die's temperature (:func:`programming.refresh_plan`).
        """
        threshold = check.fraction("threshold", threshold)
        t_k = self.device.temperature.check_temperature(self.environment.temperature_k)
        measured = programming.verify_scan(
            self._state, self.device, temperature_k=t_k, tau_now=self._tau_now(), rng=self._rngs["write"]
        )
        plan = programming.refresh_plan(measured, self.device, t_k, threshold, self.g_unit, self.w_max)
        report = self._write_verify(
            *plan,
            tolerance=tolerance,
            max_iterations=max_iterations,
            max_pulses=DEFAULT_MAX_PULSES,
            compensate=True,
        )
        return dataclasses.replace(report, verify_reads=report.verify_reads + measured.size)

    def _pair_targets(self, weights: NDArray) -> NDArray:
        return programming.pair_targets(weights, g_min_s=self.device.conductance.g_min_s, g_unit=self.g_unit)

    def _write_verify(
        self,
        target: NDArray,
        active: NDArray,
        *,
        tolerance: float | None,
        max_iterations: int,
        max_pulses: int,
        compensate: bool,
    ) -> ProgramReport:
        tol = self.device.step_s if tolerance is None else check.positive("tolerance", tolerance)
        max_iterations = check.integer("max_iterations", max_iterations, minimum=1)
        max_pulses = check.integer("max_pulses", max_pulses, minimum=1)
        key = noise_key(self._rngs["write"], needed=True, name="rng")
        with self._mutating() as state:
            return programming.program_and_verify(
                state,
                self.device,
                target,
                active,
                tolerance_s=tol,
                max_iterations=max_iterations,
                max_pulses=max_pulses,
                compensate=bool(compensate),
                temperature_k=self.device.temperature.check_temperature(self.environment.temperature_k),
                tau_now=self._tau_now(),
                key=key,
                g_unit=self.g_unit,
            )

    def __repr__(self) -> str:
        return (
            f"Crossbar(shape={self.shape}, device={self.device.name!r}, "
            f"tiles={self.n_tiles}, environment={self.environment!r})"
        )


def _check_tile_shape(tile_shape) -> tuple[int, int]:
    if not isinstance(tile_shape, tuple | list) or len(tile_shape) != 2:
        raise TypeError(f"tile_shape must be a (rows, cols) pair; got {tile_shape!r}.")
    return (
        check.integer("tile_shape[0]", tile_shape[0], minimum=1),
        check.integer("tile_shape[1]", tile_shape[1], minimum=1),
    )
