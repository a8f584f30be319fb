"""``maml-theory figures``: the figures of specs R (§6) and L (§5), as PDF and PNG, each from its config.

A thin layer over :func:`maml_theory.reports.figures.build`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from maml_theory.reports import figures

DEFAULT_OUT = {False: Path("reports/build/figures"), True: Path("reports/build/figures-quick")}
"""The default folder of the full figures, and of the quick ones (their own, so that a quick run never
replaces the full figures)."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "figures",
        help="the figures of specs R and L as PDF and PNG, each from a TOML config with its seed",
        description=__doc__.splitlines()[0],
    )
    p.add_argument(
        "--only",
        nargs="+",
        action="extend",
        default=None,
        metavar="NAME",
        help=f"only these figures, of: {', '.join(figures.NAMES)} [default: all]",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help=f"output folder [default: {DEFAULT_OUT[False]}, with --quick {DEFAULT_OUT[True]}]",
    )
    p.add_argument(
        "--quick", action="store_true", help="the quick variant of each config (short runs, coarse grids)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    names = figures.check_names(args.only)
    out = figures.output_folder(DEFAULT_OUT[args.quick] if args.out is None else Path(args.out))
    for name in names:
        (result,) = figures.build([name], out, quick=args.quick)
        print(f"{result.name}: wrote {result.pdf} and {result.png} ({result.seconds:.1f} s)")
    return 0
