"""Recorded derivations: each result keeps the chain of steps that produced it.

A :class:`Derivation` is a list of :class:`Step` s, each an expression with the rewrite that produced it
("expand", "Wick pairing", "substitute Σ = ρI", …). The last step is the result. The report prints
the chain as displayed equations; the command line prints it as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy as sp

# Plain-text rendering: sympy's str form with Greek letters, hats and transposes written as such.
_GREEK = (
    ("Sigma", "Σ"),
    ("alpha", "α"),
    ("beta", "β"),
    ("sigma", "σ"),
    ("rho", "ρ"),
    ("nu", "ν"),
    ("gamma", "γ"),
    ("eta", "η"),
    ("theta", "θ"),
    ("lambda", "λ"),
    ("mu", "μ"),
    ("kappa", "κ"),
    ("xi", "ξ"),
    ("Lambda", "Λ"),
    ("Delta", "Δ"),
)
# Names first (a transpose mark is a letter, so "thetaᵀ" would no longer match), then operators.
_TEXT = [
    (r"\bSigmahat", "Σ̂"),
    (r"\bchat", "ĉ"),
    (r"\bthetabar\b", "θ̄"),
    (r"\bTrace\(", "tr("),
    *((rf"\b{name}(?=_|\b)", greek) for name, greek in _GREEK),
    (r"\*\*", "^"),
    (r"\.T\b", "ᵀ"),
]


def text(expr: sp.Basic) -> str:
    """One-line readable form of ``expr`` (Greek letters, ᵀ, ^, tr)."""
    out = sp.sstr(expr)
    for pattern, repl in _TEXT:
        out = re.sub(pattern, repl, out)
    return out


@dataclass(frozen=True)
class Step:
    """One line of a derivation: ``lhs = expr``, reached from the previous line by ``note``."""

    note: str
    expr: sp.Basic
    lhs: sp.Basic | str | None = None


@dataclass
class Derivation:
    """A named derivation: ``id`` (e.g. ``L.adapted_excess``), a title, the spec section it serves,
    and its steps."""

    id: str
    title: str
    source: str
    steps: list[Step] = field(default_factory=list)

    def step(self, note: str, expr: sp.Basic, lhs: sp.Basic | str | None = None) -> sp.Basic:
        """Record ``expr`` (reached by ``note``) and return it, so derivations read as straight-line code."""
        self.steps.append(Step(note, expr, lhs))
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

    def latex(self) -> str:
        """The chain as a LaTeX ``align*`` block, one line per step with its rewrite as a comment."""
        rows = []
        for s in self.steps:
            lhs = "" if s.lhs is None else (s.lhs if isinstance(s.lhs, str) else sp.latex(s.lhs))
            note = s.note.replace("_", r"\_")
            rows.append(f"{lhs} &= {sp.latex(s.expr)} && \\text{{{note}}}")
        body = " \\\\\n".join(rows)
        title = self.title.replace("_", r"\_")
        return f"% {self.id}\n\\paragraph{{{title}}}\n\\begin{{align*}}\n{body}\n\\end{{align*}}"
