"""How a claim is checked on numbers: the space its instances come from and the observables it needs.

A :class:`Check` binds a registered claim (theory/) to numerics: ``space`` draws the instance's
parameters, ``observe`` computes the values of the claim's other symbols (its observables: a gain from the
closed forms, a distance after T simulated steps). The claim's relation is then evaluated by
:meth:`maml_theory.theory.claims.Claim.evaluate`. ``boundary`` names, for a reconstructed claim, the
parameters whose largest admissible value the verifier searches for, each with the furthest value to try;
``search_budget`` the evaluations the worst-case search may spend (Nelder–Mead in p dimensions needs a few
hundred; a check whose observables take a simulation gives fewer; a statistical check, 0: it is not
searched).

A researcher's own claim is one :func:`claim` call in a file loaded with ``maml-theory verify --load FILE``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sympy as sp

from maml_theory.numerics.landscape.montecarlo import Z
from maml_theory.numerics.verification.space import Space
from maml_theory.theory.claims import Claim, Provenance, register

Observe = Callable[[Mapping[str, float]], Mapping[str, float]]


class Diverged(Exception):
    """An observable could not be computed because the dynamics diverged at step ``step``."""

    def __init__(self, step: int) -> None:
        super().__init__(f"diverged at step {step}")
        self.step = step


class Inadmissible(Exception):
    """The drawn parameters fall outside what the claim speaks of (a degenerate instance, say): the
    instance is skipped like one that fails a hypothesis."""


def _parameters_only(values: Mapping[str, float]) -> Mapping[str, float]:
    return {}


@dataclass(frozen=True)
class Check:
    claim: Claim
    space: Space
    observe: Observe = field(default=_parameters_only, compare=False)
    boundary: Mapping[str, float] = field(default_factory=dict)
    search_budget: int = 900

    def values(self, params: Mapping[str, float]) -> dict[str, float]:
        """Parameters and observables: every value the claim's relations need (raises :class:`Diverged`)."""
        return {**params, **self.observe(params)}


_CHECKS: dict[str, Check] = {}


def bind(check: Check) -> Check:
    """Register ``check`` for its claim (one check per claim)."""
    if check.claim.id in _CHECKS:
        raise ValueError(f"claim {check.claim.id!r} has a check already")
    _CHECKS[check.claim.id] = check
    return check


def check_of(claim_id: str) -> Check | None:
    """The numeric check bound to the claim, if any."""
    return _CHECKS.get(claim_id)


def claim(
    claim: Claim,
    space: Space,
    observe: Observe = _parameters_only,
    boundary: Mapping[str, float] | None = None,
) -> Claim:
    """Register a claim together with its numeric check: the one call a user's claim file needs."""
    register(claim)
    bind(Check(claim, space, observe, dict(boundary or {})))
    return claim


def zscore_claim(claim_id: str, title: str, source: str, note: str) -> Claim:
    """A Monte Carlo route claim: a closed form and a Monte Carlo of the same quantity agree, ``z`` (the
    largest |Monte Carlo − closed form| over its standard error, which the observer computes) ≤ Z = 6
    (:data:`maml_theory.numerics.landscape.montecarlo.Z`). Bind it with ``search_budget=0``: a search for
    the worst z would only find the largest of many noise draws."""
    z = sp.Symbol("z", nonnegative=True)
    return Claim(claim_id, title, source, Provenance.DERIVED, note, sp.Le(z, int(Z)))


def residual_claim(claim_id: str, title: str, source: str, note: str) -> Claim:
    """A route claim: two independent computations of one quantity agree, ``residual`` ≤ ε = 10⁻⁹ (the
    residual a relative difference the observer computes, judged against ε itself: scale 0)."""
    residual, eps = sp.Symbol("residual", nonnegative=True), sp.Symbol("epsilon", positive=True)
    return Claim(
        claim_id,
        title,
        source,
        Provenance.DERIVED,
        note,
        sp.Le(residual, eps),
        where=((eps, sp.Pow(10, -9, evaluate=False)),),
        scale=0.0,
    )
