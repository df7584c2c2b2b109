"""The project's preset checks, per preset and effect, and the study that runs them (layer 4).

:data:`CHECKS` maps a preset name of :data:`~neuromorph.hardware.devices.PRESETS` to its
:class:`~.checks.Check` s.  Expected values come from :mod:`.sources` (the sources' own
numbers and models); the simulated values from :mod:`.measure`.  Sample sizes are small
and seeded so the whole check runs in well under a minute; each tolerance states what it
allows for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from neuromorph.hardware.devices import DeviceModel
from neuromorph.studies.presets import measure
from neuromorph.studies.presets import sources as src
from neuromorph.studies.presets.checks import Check, CheckRow, run_checks, uncovered

#: Devices and single pulses for step statistics at one state: 4000 x 20 steps of a device
#: with c2c 5 (500 %) give a mean step to ~1.6 %.
STEP_PAIRS, STEP_PULSES = 4000, 20
#: Devices, bursts and pulses per burst for device-to-device statistics: bursts average the
#: cycle-to-cycle noise away so the spread between devices shows.
D2D_PAIRS, D2D_BURSTS, D2D_BURST = 400, 20, 100
#: Devices for population statistics (programming noise, drift, relaxation, temperature).
POPULATION = 4000
#: Devices and pulses each way for the unresponsive (corrupt or stuck) fraction: 20000
#: devices resolve a fraction of 0.1 to ~2 % and of 0.01 to ~7 %.
STUCK_PAIRS, STUCK_PULSES = 20000, 10
#: Statistical tolerance of a mean over the samples above (a few standard errors).
SAMPLING_TOL = 0.1
#: Heated read temperature of the temperature checks, K (the story's "hot").
HOT_K = 330.0
#: Retention read times, s: one hour and one day (stated times of the sources' laws).
T_HOUR_S, T_DAY_S = 3600.0, 86400.0


def _steps(x: float, what: str, which: str = "up"):
    def measure_steps(device: DeviceModel, rng: np.random.Generator) -> float:
        sample = measure.steps_at(device, rng, x=x, n_pairs=STEP_PAIRS, n_bursts=STEP_PULSES)
        return sample.asymmetry() if what == "asymmetry" else sample.c2c_rel(which)

    return measure_steps


def _d2d(x: float, which: str = "up"):
    def measure_d2d(device: DeviceModel, rng: np.random.Generator) -> float:
        sample = measure.steps_at(device, rng, x=x, n_pairs=D2D_PAIRS, n_bursts=D2D_BURSTS, burst=D2D_BURST)
        return sample.d2d_rel(which)

    return measure_d2d


def _unresponsive(device: DeviceModel, rng: np.random.Generator) -> float:
    return measure.unresponsive_fraction(device, rng, n_pairs=STUCK_PAIRS, n_pulses=STUCK_PULSES)


def _program_sigma(x: float, method: str = "direct"):
    def measure_sigma(device: DeviceModel, rng: np.random.Generator) -> float:
        return float(measure.programming_error(device, rng, x=x, n_pairs=POPULATION, method=method).std())

    return measure_sigma


def _drift_nu(x: float, stat: str, t1_s: float = T_HOUR_S, t2_s: float = T_DAY_S):
    """Per-device drift exponent from reads at two times, its mean or std over devices."""

    def measure_nu(device: DeviceModel, rng: np.random.Generator) -> float:
        _, g = measure.aged(device, rng, x=x, n_pairs=POPULATION, times_s=(t1_s, t2_s))
        t0 = src.PCM_T0_S
        nu = -np.log(g[1] / g[0]) / np.log((t2_s + t0) / (t1_s + t0))
        return float(nu.mean() if stat == "mean" else nu.std())

    return measure_nu


def _relaxation(x: float, stat: str, t_s: float = T_DAY_S):
    """Mean change, or std, of ``G(t) - G(0)`` over devices programmed to ``x``."""

    def measure_relaxation(device: DeviceModel, rng: np.random.Generator) -> float:
        g0, g = measure.aged(device, rng, x=x, n_pairs=POPULATION, times_s=(t_s,))
        d = g[0] - g0
        return float(d.mean() if stat == "mean" else d.std())

    return measure_relaxation


def _alpha(x: float):
    """Linear temperature coefficient of G measured between T_ref and :data:`HOT_K`, 1/K."""

    def measure_alpha(device: DeviceModel, rng: np.random.Generator) -> float:
        ratio = measure.heated_ratio(device, rng, x=x, n_pairs=POPULATION, temperature_k=HOT_K)
        return (ratio - 1.0) / (HOT_K - device.temperature.t_ref_k)

    return measure_alpha


def _activation(x: float):
    """Arrhenius activation energy of G from reads at T_ref and :data:`HOT_K`, eV."""

    def measure_ea(device: DeviceModel, rng: np.random.Generator) -> float:
        from neuromorph.hardware.devices import K_B_EV

        ratio = measure.heated_ratio(device, rng, x=x, n_pairs=POPULATION, temperature_k=HOT_K)
        t_ref = device.temperature.t_ref_k
        return -K_B_EV * np.log(ratio) / (1.0 / HOT_K - 1.0 / t_ref)

    return measure_ea


_RRAM = (
    Check(
        "pulse",
        "|down| / up step at mid-window",
        src.RRAM_ES_SOURCE + " up_down, exp-step constants",
        src.rram_es_step_ratio(0.5),
        SAMPLING_TOL,
        _steps(0.5, "asymmetry"),
    ),
    Check("c2c", "step std / mean at mid-window (up)", src.RRAM_ES_SOURCE + " dw_min_std",
          src.RRAM_ES_C2C, SAMPLING_TOL, _steps(0.5, "c2c")),  # fmt: skip
    Check("d2d", "device-to-device std / mean of the up step", src.RRAM_ES_SOURCE + " dw_min_dtod",
          src.RRAM_ES_D2D, 0.2, _d2d(0.5)),  # fmt: skip
    Check("temperature", "LRS dG/G per K, 300 -> 330 K", src.RRAM_T_SOURCE,
          src.RRAM_LRS_ALPHA_PER_K, SAMPLING_TOL, _alpha(1.0)),  # fmt: skip
    Check("temperature", "HRS activation energy, eV", src.RRAM_T_SOURCE,
          src.RRAM_HRS_EA_EV, SAMPLING_TOL, _activation(0.0)),  # fmt: skip
    Check("retention", "mean G(1 day) - G(0) at mid-window, S", src.RRAM_CMO_SOURCE,
          src.rram_cmo_shift_s(T_DAY_S), SAMPLING_TOL, _relaxation(0.5, "mean")),  # fmt: skip
    Check("retention", "std of G(1 day) - G(0) at mid-window, S", src.RRAM_CMO_SOURCE,
          src.rram_cmo_std_s(T_DAY_S), SAMPLING_TOL, _relaxation(0.5, "std")),  # fmt: skip
)

_PCM = (
    Check("retention", "mean drift exponent at G/g_max = 0.1, 1 h -> 1 day", src.PCM_SOURCE,
          src.pcm_drift_nu_mean(0.1), SAMPLING_TOL, _drift_nu(0.1, "mean")),  # fmt: skip
    Check("retention", "std of the drift exponent at G/g_max = 0.1", src.PCM_SOURCE,
          src.pcm_drift_nu_std(0.1), SAMPLING_TOL, _drift_nu(0.1, "std")),  # fmt: skip
    Check("retention", "mean drift exponent at G/g_max = 0.9", src.PCM_SOURCE,
          src.pcm_drift_nu_mean(0.9), SAMPLING_TOL, _drift_nu(0.9, "mean")),  # fmt: skip
    Check("programming", "std of G - target at G/g_max = 0.5 (direct write), S", src.PCM_SOURCE,
          src.pcm_program_sigma_s(0.5), SAMPLING_TOL, _program_sigma(0.5)),  # fmt: skip
    Check("temperature", "RESET-state (amorphous) activation energy, eV", src.PCM_T_SOURCE,
          src.PCM_AMORPHOUS_EA_EV, SAMPLING_TOL, _activation(0.0)),  # fmt: skip
)

#: The project's checks, by preset name.
CHECKS: dict[str, tuple[Check, ...]] = {"rram": _RRAM, "pcm": _PCM}


def check_presets(
    presets: Sequence[str] | None = None, *, seed: int = 0, checks: Mapping[str, Sequence[Check]] | None = None
) -> list[CheckRow]:
    """Run the preset checks (default :data:`CHECKS`) and return one row per check."""
    return run_checks(CHECKS if checks is None else checks, presets, seed=seed)


def missing_effects(
    presets: Sequence[str] | None = None, *, checks: Mapping[str, Sequence[Check]] | None = None
) -> dict[str, tuple[str, ...]]:
    """Effects without a check, per non-ideal preset (default :data:`CHECKS`, all presets)."""
    return uncovered(CHECKS if checks is None else checks, presets)
