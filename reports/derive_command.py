"""``maml-theory derive landscape [--latex]``: the derived closed forms, step by step."""

from __future__ import annotations

import argparse

from theory.derivation import Derivation
from theory.landscape import adaptation, mixture, two_type


def landscape_derivations() -> list[Derivation]:
    """Spec L's derivations in reading order: loss, inner gradient, adapted excess, solutions, two types."""
    return [
        adaptation.task_loss(),
        adaptation.inner_gradient(),
        adaptation.adapted_excess(),
        adaptation.adapted_excess(exact=True),
        adaptation.isotropic_contraction(),
        adaptation.multistep_excess(),
        mixture.objective(two_type.TYPES),
        mixture.minimiser(two_type.TYPES),
        mixture.quadratic_identity(),
        two_type.weight(),
        two_type.excess_on_segment(),
        two_type.gain(),
    ]


SUBJECTS = {"landscape": landscape_derivations}


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("derive", help="print the derived closed forms", description=__doc__)
    p.add_argument("subject", choices=sorted(SUBJECTS), help="which theory")
    p.add_argument("--latex", action="store_true", help="print LaTeX (align* blocks) instead of text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    derivations = SUBJECTS[args.subject]()
    sep = "\n\n"
    print(sep.join(d.latex() if args.latex else d.text() for d in derivations))
    return 0
