"""The project's preset checks, per preset and effect, and the study that runs them (layer 4).

:data:`CHECKS` maps a preset name of :data:`~neuromorph.hardware.devices.PRESETS` to its
:class:`~.checks.Check` s.  Expected values come from :mod:`.sources` (the sources' own
numbers and models); the simulated values from :mod:`.measure`.  Sample sizes are small
and seeded so the whole check runs in well under a minute; each tolerance states what it
allows for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from neuromorph.hardware.devices import K_B_EV, DeviceModel
from neuromorph.studies.presets import measure
from neuromorph.studies.presets import sources as src
from neuromorph.studies.presets.checks import Check, CheckRow, run_checks, uncovered

#: Devices and single pulses for step statistics at one state: 4000 x 20 steps of a device
#: with c2c 5 (500 %) give a mean step to ~1.6 %.
STEP_PAIRS, STEP_PULSES = 4000, 20
#: Devices and cycles for steps from the lower bound (d2d): each cycle is one up pulse and
#: a burst of :data:`RESET_PULSES` down pulses back to the bound.  Cycles average a device's
#: c2c away; 400 devices give a spread to ~4 % (one standard error).
BOTTOM_PAIRS, BOTTOM_CYCLES, RESET_PULSES = 400, 40, 60
#: Devices for medians and quantiles over devices (a log-normal's median to ~2 %).
BOTTOM_PAIRS_MEDIAN = 2000
#: Quantile one standard deviation below the median of a normal.
ONE_SIGMA_BELOW = 0.15865525393145707
#: Own window over own step below which a device's noisy step may clip at the top.
MIN_ROOM = 3.0
#: More cycles for a device whose c2c swamps one step (c2c 5 needs ~1000 to see a 20 % d2d).
BOTTOM_CYCLES_NOISY = 1000
#: Devices for population statistics (programming noise, drift, relaxation, temperature).
POPULATION = 4000
#: Devices and pulses each way for the unresponsive (corrupt or stuck) fraction: 20000
#: devices resolve a fraction of 0.1 to ~2 %.
STUCK_PAIRS, STUCK_PULSES = 20000, 10
#: Devices, pulses per burst and bursts for endurance: 300 lognormal (sigma_ln 1) budgets
#: give their median to ~7 % (one standard error); the run stops once 60 % are worn (a
#: median of 2e6 pulses: ~105 bursts).
WEAR_PAIRS, WEAR_BURST, WEAR_BURSTS, WEAR_STOP = 300, 25_000, 400, 0.6
#: PCM's wear budgets are 100x RRAM's: its endurance row scales budgets and bursts down by
#: this factor (exact for count-based wear, see ``_endurance``), to RRAM's cost.
PCM_WEAR_SCALE = 100.0
#: Statistical tolerance of a mean over the samples above (a few standard errors).
SAMPLING_TOL = 0.1
#: Tolerance of a spread or a median over a few hundred devices (~3 standard errors).
SPREAD_TOL = 0.2
#: Fewest devices in the HRS an activation energy is measured on (a mean over fewer says
#: little about the population).
MIN_HRS_DEVICES = 20
#: Heated read temperature of the temperature checks, K (the story's "hot").
HOT_K = 330.0
#: Retention read times, s: one hour and one day (stated times of the sources' laws).
T_HOUR_S, T_DAY_S = 3600.0, 86400.0
#: Window fraction a device's own bounds must clear around a direct write's target so the
#: write noise being measured is not clipped (with a median-based std, tails do not count).
WRITE_MARGIN = 0.3
#: Normal-consistent scale of the median absolute deviation.
MAD_TO_STD = 1.4826


def _steps(x: float, what: str):
    def measure_steps(device: DeviceModel, rng: np.random.Generator) -> float:
        sample = measure.steps_at(device, rng, x=x, n_pairs=STEP_PAIRS, n_bursts=STEP_PULSES)
        return sample.asymmetry() if what == "asymmetry" else sample.c2c_rel("up")

    return measure_steps


def _bottom(what: str, cycles: int = BOTTOM_CYCLES):
    """Statistics of single up steps from the lower bound.

    ``"median"``: median device step over the window; ``"c2c"``: within-device relative
    std, on devices with room for a noisy step (:data:`MIN_ROOM`); ``"d2d"``: relative std
    of device means, c2c sampling removed; ``"d2d_ln"``: the lower half-width (median minus
    16th percentile) of ln(device mean step), a log-normal's sigma that steps clipped at the
    top bound do not reach.
    """

    def measure_bottom(device: DeviceModel, rng: np.random.Generator) -> float:
        pairs = BOTTOM_PAIRS_MEDIAN if what in ("median", "d2d_ln") else BOTTOM_PAIRS
        steps, room = measure.steps_from_bottom(
            device, rng, n_pairs=pairs, n_cycles=cycles, reset_pulses=RESET_PULSES
        )
        c = device.conductance
        if what == "median":
            return float(np.median(steps.mean(axis=1)) / (c.g_max_s - c.g_min_s))
        if what == "d2d_ln":
            log_means = np.log(steps.mean(axis=1))
            return float(np.median(log_means) - np.quantile(log_means, ONE_SIGMA_BELOW))
        if what == "c2c":
            roomy = steps[room >= MIN_ROOM]
            return measure.StepSample(up=roomy, down=-roomy).c2c_rel("up")
        return measure.StepSample(up=steps, down=-steps).d2d_rel("up")

    return measure_bottom


def _unresponsive(device: DeviceModel, rng: np.random.Generator) -> float:
    return measure.unresponsive_fraction(device, rng, n_pairs=STUCK_PAIRS, n_pulses=STUCK_PULSES)


def _responsive(device: DeviceModel, rng: np.random.Generator) -> float:
    return 1.0 - _unresponsive(device, rng)


def _write_sigma(x: float, *, window: bool):
    """Std of a direct write's error (median-based), in siemens or as a window fraction."""

    def measure_sigma(device: DeviceModel, rng: np.random.Generator) -> float:
        err = measure.programming_error(device, rng, x=x, n_pairs=POPULATION, margin=WRITE_MARGIN)
        sigma = MAD_TO_STD * float(np.median(np.abs(err - np.median(err))))
        c = device.conductance
        return sigma / (c.g_max_s - c.g_min_s) if window else sigma

    return measure_sigma


def _read_noise(x: float, age_s: float):
    def measure_read(device: DeviceModel, rng: np.random.Generator) -> float:
        return float(measure.read_deviation_rel(device, rng, x=x, n_pairs=POPULATION, age_s=age_s).std())

    return measure_read


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
        return float(np.mean(ratio) - 1.0) / (HOT_K - device.temperature.t_ref_k)

    return measure_alpha


def _hrs_activation(device: DeviceModel, rng: np.random.Generator) -> float:
    """Arrhenius activation energy of G in the HRS from reads at T_ref and :data:`HOT_K`, eV.

    The devices are those fabrication leaves in the HRS (:func:`.measure.hrs_heated_ratio`);
    NaN, which fails, if fewer than :data:`MIN_HRS_DEVICES` are.
    """
    ratio = measure.hrs_heated_ratio(device, rng, n_pairs=POPULATION, temperature_k=HOT_K)
    if ratio.size < MIN_HRS_DEVICES:
        return float("nan")
    t_ref = device.temperature.t_ref_k
    return float(-K_B_EV * np.mean(np.log(ratio)) / (1.0 / HOT_K - 1.0 / t_ref))


def _endurance(device: DeviceModel, rng: np.random.Generator, scale: float = 1.0) -> float:
    """Median switching cycles to wear-out: pulses to wear-out over pulses per cycle.

    With ``scale > 1`` the devices' budgets and the bursts are both ``scale`` times smaller
    and the pulses counted ``scale`` times larger: wear counts pulses whatever they do, and
    a budget is ``floor(median exp(sigma N))`` with the same normals ``N`` (the fabrication
    draws do not depend on the median), so every device wears out in the same burst as at
    full scale, up to the budgets' rounding to whole pulses (< ``scale`` pulses of each).
    """
    if scale != 1.0:
        e = device.endurance
        device = device.with_(endurance=dataclasses.replace(e, median_pulses=e.median_pulses / scale))
    worn = measure.pulses_to_failure(
        device, rng, n_pairs=WEAR_PAIRS, burst=WEAR_BURST, max_bursts=WEAR_BURSTS, stop_fraction=WEAR_STOP
    )
    return scale * float(np.median(worn)) / src.PULSES_PER_CYCLE


def _endurance_scaled(scale: float):
    def measure_endurance(device: DeviceModel, rng: np.random.Generator) -> float:
        return _endurance(device, rng, scale)

    return measure_endurance


def _rram_common(program_sigma: float, program_source: str) -> tuple[Check, ...]:
    """Checks every RRAM preset shares: read noise, retention, temperature, programming, wear."""
    return (
        Check(
            "read_noise",
            "std of one read / G, mid-window, 1 s after programming",
            src.RRAM_READ_SOURCE,
            src.RRAM_READ_NOISE_REL,
            SAMPLING_TOL,
            _read_noise(0.5, 1.0),
        ),
        Check(
            "retention",
            "mean G(1 day) - G(0) at mid-window, S",
            src.RRAM_CMO_SOURCE,
            src.rram_cmo_shift_s(T_DAY_S),
            SAMPLING_TOL,
            _relaxation(0.5, "mean"),
        ),
        Check(
            "retention",
            "std of G(1 day) - G(0) at mid-window, S",
            src.RRAM_CMO_SOURCE,
            src.rram_cmo_std_s(T_DAY_S),
            SAMPLING_TOL,
            _relaxation(0.5, "std"),
        ),
        Check(
            "temperature",
            "LRS dG/G per K, 300 -> 330 K",
            src.RRAM_T_SOURCE,
            src.RRAM_LRS_ALPHA_PER_K,
            SAMPLING_TOL,
            _alpha(1.0),
        ),
        Check(
            "temperature",
            "HRS (RESET, reading <= g_min) activation energy, 300 -> 330 K, eV",
            src.RRAM_T_SOURCE,
            src.RRAM_HRS_EA_EV,
            SAMPLING_TOL,
            _hrs_activation,
        ),
        Check(
            "programming",
            "std of a direct write at mid-window / window",
            program_source,
            program_sigma,
            SAMPLING_TOL,
            _write_sigma(0.5, window=True),
        ),
        Check(
            "endurance",
            "median switching cycles to wear-out (pulses / 2: one SET, one RESET)",
            src.RRAM_ENDURANCE_SOURCE,
            src.RRAM_ENDURANCE_CYCLES,
            SPREAD_TOL,
            _endurance,
        ),
    )


_RRAM = (
    Check(
        "pulse",
        "|down| / up step at mid-window",
        src.RRAM_ES_SOURCE + ": up_down, exp-step constants",
        src.rram_es_step_ratio(0.5),
        SAMPLING_TOL,
        _steps(0.5, "asymmetry"),
    ),
    Check(
        "c2c",
        "step std / mean at mid-window (up)",
        src.RRAM_ES_SOURCE + ": dw_min_std",
        src.RRAM_ES_C2C,
        SAMPLING_TOL,
        _steps(0.5, "c2c"),
    ),
    Check(
        "d2d",
        "device-to-device std / mean of the up step at g_min",
        src.RRAM_ES_SOURCE + ": dw_min_dtod",
        src.RRAM_ES_D2D,
        SPREAD_TOL,
        _bottom("d2d", BOTTOM_CYCLES_NOISY),
    ),
    Check(
        "stuck",
        "fraction of devices that respond to pulses",
        src.RRAM_ES_SOURCE + ": no corrupt devices",
        1.0,
        0.01,
        _responsive,
    ),
    *_rram_common(
        src.write_noise_window_fraction(src.RRAM_ES_WRITE_NOISE, src.RRAM_ES_DW_MIN),
        src.RRAM_ES_SOURCE + ": write_noise_std * dw_min",
    ),
)


def _array(kind: str, corrupt: float) -> tuple[Check, ...]:
    """Checks of a measured-array preset (``kind`` "om" or "hfo2" of [Gong2022])."""
    source = f"{src.RRAM_ARRAY_SOURCE} ({kind})"
    return (
        Check(
            "pulse",
            "median up step from g_min / window (= dw_min)",
            source + ": dw_min",
            src.RRAM_ARRAY_DW_MIN[kind],
            SAMPLING_TOL,
            _bottom("median"),
        ),
        Check(
            "c2c",
            "step std / mean of one device (from g_min)",
            source + ": dw_min_std",
            src.RRAM_ARRAY_C2C[kind],
            SAMPLING_TOL,
            _bottom("c2c"),
        ),
        Check(
            "d2d",
            "std of ln(device step) across devices",
            source + ": dw_min_dtod (log-normal)",
            src.RRAM_ARRAY_D2D_LN[kind],
            SAMPLING_TOL,
            _bottom("d2d_ln"),
        ),
        Check(
            "stuck",
            "fraction of devices that never move under pulses",
            source + ": corrupt devices",
            corrupt,
            SAMPLING_TOL,
            _unresponsive,
        ),
        *_rram_common(
            src.write_noise_window_fraction(src.RRAM_ARRAY_WRITE_NOISE[kind], src.RRAM_ARRAY_DW_MIN[kind]),
            source + ": write_noise_std * dw_min",
        ),
    )


_PCM = (
    Check(
        "pulse",
        "median first up (SET) step from g_min / window",
        src.PCM_PULSE_SOURCE + ": dw_min, A_up, gamma_up, a, b",
        src.pcm_up_step(0.0) / 2.0,
        SAMPLING_TOL,
        _bottom("median"),
    ),
    Check(
        "c2c",
        "step std / mean of one device, first up step from g_min (clipped at g_min)",
        src.PCM_PULSE_SOURCE + ": dw_min_std, dw_min_std_add",
        src.pcm_first_step_c2c(),
        SAMPLING_TOL,
        _bottom("c2c"),
    ),
    Check(
        "d2d",
        "device-to-device std / mean of the up step at g_min",
        src.PCM_PULSE_SOURCE + ": dw_min_dtod",
        src.PCM_D2D,
        SPREAD_TOL,
        _bottom("d2d"),
    ),
    Check(
        "stuck",
        "fraction of devices that respond to pulses",
        src.PCM_PULSE_SOURCE + ": no corrupt devices",
        1.0,
        0.01,
        _responsive,
    ),
    Check(
        "retention",
        "mean drift exponent at G/g_max = 0.1, 1 h -> 1 day",
        src.PCM_SOURCE,
        src.pcm_drift_nu_mean(0.1),
        SAMPLING_TOL,
        _drift_nu(0.1, "mean"),
    ),
    Check(
        "retention",
        "std of the drift exponent at G/g_max = 0.1",
        src.PCM_SOURCE,
        src.pcm_drift_nu_std(0.1),
        SAMPLING_TOL,
        _drift_nu(0.1, "std"),
    ),
    Check(
        "retention",
        "mean drift exponent at G/g_max = 0.9",
        src.PCM_SOURCE,
        src.pcm_drift_nu_mean(0.9),
        SAMPLING_TOL,
        _drift_nu(0.9, "mean"),
    ),
    Check(
        "programming",
        "std of G - target at G/g_max = 0.5 (direct write), S",
        src.PCM_SOURCE,
        src.pcm_program_sigma_s(0.5),
        SAMPLING_TOL,
        _write_sigma(0.5, window=False),
    ),
    Check(
        "read_noise",
        "std of one read / G at G/g_max = 0.5, 1 h after programming",
        src.PCM_SOURCE,
        src.pcm_read_noise_rel(0.5, T_HOUR_S + src.PCM_T0_S),
        SAMPLING_TOL,
        _read_noise(0.5, T_HOUR_S),
    ),
    Check(
        "temperature",
        "RESET-state (amorphous, reading <= g_min) activation energy, 300 -> 330 K, eV",
        src.PCM_T_SOURCE,
        src.PCM_AMORPHOUS_EA_EV,
        SAMPLING_TOL,
        _hrs_activation,
    ),
    Check(
        "endurance",
        "median switching cycles to wear-out (pulses / 2; budgets and bursts 1/100, exact)",
        src.PCM_ENDURANCE_SOURCE,
        src.PCM_ENDURANCE_CYCLES,
        SPREAD_TOL,
        _endurance_scaled(PCM_WEAR_SCALE),
    ),
)

#: The project's checks, by preset name.
CHECKS: dict[str, tuple[Check, ...]] = {
    "rram": _RRAM,
    "rram_array": _array("hfo2", src.RRAM_ARRAY_HFO2_CORRUPT),
    "rram_om_array": _array("om", src.RRAM_ARRAY_OM_CORRUPT),
    "pcm": _PCM,
}


def check_presets(
    presets: Sequence[str] | None = None,
    *,
    seed: int = 0,
    checks: Mapping[str, Sequence[Check]] | None = None,
) -> list[CheckRow]:
    """Run the preset checks (default :data:`CHECKS`) and return one row per check."""
    return run_checks(CHECKS if checks is None else checks, presets, seed=seed)


def missing_effects(
    presets: Sequence[str] | None = None, *, checks: Mapping[str, Sequence[Check]] | None = None
) -> dict[str, tuple[str, ...]]:
    """Effects without a check, per non-ideal preset (default :data:`CHECKS`, all presets)."""
    return uncovered(CHECKS if checks is None else checks, presets)
