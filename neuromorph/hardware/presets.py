"""Cited device presets (layer 1).

Every number of a preset is its source's, translated into this package's parametrisation
(the translation is stated beside it), or is marked *illustrative* in its own line with the
reason.  Where sources disagree, both ship as named presets rather than a middle: the HfO2
device fit (:data:`RRAM_HFO2`) and the measured-array fits (:data:`RRAM_HFO2_ARRAY`,
:data:`RRAM_OM_ARRAY`).

Translating aihwkit's pulsed devices (its ``w`` in ``[w_min, w_max] = [-1, 1]``, one device)
onto one of our devices (``G`` in ``[g_min, g_max]``, ``u = (G - g_min) / (g_max - g_min)``):
``w = -1`` is ``g_min`` and ``w = 1`` is ``g_max``, so one unit of ``w`` is half the window.

* ``dw_min`` -> ``n_states = round(2 / dw_min)`` for its exponential-step devices; for its
  soft-bounds devices, whose step at the window's middle is ``dw_min`` and at the far bound
  ``2 dw_min``, full soft bounds (``a = 1``) with a step of ``2 dw_min``:
  ``n_states = round(1 / dw_min)`` and the rounding moved into the step scales.
* ``up_down > 0`` -> ``step_down_scale = 1 - up_down`` (aihwkit's ``PulsedRPUDevice::populate``
  sets ``scale_up = dw_min``, ``scale_down = (1 - up_down) dw_min``; its documentation's
  ``1 +/- up_down`` would give 1.7x instead of 1.35x; we follow the code the fit was made with).
* ``dw_min_std`` -> ``c2c_rel`` (multiplicative, ``1 + c2c N`` per pulse, as aihwkit's default
  ``mult_noise``; for its additive soft-bounds noise the two agree at mid-window).
* ``dw_min_dtod`` -> ``step_rel`` (ours draws up and down factors independently; aihwkit
  draws one factor and adds ``up_down_dtod`` with opposite signs, not translated).
* ``w_min_dtod``, ``w_max_dtod`` -> ``lo_window_rel``, ``hi_window_rel`` halved (relative to
  the half window ``|w| = 1``); our lower bound is clipped at 0 S.
* ``write_noise_std`` (an apparent offset of ``write_noise_std * dw_min`` re-drawn at every
  write) -> ``program_noise_rel`` of direct writes only, ``write_noise_std dw_min / 2`` of the
  window; pulse updates do not carry it.
* ``corrupt_devices_prob``, ``corrupt_devices_range`` -> ``stuck_fixed_fraction``, and
  ``fixed_range_rel`` halved.
"""

from __future__ import annotations

from neuromorph.hardware.devices import (
    K_B_EV,
    ConductanceRange,
    DeviceModel,
    DriftParams,
    EnduranceParams,
    NoiseParams,
    OneSidedParams,
    PulseParams,
    RelaxationParams,
    TemperatureParams,
    VariationParams,
)

#: The relaxation of aihwkit's ``ReRamCMONoiseModel`` (Falcone et al. 2025): mean
#: ``-0.089 ln t`` uS, std ``0.042 ln t + 0.4118`` uS, t in seconds from 1 s; applied in
#: absolute siemens as aihwkit applies it whatever g_max.
_CMO_RELAXATION = RelaxationParams(shift_per_ln_s=-0.089e-6, std_per_ln_s=0.042e-6, std_at_t0_s=0.4118e-6)
#: Retention timing of the RRAM presets: t0 = 1 s is the CMO fit's time unit; Ea 1.0 eV is
#: illustrative (no cited activation energy of the relaxation; Zhao et al., IEDM 2017 study
#: its statistics, not this number).
_RRAM_RETENTION_TIME = DriftParams(t0_s=1.0, ea_drift_ev=1.0)
#: HfOx RRAM LRS: conductance falls by ~1e-3 per kelvin (dR/R ~ +1e-3 /K, metallic), the
#: whole device measured in its LRS ([Walczyk2011], [Fang2010]).
RRAM_LRS_ALPHA_PER_K = -1.0e-3
#: HfOx RRAM HRS: thermally activated conduction, Ea ~ 0.1 eV ([Walczyk2011], [Fang2010]).
RRAM_HRS_EA_EV = 0.1


def filament_alpha_per_k(
    lrs_alpha_per_k: float, hrs_ea_ev: float, *, background_share: float, t_ref_k: float
) -> float:
    """The metallic filament's own coefficient that makes a whole LRS device show ``lrs_alpha``.

    The fit behind the RRAM presets' temperature law.  In the parallel conduction model of
    :class:`~neuromorph.hardware.devices.TemperatureParams` a device at the LRS conducts the
    share ``r = background_share`` (``g_min / g_max``) through the thermally activated
    background (``hrs_ea_ev``, measured alone in the HRS) and ``1 - r`` through the filament
    (linear coefficient ``alpha_f``), so at ``T_ref``

    ``d ln G / dT = (1 - r) alpha_f + r Ea / (k_B T_ref**2)``.

    Setting this to the measured ``lrs_alpha_per_k`` gives
    ``alpha_f = (lrs_alpha - r Ea / (k_B T_ref**2)) / (1 - r)``.  For the RRAM window
    (r = 0.01), -1e-3 /K and 0.1 eV: ``alpha_f = -1.1403e-3`` /K (the background adds
    +1.29e-4 /K at the LRS).  Assumes the source's devices had the same background share.
    """
    activated = background_share * hrs_ea_ev / (K_B_EV * t_ref_k * t_ref_k)
    return (lrs_alpha_per_k - activated) / (1.0 - background_share)


#: The window of the RRAM presets: 1..100 uS, HfOx/TaOx 1T1R analog arrays (Yao et al.,
#: Nature 577, 641 (2020); Li et al., Nature Commun. 9, 2385 (2018)); aihwkit's fits are in
#: normalised units and carry no window.
_RRAM_WINDOW = ConductanceRange(g_min_s=1.0e-6, g_max_s=1.0e-4)
#: Temperature law of the RRAM presets: a metallic filament in parallel with a thermally
#: activated background of at most g_min (the HRS conduction, Ea 0.1 eV, [Walczyk2011]); the
#: filament's coefficient fitted so the LRS as a whole shows the measured -1e-3 /K
#: (:func:`filament_alpha_per_k`).  The parallel model itself is the conduction picture of
#: these sources (a metallic filament in the LRS, activated transport once it is ruptured);
#: no measurement of intermediate states is cited, so their mix is the model's prediction.
_RRAM_TEMPERATURE = TemperatureParams(
    t_ref_k=300.0,
    alpha_low_per_k=0.0,
    ea_low_ev=RRAM_HRS_EA_EV,
    alpha_high_per_k=filament_alpha_per_k(
        RRAM_LRS_ALPHA_PER_K,
        RRAM_HRS_EA_EV,
        background_share=_RRAM_WINDOW.g_min_s / _RRAM_WINDOW.g_max_s,
        t_ref_k=300.0,
    ),
    ea_high_ev=0.0,
    paths="parallel",
)
#: Pulses per switching cycle as endurance tests count cycles: one SET and one RESET pulse.
PULSES_PER_CYCLE = 2
#: RRAM endurance: median 1e6 switching cycles, the low end of the 1e6..1e12 cycles reviewed
#: for HfOx/TaOx cells (Wong et al., Proc. IEEE 100(6), 1951 (2012)), i.e. 2e6 pulses.  Every
#: analog pulse counts as one full switching pulse, however small its step: conservative (no
#: cited source measures wear under partial analog pulses).  sigma_ln 1.0 is illustrative (no
#: device-level endurance distribution is cited).
_RRAM_ENDURANCE = EnduranceParams(median_pulses=1.0e6 * PULSES_PER_CYCLE, sigma_ln=1.0)
_RRAM_SOURCE = """HfO2 RRAM device: aihwkit's ``ReRamESPresetDevice``, its exponential-step fit
to Gong et al., Nature Commun. 9, 2102 (2018), translated as in the module docstring.

Changed in issue 12 (each number is now its source's): c2c 0.3 -> 5.0 (``dw_min_std``);
step asymmetry down 1.2x up -> down 0.74x up (``up_down`` 0.259); soft bounds 0.3/0.6 ->
the exponential step law (a, b -0.5; gamma 5, 5; A_up -1.18445, A_down -0.081404); 128 ->
1481 states (``dw_min`` 0.00135); d2d step 0.3 -> 0.2, bounds 10 % of g -> 15 % of the window
(``w_min/max_dtod`` 0.3); stuck-at 0.5 % + 0.5 % -> 0 (the device fit has no corrupt
devices; see RRAM_HFO2_ARRAY for measured ones); program noise 1 % -> 5.0 % of g_max
(``write_noise_std`` 75); power-law drift -> log-time relaxation (aihwkit's
``ReRamCMONoiseModel``, Falcone et al. 2025, measured on CMO/HfOx cells: the only cited
ReRAM relaxation law with a time dependence); endurance added (median 1e6 cycles of
[Wong2012], counted as 2e6 pulses).

* window 1..100 uS: Yao et al. 2020; Li et al. 2018 (aihwkit's fit has none).
* read noise 1 % of G: random telegraph noise in HfOx cells, Ambrogio et al., IEEE TED
  61(8), 2920 (2014).
* temperature: LRS conductance falls with T (dR/R ~ +1e-3 /K) and the HRS is thermally
  activated with Ea ~ 0.1 eV: Walczyk et al., IEEE TED 58(9), 3124 (2011); Fang et al.,
  IEEE EDL 31(5), 476 (2010).  Per state: a metallic filament in parallel with an activated
  background of at most g_min; the filament's coefficient is fitted so the whole LRS shows
  -1e-3 /K (``filament_alpha_per_k``: -1.14e-3 /K).  Changed in issue 12 from a linear
  interpolation of alpha and Ea in the state, which gave devices written 15 % below g_max
  15 % of the HRS activation energy and so a positive coefficient.
* retention Ea 1.0 eV and endurance spread: illustrative (see the constants above).
"""

RRAM_HFO2 = DeviceModel(
    name="rram_hfo2",
    conductance=_RRAM_WINDOW,
    pulse=PulseParams(
        n_states=1481,  # round(2 / dw_min), dw_min = 0.00135 (0.03 % rounding)
        step_up_scale=1.0,
        step_down_scale=0.740641,  # 1 - up_down, up_down = 0.259359
        c2c_rel=5.0,  # dw_min_std
        exp_a=-0.5,
        exp_b=-0.5,
        exp_amp_up=-1.18445,
        exp_amp_down=-0.081404,
        exp_gamma_up=5.0,
        exp_gamma_down=5.0,
    ),
    variation=VariationParams(step_rel=0.2, lo_window_rel=0.15, hi_window_rel=0.15),
    # program noise: write_noise_std * dw_min / 2 of the window, times window / g_max = 0.99:
    # 75 * 0.00135 / 2 * 0.99
    noise=NoiseParams(program_noise_rel=0.0501, read_noise_rel=0.01),
    drift=_RRAM_RETENTION_TIME,
    relaxation=_CMO_RELAXATION,
    temperature=_RRAM_TEMPERATURE,
    endurance=_RRAM_ENDURANCE,
    source=_RRAM_SOURCE,
)

_ARRAY_SOURCE = """HfO2 RRAM measured in arrays: aihwkit's ``ReRamArrayHfO2PresetDevice``, the
soft-bounds fit to the "Baseline HfO2" array of Gong, Rasch et al., IEDM 2022, translated as
in the module docstring, with its measured corrupt-device rate 9.77 % on (aihwkit ships it off).

* dw_min 0.4622 -> n_states 2, step scale 0.9244 (2 dw_min as a fraction of the window over
  the nominal 1/2); full soft bounds; c2c 0.2174 (``dw_min_std``, additive in aihwkit);
  d2d step 0.7125 lognormal, bounds ``w_max_dtod`` 0.4295 / ``w_min_dtod`` 0.5990 halved;
  ``write_noise_std`` 0.5841 -> 13.4 % of g_max for direct writes; corrupt 9.77 % within
  +/- 0.5 % of the window around mid-window.  Not translated: the symmetry-point reference
  subtraction (``reference_std`` 0.05).
* window, read noise, temperature, relaxation, endurance: as RRAM_HFO2 (same sources).
"""

RRAM_HFO2_ARRAY = DeviceModel(
    name="rram_hfo2_array",
    conductance=_RRAM_WINDOW,
    pulse=PulseParams(
        n_states=2,
        step_up_scale=0.9244,
        step_down_scale=0.9244,
        nonlinearity_up=1.0,
        nonlinearity_down=1.0,
        c2c_rel=0.2174,
    ),
    variation=VariationParams(
        step_rel=0.7125,
        step_lognormal=True,
        lo_window_rel=0.2995,
        hi_window_rel=0.21475,
        stuck_fixed_fraction=0.0977,
        fixed_range_rel=0.005,
    ),
    # program noise: write_noise_std * dw_min / 2 of the window, times window / g_max = 0.99:
    # 0.5841 * 0.4622 / 2 * 0.99
    noise=NoiseParams(program_noise_rel=0.1336, read_noise_rel=0.01),
    drift=_RRAM_RETENTION_TIME,
    relaxation=_CMO_RELAXATION,
    temperature=_RRAM_TEMPERATURE,
    endurance=_RRAM_ENDURANCE,
    source=_ARRAY_SOURCE,
)

_OM_SOURCE = """RRAM of the "Optimized Material" array of Gong, Rasch et al., IEDM 2022:
aihwkit's ``ReRamArrayOMPresetDevice``, translated like RRAM_HFO2_ARRAY, with its measured
corrupt-device rate 13.48 % on.

* dw_min 0.0949 -> n_states 11, step scale 1.0439; c2c 0.4158; d2d step 0.7829 lognormal,
  bounds 0.3499 / 0.5695 halved; ``write_noise_std`` 1.4113 -> 6.6 % of g_max for direct
  writes; corrupt 13.48 % within +/- 0.5 % of the window around mid-window.
* window, read noise, temperature, relaxation, endurance: as RRAM_HFO2 (same sources).
"""

RRAM_OM_ARRAY = DeviceModel(
    name="rram_om_array",
    conductance=_RRAM_WINDOW,
    pulse=PulseParams(
        n_states=11,
        step_up_scale=1.0439,
        step_down_scale=1.0439,
        nonlinearity_up=1.0,
        nonlinearity_down=1.0,
        c2c_rel=0.4158,
    ),
    variation=VariationParams(
        step_rel=0.7829,
        step_lognormal=True,
        lo_window_rel=0.28475,
        hi_window_rel=0.17495,
        stuck_fixed_fraction=0.1348,
        fixed_range_rel=0.005,
    ),
    # program noise: write_noise_std * dw_min / 2 of the window, times window / g_max = 0.99:
    # 1.4113 * 0.0949 / 2 * 0.99
    noise=NoiseParams(program_noise_rel=0.0663, read_noise_rel=0.01),
    drift=_RRAM_RETENTION_TIME,
    relaxation=_CMO_RELAXATION,
    temperature=_RRAM_TEMPERATURE,
    endurance=_RRAM_ENDURANCE,
    source=_OM_SOURCE,
)

_PCM_SOURCE = """Ge2Sb2Te5 phase-change memory with aihwkit's full PCM statistical model
(``PCMLikeNoiseModel``, Nandakumar et al., "Phase-change memory models for deep learning
training and inference", ICECS 2019).

Changed in issue 12: the constant drift exponent 0.05 +/- 0.02 -> the state-dependent law,
drawn at every programming from the programmed state; constant programming noise 3 % ->
the polynomial; illustrative d2d and stuck devices -> aihwkit's ``PCMPresetDevice``;
endurance added.

* g_max 25 uS and t0 = 20 s: the model's reference g_max and drift time.
* drift exponent mean ``clip(-0.0155 ln x + 0.0244, 0.049, 0.1)`` and std
  ``clip(-0.0125 ln x - 0.0059, 0.008, 0.045)``, ``x = G / g_max``, ``nu = |mean + std N|``.
* programming noise ``(0.26348 + 1.9650 x - 1.1731 x**2)`` uS at g_max 25 uS, i.e.
  ``g_max (0.0105392 + 0.0786 x - 0.046924 x**2)``.
* read noise: aihwkit's 1/f law, ``q_s = min(0.0088 / x**0.65, 0.2)`` of G, accumulated over
  the time since programming as ``q_s sqrt(ln((t + t_r) / (2 t_r)))`` with ``t_r = 250 ns``
  (the ``"pink"`` law of :mod:`neuromorph.hardware.noise`; changed in issue 12 from a white
  1.5 % of G).  A 1/f read costs far more than a white one (``benchmarks/crossbar.py``).
* g_min 0.1 uS: illustrative (aihwkit maps weight 0 to 0 S; a RESET cell keeps a floor).
* pulse response: aihwkit's ``PCMPresetDevice``, its exponential-step fit to the GST cells of
  Nandakumar et al., Front. Neurosci. 14, 406 (2020), on ``w`` in ``[0, 2]`` (one unit of
  ``w`` is half the window, as for the other presets):

  - ``dw_min`` 0.01 -> n_states 200 (``2 / dw_min``); ``up_down`` 0 -> step scales 1, 1;
  - ``a`` -1, ``b`` 0 -> exp_a -1, exp_b -1 (aihwkit's ``z = a w + b = -w`` is
    ``-(2u - 1) - 1`` on our ``u = w / 2``); ``gamma_up`` 2.5, ``A_up`` -27.235: the first SET
    step from the bottom is 28x ``dw_min`` (14 % of the window), the last 1.2x;
  - c2c: ``dw_min_std`` 0.6 -> c2c_rel 0.6; ``dw_min_std_add`` 0.042 (in ``w``) ->
    c2c_add_steps 4.2 (``0.042 / dw_min``); ``dw_min_std_slope`` 0.108 -> c2c_slope 0.108;
  - down law (``A_down`` -2.235, ``gamma_down`` 2.5) not used: the device is one-sided.

  Changed in issue 12 from an illustrative bidirectional law (40 states, soft bound 0.8 up,
  RESET 20x a SET step, c2c 40 %), which pulsed PCM down gradually, as no source measures.
* one-sided pairs (``OneSidedParams``): SET pulses only, refresh when the higher device
  passes 0.75 and the lower 0.25 of the window (aihwkit's ``OneSidedUnitCell``
  ``refresh_upper_thres`` / ``refresh_lower_thres``, used by its ``PCMPresetUnitCell``); a
  RESET lands at ``reset`` 0.01 +/- ``reset_std`` 0.01 (aihwkit ``PCMPresetDevice`` and the
  ``PulsedDevice`` default; in ``w``, halved to 0.005 +/- 0.005 of the window).  Not
  translated: ``reset_dtod`` 0.02 (2 % of a 0.5 % level), ``up_down_dtod`` 0.05.
* d2d (aihwkit's ``PCMPresetDevice``): ``dw_min_dtod`` 0.2 (normal) -> step_rel 0.2;
  ``w_max_dtod`` 0.1 (of ``w_max`` 2, the whole window) -> hi_window_rel 0.1; ``w_min_dtod``
  0.  Stuck: none (the device fit has no corrupt devices).  Changed in issue 12 from an
  illustrative step spread 0.3, 5 % bound spread and 0.5 % stuck at g_min.
* endurance median 1e8 switching cycles (2e8 pulses, one SET and one RESET per cycle, every
  analog pulse counted as a full one): a typical PCM figure in Burr et al., J. Vac. Sci.
  Technol. B 28(2), 223 (2010); sigma_ln 1.0 illustrative.  ``presets --check`` wears devices
  out with budgets and bursts both scaled down 100x, exact for count-based wear.
"""

PCM_GST = DeviceModel(
    name="pcm_gst",
    conductance=ConductanceRange(g_min_s=0.1e-6, g_max_s=25.0e-6),
    # aihwkit's PCMPresetDevice (SET law only; see the source's "pulse response")
    pulse=PulseParams(
        n_states=200,  # 2 / dw_min, dw_min = 0.01
        c2c_rel=0.6,  # dw_min_std
        exp_a=-1.0,  # a
        exp_b=-1.0,  # b = 0, shifted to our u = w / 2
        exp_amp_up=-27.235,  # A_up
        exp_gamma_up=2.5,  # gamma_up
        c2c_add_steps=4.2,  # dw_min_std_add / dw_min = 0.042 / 0.01
        c2c_slope=0.108,  # dw_min_std_slope
    ),
    # reset 0.01, reset_std 0.01 on a window of 2; refresh thresholds 0.75 / 0.25
    one_sided=OneSidedParams(reset_rel=0.005, reset_std_rel=0.005, refresh_upper=0.75, refresh_lower=0.25),
    variation=VariationParams(step_rel=0.2, hi_window_rel=0.1),
    noise=NoiseParams(
        program_noise_rel=0.0105392,
        program_noise_poly=(0.0786, -0.046924),
        # aihwkit's 1/f read noise, q_s = min(0.0088 / x**0.65, 0.2), grown over the time since
        # programming as sqrt(ln((t + t_r) / (2 t_r))), t_r = 250 ns (neuromorph.hardware.noise).
        read_noise_rel=0.0088,
        read_noise_law="pink",
        read_noise_exponent=0.65,
        read_noise_max_rel=0.2,
        t_read_s=250e-9,
    ),
    drift=DriftParams(
        nu_mean=0.0244,
        nu_log_slope=-0.0155,
        nu_min=0.049,
        nu_max=0.1,
        nu_std=-0.0059,
        std_log_slope=-0.0125,
        std_min=0.008,
        std_max=0.045,
        t0_s=20.0,
        ea_drift_ev=1.0,
    ),
    # amorphous plug (Ea 0.3 eV) in series with the crystalline cell (0.05 eV): see the source
    temperature=TemperatureParams(
        t_ref_k=300.0,
        alpha_low_per_k=0.0,
        alpha_high_per_k=0.0,
        ea_low_ev=0.3,
        ea_high_ev=0.05,
        paths="series",
    ),
    endurance=EnduranceParams(median_pulses=1.0e8 * PULSES_PER_CYCLE, sigma_ln=1.0),
    source=_PCM_SOURCE,
)

_IDEAL_SOURCE = """An ideal device: linear, symmetric, noiseless, no variation, drift or
temperature dependence, no wear.  The range (1..100 uS) is RRAM_HFO2's, so results compare."""

IDEAL = DeviceModel(
    name="ideal",
    conductance=ConductanceRange(g_min_s=1.0e-6, g_max_s=1.0e-4),
    pulse=PulseParams(n_states=1000),
    source=_IDEAL_SOURCE,
)

#: Presets by short name; :func:`preset` also takes the constants' names.
PRESETS: dict[str, DeviceModel] = {
    "rram": RRAM_HFO2,
    "rram_array": RRAM_HFO2_ARRAY,
    "rram_om_array": RRAM_OM_ARRAY,
    "pcm": PCM_GST,
    "ideal": IDEAL,
}
_BY_CONSTANT = {
    "rram_hfo2": RRAM_HFO2,
    "rram_hfo2_array": RRAM_HFO2_ARRAY,
    "pcm_gst": PCM_GST,
}


def preset(name: str) -> DeviceModel:
    """A preset by short name (:data:`PRESETS`) or constant name (``"RRAM_HFO2"``), any case."""
    if not isinstance(name, str):
        raise TypeError(f"preset must be a str; got {type(name).__name__}.")
    key = name.lower()
    found = PRESETS.get(key, _BY_CONSTANT.get(key))
    if found is None:
        constants = sorted({m.name.upper() for m in PRESETS.values()})
        raise ValueError(f"preset must be one of {sorted(PRESETS)} or {constants} (any case); got {name!r}.")
    return found
