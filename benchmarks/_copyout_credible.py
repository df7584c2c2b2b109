"""The credible chip's copy-out (issue 14, deliverable 5), for ``benchmarks/copyout.py``.

The trained chip in five conditions on the same die (:func:`credible_variants`): as it is,
calibrated, with 1/f read noise of one read's white variance, both, and with nominal
converters; designed probing graded against the devices' effective weights
(:func:`copy_and_grade`); the budget that reaches 1 % (:func:`budget_to_target`); and what
averaging (the designed probes' budget) gains under white and 1/f noise
(:func:`averaging_study`).  A scorer: it reads hidden state to build variants and grade.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from neuromorph.algorithms import extract as ex
from neuromorph.algorithms import ff
from neuromorph.algorithms.calibrate import DEFAULT_LEVELS, calibrate_columns
from neuromorph.chip import Chip, Meter
from neuromorph.hardware import noise
from neuromorph.hardware.crossbar import Crossbar
from neuromorph.hardware.devices import DeviceModel
from neuromorph.hardware.periphery import Periphery
from neuromorph.studies.scoring import score_accuracy, weight_errors, weights_as_read

#: Budgets (multiples of N + 1 queries per layer) swept for the first to reach 1 % error.
CREDIBLE_BUDGETS = (2, 4, 6, 8, 12, 16, 24, 32)
#: Worst-layer relative RMS weight error the budget sweep aims for.
TARGET_ERROR = 0.01
#: Designed-probe budgets K (multiples of N + 1) of the averaging study, x4 apart.  Not 1:
#: N + 1 probes hold no whole Sylvester-Hadamard block unless N + 1 is a power of two (75 is
#: not), and a square random-sign design is ill-conditioned (measured: millions of times the variance
#: at K = 4); from K = 2 on layer 0 of the digits chip (150 >= 128) a whole block is in.
AVERAGING_K = (2, 8, 32, 128)
#: Independent noise realisations per K and law: the variance of a variance estimate falls as
#: 2 / (R - 1) per weight, and thousands of weights are averaged.
AVERAGING_TRIALS = 12
#: Standard deviations of the widest column's tap reading kept inside full scale by the
#: averaging study's amplitude: at K = 1 the N + 1 probes are exactly the N + 1 unknowns,
#: so no reading may saturate (a dropped reading leaves the column's fit underdetermined).
AVERAGING_HEADROOM = 4.0
#: Seed offset of the credible section's generators, apart from the study's.
CREDIBLE_SEED_OFFSET = 14_000


def same_die(
    chip: Chip,
    *,
    device: DeviceModel | None = None,
    periphery: Periphery | None = None,
    streams_seed: Sequence[int] | None = None,
) -> Chip:
    """The same die as ``chip`` (a copy: devices, converters, noise clock, corrections,
    environment and meter) with another device model and/or periphery.

    With ``periphery.mismatch`` None the copy has nominal converters.  ``streams_seed`` gives
    the copy fresh ``read`` and ``noise`` streams (an independent realisation of the read
    noise); without it the copy reads exactly as ``chip`` would (same bits).  Built from the
    public constructors of :class:`Chip` and :class:`Crossbar` and the hidden state a scorer
    may read, as :meth:`Chip.load` builds a chip from a file.
    """
    src = copy.deepcopy(chip)
    design = dataclasses.replace(
        src.design, device=device or src.design.device, periphery=periphery or src.design.periphery
    )
    fresh = (
        None if streams_seed is None else np.random.default_rng(list(streams_seed)).spawn(2 * src.n_layers)
    )
    crossbars = []
    for i, xb in enumerate(src.crossbars):
        rngs = {}
        for name, state in xb.generator_states().items():
            rngs[name] = np.random.Generator(np.random.PCG64())
            rngs[name].bit_generator.state = state
        if fresh is not None:
            rngs["read"], rngs["noise"] = fresh[2 * i], fresh[2 * i + 1]
        new = Crossbar(
            device=design.device,
            periphery=design.periphery,
            state=xb.device_state().copy(),
            shape=xb.shape,
            w_max=xb.w_max,
            tile_shape=xb.tile_shape,
            output_full_scale=xb.output_full_scale,
            environment=src.environment,
            rngs=rngs,
            wires=design.wires,
            converters=None if design.periphery.mismatch is None else xb.converter_state(),
        )
        new.read_noise.restore(xb.read_noise.state()[0], None)
        crossbars.append(new)
    corrections = [src.output_correction(i) for i in range(src.n_layers)]
    return Chip(
        design=design,
        crossbars=crossbars,
        environment=src.environment,
        meter=src.meter,
        seed=src.seed,
        output_corrections=corrections,
    )


def white_equivalent_pink(chip: Chip) -> tuple[DeviceModel, dict]:
    """``chip``'s device with 1/f read noise whose one read has the white law's variance.

    The white law reads ``G (1 + q_w eps)``: variance ``q_w**2 G**2`` every read.  The 1/f law
    (:mod:`neuromorph.hardware.noise`) of coefficient ``q`` has power ``q**2 / f`` from
    ``1 / (2 t_r)`` down to ``1 / t`` (``t`` = age + the drift's ``t0``), so one read's variance
    is ``q**2 G**2 ln((t + t_r) / (2 t_r))``.  Setting ``q = q_w / sqrt(mean ln(...))`` over the
    chip's devices gives one read the same variance (exactly, when every device has the same
    age): the two chips differ only in how that variance is spread in read time.  The state
    dependence (``read_noise_exponent``), cap and ``t_r`` are the white law's.  Returns the
    device and what was set.
    """
    dev = chip.design.device
    white = dev.noise
    now = chip.environment.retention_time(dev)
    ages = np.concatenate([now - xb.device_state().tau_prog.ravel() for xb in chip.crossbars])
    span = noise.ln_span(ages, t0_s=dev.drift.t0_s, t_read_s=white.t_read_s)
    per_read = span - math.log(2.0)
    q = white.read_noise_rel / math.sqrt(float(np.mean(per_read)))
    pink = dataclasses.replace(white, read_noise_law="pink", read_noise_rel=q)
    info = {
        "law": "pink",
        "white_read_noise_rel": white.read_noise_rel,
        "pink_read_noise_rel": q,
        "t_read_s": white.t_read_s,
        "t0_s": dev.drift.t0_s,
        "pink_block_ratio": pink.pink_block_ratio,
        "band_hz": [1.0 / (float(np.median(ages)) + dev.drift.t0_s), 1.0 / (2.0 * white.t_read_s)],
        "one_read_variance_factor": {
            "mean": float(np.mean(per_read)),
            "min": float(per_read.min()),
            "max": float(per_read.max()),
        },
        "matched": "one read's variance q**2 ln((t + t_r)/(2 t_r)) = q_w**2 (device mean)",
    }
    return dev.with_(noise=pink), info


def _spent(m: Meter) -> dict:
    """What a step cost: queries, conversions, chip seconds and joules."""
    d = m.as_dict()
    return {k: d[k] for k in ("queries", "dac_conversions", "adc_conversions", "chip_seconds", "energy_j")}


def credible_variants(chip: Chip, names: Sequence[str]) -> dict[str, tuple[Chip, dict]]:
    """The trained die in the conditions ``names`` (a subset of :data:`VARIANTS`), each a copy.

    ``as_is``: the die with its own converters and white read noise; ``calibrated``: after
    :func:`~neuromorph.algorithms.calibrate.calibrate_columns` (metered); ``pink``: the same
    die with 1/f read noise of one read's white variance (:func:`white_equivalent_pink`);
    ``pink_calibrated``: that die calibrated; ``nominal``: the same die with nominal
    converters (mismatch off).  Returns ``{name: (chip, what was done)}``.
    """
    pink_device, pink_info = white_equivalent_pink(chip)
    nominal = dataclasses.replace(chip.design.periphery, mismatch=None)
    out = {}
    for name in names:
        if name.startswith("pink"):
            die, info = same_die(chip, device=pink_device), {"noise": pink_info}
        elif name == "nominal":
            die, info = same_die(chip, periphery=nominal), {"periphery": "nominal converters"}
        else:
            die, info = copy.deepcopy(chip), {}
        if name.endswith("calibrated"):
            t0 = time.perf_counter()
            cal = calibrate_columns(die.ports())
            gains = np.concatenate(cal.gain)
            info["calibration"] = {
                **_spent(cal.spent),
                "wall_seconds": time.perf_counter() - t0,
                "levels": DEFAULT_LEVELS,
                "gain_rel_std": float(np.std(gains)),
                "offset_rms": float(np.sqrt(np.mean(np.concatenate(cal.offset) ** 2))),
            }
        out[name] = (die, info)
    return out


#: The conditions of the credible section, in the order they run.
VARIANTS = ("as_is", "calibrated", "pink", "pink_calibrated", "nominal")


def copy_and_grade(die: Chip, data, config: ff.FFConfig, *, budget: float, rng: np.random.Generator) -> dict:
    """Copy ``die`` out by designed probing at ``budget`` (N + 1) and grade the copy.

    As :func:`neuromorph.studies.copyout.copy_out_designed` (the chip's accuracy over
    re-reads, its predictions read twice, then the copy), except that the weights are graded
    against the devices' effective weights (``chip.effective_weights()``), the knowledge the
    die holds, the same target on every variant of the die.  ``weight_rel_rms_layers_as_read``
    grades the copy against what this die computes (``weights_as_read``: the effective weights
    through its converters' gains and offsets and its output correction): on a calibrated die
    the two nearly agree (the correction cancels the converters), on an uncalibrated one the
    second is the map its ports deliver, ADC gains and offsets included.
    Reads ``die`` (pass a copy to keep it as it is).
    """
    c, x = data.n_classes, data.x_test
    score = score_accuracy(die, x, data.y_test, n_classes=c, config=config)
    ports = die.ports()
    pred = ff.predict(ports, x, n_classes=c, config=config)
    pred2 = ff.predict(ports, x, n_classes=c, config=config)
    t0 = time.perf_counter()
    res = ex.extract(ports, method="designed", budget=budget, design=die.design, rng=rng, progress=False)
    wall = time.perf_counter() - t0
    p = ff.predict(res.network, x, n_classes=c, config=config)
    errs = weight_errors(res.network.weights, die.effective_weights())
    return {
        "budget": budget,
        **_spent(res.spent),
        "wall_seconds": wall,
        "weight_rel_rms_layers": errs,
        "weight_rel_rms": max(errs),
        "weight_rel_rms_layers_as_read": weight_errors(res.network.weights, weights_as_read(die)),
        "fidelity": float(np.mean(p == pred)),
        "fidelity_second_read": float(np.mean(p == pred2)),
        "self_agreement": float(np.mean(pred == pred2)),
        "accuracy": float(np.mean(p == data.y_test)),
        "chip_accuracy": score.mean,
        "chip_accuracy_score": score.as_dict(),
        "n_test": int(data.y_test.size),
    }


def credible_rows(
    variants: dict[str, tuple[Chip, dict]], data, config: ff.FFConfig, *, budget: float, seed: int
) -> dict[str, dict]:
    """:func:`copy_and_grade` at ``budget`` on a copy of every variant."""
    rows = {}
    for i, (name, (die, info)) in enumerate(variants.items()):
        rng = np.random.default_rng([seed + CREDIBLE_SEED_OFFSET, i])
        rows[name] = {**copy_and_grade(copy.deepcopy(die), data, config, budget=budget, rng=rng), **info}
    return rows


def budget_to_target(
    variants: dict[str, tuple[Chip, dict]], budgets: Sequence[float], *, seed: int, target: float
) -> dict:
    """Per variant: designed probing at each budget in turn until the worst layer's relative
    RMS weight error is <= ``target`` (each on a fresh copy of the variant; graded against
    the effective weights, as :func:`copy_and_grade`)."""
    out = {"target": target, "budgets": list(budgets), "variants": {}}
    for i, (name, (die, _)) in enumerate(variants.items()):
        rows, reached = [], None
        for j, budget in enumerate(budgets):
            c = copy.deepcopy(die)
            rng = np.random.default_rng([seed + CREDIBLE_SEED_OFFSET, 100 + i, j])
            t0 = time.perf_counter()
            res = ex.extract(
                c.ports(), method="designed", budget=budget, design=c.design, rng=rng, progress=False
            )
            errs = weight_errors(res.network.weights, c.effective_weights())
            rows.append(
                {
                    "budget": budget,
                    "queries": res.spent.queries,
                    "energy_j": res.spent.energy_j,
                    "weight_rel_rms_layers": errs,
                    "weight_rel_rms": max(errs),
                    "wall_seconds": time.perf_counter() - t0,
                }
            )
            if max(errs) <= target:
                reached = budget
                break
        out["variants"][name] = {"reached_at": reached, "rows": rows}
    return out


def _averaged_estimates(
    chip: Chip,
    device: DeviceModel,
    *,
    layer: int,
    probes: int,
    amplitude: float,
    trials: int,
    seed: Sequence[int],
) -> tuple[NDArray, NDArray, int]:
    """``trials`` designed estimates of ``layer`` (trials, N + 1, M), each on the same die with
    an independent realisation of the read noise; the layer's effective weights; the
    saturated readings dropped over all trials."""
    estimates, dropped = [], 0
    for t in range(trials):
        die = same_die(chip, device=device, streams_seed=(*seed, t))
        w, rec = ex.extract_layer_designed(
            die.ports(),
            layer,
            probes=probes,
            amplitude=amplitude,
            two_rounds=False,
            design=die.design,
            rng=np.random.default_rng([*seed, t, 1]),
        )
        estimates.append(w)
        dropped += rec.saturated_readings
    return np.stack(estimates), die.effective_weights()[layer], dropped


def averaging_study(
    chip: Chip,
    *,
    layer: int = 0,
    ks: Sequence[int] = AVERAGING_K,
    trials: int = AVERAGING_TRIALS,
    seed: int = 0,
) -> dict:
    """Variance of the designed estimate of ``layer`` against its budget K (N + 1), white and 1/f.

    The designed probes have no repeat count: their averaging is the budget, ``K (N + 1)``
    probes each informing every weight (``var ~ sigma**2 / (K a**2)`` for white noise).  Every
    K runs at one fixed amplitude (a pilot's on the die as it is, keeping every column
    :data:`AVERAGING_HEADROOM` standard deviations inside full scale), without the pilot and
    the second round, so K alone changes.  For each law and K, ``trials`` estimates
    on the same die with independent noise (:func:`same_die` with fresh streams): the variance
    over trials of every weight, averaged over the weights (the converters' fixed errors, the
    same in every trial, drop out); beside it the mean squared error against the true weights.
    ``ratio_to_white_law`` is ``var(K) K / (var(K0) K0)``: 1 for the 1/K law.
    """
    n = chip.design.layer_sizes[layer]
    probe = copy.deepcopy(chip)
    _, rec = ex.extract_layer_designed(
        probe.ports(),
        layer,
        probes=4 * (n + 1),
        column_quantile=1.0,
        headroom=AVERAGING_HEADROOM,
        design=probe.design,
        rng=np.random.default_rng(seed),
    )
    pink_device, pink_info = white_equivalent_pink(chip)
    out = {"layer": layer, "n_inputs": n, "amplitude": rec.amplitude, "trials": trials, "k": list(ks)}
    for li, (law, device) in enumerate((("white", chip.design.device), ("pink", pink_device))):
        var, mse, dropped = [], [], []
        for k in ks:
            w, true, n_dropped = _averaged_estimates(
                chip,
                device,
                layer=layer,
                probes=k * (n + 1),
                amplitude=rec.amplitude,
                trials=trials,
                seed=(seed + CREDIBLE_SEED_OFFSET, 7, li, k),
            )
            var.append(float(np.mean(np.var(w, axis=0, ddof=1))))
            mse.append(float(np.mean((w - true) ** 2)))
            dropped.append(n_dropped)
        ratio = [v * k / (var[0] * ks[0]) for v, k in zip(var, ks, strict=True)]
        out[law] = {"variance": var, "mse": mse, "ratio_to_white_law": ratio, "saturated_readings": dropped}
    out["pink_over_white_variance"] = [
        p / w for p, w in zip(out["pink"]["variance"], out["white"]["variance"], strict=True)
    ]
    # A variance over R trials has relative sd sqrt(2 / (R - 1)) per weight; the mean over
    # the layer's weights (independent to first order) divides it by sqrt(#weights).
    n_weights = (n + 1) * chip.design.layer_sizes[layer + 1]
    out["variance_rel_sd"] = math.sqrt(2.0 / (trials - 1) / n_weights)
    out["variance_rel_sd_per_weight"] = math.sqrt(2.0 / (trials - 1))
    # Reference: a plain mean of the same number of 1/f reads, its variance times the reads
    # (1 for white noise), relative to K0's: the exact law of neuromorph.hardware.noise.
    span = pink_info["one_read_variance_factor"]["mean"] + math.log(2.0)
    plain = [
        noise.pink_mean_variance(k * (n + 1), span=span, ratio=pink_info["pink_block_ratio"]) * k * (n + 1)
        for k in ks
    ]
    out["pink_mean_of_reads_ratio"] = [p / plain[0] for p in plain]
    out["noise"] = pink_info
    return out


def print_credible(rows: dict[str, dict], budget: dict, averaging: dict | None) -> None:
    """The credible section's figures, one line each."""
    print("\ncredible chip (default design: each die's own converters), designed probes at 4(N+1):")
    for name, r in rows.items():
        cal = r.get("calibration")
        extra = (
            f"; calibration {cal['adc_conversions']} ADC conversions, {cal['chip_seconds']:.2e} chip s, "
            f"{cal['energy_j']:.2e} J (extraction {r['queries']} queries, {r['energy_j']:.2e} J)"
            if cal
            else f"; extraction {r['queries']} queries, {r['energy_j']:.2e} J"
        )
        print(
            f"  {name:<16} weight error per layer {[round(e, 4) for e in r['weight_rel_rms_layers']]}, "
            f"fidelity {r['fidelity']:.4f} (chip vs itself {r['self_agreement']:.4f}){extra}"
        )
    for name, v in budget["variants"].items():
        tried = ", ".join(f"{row['budget']:g}: {row['weight_rel_rms']:.4f}" for row in v["rows"])
        reach = (
            f"reaches {100 * budget['target']:g} % at {v['reached_at']:g}(N+1)"
            if v["reached_at"] is not None
            else f"not reached within {max(budget['budgets']):g}(N+1)"
        )
        print(f"  budget sweep {name:<16} worst-layer error by budget ({tried}): {reach}")
    if averaging is None:
        return
    a = averaging
    print(
        f"averaging (layer {a['layer']}, N={a['n_inputs']}, amplitude {a['amplitude']:.3f}, "
        f"{a['trials']} trials per point, variance sd ~{100 * a['variance_rel_sd']:.1f} % "
        "if the weights' errors are independent):"
    )
    for law in ("white", "pink"):
        cells = ", ".join(
            f"K={k}: {v:.3e} (x{r:.2f} the 1/K law)"
            for k, v, r in zip(a["k"], a[law]["variance"], a[law]["ratio_to_white_law"], strict=True)
        )
        print(f"  {law}: variance of the estimate {cells}")
    k0, k1 = a["k"][0], a["k"][-1]
    for law in ("white", "pink"):
        gain = a[law]["variance"][0] / a[law]["variance"][-1]
        print(
            f"  {law}: averaging {k0} -> {k1} (N+1) divides the variance by {gain:.1f} (1/K law: {k1 / k0:g})"
        )
