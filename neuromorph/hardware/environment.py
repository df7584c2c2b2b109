"""The operating environment of a chip: temperature and time (layer 1).

An :class:`Environment` is a clock with a temperature history.  Crossbars hold a reference
to one (a chip shares one among its layers) and read it whenever they compute what a read
sees.  Thermally accelerated processes (drift) use the **equivalent time at the reference
temperature**, ``t_eq = sum_k exp(Ea/k_B (1/T_ref - 1/T_k)) * duration_k`` over the
history's constant-temperature segments; it is exact for piecewise-constant temperature.
"""

from __future__ import annotations

import math

from neuromorph import _validate as check
from neuromorph.hardware.devices import K_B_EV, DeviceModel

#: Latest time an environment may reach, seconds: 1e4 years.  Memories are qualified for
#: 10 years of data retention (e.g. JEDEC JESD47) and the drift laws are power laws fitted
#: over seconds to years, so 1000 times that horizon is already a long extrapolation and
#: anything later is a unit mistake; it also keeps ``time_s`` resolved to < 0.1 ms in float64.
MAX_TIME_S = 1e4 * 365.25 * 86400.0


def _check_time(name: str, value: object) -> float:
    """A time in [0, MAX_TIME_S] seconds."""
    value = check.non_negative(name, value)
    if value > MAX_TIME_S:
        raise ValueError(f"{name} must be <= {MAX_TIME_S:.6g} s (1e4 years); got {name}={value:.6g}.")
    return value


class Environment:
    """Temperature (K) and time (s) as the chip experiences them.

    Parameters
    ----------
    temperature_k : float
        Starting temperature, kelvin, in [1, 1000] K (:func:`neuromorph._validate.temperature`;
        a device's own law may accept less: ``TemperatureParams.check_temperature``).
    time_s : float
        Starting time, seconds, in [0, :data:`MAX_TIME_S`] (1e4 years).

    Examples
    --------
    >>> env = Environment(temperature_k=300.0)
    >>> env.advance(hours=1)
    >>> env.set_temperature(358.0)
    >>> env.time_s
    3600.0
    """

    def __init__(self, temperature_k: float = 300.0, time_s: float = 0.0) -> None:
        temperature_k = check.temperature("temperature_k", temperature_k)
        time_s = _check_time("time_s", time_s)
        self._starts: list[float] = [time_s]
        self._temps: list[float] = [temperature_k]
        self._time_s = time_s
        self.version = 0

    @property
    def temperature_k(self) -> float:
        """Current temperature, kelvin."""
        return self._temps[-1]

    @property
    def time_s(self) -> float:
        """Current time, seconds."""
        return self._time_s

    def set_temperature(self, temperature_k: float) -> None:
        """Change the temperature from now on."""
        temperature_k = check.temperature("temperature_k", temperature_k)
        if temperature_k == self._temps[-1]:
            return
        if self._starts[-1] == self._time_s:
            self._temps[-1] = temperature_k
            if len(self._temps) > 1 and self._temps[-2] == temperature_k:
                self._starts.pop()
                self._temps.pop()
        else:
            self._starts.append(self._time_s)
            self._temps.append(temperature_k)
        self.version += 1

    def advance(
        self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0, days: float = 0.0
    ) -> None:
        """Let time pass at the current temperature; the clock may not pass :data:`MAX_TIME_S`."""
        total = (
            check.non_negative("seconds", seconds)
            + 60.0 * check.non_negative("minutes", minutes)
            + 3600.0 * check.non_negative("hours", hours)
            + 86400.0 * check.non_negative("days", days)
        )
        if not self._time_s + total <= MAX_TIME_S:  # also catches an overflow to inf
            raise ValueError(
                f"seconds + minutes + hours + days must keep time_s <= {MAX_TIME_S:.6g} s (1e4 "
                f"years); got time_s={self._time_s:.6g} s plus {total:.6g} s."
            )
        if total > 0.0:
            self._time_s += total
            self.version += 1

    def equivalent_time(self, ea_ev: float, t_ref_k: float) -> float:
        """Time elapsed since t=0 expressed at ``t_ref_k`` for activation energy ``ea_ev``, s."""
        if ea_ev == 0.0:
            return self._time_s - self._starts[0]
        ends = self._starts[1:] + [self._time_s]
        total = 0.0
        for start, end, temp in zip(self._starts, ends, self._temps, strict=True):
            factor = math.exp(ea_ev / K_B_EV * (1.0 / t_ref_k - 1.0 / temp))
            total += factor * (end - start)
        return total

    def retention_time(self, device: DeviceModel) -> float:
        """Now, as the equivalent time at ``device``'s reference temperature for its retention
        (drift or relaxation, activation energy ``device.drift.ea_drift_ev``), seconds."""
        return self.equivalent_time(device.drift.ea_drift_ev, device.temperature.t_ref_k)

    def to_dict(self) -> dict:
        """A JSON-ready description (for saving chips)."""
        return {
            "time_s": self._time_s,
            "starts_s": list(self._starts),
            "temps_k": list(self._temps),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Environment:
        """Inverse of :meth:`to_dict`; raises ValueError on an inconsistent history."""
        try:
            starts = [float(s) for s in data["starts_s"]]
            temps = [float(t) for t in data["temps_k"]]
            time_s = float(data["time_s"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"environment must have numeric 'time_s', 'starts_s', 'temps_k'; got {data!r}."
            ) from exc
        consistent = len(starts) == len(temps) and starts == sorted(starts)
        if not starts or not consistent or time_s < starts[-1]:
            raise ValueError(
                "environment history must be non-empty, sorted, as long as its temperatures and "
                f"end before time_s; got starts_s={starts}, temps_k={temps}, time_s={time_s}."
            )
        env = cls(temperature_k=temps[0], time_s=starts[0])
        for t in temps:
            check.temperature("temps_k", t)
        for s in (*starts, time_s):
            _check_time("starts_s and time_s", s)
        env._starts, env._temps, env._time_s = starts, temps, time_s
        return env

    def __repr__(self) -> str:
        return f"Environment(temperature_k={self.temperature_k:g}, time_s={self.time_s:g})"
