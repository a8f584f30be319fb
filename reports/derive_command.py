"""``maml-theory derive SUBJECT [--latex] [--finite-sample]``: the derived closed forms, step by step.

SUBJECT is ``landscape`` (spec L) or a spec R method: ``anil``, ``fo-anil``, ``maml``, ``fo-maml``, ``nal``.
With stderr a terminal, a line "[i/N] call ..." announces each derivation as it begins.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from functools import partial

from maml_theory.reports.figures.progress import Progress
from maml_theory.theory.derivation import Derivation
from maml_theory.theory.landscape import adaptation, mixture, train_step, two_type
from maml_theory.theory.representation import finite_sample, losses, structure, updates
from maml_theory.theory.representation.model import METHODS

Step = tuple[str, Callable[[], Derivation]]
"""A derivation not yet made: the call that makes it, as written, and the call itself."""


def _step(f: Callable[..., Derivation], *args: object, **kwargs: object) -> Step:
    shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{f.__module__.rsplit('.', 1)[-1]}.{f.__name__}({', '.join(shown)})", partial(f, *args, **kwargs)


def landscape_steps() -> list[Step]:
    """Spec L's derivations in reading order: loss, inner gradient, adapted excess, solutions, two types, MAML
    trained with its own step size α_train and tested with S steps."""
    return [
        _step(adaptation.task_loss),
        _step(adaptation.inner_gradient),
        _step(adaptation.adapted_excess),
        _step(adaptation.adapted_excess, exact=True),
        _step(adaptation.isotropic_contraction),
        _step(adaptation.multistep_excess),
        _step(mixture.objective, two_type.TYPES),
        _step(mixture.minimiser, two_type.TYPES),
        _step(mixture.quadratic_identity),
        _step(two_type.weight),
        _step(two_type.excess_on_segment),
        _step(two_type.gain),
        _step(two_type.ceiling),
        _step(train_step.test_steps),
        _step(train_step.singular),
        _step(train_step.optimum),
    ]


def method_steps(method: str, finite: bool = False) -> list[Step]:
    """One spec R method: its per-task meta-gradient, the round update, the update at w = 0, the perpendicular
    identity; FO-ANIL adds the reduced dynamics. ``finite``: the expected finite-sample update too (at general
    w; exact MAML's takes sympy about half a minute)."""
    out = [
        _step(updates.task_gradient, method),
        _step(updates.round_update, method),
        _step(updates.at_zero_head, method),
        _step(structure.perpendicular, method),
    ]
    if method == "fo-anil":
        out.append(_step(structure.reduced_dynamics))
    if finite:
        out += [
            _step(losses.empirical),
            _step(finite_sample.expected_update, method),
        ]
    return out


def build(steps: Sequence[Step], progress: Progress | None = None) -> list[Derivation]:
    """The derivations of ``steps``, in order; ``progress`` announces each as it begins (the slowest take
    sympy half a minute)."""
    out = []
    for i, (shown, make) in enumerate(steps, start=1):
        if progress is not None:
            progress.begin(i, len(steps), shown)
        out.append(make())
    return out


def landscape_derivations() -> list[Derivation]:
    """Spec L's derivations (:func:`landscape_steps`)."""
    return build(landscape_steps())


def method_derivations(method: str, finite: bool = False) -> list[Derivation]:
    """One spec R method's derivations (:func:`method_steps`)."""
    return build(method_steps(method, finite))


SUBJECTS: dict[str, Callable[[bool], list[Step]]] = {"landscape": lambda finite: landscape_steps()}
SUBJECTS.update({m: (lambda finite, m=m: method_steps(m, finite)) for m in METHODS})


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
    derivations = build(SUBJECTS[args.subject](args.finite_sample), Progress("derive"))
    sep = "\n\n"
    print(sep.join(d.latex() if args.latex else d.text() for d in derivations))
    return 0
