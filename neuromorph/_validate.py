"""Input checks shared by the public layers; messages follow STYLE.md's grammar."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from numpy.typing import NDArray


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


def real(name: str, value: object, *, finite: bool = True) -> float:
    """Return ``value`` as float; TypeError if not a real number, ValueError if NaN/inf."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}.")
    value = float(value)
    if finite and not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {name}={_fmt(value)}.")
    return value


def positive(name: str, value: object, *, hint: str = "") -> float:
    value = real(name, value)
    if not value > 0:
        raise ValueError(f"{name} must be > 0; got {name}={_fmt(value)}. {hint}".rstrip())
    return value


def non_negative(name: str, value: object, *, hint: str = "") -> float:
    value = real(name, value)
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0; got {name}={_fmt(value)}. {hint}".rstrip())
    return value


def fraction(name: str, value: object, *, hint: str = "") -> float:
    value = real(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1]; got {name}={_fmt(value)}. {hint}".rstrip())
    return value


def integer(name: str, value: object, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__} {value!r}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {name}={value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {name}={value}.")
    return value


def temperature(name: str, value: object) -> float:
    value = real(name, value)
    if not value > 0:
        raise ValueError(
            f"{name} must be > 0 K (absolute temperature in kelvin); got {name}={_fmt(value)}. "
            "Convert Celsius with T_K = T_C + 273.15."
        )
    return value


def generator(name: str, rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator; got {type(rng).__name__}. "
            "Make one with numpy.random.default_rng(seed)."
        )
    return rng


def array(
    name: str,
    value: object,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple[int | None, ...] | None = None,
    dtype: type = np.float64,
    finite: bool = True,
) -> NDArray:
    """Convert ``value`` to a C-contiguous array of ``dtype`` and check its form.

    ``shape`` entries that are ``None`` are free.  NaN or inf raise ValueError naming the
    first offending index.
    """
    try:
        out = np.ascontiguousarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers; got {type(value).__name__}.") from exc
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if out.ndim not in allowed:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, allowed))} dimension(s); got shape {out.shape}."
            )
    if shape is not None:
        if out.ndim != len(shape) or any(
            want is not None and want != got for want, got in zip(shape, out.shape, strict=True)
        ):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}; got shape {out.shape}.")
    if finite and out.dtype.kind == "f" and not np.isfinite(out).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        raise ValueError(f"{name} must be finite (no NaN or inf); got {out[bad]} at index {bad}.")
    return out
