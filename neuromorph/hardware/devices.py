"""Device physics of one memristive cell, and cited presets (layer 1).

Each physical effect is a small frozen parameter class in SI units, validated on
construction; a :class:`DeviceModel` composes them.  The kernels that evaluate the laws on
whole arrays live in :mod:`neuromorph.hardware._kernels`; the laws themselves are stated here.

Laws
----
Let ``u = (G - g_min) / (g_max - g_min)`` be a device's normalised state.

* **Pulse update** (soft/hard-bound family; aihwkit's ``SoftBoundsDevice`` and NeuroSim's
  exponential LTP/LTD curve are its two ends).  One potentiating pulse adds
  ``dG = s_up * (1 - a_up * u) * (1 + c2c * eps)``, one depressing pulse subtracts
  ``dG = s_down * (1 - a_down * (1 - u)) * (1 + c2c * eps)``, ``eps ~ N(0, 1)`` per
  pulse, then ``G`` is clipped to the device's own ``[g_min, g_max]``.  ``a = 0`` is a
  linear device with hard bounds, ``a = 1`` a soft-bounds device whose step vanishes at the
  bound (the curve ``G(P) = g_max - (g_max - g_min) (1 - s/Δg)^P``, NeuroSim's
  exponential form).  ``s_up != s_down`` or ``a_up != a_down`` is asymmetry.
* **Retention drift** (aihwkit's PCM inference model, Nandakumar et al., ICECS 2019):
  ``G(t) = G_prog * ((t_eq + t0) / t0) ** -nu`` with per-device ``nu``; ``t_eq`` is the
  time since programming, thermally accelerated:
  ``t_eq = integral exp(Ea_drift / k_B * (1/T_ref - 1/T(t))) dt``.
* **Temperature** of conductance, state dependent (metallic filaments and semiconducting
  gaps differ): ``G(T) = G * (1 + alpha(u) (T - T_ref)) * exp(-Ea(u)/k_B (1/T - 1/T_ref))``
  with ``alpha`` and ``Ea`` interpolated linearly in ``u`` between their low-state
  (``u = 0``) and high-state (``u = 1``) values.
* **Read noise**: each read of a device sees ``G * (1 + read_noise_rel * eps)``, re-drawn
  every read.  **Programming noise**: a directly written device lands at
  ``G_target + program_noise_rel * g_max * eps``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import IntEnum

from neuromorph import _validate as check

#: Boltzmann constant in eV/K (CODATA 2018, exact in the 2019 SI).
K_B_EV = 8.617333262e-5


class StuckCode(IntEnum):
    """Stuck-at fault of one device, as stored per device (int8) and read by the kernels.

    A stuck device ignores programming pulses and sits at its own bound (drift and the
    temperature law still act on what a read sees).
    """

    #: Programmable.
    NONE = 0
    #: Stuck at its own lower bound ``g_lo``.
    LOW = 1
    #: Stuck at its own upper bound ``g_hi``.
    HIGH = 2


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
        Cycle-to-cycle relative standard deviation of each pulse's step.
    """

    n_states: int
    step_up_scale: float = 1.0
    step_down_scale: float = 1.0
    nonlinearity_up: float = 0.0
    nonlinearity_down: float = 0.0
    c2c_rel: float = 0.0

    def __post_init__(self) -> None:
        check.integer("n_states", self.n_states, minimum=1)
        check.positive("step_up_scale", self.step_up_scale)
        check.positive("step_down_scale", self.step_down_scale)
        check.fraction("nonlinearity_up", self.nonlinearity_up)
        check.fraction("nonlinearity_down", self.nonlinearity_down)
        check.non_negative("c2c_rel", self.c2c_rel)


@dataclass(frozen=True)
class VariationParams:
    """Device-to-device variation, sampled once at fabrication.

    Parameters
    ----------
    bounds_rel : float >= 0
        Relative std of each device's g_min and g_max around the nominal ones.
    step_rel : float >= 0
        Relative std of each device's up and down step sizes (drawn independently).
    stuck_at_min_fraction, stuck_at_max_fraction : float in [0, 1]
        Fractions of devices stuck at g_min / g_max (their sum must be <= 1); see
        :class:`StuckCode`.
    """

    bounds_rel: float = 0.0
    step_rel: float = 0.0
    stuck_at_min_fraction: float = 0.0
    stuck_at_max_fraction: float = 0.0

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
        total = self.stuck_at_min_fraction + self.stuck_at_max_fraction
        if total > 1.0:
            raise ValueError(
                "stuck_at_min_fraction + stuck_at_max_fraction must be <= 1; "
                f"got {self.stuck_at_min_fraction:.6g} + {self.stuck_at_max_fraction:.6g} "
                f"= {total:.6g}."
            )


@dataclass(frozen=True)
class NoiseParams:
    """Programming and read noise.

    Parameters
    ----------
    program_noise_rel : float >= 0
        Std of a directly written conductance, relative to g_max.
    read_noise_rel : float >= 0
        Relative std of a device's conductance on each read (re-drawn every read).
    """

    program_noise_rel: float = 0.0
    read_noise_rel: float = 0.0

    def __post_init__(self) -> None:
        check.non_negative("program_noise_rel", self.program_noise_rel)
        check.non_negative("read_noise_rel", self.read_noise_rel)


@dataclass(frozen=True)
class DriftParams:
    """Power-law retention drift ``G(t) = G_prog ((t_eq + t0)/t0)^-nu``.

    Parameters
    ----------
    nu_mean, nu_std : float >= 0
        Mean and device-to-device std of the drift exponent; each device draws
        ``nu = |N(nu_mean, nu_std)|`` at fabrication (aihwkit's folded normal).
    t0_s : float > 0
        Reference time of the power law, seconds.
    ea_drift_ev : float >= 0
        Activation energy of the Arrhenius acceleration of drift time, eV.
    """

    nu_mean: float = 0.0
    nu_std: float = 0.0
    t0_s: float = 20.0
    ea_drift_ev: float = 0.0

    def __post_init__(self) -> None:
        check.non_negative("nu_mean", self.nu_mean)
        check.non_negative("nu_std", self.nu_std)
        check.positive("t0_s", self.t0_s)
        check.non_negative("ea_drift_ev", self.ea_drift_ev)


@dataclass(frozen=True)
class TemperatureParams:
    """State-dependent temperature law of conductance (see the module docstring).

    Parameters
    ----------
    t_ref_k : float > 0
        Reference temperature at which conductances are programmed and specified, K.
    alpha_low_per_k, alpha_high_per_k : float
        Linear temperature coefficient of conductance at ``u = 0`` and ``u = 1``, 1/K.
    ea_low_ev, ea_high_ev : float >= 0
        Arrhenius activation energy of conduction at ``u = 0`` and ``u = 1``, eV.
    """

    t_ref_k: float = 300.0
    alpha_low_per_k: float = 0.0
    alpha_high_per_k: float = 0.0
    ea_low_ev: float = 0.0
    ea_high_ev: float = 0.0

    def __post_init__(self) -> None:
        check.temperature("t_ref_k", self.t_ref_k)
        check.real("alpha_low_per_k", self.alpha_low_per_k)
        check.real("alpha_high_per_k", self.alpha_high_per_k)
        check.non_negative("ea_low_ev", self.ea_low_ev)
        check.non_negative("ea_high_ev", self.ea_high_ev)

    def valid_range_k(self) -> tuple[float, float]:
        """Temperatures where the linear factor ``1 + alpha (T - T_ref)`` stays > 0."""
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

    def __post_init__(self) -> None:
        for name, kind in (
            ("conductance", ConductanceRange),
            ("pulse", PulseParams),
            ("variation", VariationParams),
            ("noise", NoiseParams),
            ("drift", DriftParams),
            ("temperature", TemperatureParams),
        ):
            value = getattr(self, name)
            if not isinstance(value, kind):
                raise TypeError(f"{name} must be a {kind.__name__}; got {type(value).__name__}.")

    @property
    def step_s(self) -> float:
        """Nominal conductance step of one pulse, siemens."""
        return (self.conductance.g_max_s - self.conductance.g_min_s) / self.pulse.n_states

    def with_(self, **changes) -> DeviceModel:
        """A copy with some effects replaced, e.g. ``RRAM_HFO2.with_(noise=NoiseParams())``."""
        return replace(self, **changes)


_RRAM_SOURCE = """HfO2 filamentary RRAM in the analog (multi-level) regime.

* g_min 1 uS .. g_max 100 uS (10 kOhm LRS to 1 MOhm HRS): the analog window of HfOx/TaOx
  1T1R arrays, Yao et al., Nature 577, 641 (2020), and Li et al., Nature Commun. 9, 2385
  (2018) (Ta/HfO2 crossbars programmed 1..100s of uS).
* 128 states, nonlinearity up/down, c2c 3.7 %: DNN+NeuroSim V2.0 (Peng, Huang, Luo, Yu,
  IEEE TCAD 2021, Table of devices) lists TaOx/HfOx with 128 levels, NL 0.04/-0.63 and
  c2c 3.7 %; we use a stronger soft bound (0.3 up, 0.6 down) and step asymmetry 1.2, in
  line with aihwkit's ``ReRamESPresetDevice`` fit to Gong et al., Nature Commun. 9, 2102
  (2018) (up_down asymmetry 0.26), and a c2c of 30 % per pulse: aihwkit's fit has
  dw_min_std 5.0 (500 %) for that HfO2 data; 30 % is our conservative middle.
* d2d: step 30 %, bounds 10 % (aihwkit ``ReRamSBPresetDevice``: dw_min_dtod 0.3,
  w_max_dtod 0.24); stuck-at 0.5 % each way (Yao et al. 2020 report ~1 % unusable cells).
* programming noise 1 % of g_max after write-verify and read noise 1 % of G: random
  telegraph noise in HfOx cells, Ambrogio et al., IEEE TED 61(8), 2920 (2014).
* drift nu 0.005 +/- 0.002 with t0 = 1 s and Ea_drift 1.0 eV: illustrative values for the
  slow conductance relaxation of HfOx RRAM (Zhao et al., IEDM 2017, "Investigation of
  statistical retention of filamentary analog RRAM"); not a fitted model.
* temperature: the LRS conductance falls with T (metallic filament, dR/R ~ +1e-3 /K) and
  the HRS is thermally activated with Ea ~ 0.1 eV: Walczyk et al., IEEE TED 58(9), 3124
  (2011), and Fang et al., IEEE EDL 31(5), 476 (2010).
"""

RRAM_HFO2 = DeviceModel(
    name="rram_hfo2",
    conductance=ConductanceRange(g_min_s=1.0e-6, g_max_s=1.0e-4),
    pulse=PulseParams(
        n_states=128,
        step_up_scale=1.0,
        step_down_scale=1.2,
        nonlinearity_up=0.3,
        nonlinearity_down=0.6,
        c2c_rel=0.3,
    ),
    variation=VariationParams(
        bounds_rel=0.1, step_rel=0.3, stuck_at_min_fraction=0.005, stuck_at_max_fraction=0.005
    ),
    noise=NoiseParams(program_noise_rel=0.01, read_noise_rel=0.01),
    drift=DriftParams(nu_mean=0.005, nu_std=0.002, t0_s=1.0, ea_drift_ev=1.0),
    temperature=TemperatureParams(
        t_ref_k=300.0,
        alpha_low_per_k=0.0,
        alpha_high_per_k=-1.0e-3,
        ea_low_ev=0.1,
        ea_high_ev=0.0,
    ),
    source=_RRAM_SOURCE,
)

_PCM_SOURCE = """Ge2Sb2Te5 phase-change memory, as in aihwkit's PCM inference model.

* g_max 25 uS, t0 = 20 s, drift nu ~ 0.05 (the mean of aihwkit's
  ``mu = clip(-0.0155 ln g + 0.0244, 0.049, 0.1)`` at mid range) with spread 0.02 and
  programming noise ~3 % of g_max (its polynomial at mid range): Nandakumar et al.,
  "Phase-change memory models for deep learning training and inference", ICECS 2019.
* Gradual, strongly saturating SET (~40 partial-SET pulses, soft bound 0.8) and an abrupt
  RESET (one depressing pulse spans half the window): Nandakumar et al., J. Appl. Phys.
  124, 152135 (2018); c2c 40 % reflects their large pulse-to-pulse variability.
* read noise 1.5 % of G: aihwkit's 1/f read noise ``q_s = min(0.0088/g^0.65, 0.2)`` at
  mid range (~1.4 %).
* temperature: conduction in amorphous GST is thermally activated with Ea ~ 0.3 eV, the
  crystalline (high) state ~0.05 eV: Ielmini & Zhang, J. Appl. Phys. 102, 054517 (2007).
  Drift accelerates with T (structural relaxation); Ea_drift 1.0 eV is an illustrative
  value after Ielmini, Lacaita & Mantegazza, IEEE TED 54(2), 308 (2007).
* d2d and stuck-at fractions are illustrative (no single source), chosen like RRAM_HFO2's.
"""

PCM_GST = DeviceModel(
    name="pcm_gst",
    conductance=ConductanceRange(g_min_s=0.1e-6, g_max_s=25.0e-6),
    pulse=PulseParams(
        n_states=40,
        step_up_scale=1.0,
        step_down_scale=20.0,
        nonlinearity_up=0.8,
        nonlinearity_down=0.0,
        c2c_rel=0.4,
    ),
    variation=VariationParams(
        bounds_rel=0.05, step_rel=0.3, stuck_at_min_fraction=0.005, stuck_at_max_fraction=0.0
    ),
    noise=NoiseParams(program_noise_rel=0.03, read_noise_rel=0.015),
    drift=DriftParams(nu_mean=0.05, nu_std=0.02, t0_s=20.0, ea_drift_ev=1.0),
    temperature=TemperatureParams(
        t_ref_k=300.0,
        alpha_low_per_k=0.0,
        alpha_high_per_k=0.0,
        ea_low_ev=0.3,
        ea_high_ev=0.05,
    ),
    source=_PCM_SOURCE,
)

_IDEAL_SOURCE = """An ideal device: linear, symmetric, noiseless, no variation, drift or
temperature dependence.  The range (1..100 uS) is RRAM_HFO2's, so results compare."""

IDEAL = DeviceModel(
    name="ideal",
    conductance=ConductanceRange(g_min_s=1.0e-6, g_max_s=1.0e-4),
    pulse=PulseParams(n_states=1000),
    source=_IDEAL_SOURCE,
)

PRESETS: dict[str, DeviceModel] = {"rram": RRAM_HFO2, "pcm": PCM_GST, "ideal": IDEAL}


def preset(name: str) -> DeviceModel:
    """Return a preset by name: ``"rram"``, ``"pcm"`` or ``"ideal"``."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}; got {name!r}.")
    return PRESETS[name]
