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


#: Lowest absolute temperature accepted anywhere, K: below liquid helium (4.2 K), the
#: coldest electronics is characterised at; the Arrhenius factors of the device laws
#: (``exp(-Ea / k_B T)``) underflow to exactly zero well before it.
TEMPERATURE_MIN_K = 1.0
#: Highest, K: above the melting point of Ge2Sb2Te5 (about 900 K; Wuttig & Yamada, Nat.
#: Mater. 6, 824 (2007)) and far beyond the ~400 C (673 K) back-end-of-line process budget
#: of any chip; no device modelled here survives it.
TEMPERATURE_MAX_K = 1000.0
#: The 0 C point: the hint for a temperature that looks like Celsius.
CELSIUS_ZERO_K = 273.15


def temperature(name: str, value: object) -> float:
    """An absolute temperature in kelvin, finite and in [TEMPERATURE_MIN_K, TEMPERATURE_MAX_K]."""
    value = real(name, value)
    if not value > 0:
        raise ValueError(
            f"{name} must be > 0 K (absolute temperature in kelvin); got {name}={_fmt(value)}. "
            "Convert Celsius with T_K = T_C + 273.15."
        )
    if not TEMPERATURE_MIN_K <= value <= TEMPERATURE_MAX_K:
        raise ValueError(
            f"{name} must be in [{TEMPERATURE_MIN_K:g}, {TEMPERATURE_MAX_K:g}] K, where a chip can "
            f"exist; got {name}={_fmt(value)}."
        )
    return value


def temperature_in(name: str, value: object, low_k: float, high_k: float, *, why: str = "") -> float:
    """A temperature in [``low_k``, ``high_k``] K; one that looks like Celsius gets a hint.

    For plausibility checks at the edge (command line, specs), where 30 most likely means
    30 C: the message then ends "Did you mean 303.15 K?".  ``why`` names the range's reason.
    """
    value = real(name, value)
    if low_k <= value <= high_k:
        return value
    hint = ""
    if low_k <= value + CELSIUS_ZERO_K <= high_k:
        hint = f" Did you mean {value + CELSIUS_ZERO_K:g} K? (T_K = T_C + 273.15)"
    why = f" ({why})" if why else ""
    raise ValueError(f"{name} must be in [{low_k:g}, {high_k:g}] K{why}; got {name}={_fmt(value)}.{hint}")


#: Accepted range of a weight scale such as ``w_max``.  Weights are dimensionless, so any
#: scale is a choice of units, but the arithmetic multiplies a few of them with inputs and
#: ADC steps (1/2**16 of full scale) and squares them: 1e-30..1e30 keeps ten such factors
#: inside float64's normal range (2.2e-308..1.8e308), where 1e-320 (subnormal) turns the
#: conductance per weight unit into inf.
SCALE_MIN, SCALE_MAX = 1e-30, 1e30


def scale(name: str, value: object) -> float:
    """A positive scale (e.g. ``w_max``) in [SCALE_MIN, SCALE_MAX]; see the constant's reason."""
    value = positive(name, value)
    if not SCALE_MIN <= value <= SCALE_MAX:
        raise ValueError(
            f"{name} must be in [{SCALE_MIN:g}, {SCALE_MAX:g}] (float64 arithmetic on weights "
            f"stays exact only away from under- and overflow); got {name}={_fmt(value)}."
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
    first offending index.  Complex values raise TypeError unless ``dtype`` is complex
    (converting would drop the imaginary part).
    """
    if _is_complex(value) and not np.issubdtype(dtype, np.complexfloating):
        raise TypeError(f"{name} must be real numbers; got {np.asarray(value).dtype} values.")
    try:
        out = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers; got {type(value).__name__}.") from exc
    try:
        out = np.ascontiguousarray(out, dtype=dtype)
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
    if finite and out.dtype.kind == "f" and not _all_finite(out):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        raise ValueError(f"{name} must be finite (no NaN or inf); got {out[bad]} at index {bad}.")
    return out


def _all_finite(a: NDArray) -> bool:
    """Whether every element of float array ``a`` is finite, in one read-only pass.

    A non-finite element makes the sum non-finite; a finite sum therefore settles it without
    the boolean temporary of ``np.isfinite(a).all()``.  Only when the sum is not finite (a NaN
    or inf, or finite values whose sum overflows) is the elementwise test run.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = a.sum()
    return bool(np.isfinite(total)) or bool(np.isfinite(a).all())


def _is_complex(value: object) -> bool:
    """Whether ``value`` holds complex numbers (False for what is not array-like at all)."""
    try:
        return bool(np.iscomplexobj(value))
    except (TypeError, ValueError):
        return False
