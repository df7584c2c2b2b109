"""The copy-out study: what it costs to get a mortal chip's knowledge out, and how well (layer 4).

Hinton argues a mortal chip's knowledge can leave only slowly, by distillation; others answer
that taps between layers make copying cheap.  :func:`study` settles it by measurement on one
trained chip: for every method (``"fd"`` one-hot finite differences, ``"designed"`` probes,
``"distill"``) and budget it records the cost (queries, ADC conversions, chip seconds, joules
from the chip's meter, and simulator wall time) against the quality of the copy:

* weight error against the chip's true effective weights at the operating point (relative
  RMS per layer, the worst layer, and in bits, ``-log2(rel RMS)``);
* fidelity: top-1 agreement of the copy's Forward-Forward predictions with the chip's on the
  held-out test inputs, beside the chip's agreement with itself on a second read (a noisy chip
  disagrees with itself), and accuracy on the test labels;
* the ratio of the copy-out cost to the cost of training the chip in place.

Methods reach the chip through its ports only; this study (a scorer) reads the hidden
effective weights to grade them.  Sweeps repeat designed extraction on variants of the chip:

* ADC bits and read noise: the design is changed (``dataclasses.replace``), a new chip is
  fabricated from it (seed ``chip.seed + 1000``) and the source chip's effective weights
  (clipped to the weight range) are written onto it by program-and-verify; the variant is then
  scored against *its own* effective weights and predictions.
* time since programming: a deep copy of the chip whose environment is advanced (drift).

:func:`write_report` writes ``report.json`` and PNG figures; :func:`register_cli` adds the
``neuromorph copyout`` command.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import time

import numpy as np
from numpy.typing import NDArray

from neuromorph._io import atomic_open
from neuromorph.algorithms import distill as dist
from neuromorph.algorithms import extract as ex
from neuromorph.algorithms import ff
from neuromorph.chip import Chip, Meter
from neuromorph.chip.digital import DigitalNetwork
from neuromorph.datasets import Dataset

ALL_METHODS = ("fd", "designed", "distill")
#: Default budgets: extraction in multiples of N + 1 queries per layer, distillation in
#: transfer inputs (each costs n_classes queries).
DEFAULT_BUDGETS = {"fd": (1, 4), "designed": (1.5, 2, 4), "distill": (50, 200, 1000)}


def weight_errors(copy_weights: list[NDArray], true_weights: list[NDArray]) -> list[float]:
    """Relative RMS error per layer, ``sqrt(mean((W_hat - W)^2) / mean(W^2))``."""
    if len(copy_weights) != len(true_weights):
        raise ValueError(f"copy_weights must have {len(true_weights)} layers; got {len(copy_weights)}.")
    out = []
    for i, (a, b) in enumerate(zip(copy_weights, true_weights, strict=True)):
        if a.shape != b.shape:
            raise ValueError(f"copy_weights[{i}] must have shape {b.shape}; got {a.shape}.")
        out.append(float(np.sqrt(np.mean((a - b) ** 2) / np.mean(b * b))))
    return out


def _bits(rel: float) -> float:
    return float(-math.log2(rel)) if rel > 0 else float("inf")


def _meter_dict(m: Meter) -> dict:
    d = m.as_dict()
    return {
        k: d[k]
        for k in ("queries", "dac_conversions", "adc_conversions", "chip_seconds", "energy_j", "pulses")
    }


class _Scorer:
    """Grades copies of one chip: hidden weights, chip predictions (twice), test labels."""

    def __init__(self, chip: Chip, data: Dataset, config: ff.FFConfig) -> None:
        self.chip, self.data, self.config = chip, data, config
        ports = chip.ports()
        c = data.n_classes
        self.true = chip.effective_weights()
        self.pred = ff.predict(ports, data.x_test, n_classes=c, config=config)
        self.pred2 = ff.predict(ports, data.x_test, n_classes=c, config=config)
        self.self_agreement = float(np.mean(self.pred == self.pred2))
        self.accuracy = float(np.mean(self.pred == data.y_test))

    def score(self, net: DigitalNetwork, *, weights: bool = True) -> dict:
        p = ff.predict(net, self.data.x_test, n_classes=self.data.n_classes, config=self.config)
        out = {
            "fidelity": float(np.mean(p == self.pred)),
            "fidelity_second_read": float(np.mean(p == self.pred2)),
            "self_agreement": self.self_agreement,
            "accuracy": float(np.mean(p == self.data.y_test)),
            "chip_accuracy": self.accuracy,
        }
        if weights and net.layer_sizes == self.chip.design.layer_sizes:
            rel = weight_errors(net.weights, self.true)
            out.update(weight_rel_rms_layers=rel, weight_rel_rms=max(rel), weight_bits=_bits(max(rel)))
        else:
            out.update(weight_rel_rms_layers=None, weight_rel_rms=None, weight_bits=None)
        return out


def _variance_check(ext: ex.Extraction, true: list[NDArray], design) -> list[dict]:
    """Per layer: measured mean squared error of the input weights beside the floor."""
    rows = []
    for rec, w_hat, w in zip(ext.layers, ext.network.weights, true, strict=True):
        n = w.shape[0] - 1
        err = w_hat[:n] - w[:n]
        row = {
            "layer": rec.layer,
            "measured_var": float(np.mean(err * err)),
            "queries": rec.queries,
            "amplitude": rec.amplitude,
            "residual_sigma": rec.residual_sigma,
        }
        if rec.method == "designed" and rec.residual_sigma is not None:
            floor = ex.designed_floor(rec, design)
            row["floor_var"] = float(np.mean(floor))
            row["measured_over_floor"] = row["measured_var"] / row["floor_var"]
        rows.append(row)
    return rows


def _train_ratio(spent: dict, train: dict | None) -> dict | None:
    if not train:
        return None
    out = {}
    for k in ("queries", "adc_conversions", "chip_seconds", "energy_j"):
        if train.get(k):
            out[k] = spent[k] / train[k]
    return out


def _run_method(
    method: str,
    budget: float,
    ports,
    scorer: _Scorer,
    data: Dataset,
    *,
    config: ff.FFConfig,
    rng: np.random.Generator,
    progress: bool,
) -> tuple[dict, object]:
    design = scorer.chip.design  # the public design: widths, converters, tiles
    t0 = time.perf_counter()
    if method in ("fd", "designed"):
        res = ex.extract(ports, method=method, budget=budget, design=design, rng=rng, progress=progress)
        net, spent = res.network, res.spent
    else:
        # Beyond the real training inputs the transfer set grows by mixup of them.
        n = int(budget)
        epochs = int(max(8, min(60, 9000 // n)))
        x = dist.mixup_inputs(data.x_train, n, rng=rng)
        res = dist.distill(
            ports, x, n_classes=data.n_classes, epochs=epochs, config=config, rng=rng, progress=progress
        )
        net, spent = res.network, res.spent
    wall = time.perf_counter() - t0
    row = {"method": method, "budget": budget, **_meter_dict(spent), "wall_seconds": wall}
    row.update(scorer.score(net))
    return row, res


def _variant_chips(chip: Chip, *, adc_bits, read_noise, age_s, progress: bool):
    """Yield (sweep name, value, variant chip) for every sweep point (documented above)."""
    weights = [np.clip(w, -chip.design.w_max, chip.design.w_max) for w in chip.effective_weights()]

    def refab(design):
        new = Chip.fabricate(design, seed=(chip.seed or 0) + 1000)
        ports = new.ports()
        for layer, w in enumerate(weights):
            ports.program(layer, w)
        return new

    for bits in adc_bits:
        p = chip.design.periphery
        design = dataclasses.replace(
            chip.design, periphery=dataclasses.replace(p, adc=dataclasses.replace(p.adc, bits=bits))
        )
        yield "adc_bits", bits, refab(design)
    for rel in read_noise:
        dv = chip.design.device
        device = dataclasses.replace(dv, noise=dataclasses.replace(dv.noise, read_noise_rel=rel))
        yield "read_noise_rel", rel, refab(dataclasses.replace(chip.design, device=device))
    for age in age_s:
        aged = copy.deepcopy(chip)
        aged.environment.advance(age)
        yield "age_s", age, aged


def study(
    chip: Chip,
    data: Dataset,
    *,
    methods=ALL_METHODS,
    budgets: dict | None = None,
    train_meter: Meter | dict | None = None,
    config: ff.FFConfig | None = None,
    sweep_adc_bits=(),
    sweep_read_noise=(),
    sweep_age_s=(),
    sweep_budget: float = 4.0,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Copy a trained chip out with every method and budget; grade and cost each copy.

    Parameters
    ----------
    chip : Chip
        The trained chip (the study reads its hidden state to score; the methods get ports).
    data : Dataset
        Test split: fidelity and accuracy; train split: distillation's transfer set.
    methods : iterable of {"fd", "designed", "distill"}
    budgets : dict, optional
        Per method: extraction budgets in multiples of ``N + 1`` queries per layer (``"fd"``:
        whole repeats), distillation budgets in transfer inputs (beyond the training split's
        size, the rest are mixup blends of its inputs: :func:`neuromorph.algorithms.distill.mixup_inputs`).
        Default :data:`DEFAULT_BUDGETS`.
    train_meter : Meter or dict, optional
        What training the chip in place cost (e.g. ``metrics['meter_after_training']``).
    config : FFConfig, optional
    sweep_adc_bits, sweep_read_noise, sweep_age_s : sequences
        Sweep points (ADC bits; relative read noise; seconds since programming), each run
        with designed probing at ``sweep_budget``.
    seed : int
        Seeds every method's Generator.
    progress : bool

    Returns
    -------
    dict
        JSON-ready: ``methods`` (one entry per method and budget), ``variance`` (designed
        and one-hot at the same budgets), ``sweeps``, ``chip`` and ``train_meter``.
    """
    if not isinstance(chip, Chip):
        raise TypeError(f"chip must be a Chip (the study scores hidden state); got {type(chip).__name__}.")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a neuromorph Dataset; got {type(data).__name__}.")
    methods = tuple(methods)
    for m in methods:
        if m not in ALL_METHODS:
            raise ValueError(f"methods must be drawn from {list(ALL_METHODS)}; got {m!r}.")
    budgets = {**DEFAULT_BUDGETS, **(budgets or {})}
    config = ff.FFConfig() if config is None else config
    if isinstance(train_meter, Meter):
        train_meter = train_meter.as_dict()
    scorer = _Scorer(chip, data, config)
    ports = chip.ports()
    rows, variance = [], []
    rng_root = np.random.default_rng(seed)
    for method in methods:
        for budget in budgets[method]:
            row, res = _run_method(
                method,
                budget,
                ports,
                scorer,
                data,
                config=config,
                rng=rng_root.spawn(1)[0],
                progress=progress,
            )
            row["train_ratio"] = _train_ratio(row, train_meter)
            if isinstance(res, ex.Extraction):
                row["layers"] = [r.as_dict() for r in res.layers]
                variance.append(
                    {
                        "method": method,
                        "budget": budget,
                        "layers": _variance_check(res, scorer.true, chip.design),
                    }
                )
            else:
                row["loss"] = res.loss
            rows.append(row)
    sweeps = []
    for name, value, variant in _variant_chips(
        chip, adc_bits=sweep_adc_bits, read_noise=sweep_read_noise, age_s=sweep_age_s, progress=progress
    ):
        vs = _Scorer(variant, data, config)
        t0 = time.perf_counter()
        res = ex.extract(
            variant.ports(),
            method="designed",
            budget=sweep_budget,
            design=variant.design,
            rng=rng_root.spawn(1)[0],
            progress=progress,
        )
        wall = time.perf_counter() - t0
        entry = {"sweep": name, "value": value, **_meter_dict(res.spent), "wall_seconds": wall}
        entry.update(vs.score(res.network))
        sweeps.append(entry)
    return {
        "chip": {
            "layer_sizes": list(chip.design.layer_sizes),
            "device": chip.design.device.name,
            "adc_bits": chip.design.periphery.adc.bits,
            "seed": chip.seed,
            "self_agreement": scorer.self_agreement,
            "accuracy": scorer.accuracy,
            "temperature_k": chip.environment.temperature_k,
            "time_s": chip.environment.time_s,
        },
        "train_meter": train_meter,
        "methods": rows,
        "variance": variance,
        "sweeps": sweeps,
    }


def format_table(result: dict) -> str:
    """A readable table of a study's rows."""
    head = (
        f"{'method':<9}{'budget':>7}{'queries':>9}{'ADC conv':>11}{'chip s':>10}{'energy J':>10}"
        f"{'wall s':>8}{'w relRMS':>10}{'bits':>6}{'fidelity':>9}{'self':>7}{'acc':>7}"
    )
    lines = [head]
    for r in result["methods"]:
        w = r["weight_rel_rms"]
        w_txt = "-" if w is None else f"{w:.4f}"
        b_txt = "-" if w is None else f"{r['weight_bits']:.1f}"
        lines.append(
            f"{r['method']:<9}{r['budget']:>7g}{r['queries']:>9d}{r['adc_conversions']:>11d}"
            f"{r['chip_seconds']:>10.2e}{r['energy_j']:>10.2e}{r['wall_seconds']:>8.1f}"
            f"{w_txt:>10}{b_txt:>6}"
            f"{r['fidelity']:>9.4f}{r['self_agreement']:>7.3f}{r['accuracy']:>7.3f}"
        )
    for s in result.get("sweeps", []):
        lines.append(
            f"sweep {s['sweep']}={s['value']:g}: queries {s['queries']}, worst relRMS "
            f"{s['weight_rel_rms']:.4f}, fidelity {s['fidelity']:.4f} (self "
            f"{s['self_agreement']:.3f})"
        )
    return "\n".join(lines)


def _atomic_png(fig, path: str) -> None:
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120)


def write_report(result: dict, out_dir: str) -> list[str]:
    """Write ``report.json`` and PNG figures into ``out_dir``; return the paths written."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    from neuromorph.studies.training import write_json

    os.makedirs(out_dir, exist_ok=True)
    paths = [os.path.join(out_dir, "report.json")]
    write_json(paths[0], result)
    by_method: dict[str, list[dict]] = {}
    for r in result["methods"]:
        by_method.setdefault(r["method"], []).append(r)
    for key, ylabel, name in (
        ("fidelity", "fidelity (top-1 agreement with the chip)", "fidelity_vs_queries.png"),
        ("weight_rel_rms", "worst-layer relative RMS weight error", "weight_error_vs_queries.png"),
    ):
        fig = Figure(figsize=(7, 4.5), layout="constrained")
        ax = fig.add_subplot()
        for method, rs in by_method.items():
            pts = sorted((r["queries"], r[key]) for r in rs if r.get(key) is not None)
            if pts:
                ax.plot(*zip(*pts, strict=True), "o-", label=method)
        if key == "fidelity" and result["methods"]:
            ax.axhline(
                result["methods"][0]["self_agreement"],
                color="gray",
                ls="--",
                label="chip vs itself (second read)",
            )
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        if key == "weight_rel_rms":
            ax.set_yscale("log")
        ax.set_xlabel("queries to the chip (input vectors presented)")
        ax.set_ylabel(ylabel)
        ax.set_title(f"copy-out of a {result['chip']['device']} chip {result['chip']['layer_sizes']}")
        ax.grid(alpha=0.3, which="both")
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
        path = os.path.join(out_dir, name)
        _atomic_png(fig, path)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------- command line
def _cli(args) -> int:
    from neuromorph import datasets

    chip = Chip.load(args.chipfile)
    data = datasets.load_digits(seed=args.seed)
    # A run folder of ``neuromorph train`` holds metrics.json beside chip.npz: the FF config
    # the chip was trained with (its label embedding) and the training meter.
    config, train_meter = None, chip.meter.as_dict()
    metrics_path = os.path.join(os.path.dirname(os.path.abspath(args.chipfile)), "metrics.json")
    if os.path.exists(metrics_path):
        with open(metrics_path) as fh:
            metrics = json.load(fh)
        if "config" in metrics:
            config = ff.FFConfig(**metrics["config"])
        train_meter = metrics.get("meter_after_training", train_meter)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    budgets = None
    if args.budgets:
        values = tuple(float(b) for b in args.budgets.split(","))
        budgets = {m: values for m in methods}
    result = study(
        chip,
        data,
        methods=methods,
        budgets=budgets,
        seed=args.seed,
        config=config,
        train_meter=train_meter,
        progress=not args.quiet,
    )
    paths = write_report(result, args.out)
    print(format_table(result))
    print(f"wrote {', '.join(os.path.basename(p) for p in paths)} in {args.out}")
    return 0


def register_cli(subparsers) -> None:
    """Add ``neuromorph copyout CHIPFILE --out DIR [--methods ...] [--budgets ...] [--seed S]
    [--quiet]`` to an argparse subparsers object.

    The training cost the copy-out is compared with, and the FF config (label embedding)
    used for predictions, come from ``metrics.json`` beside the chip file when it exists (a
    ``neuromorph train`` run folder); otherwise the chip's own saved meter and the default
    FFConfig.  The digits test split (``--seed``) gives fidelity and accuracy.
    """
    p = subparsers.add_parser("copyout", help="copy a saved chip out and report cost vs quality")
    p.add_argument("chipfile")
    p.add_argument("--out", required=True, help="report folder to write")
    p.add_argument(
        "--methods", default="fd,designed,distill", help="comma-separated from fd, designed, distill"
    )
    p.add_argument(
        "--budgets",
        default=None,
        help="comma-separated budgets for every method (extraction: multiples of N+1 "
        "queries per layer; distill: transfer inputs); default per method",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cli)
