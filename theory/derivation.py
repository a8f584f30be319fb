"""Recorded derivations: each result keeps the chain of steps that produced it.

A :class:`Derivation` is a list of :class:`Step` s, each an expression with the rewrite that produced it
("expand", "Wick pairing", "substitute Σ = ρI", …). The last step is the result. The report prints
the chain as displayed equations, each marked with how it was checked (:meth:`Derivation.checks`); the
command line prints it as text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import sympy as sp

from maml_theory.theory import concrete, matrix_algebra, tex
from maml_theory.theory.notation import latex, text
from maml_theory.theory.relations import Relation


@dataclass(frozen=True)
class Step:
    """One line of a derivation: ``lhs = expr``, reached by ``note``; ``by``: how the line follows from
    what came before, checkable (:mod:`maml_theory.theory.relations`); None for a rewrite of the line
    above."""

    note: str
    expr: sp.Basic
    lhs: sp.Basic | str | None = None
    by: Relation | None = None


@dataclass
class Derivation:
    """A named derivation: ``id`` (e.g. ``L.adapted_excess``), a title, the spec section it serves,
    and its steps."""

    id: str
    title: str
    source: str
    steps: list[Step] = field(default_factory=list)
    points: concrete.Points | None = None
    """The random rational points its steps are checked at (the model's dimensions, symmetries, frames)."""
    symmetric: tuple[sp.Basic, ...] = ()
    """Matrix symbols the derivation takes as symmetric (used when its rewrites are checked)."""

    def step(
        self, note: str, expr: sp.Basic, lhs: sp.Basic | str | None = None, by: Relation | None = None
    ) -> sp.Basic:
        """Record ``expr`` (reached by ``note``; ``by``: how it follows, see :class:`Step`) and return it, so
        derivations read as straight-line code."""
        self.steps.append(Step(note, expr, lhs, by))
        return expr

    def __getitem__(self, lhs: str) -> sp.Basic:
        """The expression of the last step whose left-hand side is ``lhs`` (e.g. ``dv["H"]``)."""
        for s in reversed(self.steps):
            if str(s.lhs) == lhs:
                return s.expr
        raise KeyError(f"derivation {self.id} has no step for {lhs!r}")

    @property
    def result(self) -> sp.Basic:
        if not self.steps:
            raise ValueError(f"derivation {self.id} has no steps")
        return self.steps[-1].expr

    def text(self) -> str:
        lines = [f"{self.id}: {self.title}  [{self.source}]"]
        for s in self.steps:
            lhs = "" if s.lhs is None else f"{s.lhs} = "
            lines.append(f"  ({s.note})\n      {lhs}{text(s.expr)}")
        return "\n".join(lines)

    def checks(self, symmetric: tuple[sp.Basic, ...] = ()) -> list[Check]:
        """Each step's check (``symmetric``: further matrix symbols known to be symmetric, besides the
        derivation's own and its points').

        - A step with a relation (``by``) is checked by it: the operation redone another way at random
          rational points (:mod:`maml_theory.theory.relations`), or marked as a definition.
        - A step that rewrites the line above (same left-hand side, no relation) is compared with it: matrices
          by the canonical forms of :mod:`maml_theory.theory.matrix_algebra` and, where the derivation has
          points, exactly at those points too; scalars by sympy (the difference simplifies to 0) or else at
          random rational points.
        - Any other step is reported as unchecked (the tests require that none is).
        """
        sym = (*self.symmetric, *(self.points.symmetric if self.points else ()), *symmetric)
        out = []
        for i, s in enumerate(self.steps):
            if s.by is not None:
                out.append(_related(s, self.points, sym))
            elif i and str(s.lhs) == str(self.steps[i - 1].lhs):
                out.append(_same(self.steps[i - 1].expr, s.expr, sym, self.points))
            else:
                out.append(Check("unchecked", "no relation to the lines above recorded", False))
        return out

    def latex(self, symmetric: tuple[sp.Basic, ...] = ()) -> str:
        """The chain as a LaTeX ``align*`` block in pure ASCII: each step's note and how it was checked (✓, or
        CHECK FAILED / NOT CHECKED in bold; a definition says so) as a text line, then the equation, broken
        between summands."""
        rows = []
        for s, c in zip(self.steps, self.checks(symmetric), strict=True):
            lhs = r"\text{" + tex.text(s.lhs) + "}" if isinstance(s.lhs, str) else latex(s.lhs or "")
            note = tex.text(s.note)
            if c.kind == "definition":
                note += rf" \hfill {tex.text(c.how)}"
            else:
                mark = r"\checkmark" if c.ok else r"\textbf{CHECK FAILED:}"
                if c.kind == "unchecked":
                    mark = r"\textbf{NOT CHECKED:}"
                note += rf" \hfill {mark}\ {tex.text(c.how)}"
            rows.append(rf"\intertext{{\small {note}}}" + "\n" + tex.equation(lhs, s.expr))
        body = " \\\\\n".join(rows)
        return (
            f"% {self.id}\n\\paragraph{{{tex.text(self.title)}}} ({tex.text(self.source)})\n"
            f"\\begin{{align*}}\n{body}\n\\end{{align*}}"
        )


@dataclass(frozen=True)
class Check:
    """How a displayed equality was checked: ``kind`` is ``sympy``, ``rational points``, ``definition`` (the
    line defines its left-hand side) or ``unchecked``; ``how`` says what was done; ``ok`` whether it held."""

    kind: str
    how: str
    ok: bool = True


RATIONAL_POINTS = 5


def _related(step: Step, points: concrete.Points | None, symmetric: tuple[sp.Basic, ...]) -> Check:
    rel = step.by
    if rel.sides is None:
        return Check("definition", rel.how)
    if points is None:
        return Check("unchecked", f"{rel.how}: the derivation has no points to check at", False)
    for i in range(rel.points):
        try:
            a, b = rel.sides(points.point(i, symmetric), step.expr)
        except (ArithmeticError, TypeError, ValueError) as exc:
            return Check("rational points", f"{rel.how}: not evaluable at a point ({exc})", False)
        if not concrete.same(a, b):
            return Check("rational points", f"{rel.how}: differs at random rational point {i}", False)
    return Check("rational points", f"{rel.how}: equal at {rel.points} random rational points")


def _same(
    before: sp.Basic, after: sp.Basic, symmetric: tuple[sp.Basic, ...], points: concrete.Points | None
) -> Check:
    if getattr(after, "is_Matrix", False) or getattr(before, "is_Matrix", False):
        ok = matrix_algebra.equal(before, after, symmetric)
        if points is None:
            return Check("sympy", "equals the line above (canonical forms)", ok)
        at = [points.point(i, symmetric) for i in range(RATIONAL_POINTS)]
        ok = ok and all(concrete.same(p.evaluate(before), p.evaluate(after)) for p in at)
        how = f"equals the line above (canonical forms; exact at {RATIONAL_POINTS} random rational points)"
        return Check("sympy", how, ok)
    if sp.simplify(before - after) == 0:
        return Check("sympy", "equals the line above (sympy)")
    rng = random.Random(0)  # a fixed seed: the report is the same bits every time
    names = sorted((before - after).free_symbols, key=lambda x: x.name)
    for _ in range(RATIONAL_POINTS):
        point = {x: sp.Rational(rng.randint(1, 97), rng.randint(1, 97)) for x in names}
        if sp.nsimplify(before.xreplace(point) - after.xreplace(point)) != 0:
            return Check("rational points", "differs from the line above at a rational point", False)
    return Check("rational points", f"equals the line above at {RATIONAL_POINTS} random rational points")
