"""Sweeps over dies, temperature, ADC bits, read noise and time, run on Dask (layer 4).

Contract
--------
A **spec** (a TOML file read with :mod:`tomllib`, or the same structure as a dict) names the
points of a study; :func:`run_sweep` runs every point as an independent task on a Dask
cluster and collects one row per point into a tidy table.  A task fabricates a chip, trains
it in place with Forward-Forward, stresses it (temperature, then age at that temperature),
measures its test accuracy, and optionally copies it out through its ports
(:func:`neuromorph.algorithms.extract.extract`, ``"fd"`` or ``"designed"``) at a measured cost.

* **Reproducible however scheduled.**  The die is ``Chip.fabricate(design, seed=point.seed)``
  (the same die as ``neuromorph train --seed``).  Training randomness comes from
  ``numpy.random.SeedSequence(entropy=sweep_seed, spawn_key=K)`` where ``K`` is four 32-bit
  words of the SHA-256 digest of the point's canonical JSON *without* its stress and copy-out
  parameters, so the points of one die that differ only in temperature or age are trained
  bit for bit alike and differ only by their stress.  Copy-out draws from a stream keyed by
  the whole point.  Each task limits BLAS and Numba to one thread, so a point gives the same
  bits in a worker, in this process, on one cluster or another.
* **One failure, one row.**  A point whose parameters are invalid (checked inside the task
  by :func:`check_point`), or whose task raises, or whose worker dies, is recorded with
  ``status = "error"``, ``error_type`` and ``error_message``; the other points finish.
* **Incremental and resumable.**  Every finished point is appended as one JSON line to
  ``OUT/results.jsonl`` (flushed and fsynced) the moment it completes.  A point is identified
  by its **key**: a digest of the sweep seed and its complete parameters (defaults filled
  in), independent of its position in the spec.  Rerunning the same spec into the same
  folder skips every key already there (failed ones too, unless ``retry_failed``), so an
  interrupted sweep resumes without recomputing finished points.  A final line torn by a
  kill is cut off before appending.
* **Outputs.**  ``results.csv`` (written atomically with :mod:`csv`; lists as JSON text),
  ``accuracy_distribution.png`` and ``accuracy_vs_temperature.png`` (and
  ``copyout.png`` when points copy out).  Results are JSON only, never pickles.

Spec
----
::

    [sweep]                      # optional
    seed = 0                     # the sweep seed (training and copy-out streams)
    name = "rram dies, hot"

    [grid]                       # Cartesian product, in the order written
    preset = ["rram"]
    seed = [0, 1, 2]             # the die (fabrication seed)
    temperature_k = [300, 358]

    [fixed]                      # the same for every point
    epochs = 2
    hidden = [16, 16]

    [sample]                     # n random draws (each combined with every grid point)
    n = 8
    seed = 1
    [sample.ranges]
    read_noise_scale = [0.5, 2.0]                    # two numbers: uniform (ints: integers)
    age_hours = {low = 1, high = 1000, log = true}  # log-uniform
    adc_bits = {choices = [4, 6, 8]}                 # one of

Parameters of a point (and their defaults) are in :data:`PARAMETERS`.  Loading checks the
spec's structure (sections, parameter names, list and range forms) and raises ValueError or
TypeError naming the key; values are checked per point, inside the task, so one bad value
fails only its own points.  Points that come out identical are run once.

The digits data set (bundled with scikit-learn, split with seed 0) is used; ``n_train`` and
``n_test`` take its first rows (0 keeps the whole split) for quick studies.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import itertools
import json
import logging
import math
import os
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from neuromorph import _validate as check
from neuromorph._io import atomic_open

_VERSION = 1

#: Every point parameter with its default and meaning.
PARAMETERS: dict[str, tuple[Any, str]] = {
    "preset": ("rram", "device preset: one of neuromorph.hardware.devices.PRESETS"),
    "seed": (0, "the die: fabrication seed, int >= 0"),
    "adc_bits": (8, "ADC resolution of every tap including the sign bit, int in 2..32"),
    "read_noise_scale": (1.0, "multiplies the preset's read_noise_rel, >= 0"),
    "train_temperature_k": (300.0, "temperature during training, kelvin"),
    "temperature_k": (300.0, "stress temperature at which accuracy is measured, kelvin"),
    "age_hours": (0.0, "time aged at the stress temperature before measuring, hours >= 0"),
    "hidden": ([16], "hidden layer widths, a non-empty list of int >= 1"),
    "epochs": (2, "Forward-Forward epochs trained in place, int >= 0"),
    "learning_rate": (0.01, "Forward-Forward learning rate, > 0"),
    "n_train": (0, "training rows of the digits split to use, int >= 0 (0: all)"),
    "n_test": (0, "test rows of the digits split to use, int >= 0 (0: all)"),
    "copyout_method": ("none", "'none', or an extract method: 'fd' or 'designed'"),
    "copyout_budget": (2.0, "queries per layer in multiples of N + 1 (see extract.extract)"),
}
#: Parameters that act after training; points differing only in these share their training.
STRESS_PARAMETERS = ("temperature_k", "age_hours", "copyout_method", "copyout_budget")
_REAL = (
    "read_noise_scale",
    "train_temperature_k",
    "temperature_k",
    "age_hours",
    "learning_rate",
    "copyout_budget",
)
COPYOUT_METHODS = ("none", "fd", "designed")

#: Columns every row has, in table order; a task's own metrics follow.
BASE_COLUMNS = ("index", "key", "status", "error_type", "error_message", *PARAMETERS)
METRIC_COLUMNS = (
    "accuracy_trained",
    "accuracy",
    "accuracy_drop_points",
    "train_pulses",
    "train_energy_j",
    "copyout_queries",
    "copyout_adc_conversions",
    "copyout_chip_seconds",
    "copyout_energy_j",
    "copyout_weight_rel_rms",
    "copyout_fidelity",
    "copyout_accuracy",
    "wall_seconds",
)
RESULTS_JSONL, RESULTS_CSV = "results.jsonl", "results.csv"

Task = Callable[..., dict]


# ---------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class Point:
    """One point of a sweep: its position in the spec, its stable key, its parameters."""

    index: int
    key: str
    params: dict


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: grid, fixed values, random sample and the sweep seed.

    Build with :meth:`from_dict` or :meth:`load` (TOML); :meth:`points` lists the points.

    Attributes
    ----------
    grid : dict of str to tuple
        Values of each grid parameter; the points are their Cartesian product.
    fixed : dict of str to value
    sample_n : int
        Random draws (0: no sampling).
    sample_seed : int
    ranges : dict of str to dict
        Normalised ranges: ``{"kind": "uniform"|"integer"|"log"|"choices", ...}``.
    seed : int
        The sweep seed.
    name : str
    """

    grid: dict = field(default_factory=dict)
    fixed: dict = field(default_factory=dict)
    sample_n: int = 0
    sample_seed: int = 0
    ranges: dict = field(default_factory=dict)
    seed: int = 0
    name: str = "sweep"

    @classmethod
    def load(cls, path: str | os.PathLike) -> SweepSpec:
        """Read and validate a TOML spec file."""
        path = os.fspath(path)
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError:
            raise FileNotFoundError(f"sweep spec not found: {path!r}.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"spec {path!r} must be valid TOML; got a parse error: {exc}.") from None
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, spec: Mapping) -> SweepSpec:
        """Validate the structure of a spec given as a dict (the TOML's layout)."""
        if not isinstance(spec, Mapping):
            raise TypeError(f"spec must be a dict (a TOML table); got {type(spec).__name__}.")
        _known("spec", spec, ("sweep", "grid", "fixed", "sample"))
        for section in ("sweep", "grid", "fixed", "sample"):
            if section in spec and not isinstance(spec[section], Mapping):
                raise TypeError(
                    f"{section} must be a table (a dict); got {type(spec[section]).__name__} "
                    f"{spec[section]!r}."
                )
        head = spec.get("sweep", {})
        _known("sweep", head, ("seed", "name"))
        seed = _int_key("sweep.seed", head.get("seed", 0))
        name = head.get("name", "sweep")
        if not isinstance(name, str):
            raise TypeError(f"sweep.name must be a string; got {type(name).__name__} {name!r}.")

        grid = {}
        for k, values in spec.get("grid", {}).items():
            _parameter(f"grid.{k}", k)
            if not isinstance(values, list | tuple) or not values:
                raise ValueError(f"grid.{k} must be a non-empty list of values; got {values!r}.")
            if k == "hidden" and not all(isinstance(v, list | tuple) for v in values):
                raise ValueError(
                    f"grid.hidden must be a non-empty list of width lists, e.g. [[16], [32, 32]]; "
                    f"got {values!r}."
                )
            grid[k] = tuple(_normal(k, _plain(f"grid.{k}", v)) for v in values)
        fixed = {}
        for k, value in spec.get("fixed", {}).items():
            _parameter(f"fixed.{k}", k)
            fixed[k] = _normal(k, _plain(f"fixed.{k}", value))

        sample = spec.get("sample", {})
        _known("sample", sample, ("n", "seed", "ranges"))
        sample_n = _int_key("sample.n", sample.get("n", 0))
        sample_seed = _int_key("sample.seed", sample.get("seed", 0))
        raw_ranges = sample.get("ranges", {})
        if not isinstance(raw_ranges, Mapping):
            raise TypeError(f"sample.ranges must be a table; got {type(raw_ranges).__name__}.")
        ranges = {k: _range(k, v) for k, v in raw_ranges.items()}
        if ranges and sample_n == 0:
            raise ValueError("sample.n must be >= 1 when sample.ranges is given; got sample.n=0.")
        if sample_n and not ranges:
            raise ValueError(
                f"sample.ranges must name at least one parameter when sample.n={sample_n}; got none."
            )

        seen: dict[str, str] = {}
        for section, keys in (("grid", grid), ("fixed", fixed), ("sample.ranges", ranges)):
            for k in keys:
                if k in seen:
                    raise ValueError(
                        f"{section}.{k} must appear in only one of grid, fixed and sample.ranges; "
                        f"got it in {seen[k]} too."
                    )
                seen[k] = section
        return cls(
            grid=grid,
            fixed=fixed,
            sample_n=sample_n,
            sample_seed=sample_seed,
            ranges=ranges,
            seed=seed,
            name=name,
        )

    def points(self) -> list[Point]:
        """Every point: grid product (in spec order) x sample draws, defaults filled in.

        Points with identical parameters are listed once (the first).
        """
        names = list(self.grid)
        combos = [
            dict(zip(names, vals, strict=True)) for vals in itertools.product(*(self.grid[n] for n in names))
        ]
        draws = _draw(self.ranges, self.sample_n, self.sample_seed) if self.sample_n else [{}]
        out, seen = [], set()
        for g in combos:
            for s in draws:
                params = {k: default for k, (default, _) in PARAMETERS.items()}
                params.update(self.fixed)
                params.update(g)
                params.update(s)
                params = {k: _normal(k, v) for k, v in params.items()}
                key = point_key(params, sweep_seed=self.seed)
                if key not in seen:
                    seen.add(key)
                    out.append(Point(index=len(out), key=key, params=params))
        return out


def _known(section: str, table: Mapping, allowed) -> None:
    for k in table:
        if k not in allowed:
            raise ValueError(f"{section} keys must be among {list(allowed)}; got {k!r}.")


def _parameter(name: str, k: str) -> None:
    if k not in PARAMETERS:
        raise ValueError(f"{name} must be a sweep parameter, one of {sorted(PARAMETERS)}; got {k!r}.")


def _plain(name: str, v):
    """``v`` if it is a finite number, a string, a boolean, or a list of those."""
    if isinstance(v, list | tuple):
        return [_plain(name, x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"{name} must be finite; got {v!r}.")
    if not isinstance(v, bool | int | float | str):
        raise TypeError(
            f"{name} must be a number, a string, a boolean or a list of those; got {type(v).__name__} {v!r}."
        )
    return v


def _int_key(name: str, value) -> int:
    return check.integer(name, value, minimum=0)


def _normal(k: str, v):
    """Canonical form of a value: reals as float, width lists as lists of int."""
    if k in _REAL and isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    if k == "hidden" and isinstance(v, list | tuple):
        return [int(h) if isinstance(h, np.integer) else h for h in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _range(k: str, v) -> dict:
    name = f"sample.ranges.{k}"
    _parameter(name, k)
    if isinstance(v, list | tuple):
        if len(v) != 2 or not all(_is_number(x) for x in v):
            raise ValueError(
                f"{name} must be [low, high] (two numbers) or a table with low/high or choices; got {v!r}."
            )
        low, high = v
        kind = "integer" if all(isinstance(x, int) for x in v) and k not in _REAL else "uniform"
        v = {"low": low, "high": high, "kind": kind}
    elif isinstance(v, Mapping):
        v = dict(v)
        if "choices" in v:
            if set(v) != {"choices"} or not isinstance(v["choices"], list | tuple) or not v["choices"]:
                raise ValueError(f"{name} must be {{choices = [non-empty list]}} alone; got {v!r}.")
            return {"kind": "choices", "choices": [_normal(k, _plain(name, c)) for c in v["choices"]]}
        extra = set(v) - {"low", "high", "log"}
        if extra or "low" not in v or "high" not in v:
            raise ValueError(
                f"{name} must have keys low, high and optionally log (or choices); got {sorted(v)}."
            )
        if not (_is_number(v["low"]) and _is_number(v["high"])):
            raise TypeError(f"{name}.low and .high must be numbers; got {v['low']!r}, {v['high']!r}.")
        log = v.get("log", False)
        if not isinstance(log, bool):
            raise TypeError(f"{name}.log must be true or false; got {log!r}.")
        integer = all(isinstance(v[x], int) for x in ("low", "high")) and k not in _REAL
        v = {
            "low": v["low"],
            "high": v["high"],
            "kind": "log" if log else ("integer" if integer else "uniform"),
        }
        if log and not v["low"] > 0:
            raise ValueError(f"{name}.low must be > 0 for a log range; got {v['low']!r}.")
    else:
        raise TypeError(f"{name} must be [low, high] or a table; got {type(v).__name__} {v!r}.")
    if not v["low"] <= v["high"]:
        raise ValueError(f"{name} must have low <= high; got low={v['low']!r}, high={v['high']!r}.")
    return v


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _draw(ranges: dict, n: int, seed: int) -> list[dict]:
    """``n`` draws from ``ranges``, parameters in sorted order, from ``SeedSequence(seed)``."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    cols = {}
    for k in sorted(ranges):
        r = ranges[k]
        if r["kind"] == "choices":
            idx = rng.integers(0, len(r["choices"]), size=n)
            cols[k] = [r["choices"][i] for i in idx]
        elif r["kind"] == "integer":
            cols[k] = [int(x) for x in rng.integers(r["low"], r["high"], size=n, endpoint=True)]
        elif r["kind"] == "log":
            cols[k] = [float(x) for x in np.exp(rng.uniform(math.log(r["low"]), math.log(r["high"]), size=n))]
        else:
            cols[k] = [float(x) for x in rng.uniform(r["low"], r["high"], size=n)]
    return [{k: cols[k][i] for k in cols} for i in range(n)]


def as_spec(spec) -> SweepSpec:
    """A :class:`SweepSpec` from a SweepSpec, a dict, or a path to a TOML file."""
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, str | os.PathLike):
        return SweepSpec.load(spec)
    return SweepSpec.from_dict(spec)


# ---------------------------------------------------------------------------- keys and seeds
def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _digest(obj) -> bytes:
    return hashlib.sha256(_canonical(obj)).digest()


def point_key(params: dict, *, sweep_seed: int) -> str:
    """The stable key of a point: 16 hex digits of SHA-256 over its canonical JSON.

    Depends on the sweep seed and every parameter (defaults included), never on the point's
    position or on Python's salted ``hash``.
    """
    return _digest({"v": _VERSION, "sweep_seed": sweep_seed, "params": params}).hex()[:16]


def _spawn_key(obj) -> tuple[int, ...]:
    return tuple(int(w) for w in np.frombuffer(_digest(obj)[:16], dtype="<u4"))


def point_seeds(params: dict, *, sweep_seed: int) -> dict[str, np.random.SeedSequence]:
    """The seed sequences of a point's training (``"train"``) and copy-out (``"copyout"``).

    ``train`` is keyed by the parameters without :data:`STRESS_PARAMETERS` (points that
    differ only in stress train identically), ``copyout`` by all of them.
    """
    base = {k: v for k, v in params.items() if k not in STRESS_PARAMETERS}
    return {
        "train": np.random.SeedSequence(sweep_seed, spawn_key=_spawn_key(["train", base])),
        "copyout": np.random.SeedSequence(sweep_seed, spawn_key=_spawn_key(["copyout", params])),
    }


# ---------------------------------------------------------------------------- one point
def check_point(params: Mapping) -> dict:
    """Validate a point's parameter values; return them complete (defaults filled in).

    Raises
    ------
    ValueError, TypeError
        Naming the parameter, the rule and the value, e.g.
        ``temperature_k must be > 0 K (absolute temperature in kelvin); got temperature_k=-5.``
    """
    from neuromorph.hardware.devices import PRESETS

    unknown = [k for k in params if k not in PARAMETERS]
    if unknown:
        raise ValueError(f"parameter must be one of {sorted(PARAMETERS)}; got {unknown[0]!r}.")
    p = {k: default for k, (default, _) in PARAMETERS.items()}
    p.update(params)
    if p["preset"] not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}; got {p['preset']!r}.")
    check.integer("seed", p["seed"], minimum=0)
    check.integer("adc_bits", p["adc_bits"], minimum=2, maximum=32)
    check.non_negative("read_noise_scale", p["read_noise_scale"])
    check.temperature("train_temperature_k", p["train_temperature_k"])
    check.temperature("temperature_k", p["temperature_k"])
    check.non_negative("age_hours", p["age_hours"])
    hidden = p["hidden"]
    if (
        not isinstance(hidden, list | tuple)
        or not hidden
        or not all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in hidden)
    ):
        raise ValueError(f"hidden must be a non-empty list of int >= 1; got hidden={hidden!r}.")
    check.integer("epochs", p["epochs"], minimum=0)
    check.positive("learning_rate", p["learning_rate"])
    check.integer("n_train", p["n_train"], minimum=0)
    check.integer("n_test", p["n_test"], minimum=0)
    if p["copyout_method"] not in COPYOUT_METHODS:
        raise ValueError(
            f"copyout_method must be one of {list(COPYOUT_METHODS)}; got {p['copyout_method']!r}."
        )
    budget = check.real("copyout_budget", p["copyout_budget"])
    if p["copyout_method"] != "none" and budget < 1:
        raise ValueError(f"copyout_budget must be >= 1; got copyout_budget={budget:g}.")
    return p


@lru_cache(maxsize=4)
def _digits(n_train: int, n_test: int):
    from neuromorph.datasets import Dataset, load_digits

    d = load_digits(seed=0)
    tr = slice(None) if n_train == 0 else slice(0, n_train)
    te = slice(None) if n_test == 0 else slice(0, n_test)
    return Dataset(
        d.x_train[tr], d.y_train[tr], d.x_test[te], d.y_test[te], n_classes=d.n_classes, name=d.name
    )


def run_point(params: Mapping, *, sweep_seed: int) -> dict:
    """Fabricate, train in place, stress, measure (and optionally copy out) one point.

    Parameters
    ----------
    params : dict
        Point parameters (see :data:`PARAMETERS`; missing ones take their defaults).
    sweep_seed : int

    Returns
    -------
    dict
        ``accuracy_trained`` (test accuracy at the training temperature, just trained),
        ``accuracy`` (after heating to ``temperature_k`` and ageing ``age_hours``),
        ``accuracy_drop_points``, ``train_pulses`` and ``train_energy_j`` (the chip's meter
        over initial programming and training); with a copy-out method, what the copy cost
        (``copyout_queries``, ``copyout_adc_conversions``, ``copyout_chip_seconds``,
        ``copyout_energy_j``) and how good it is (``copyout_weight_rel_rms``: worst layer's
        relative RMS error against the chip's true effective weights; ``copyout_fidelity``:
        agreement with the chip's predictions on the test inputs; ``copyout_accuracy``).

    Raises
    ------
    ValueError, TypeError
        From :func:`check_point` for invalid parameters.
    """
    from neuromorph.algorithms import ff
    from neuromorph.chip import Chip, ChipDesign
    from neuromorph.hardware.devices import preset

    p = check_point(params)
    seeds = point_seeds(p, sweep_seed=sweep_seed)
    data = _digits(p["n_train"], p["n_test"])
    device = preset(p["preset"])
    noise = dataclasses.replace(
        device.noise, read_noise_rel=device.noise.read_noise_rel * p["read_noise_scale"]
    )
    device = device.with_(noise=noise)
    sizes = (data.n_features + data.n_classes, *p["hidden"])
    base = ChipDesign(layer_sizes=sizes, device=device)
    periphery = dataclasses.replace(
        base.periphery, adc=dataclasses.replace(base.periphery.adc, bits=p["adc_bits"])
    )
    design = dataclasses.replace(base, periphery=periphery)
    config = ff.FFConfig(epochs=p["epochs"], learning_rate=p["learning_rate"])
    rng = np.random.default_rng(seeds["train"])

    chip = Chip.fabricate(design, seed=p["seed"])
    chip.environment.set_temperature(p["train_temperature_k"])
    ports = chip.ports()
    for layer, w in enumerate(
        ff.initial_weights(ports.layer_sizes, config=config, rng=rng, w_max=ports.weight_range)
    ):
        ports.program(layer, w)  # write-verify, as experiments.run_training does
    ff.train(ports, data, config, rng=rng, progress=False)
    trained = ports.meter
    c = data.n_classes
    out = {"accuracy_trained": ff.accuracy(ports, data.x_test, data.y_test, n_classes=c, config=config)}
    chip.environment.set_temperature(p["temperature_k"])
    chip.environment.advance(hours=p["age_hours"])
    out["accuracy"] = ff.accuracy(ports, data.x_test, data.y_test, n_classes=c, config=config)
    out["accuracy_drop_points"] = 100.0 * (out["accuracy_trained"] - out["accuracy"])
    out["train_pulses"] = trained.pulses
    out["train_energy_j"] = trained.energy_j
    if p["copyout_method"] != "none":
        out.update(_copy_out(chip, data, p, config, np.random.default_rng(seeds["copyout"])))
    return out


def _copy_out(chip, data, p: dict, config, rng: np.random.Generator) -> dict:
    """Extract the stressed chip through its ports; the scorer here reads the hidden weights."""
    from neuromorph.algorithms import extract as ex
    from neuromorph.algorithms import ff

    ports = chip.ports()
    c = data.n_classes
    chip_pred = ff.predict(ports, data.x_test, n_classes=c, config=config)
    res = ex.extract(
        ports,
        method=p["copyout_method"],
        budget=p["copyout_budget"],
        design=chip.design,
        rng=rng,
        progress=False,
    )
    true = chip.effective_weights()
    rel = [
        float(np.sqrt(np.mean((a - b) ** 2) / np.mean(b * b)))
        for a, b in zip(res.network.weights, true, strict=True)
    ]
    pred = ff.predict(res.network, data.x_test, n_classes=c, config=config)
    return {
        "copyout_queries": res.spent.queries,
        "copyout_adc_conversions": res.spent.adc_conversions,
        "copyout_chip_seconds": res.spent.chip_seconds,
        "copyout_energy_j": res.spent.energy_j,
        "copyout_weight_rel_rms": max(rel),
        "copyout_fidelity": float(np.mean(pred == chip_pred)),
        "copyout_accuracy": float(np.mean(pred == data.y_test)),
    }


class _OneThread:
    """Limit BLAS (threadpoolctl) and Numba to one thread inside a task, then restore."""

    def __enter__(self):
        import numba
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=1)
        self._numba = numba.get_num_threads()
        numba.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        import numba

        numba.set_num_threads(self._numba)
        self._limits.restore_original_limits()
        return False


def execute(task: Task, point: Point, sweep_seed: int) -> dict:
    """Run ``task(point.params, sweep_seed=...)`` and return the point's full row.

    Never raises for a failure of the task: the row gets ``status="error"`` with the
    exception's type and message.  This is what each Dask task runs.
    """
    row = _row_head(point)
    t0 = time.perf_counter()
    try:
        with _OneThread():
            metrics = task(dict(point.params), sweep_seed=sweep_seed)
        if not isinstance(metrics, Mapping):
            raise TypeError(f"task result must be a dict; got {type(metrics).__name__}.")
        row.update({k: _jsonable(v) for k, v in metrics.items() if k not in row})
    except Exception as exc:  # noqa: BLE001 - one point's failure is data, not a crash
        row.update(status="error", error_type=type(exc).__name__, error_message=str(exc))
    row["wall_seconds"] = time.perf_counter() - t0
    return row


def _row_head(point: Point) -> dict:
    row = {"index": point.index, "key": point.key, "status": "ok", "error_type": None, "error_message": None}
    row.update({k: _jsonable(v) for k, v in point.params.items()})
    return row


def _jsonable(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if v is None or isinstance(v, bool | int | float | str):
        return v
    raise TypeError(f"task result values must be JSON scalars or lists; got {type(v).__name__}.")


# ---------------------------------------------------------------------------- results files
def read_results(path: str | os.PathLike) -> dict[str, dict]:
    """Rows of a ``results.jsonl`` by key (the last line of a key wins).

    A final line without its newline (torn by a kill) is ignored; any other line that is not
    a JSON object with a ``key`` raises ValueError naming its line number.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    lines = text.split("\n")
    complete = lines[:-1]  # the piece after the last newline is empty or torn
    rows: dict[str, dict] = {}
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict) or not isinstance(row.get("key"), str):
            raise ValueError(f"{path} line {number} must be a JSON object with a 'key'; got {line[:80]!r}.")
        rows[row["key"]] = row
    return rows


def _cut_torn_tail(path: str) -> None:
    """Drop a final line that has no newline (a write torn by a kill) before appending."""
    if not os.path.exists(path):
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)


def columns(rows: list[dict]) -> list[str]:
    """Table columns: the base and metric columns, then any others a task added, sorted."""
    cols = list(BASE_COLUMNS) + list(METRIC_COLUMNS)
    extra = sorted({k for r in rows for k in r} - set(cols))
    return cols + extra


def write_csv(rows: list[dict], path: str | os.PathLike) -> str:
    """Write ``rows`` as CSV atomically (lists as JSON text, None as empty)."""
    path = os.fspath(path)
    cols = columns(rows)
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            w.writerow([_cell(r.get(c)) for c in cols])
    return path


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return json.dumps(v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


# ---------------------------------------------------------------------------- plots
def _ok(rows, key="accuracy"):
    return [r for r in rows if r.get("status") == "ok" and r.get(key) is not None]


def _label(r: dict) -> str:
    return f"{r['preset']}, {r['adc_bits']}-bit ADC"


def plot_accuracy_distribution(rows: list[dict]):
    """Histogram of stressed test accuracy over the points, one step curve per preset/ADC.

    Returns a :class:`matplotlib.figure.Figure`.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    groups: dict[str, list[float]] = {}
    for r in _ok(rows):
        groups.setdefault(_label(r), []).append(100 * r["accuracy"])
    every = [a for g in groups.values() for a in g]
    if every:
        lo, hi = min(every), max(every)
        bins = np.linspace(lo - 0.5, hi + 0.5, max(6, min(30, len(every) // 2 + 2)))
        for name, acc in sorted(groups.items()):
            ax.hist(
                acc,
                bins=bins,
                histtype="step",
                linewidth=1.8,
                label=f"{name}: {np.mean(acc):.1f} +/- {np.std(acc):.1f} % (n={len(acc)})",
            )
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no finished points", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("test accuracy after stress (%)")
    ax.set_ylabel("points (dies x conditions)")
    ax.set_title("accuracy over fabricated dies")
    ax.grid(alpha=0.3)
    return fig


def plot_accuracy_vs_temperature(rows: list[dict]):
    """Mean stressed accuracy against temperature with +/- 1 std band and min-max bars.

    One curve per preset/ADC group; every point is drawn faintly.  Returns a Figure.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    groups: dict[str, dict[float, list[float]]] = {}
    for r in _ok(rows):
        groups.setdefault(_label(r), {}).setdefault(float(r["temperature_k"]), []).append(100 * r["accuracy"])
    for i, (name, by_t) in enumerate(sorted(groups.items())):
        color = f"C{i % 10}"
        ts = np.array(sorted(by_t))
        mean = np.array([np.mean(by_t[t]) for t in ts])
        std = np.array([np.std(by_t[t]) for t in ts])
        lo = np.array([np.min(by_t[t]) for t in ts])
        hi = np.array([np.max(by_t[t]) for t in ts])
        for t in ts:
            ax.plot([t] * len(by_t[t]), by_t[t], ".", color=color, alpha=0.35)
        ax.errorbar(
            ts,
            mean,
            yerr=[mean - lo, hi - mean],
            fmt="o-",
            color=color,
            capsize=3,
            label=f"{name} (mean, min-max)",
        )
        ax.fill_between(ts, mean - std, mean + std, color=color, alpha=0.15)
    if not groups:
        ax.text(0.5, 0.5, "no finished points", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(fontsize=8)
    ax.set_xlabel("stress temperature (K)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("accuracy against temperature (band: +/- 1 std over dies)")
    ax.grid(alpha=0.3)
    return fig


def plot_copyout(rows: list[dict]):
    """Copy-out fidelity against queries spent, one marker per method.  Returns a Figure."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for i, method in enumerate(m for m in COPYOUT_METHODS if m != "none"):
        pts = [
            (r["copyout_queries"], r["copyout_fidelity"])
            for r in _ok(rows, "copyout_fidelity")
            if r["copyout_method"] == method
        ]
        if pts:
            ax.plot(*zip(*pts, strict=True), "o", color=f"C{i}", label=method, alpha=0.7)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("copy-out queries to the chip")
    ax.set_ylabel("fidelity (agreement with the chip)")
    ax.set_title("copy-out cost and quality over points")
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    return fig


def write_plots(rows: list[dict], out_dir: str | os.PathLike) -> list[str]:
    """Write the summary PNGs into ``out_dir`` atomically; return their paths."""
    out_dir = os.fspath(out_dir)
    figs = [
        ("accuracy_distribution.png", plot_accuracy_distribution),
        ("accuracy_vs_temperature.png", plot_accuracy_vs_temperature),
    ]
    if _ok(rows, "copyout_fidelity"):
        figs.append(("copyout.png", plot_copyout))
    paths = []
    for name, make in figs:
        path = os.path.join(out_dir, name)
        with atomic_open(path, "wb") as fh:
            make(rows).savefig(fh, dpi=110, format="png")
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------- the engine
@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    rows : list of dict
        One row per point of the spec, in spec order.
    computed, resumed : int
        Points run now, and points taken from an earlier run's ``results.jsonl``.
    paths : dict of str to str
        ``"jsonl"``, ``"csv"`` and the plots written.
    """

    rows: list[dict]
    computed: int
    resumed: int
    paths: dict = field(default_factory=dict)

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.rows if r.get("status") != "ok"]


def local_cluster(n_workers: int):
    """A Dask LocalCluster on this machine: processes, one thread each, no dashboard, loopback.

    Everything listens on 127.0.0.1.  The scheduler's small HTTP server (health and metrics
    routes, which Dask starts even without a dashboard) takes a free port instead of 8787,
    so two sweeps at once never collide there.  Dask's own logs are kept to errors.
    """
    from dask.distributed import LocalCluster

    n_workers = check.integer("workers", n_workers, minimum=1)
    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
    )


def run_sweep(
    spec,
    out_dir: str | os.PathLike,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    serial: bool = False,
    retry_failed: bool = False,
    task: Task | None = None,
    plots: bool = True,
    progress: bool = True,
) -> SweepResult:
    """Run every point of ``spec`` not yet in ``out_dir/results.jsonl``; write the table.

    Parameters
    ----------
    spec : SweepSpec, dict or path to a TOML file
    out_dir : path
        Created if missing.  ``results.jsonl`` there is appended to (one line per finished
        point) and read back to resume.
    scheduler : str, optional
        Address of a running Dask scheduler (``"tcp://host:8786"``); used unchanged and
        not closed.  Its workers must be able to import neuromorph (and ``task``).
        Default: a :func:`local_cluster` of ``workers`` processes, closed at
        the end.
    workers : int
        Worker processes of the local cluster.
    serial : bool
        Run the points one after another in this process, without Dask (debugging and
        baselines); the rows are the same bits.
    retry_failed : bool
        Recompute points whose recorded row is an error.
    task : callable, optional
        ``task(params: dict, *, sweep_seed: int) -> dict`` of metrics; default
        :func:`run_point`.  Must be importable by the workers (a module-level function).
    plots : bool
        Write the summary PNGs.
    progress : bool
        A tqdm bar over finished points.

    Returns
    -------
    SweepResult
    """
    from tqdm.auto import tqdm

    spec = as_spec(spec)
    task = run_point if task is None else task
    if not callable(task):
        raise TypeError(f"task must be callable; got {type(task).__name__}.")
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address string or None; got {scheduler!r}.")
    if not serial and scheduler is None:
        workers = check.integer("workers", workers, minimum=1)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    jsonl = os.path.join(out_dir, RESULTS_JSONL)
    _cut_torn_tail(jsonl)
    points = spec.points()
    done = read_results(jsonl)
    todo = [
        pt for pt in points if pt.key not in done or (retry_failed and done[pt.key].get("status") != "ok")
    ]
    resumed = len(points) - len(todo)
    fresh: dict[str, dict] = {}
    bar = tqdm(
        total=len(points), initial=resumed, desc=f"sweep {spec.name}", unit="point", disable=not progress
    )
    try:
        with open(jsonl, "a", encoding="utf-8") as fh:

            def record(row: dict) -> None:
                fh.write(json.dumps(row, allow_nan=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
                fresh[row["key"]] = row
                bar.update(1)

            if serial or not todo:
                for pt in todo:
                    record(execute(task, pt, spec.seed))
            else:
                _run_dask(task, todo, spec.seed, record, scheduler=scheduler, workers=workers)
    finally:
        bar.close()
    rows = []
    for pt in points:
        row = dict(fresh.get(pt.key) or done[pt.key])
        row["index"] = pt.index
        rows.append(row)
    paths = {"jsonl": jsonl, "csv": write_csv(rows, os.path.join(out_dir, RESULTS_CSV))}
    if plots:
        for p in write_plots(rows, out_dir):
            paths[os.path.splitext(os.path.basename(p))[0]] = p
    return SweepResult(rows=rows, computed=len(fresh), resumed=resumed, paths=paths)


def _run_dask(task: Task, todo: list[Point], sweep_seed: int, record, *, scheduler, workers) -> None:
    """Submit every point; record each as it completes (errors of the engine as error rows)."""
    from dask.distributed import Client, as_completed

    cluster = None
    if scheduler is None:
        cluster = local_cluster(workers)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    futures: list = []
    try:
        run = f"{os.getpid()}-{time.time_ns()}"
        for pt in todo:
            futures.append(
                client.submit(
                    execute, task, pt, sweep_seed, pure=False, key=f"neuromorph-sweep-{pt.key}-{run}"
                )
            )
        by_key = dict(zip((f.key for f in futures), todo, strict=True))
        for fut in as_completed(futures):
            pt = by_key[fut.key]
            try:
                row = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails its point only
                row = _row_head(pt)
                row.update(status="error", error_type=type(exc).__name__, error_message=str(exc))
            record(row)
            fut.release()
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ---------------------------------------------------------------------------- command line
def summary(result: SweepResult) -> str:
    """A short text summary: counts, and accuracy mean +/- std per preset/ADC/temperature."""
    rows = result.rows
    lines = [
        f"{len(rows)} points: {len(rows) - len(result.failed)} ok, {len(result.failed)} "
        f"failed; {result.computed} computed now, {result.resumed} from earlier runs"
    ]
    groups: dict[tuple, list[float]] = {}
    for r in _ok(rows):
        groups.setdefault((r["preset"], r["adc_bits"], float(r["temperature_k"])), []).append(
            100 * r["accuracy"]
        )
    if groups:
        lines.append(f"{'preset':<8}{'ADC bits':>9}{'T (K)':>9}{'n':>5}{'accuracy (%)':>22}")
        for (pr, bits, t), acc in sorted(groups.items()):
            lines.append(
                f"{pr:<8}{bits:>9}{t:>9.1f}{len(acc):>5}{np.mean(acc):>13.2f} +/- {np.std(acc):<5.2f}"
            )
    for r in result.failed[:5]:
        lines.append(f"point {r['index']} ({r['key']}): {r['error_type']}: {r['error_message']}")
    if len(result.failed) > 5:
        lines.append(f"... and {len(result.failed) - 5} more failed points (see results.csv)")
    return "\n".join(lines)


def _cli(args) -> int:
    result = run_sweep(
        args.spec,
        args.out,
        scheduler=args.scheduler,
        workers=args.workers,
        retry_failed=args.retry_failed,
        progress=not args.quiet,
    )
    print(summary(result))
    names = ", ".join(os.path.basename(p) for p in result.paths.values())
    print(f"wrote {names} in {args.out}")
    return 0


def register_cli(subparsers) -> None:
    """Add ``neuromorph sweep SPEC.toml --out DIR [--scheduler ADDRESS] [--workers N]
    [--retry-failed] [--quiet]`` to an argparse subparsers object.

    Writes ``DIR/results.jsonl`` (incremental; rerun to resume), ``DIR/results.csv`` and the
    summary PNGs.
    """
    p = subparsers.add_parser("sweep", help="run a sweep of chips over dies and conditions on Dask")
    p.add_argument("spec", help="sweep spec, a TOML file")
    p.add_argument("--out", required=True, help="folder for results.jsonl, results.csv, PNGs")
    p.add_argument(
        "--scheduler", default=None, help="address of a running Dask scheduler (default: a local cluster)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=max(1, os.cpu_count() or 1),
        help="worker processes of the local cluster (default: CPU count)",
    )
    p.add_argument("--retry-failed", action="store_true", help="recompute points that failed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cli)
