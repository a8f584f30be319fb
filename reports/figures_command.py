"""``maml-theory figures``: the figures of specs R (§6) and L (§5), as PDF and PNG, each from its config.

A thin layer over :func:`maml_theory.reports.figures.build`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from maml_theory.reports import figures

DEFAULT_OUT = Path("reports/build/figures")


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
        "--out", default=str(DEFAULT_OUT), metavar="DIR", help=f"output folder [default: {DEFAULT_OUT}]"
    )
    p.add_argument(
        "--quick", action="store_true", help="the quick variant of each config (short runs, coarse grids)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    names = figures.check_names(args.only)
    for name in names:
        (result,) = figures.build([name], Path(args.out), quick=args.quick)
        print(f"{result.name}: wrote {result.pdf} and {result.png} ({result.seconds:.1f} s)")
    return 0
