"""The claim catalogue (docs/claims.md), rendered from the claim registry so that it cannot drift.

Every field comes from the registered :class:`maml_theory.theory.claims.Claim` records (id, title, statement,
source, provenance, whether ``prove`` is set and whether it is slow) and from the numeric checks bound to them
(:func:`maml_theory.numerics.verification.checks.check_of`); nothing is typed here. Importing the two check
modules registers every claim of the project together with its check. Regenerate the file with

    python -m maml_theory.reports.catalogue > docs/claims.md

and tests/test_docs.py fails while the committed file differs from what this prints.
"""

from __future__ import annotations

from collections.abc import Sequence

# Importing the check modules registers every claim of the project with its numeric check.
import maml_theory.numerics.landscape.checks
import maml_theory.numerics.representation.baseline_checks
import maml_theory.numerics.representation.checks  # noqa: F401
from maml_theory.numerics.verification.checks import check_of
from maml_theory.theory.claims import Claim, registered

SPECS = (
    ("L.", "Spec L: the task landscape", "landscape.md"),
    ("R.", "Spec R: MAML and ANIL learn a representation", "representation.md"),
)
"""(id prefix, heading, the document that defines the model): one section of the catalogue each."""

HEADER = """\
# Claim catalogue

Generated from the claim registry by `python -m maml_theory.reports.catalogue > docs/claims.md`; do not edit
by hand (`tests/test_docs.py` fails when this file and the registry disagree). A source "spec L §N" is the
section N of [landscape.md](landscape.md), "spec R §N" that of [representation.md](representation.md); how a
claim is stated, proved and checked is in [architecture.md](architecture.md).

Provenance: *derived*, exact and proved here by sympy; *reconstructed*, a statement of a paper whose
constants are not known to us, under test; *abstract*, a qualitative claim of a paper's abstract made
precise. The statement is printed from the relations the verifier checks; the setting is prose beside it.
"Checked by": *sympy proof* when the claim carries a symbolic proof (*slow* when it takes sympy
about a minute), *numeric check* when it is bound to a box of random admissible instances that
`maml-theory verify` evaluates.
"""


def checked_by(claim: Claim) -> str:
    """How the verifier decides ``claim``: its sympy proof, its numeric check, or both."""
    ways = []
    if claim.prove is not None:
        ways.append("sympy proof (slow)" if claim.slow else "sympy proof")
    if check_of(claim.id) is not None:
        ways.append("numeric check")
    return " + ".join(ways) or "none"


def _cell(text: str) -> str:
    """A table cell: one line, with the table's separator escaped."""
    return " ".join(text.split()).replace("|", r"\|")


def _table(claims: Sequence[Claim]) -> str:
    rows = [
        "| id | title | statement | setting | source | provenance | checked by |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in claims:
        cells = (f"`{c.id}`", c.title, c.statement, c.note, c.source, str(c.provenance), checked_by(c))
        rows.append("| " + " | ".join(_cell(x) for x in cells) + " |")
    return "\n".join(rows)


def render(claims: Sequence[Claim] | None = None) -> str:
    """The catalogue in markdown: one table per spec in registration order, then any other registered
    claims (a user's, loaded in the same process) under their own heading."""
    claims = registered() if claims is None else claims
    parts = [HEADER]
    placed: set[str] = set()
    for prefix, heading, doc in SPECS:
        mine = [c for c in claims if c.id.startswith(prefix)]
        placed |= {c.id for c in mine}
        if mine:
            intro = f"The model: [{doc}]({doc}). {len(mine)} claims."
            parts.append(f"## {heading}\n\n{intro}\n\n{_table(mine)}\n")
    others = [c for c in claims if c.id not in placed]
    if others:
        parts.append(f"## Other claims\n\n{len(others)} claims.\n\n{_table(others)}\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
