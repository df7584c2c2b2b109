"""The sweep spec: parameters, validation, TOML loading, points and their keys (layer 4).

A **spec** (a TOML file read with :mod:`tomllib`, or the same structure as a dict) names the
points of a study: a Cartesian ``[grid]``, ``[fixed]`` values and an optional random
``[sample]`` (see :mod:`neuromorph.studies.sweep` for the layout).  Loading checks the spec's
structure (sections, parameter names, list and range forms) and raises ValueError or TypeError
naming the key; values are checked per point by :func:`check_point`, inside the task, so one
bad value fails only its own points.  A point's **key** is a digest of the sweep seed and its
complete parameters, independent of its position in the spec.

Layer 4 (studies): imports NumPy, the standard library and the shared leaves (and the device
presets, to check a point's ``preset``); never ``faces``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuromorph import _validate as check

#: Version of the key format, part of every key: bumping it makes old results rerun.
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


def as_spec(spec: SweepSpec | Mapping | str | os.PathLike) -> SweepSpec:
    """A :class:`SweepSpec` from a SweepSpec, a dict, or a path to a TOML file."""
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, str | os.PathLike):
        return SweepSpec.load(spec)
    return SweepSpec.from_dict(spec)


# ---------------------------------------------------------------------------- keys
def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def canonical_digest(obj: Any) -> bytes:
    """SHA-256 of ``obj``'s canonical JSON (sorted keys, no spaces): stable across runs and
    machines, unlike Python's salted ``hash``."""
    return hashlib.sha256(_canonical(obj)).digest()


def point_key(params: dict, *, sweep_seed: int) -> str:
    """The stable key of a point: 16 hex digits of SHA-256 over its canonical JSON.

    Depends on the sweep seed and every parameter (defaults included), never on the point's
    position or on Python's salted ``hash``.
    """
    return canonical_digest({"v": _VERSION, "sweep_seed": sweep_seed, "params": params}).hex()[:16]


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
