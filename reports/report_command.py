"""``maml-theory report [--out DIR] [--quick]``: derive, verify and draw, write report.tex, compile
report.pdf.

Without latexmk the .tex is written and one line names the Debian packages that compile it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from maml_theory.reports import figures

DEFAULT_OUT = Path("reports/build")


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "report", help="the LaTeX report: derivations, claims, figures", description=__doc__
    )
    p.add_argument(
        "--out", default=str(DEFAULT_OUT), metavar="DIR", help=f"output folder [default: {DEFAULT_OUT}]"
    )
    p.add_argument(
        "--quick", action="store_true", help="fewer instances, no search, quick figures (about a minute)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: it imports both theories (seconds of sympy).
    from maml_theory.reports import report

    # The folders are checked before the minutes of work, not found unwritable after them: the report's
    # own and the figures' inside it (a file named figures there would stop the drawing).
    out = figures.output_folder(Path(args.out))
    figures.output_folder(out / report.FIGURES_FOLDER)

    def progress(stage: str) -> None:
        print(f"maml-theory report: {stage}", file=sys.stderr, flush=True)

    tex_path = report.write(out, quick=args.quick, progress=progress)
    try:
        done = report.compile_pdf(tex_path)
    except report.LatexError as e:
        print(f"maml-theory: error: LaTeX failed on {tex_path}:\n{e}", file=sys.stderr)
        return 1
    print(done.message)
    return 0
