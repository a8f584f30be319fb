"""The claim model: one record per claim, with its statement, source and check side by side.

A claim is data. Its ``conclusion`` is a sympy relation over named observables and parameters (an identity
``Eq``, an inequality ``Le``/``Ge``/``Lt``/``Gt``) that holds under its ``hypotheses`` (relations in the same
symbols). A reconstructed claim may also carry ``uncertain`` hypotheses: conditions whose form or constants
the source leaves open (a step-size limit, say). They count as hypotheses, and the verifier's boundary search
drops them to find how far the conclusion really holds. Where sympy can decide it, ``prove`` returns a
:class:`Proof`; the numerics check it on admissible instances through :func:`evaluate`, which needs nothing
but the relation and the parameter values.

Provenance (DESIGN.md): ``derived`` — exact, proved here by sympy; ``reconstructed`` — a paper statement whose
constants are uncertain; ``abstract`` — the paper's qualitative claim made precise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

import numpy as np
import sympy as sp


class Provenance(StrEnum):
    DERIVED = "derived"
    RECONSTRUCTED = "reconstructed"
    ABSTRACT = "abstract"


@dataclass(frozen=True)
class Proof:
    """The outcome of a symbolic check: ``proved`` and how (``method``), with what was left (``residual``)."""

    proved: bool
    method: str
    residual: sp.Basic = sp.S.Zero


@dataclass(frozen=True)
class Evaluation:
    """A claim at one instance: ``lhs`` and ``rhs`` of the conclusion, whether it ``holds``, and
    its ``slack``.

    Slack: for an identity the relative residual |lhs − rhs| / max(s, |rhs|); for an inequality lhs ≤ rhs the
    ratio lhs / rhs (≤ 1 holds; near 1 is tight), rhs / lhs for a negative bound; 1 when both sides are zero
    to the tolerance; against a zero bound, 0 when lhs is below it and ∞ when above.

    Tolerance: rtol·max(s, |rhs|), with the claim's ``rtol`` and ``scale`` s (default 1): an identity holds
    when |lhs − rhs| is within it, an inequality when lhs ≤ rhs + rtol·max(s, |rhs|). Below s, quantities
    count as zero to the tolerance; a claim whose bound is meaningful however small (a geometric rate
    bound, say) sets s = 0, and is then judged relative to the bound alone.
    """

    lhs: float
    rhs: float
    holds: bool
    slack: float


@dataclass(frozen=True, eq=False)
class Claim:
    id: str
    title: str
    source: str
    provenance: Provenance
    statement: str
    conclusion: sp.Basic
    hypotheses: tuple[sp.Basic, ...] = ()
    prove: Callable[[], Proof] | None = None
    rtol: float = 1e-9
    scale: float = 1.0
    """Magnitude below which the claim's quantities count as zero to ``rtol`` (:class:`Evaluation`)."""
    uncertain: tuple[sp.Basic, ...] = ()
    slow: bool = False
    """Its proof takes sympy about a minute (the quick report and the default test run leave it out)."""
    shares: str = ""
    """Claims with the same non-empty ``shares`` reuse one computation, cached in the process (the verifier
    runs them in one worker)."""

    @cached_property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        names = set(self.conclusion.free_symbols)
        for h in (*self.hypotheses, *self.uncertain):
            names |= h.free_symbols
        return tuple(sorted(names, key=lambda s: s.name))

    @property
    def numeric(self) -> bool:
        """Whether the conclusion can be evaluated at an instance: scalar sides, no unevaluated limit."""
        sides = (self.conclusion.lhs, self.conclusion.rhs)
        return not any(isinstance(x, sp.MatrixExpr) or x.has(sp.Limit) for x in sides)

    @cached_property
    def _compiled(self) -> Callable[..., tuple[float, float]]:
        if not self.numeric:
            raise ValueError(
                f"claim {self.id} is symbolic only: its conclusion has no numeric value to evaluate"
            )
        rel = _as_le(self.conclusion)
        return sp.lambdify(self.symbols, (rel.lhs, rel.rhs), modules="math")

    @cached_property
    def _compiled_hypotheses(self) -> list[tuple[sp.Basic, bool, Callable[..., tuple[float, float]]]]:
        return [
            (
                h,
                h in self.uncertain,
                sp.lambdify(self.symbols, (_as_le(h).lhs, _as_le(h).rhs), modules="math"),
            )
            for h in (*self.hypotheses, *self.uncertain)
        ]

    @cached_property
    def _compiled_bound(self) -> tuple[list[str], Callable[..., object]]:
        rhs = _as_le(self.conclusion).rhs
        symbols = sorted(rhs.free_symbols, key=lambda s: s.name)
        return [s.name for s in symbols], sp.lambdify(symbols, rhs, modules="numpy")

    def bound(self, values: Mapping[str, float | np.ndarray]) -> float | np.ndarray:
        """The right-hand side of the conclusion (the bound or predicted value) at ``values``: a float, or an
        array where some values are arrays (a bound along a run's steps T, say)."""
        names, f = self._compiled_bound
        out = np.asarray(f(*(values[name] for name in names)), dtype=np.float64)
        return float(out) if out.ndim == 0 else out

    def admissible(self, values: Mapping[str, float], *, relaxed: bool = False) -> bool:
        """Whether the instance satisfies every hypothesis (:meth:`unmet` finds none)."""
        return self.unmet(values, relaxed=relaxed) is None

    def unmet(self, values: Mapping[str, float], *, relaxed: bool = False) -> sp.Basic | None:
        """The first hypothesis the instance does not satisfy, or None (equalities and non-strict
        inequalities to the claim's tolerance, as the conclusion is judged: :class:`Evaluation`; a side
        that is NaN satisfies nothing); ``relaxed``: every hypothesis but the uncertain ones."""
        args = [values[s.name] for s in self.symbols]
        for h, uncertain, f in self._compiled_hypotheses:
            if relaxed and uncertain:
                continue
            lhs, rhs = (float(v) for v in f(*args))
            tol = self._tolerance(rhs)
            if isinstance(h, sp.Eq):
                ok = lhs == rhs or abs(lhs - rhs) <= tol  # == first: m = ∞ is a hypothesis, ∞ − ∞ is NaN
            elif isinstance(_as_le(h), sp.StrictLessThan):
                ok = lhs < rhs
            else:
                ok = lhs <= rhs + tol
            if not ok:
                return h
        return None

    def evaluate(self, values: Mapping[str, float]) -> Evaluation:
        """The conclusion at one instance, in float64 (``values`` maps symbol names to numbers)."""
        lhs, rhs = (float(v) for v in self._compiled(*(values[s.name] for s in self.symbols)))
        tol = self._tolerance(rhs)
        if isinstance(self.conclusion, sp.Eq):
            gap, size = abs(lhs - rhs), max(self.scale, abs(rhs))
            slack = gap / size if size > 0 else (0.0 if gap == 0 else math.inf)
            return Evaluation(lhs, rhs, gap <= tol, slack)
        strict = isinstance(self.conclusion, sp.StrictLessThan | sp.StrictGreaterThan)
        holds = lhs < rhs if strict else lhs <= rhs + tol
        if abs(lhs) <= tol and abs(rhs) <= tol:  # both sides zero to round-off: tight
            slack = 1.0
        elif rhs > 0:
            slack = lhs / rhs
        elif rhs < 0:  # lhs ≤ rhs < 0 reads as rhs/lhs ≤ 1
            slack = rhs / lhs if lhs < 0 else math.inf
        else:  # a zero bound: met with room to spare, or exceeded without limit
            slack = 0.0 if lhs < 0 else math.inf
        return Evaluation(lhs, rhs, holds, slack)

    def _tolerance(self, rhs: float) -> float:
        return self.rtol * max(self.scale, abs(rhs))


def _as_le(rel: sp.Basic) -> sp.Basic:
    """Identities as they are; inequalities oriented as lhs ≤ rhs (or lhs < rhs)."""
    if isinstance(rel, sp.GreaterThan):
        return sp.Le(rel.rhs, rel.lhs, evaluate=False)
    if isinstance(rel, sp.StrictGreaterThan):
        return sp.Lt(rel.rhs, rel.lhs, evaluate=False)
    if isinstance(rel, sp.Eq | sp.LessThan | sp.StrictLessThan):
        return rel
    raise TypeError(f"a claim's conclusion must be a relation, got {type(rel).__name__}")


_REGISTRY: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    """Add ``claim`` to the registry (ids are unique)."""
    if claim.id in _REGISTRY:
        raise ValueError(f"claim {claim.id!r} is registered twice")
    _REGISTRY[claim.id] = claim
    return claim


def registered(prefix: str = "") -> list[Claim]:
    """The registered claims whose id starts with ``prefix`` (``"L."`` for spec L), in registration order."""
    return [c for c in _REGISTRY.values() if c.id.startswith(prefix)]
