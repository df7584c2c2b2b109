"""Measure a device's pulse response and fit the pulse law to it (layer 1).

:func:`pulse_response` drives fabricated devices with a sequence of single up/down pulses
through a :class:`~neuromorph.hardware.crossbar.Crossbar` (the simulator's own pulse kernel)
and records each device's conductance after every pulse.  :func:`fit_pulse_response` turns
such curves, simulated or measured, into the parameters of the pulse law of
:mod:`neuromorph.hardware.devices`::

    up:    dG = +s_up   (1 - a_up u)       y_up(u)   (1 + c2c eps)
    down:  dG = -s_down (1 - a_down (1-u)) y_down(u) (1 + c2c eps),   u = (G - g_min) / (g_max - g_min),

then G clipped to [g_min, g_max].  Two families are fitted: soft/hard bounds (``a_up``,
``a_down``; ``y = 1``), or the exponential step (``a = 0``;
``y_up = 1 - A_up exp(gamma_up z)``, ``y_down = 1 - A_down exp(-gamma_down z)``,
``z = exp_a (2u - 1) + exp_b``, aihwkit's ``ExpStepDevice``).

Method.  aihwkit's ``aihwkit.utils.fitting.fit_measurements`` simulates the noise-free
response of a device configuration and lets ``lmfit`` (Powell) minimise its distance to the
measured trace, with the device's noise switched off; it fits the mean curve, not the noise.
Here every step ``G_k -> G_{k+1}`` is an observation of the law: the step is Gaussian with
mean ``m(G_k)`` and standard deviation ``c2c |m(G_k)|``, and a step that ends on a bound is
*censored* (it only says that the unclipped step would have crossed the bound).  The fit
maximises that likelihood (a Tobit model) over ``s_up, a_up, s_down, a_down, c2c``, and
over a bound the curves never clip at; a bound they do clip at is measured directly.  A
weighted linear regression of step against state, on the unclipped steps, gives the
starting point (the law is linear in ``u`` for each polarity).  Censoring matters: a
device whose one RESET pulse spans half its window (PCM) clips on most depressing steps,
and a fit that drops the clipped steps would keep only the small ones.

The conductances should be free of read noise (a parametric tester averages reads):
read noise adds to every step and the fit would take it for cycle-to-cycle noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from neuromorph import _validate as check
from neuromorph.hardware.crossbar import Crossbar
from neuromorph.hardware.devices import ConductanceRange, DeviceModel, PulseParams
from neuromorph.hardware.environment import Environment
from neuromorph.hardware.fabrication import DeviceState

__all__ = ["PulseFit", "PulseResponse", "fit_pulse_response", "law_step", "pulse_response", "pulse_train"]

#: A step that ends within this fraction of the observed span of a bound ended on it.
CLIP_TOL_REL = 1e-9
#: A bound counts as a clipping bound (measured directly) when at least this many steps end
#: on it; a single extreme sample is just the highest (or lowest) point of a soft approach.
MIN_CLIPPED_STEPS = 3
#: Floor of a step's standard deviation, as a fraction of the span: keeps the likelihood
#: finite where the mean step vanishes (a soft bound) or the device has no c2c noise.
SD_FLOOR_REL = 1e-9
#: Fraction of the median fitted step below which a fitted step gets no more weight in the
#: starting regression (a soft bound's vanishing step would otherwise dominate it).
REWEIGHT_FLOOR_REL = 0.1
#: Relative RMS residual below which a device counts as noiseless (c2c = 0, no likelihood).
NOISELESS_REL = 1e-9
#: Range of the fitted c2c (relative std of a step) searched by the likelihood.
C2C_RANGE = (1e-4, 20.0)
#: Range of a fitted step, as a fraction of the observed span.
STEP_RANGE_REL = (1e-6, 10.0)
#: Window fractions whose steps the starting regression uses when it has enough of them:
#: near a bound, steps that would have crossed it are clipped and the rest are biased.
START_INTERIOR = (0.1, 0.9)
#: Fewest interior steps of a polarity for the starting regression to keep to the interior.
MIN_START_STEPS = 20
#: Stopping rules of the likelihood search: the mean log likelihood per step changes by
#: ~1e-6 between good and best fits of noisy curves, below L-BFGS-B's default tolerance.
MLE_FTOL, MLE_GTOL, MLE_MAXITER = 1e-13, 1e-9, 2000
#: Pulse laws :func:`fit_pulse_response` fits.
LAWS = ("soft_bounds", "exp_step")
#: Rates ``k`` of the exponential step tried for the starting point (per unit of u).
EXP_RATE_GRID = tuple(float(k) for k in np.linspace(-12.0, 12.0, 97) if k != 0.0)
#: Ranges of the exponential step's amplitude ``A'`` and rate ``k`` searched.
EXP_AMP_RANGE = (-1.0e3, 1.0e3)
EXP_RATE_RANGE = (-30.0, 30.0)
#: How far beyond the observed extremes a bound the curves never clip at may be placed,
#: as a fraction of the observed span.
FREE_BOUND_REACH = 1.0


@dataclass(frozen=True)
class PulseResponse:
    """Conductance of devices after every pulse of a sequence.

    Attributes
    ----------
    conductance_s : ndarray of shape (n_devices, n_pulses + 1), siemens
        Row ``k``: the programmed conductance of device ``k`` before the first pulse and
        after each pulse.  Devices ``2 j`` and ``2 j + 1`` are the G+ and G- devices of pair
        ``j``.
    pulses : ndarray of shape (n_devices, n_pulses), int8
        +1 for a potentiating, -1 for a depressing pulse (the G- device of a pair gets the
        mirror of the G+ device's sequence).
    state : DeviceState
        The devices' hidden state at fabrication (read-only copy): their own bounds, steps
        and stuck codes, for tests and scorers comparing a fit with the truth.
    """

    conductance_s: NDArray[np.float64]
    pulses: NDArray[np.int8]
    state: DeviceState

    def device(self, k: int) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
        """The curve of device ``k``: (conductance (n_pulses + 1,), pulses (n_pulses,))."""
        return self.conductance_s[k], self.pulses[k]


@dataclass(frozen=True)
class PulseFit:
    """A fitted pulse law and how well it fits.

    Attributes
    ----------
    pulse : PulseParams
        Steps expressed in units of ``(g_max - g_min) / n_states``.
    conductance : ConductanceRange
    step_up_s, step_down_s : float
        Fitted ``s_up`` and ``s_down``, siemens.
    clipped_low, clipped_high : bool
        Whether the curves clip at g_min / g_max (the bound is then measured directly; else
        it is extrapolated from the law).
    n_steps, n_censored : int
        Steps used, and those that ended on a bound.
    residual_rel : float
        RMS of ``(step - m) / |m|`` over the unclipped steps at the fitted law: about
        ``c2c_rel`` when the law fits.
    log_likelihood : float
        Per step, at the fit (``nan`` for a noiseless device).
    converged : bool
        Whether the likelihood optimiser reported success (True for a noiseless device).
    """

    pulse: PulseParams
    conductance: ConductanceRange
    step_up_s: float
    step_down_s: float
    clipped_low: bool
    clipped_high: bool
    n_steps: int
    n_censored: int
    residual_rel: float
    log_likelihood: float
    converged: bool

    def device(self, base: DeviceModel, *, name: str | None = None) -> DeviceModel:
        """``base`` with this fit's conductance range and pulse law (other effects kept)."""
        if not isinstance(base, DeviceModel):
            raise TypeError(f"base must be a DeviceModel; got {type(base).__name__}.")
        return base.with_(
            name=base.name if name is None else name, conductance=self.conductance, pulse=self.pulse
        )

    def mean_step(self, u: float, *, up: bool) -> float:
        """Mean step of the fitted law at window fraction ``u`` (signed), siemens."""
        return law_step(self.pulse, self.step_up_s if up else self.step_down_s, check.real("u", u), up)

    def mean_curve(self, g0_s: float, pulses: ArrayLike) -> NDArray[np.float64]:
        """The noise-free response of the fitted law from ``g0_s`` to ``pulses``, siemens."""
        pulses = _check_signs("pulses", check.array("pulses", pulses, ndim=1))
        lo, hi = self.conductance.g_min_s, self.conductance.g_max_s
        p = self.pulse
        out = np.empty(pulses.size + 1)
        g = out[0] = check.real("g0_s", g0_s)
        for k, sign in enumerate(pulses):
            if sign:
                u = (g - lo) / (hi - lo)
                g += law_step(p, self.step_up_s if sign > 0 else self.step_down_s, u, sign > 0)
                g = min(max(g, lo), hi)
            out[k + 1] = g
        return out


def pulse_train(n_up: int, n_down: int, n_cycles: int = 1) -> NDArray[np.int8]:
    """The usual measurement protocol: ``n_cycles`` of ``n_up`` up then ``n_down`` down pulses.

    Returns an int8 array of +1 / -1 of length ``n_cycles * (n_up + n_down)``.
    """
    n_up = check.integer("n_up", n_up, minimum=0)
    n_down = check.integer("n_down", n_down, minimum=0)
    n_cycles = check.integer("n_cycles", n_cycles, minimum=1)
    if n_up + n_down == 0:
        raise ValueError(f"n_up + n_down must be >= 1; got n_up={n_up}, n_down={n_down}.")
    cycle = np.concatenate([np.ones(n_up, dtype=np.int8), -np.ones(n_down, dtype=np.int8)])
    return np.tile(cycle, n_cycles)


def pulse_response(
    device: DeviceModel, pulses: ArrayLike, *, rng: np.random.Generator, n_pairs: int = 1
) -> PulseResponse:
    """Fabricate ``n_pairs`` pairs of ``device`` and record their response to ``pulses``.

    Each pulse of the sequence is one pair update of two pulses (the crossbar's pulse
    kernel): the G+ device gets the pulse, the G- device its mirror.  The crossbar sits at
    its reference temperature and time does not pass, so no drift or temperature law acts.

    Parameters
    ----------
    device : DeviceModel
    pulses : array_like of shape (n_pulses,)
        +1 (potentiate G+) or -1 (depress G+) per step.
    rng : numpy.random.Generator
        Fabrication (d2d variation, stuck devices) and pulse noise.
    n_pairs : int >= 1
    """
    if not isinstance(device, DeviceModel):
        raise TypeError(f"device must be a DeviceModel; got {type(device).__name__}.")
    if device.one_sided is not None:
        raise ValueError(
            "device must be bidirectional (one_sided None): a one-sided device's pairs take "
            f"no down pulses; got device {device.name!r} with one_sided={device.one_sided}."
        )
    signs = _check_signs("pulses", check.array("pulses", pulses, ndim=1))
    check.generator("rng", rng)
    n_pairs = check.integer("n_pairs", n_pairs, minimum=1)
    env = Environment(temperature_k=device.temperature.t_ref_k)
    xbar = Crossbar.fabricate(1, n_pairs, rng=rng, device=device, environment=env)
    state = xbar.device_state()
    g = np.empty((signs.size + 1, 2, n_pairs))
    g[0] = state.g_prog
    # Two pulses per pair update: the G+ device takes the sign, the G- device its mirror.
    pair_step = 2.0 * xbar.weight_per_pulse
    for k, sign in enumerate(signs):
        if sign:
            xbar.apply_delta(np.full((1, n_pairs), sign * pair_step), max_pulses=2)
        g[k + 1] = xbar.device_state().g_prog
    per_device = np.ascontiguousarray(g.transpose(2, 1, 0).reshape(2 * n_pairs, -1))
    mirror = np.array([1, -1], dtype=np.int8)
    per_pulse = np.tile(mirror, n_pairs)[:, None] * signs[None, :]
    return PulseResponse(conductance_s=per_device, pulses=per_pulse.astype(np.int8), state=state)


def fit_pulse_response(
    conductance_s: ArrayLike,
    pulses: ArrayLike,
    *,
    n_states: int | None = None,
    law: Literal["soft_bounds", "exp_step"] = "soft_bounds",
    exp_coordinate: tuple[float, float] = (-0.5, -0.5),
) -> PulseFit:
    """Fit the pulse law to conductance-vs-pulse curves of one device.

    Parameters
    ----------
    conductance_s : array_like of shape (n_pulses + 1,) or (n_traces, n_pulses + 1), siemens
        Conductance before the first pulse and after each pulse, per trace (several traces
        of the same device, or of identical devices, are fitted together).
    pulses : array_like of shape (n_pulses,) or (n_traces, n_pulses)
        +1 potentiating, -1 depressing, 0 no pulse (the step is skipped).
    n_states : int >= 1, optional
        Unit of the fitted steps in the returned :class:`PulseParams`: the nominal step is
        ``(g_max - g_min) / n_states``.  Default: the nearest whole number of up-steps
        across the window (``step_up_scale`` then comes out near 1).
    law : {"soft_bounds", "exp_step"}
        ``"soft_bounds"`` fits ``a_up``, ``a_down`` (no exponential factor);
        ``"exp_step"`` fits the exponential step factors ``y_up = 1 - A_up exp(gamma_up z)``,
        ``y_down = 1 - A_down exp(-gamma_down z)`` with ``a_up = a_down = 0`` (aihwkit's
        ``ExpStepDevice``).
    exp_coordinate : (exp_a, exp_b)
        For ``"exp_step"``: the coordinate ``z = exp_a (2u - 1) + exp_b`` the amplitudes and
        rates are expressed in (the curves fix only ``A exp(gamma (b - a))`` and
        ``2 a gamma``); default aihwkit's ReRAM fit's (-0.5, -0.5).

    Returns
    -------
    PulseFit

    Raises
    ------
    ValueError
        When the shapes disagree, a pulse is not -1, 0 or +1, the conductance never changes,
        there are fewer than two unclipped steps of a polarity, ``law`` is unknown or
        ``exp_a`` is 0.
    """
    if law not in LAWS:
        raise ValueError(f"law must be one of {LAWS}; got {law!r}.")
    exp_a = check.real("exp_coordinate[0]", exp_coordinate[0])
    exp_b = check.real("exp_coordinate[1]", exp_coordinate[1])
    if exp_a == 0.0:
        raise ValueError("exp_coordinate[0] (exp_a) must be non-zero; got 0.")
    g, p = _check_curves(conductance_s, pulses)
    steps = _Steps.from_curves(g, p)
    start = steps.regression_start(law)
    if start.residual_rel < NOISELESS_REL:
        params, ll, ok = replace(start, c2c=0.0), float("nan"), True
    else:
        params, ll, ok = steps.maximise(start)
    span = params.hi - params.lo
    if n_states is None:
        n_states = max(1, round(span / params.s_up))
    n_states = check.integer("n_states", n_states, minimum=1)
    nominal = span / n_states
    pulse = PulseParams(
        n_states=n_states,
        step_up_scale=params.s_up / nominal,
        step_down_scale=params.s_down / nominal,
        c2c_rel=params.c2c,
        **params.pulse_shape(exp_a, exp_b),
    )
    return PulseFit(
        pulse=pulse,
        conductance=ConductanceRange(g_min_s=max(params.lo, 0.0), g_max_s=params.hi),
        step_up_s=params.s_up,
        step_down_s=params.s_down,
        clipped_low=steps.clip_lo,
        clipped_high=steps.clip_hi,
        n_steps=steps.n,
        n_censored=int(np.count_nonzero(steps.cens_up | steps.cens_down)),
        residual_rel=steps.residual_rel(params),
        log_likelihood=ll,
        converged=ok,
    )


@dataclass(frozen=True)
class _Law:
    """One point of the parameter space of the pulse law, bounds included.

    ``shape_up`` / ``shape_down``: ``(a,)`` for soft bounds; ``(A', k)`` for the exponential
    step, ``y_up = 1 - A' exp(k u)`` and ``y_down = 1 - A' exp(-k u)``.
    """

    law: str
    s_up: float
    shape_up: tuple[float, ...]
    s_down: float
    shape_down: tuple[float, ...]
    c2c: float
    lo: float
    hi: float
    residual_rel: float = float("nan")

    def mean(self, g: NDArray, up: NDArray) -> NDArray:
        """Mean step from conductances ``g`` for pulses ``up`` (bool: True up, False down)."""
        u = (g - self.lo) / (self.hi - self.lo)
        if self.law == "soft_bounds":
            y_up = 1.0 - self.shape_up[0] * u
            y_down = 1.0 - self.shape_down[0] * (1.0 - u)
        else:
            with np.errstate(over="ignore"):
                y_up = np.maximum(1.0 - self.shape_up[0] * np.exp(self.shape_up[1] * u), 0.0)
                y_down = np.maximum(1.0 - self.shape_down[0] * np.exp(-self.shape_down[1] * u), 0.0)
        return np.where(up, self.s_up * y_up, -self.s_down * y_down)

    def pulse_shape(self, exp_a: float, exp_b: float) -> dict[str, float]:
        """The shape as :class:`PulseParams` fields (exponential factors in ``z``)."""
        if self.law == "soft_bounds":
            return {"nonlinearity_up": self.shape_up[0], "nonlinearity_down": self.shape_down[0]}
        gamma_up = self.shape_up[1] / (2.0 * exp_a)
        gamma_down = self.shape_down[1] / (2.0 * exp_a)
        return {
            "exp_a": exp_a,
            "exp_b": exp_b,
            "exp_amp_up": self.shape_up[0] * math.exp(-gamma_up * (exp_b - exp_a)),
            "exp_amp_down": self.shape_down[0] * math.exp(gamma_down * (exp_b - exp_a)),
            "exp_gamma_up": gamma_up,
            "exp_gamma_down": gamma_down,
        }


def law_step(p: PulseParams, step_s: float, u: float, up: bool) -> float:
    """Mean step of the pulse law of :mod:`neuromorph.hardware.devices` at state ``u``, siemens."""
    z = p.exp_a * (2.0 * u - 1.0) + p.exp_b
    if up:
        y = max(1.0 - p.exp_amp_up * math.exp(p.exp_gamma_up * z), 0.0) if p.exp_amp_up else 1.0
        return step_s * (1.0 - p.nonlinearity_up * u) * y
    y = max(1.0 - p.exp_amp_down * math.exp(-p.exp_gamma_down * z), 0.0) if p.exp_amp_down else 1.0
    return -step_s * (1.0 - p.nonlinearity_down * (1.0 - u)) * y


def _basis(law: str, u: NDArray, k: float, up: bool) -> NDArray:
    """Regressors of one polarity's step: [1, u] (soft bounds) or [1, exp(+/- k u)]."""
    second = u if law == "soft_bounds" else np.exp((k if up else -k) * u)
    return np.column_stack([np.ones_like(u), second])


def _weighted_fit(design: NDArray, y: NDArray) -> tuple[NDArray, float]:
    """Least squares reweighted by the fitted mean (the noise is relative to the step).

    Returns the coefficients and the unweighted mean squared residual of the first pass
    (comparable between designs).  Weights
    are floored at :data:`REWEIGHT_FLOOR_REL` of the median fitted step, so a step fitted
    near zero (a soft bound, or noise that swamps the step) cannot take over the fit.
    """
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    sse = float(np.mean((y - design @ beta) ** 2))  # unweighted: comparable across designs
    for _ in range(2):
        fitted = np.abs(design @ beta)
        weights = 1.0 / np.maximum(fitted, REWEIGHT_FLOOR_REL * np.median(fitted) + 1e-300)
        beta = np.linalg.lstsq(design * weights[:, None], y * weights, rcond=None)[0]
    return beta, sse


@dataclass(frozen=True)
class _Steps:
    """The pulsed steps of a set of curves, classified for the fit."""

    g: NDArray  # conductance before each step
    d: NDArray  # observed step
    up: NDArray  # bool: potentiating
    cens_up: NDArray  # bool: a step that ended on the upper bound
    cens_down: NDArray  # bool: a step that ended on the lower bound
    lo_obs: float
    hi_obs: float
    clip_lo: bool
    clip_hi: bool

    @property
    def n(self) -> int:
        return self.g.size

    @classmethod
    def from_curves(cls, g: NDArray, p: NDArray) -> _Steps:
        pulsed = p != 0
        before, after = g[:, :-1][pulsed], g[:, 1:][pulsed]
        up = p[pulsed] > 0
        lo_obs, hi_obs = float(g.min()), float(g.max())
        tol = CLIP_TOL_REL * (hi_obs - lo_obs)
        # Any step can end on a bound: a potentiating pulse whose noise made it negative
        # clips at the lower bound as surely as a depressing one.
        at_hi = after >= hi_obs - tol
        at_lo = after <= lo_obs + tol
        clip_hi = int(np.count_nonzero(at_hi & up)) >= MIN_CLIPPED_STEPS
        clip_lo = int(np.count_nonzero(at_lo & ~up)) >= MIN_CLIPPED_STEPS
        steps = cls(
            g=before,
            d=after - before,
            up=up,
            cens_up=at_hi if clip_hi else np.zeros_like(at_hi),
            cens_down=at_lo if clip_lo else np.zeros_like(at_lo),
            lo_obs=lo_obs,
            hi_obs=hi_obs,
            clip_lo=clip_lo,
            clip_hi=clip_hi,
        )
        for polarity, name in ((True, "up"), (False, "down")):
            free = (steps.up == polarity) & ~(steps.cens_up | steps.cens_down)
            if np.count_nonzero(free) < 2:
                raise ValueError(
                    f"pulses must include at least 2 {name} steps that do not end on a bound; "
                    f"got {int(np.count_nonzero(free))}. Record more (or shorter) {name} runs."
                )
        return steps

    def regression_start(self, law: str) -> _Law:
        """Weighted least squares of step against state per polarity, bounds at the extremes.

        For the exponential step the rate ``k`` of each polarity is the best of
        :data:`EXP_RATE_GRID`; the rest is linear in the regressors.
        """
        lo, hi = self.lo_obs, self.hi_obs
        u = (self.g - lo) / (hi - lo)
        free = ~(self.cens_up | self.cens_down)
        s_lo, s_hi = STEP_RANGE_REL[0] * (hi - lo), STEP_RANGE_REL[1] * (hi - lo)
        fitted = {}
        interior = (u > START_INTERIOR[0]) & (u < START_INTERIOR[1])
        for up in (True, False):
            sel = free & (self.up == up)
            if np.count_nonzero(sel & interior) >= MIN_START_STEPS:
                sel &= interior  # away from the bounds, where clipping biases the steps kept
            rates = (0.0,) if law == "soft_bounds" else EXP_RATE_GRID
            trials = [(*_weighted_fit(_basis(law, u[sel], k, up), self.d[sel]), k) for k in rates]
            (c0, c1), _, k = min(trials, key=lambda trial: trial[1])
            if law == "soft_bounds" and up:  # d = s_up - s_up a_up u
                s, shape = c0, (float(np.clip(-c1 / max(c0, s_lo), 0.0, 1.0)),)
            elif law == "soft_bounds":  # d = -s_down (1 - a_down) - s_down a_down u
                s = -(c0 + c1)
                shape = (float(np.clip(1.0 + c0 / max(s, s_lo), 0.0, 1.0)),)
            elif up:  # d = s_up - s_up A' exp(k u)
                s, shape = c0, (float(-c1 / max(c0, s_lo)), float(k))
            else:  # d = -s_down + s_down A' exp(-k u)
                s, shape = -c0, (float(c1 / max(-c0, s_lo)), float(k))
            fitted[up] = (float(np.clip(s, s_lo, s_hi)), shape)
        start = _Law(law, fitted[True][0], fitted[True][1], fitted[False][0], fitted[False][1], 0.0, lo, hi)
        rel = self.residual_rel(start)
        return replace(start, c2c=float(np.clip(rel, *C2C_RANGE)), residual_rel=rel)

    def residual_rel(self, law: _Law) -> float:
        """RMS relative residual of the unclipped steps under ``law``."""
        free = ~(self.cens_up | self.cens_down)
        m = law.mean(self.g[free], self.up[free])
        keep = np.abs(m) > SD_FLOOR_REL * (law.hi - law.lo)
        return float(np.sqrt(np.mean(((self.d[free][keep] - m[keep]) / m[keep]) ** 2)))

    def _unpack(self, x: NDArray, law: str) -> _Law:
        span = self.hi_obs - self.lo_obs
        n = 1 if law == "soft_bounds" else 2
        lo = self.lo_obs if self.clip_lo else self.lo_obs + x[-2] * span
        hi = self.hi_obs if self.clip_hi else self.hi_obs + x[-1] * span
        return _Law(
            law=law,
            s_up=float(x[0] * span),
            shape_up=tuple(float(v) for v in x[1 : 1 + n]),
            s_down=float(x[1 + n] * span),
            shape_down=tuple(float(v) for v in x[2 + n : 2 + 2 * n]),
            c2c=float(np.exp(x[2 + 2 * n])),
            lo=float(lo),
            hi=float(hi),
        )

    def negative_log_likelihood(self, x: NDArray, law: str) -> float:
        """Mean negative log likelihood of the steps (censored ones by their tail mass)."""
        fit = self._unpack(x, law)
        m = fit.mean(self.g, self.up)
        sd = fit.c2c * np.abs(m) + SD_FLOOR_REL * (fit.hi - fit.lo)
        free = ~(self.cens_up | self.cens_down)
        z = (self.d - m) / sd
        ll = np.where(free, -0.5 * z * z - np.log(sd), 0.0)
        # A censored step only says the unclipped step would have crossed the bound.
        z_hi = (fit.hi - self.g - m) / sd
        z_lo = (fit.lo - self.g - m) / sd
        ll = ll + np.where(self.cens_up, special.log_ndtr(-z_hi), 0.0)
        ll = ll + np.where(self.cens_down, special.log_ndtr(z_lo), 0.0)
        return float(-ll.mean())

    def maximise(self, start: _Law) -> tuple[_Law, float, bool]:
        """Maximum-likelihood law from ``start``: (law, log likelihood per step, converged)."""
        span = self.hi_obs - self.lo_obs
        shape_bounds = [(0.0, 1.0)] if start.law == "soft_bounds" else [EXP_AMP_RANGE, EXP_RATE_RANGE]
        x0 = [start.s_up / span, *start.shape_up, start.s_down / span, *start.shape_down, np.log(start.c2c)]
        x0 += [0.0 if self.clip_lo else -1e-3, 0.0 if self.clip_hi else 1e-3]
        log_c2c = (float(np.log(C2C_RANGE[0])), float(np.log(C2C_RANGE[1])))
        bounds = [STEP_RANGE_REL, *shape_bounds, STEP_RANGE_REL, *shape_bounds, log_c2c]
        bounds += [(-FREE_BOUND_REACH, 0.0), (0.0, FREE_BOUND_REACH)]
        x0 = np.clip(np.array(x0), [b[0] for b in bounds], [b[1] for b in bounds])
        result = optimize.minimize(
            self.negative_log_likelihood,
            x0,
            args=(start.law,),
            method="L-BFGS-B",
            bounds=bounds,
            options={"ftol": MLE_FTOL, "gtol": MLE_GTOL, "maxiter": MLE_MAXITER},
        )
        fit = self._unpack(result.x, start.law)
        return replace(fit, residual_rel=self.residual_rel(fit)), -float(result.fun), bool(result.success)


def _check_signs(name: str, pulses: NDArray) -> NDArray[np.int8]:
    if not np.isin(pulses, (-1.0, 0.0, 1.0)).all():
        bad = pulses[~np.isin(pulses, (-1.0, 0.0, 1.0))][0]
        raise ValueError(f"{name} must hold -1, 0 or +1 per step; got {bad:g}.")
    return pulses.astype(np.int8)


def _check_curves(conductance_s: ArrayLike, pulses: ArrayLike) -> tuple[NDArray, NDArray]:
    g = check.array("conductance_s", conductance_s, ndim=(1, 2))
    p = check.array("pulses", pulses, ndim=(1, 2))
    g2 = g.reshape(1, -1) if g.ndim == 1 else g
    p2 = _check_signs("pulses", p.reshape(1, -1) if p.ndim == 1 else p)
    if g2.shape != (p2.shape[0], p2.shape[1] + 1):
        raise ValueError(
            "conductance_s must have one more sample than pulses per trace, "
            f"(n_traces, n_pulses + 1); got conductance_s {g.shape} and pulses {p.shape}."
        )
    if not g2.max() > g2.min():
        raise ValueError(f"conductance_s must change under the pulses; got a constant {g2.min():.6g} S.")
    return g2, p2
