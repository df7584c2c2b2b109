"""The preset check: does each preset reproduce what its sources publish? (layer 4)

A :class:`Check` names a preset's effect, a quantity a source publishes (a fitted constant,
a figure's value, a statistic at a stated state or time), the source and its value, a
tolerance, and a *measurement*: a function that fabricates devices of the preset and
pulses, programs, ages, heats or reads them (:mod:`.measure`) to get the simulated value.
A preset's own parameter is never read back as the simulated value.

:func:`run_checks` runs a registry (one tuple of checks per preset name; the project's is
:data:`neuromorph.studies.presets.registry.CHECKS`) and returns one :class:`CheckRow` per
check; :func:`uncovered` says which of :data:`EFFECTS` a non-ideal preset has no check for.
Nothing prints.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from neuromorph import _validate as check
from neuromorph.hardware.devices import PRESETS, DeviceModel

#: The effects a check may cover; every non-ideal preset should cover all of them.
EFFECTS = (
    "pulse",
    "c2c",
    "d2d",
    "stuck",
    "read_noise",
    "retention",
    "temperature",
    "programming",
    "endurance",
)
#: Presets exempt from coverage: a device without effects has nothing to reproduce.
IDEAL_PRESETS = ("ideal",)

Measure = Callable[[DeviceModel, np.random.Generator], float]


@dataclass(frozen=True)
class Check:
    """One published number a preset must reproduce by simulation.

    Parameters
    ----------
    effect : str
        One of :data:`EFFECTS`.
    quantity : str
        What is measured, with its state, time or temperature and unit.
    source : str
        Where the number is published (bibliography key of ``docs/references.md`` and place).
    expected : float
        The source's value (finite, non-zero).
    rel_tol : float > 0
        Tolerance on ``|simulated - expected| / |expected|``.
    measure : callable ``(device, rng) -> float``
        Simulates the preset and returns the measured value.
    """

    effect: str
    quantity: str
    source: str
    expected: float
    rel_tol: float
    measure: Measure

    def __post_init__(self) -> None:
        if self.effect not in EFFECTS:
            raise ValueError(f"effect must be one of {list(EFFECTS)}; got {self.effect!r}.")
        expected = check.real("expected", self.expected)
        if expected == 0.0:
            raise ValueError("expected must be non-zero (the tolerance is relative); got 0.")
        check.positive("rel_tol", self.rel_tol)
        if not callable(self.measure):
            raise TypeError(f"measure must be callable; got {type(self.measure).__name__}.")


@dataclass(frozen=True)
class CheckRow:
    """The outcome of one :class:`Check` on one preset (the JSON row of ``presets --check``)."""

    preset: str
    effect: str
    quantity: str
    source: str
    expected: float
    simulated: float
    rel_tol: float
    ok: bool

    def as_dict(self) -> dict:
        """The row as a JSON-ready dict with the keys of the schema."""
        return asdict(self)


def run_check(preset: str, item: Check, device: DeviceModel, rng: np.random.Generator) -> CheckRow:
    """Measure ``item`` on ``device`` and compare with the source (NaN never passes)."""
    simulated = float(item.measure(device, rng))
    ok = math.isfinite(simulated) and abs(simulated - item.expected) <= item.rel_tol * abs(item.expected)
    return CheckRow(
        preset=preset,
        effect=item.effect,
        quantity=item.quantity,
        source=item.source,
        expected=float(item.expected),
        simulated=simulated,
        rel_tol=float(item.rel_tol),
        ok=bool(ok),
    )


def run_checks(
    checks: Mapping[str, Sequence[Check]], presets: Sequence[str] | None = None, *, seed: int = 0
) -> list[CheckRow]:
    """Run the ``checks`` of ``presets`` (default: every preset with checks); return the rows.

    Each check draws from its own Generator, seeded by ``(seed, preset name, check index)``,
    so a row does not depend on which other presets or checks run.

    Raises
    ------
    ValueError
        For a preset name that is not in :data:`~neuromorph.hardware.devices.PRESETS`.
    """
    seed = check.integer("seed", seed, minimum=0)
    names = list(checks) if presets is None else list(presets)
    for name in names:
        if name not in PRESETS:
            raise ValueError(f"presets must name presets of {sorted(PRESETS)}; got {name!r}.")
    rows = []
    for name in names:
        for index, item in enumerate(checks.get(name, ())):
            rng = np.random.default_rng([seed, zlib.crc32(name.encode()), index])
            rows.append(run_check(name, item, PRESETS[name], rng))
    return rows


def uncovered(
    checks: Mapping[str, Sequence[Check]], presets: Sequence[str] | None = None
) -> dict[str, tuple[str, ...]]:
    """Effects of :data:`EFFECTS` without a check, per non-ideal preset (default: all presets)."""
    names = [n for n in (PRESETS if presets is None else presets) if n not in IDEAL_PRESETS]
    missing = {}
    for name in names:
        covered = {item.effect for item in checks.get(name, ())}
        gaps = tuple(e for e in EFFECTS if e not in covered)
        if gaps:
            missing[name] = gaps
    return missing
