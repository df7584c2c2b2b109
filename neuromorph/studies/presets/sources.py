"""What the sources publish: constants and models the preset check compares with (layer 4).

Every number here is quoted from a source in ``docs/references.md`` (key in brackets), with
the table, figure, code default or formula it comes from.  A value derived from a source's
published model (a statistic the model predicts at a stated state or time) is computed
here, from the source's constants only, never from a preset's parameters.
"""

from __future__ import annotations

import math

# ------------------------------------------------------------------ PCM: [Nandakumar2019]
# aihwkit's PCMLikeNoiseModel ([aihwkit], src/aihwkit/inference/noise/pcm.py), the statistical
# PCM model of Nandakumar et al., ICECS 2019; g is G / g_max with g_max = 25 uS.

#: Reference time of the drift law, s ([Nandakumar2019]: t0 = 20 s).
PCM_T0_S = 20.0
#: Duration of one read in the 1/f read-noise law, s ([Nandakumar2019]: t_read = 250 ns).
PCM_T_READ_S = 250e-9
#: g_max of the model, siemens ([Nandakumar2019]: 25 uS).
PCM_G_MAX_S = 25e-6
PCM_SOURCE = "[Nandakumar2019] via [aihwkit] PCMLikeNoiseModel"


def pcm_drift_nu_mean(g: float) -> float:
    """Mean drift exponent at ``g = G/g_max``: ``clip(-0.0155 ln g + 0.0244, 0.049, 0.1)``."""
    return min(max(-0.0155 * math.log(g) + 0.0244, 0.049), 0.1)


def pcm_drift_nu_std(g: float) -> float:
    """Device-to-device std of the drift exponent: ``clip(-0.0125 ln g - 0.0059, 0.008, 0.045)``."""
    return min(max(-0.0125 * math.log(g) - 0.0059, 0.008), 0.045)


def pcm_program_sigma_s(g: float) -> float:
    """Programming-noise std at ``g``: ``(0.26348 + 1.9650 g - 1.1731 g**2)`` uS at g_max 25 uS."""
    return (0.26348 + 1.9650 * g - 1.1731 * g * g) * 1e-6


def pcm_read_noise_rel(g: float, t_s: float) -> float:
    """Relative 1/f read-noise std at ``g`` and time ``t_s`` after programming.

    ``q_s sqrt(ln((t + t_read) / (2 t_read)))`` with ``q_s = min(0.0088 / g**0.65, 0.2)``.
    """
    q_s = min(0.0088 / g**0.65, 0.2)
    return q_s * math.sqrt(math.log((t_s + PCM_T_READ_S) / (2.0 * PCM_T_READ_S)))


# ------------------------------------------------------------------ PCM pulses: [Nandakumar2020]
# aihwkit's PCMPresetDevice ([aihwkit], src/aihwkit/simulator/presets/devices.py), an
# ExpStepDevice fitted to the GST cells of Nandakumar et al., Front. Neurosci. 14, 406 (2020),
# on weights w in [0, 2].  Up (SET) step: dw_min max(y_up, 0) plus Gaussian noise of std
# dw_min_std (|dw| + dw_min_std_add + dw_min_std_slope |w|) (rpu_expstep_device.cpp,
# update_once_complex_noise), y_up = 1 - A_up exp(gamma_up z), z = 2 a w / (b_max - b_min) + b.

PCM_PULSE_SOURCE = "[Nandakumar2020] via [aihwkit] PCMPresetDevice"
#: dw_min on w in [0, 2] (a window of 2 weight units).
PCM_DW_MIN = 0.01
#: Exponential-step constants a, b, gamma_up, A_up.
PCM_EXP_UP = (-1.0, 0.0, 2.5, -27.235)
#: Complex cycle-to-cycle noise: dw_min_std, dw_min_std_add, dw_min_std_slope.
PCM_C2C = (0.6, 0.042, 0.108)
#: Device-to-device std of the step, relative (dw_min_dtod, normal).
PCM_D2D = 0.2


def pcm_up_step(w: float) -> float:
    """Mean up (SET) step at weight ``w`` (nominal bounds [0, 2]), weight units."""
    a, b, gamma_up, amp_up = PCM_EXP_UP
    z = 2.0 * a * w / 2.0 + b
    return PCM_DW_MIN * max(1.0 - amp_up * math.exp(gamma_up * z), 0.0)


def pcm_up_c2c(w: float) -> float:
    """Std of one up step at ``w`` over its mean (the complex noise model, unclipped)."""
    std, add, slope = PCM_C2C
    step = pcm_up_step(w)
    return std * (step + add + slope * abs(w)) / step


def pcm_first_step_c2c() -> float:
    """Std over mean of the first up step from the lower bound ``w = 0``, as the model gives it.

    The step is ``X ~ N(m, s**2)``, ``m = pcm_up_step(0)``, ``s = m pcm_up_c2c(0)``, and the
    model clips the new weight at the bound (``w = max(w, min_bound)``), so the step seen is
    ``max(X, 0)``: mean ``m Phi(a) + s phi(a)``, second moment ``(m**2 + s**2) Phi(a) + m s
    phi(a)``, ``a = m / s`` (moments of a normal censored at zero).  ~0.632 where the
    unclipped ratio is 0.689.
    """
    m = pcm_up_step(0.0)
    s = m * pcm_up_c2c(0.0)
    a = m / s
    cdf = 0.5 * (1.0 + math.erf(a / math.sqrt(2.0)))
    pdf = math.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
    mean = m * cdf + s * pdf
    second = (m * m + s * s) * cdf + m * s * pdf
    return math.sqrt(second - mean * mean) / mean


# ------------------------------------------------------------------ RRAM: [Gong2018]
# aihwkit's ReRamESPresetDevice ([aihwkit], src/aihwkit/simulator/presets/devices.py), an
# ExpStepDevice fitted to the HfO2 RRAM of Gong et al., Nat. Commun. 9, 2102 (2018).  In
# aihwkit's code (PulsedRPUDevice::populate) the up step is dw_min and the down step
# (1 - up_down) dw_min (its documentation's 1 +/- up_down is not what the fit ran with),
# each times max(y, 0) (1 + dw_min_std xi), y = 1 - A exp(+/- gamma z), z = a w + b on
# weights w in [-1, 1].

RRAM_ES_SOURCE = "[Gong2018] via [aihwkit] ReRamESPresetDevice"
#: Up/down bias of the step, dimensionless.
RRAM_ES_UP_DOWN = 0.259359
#: Exponential-step constants a, b, gamma_up, gamma_down, A_up, A_down.
RRAM_ES_EXP = (-0.5, -0.5, 5.0, 5.0, -1.18445, -0.081404)
#: Cycle-to-cycle std of a step, in units of the step (dw_min_std).
RRAM_ES_C2C = 5.0
#: Device-to-device std of the step, relative (dw_min_dtod, normal).
RRAM_ES_D2D = 0.2
#: dw_min on the weight range [-1, 1] (a window of 2 weight units).
RRAM_ES_DW_MIN = 0.00135
#: write_noise_std, in units of dw_min.
RRAM_ES_WRITE_NOISE = 75.0


def rram_es_step_ratio(u: float) -> float:
    """|mean down step| / mean up step of aihwkit's ReRamES fit at window fraction ``u``."""
    a, b, g_up, g_down, amp_up, amp_down = RRAM_ES_EXP
    z = a * (2.0 * u - 1.0) + b
    y_up = max(1.0 - amp_up * math.exp(g_up * z), 0.0)
    y_down = max(1.0 - amp_down * math.exp(-g_down * z), 0.0)
    return (1.0 - RRAM_ES_UP_DOWN) * y_down / y_up


# ------------------------------------------------------------------ RRAM arrays: [Gong2022]
# aihwkit's ReRamArrayOMPresetDevice / ReRamArrayHfO2PresetDevice, fits to the arrays of
# Gong, Rasch et al., IEDM 2022; their docstrings give the measured corrupt-device rates.

RRAM_ARRAY_SOURCE = "[Gong2022] via [aihwkit] ReRamArray*PresetDevice"
#: Corrupt (unresponsive) device fraction of the "Optimized Material" array.
RRAM_ARRAY_OM_CORRUPT = 0.1348
#: Corrupt device fraction of the "Baseline HfO2" array.
RRAM_ARRAY_HFO2_CORRUPT = 0.0977
#: Cycle-to-cycle std of a step in units of the step (dw_min_std): OM, HfO2.
RRAM_ARRAY_C2C = {"om": 0.4158, "hfo2": 0.2174}
#: Device-to-device lognormal std of the step (dw_min_dtod, log-normal): OM, HfO2.
RRAM_ARRAY_D2D_LN = {"om": 0.7829, "hfo2": 0.7125}
#: dw_min of the soft-bounds fits on w in [-1, 1]: OM, HfO2.  A soft-bounds step at the
#: lower bound is 2 dw_min weight units, i.e. dw_min of the window.
RRAM_ARRAY_DW_MIN = {"om": 0.0949, "hfo2": 0.4622}
#: write_noise_std in units of dw_min: OM, HfO2.
RRAM_ARRAY_WRITE_NOISE = {"om": 1.4113, "hfo2": 0.5841}


def write_noise_window_fraction(write_noise_std: float, dw_min: float) -> float:
    """aihwkit's write noise ``write_noise_std * dw_min`` weight units, as a fraction of the
    window of 2 weight units."""
    return write_noise_std * dw_min / 2.0


def lognormal_rel_std(sigma_ln: float) -> float:
    """Relative std of ``exp(sigma_ln N)``: ``sqrt(exp(sigma_ln**2) - 1)``."""
    return math.sqrt(math.expm1(sigma_ln * sigma_ln))


# ------------------------------------------------------------------ RRAM relaxation
# aihwkit's ReRamCMONoiseModel ([aihwkit]; Falcone et al. 2025): the population programmed
# to one level relaxes by -0.089 uS per e-fold of time and broadens as 0.042 ln t + 0.4118
# uS (t in seconds).

RRAM_CMO_SOURCE = "[Falcone2025] via [aihwkit] ReRamCMONoiseModel"
RRAM_CMO_SHIFT_PER_LN_S = -0.089e-6
RRAM_CMO_STD_PER_LN_S = 0.042e-6
RRAM_CMO_STD_AT_1S_S = 0.4118e-6


def rram_cmo_shift_s(t_s: float) -> float:
    """Mean conductance change ``t_s`` seconds after programming, siemens."""
    return RRAM_CMO_SHIFT_PER_LN_S * math.log(t_s)


def rram_cmo_std_s(t_s: float) -> float:
    """Std of the programmed population ``t_s`` seconds after programming, siemens."""
    return RRAM_CMO_STD_PER_LN_S * math.log(t_s) + RRAM_CMO_STD_AT_1S_S


# ------------------------------------------------------------------ temperature
#: HfOx RRAM, low-resistance (metallic filament) state: dR/R per kelvin ~ +1e-3, so the
#: conductance falls by ~1e-3 per kelvin ([Walczyk2011], [Fang2010]).
RRAM_LRS_ALPHA_PER_K = -1.0e-3
#: HfOx RRAM, high-resistance state: thermally activated conduction, Ea ~ 0.1 eV.
RRAM_HRS_EA_EV = 0.1
RRAM_T_SOURCE = "[Walczyk2011], [Fang2010]"
#: HfOx RRAM read noise: random telegraph noise of ~1 % of G ([Ambrogio2014], as the
#: bibliography records the project's reading of it).
RRAM_READ_NOISE_REL = 0.01
RRAM_READ_SOURCE = "[Ambrogio2014]"
#: HfOx/TaOx RRAM endurance: 1e6 .. 1e12 switching cycles reviewed; the low end
#: ([Wong2012]).
RRAM_ENDURANCE_CYCLES = 1.0e6
#: Pulses per switching cycle in an endurance test: one SET and one RESET ([Wong2012]).
PULSES_PER_CYCLE = 2
RRAM_ENDURANCE_SOURCE = "[Wong2012] (low end of 1e6..1e12 cycles)"
#: Amorphous GST (PCM RESET state): activation energy of conduction ~0.3 eV
#: ([Ielmini2007a]).
PCM_AMORPHOUS_EA_EV = 0.3
PCM_T_SOURCE = "[Ielmini2007a]"
#: PCM endurance: ~1e8 switching cycles, a typical figure for GST cells ([Burr2010]).
PCM_ENDURANCE_CYCLES = 1.0e8
PCM_ENDURANCE_SOURCE = "[Burr2010] (typical PCM endurance)"
