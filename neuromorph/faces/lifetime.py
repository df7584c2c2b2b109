"""``neuromorph lifetime CHIP --out DIR``: a saved chip aged along a schedule (layer 5, faces).

:func:`add_options` gives the subcommand its options (every one with units and a default),
:func:`run` checks them all, loads the chip, scores it along the schedule
(:func:`neuromorph.studies.lifetime.run_lifetime`) on the test split it was trained on
(:mod:`neuromorph.faces.runs`), prints the account
(:func:`neuromorph.faces.reports.lifetime_table`) and writes ``lifetime.json`` and
``lifetime.png`` (:func:`neuromorph.faces.reports.write_lifetime_report`).
May import every layer below.
"""

from __future__ import annotations

import argparse
import os

from neuromorph import _validate as validate
from neuromorph.faces import arguments as check
from neuromorph.studies.lifetime import (
    DEFAULT_AGE_POINTS,
    DEFAULT_COPYOUT_BUDGET,
    DEFAULT_TEMPERATURES_K,
    DEFAULT_THRESHOLD_POINTS,
    FIRST_AGE_S,
    MAINTENANCE,
    REPORT_FILE,
)
from neuromorph.studies.scoring import DEFAULT_REREADS

#: Files the command writes into ``--out``.
LIFETIME_FILES = (REPORT_FILE, "lifetime.png")
#: Seconds in a (Julian) year, for ``--max-age-years``.
YEAR_S = 365.25 * 86400.0
#: The longest age the command accepts, seconds (:data:`neuromorph.faces.arguments.MAX_AGE_HOURS`,
#: ten years).
MAX_AGE_S = check.MAX_AGE_HOURS * 3600.0
#: How close a ``--copyout-ages-s`` value must come to a scheduled age to name it, relative:
#: the schedule is printed with 6 significant digits (``%g``), so 1e-3 always matches.
AGE_MATCH_REL = 1e-3


def add_options(p: argparse.ArgumentParser) -> None:
    """The options of ``neuromorph lifetime`` (the parser is made by the command line)."""
    p.add_argument("chipfile", help="chip file (.npz) written by train, demo or Chip.save")
    p.add_argument("--out", required=True, help="folder for lifetime.json and lifetime.png")
    p.add_argument("--force", action="store_true", help="replace an earlier lifetime in --out")
    p.add_argument(
        "--temperatures-k",
        default=",".join(f"{t:g}" for t in DEFAULT_TEMPERATURES_K),
        help="oven temperatures, kelvin, comma-separated; each a plausible operating temperature of the "
        "chip's preset",
    )
    p.add_argument(
        "--ages-s",
        default=None,
        help="ages since programming, seconds, comma-separated, increasing, each in [0, 10 years] "
        f"(default: 0, then --age-points ages log-spaced from {FIRST_AGE_S:g} s to --max-age-years)",
    )
    p.add_argument(
        "--max-age-years", type=float, default=10.0, help="last age of the default schedule, years"
    )
    p.add_argument(
        "--age-points", type=int, default=DEFAULT_AGE_POINTS, help="non-zero ages of the default schedule"
    )
    p.add_argument(
        "--reads",
        type=int,
        default=DEFAULT_REREADS,
        help="re-reads R of the test set per age (every command's R)",
    )
    p.add_argument(
        "--maintenance",
        default="none",
        choices=MAINTENANCE,
        help="before scoring: nothing, global drift compensation, or a refresh of every layer",
    )
    p.add_argument(
        "--maintenance-period-s",
        type=float,
        default=0.0,
        help="least time between two maintenances, seconds (0: before every age)",
    )
    p.add_argument(
        "--threshold-points",
        type=float,
        default=DEFAULT_THRESHOLD_POINTS,
        help="copy-out deadline: the first age whose accuracy is this many percentage points below "
        "the accuracy at programming",
    )
    p.add_argument(
        "--copyout-ages-s",
        default=None,
        help="ages of the schedule, seconds, comma-separated, at which every temperature's chip is "
        "copied out, or 'none' (default: the last age)",
    )
    p.add_argument(
        "--copyout-budget",
        type=float,
        default=DEFAULT_COPYOUT_BUDGET,
        help="designed-probe budget of each copy-out, multiples of N+1 queries per layer",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every copy-out's probes, an integer >= 0")
    p.add_argument(
        "--split-seed",
        type=int,
        default=None,
        help="seed of the digits train/test split (default: the training seed in metrics.json beside "
        "the chip file, else the chip's fabrication seed)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Check every option, age the chip, print the account, write the report folder."""
    from neuromorph import datasets
    from neuromorph.chip import Chip
    from neuromorph.faces.reports import lifetime_table, write_lifetime_report
    from neuromorph.faces.runs import run_context
    from neuromorph.studies.lifetime import LifetimeSchedule, log_ages, run_lifetime

    check.input_file("chipfile", args.chipfile)
    _check_numbers(args)
    check.run_folder(
        "--out", args.out, force=args.force, writes=LIFETIME_FILES, any_file=False, inputs=(args.chipfile,)
    )
    ages = _ages(args) if args.ages_s is not None else log_ages(_max_age_s(args), points=_age_points(args))
    copy_ages = _copyout_ages(args.copyout_ages_s, ages)
    chip = Chip.load(args.chipfile)
    temps = tuple(
        check.temperature("--temperatures-k", t, chip.design.device)
        for t in _numbers("--temperatures-k", args.temperatures_k)
    )
    context = run_context(args.chipfile, chip, split_seed=args.split_seed)
    data = datasets.load_digits(seed=context.split_seed)
    if chip.design.layer_sizes[0] != data.n_features + data.n_classes:
        raise ValueError(
            f"chipfile must be a digits chip ({data.n_features + data.n_classes} inputs: pixels and "
            f"labels); got one with {chip.design.layer_sizes[0]} inputs."
        )
    result = run_lifetime(
        chip,
        data,
        schedule=LifetimeSchedule(temperatures_k=temps, ages_s=ages),
        config=context.config,
        reads=args.reads,
        maintenance=args.maintenance,
        maintenance_period_s=args.maintenance_period_s,
        threshold_points=args.threshold_points,
        copyout_ages_s=copy_ages,
        copyout_budget=args.copyout_budget,
        seed=args.seed,
        progress=not args.quiet,
    )
    result["protocol"]["split_seed"] = context.split_seed
    paths = write_lifetime_report(result, args.out)
    print(f"test split: digits, seed {context.split_seed} ({context.split_from})")
    print(lifetime_table(result))
    print(f"wrote {', '.join(os.path.basename(p) for p in paths)} in {args.out}")
    return 0


def _check_numbers(args: argparse.Namespace) -> None:
    """The integer and number options, each named in its error."""
    check.integer("--seed", args.seed)
    check.integer("--reads", args.reads, minimum=1)
    if args.split_seed is not None:
        check.integer("--split-seed", args.split_seed)
    validate.non_negative("--maintenance-period-s", args.maintenance_period_s)
    if not 0.0 < args.threshold_points <= 100.0:
        raise ValueError(f"--threshold-points must be in (0, 100]; got {args.threshold_points:g}.")
    if not args.copyout_budget >= 1.0 or args.copyout_budget == float("inf"):
        raise ValueError(f"--copyout-budget must be a number >= 1; got {args.copyout_budget:g}.")


def _numbers(option: str, text: str) -> tuple[float, ...]:
    """Comma-separated numbers, or the error naming ``option``."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{option} must be comma-separated numbers, e.g. 300,358; got {text!r}.") from None
    return values


def _ages(args: argparse.Namespace) -> tuple[float, ...]:
    """``--ages-s``: increasing ages in [0, 10 years]."""
    ages = _numbers("--ages-s", args.ages_s)
    for a in ages:
        if not 0.0 <= a <= MAX_AGE_S:
            raise ValueError(f"--ages-s must be ages in [0, {MAX_AGE_S:.6g}] s (10 years); got {a:g}.")
    if any(b <= a for a, b in zip(ages, ages[1:], strict=False)):
        raise ValueError(f"--ages-s must be strictly increasing; got {args.ages_s!r}.")
    return ages


def _max_age_s(args: argparse.Namespace) -> float:
    years = args.max_age_years
    if not FIRST_AGE_S < years * YEAR_S <= MAX_AGE_S:
        raise ValueError(f"--max-age-years must be in ({FIRST_AGE_S / YEAR_S:.2g}, 10] years; got {years:g}.")
    return years * YEAR_S


def _age_points(args: argparse.Namespace) -> int:
    return check.integer("--age-points", args.age_points, minimum=1)


def _copyout_ages(text: str | None, ages: tuple[float, ...]) -> tuple[float, ...] | None:
    """``--copyout-ages-s``: None (the last age), () for 'none', else scheduled ages."""
    if text is None:
        return None
    if text.strip().lower() == "none":
        return ()
    chosen = []
    for a in _numbers("--copyout-ages-s", text):
        near = [x for x in ages if abs(x - a) <= AGE_MATCH_REL * max(x, a)]
        if not near:
            shown = ",".join(f"{x:g}" for x in ages)
            raise ValueError(f"--copyout-ages-s must be ages of the schedule ({shown}) or 'none'; got {a:g}.")
        chosen.append(near[0])
    return tuple(chosen)
