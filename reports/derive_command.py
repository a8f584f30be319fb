"""``maml-theory derive SUBJECT [--latex] [--finite-sample]``: the derived closed forms, step by step.

SUBJECT is ``landscape`` (spec L) or a spec R method: ``anil``, ``fo-anil``, ``maml``, ``fo-maml``, ``nal``.
"""

from __future__ import annotations

import argparse

from maml_theory.theory.derivation import Derivation
from maml_theory.theory.landscape import adaptation, mixture, two_type
from maml_theory.theory.representation import finite_sample, losses, structure, updates
from maml_theory.theory.representation.model import METHODS


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
        two_type.ceiling(),
    ]


def method_derivations(method: str, finite: bool = False) -> list[Derivation]:
    """One spec R method: its per-task meta-gradient, the round update, the update at w = 0, the perpendicular
    identity; FO-ANIL adds the reduced dynamics. ``finite``: the expected finite-sample update too (exact MAML
    at w = 0 only: at general w its algebra runs for many minutes)."""
    out = [updates.task_gradient(method), updates.round_update(method), updates.at_zero_head(method)]
    out.append(structure.perpendicular(method))
    if method == "fo-anil":
        out.append(structure.reduced_dynamics())
    if finite:
        out += [losses.empirical(), finite_sample.expected_update(method, zero_head=method == "maml")]
    return out


SUBJECTS = {"landscape": lambda finite: landscape_derivations()}
SUBJECTS.update({m: (lambda finite, m=m: method_derivations(m, finite)) for m in METHODS})


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("derive", help="print the derived closed forms", description=__doc__)
    p.add_argument("subject", choices=sorted(SUBJECTS), help="which theory")
    p.add_argument("--latex", action="store_true", help="print LaTeX (align* blocks) instead of text")
    p.add_argument(
        "--finite-sample",
        action="store_true",
        help="spec R: also the expected finite-sample update (slow: up to a minute of algebra)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    derivations = SUBJECTS[args.subject](args.finite_sample)
    sep = "\n\n"
    print(sep.join(d.latex() if args.latex else d.text() for d in derivations))
    return 0
