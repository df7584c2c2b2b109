"""Checks of the command line's arguments, all run before a command does any work (layer 5).

Every check raises ValueError (or FileNotFoundError) with a one-line message in the
house grammar; :func:`neuromorph.faces.cli.main` prints it and exits with code 2.

Rules
-----
* **Temperatures** must lie in the preset's plausible operating range,
  :func:`operating_range_k`: the AEC-Q100 Grade 0 ambient range (-40 C to +150 C,
  233.15-423.15 K), the widest range integrated circuits are qualified for, cut to where
  the preset's temperature law holds (``TemperatureParams.valid_range_k``).  A value that
  fits once read as Celsius gets the hint "Did you mean N K?" (``30`` -> 303.15 K).
* **Ages** lie in [0, :data:`MAX_AGE_HOURS`] (10 years).
* **Outputs never replace inputs or earlier runs**: an output file that is one of the
  command's input files is always refused; an existing output file, a non-empty run folder
  of ``train`` or ``demo``, or a ``copyout`` folder that already holds a report is refused
  unless ``--force``.  (``sweep`` resumes an earlier run in its folder by design.)

Names
-----
One flag name per meaning: ``--temperature-k`` is the die's temperature (``train``,
``spice``), ``--hot-k`` the hot temperature of the heat study (``demo``, ``train``), both in
kelvin; the older ``--heat-k`` (train) and ``--temperature`` (spice) still work and warn
(:func:`add_deprecated_alias`).  Presets are named as :func:`neuromorph.hardware.presets.preset`
names them (``pcm`` or ``PCM_GST``, any case; :func:`preset_name`).  ``--wires NODE`` gives
a chip NeuroSim's wires at a CMOS node (:data:`DEFAULT_WIRES` when given alone).
"""

from __future__ import annotations

import argparse
import os
import sys

from neuromorph import _validate as check
from neuromorph.hardware.devices import PRESETS, DeviceModel, preset
from neuromorph.hardware.wires import WireParams, wires_for_node
from neuromorph.hardware.wires.technology import NODES_NM

#: Ambient range of AEC-Q100 Grade 0 (Automotive Electronics Council, "AEC-Q100 Rev-J:
#: Failure mechanism based stress test qualification for integrated circuits", 2023):
#: -40 C to +150 C, the widest operating range ICs are qualified for.
AEC_Q100_GRADE0_K = (233.15, 423.15)
#: Longest age the command line accepts, hours: 10 years, the data-retention lifetime
#: non-volatile memories are qualified for (e.g. JEDEC JESD47); the Environment itself
#: accepts up to 1e4 years for studies that extrapolate on purpose.
MAX_AGE_HOURS = 10 * 365.25 * 24.0
#: Files a copy-out report writes (:func:`neuromorph.faces.reports.write_copyout_report`).
COPYOUT_FILES = ("report.json", "fidelity_vs_queries.png", "weight_error_vs_queries.png")
#: Files a training run writes (:func:`neuromorph.faces.cli.main`'s ``train``).
TRAIN_FILES = ("network.npz", "chip.npz", "metrics.json", "training_curve.png")
#: Budget rules of the copy-out methods: (smallest budget, whole numbers only).
_BUDGET_RULES = {"fd": (1.0, True), "designed": (1.0, False), "distill": (1.0, True)}
#: The ``--preset`` choices: the short names of :data:`neuromorph.hardware.devices.PRESETS`.
PRESET_CHOICES = tuple(PRESETS)
#: ``--wires`` given alone: the 32 nm node, NeuroSim's default technology node
#: (DNN+NeuroSim V2.1, ``Training_pytorch/NeuroSIM/Param.cpp``: ``technode = 32``, a
#: 40 nm wire), in its 2F x 2F cross-point cell (``heightInFeatureSizeCrossbar = 2``): the
#: cells here are two-terminal devices without an access transistor.  1.06 ohm per segment
#: (:func:`neuromorph.hardware.wires.wires_for_node`).
DEFAULT_WIRES = "32nm"
#: ``spice --wires`` default: the wires saved with the chip.
CHIP_WIRES = "chip"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every option's help ends with its default ("(default: off)" for a flag) or "(required)".

    A help text that already says its default in words (it contains "(default") keeps them;
    descriptions and epilogs keep their line breaks (the sweep's list of spec keys), so
    :func:`neuromorph.faces.cli.build_parser` wraps its descriptions itself.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.required:
            return f"{text} (required)"
        if "(default" in text or action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        if isinstance(action, argparse._StoreTrueAction):
            return f"{text} (default: off)"
        return f"{text} (default: %(default)s)"


class _DeprecatedAlias(argparse.Action):
    """An older name of an option: stores into the new option's ``dest`` and warns on stderr."""

    def __init__(self, option_strings: list[str], dest: str, *, use: str, **kwargs) -> None:
        self.use = use
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"{parser.prog}: warning: {option_string} is deprecated; use {self.use}.", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_deprecated_alias(
    parser: argparse.ArgumentParser, old: str, new: str, *, dest: str, units: str, **kwargs
) -> None:
    """Keep ``old`` working as ``new`` (same ``dest``, in ``units``), warning when used."""
    parser.add_argument(
        old,
        dest=dest,
        action=_DeprecatedAlias,
        use=new,
        default=argparse.SUPPRESS,
        help=f"deprecated name of {new}, {units}; warns when used (default: as {new})",
        **kwargs,
    )


def preset_name(text: str) -> str:
    """The short preset name of ``text`` (``"PCM_GST"`` -> ``"pcm"``); unknown text unchanged.

    Unknown names pass through so that argparse's ``choices`` reports them.
    """
    try:
        found = preset(text)
    except ValueError:
        return text
    return next(short for short, model in PRESETS.items() if model is found)


def wire_choices(*, for_spice: bool = False) -> list[str]:
    """The ``--wires`` values: the CMOS nodes ('32nm'...), and 'none' (or, for spice, 'chip')."""
    return [CHIP_WIRES if for_spice else "none", *(f"{n}nm" for n in NODES_NM)]


def wires_of(option: str, value: str) -> WireParams | None:
    """The wires ``value`` names: None for 'none' or 'chip', else NeuroSim's at that node."""
    if value in ("none", CHIP_WIRES):
        return None
    if not value.endswith("nm") or not value[:-2].isdigit() or int(value[:-2]) not in NODES_NM:
        raise ValueError(f"{option} must be 'none', 'chip' or one of {wire_choices()[1:]}; got {value!r}.")
    return wires_for_node(int(value[:-2]))


def wires_text(value: str) -> str:
    """'1.06 ohm per segment' for a node, 'ideal wiring' for 'none'."""
    wires = wires_of("--wires", value)
    return "ideal wiring" if wires is None else f"{wires.r_row_ohm:.2f} ohm per segment"


def operating_range_k(device: DeviceModel | str) -> tuple[float, float]:
    """Plausible operating temperatures of ``device``, K (see the module docstring)."""
    device = preset(device) if isinstance(device, str) else device
    lo, hi = device.temperature.valid_range_k()
    return max(lo, AEC_Q100_GRADE0_K[0]), min(hi, AEC_Q100_GRADE0_K[1])


def temperature(option: str, value: float, device: DeviceModel | str) -> float:
    """``value`` if it is a plausible operating temperature of ``device``, with a Celsius hint."""
    lo, hi = operating_range_k(device)
    name = device if isinstance(device, str) else device.name
    return check.temperature_in(option, value, lo, hi, why=f"plausible operation of the {name} preset")


def age_hours(option: str, value: float) -> float:
    """An age in [0, MAX_AGE_HOURS] hours."""
    value = check.non_negative(option, value)
    if value > MAX_AGE_HOURS:
        raise ValueError(f"{option} must be <= {MAX_AGE_HOURS:g} hours (10 years); got {option}={value:g}.")
    return value


def integer(option: str, value: int, *, minimum: int = 0) -> int:
    """An integer option of at least ``minimum``."""
    return check.integer(option, value, minimum=minimum)


def int_list(option: str, text: str, *, minimum: int = 1) -> tuple[int, ...]:
    """A comma-separated list of integers >= ``minimum`` ("500,500")."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(
            f"{option} must be comma-separated integers >= {minimum}, e.g. 200,200; got {text!r}."
        ) from None
    if not values or min(values) < minimum:
        raise ValueError(f"{option} must be comma-separated integers >= {minimum}; got {text!r}.")
    return values


def budgets(option: str, text: str, methods: tuple[str, ...]) -> tuple[float, ...]:
    """Copy-out budgets for every one of ``methods``: numbers each method accepts."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{option} must be comma-separated numbers, e.g. 1,4; got {text!r}.") from None
    for method in methods:
        low, whole = _BUDGET_RULES[method]
        for v in values:
            if not (v >= low and v < float("inf")) or (whole and v != int(v)):
                kind = "whole numbers" if whole else "numbers"
                raise ValueError(f"{option} must be {kind} >= {low:g} for method {method!r}; got {v:g}.")
    return values


def methods(option: str, text: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated, non-empty selection from ``allowed``."""
    chosen = tuple(m.strip() for m in text.split(",") if m.strip())
    bad = [m for m in chosen if m not in allowed]
    if not chosen or bad:
        raise ValueError(f"{option} must be a comma-separated choice from {list(allowed)}; got {text!r}.")
    return chosen


def input_file(option: str, path: str) -> str:
    """An existing regular file."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{option} file not found: {path!r}.")
    if os.path.isdir(path):
        raise ValueError(f"{option} must be a file; got {path!r}, which is a directory.")
    return path


def _same_file(a: str, b: str) -> bool:
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def output_file(option: str, path: str, *, inputs: tuple[str, ...] = (), force: bool = False) -> str:
    """A file the command may write: never an input, an existing file only with ``--force``."""
    for source in inputs:
        if source and _same_file(path, source):
            raise ValueError(
                f"{option} must not be an input file; got {path!r}, the same file as {source!r}."
            )
    if os.path.isdir(path):
        raise ValueError(f"{option} must be a file; got {path!r}, which is a directory.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{option} folder does not exist: {folder!r}.")
    if os.path.exists(path) and not force:
        raise ValueError(
            f"{option} must not replace an existing file without --force; got {path!r}, which exists."
        )
    return path


def run_folder(
    option: str,
    path: str,
    *,
    force: bool,
    writes: tuple[str, ...],
    any_file: bool = True,
    inputs: tuple[str, ...] = (),
) -> str:
    """A folder the command writes ``writes`` into, refused when it holds an earlier run.

    An earlier run is any file at all (``any_file``, for commands that own their folder) or
    one of ``writes``; it is replaced only with ``--force``.  Writing one of ``writes`` over
    one of ``inputs`` is refused even with ``--force``.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{option} must be a folder; got {path!r}, which is a file.")
    if not os.path.isdir(path):
        return path
    for name in writes:
        for source in inputs:
            if source and _same_file(os.path.join(path, name), source):
                raise ValueError(
                    f"{option} must not be where the input {source!r} lies: {name} would replace it; "
                    f"got {path!r}."
                )
    present = (
        sorted(os.listdir(path)) if any_file else [n for n in writes if os.path.exists(os.path.join(path, n))]
    )
    if present and not force:
        shown = ", ".join(present[:3]) + (", ..." if len(present) > 3 else "")
        raise ValueError(
            f"{option} must be a new or empty folder, or come with --force; got {path!r}, which "
            f"holds an earlier run ({shown})."
        )
    return path


def check_demo(args: argparse.Namespace) -> None:
    """``neuromorph demo``: every option, before the first crossbar is fabricated."""
    temperature("--hot-k", args.hot_k, args.preset)
    args.wires = wires_of("--wires", args.wires)
    age_hours("--age-hours", args.age_hours)
    integer("--seed", args.seed)
    integer("--epochs", args.epochs)
    integer("--retrain-epochs", args.retrain_epochs)
    args.hidden = int_list("--hidden", args.hidden)
    args.distill_budgets = int_list("--distill-budgets", args.distill_budgets)
    if args.out is not None and not args.crossbar_only:
        run_folder("--out", args.out, force=args.force, writes=())


def check_train(args: argparse.Namespace) -> None:
    """``neuromorph train``: every option, before data are loaded or a folder is made."""
    temperature("--temperature-k", args.temperature_k, args.preset)
    if args.hot_k is not None:
        if args.mode == "software":
            raise ValueError("--hot-k must come with --mode in-place or ex-situ; got --mode software.")
        temperature("--hot-k", args.hot_k, args.preset)
    if args.mode == "software" and args.wires != "none":
        raise ValueError(f"--wires must come with --mode in-place or ex-situ; got --wires {args.wires}.")
    args.wires = wires_of("--wires", args.wires)
    age_hours("--age-hours", args.age_hours)
    integer("--seed", args.seed)
    integer("--epochs", args.epochs)
    integer("--eval-every", args.eval_every)
    integer("--retrain-epochs", args.retrain_epochs)
    args.hidden = int_list("--hidden", args.hidden)
    mnist = [args.mnist_train_images, args.mnist_train_labels, args.mnist_test_images, args.mnist_test_labels]
    if args.dataset == "mnist":
        if args.mnist_npz:
            input_file("--mnist-npz", args.mnist_npz)
        elif None in mnist:
            raise ValueError(
                "--dataset mnist must come with --mnist-npz or all four --mnist-{train,test}-"
                "{images,labels} files; got some missing."
            )
        else:
            for option, path in zip(
                ("train-images", "train-labels", "test-images", "test-labels"), mnist, strict=True
            ):
                input_file(f"--mnist-{option}", path)
    inputs = tuple(p for p in (*mnist, args.mnist_npz) if p)
    run_folder("--out", args.out, force=args.force, writes=TRAIN_FILES, inputs=inputs)


def check_spice(args: argparse.Namespace, chip) -> tuple[int, int]:
    """``neuromorph spice``: every option against the loaded ``chip``; returns the tile.

    Also turns ``args.window`` into ``(rows, weight columns)`` or None and ``args.wires`` into
    a :class:`WireParams` or None (the chip's own).
    """
    integer("--seed", args.seed)
    check.non_negative("--timeout", args.timeout, hint="Use 0 for no limit.")
    if not 0 <= args.layer < chip.n_layers:
        raise ValueError(f"--layer must be in 0..{chip.n_layers - 1}; got {args.layer}.")
    if args.temperature_k is not None:
        temperature("--temperature-k", args.temperature_k, chip.design.device)
    if args.window is not None:
        window = int_list("--window", args.window)
        if len(window) != 2:
            raise ValueError(f"--window must be 'ROWS,COLS', two integers >= 1; got {args.window!r}.")
        args.window = window
    args.wires = wires_of("--wires", args.wires)
    xbar = chip.crossbars[args.layer]
    tile = int_list("--tile", args.tile, minimum=0)
    n_rows, n_cols = xbar.n_tiles
    if len(tile) != 2 or tile[0] >= n_rows or tile[1] >= n_cols:
        raise ValueError(
            f"--tile must be 'row,col' with row < {n_rows} and col < {n_cols} for layer {args.layer}; "
            f"got {args.tile!r}."
        )
    if args.input:
        input_file("--input", args.input)
    output_file("--out", args.out, inputs=(args.chipfile, args.input or ""), force=args.force)
    return tile


def check_copyout(args: argparse.Namespace, allowed: tuple[str, ...]) -> tuple[tuple[str, ...], tuple | None]:
    """``neuromorph copyout``: options, before the chip is loaded; returns (methods, budgets)."""
    input_file("chipfile", args.chipfile)
    integer("--seed", args.seed)
    chosen = methods("--methods", args.methods, allowed)
    values = budgets("--budgets", args.budgets, chosen) if args.budgets else None
    run_folder(
        "--out", args.out, force=args.force, writes=COPYOUT_FILES, any_file=False, inputs=(args.chipfile,)
    )
    return chosen, values


def check_sweep(args: argparse.Namespace) -> None:
    """``neuromorph sweep``: the spec exists and the worker count is positive."""
    input_file("spec", args.spec)
    if args.workers is None:
        args.workers = max(1, os.cpu_count() or 1)
    integer("--workers", args.workers, minimum=1)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ValueError(f"--out must be a folder; got {args.out!r}, which is a file.")
