"""Device physics of one memristive cell, and cited presets (layer 1).

Each physical effect is a small frozen parameter class in SI units, validated on
construction; a :class:`DeviceModel` composes them.  The kernels that evaluate the laws on
whole arrays live in :mod:`neuromorph.hardware._kernels`; the laws themselves are stated here.

Laws
----
Let ``u = (G - g_min) / (g_max - g_min)`` be a device's normalised state.

* **Pulse update** (soft/hard bounds times an exponential step factor: aihwkit's
  ``SoftBoundsDevice`` and ``ExpStepDevice``, NeuroSim's exponential LTP/LTD curve).  One
  potentiating pulse adds ``dG = s_up (1 - a_up u) y_up(u) (1 + c2c eps)``, one depressing
  pulse subtracts ``dG = s_down (1 - a_down (1 - u)) y_down(u) (1 + c2c eps)``,
  ``eps ~ N(0, 1)`` per pulse (plus, optionally, aihwkit's further ``c2c (add + slope (G -
  g_lo)) eps``), then ``G`` is clipped to the device's own ``[g_min, g_max]``;
  ``y`` is 1 unless :class:`PulseParams` sets an exponential step.  ``a = 0`` is a linear
  device with hard bounds, ``a = 1`` a soft-bounds device.  A pulse moves the state by the
  same law at any temperature (no cited temperature dependence of the switching step).
* **Retention**, one law per device, in the thermally accelerated equivalent time since
  programming ``t_eq = integral exp(Ea_drift / k_B * (1/T_ref - 1/T(t))) dt``:
  power-law drift ``G_prog ((t_eq + t0) / t0) ** -nu`` with a state-dependent exponent
  (:class:`DriftParams`, aihwkit's PCM model), or log-time relaxation and broadening
  (:class:`RelaxationParams`, aihwkit's CMO-ReRAM model).
* **Temperature** of conductance, state dependent, through two conduction paths with laws
  ``f_k(T) = (1 + alpha_k (T - T_ref)) exp(-Ea_k / k_B (1/T - 1/T_ref))``: a low-state path
  (RRAM HRS: hopping; PCM: amorphous) and a high-state path (RRAM: the metallic filament;
  PCM: crystalline).  A state ``G`` (at T_ref) splits between them by a conduction model
  (:class:`TemperatureParams`): in **parallel**, the low path carries ``min(G, g_min)`` and the
  high path the rest; in **series**, the high path has the resistance ``min(1/G, 1/g_max)``
  (at most the fully set cell's conductance) and the low path the rest of ``1/G``.  Each
  preset cites the end-point laws and the conduction model (:mod:`~neuromorph.hardware.presets`).
  Verify reads happen at the die's temperature, so a weight programmed hot moves by this law
  when the die cools.
* **Read noise**: each read of a device sees ``G * (1 + read_noise_rel * eps)``, re-drawn
  every read.  **Programming noise**: a directly written device lands at
  ``G_target + sigma(G_target) * eps`` (:class:`NoiseParams`).
* **Endurance**: a device sticks where it is once its pulse budget is spent
  (:class:`EnduranceParams`).
* **One-sided devices** (:class:`OneSidedParams`, PCM): only SET pulses move a device
  gradually, a RESET returns it near its lower bound at once; pairs are refreshed when both
  devices have climbed.

The cited presets are in :mod:`neuromorph.hardware.presets` and importable from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Literal

from neuromorph import _validate as check

#: Boltzmann constant in eV/K (CODATA 2018, exact in the 2019 SI).
K_B_EV = 8.617333262e-5

#: Read-noise laws of :class:`NoiseParams` (stated in :mod:`neuromorph.hardware.noise`).
READ_NOISE_LAWS = ("white", "pink", "rtn")
#: Conduction models of :class:`TemperatureParams`: how a state splits between its two paths.
CONDUCTION_PATHS = ("parallel", "series")


class StuckCode(IntEnum):
    """Stuck-at fault of one device, as stored per device (int8) and read by the kernels.

    A stuck device ignores programming pulses and keeps its conductance (``LOW``/``HIGH``: its
    own bound); retention and the temperature law still act on what a read sees.
    """

    #: Programmable.
    NONE = 0
    #: Stuck at its own lower bound ``g_lo``.
    LOW = 1
    #: Stuck at its own upper bound ``g_hi``.
    HIGH = 2
    #: Stuck where it is: worn out (its pulse budget, :class:`EnduranceParams`, is spent) or
    #: corrupt at fabrication with its bounds collapsed onto one value near mid-window
    #: (aihwkit's ``corrupt_devices_prob``; see :class:`VariationParams`).
    FIXED = 3


@dataclass(frozen=True)
class ConductanceRange:
    """Conductance bounds of a device, siemens.

    Parameters
    ----------
    g_min_s, g_max_s : float
        Lowest and highest programmable conductance; ``0 <= g_min_s < g_max_s``.
    """

    g_min_s: float
    g_max_s: float

    def __post_init__(self) -> None:
        check.non_negative("g_min_s", self.g_min_s)
        check.positive("g_max_s", self.g_max_s)
        if not self.g_min_s < self.g_max_s:
            raise ValueError(
                "g_min_s must be >= 0 and < g_max_s; "
                f"got g_min_s={self.g_min_s:.6g}, g_max_s={self.g_max_s:.6g}."
            )


@dataclass(frozen=True)
class PulseParams:
    """Response of a device to one programming pulse (see the module's pulse law).

    Parameters
    ----------
    n_states : int
        Number of nominal up-pulses from g_min to g_max of a linear device; the nominal
        step is ``(g_max - g_min) / n_states`` siemens.
    step_up_scale, step_down_scale : float
        Step size of a potentiating / depressing pulse in units of the nominal step
        (asymmetry when they differ).
    nonlinearity_up, nonlinearity_down : float in [0, 1]
        Soft-bound strengths ``a_up`` and ``a_down``; 0 is linear, 1 is full soft bounds.
    c2c_rel : float >= 0
        Cycle-to-cycle relative standard deviation of each pulse's step (aihwkit's
        ``dw_min_std``: 1.0 is a standard deviation of one whole step).
    exp_a, exp_b : float
        Slope and offset of the exponential-step coordinate ``z = exp_a (2 u - 1) + exp_b``
        (aihwkit ``ExpStepDevice``'s ``a`` and ``b``, with ``2 w / (b_max - b_min)`` read as
        ``2 u - 1`` on the device's own window).
    exp_amp_up, exp_amp_down : float
        Amplitudes ``A_up``, ``A_down`` of the exponential step factors
        ``y_up = max(0, 1 - A_up exp(gamma_up z))`` and
        ``y_down = max(0, 1 - A_down exp(-gamma_down z))``; 0 turns the factor off (y = 1).
    exp_gamma_up, exp_gamma_down : float
        Rates ``gamma_up``, ``gamma_down`` of those factors.
    c2c_add_steps, c2c_slope : float >= 0
        aihwkit's complex cycle-to-cycle noise (``ExpStepDevice``'s ``dw_min_std_add`` and
        ``dw_min_std_slope``): the std of a pulse's step becomes
        ``c2c_rel (|dG| + c2c_add_steps s_nom + c2c_slope (G - g_lo))``, ``s_nom`` the nominal
        step and ``g_lo`` the device's own lower bound; 0 and 0 is the plain ``c2c_rel |dG|``.
    """

    n_states: int
    step_up_scale: float = 1.0
    step_down_scale: float = 1.0
    nonlinearity_up: float = 0.0
    nonlinearity_down: float = 0.0
    c2c_rel: float = 0.0
    exp_a: float = 0.0
    exp_b: float = 0.0
    exp_amp_up: float = 0.0
    exp_amp_down: float = 0.0
    exp_gamma_up: float = 0.0
    exp_gamma_down: float = 0.0
    c2c_add_steps: float = 0.0
    c2c_slope: float = 0.0

    def __post_init__(self) -> None:
        check.integer("n_states", self.n_states, minimum=1)
        check.positive("step_up_scale", self.step_up_scale)
        check.positive("step_down_scale", self.step_down_scale)
        check.fraction("nonlinearity_up", self.nonlinearity_up)
        check.fraction("nonlinearity_down", self.nonlinearity_down)
        check.non_negative("c2c_rel", self.c2c_rel)
        check.non_negative("c2c_add_steps", self.c2c_add_steps)
        check.non_negative("c2c_slope", self.c2c_slope)
        for name in ("exp_a", "exp_b", "exp_amp_up", "exp_amp_down", "exp_gamma_up", "exp_gamma_down"):
            check.real(name, getattr(self, name))


@dataclass(frozen=True)
class VariationParams:
    """Device-to-device variation, sampled once at fabrication.

    Parameters
    ----------
    bounds_rel : float >= 0
        Relative std of each device's g_min and g_max around the nominal ones.
    step_rel : float >= 0
        Std of each device's up and down step factors (drawn independently): normal
        ``1 + step_rel N`` or, with ``step_lognormal``, ``exp(step_rel N)`` (aihwkit's
        ``dw_min_dtod`` and ``dw_min_dtod_log_normal``).
    stuck_at_min_fraction, stuck_at_max_fraction : float in [0, 1]
        Fractions of devices stuck at g_min / g_max; see :class:`StuckCode`.
    lo_window_rel, hi_window_rel : float >= 0
        Further std of each device's lower / upper bound in units of the nominal window
        ``g_max - g_min`` (aihwkit's ``w_min_dtod`` / ``w_max_dtod`` are relative to a half
        window, so they translate halved), added to ``bounds_rel``'s spread.
    step_lognormal : bool
        Draw the step factors lognormal instead of normal.
    stuck_fixed_fraction : float in [0, 1]
        Fraction of corrupt devices (``StuckCode.FIXED``) whose bounds collapse onto one
        value uniform within ``fixed_range_rel`` of the window around mid-window (aihwkit's
        ``corrupt_devices_prob`` and ``corrupt_devices_range``, the latter halved like the
        bounds).  The three stuck fractions must sum to <= 1.
    fixed_range_rel : float in [0, 0.5]
        Half-width of that range, in units of the nominal window.
    """

    bounds_rel: float = 0.0
    step_rel: float = 0.0
    stuck_at_min_fraction: float = 0.0
    stuck_at_max_fraction: float = 0.0
    lo_window_rel: float = 0.0
    hi_window_rel: float = 0.0
    step_lognormal: bool = False
    stuck_fixed_fraction: float = 0.0
    fixed_range_rel: float = 0.0

    def __post_init__(self) -> None:
        check.non_negative("bounds_rel", self.bounds_rel)
        if self.bounds_rel >= 0.5:
            raise ValueError(
                f"bounds_rel must be < 0.5 (larger spreads make g_min > g_max common); "
                f"got bounds_rel={self.bounds_rel:.6g}."
            )
        check.non_negative("step_rel", self.step_rel)
        check.fraction("stuck_at_min_fraction", self.stuck_at_min_fraction)
        check.fraction("stuck_at_max_fraction", self.stuck_at_max_fraction)
        check.non_negative("lo_window_rel", self.lo_window_rel)
        check.non_negative("hi_window_rel", self.hi_window_rel)
        if not isinstance(self.step_lognormal, bool):
            raise TypeError(f"step_lognormal must be a bool; got {self.step_lognormal!r}.")
        check.fraction("stuck_fixed_fraction", self.stuck_fixed_fraction)
        check.fraction("fixed_range_rel", self.fixed_range_rel)
        if self.fixed_range_rel > 0.5:
            raise ValueError(
                f"fixed_range_rel must be <= 0.5; got fixed_range_rel={self.fixed_range_rel:.6g}."
            )
        total = self.stuck_at_min_fraction + self.stuck_at_max_fraction + self.stuck_fixed_fraction
        if total > 1.0:
            raise ValueError(
                "stuck_at_min_fraction + stuck_at_max_fraction + stuck_fixed_fraction must be <= 1; "
                f"got {self.stuck_at_min_fraction:.6g} + {self.stuck_at_max_fraction:.6g} + "
                f"{self.stuck_fixed_fraction:.6g} = {total:.6g}."
            )


@dataclass(frozen=True)
class NoiseParams:
    """Programming and read noise.

    Parameters
    ----------
    program_noise_rel : float >= 0
        Std of a directly written conductance, relative to g_max.
    program_noise_poly : tuple of float
        Further terms of that std, ``g_max (program_noise_rel + sum_k c_k x**(k+1))`` with
        ``x = G_target / g_max`` (aihwkit's ``PCMLikeNoiseModel`` polynomial over its g_max).
    read_noise_rel : float >= 0
        Read-noise amplitude ``q`` relative to G: the std of each read for the ``"white"`` and
        ``"rtn"`` laws, the 1/f coefficient (relative power ``q**2 / f``) for ``"pink"``.
    read_noise_law : {"white", "pink", "rtn"}
        Statistics in read time (:mod:`neuromorph.hardware.noise` states and cites each):
        ``"white"`` re-draws every read independently (the exact per-column fast path);
        ``"pink"`` is 1/f noise that grows since programming as
        ``sqrt(ln((t + t_r) / (2 t_r)))`` (aihwkit ``PCMLikeNoiseModel``); ``"rtn"`` is one
        two-state random telegraph fluctuator per device.
    read_noise_exponent : float >= 0
        State dependence: ``q(G) = min(read_noise_rel / max((G/g_max)**exponent, 1e-3),
        read_noise_max_rel)``; 0 keeps ``q`` constant (aihwkit PCM: ``q_s`` with 0.0088,
        0.65 and 0.2).
    read_noise_max_rel : float > 0 or None
        Cap of ``q(G)``; None is no cap.
    pink_block_ratio : int >= 2
        Ratio of the correlation times of successive 1/f components (10: one per decade).
    rtn_tau_up_s, rtn_tau_down_s : float > 0
        Mean dwell times of a telegraph fluctuator in its up and down state, seconds.
    t_read_s : float > 0
        Duration of one read as the noise sees it: the read clock advances by it per read and
        the 1/f band ends at ``1 / (2 t_read_s)`` (aihwkit's ``t_read``, 250 ns; default the
        chip cost model's 100 ns read).
    """

    program_noise_rel: float = 0.0
    read_noise_rel: float = 0.0
    program_noise_poly: tuple[float, ...] = ()
    read_noise_law: Literal["white", "pink", "rtn"] = "white"
    read_noise_exponent: float = 0.0
    read_noise_max_rel: float | None = None
    #: Default one component per decade: the classical minimal sum of relaxations giving
    #: 1/f (Dutta & Horn, Rev. Mod. Phys. 53, 497 (1981)); see neuromorph.hardware.noise.
    pink_block_ratio: int = 10
    #: Illustrative dwell times (1 us, 10 reads of 100 ns): RTN in HfOx cells switches on
    #: time scales from microseconds to seconds (Ambrogio et al., IEEE TED 61(8), 2920 (2014)).
    rtn_tau_up_s: float = 1.0e-6
    rtn_tau_down_s: float = 1.0e-6
    t_read_s: float = 100e-9

    def __post_init__(self) -> None:
        check.non_negative("program_noise_rel", self.program_noise_rel)
        check.non_negative("read_noise_rel", self.read_noise_rel)
        if self.read_noise_law not in READ_NOISE_LAWS:
            raise ValueError(f"read_noise_law must be one of {READ_NOISE_LAWS}; got {self.read_noise_law!r}.")
        check.non_negative("read_noise_exponent", self.read_noise_exponent)
        if self.read_noise_max_rel is not None:
            check.positive("read_noise_max_rel", self.read_noise_max_rel)
        check.integer("pink_block_ratio", self.pink_block_ratio, minimum=2)
        check.positive("rtn_tau_up_s", self.rtn_tau_up_s)
        check.positive("rtn_tau_down_s", self.rtn_tau_down_s)
        check.positive("t_read_s", self.t_read_s)
        for k, c in enumerate(self.program_noise_poly):
            check.real(f"program_noise_poly[{k}]", c)


@dataclass(frozen=True)
class DriftParams:
    """Power-law retention drift ``G(t) = G_prog ((t_eq + t0)/t0)^-nu``.

    The exponent of a device is ``nu = |mu + sigma N|`` with ``N`` a standard normal and,
    for ``x = G / g_max`` (nominal g_max, ``x >= 1e-7``),
    ``mu = clip(nu_mean + nu_log_slope ln x, nu_min, nu_max)`` and
    ``sigma = clip(nu_std + std_log_slope ln x, std_min, std_max)`` (aihwkit's
    ``PCMLikeNoiseModel.generate_drift_coefficients``).  With both slopes 0 the law is
    constant and each device draws ``nu = |nu_mean + nu_std N|`` once, at fabrication; with
    a slope, ``nu`` is redrawn from the state every time the device is programmed (pulses,
    write-verify, direct write), as aihwkit draws it at programming from the target.

    Parameters
    ----------
    nu_mean, nu_std : float
        Offsets of the mean and the std of the exponent (the constant law when the slopes
        are 0, where they must be >= 0).
    t0_s : float > 0
        Reference time of the power law (also the time unit of :class:`RelaxationParams`), s.
    ea_drift_ev : float >= 0
        Activation energy of the Arrhenius acceleration of retention time (drift or
        relaxation), eV.
    nu_log_slope, std_log_slope : float
        Slopes of the mean and std in ``ln x``.
    nu_min, nu_max, std_min, std_max : float >= 0
        Clip ranges of the mean and std (used only with a slope).
    """

    nu_mean: float = 0.0
    nu_std: float = 0.0
    t0_s: float = 20.0
    ea_drift_ev: float = 0.0
    nu_log_slope: float = 0.0
    std_log_slope: float = 0.0
    nu_min: float = 0.0
    nu_max: float = 1.0
    std_min: float = 0.0
    std_max: float = 1.0

    def __post_init__(self) -> None:
        check.real("nu_log_slope", self.nu_log_slope)
        check.real("std_log_slope", self.std_log_slope)
        if self.state_dependent:
            check.real("nu_mean", self.nu_mean)
            check.real("nu_std", self.nu_std)
        else:
            check.non_negative("nu_mean", self.nu_mean)
            check.non_negative("nu_std", self.nu_std)
        check.positive("t0_s", self.t0_s)
        check.non_negative("ea_drift_ev", self.ea_drift_ev)
        for lo, hi in (("nu_min", "nu_max"), ("std_min", "std_max")):
            check.non_negative(lo, getattr(self, lo))
            check.non_negative(hi, getattr(self, hi))
            if getattr(self, lo) > getattr(self, hi):
                raise ValueError(
                    f"{lo} must be <= {hi}; got {lo}={getattr(self, lo):.6g}, {hi}={getattr(self, hi):.6g}."
                )

    @property
    def state_dependent(self) -> bool:
        """Whether the exponent depends on the state (and is redrawn at programming)."""
        return self.nu_log_slope != 0.0 or self.std_log_slope != 0.0

    @property
    def active(self) -> bool:
        """Whether any device drifts."""
        return self.state_dependent or self.nu_mean != 0.0 or self.nu_std != 0.0


@dataclass(frozen=True)
class RelaxationParams:
    """Log-time relaxation and broadening of a programmed conductance (filamentary RRAM).

    ``G(t) = G_prog + shift_per_ln_s L + z (std_per_ln_s L + std_at_t0_s)`` for
    ``t_eq > 0``, ``L = ln(max(t_eq, t0) / t0)`` (``t0`` and the thermal acceleration from
    :class:`DriftParams`), clipped at 0; ``z`` is a standard normal per device, drawn every
    time the device is programmed.  The population of devices programmed to one level thus
    shifts by ``shift_per_ln_s`` and broadens by ``std_per_ln_s`` per e-fold of time
    (aihwkit's ``ReRamCMONoiseModel``: mean ``g_prog - 0.089 ln t`` uS, std
    ``0.042 ln t + 0.4118`` uS, t in seconds; Falcone et al. 2025).  The model is fitted
    from ``t0`` (1 s) on; before ``t0`` it holds its ``t0`` value; at ``t_eq = 0`` there is
    no relaxation yet.  A device relaxes or drifts, not both.

    Parameters
    ----------
    shift_per_ln_s : float
        Mean conductance change per e-fold of time, siemens (negative: decay).
    std_per_ln_s, std_at_t0_s : float >= 0
        Growth of the spread per e-fold of time, and the spread at ``t0``, siemens.
    """

    shift_per_ln_s: float = 0.0
    std_per_ln_s: float = 0.0
    std_at_t0_s: float = 0.0

    def __post_init__(self) -> None:
        check.real("shift_per_ln_s", self.shift_per_ln_s)
        check.non_negative("std_per_ln_s", self.std_per_ln_s)
        check.non_negative("std_at_t0_s", self.std_at_t0_s)

    @property
    def active(self) -> bool:
        """Whether any device relaxes."""
        return self.shift_per_ln_s != 0.0 or self.std_per_ln_s != 0.0 or self.std_at_t0_s != 0.0


@dataclass(frozen=True)
class EnduranceParams:
    """Write endurance: each device survives a budget of programming pulses.

    At fabrication every device draws its budget ``median_pulses * exp(sigma_ln N)``
    (lognormal); once the pulses sent to it exceed the budget, it sticks where it is
    (:attr:`StuckCode.FIXED`).  Every pulse counts, whatever its polarity or size.

    Parameters
    ----------
    median_pulses : float > 0 or None
        Median budget; None is a device that never wears out.
    sigma_ln : float >= 0
        Std of the budget's natural logarithm.
    """

    median_pulses: float | None = None
    sigma_ln: float = 0.0

    def __post_init__(self) -> None:
        if self.median_pulses is not None:
            check.positive("median_pulses", self.median_pulses)
        check.non_negative("sigma_ln", self.sigma_ln)


@dataclass(frozen=True)
class OneSidedParams:
    """A device programmed one way: gradual SET (potentiation) pulses, an abrupt RESET.

    Phase-change cells crystallise gradually under SET pulses but amorphise all at once under
    a RESET (Burr et al. 2016; Nandakumar et al. 2020), so a pair of them holds a weight as
    ``G+ - G-`` with SET pulses only: a positive update SETs G+, a negative one SETs G-, and
    neither device ever steps down gradually.  As both devices climb, the pair is
    *refreshed*: when the higher device reads above ``refresh_upper`` of the nominal window
    and the lower above ``refresh_lower`` (aihwkit's ``OneSidedUnitCell`` criterion), both
    are RESET and the measured difference is re-programmed onto one device by SET-only
    program-and-verify (:mod:`neuromorph.hardware.onesided`).

    A RESET leaves a device at ``g_lo + (g_hi - g_lo) (reset_rel + reset_std_rel N)``,
    clipped to its own ``[g_lo, g_hi]``, ``N`` a standard normal per RESET (aihwkit's
    ``reset`` and ``reset_std``, halved like the bounds: see :mod:`neuromorph.hardware.presets`).
    A device's pulse law (:class:`PulseParams`) then acts only through its up (SET) terms.

    Parameters
    ----------
    reset_rel, reset_std_rel : float in [0, 1]
        Mean and cycle-to-cycle std of the RESET level above the lower bound, in units of the
        device's own window.
    refresh_upper, refresh_lower : float in [0, 1]
        Refresh thresholds on the higher and the lower device of a pair, as fractions of the
        nominal window; ``refresh_lower <= refresh_upper``.
    """

    reset_rel: float = 0.0
    reset_std_rel: float = 0.0
    refresh_upper: float = 0.75
    refresh_lower: float = 0.25

    def __post_init__(self) -> None:
        check.fraction("reset_rel", self.reset_rel)
        check.fraction("reset_std_rel", self.reset_std_rel)
        check.fraction("refresh_upper", self.refresh_upper)
        check.fraction("refresh_lower", self.refresh_lower)
        if self.refresh_lower > self.refresh_upper:
            raise ValueError(
                "refresh_lower must be <= refresh_upper; "
                f"got refresh_lower={self.refresh_lower:.6g}, refresh_upper={self.refresh_upper:.6g}."
            )


@dataclass(frozen=True)
class TemperatureParams:
    """State-dependent temperature law of conductance: two conduction paths.

    Each path has the law ``f_k(T) = (1 + alpha_k (T - T_ref)) exp(-Ea_k / k_B (1/T - 1/T_ref))``,
    ``k`` = low (the conduction left in the lowest state: RRAM HRS hopping, PCM amorphous) or
    high (what the high states add: RRAM metallic filament, PCM crystalline).  A device at
    ``G`` (siemens, at T_ref) is seen at T as

    * ``paths="parallel"``: ``G(T) = g_b f_low(T) + (G - g_b) f_high(T)``, ``g_b = min(G, g_min)``
      (a conductive path of the high state in parallel with a background of at most the nominal
      low-state conductance ``g_min``);
    * ``paths="series"``: ``G(T) = 1 / (r_h / f_high(T) + (1/G - r_h) / f_low(T))``,
      ``r_h = min(1/G, 1/g_max)`` (the fully set cell ``1/g_max`` in series with what the lower
      states add, e.g. PCM's amorphous plug over the heater);

    ``g_min``, ``g_max`` the device model's nominal bounds.  So the share of each law follows
    the conduction model, not the position in the window: in parallel, a device 15 % below
    ``g_max`` still conducts ~99 % through the high path.  When both laws are equal the split
    does not matter and ``G(T) = G f(T)``.

    Parameters
    ----------
    t_ref_k : float > 0
        Reference temperature at which conductances are programmed and specified, K.
    alpha_low_per_k, alpha_high_per_k : float
        Linear temperature coefficient of the low-state and high-state paths, 1/K.
    ea_low_ev, ea_high_ev : float >= 0
        Arrhenius activation energy of the low-state and high-state paths, eV.
    paths : {"parallel", "series"}
        How a state's conductance splits between the paths.
    """

    t_ref_k: float = 300.0
    alpha_low_per_k: float = 0.0
    alpha_high_per_k: float = 0.0
    ea_low_ev: float = 0.0
    ea_high_ev: float = 0.0
    paths: Literal["parallel", "series"] = "parallel"

    def __post_init__(self) -> None:
        check.temperature("t_ref_k", self.t_ref_k)
        check.real("alpha_low_per_k", self.alpha_low_per_k)
        check.real("alpha_high_per_k", self.alpha_high_per_k)
        check.non_negative("ea_low_ev", self.ea_low_ev)
        check.non_negative("ea_high_ev", self.ea_high_ev)
        if self.paths not in CONDUCTION_PATHS:
            raise ValueError(f"paths must be one of {CONDUCTION_PATHS}; got {self.paths!r}.")

    def path_factors(self, temperature_k: float) -> tuple[float, float]:
        """``(f_low(T), f_high(T))``: each path's conductance at ``temperature_k`` over at T_ref."""
        d_t = temperature_k - self.t_ref_k
        x = (1.0 / temperature_k - 1.0 / self.t_ref_k) / K_B_EV
        return (
            (1.0 + self.alpha_low_per_k * d_t) * math.exp(-self.ea_low_ev * x),
            (1.0 + self.alpha_high_per_k * d_t) * math.exp(-self.ea_high_ev * x),
        )

    def valid_range_k(self) -> tuple[float, float]:
        """Temperatures where both linear factors ``1 + alpha (T - T_ref)`` stay > 0."""
        lo, hi = 0.0, math.inf
        for alpha in (self.alpha_low_per_k, self.alpha_high_per_k):
            if alpha > 0:
                lo = max(lo, self.t_ref_k - 1.0 / alpha)
            elif alpha < 0:
                hi = min(hi, self.t_ref_k - 1.0 / alpha)
        return lo, hi

    def check_temperature(self, temperature_k: float) -> float:
        """Validate ``temperature_k`` against this law; return it as float."""
        temperature_k = check.temperature("temperature_k", temperature_k)
        lo, hi = self.valid_range_k()
        if not lo < temperature_k < hi:
            raise ValueError(
                f"temperature_k must be in ({lo:.6g}, {hi:.6g}) K for this device's linear "
                f"temperature coefficient; got temperature_k={temperature_k:.6g}."
            )
        return temperature_k


@dataclass(frozen=True)
class DeviceModel:
    """A device technology: the composition of its effects.

    ``source`` says where every number comes from (each preset cites its sources there).
    """

    name: str
    conductance: ConductanceRange
    pulse: PulseParams
    variation: VariationParams = field(default_factory=VariationParams)
    noise: NoiseParams = field(default_factory=NoiseParams)
    drift: DriftParams = field(default_factory=DriftParams)
    temperature: TemperatureParams = field(default_factory=TemperatureParams)
    source: str = ""
    relaxation: RelaxationParams = field(default_factory=RelaxationParams)
    endurance: EnduranceParams = field(default_factory=EnduranceParams)
    #: None: a bidirectional device (gradual up and down pulses); else SET-only pairs.
    one_sided: OneSidedParams | None = None

    def __post_init__(self) -> None:
        for name, kind in (
            ("conductance", ConductanceRange),
            ("pulse", PulseParams),
            ("variation", VariationParams),
            ("noise", NoiseParams),
            ("drift", DriftParams),
            ("temperature", TemperatureParams),
            ("relaxation", RelaxationParams),
            ("endurance", EnduranceParams),
        ):
            value = getattr(self, name)
            if not isinstance(value, kind):
                raise TypeError(f"{name} must be a {kind.__name__}; got {type(value).__name__}.")
        if self.one_sided is not None and not isinstance(self.one_sided, OneSidedParams):
            kind = type(self.one_sided).__name__
            raise TypeError(f"one_sided must be a OneSidedParams or None; got {kind}.")
        if self.drift.active and self.relaxation.active:
            raise ValueError(
                "drift and relaxation must not both be active (a device has one retention law); "
                f"got drift={self.drift}, relaxation={self.relaxation}."
            )

    @property
    def step_s(self) -> float:
        """Nominal conductance step of one pulse, siemens."""
        return (self.conductance.g_max_s - self.conductance.g_min_s) / self.pulse.n_states

    def with_(self, **changes) -> DeviceModel:
        """A copy with some effects replaced, e.g. ``RRAM_HFO2.with_(noise=NoiseParams())``."""
        return replace(self, **changes)


# The cited presets live in :mod:`neuromorph.hardware.presets` (they need every class above);
# their names stay importable from here.
_PRESET_NAMES = frozenset(
    {"RRAM_HFO2", "RRAM_HFO2_ARRAY", "RRAM_OM_ARRAY", "PCM_GST", "IDEAL", "PRESETS", "preset"}
)


def __getattr__(name: str):
    if name in _PRESET_NAMES:
        from neuromorph.hardware import presets

        return getattr(presets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
