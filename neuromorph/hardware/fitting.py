"""Measure a device's pulse response and fit the pulse law to it (layer 1).

:func:`pulse_response` drives fabricated devices with a sequence of single up/down pulses
through a :class:`~neuromorph.hardware.crossbar.Crossbar` (the simulator's own pulse kernel)
and records each device's conductance after every pulse.  :func:`fit_pulse_response` turns
such curves, simulated or measured, into the parameters of the pulse law of
:mod:`neuromorph.hardware.devices`::

    up:    dG = +s_up   (1 - a_up u)       (1 + c2c eps)
    down:  dG = -s_down (1 - a_down (1-u)) (1 + c2c eps),   u = (G - g_min) / (g_max - g_min),

then G clipped to [g_min, g_max].

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

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from neuromorph import _validate as check
from neuromorph.hardware.crossbar import Crossbar
from neuromorph.hardware.devices import ConductanceRange, DeviceModel, PulseParams
from neuromorph.hardware.environment import Environment
from neuromorph.hardware.fabrication import DeviceState

__all__ = ["PulseFit", "PulseResponse", "fit_pulse_response", "pulse_response", "pulse_train"]

#: A step that ends within this fraction of the observed span of a bound ended on it.
CLIP_TOL_REL = 1e-9
#: A bound counts as a clipping bound (measured directly) when at least this many steps end
#: on it; a single extreme sample is just the highest (or lowest) point of a soft approach.
MIN_CLIPPED_STEPS = 3
#: Floor of a step's standard deviation, as a fraction of the span: keeps the likelihood
#: finite where the mean step vanishes (a soft bound) or the device has no c2c noise.
SD_FLOOR_REL = 1e-9
#: Fraction of the mean |step| below which a fitted mean step gets no more weight in the
#: starting regression (a soft bound's vanishing step would otherwise dominate it).
REWEIGHT_FLOOR_REL = 1e-3
#: Relative RMS residual below which a device counts as noiseless (c2c = 0, no likelihood).
NOISELESS_REL = 1e-9
#: Range of the fitted c2c (relative std of a step) searched by the likelihood.
C2C_RANGE = (1e-4, 20.0)
#: Range of a fitted step, as a fraction of the observed span.
STEP_RANGE_REL = (1e-6, 10.0)
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
                if sign > 0:
                    g += self.step_up_s * (1.0 - p.nonlinearity_up * u)
                else:
                    g -= self.step_down_s * (1.0 - p.nonlinearity_down * (1.0 - u))
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


def fit_pulse_response(conductance_s: ArrayLike, pulses: ArrayLike, *, n_states: int | None = None) -> PulseFit:
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

    Returns
    -------
    PulseFit

    Raises
    ------
    ValueError
        When the shapes disagree, a pulse is not -1, 0 or +1, the conductance never changes,
        or there are fewer than two unclipped steps of a polarity.
    """
    g, p = _check_curves(conductance_s, pulses)
    steps = _Steps.from_curves(g, p)
    start = steps.regression_start()
    if start.residual_rel < NOISELESS_REL:
        params, ll, ok = replace(start, c2c=0.0), float("nan"), True
    else:
        params, ll, ok = steps.maximise(start)
    lo, hi = params.lo, params.hi
    span = hi - lo
    if n_states is None:
        n_states = max(1, round(span / params.s_up))
    n_states = check.integer("n_states", n_states, minimum=1)
    nominal = span / n_states
    pulse = PulseParams(
        n_states=n_states,
        step_up_scale=params.s_up / nominal,
        step_down_scale=params.s_down / nominal,
        nonlinearity_up=params.a_up,
        nonlinearity_down=params.a_down,
        c2c_rel=params.c2c,
    )
    return PulseFit(
        pulse=pulse,
        conductance=ConductanceRange(g_min_s=max(lo, 0.0), g_max_s=hi),
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
    """One point of the parameter space of the pulse law, bounds included."""

    s_up: float
    a_up: float
    s_down: float
    a_down: float
    c2c: float
    lo: float
    hi: float
    residual_rel: float = float("nan")

    def mean(self, g: NDArray, up: NDArray) -> NDArray:
        """Mean step from conductances ``g`` for pulses ``up`` (bool: True up, False down)."""
        u = (g - self.lo) / (self.hi - self.lo)
        return np.where(up, self.s_up * (1.0 - self.a_up * u), -self.s_down * (1.0 - self.a_down * (1.0 - u)))


@dataclass(frozen=True)
class _Steps:
    """The pulsed steps of a set of curves, classified for the fit."""

    g: NDArray  # conductance before each step
    d: NDArray  # observed step
    up: NDArray  # bool: potentiating
    cens_up: NDArray  # bool: an up step that ended on the upper bound
    cens_down: NDArray  # bool: a down step that ended on the lower bound
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
        at_hi = up & (after >= hi_obs - tol)
        at_lo = ~up & (after <= lo_obs + tol)
        clip_hi = int(np.count_nonzero(at_hi)) >= MIN_CLIPPED_STEPS
        clip_lo = int(np.count_nonzero(at_lo)) >= MIN_CLIPPED_STEPS
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

    def regression_start(self) -> _Law:
        """Weighted least squares of step against state per polarity, bounds at the extremes."""
        lo, hi = self.lo_obs, self.hi_obs
        u = (self.g - lo) / (hi - lo)
        free = ~(self.cens_up | self.cens_down)
        coef = {}
        for polarity in (True, False):
            sel = free & (self.up == polarity)
            x, y = u[sel], self.d[sel]
            design = np.column_stack([np.ones_like(x), x])
            weights = np.ones_like(x)
            for _ in range(3):  # reweight by the fitted mean: the noise is relative to the step
                beta = np.linalg.lstsq(design * weights[:, None], y * weights, rcond=None)[0]
                mean = np.abs(design @ beta)
                weights = 1.0 / np.maximum(mean, REWEIGHT_FLOOR_REL * np.abs(y).mean())
            coef[polarity] = beta
        b0, b1 = coef[True]  # up: d = s_up - s_up a_up u
        c0, c1 = coef[False]  # down: d = -s_down (1 - a_down) - s_down a_down u
        s_lo, s_hi = STEP_RANGE_REL[0] * (hi - lo), STEP_RANGE_REL[1] * (hi - lo)
        s_up = float(np.clip(b0, s_lo, s_hi))
        s_down = float(np.clip(-(c0 + c1), s_lo, s_hi))
        law = _Law(
            s_up=s_up,
            a_up=float(np.clip(-b1 / s_up, 0.0, 1.0)),
            s_down=s_down,
            a_down=float(np.clip(1.0 + c0 / s_down, 0.0, 1.0)),
            c2c=0.0,
            lo=lo,
            hi=hi,
        )
        rel = self.residual_rel(law)
        return replace(law, c2c=float(np.clip(rel, *C2C_RANGE)), residual_rel=rel)

    def residual_rel(self, law: _Law) -> float:
        """RMS relative residual of the unclipped steps under ``law``."""
        free = ~(self.cens_up | self.cens_down)
        m = law.mean(self.g[free], self.up[free])
        keep = np.abs(m) > SD_FLOOR_REL * (law.hi - law.lo)
        return float(np.sqrt(np.mean(((self.d[free][keep] - m[keep]) / m[keep]) ** 2)))

    def _unpack(self, x: NDArray) -> _Law:
        span = self.hi_obs - self.lo_obs
        lo = self.lo_obs if self.clip_lo else self.lo_obs + x[5] * span
        hi = self.hi_obs if self.clip_hi else self.hi_obs + x[6] * span
        return _Law(
            s_up=float(x[0] * span),
            a_up=float(x[1]),
            s_down=float(x[2] * span),
            a_down=float(x[3]),
            c2c=float(np.exp(x[4])),
            lo=float(lo),
            hi=float(hi),
        )

    def negative_log_likelihood(self, x: NDArray) -> float:
        """Mean negative log likelihood of the steps (censored ones by their tail mass)."""
        law = self._unpack(x)
        m = law.mean(self.g, self.up)
        sd = law.c2c * np.abs(m) + SD_FLOOR_REL * (law.hi - law.lo)
        free = ~(self.cens_up | self.cens_down)
        z = (self.d - m) / sd
        ll = np.where(free, -0.5 * z * z - np.log(sd), 0.0)
        # A censored step only says the unclipped step would have crossed the bound.
        z_hi = (law.hi - self.g - m) / sd
        z_lo = (law.lo - self.g - m) / sd
        ll = ll + np.where(self.cens_up, special.log_ndtr(-z_hi), 0.0)
        ll = ll + np.where(self.cens_down, special.log_ndtr(z_lo), 0.0)
        return float(-ll.mean())

    def maximise(self, start: _Law) -> tuple[_Law, float, bool]:
        """Maximum-likelihood law from ``start``: (law, log likelihood per step, converged)."""
        span = self.hi_obs - self.lo_obs
        x0 = np.array(
            [
                start.s_up / span,
                start.a_up,
                start.s_down / span,
                start.a_down,
                np.log(start.c2c),
                0.0 if self.clip_lo else -1e-3,
                0.0 if self.clip_hi else 1e-3,
            ]
        )
        log_c2c = (float(np.log(C2C_RANGE[0])), float(np.log(C2C_RANGE[1])))
        bounds = [STEP_RANGE_REL, (0.0, 1.0), STEP_RANGE_REL, (0.0, 1.0), log_c2c]
        bounds += [(-FREE_BOUND_REACH, 0.0), (0.0, FREE_BOUND_REACH)]
        result = optimize.minimize(self.negative_log_likelihood, x0, method="L-BFGS-B", bounds=bounds)
        law = self._unpack(result.x)
        law = replace(law, residual_rel=self.residual_rel(law))
        return law, -float(result.fun), bool(result.success)


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
