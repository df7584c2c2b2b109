"""One crossbar: a weight matrix held as differential conductance pairs (layer 1).

A :class:`Crossbar` maps a weight matrix ``W`` of shape ``(n_in, n_out)`` onto pairs of
devices, ``W = (G+ - G-) / g_unit`` with ``g_unit = (g_max - g_min) / w_max``: inputs drive
rows, outputs are sensed on columns, ``y = x @ W``.  A matrix larger than one physical
array is tiled (default 256 x 256); each tile's column currents are digitised by its own ADC
and the partial sums are added digitally.

What a read does, in order (all in kernels of :mod:`neuromorph.hardware._kernels` except the BLAS
products):

1. DAC: inputs become row voltages (quantised, clipped).
2. Effective conductances now: programmed G, drifted by the thermally accelerated age since
   each device was last programmed, scaled by the device's temperature law.  Cached until
   the state or the environment changes.
3. Column currents ``I = v @ (G+ - G-)`` per row tile (BLAS).
4. Read noise: every device fluctuates independently on every read,
   ``G (1 + read_noise_rel * eps)``.  Summed over a column this is *exactly* Gaussian with
   variance ``sum_i v_i**2 read_noise_rel**2 (G+_ij**2 + G-_ij**2)``, one more product
   (``v**2 @ var``), so we draw one normal per column current instead of one per device:
   the same statistics as a per-device draw at the cost of one matmul (a per-device draw would
   cost batch x rows x cols normals).
5. TIA gain, ADC input noise, quantisation and saturation; partial sums added.

With wires (``wires=WireParams(...)``) each physical tile holds its pairs in adjacent
columns (G+ of weight column j in physical column 2j, G- in 2j+1, sharing the row wires), and
step 3 becomes the exact nodal solution of that tile with its wire, driver and sense
resistances (:class:`~neuromorph.hardware.wires.solve.WiredArray`: one transfer matrix per tile, kept
exact by low-rank updates as programming changes conductances).  Read noise keeps the
wire-free variance (first order in the fluctuations).

Randomness: a crossbar owns independent child streams (fabrication, writes, reads) spawned
from the Generator given at fabrication, so a seed reproduces every read and write.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as check
from neuromorph._rng import noise_key
from neuromorph.hardware import _kernels
from neuromorph.hardware.devices import K_B_EV, RRAM_HFO2, DeviceModel
from neuromorph.hardware.environment import Environment
from neuromorph.hardware.periphery import Periphery, max_code
from neuromorph.hardware.wires import WiredArray, WireParams

#: Default physical array size (rows, cols); aihwkit's default tile is 512 x 512, NeuroSim's
#: sub-array 128 x 128; 256 x 256 is the size of fabricated RRAM macros such as Wan et al.,
#: Nature 608, 504 (2022) (NeuRRAM cores of 256 x 256).
DEFAULT_TILE_SHAPE = (256, 256)

_STUCK_NONE, _STUCK_MIN, _STUCK_MAX = 0, 1, 2


@dataclass(frozen=True)
class ProgramReport:
    """What programming a crossbar cost and achieved.

    Attributes
    ----------
    pulses : int
        Programming pulses sent (to all devices).
    verify_reads : int
        Single-device verify reads performed.
    weight_rms_error : float
        RMS of (achieved - target) weights at the reference condition, weight units.
    unconverged : int
        Pairs whose weight missed by more than two tolerances (stuck devices the other could
        not compensate, or out of iterations); for ``"direct"`` writes, stuck devices.
    """

    pulses: int
    verify_reads: int
    weight_rms_error: float
    unconverged: int


@dataclass(frozen=True)
class UpdateReport:
    """What one pulse-programming update sent: pulse total and devices pulsed."""

    pulses: int
    devices_pulsed: int


class Crossbar:
    """A weight matrix on differential pairs of memristive devices, with its periphery.

    Build one with :meth:`fabricate`; the constructor only stores state.

    Parameters
    ----------
    device : DeviceModel
    periphery : Periphery
    state : dict of ndarray
        Per-device arrays of shape (2, n_in * n_out), row 0 the G+ device and row 1 the G-
        device of each pair: ``g_prog`` (S, at T_ref), ``tau_prog`` (s, equivalent time of
        last programming), ``nu``, ``g_lo``, ``g_hi``, ``s_up``, ``s_down`` (S) and ``stuck``
        (int8: 0 none, 1 stuck at g_lo, 2 stuck at g_hi).
    shape : (n_in, n_out)
    w_max : float
        Weight represented by a pair at (g_max, g_min).
    tile_shape : (rows, cols)
    output_full_scale : float
        Output (weight units) mapped to the ADC's full scale when the TIA gain is automatic.
    environment : Environment
    rngs : dict of numpy.random.Generator
        ``"write"`` and ``"read"`` streams.
    """

    def __init__(
        self,
        *,
        device: DeviceModel,
        periphery: Periphery,
        state: dict[str, NDArray],
        shape: tuple[int, int],
        w_max: float,
        tile_shape: tuple[int, int],
        output_full_scale: float,
        environment: Environment,
        rngs: dict[str, np.random.Generator],
        wires: WireParams | None = None,
    ) -> None:
        self.device = device
        self.wires = wires
        self._wired_key: tuple | None = None
        self._wired_tiles: dict[tuple[int, int], WiredArray] = {}
        self.periphery = periphery
        self.state = state
        self.shape = shape
        self.w_max = w_max
        self.tile_shape = tile_shape
        self.output_full_scale = output_full_scale
        self.environment = environment
        self.rngs = rngs
        self._state_version = 0
        self._cache_key: tuple | None = None
        self._cache: tuple[NDArray, NDArray, NDArray] | None = None
        self._gdiff32_key: tuple | None = None
        self._rowsum_key: tuple | None = None
        #: Per-row sum over the last read's batch of v**2 (V**2), for energy metering.
        self.last_row_v2: NDArray | None = None
        self._rowsum: NDArray | None = None
        self._gdiff32_cache: NDArray | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def fabricate(
        cls,
        n_in: int,
        n_out: int,
        *,
        rng: np.random.Generator,
        device: DeviceModel = RRAM_HFO2,
        periphery: Periphery | None = None,
        w_max: float = 1.0,
        tile_shape: tuple[int, int] = DEFAULT_TILE_SHAPE,
        output_full_scale: float | None = None,
        environment: Environment | None = None,
        wires: WireParams | None = None,
    ) -> Crossbar:
        """Fabricate a crossbar: sample device-to-device variation and stuck-at faults once.

        Every device starts at its own lower bound (weights near zero).

        Parameters
        ----------
        n_in, n_out : int >= 1
            Inputs (rows) and outputs (columns) of the weight matrix.
        rng : numpy.random.Generator
            Source of all randomness; three child streams are spawned (fabrication, writes,
            reads), so the same seed gives the same chip and the same noise.
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
        check.generator("rng", rng)
        if not isinstance(device, DeviceModel):
            raise TypeError(f"device must be a DeviceModel; got {type(device).__name__}.")
        periphery = Periphery() if periphery is None else periphery
        if not isinstance(periphery, Periphery):
            raise TypeError(f"periphery must be a Periphery; got {type(periphery).__name__}.")
        w_max = check.positive("w_max", w_max)
        tile_shape = _check_tile_shape(tile_shape)
        if output_full_scale is None:
            rows = min(tile_shape[0], n_in)
            output_full_scale = 4.0 / 3.0 * math.sqrt(rows) * w_max
            output_full_scale *= periphery.dac.input_full_scale
        output_full_scale = check.positive("output_full_scale", output_full_scale)
        environment = Environment() if environment is None else environment
        if not isinstance(environment, Environment):
            raise TypeError(f"environment must be an Environment; got {type(environment).__name__}.")
        device.temperature.check_temperature(environment.temperature_k)
        if wires is not None and not isinstance(wires, WireParams):
            raise TypeError(f"wires must be a WireParams or None; got {type(wires).__name__}.")
        fab, write, read = rng.spawn(3)
        state = _sample_devices(device, n_in * n_out, fab)
        xbar = cls(
            device=device,
            periphery=periphery,
            state=state,
            shape=(n_in, n_out),
            w_max=w_max,
            tile_shape=tile_shape,
            output_full_scale=output_full_scale,
            environment=environment,
            rngs={"write": write, "read": read},
            wires=wires,
        )
        state["tau_prog"][:] = xbar._tau_now()
        return xbar

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
        t = self.device.temperature.t_ref_k
        return self.environment.equivalent_time(self.device.drift.ea_drift_ev, t)

    # ------------------------------------------------------------------ hidden state
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
        key = (self._state_version, self.environment.version)
        if self._rowsum_key != key:
            self._rowsum = self._effective()[0].reshape(2, *self.shape).sum(axis=(0, 2))
            self._rowsum_key = key
        return self._rowsum

    def _effective(self) -> tuple[NDArray, NDArray, NDArray]:
        env = self.environment
        key = (self._state_version, env.version)
        if self._cache_key != key:
            temperature_k = self.device.temperature.check_temperature(env.temperature_k)
            tp = self.device.temperature
            c = self.device.conductance
            n = self.n_in * self.n_out
            g_eff = np.empty((2, n))
            gdiff = np.empty(n)
            gvar = np.empty(n)
            _kernels.effective_conductance(
                g_prog=self.state["g_prog"],
                tau_prog=self.state["tau_prog"],
                nu=self.state["nu"],
                tau_now=self._tau_now(),
                t0=self.device.drift.t0_s,
                g_min=c.g_min_s,
                g_range=c.g_max_s - c.g_min_s,
                alpha_lo=tp.alpha_low_per_k,
                alpha_hi=tp.alpha_high_per_k,
                ea_lo=tp.ea_low_ev,
                ea_hi=tp.ea_high_ev,
                delta_t=temperature_k - tp.t_ref_k,
                arrhenius_x=(1.0 / temperature_k - 1.0 / tp.t_ref_k) / K_B_EV,
                read_rel=self.device.noise.read_noise_rel,
                g_eff_out=g_eff,
                gdiff_out=gdiff,
                gvar_out=gvar,
            )
            gvar32 = gvar.astype(np.float32).reshape(self.shape)
            self._cache = (g_eff, gdiff.reshape(self.shape), gvar32)
            self._cache_key = key
        return self._cache

    def _gdiff32(self) -> NDArray[np.float32]:
        key = (self._state_version, self.environment.version)
        if self._gdiff32_key != key:
            self._gdiff32_cache = self._effective()[1].astype(np.float32)
            self._gdiff32_key = key
        return self._gdiff32_cache

    def _touch(self) -> None:
        self._state_version += 1

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
        """Per-tile wired arrays for the current state and environment (kept incrementally)."""
        key = (self._state_version, self.environment.version)
        if self._wired_key != key:
            temperature_k = self.environment.temperature_k
            n_ct = self.n_tiles[1]
            for idx, (r0, _, c0, _) in enumerate(self.tiles()):
                g_phys = self.tile_conductances((idx // n_ct, idx % n_ct))
                wa = self._wired_tiles.get((r0, c0))
                if wa is None or wa.temperature_k != temperature_k:
                    self._wired_tiles[(r0, c0)] = WiredArray(g_phys, self.wires, temperature_k=temperature_k)
                else:
                    wa.update(g_phys)
            self._wired_key = key
        return self._wired_tiles

    # ------------------------------------------------------------------ read
    def read(self, x) -> NDArray[np.float64]:
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
        x = check.array("x", x, ndim=(1, 2))
        single = x.ndim == 1
        x2 = x.reshape(1, -1) if single else x
        if x2.shape[1] != self.n_in:
            raise ValueError(
                f"x must have {self.n_in} inputs (last axis) for this crossbar of shape "
                f"{self.shape}; got shape {x.shape}."
            )
        out = self._read_voltages(x2)
        return out[0] if single else out

    def _read_voltages(self, x: NDArray) -> NDArray:
        dac, adc = self.periphery.dac, self.periphery.adc
        noisy = self.device.noise.read_noise_rel > 0.0
        # Precision follows the ADC: behind a quantising ADC the products run in float32 (its
        # rounding, ~6e-8 relative, is far below any LSB of <= 16 bits and halves the cost of
        # the products); an ideal ADC gets float64, so ideal reads reproduce x @ W to 1e-12.
        fast = adc.bits is not None and adc.bits <= 16
        dtype = np.float32 if fast else np.float64
        v = np.empty(x.shape, dtype=dtype)
        # The variance product runs in float32: it only scales noise.
        v2 = np.empty(x.shape, dtype=np.float32) if noisy else np.empty(0, dtype=np.float32)
        _kernels.dac_convert(
            x=x.reshape(-1),
            scale=1.0 / dac.input_full_scale,
            v_max=dac.v_max_v,
            levels=max_code(dac.bits),
            v_out=v.reshape(-1),
            v2_out=v2.reshape(-1),
        )
        # Sum over the batch of each row's v**2, for the caller's read-energy meter.
        self.last_row_v2 = np.einsum("bi,bi->i", v, v, dtype=np.float64)
        _, gdiff, gvar = self._effective()
        if fast:
            gdiff = self._gdiff32()
        key = noise_key(self.rngs["read"], needed=True, name="rng")
        gain = self.tia_gain_ohm
        out_scale = 1.0 / (gain * (dac.v_max_v / dac.input_full_scale) * self.g_unit)
        out = np.zeros((x.shape[0], self.n_out))
        rows = self.tile_shape[0]
        none = np.empty((0, 0), dtype=np.float32)
        wired = self._wired() if self.wires is not None else None
        for t, r0 in enumerate(range(0, self.n_in, rows)):
            r1 = min(self.n_in, r0 + rows)
            whole = r0 == 0 and r1 == self.n_in
            if wired is not None:
                mu = np.empty((x.shape[0], self.n_out))
                for (tr0, c0), wa in wired.items():
                    if tr0 == r0:
                        cur = wa.currents(v[:, r0:r1])
                        mu[:, c0 : c0 + cur.shape[1] // 2] = cur[:, 0::2] - cur[:, 1::2]
            else:
                mu = v @ gdiff if whole else v[:, r0:r1] @ gdiff[r0:r1]
            if noisy:
                var = v2 @ gvar if whole else v2[:, r0:r1] @ gvar[r0:r1]
            else:
                var = none
            _kernels.adc_accumulate(
                mu=mu,
                var=var,
                key=key,
                counter_base=t * x.shape[0] * self.n_out,
                gain=gain,
                noise_v=adc.noise_v,
                lsb=adc.lsb_v,
                max_code=float(max_code(adc.bits)),
                out_scale=out_scale,
                out=out,
            )
        return out

    # ------------------------------------------------------------------ write
    def update(self, x, d, *, learning_rate: float) -> UpdateReport:
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
        x = check.array("x", x, ndim=2)
        d = check.array("d", d, ndim=2)
        learning_rate = check.real("learning_rate", learning_rate)
        if x.shape[1] != self.n_in or d.shape[1] != self.n_out or x.shape[0] != d.shape[0]:
            raise ValueError(
                f"x and d must have shapes (batch, {self.n_in}) and (batch, {self.n_out}); "
                f"got x {x.shape} and d {d.shape}."
            )
        return self._pulse(x.T @ d, learning_rate, max_pulses=64)

    def apply_delta(self, delta_w, *, max_pulses: int = 64) -> UpdateReport:
        """Pulse-program a desired weight change ``delta_w`` of shape (n_in, n_out).

        The change is converted to pulse counts with the nominal step
        (:attr:`weight_per_pulse`) and stochastic rounding; each device then follows its own
        nonlinear, asymmetric, noisy pulse law, so the achieved change differs from the
        desired one as it would on hardware.
        """
        delta_w = check.array("delta_w", delta_w, shape=self.shape)
        max_pulses = check.integer("max_pulses", max_pulses, minimum=1)
        return self._pulse(delta_w, 1.0, max_pulses=max_pulses)

    def _pulse(self, delta, scale: float, *, max_pulses: int) -> UpdateReport:
        """Pulse-program ``scale * delta`` (weight units; delta C-contiguous float64)."""
        desired = np.ascontiguousarray(delta).reshape(-1)
        pulses = np.empty((2, desired.size), dtype=np.int64)
        p = self.device.pulse
        _kernels.pulse_update(
            g_prog=self.state["g_prog"],
            tau_prog=self.state["tau_prog"],
            nu=self.state["nu"],
            stuck=self.state["stuck"],
            g_lo=self.state["g_lo"],
            g_hi=self.state["g_hi"],
            s_up=self.state["s_up"],
            s_down=self.state["s_down"],
            desired=desired,
            scale=scale / self.weight_per_pulse,
            a_up=p.nonlinearity_up,
            a_down=p.nonlinearity_down,
            c2c=p.c2c_rel,
            tau_now=self._tau_now(),
            t0=self.device.drift.t0_s,
            key=noise_key(self.rngs["write"], needed=True, name="rng"),
            max_pulses=max_pulses,
            pulses_out=pulses,
        )
        self._touch()
        return UpdateReport(pulses=int(pulses.sum()), devices_pulsed=int(np.count_nonzero(pulses)))

    def program(
        self,
        weights,
        *,
        method: str = "write_verify",
        tolerance: float | None = None,
        max_iterations: int = 20,
        max_pulses: int = 64,
        compensate: bool = True,
    ) -> ProgramReport:
        """Program ``weights`` (n_in, n_out) onto the array.

        Parameters
        ----------
        weights : array_like of shape (n_in, n_out), each in [-w_max, w_max]
            Mapped to ``G+ = g_min + max(w, 0) g_unit``, ``G- = g_min + max(-w, 0) g_unit``.
        method : {"write_verify", "direct"}
            ``"write_verify"``: iterate verify-read then pulses per device until within
            ``tolerance`` (counts pulses and verify reads).  ``"direct"``: set each device to
            its target plus programming noise (``program_noise_rel * g_max``), the model of
            an idealised one-shot write.
        tolerance : float, optional
            Verify tolerance in siemens; default one nominal pulse step.
        max_iterations, max_pulses : int
            Verify iterations per device and pulses per iteration.
        compensate : bool
            Write-verify only: program each pair's larger device first, then retarget the
            other so that their *difference* hits the weight, absorbing the first device's
            residual error (a stuck device's too, when the window allows).
        """
        weights = check.array("weights", weights, shape=self.shape)
        worst = float(np.max(np.abs(weights))) if weights.size else 0.0
        if worst > self.w_max * (1.0 + 1e-12):
            raise ValueError(
                f"weights must lie in [-w_max, w_max] = [-{self.w_max:g}, {self.w_max:g}]; got "
                f"max |w| = {worst:.6g}. Scale the weights or fabricate with a larger w_max."
            )
        if method not in ("write_verify", "direct"):
            raise ValueError(f"method must be 'write_verify' or 'direct'; got method={method!r}.")
        c = self.device.conductance
        flat = weights.reshape(-1)
        target = np.empty((2, flat.size))
        target[0] = c.g_min_s + np.maximum(flat, 0.0) * self.g_unit
        target[1] = c.g_min_s + np.maximum(-flat, 0.0) * self.g_unit
        tau_now = self._tau_now()
        st = self.state
        movable = st["stuck"] == _STUCK_NONE
        if method == "direct":
            rng = self.rngs["write"]
            noisy = target + self.device.noise.program_noise_rel * c.g_max_s * rng.standard_normal(
                target.shape
            )
            g_new = np.clip(noisy, st["g_lo"], st["g_hi"])
            st["g_prog"][movable] = g_new[movable]
            st["tau_prog"][movable] = tau_now
            self._touch()
            err = (target[0] - st["g_prog"][0]) - (target[1] - st["g_prog"][1])
            return ProgramReport(
                pulses=0,
                verify_reads=0,
                weight_rms_error=float(np.sqrt(np.mean(err**2))) / self.g_unit,
                unconverged=int(np.count_nonzero(~movable)),
            )
        active = np.ones(flat.size, dtype=np.int8)
        return self._write_verify(target, active, tolerance, max_iterations, max_pulses, compensate)

    def refresh(
        self, *, threshold: float = 0.4, tolerance: float | None = None, max_iterations: int = 20
    ) -> ProgramReport:
        """Re-centre pairs whose two devices have both climbed high, keeping their weight.

        Blind pulse updates (up on one device, down on its partner) let the common mode of
        a pair wander up the window, where read noise and read energy grow with G.  A refresh
        verify-reads every device once, and pairs whose lower device sits above
        ``g_min + threshold (g_max - g_min)`` are re-programmed by write-verify to the same
        *measured* weight with the lower device back at g_min (as PCM and RRAM training
        controllers do; cf. aihwkit's refresh of PCM pairs).  All reads and pulses count.
        """
        threshold = check.fraction("threshold", threshold)
        c = self.device.conductance
        st = self.state
        age = self._tau_now() - st["tau_prog"]
        drift = np.where(
            (st["nu"] > 0) & (age > 0),
            ((np.maximum(age, 0.0) + self.device.drift.t0_s) / self.device.drift.t0_s) ** -st["nu"],
            1.0,
        )
        g = st["g_prog"] * drift  # as a verify read at the reference temperature sees it
        n = g.shape[1]
        read_rel = self.device.noise.read_noise_rel
        rng = self.rngs["write"]
        measured = g * (1.0 + read_rel * rng.standard_normal(g.shape)) if read_rel else g
        low = np.minimum(measured[0], measured[1])
        active = (low > c.g_min_s + threshold * (c.g_max_s - c.g_min_s)).astype(np.int8)
        w = np.clip((measured[0] - measured[1]) / self.g_unit, -self.w_max, self.w_max)
        target = np.empty((2, n))
        target[0] = c.g_min_s + np.maximum(w, 0.0) * self.g_unit
        target[1] = c.g_min_s + np.maximum(-w, 0.0) * self.g_unit
        report = self._write_verify(target, active, tolerance, max_iterations, 64, True)
        scan_reads = 2 * n
        return dataclasses.replace(report, verify_reads=report.verify_reads + scan_reads)

    def _write_verify(
        self, target, active, tolerance, max_iterations, max_pulses, compensate
    ) -> ProgramReport:
        c = self.device.conductance
        st = self.state
        flat_size = target.shape[1]
        tau_now = self._tau_now()
        tol = self.device.step_s if tolerance is None else check.positive("tolerance", tolerance)
        max_iterations = check.integer("max_iterations", max_iterations, minimum=1)
        max_pulses = check.integer("max_pulses", max_pulses, minimum=1)
        pulses = np.empty((2, flat_size), dtype=np.int64)
        reads = np.empty((2, flat_size), dtype=np.int64)
        p = self.device.pulse
        _kernels.write_verify(
            g_prog=st["g_prog"],
            tau_prog=st["tau_prog"],
            nu=st["nu"],
            stuck=st["stuck"],
            g_lo=st["g_lo"],
            g_hi=st["g_hi"],
            s_up=st["s_up"],
            s_down=st["s_down"],
            target=target,
            a_up=p.nonlinearity_up,
            a_down=p.nonlinearity_down,
            c2c=p.c2c_rel,
            step_up=p.step_up_scale * self.device.step_s,
            step_down=p.step_down_scale * self.device.step_s,
            read_rel=self.device.noise.read_noise_rel,
            tol_s=tol,
            max_iter=max_iterations,
            max_pulses=max_pulses,
            g_floor=c.g_min_s,
            g_ceil=c.g_max_s,
            compensate=compensate,
            active=active,
            tau_now=tau_now,
            t0=self.device.drift.t0_s,
            key=noise_key(self.rngs["write"], needed=True, name="rng"),
            pulses_out=pulses,
            reads_out=reads,
        )
        self._touch()
        g = st["g_prog"]  # freshly programmed: no drift yet, reference temperature
        werr = (((g[0] - g[1]) - (target[0] - target[1])) / self.g_unit)[active == 1]
        if werr.size == 0:
            return ProgramReport(pulses=0, verify_reads=0, weight_rms_error=0.0, unconverged=0)
        return ProgramReport(
            pulses=int(pulses.sum()),
            verify_reads=int(reads.sum()),
            weight_rms_error=float(np.sqrt(np.mean(werr**2))),
            unconverged=int(np.count_nonzero(np.abs(werr) * self.g_unit > 2 * tol)),
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


def _sample_devices(device: DeviceModel, n: int, rng: np.random.Generator) -> dict[str, NDArray]:
    """Draw the device-to-device variation of ``n`` pairs, shape (2, n) each."""
    c, var, p, drift = device.conductance, device.variation, device.pulse, device.drift
    shape = (2, n)
    g_range = c.g_max_s - c.g_min_s
    g_lo = c.g_min_s + var.bounds_rel * c.g_min_s * rng.standard_normal(shape)
    g_hi = c.g_max_s * (1.0 + var.bounds_rel * rng.standard_normal(shape))
    g_lo = np.maximum(g_lo, 0.0)
    g_hi = np.maximum(g_hi, g_lo + 0.05 * g_range)  # a device keeps >= 5 % of the window
    steps = np.maximum(1.0 + var.step_rel * rng.standard_normal((2, *shape)), 0.05)
    s_up = p.step_up_scale * device.step_s * steps[0]
    s_down = p.step_down_scale * device.step_s * steps[1]
    nu = np.abs(drift.nu_mean + drift.nu_std * rng.standard_normal(shape))
    draw = rng.random(shape)
    stuck = np.zeros(shape, dtype=np.int8)
    stuck[draw < var.stuck_at_min_fraction] = _STUCK_MIN
    stuck[
        (draw >= var.stuck_at_min_fraction) & (draw < var.stuck_at_min_fraction + var.stuck_at_max_fraction)
    ] = _STUCK_MAX
    g_prog = g_lo.copy()
    g_prog[stuck == _STUCK_MAX] = g_hi[stuck == _STUCK_MAX]
    return {
        "g_prog": g_prog,
        "tau_prog": np.zeros(shape),
        "nu": nu,
        "g_lo": g_lo,
        "g_hi": g_hi,
        "s_up": s_up,
        "s_down": s_down,
        "stuck": stuck,
    }
