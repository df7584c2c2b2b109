"""The lifetime of a trained chip, and its copy-out deadline (layer 4, studies; issue 14).

:func:`run_lifetime` ages a trained chip (a :class:`~neuromorph.chip.Chip` or its file) along
a :class:`LifetimeSchedule`: for every temperature, a copy of the chip as it was loaded is put
in an oven at that temperature and its clock advanced through the schedule's ages (seconds
since the lifetime began, log-spaced to ten years by default, :func:`log_ages`).  What ageing
does is the devices' own laws, through the chip's
:class:`~neuromorph.hardware.environment.Environment`: retention drift (PCM) or relaxation
(RRAM) in thermally accelerated equivalent time, the temperature law of conductance, and read
noise that depends on the age (1/f).  Endurance is the chip's own: the pulses its training
sent are in its state (``pulse_count`` against ``pulse_budget``), and every maintenance pulse
adds to them (:func:`endurance_summary` reports both ends).

At every age the chip is scored by :func:`~neuromorph.studies.scoring.score_accuracy` (R
re-reads on a copy: the same figure ``train``, ``demo`` and ``copyout`` give the same state),
and the relative RMS change of its weights since the start is recorded (its weight
fidelity: the effective weights as its taps deliver them, through its converters and any
digital correction, :func:`~neuromorph.studies.scoring.weights_as_read`).  Optional maintenance, through the
ports only, before a point is scored:

``"compensate"``
    global drift compensation (:func:`neuromorph.algorithms.drift.compensate_drift`) against
    readouts recorded on the chip as loaded (:func:`~neuromorph.algorithms.drift.record_reference`);
``"refresh"``
    :meth:`Ports.refresh <neuromorph.chip.ports.Ports.refresh>` of every layer: pairs whose
    devices both climbed high are re-programmed to their *measured* weight.  It re-centres
    pairs and restarts their retention clock; it does not restore what drift already took.

Maintenance runs at the first point and then at every point at least ``maintenance_period_s``
after the previous one (0: every point).  It is metered on the aged chip; the points say
what it spent.

**The copy-out deadline** at a temperature is the first scheduled age whose mean accuracy is
below the accuracy at programming (the chip as loaded, scored the same way) less
``threshold_points`` percentage points; its resolution is the schedule (the bracket of the
last age above and the first below is reported).  **Copy-out with age**: at the chip as loaded
and at ``copyout_ages_s`` of every temperature (default: the last age), a copy of the aged chip
is copied out by designed probing at ``copyout_budget`` times ``N + 1`` queries per layer
(:func:`neuromorph.studies.copyout.copy_out_designed`: 4 by default, the budget that reaches
percent-level error on a fresh chip), graded by weight error and fidelity against the aged
chip itself; each row says how many times larger its weight error is than the fresh chip's.

The study returns data; ``neuromorph lifetime`` writes ``lifetime.json`` and the figure
(:mod:`neuromorph.faces.lifetime`).  May import ``algorithms``, ``chip``, ``hardware``, the
other studies and the shared leaves; never ``faces``.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from tqdm.auto import tqdm

from neuromorph import _validate as check
from neuromorph._io import write_json
from neuromorph.algorithms import drift, ff
from neuromorph.chip import Chip
from neuromorph.chip.ports import Ports
from neuromorph.datasets import Dataset
from neuromorph.hardware.environment import MAX_TIME_S
from neuromorph.studies.copyout import copy_out_designed
from neuromorph.studies.scoring import (
    DEFAULT_REREADS,
    AccuracyScore,
    relative_rms_error,
    score_accuracy,
    weights_as_read,
)

#: Ten years in seconds (Julian years): the data-retention lifetime non-volatile memories are
#: qualified for (e.g. JEDEC JESD47), the end of the default schedule.
TEN_YEARS_S = 10 * 365.25 * 86400.0
#: Default oven temperatures, kelvin (issue 14): room temperature, a warm enclosure (57 C) and
#: 85 C, the upper ambient of the industrial temperature grade (-40 C to 85 C).
DEFAULT_TEMPERATURES_K = (300.0, 330.0, 358.0)
#: First non-zero age of the default schedule, seconds: one hour.  Illustrative, a first look
#: after programming, long after the retention laws' reference times (``t0_s``: 20 s for PCM,
#: 1 s for RRAM), so no scheduled age but 0 falls inside their initial transient.
FIRST_AGE_S = 3600.0
#: Log-spaced non-zero ages of the default schedule (one hour ... ten years: about one point
#: per factor of 17, day, fortnight, half-year): few, since each costs R reads of the test set.
DEFAULT_AGE_POINTS = 5
#: Accuracy lost, percentage points below the accuracy at programming, that sets the copy-out
#: deadline.  A user's choice, not a physical constant: 5 points is where a 95 % digits chip
#: has lost a fifth of what separates it from perfect, clearly beyond its re-read spread.
DEFAULT_THRESHOLD_POINTS = 5.0
#: Designed-probe budget of a copy-out, multiples of ``N + 1`` queries per layer: the 4(N+1)
#: of the copy-out study's headline figures (:data:`neuromorph.studies.copyout.DEFAULT_BUDGETS`).
DEFAULT_COPYOUT_BUDGET = 4.0
#: The maintenance a lifetime may apply before scoring a point (see the module docstring).
MAINTENANCE = ("none", "compensate", "refresh")

Maintenance = Literal["none", "compensate", "refresh"]


def log_ages(
    max_age_s: float = TEN_YEARS_S, *, points: int = DEFAULT_AGE_POINTS, first_s: float = FIRST_AGE_S
) -> tuple[float, ...]:
    """0, then ``points`` ages log-spaced from ``first_s`` to ``max_age_s`` (seconds).

    Raises
    ------
    ValueError
        Unless ``points >= 1`` and ``0 < first_s <= max_age_s`` (``first_s < max_age_s``
        when ``points > 1``).
    """
    points = check.integer("points", points, minimum=1)
    first_s = check.positive("first_s", first_s)
    max_age_s = check.positive("max_age_s", max_age_s)
    if first_s > max_age_s or (points > 1 and first_s == max_age_s):
        raise ValueError(f"max_age_s must be > first_s = {first_s:g} s; got max_age_s={max_age_s:g} s.")
    ages = np.geomspace(first_s, max_age_s, points) if points > 1 else np.array([max_age_s])
    return (0.0, *(float(a) for a in ages))


@dataclass(frozen=True)
class LifetimeSchedule:
    """Where and how long a chip lives: oven temperatures and the ages it is scored at.

    Parameters
    ----------
    temperatures_k : sequence of float
        Oven temperatures, kelvin, distinct (each must also lie in the chip's device law's
        range: :meth:`check_chip`).
    ages_s : sequence of float
        Ages since the lifetime began, seconds: >= 0, strictly increasing, at most
        :data:`~neuromorph.hardware.environment.MAX_TIME_S`.  Default :func:`log_ages`.
    """

    temperatures_k: tuple[float, ...] = DEFAULT_TEMPERATURES_K
    ages_s: tuple[float, ...] = field(default_factory=log_ages)

    def __post_init__(self) -> None:
        temps = _float_tuple("temperatures_k", self.temperatures_k)
        ages = _float_tuple("ages_s", self.ages_s)
        for i, t in enumerate(temps):
            check.temperature(f"temperatures_k[{i}]", t)
        if len(set(temps)) != len(temps):
            raise ValueError(f"temperatures_k must be distinct; got {list(temps)}.")
        for i, a in enumerate(ages):
            if not 0.0 <= a <= MAX_TIME_S:
                raise ValueError(
                    f"ages_s[{i}] must be a time in [0, {MAX_TIME_S:.6g}] s (0 to 1e4 years); got {a:g}."
                )
        if any(b <= a for a, b in zip(ages, ages[1:], strict=False)):
            raise ValueError(f"ages_s must be strictly increasing; got {list(ages)}.")
        object.__setattr__(self, "temperatures_k", temps)
        object.__setattr__(self, "ages_s", ages)

    def check_chip(self, chip: Chip) -> None:
        """ValueError unless every temperature suits ``chip``'s device law and the last age
        fits its clock (``time_s + max age <= MAX_TIME_S``)."""
        lo, hi = chip.design.device.temperature.valid_range_k()
        for i, t in enumerate(self.temperatures_k):
            if not lo < t < hi:
                raise ValueError(
                    f"temperatures_k[{i}] must be in ({lo:.6g}, {hi:.6g}) K, where the "
                    f"{chip.design.device.name} temperature law holds; got {t:g} K."
                )
        if chip.environment.time_s + self.ages_s[-1] > MAX_TIME_S:
            raise ValueError(
                f"ages_s must end before the chip's clock passes {MAX_TIME_S:.6g} s; got a last age of "
                f"{self.ages_s[-1]:g} s on a chip at time_s={chip.environment.time_s:g} s."
            )


def _float_tuple(name: str, values: object) -> tuple[float, ...]:
    """A non-empty tuple of finite floats, or the error."""
    if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(f"{name} must be a sequence of numbers; got {type(values).__name__}.")
    out = tuple(check.real(f"{name}[{i}]", v) for i, v in enumerate(values))
    if not out:
        raise ValueError(f"{name} must not be empty; got {list(values)}.")
    return out


@dataclass(frozen=True)
class _Context:
    """What every temperature of one lifetime shares."""

    data: Dataset
    config: ff.FFConfig
    reads: int
    maintenance: str
    period_s: float
    reference: drift.DriftReference | None
    start_weights: list
    programmed: AccuracyScore
    threshold: float
    copyout_ages_s: tuple[float, ...]
    copyout_budget: float
    rng: np.random.Generator
    bar: object


def run_lifetime(
    chip: Chip | str | os.PathLike,
    data: Dataset,
    *,
    schedule: LifetimeSchedule | None = None,
    config: ff.FFConfig | None = None,
    reads: int = DEFAULT_REREADS,
    maintenance: Maintenance = "none",
    maintenance_period_s: float = 0.0,
    threshold_points: float = DEFAULT_THRESHOLD_POINTS,
    copyout_ages_s: Sequence[float] | None = None,
    copyout_budget: float = DEFAULT_COPYOUT_BUDGET,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Age a trained chip along ``schedule``; score it, find its copy-out deadline, copy it out.

    Parameters
    ----------
    chip : Chip, or the path of a chip file
        The trained chip; it is never changed (each temperature ages a copy).
    data : Dataset
        Its test split scores every point (use the split the chip was trained with).
    schedule : LifetimeSchedule, optional
        Default ``LifetimeSchedule()``: 300, 330, 358 K; 0 then 1 h ... 10 years.
    config : FFConfig, optional
        The label embedding the chip was trained with.
    reads : int >= 1
        R, re-reads of the test set per point (default
        :data:`~neuromorph.studies.scoring.DEFAULT_REREADS`, as every command).
    maintenance : {"none", "compensate", "refresh"}
    maintenance_period_s : float >= 0
        Least time between two maintenances, seconds (0: before every point).
    threshold_points : float in (0, 100]
        The copy-out deadline's drop below the accuracy at programming, percentage points.
    copyout_ages_s : sequence of float, optional
        Scheduled ages at which every temperature's chip is copied out (default: the last age;
        ``()`` for none).  The chip as loaded is copied out too unless this is empty.
    copyout_budget : float >= 1
        Designed-probe budget, multiples of ``N + 1`` queries per layer.
    seed : int >= 0
        Seeds the probes of every copy-out (one child stream each).
    progress : bool
        A tqdm bar over the points.

    Returns
    -------
    dict
        JSON-ready: ``chip``, ``protocol``, ``programmed`` (the score at programming and its
        copy-out), ``threshold_accuracy``, ``endurance`` (at the start) and ``temperatures``:
        per temperature ``{temperature_k, points, deadline_s, deadline_bracket_s, copyout,
        endurance}``, ``points`` a list of ``{age_s, accuracy_mean, accuracy_std, reads, n,
        interval, accuracies, text, weight_change_rel_rms, maintenance}`` (``text``: "mean ±
        std % over R re-reads of n images, 95 % interval [a, b] %"); no wall times, so a seed
        reproduces it bit for bit.

    Raises
    ------
    FileNotFoundError, ChipFileError
        If ``chip`` is a path with no valid chip file.
    TypeError, ValueError
        For a bad argument (a message naming it).
    """
    chip = Chip.load(chip) if isinstance(chip, str | os.PathLike) else chip
    schedule = LifetimeSchedule() if schedule is None else schedule
    _check_arguments(chip, data, schedule, maintenance=maintenance, threshold_points=threshold_points)
    period_s = check.non_negative("maintenance_period_s", maintenance_period_s)
    copy_ages = _copyout_ages(copyout_ages_s, schedule.ages_s)
    copyout_budget = _budget(copyout_budget)
    seed = check.integer("seed", seed, minimum=0)
    reads = check.integer("reads", reads, minimum=1)
    config = ff.FFConfig() if config is None else config
    programmed = score_accuracy(
        chip, data.x_test, data.y_test, n_classes=data.n_classes, config=config, reads=reads
    )
    reference = drift.record_reference(copy.deepcopy(chip).ports()) if maintenance == "compensate" else None
    rng = np.random.default_rng(seed)
    first_copy = _fresh_copy(chip, data, config, copyout_budget, rng, programmed) if copy_ages else None
    total = len(schedule.temperatures_k) * len(schedule.ages_s)
    with tqdm(total=total, desc="lifetime", unit="point", disable=not progress, leave=False) as bar:
        ctx = _Context(
            data=data,
            config=config,
            reads=reads,
            maintenance=maintenance,
            period_s=period_s,
            reference=reference,
            start_weights=weights_as_read(chip),
            programmed=programmed,
            threshold=programmed.mean - threshold_points / 100.0,
            copyout_ages_s=copy_ages,
            copyout_budget=copyout_budget,
            rng=rng,
            bar=bar,
        )
        curves = [_live_at(chip, t, schedule.ages_s, ctx) for t in schedule.temperatures_k]
    _compare_copies(curves, first_copy)
    return {
        "chip": {
            "layer_sizes": list(chip.design.layer_sizes),
            "device": chip.design.device.name,
            "seed": chip.seed,
            "temperature_k": chip.environment.temperature_k,
            "time_s": chip.environment.time_s,
        },
        "protocol": {
            "reads": reads,
            "n": programmed.n,
            "scoring": "mean ± sample std over R re-reads of the n test images on a copy of the chip; "
            "Clopper-Pearson 95 % interval of the mean for n images",
            "maintenance": maintenance,
            "maintenance_period_s": period_s,
            "threshold_points": threshold_points,
            "copyout_method": "designed",
            "copyout_budget": copyout_budget,
            "seed": seed,
        },
        "programmed": {**programmed.as_dict(), "copyout": first_copy},
        "threshold_accuracy": ctx.threshold,
        "endurance": endurance_summary(chip),
        "temperatures": curves,
    }


def _check_arguments(
    chip: object, data: object, schedule: object, *, maintenance: object, threshold_points: object
) -> None:
    """The type and value checks of :func:`run_lifetime`'s main arguments."""
    if not isinstance(chip, Chip):
        raise TypeError(f"chip must be a Chip or a chip file's path; got {type(chip).__name__}.")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a neuromorph Dataset; got {type(data).__name__}.")
    if not isinstance(schedule, LifetimeSchedule):
        raise TypeError(f"schedule must be a LifetimeSchedule; got {type(schedule).__name__}.")
    schedule.check_chip(chip)
    if maintenance not in MAINTENANCE:
        raise ValueError(f"maintenance must be one of {list(MAINTENANCE)}; got {maintenance!r}.")
    threshold_points = check.real("threshold_points", threshold_points)
    if not 0.0 < threshold_points <= 100.0:
        raise ValueError(f"threshold_points must be in (0, 100]; got {threshold_points:g}.")


def _budget(value: object) -> float:
    """A designed-probe budget: a number >= 1 (multiples of N + 1 queries per layer)."""
    value = check.real("copyout_budget", value)
    if not value >= 1.0:
        raise ValueError(f"copyout_budget must be >= 1 (multiples of N + 1); got {value:g}.")
    return value


def _copyout_ages(ages: Sequence[float] | None, schedule_ages: tuple[float, ...]) -> tuple[float, ...]:
    """The copy-out ages: the schedule's last by default, else each one a scheduled age."""
    if ages is None:
        return (schedule_ages[-1],)
    if isinstance(ages, str) or not isinstance(ages, Sequence | np.ndarray):
        raise TypeError(f"copyout_ages_s must be a sequence of scheduled ages; got {type(ages).__name__}.")
    out = tuple(float(a) for a in ages)
    for a in out:
        if a not in schedule_ages:
            raise ValueError(f"copyout_ages_s must be ages of the schedule {list(schedule_ages)}; got {a:g}.")
    return out


def _fresh_copy(
    chip: Chip,
    data: Dataset,
    config: ff.FFConfig,
    budget: float,
    rng: np.random.Generator,
    score: AccuracyScore,
) -> dict:
    """The copy-out of the chip as loaded (on a copy of it), the yardstick of the aged ones."""
    row = copy_out_designed(
        copy.deepcopy(chip), data, config=config, budget=budget, rng=rng.spawn(1)[0], score=score
    )
    return _without_timing(row)


def _without_timing(row: dict) -> dict:
    """A copy-out row without its wall time: a seed reproduces ``lifetime.json`` bit for bit."""
    return {k: v for k, v in row.items() if k != "wall_seconds"}


def _compare_copies(curves: list[dict], first: dict | None) -> None:
    """Add to every aged copy-out row how it compares with the fresh chip's copy ``first``:
    ``weight_rel_rms_over_programmed`` (None where a weight error is missing or 0) and
    ``fidelity_change_points``."""
    for curve in curves:
        for row in curve["copyout"]:
            w, w0 = row.get("weight_rel_rms"), first.get("weight_rel_rms")
            row["weight_rel_rms_over_programmed"] = w / w0 if w is not None and w0 else None
            row["fidelity_change_points"] = 100.0 * (row["fidelity"] - first["fidelity"])


def _live_at(chip: Chip, temperature_k: float, ages_s: tuple[float, ...], ctx: _Context) -> dict:
    """One temperature's life: a copy of ``chip`` in the oven, scored at every age."""
    aged = copy.deepcopy(chip)
    aged.environment.set_temperature(temperature_k)
    own_temperature = temperature_k == chip.environment.temperature_k
    ports = aged.ports()
    points, copies = [], []
    last_maintained, elapsed = -math.inf, 0.0
    for age in ages_s:
        aged.environment.advance(age - elapsed)
        elapsed = age
        done = None
        if ctx.maintenance != "none" and age - last_maintained >= ctx.period_s:
            done, last_maintained = _maintain(ports, ctx.maintenance, ctx.reference), age
        if own_temperature and age == 0.0 and done is None:
            score = ctx.programmed  # the chip as loaded, untouched: the same state, the same score
        else:
            data = ctx.data
            score = score_accuracy(
                aged, data.x_test, data.y_test, n_classes=data.n_classes, config=ctx.config, reads=ctx.reads
            )
        change = [
            relative_rms_error(w, w0) for w, w0 in zip(weights_as_read(aged), ctx.start_weights, strict=True)
        ]
        points.append(
            {
                "age_s": age,
                "accuracy_mean": score.mean,
                "accuracy_std": score.std,
                "reads": score.reads,
                "n": score.n,
                "interval": list(score.interval),
                "accuracies": list(score.accuracies),
                "text": score.text(),
                "weight_change_rel_rms": max(change),
                "maintenance": done,
            }
        )
        if age in ctx.copyout_ages_s:
            row = copy_out_designed(
                copy.deepcopy(aged),
                ctx.data,
                config=ctx.config,
                budget=ctx.copyout_budget,
                rng=ctx.rng.spawn(1)[0],
                score=score,
            )
            copies.append({"age_s": age, **_without_timing(row)})
        ctx.bar.update(1)
    deadline, bracket = copyout_deadline(points, ctx.threshold)
    return {
        "temperature_k": temperature_k,
        "points": points,
        "deadline_s": deadline,
        "deadline_bracket_s": bracket,
        "copyout": copies,
        "endurance": endurance_summary(aged),
    }


def _maintain(ports: Ports, kind: str, reference: drift.DriftReference | None) -> dict:
    """Compensate drift or refresh every layer through ``ports``; what it spent."""
    before = ports.meter
    extra: dict = {}
    if kind == "compensate":
        extra["alphas"] = list(drift.compensate_drift(ports, reference).alphas)
    else:
        for layer in range(ports.n_layers):
            ports.refresh(layer)
    spent = ports.meter.minus(before)
    return {
        "kind": kind,
        "queries": spent.queries,
        "pulses": spent.pulses,
        "verify_reads": spent.verify_reads,
        "energy_j": spent.energy_j,
        **extra,
    }


def copyout_deadline(points: Sequence[dict], threshold: float) -> tuple[float | None, list[float] | None]:
    """The first scheduled age whose ``accuracy_mean`` is below ``threshold`` (fraction).

    Returns ``(age_s, [last age at or above, that age])``, or ``(None, None)`` when every point
    stays at or above it (the deadline is beyond the schedule).  A first point already below
    has no age above it: its bracket starts at that age too.
    """
    previous = None
    for p in points:
        if p["accuracy_mean"] < threshold:
            start = p["age_s"] if previous is None else previous
            return p["age_s"], [start, p["age_s"]]
        previous = p["age_s"]
    return None, None


def endurance_summary(chip: Chip) -> dict:
    """Programming pulses the chip's devices have taken, from its hidden state (a scorer's read).

    ``pulses_per_device_mean`` / ``_max``; ``budget_used_max``, the largest share of a
    device's endurance budget used (0 when no device wears out); ``worn_out_fraction``, the
    devices past their budget (stuck where they were).
    """
    states = [xb.device_state() for xb in chip.crossbars]
    counts = np.concatenate([s.pulse_count.ravel() for s in states]).astype(np.float64)
    budgets = np.concatenate([s.pulse_budget.ravel() for s in states])
    finite = np.isfinite(budgets)
    used = counts[finite] / np.maximum(budgets[finite], 1.0) if finite.any() else np.zeros(1)
    return {
        "pulses_per_device_mean": float(counts.mean()),
        "pulses_per_device_max": float(counts.max()),
        "budget_used_max": float(used.max()),
        "worn_out_fraction": float(np.mean(counts > budgets)),
    }


#: The file :func:`write_report` writes.
REPORT_FILE = "lifetime.json"


def write_report(result: dict, out_dir: str | os.PathLike) -> list[str]:
    """Write a lifetime's ``lifetime.json`` into ``out_dir`` (created if missing); return its path.

    Its figure is drawn by the faces layer (:func:`neuromorph.faces.reports.write_lifetime_report`
    writes both).
    """
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(os.fspath(out_dir), REPORT_FILE)
    write_json(path, result)
    return [path]
