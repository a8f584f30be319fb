"""The claim model: one record per claim, with its statement, source and check side by side.

A claim is data. Its ``conclusion`` is a sympy relation over named observables and parameters (an identity
``Eq``, an inequality ``Le``/``Ge``/``Lt``/``Gt``) that holds under its ``hypotheses`` (relations in the same
symbols). A reconstructed claim may also carry ``uncertain`` hypotheses: conditions whose form or constants
the source leaves open (a step-size limit, say). They count as hypotheses, and the verifier's boundary search
drops them to find how far the conclusion really holds. Where sympy can decide it, ``prove`` returns a
:class:`Proof`; the numerics check it on admissible instances through :func:`evaluate`, which needs nothing
but the relation and the parameter values.

The statement a reader sees is printed from these relations (:attr:`Claim.statement`, :meth:`Claim.latex`),
never typed beside them, so it is the one that is checked. A conclusion may use short names (``G``,
``g_H``, ``∂G/∂R``) listed in ``where`` with their definitions; what is evaluated is the conclusion with the
definitions put in. ``note`` is prose around the formula: the setting, what an observable is measured as.

Provenance: ``derived`` — exact, proved here by sympy; ``reconstructed`` — a paper statement whose constants
are uncertain; ``abstract`` — the paper's qualitative claim made precise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

import numpy as np
import sympy as sp

from maml_theory.theory import notation

WHERE_WIDTH = 60
"""A ``where`` definition longer than this (in text characters) is named in a statement, not printed."""


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
    """One claim: see the module docstring. The statement is printed from the relations, never typed:

    >>> G, R = sp.symbols("G R", positive=True)
    >>> claim = Claim("U.example", "a bound", "a conjecture", Provenance.ABSTRACT, "", sp.Le(G, 1 + R**2))
    >>> claim.statement
    'G ≤ R^2 + 1'
    >>> claim.evaluate({"G": 2.0, "R": 1.5}).holds
    True
    """

    id: str
    title: str
    source: str
    provenance: Provenance
    note: str
    """Prose beside the formula: the setting, how an observable is measured; not itself checked."""
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
    where: tuple[tuple[sp.Symbol, sp.Basic], ...] = ()
    """Names in the printed conclusion and hypotheses with their definitions (which may use other names, not
    circularly). The checked relations are the printed ones with the definitions put in."""

    def expanded(self, rel: sp.Basic) -> sp.Basic:
        """``rel`` (the conclusion, a hypothesis) with the ``where`` definitions put in: what is checked."""
        definitions = dict(self.where)
        for _ in self.where:  # a definition may use other names: at most one pass per name
            if not rel.free_symbols & definitions.keys():
                break
            rel = rel.xreplace(definitions)
        return rel

    @cached_property
    def checked(self) -> sp.Basic:
        """The conclusion as evaluated and proved: ``conclusion`` with the ``where`` definitions put in."""
        return self.expanded(self.conclusion)

    @cached_property
    def _checked_hypotheses(self) -> tuple[tuple[sp.Basic, bool], ...]:
        return tuple((self.expanded(h), h in self.uncertain) for h in self._all_hypotheses)

    @property
    def _all_hypotheses(self) -> tuple[sp.Basic, ...]:
        return (*self.hypotheses, *self.uncertain)

    @property
    def statement(self) -> str:
        """The claim in one line of text, printed from the relations that are checked (:mod:`notation`):
        ``hypotheses ⇒ conclusion``, the uncertain hypotheses marked, then the ``where`` definitions."""
        return self._render(notation.text, ("⇒", "where", "uncertain", "as derived"))

    def latex(self) -> str:
        """The statement as LaTeX mathematics (for the report), printed from the same relations."""
        words = (r"\;\Rightarrow\;", r"\quad\text{where }", r"\text{uncertain}", r"\ \text{as derived}")
        return self._render(notation.latex, words)

    def _render(self, show: Callable[[sp.Basic], str], words: tuple[str, str, str, str]) -> str:
        implies, where, uncertain, derived = words
        parts = [show(h) for h in self.hypotheses]
        parts += [f"{show(h)} ({uncertain})" for h in self.uncertain]
        out = f"{', '.join(parts)} {implies} {show(self.conclusion)}" if parts else show(self.conclusion)
        defs = [
            f"{show(n)} = {show(d)}" if len(notation.text(d)) <= WHERE_WIDTH else f"{show(n)} {derived}"
            for n, d in self._used_where()
        ]
        return f"{out}, {where} {'; '.join(defs)}" if defs else out

    def _used_where(self) -> list[tuple[sp.Symbol, sp.Basic]]:
        """The ``where`` entries the printed relations use, directly or through another definition."""
        used = set(self.conclusion.free_symbols)
        for h in (*self.hypotheses, *self.uncertain):
            used |= h.free_symbols
        for _ in self.where:
            used |= {s for n, d in self.where if n in used for s in d.free_symbols}
        return [(n, d) for n, d in self.where if n in used]

    @cached_property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        names = set(self.checked.free_symbols)
        for h, _ in self._checked_hypotheses:
            names |= h.free_symbols
        return tuple(sorted(names, key=lambda s: s.name))

    @property
    def numeric(self) -> bool:
        """Whether the conclusion can be evaluated at an instance: scalar sides, no unevaluated limit."""
        sides = (self.checked.lhs, self.checked.rhs)
        return not any(isinstance(x, sp.MatrixExpr) or x.has(sp.Limit) for x in sides)

    @cached_property
    def _compiled(self) -> Callable[..., tuple[float, float]]:
        if not self.numeric:
            raise ValueError(
                f"claim {self.id} is symbolic only: its conclusion has no numeric value to evaluate"
            )
        rel = _as_le(self.checked)
        return sp.lambdify(self.symbols, (rel.lhs, rel.rhs), modules="math")

    @cached_property
    def _compiled_hypotheses(self) -> list[tuple[sp.Basic, bool, Callable[..., tuple[float, float]]]]:
        return [
            (h, uncertain, sp.lambdify(self.symbols, (_as_le(h).lhs, _as_le(h).rhs), modules="math"))
            for h, uncertain in self._checked_hypotheses
        ]

    @cached_property
    def _compiled_bound(self) -> tuple[list[str], Callable[..., object]]:
        rhs = _as_le(self.checked).rhs
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
        """The first hypothesis the instance does not satisfy (as the statement prints it), or None
        (equalities and non-strict inequalities to the claim's tolerance, as the conclusion is judged:
        :class:`Evaluation`; a side that is NaN satisfies nothing); ``relaxed``: every hypothesis but the
        uncertain ones."""
        args = [values[s.name] for s in self.symbols]
        for shown, (h, uncertain, f) in zip(self._all_hypotheses, self._compiled_hypotheses, strict=True):
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
                return shown
        return None

    def evaluate(self, values: Mapping[str, float]) -> Evaluation:
        """The conclusion at one instance, in float64 (``values`` maps symbol names to numbers)."""
        lhs, rhs = (float(v) for v in self._compiled(*(values[s.name] for s in self.symbols)))
        tol = self._tolerance(rhs)
        if isinstance(self.checked, sp.Eq):
            gap, size = abs(lhs - rhs), max(self.scale, abs(rhs))
            slack = gap / size if size > 0 else (0.0 if gap == 0 else math.inf)
            return Evaluation(lhs, rhs, gap <= tol, slack)
        strict = isinstance(self.checked, sp.StrictLessThan | sp.StrictGreaterThan)
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
