"""Command line: ``neuromorph <command>`` (layer 5).

Commands
--------
demo    fabricate a crossbar, read it at two temperatures, print what changed
"""

from __future__ import annotations

import argparse
import sys

from neuromorph import __version__


def _demo(args: argparse.Namespace) -> int:
    from neuromorph.demo import format_table, temperature_demo

    rows, info = temperature_demo(
        device=args.preset, hot_k=args.hot_k, age_s=args.age_hours * 3600.0, seed=args.seed
    )
    print(format_table(rows, info))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuromorph", description="Simulate mortal analog neuromorphic chips."
    )
    parser.add_argument("--version", action="version", version=f"neuromorph {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fabricate a crossbar and read it cold and hot")
    demo.add_argument("--preset", default="rram", choices=["rram", "pcm", "ideal"])
    demo.add_argument("--hot-k", type=float, default=358.0, help="hot temperature, kelvin")
    demo.add_argument("--age-hours", type=float, default=24.0, help="hours aged while hot")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError) as exc:
        print(f"neuromorph {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
