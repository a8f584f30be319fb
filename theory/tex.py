"""LaTeX for the report: plain text with Unicode mathematics turned into pure-ASCII TeX, and long displayed
equations broken into lines.

pdflatex reads bytes, so every Unicode character of a note or a title (α, ᵀ, ⊥, θ̄, …) is written as a TeX
command wrapped in ``\\ensuremath`` (valid in text and in math). A character missing from :data:`UNICODE` is
an error here, not a crash of the TeX run later."""

from __future__ import annotations

import re

import sympy as sp

from maml_theory.theory.notation import latex

UNICODE = {
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "δ": r"\delta",
    "η": r"\eta",
    "θ": r"\theta",
    "κ": r"\kappa",
    "λ": r"\lambda",
    "μ": r"\mu",
    "µ": r"\mu",
    "ν": r"\nu",
    "ξ": r"\xi",
    "ζ": r"\zeta",
    "π": r"\pi",
    "ρ": r"\rho",
    "σ": r"\sigma",
    "ℓ": r"\ell",
    "Γ": r"\Gamma",
    "Δ": r"\Delta",
    "Λ": r"\Lambda",
    "Π": r"\Pi",
    "Σ": r"\Sigma",
    "ĉ": r"\hat{c}",
    "ĝ": r"\hat{g}",
    "Ŝ": r"\hat{S}",
    "ᵀ": r"^{\top}",
    "ʳ": r"^{r}",
    "ⁿ": r"^{n}",
    "⁺": r"^{+}",
    "⁻": r"^{-}",
    "⁽": r"^{(}",
    "⁾": r"^{)}",
    "⁰": r"^{0}",
    "¹": r"^{1}",
    "²": r"^{2}",
    "³": r"^{3}",
    "₀": r"_{0}",
    "₁": r"_{1}",
    "₂": r"_{2}",
    "⊥": r"\perp",
    "∇": r"\nabla",
    "∂": r"\partial",
    "∞": r"\infty",
    "√": r"\surd",
    "≤": r"\le",
    "≥": r"\ge",
    "≠": r"\ne",
    "≡": r"\equiv",
    "⪯": r"\preceq",
    "∈": r"\in",
    "×": r"\times",
    "·": r"\cdot",
    "→": r"\to",
    "↦": r"\mapsto",
    "⇒": r"\Rightarrow",
    "⇔": r"\Leftrightarrow",
    "‖": r"\|",
    "⟨": r"\langle",
    "⟩": r"\rangle",
    "ŷ": r"\hat{y}",
    "−": "-",
    "½": r"\tfrac{1}{2}",
    "…": r"\ldots",
    "⋯": r"\cdots",
    "✓": r"\checkmark",
}
"""Characters written as math (inside ``\\ensuremath``)."""

TEXT = {"–": "--", "—": "---", "§": r"\S{}", "’": "'", "‘": "`"}
"""Characters written as text."""

ACCENTS = {"\u0304": r"\bar", "\u0302": r"\hat", "\u0303": r"\tilde"}
"""Combining accents (θ̄ is θ followed by U+0304): written over the character before them."""

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{"}
_SPECIAL.update({"}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"})
# OT1 text fonts have no < > |: they would print as ¡ ¿ —, so they are set as mathematics.
_SPECIAL.update({"<": r"\ensuremath{<}", ">": r"\ensuremath{>}", "|": r"\ensuremath{|}"})


def text(s: str) -> str:
    """``s`` as pure-ASCII TeX text (special characters escaped, Unicode mathematics as commands)."""
    out = []
    chars = list(s)
    for i, ch in enumerate(chars):
        if ch in ACCENTS:
            continue
        accent = ACCENTS.get(chars[i + 1]) if i + 1 < len(chars) else None
        if ch in _SPECIAL:
            piece = _SPECIAL[ch]
        elif ch.isascii():
            piece = ch
        elif ch in TEXT:
            piece = TEXT[ch]
        elif ch in UNICODE:
            piece = UNICODE[ch]
        else:
            raise ValueError(
                f"no TeX for {ch!r} (U+{ord(ch):04X}) in {s!r}: add it to maml_theory.theory.tex.UNICODE"
            )
        if accent is not None:
            base = piece if ch in UNICODE else ch
            piece = rf"\ensuremath{{{accent}{{{base}}}}}"
        elif ch in UNICODE:
            piece = rf"\ensuremath{{{piece}}}"
        out.append(piece)
    return "".join(out)


def math(s: str) -> str:
    """LaTeX mathematics ``s`` (as :func:`~maml_theory.theory.notation.latex` writes it) in pure ASCII: the
    Unicode letters a symbol's name may carry (B⁺(cB, α/c², βc²)) as commands."""
    return "".join(ch if ch.isascii() else "{" + UNICODE[ch] + "}" for ch in s)


LINE = 80
"""Printed characters (:func:`width`) per displayed line: about an A4 text column of 10 pt mathematics."""


def width(source: str) -> int:
    """About how many characters LaTeX mathematics ``source`` prints: a command (\\alpha, \\hat) counts one,
    sizing (\\left, \\right), braces and spaces none; a fraction's parts count side by side (an overestimate
    of its width, which errs towards shorter lines)."""
    s = re.sub(r"\\(left|right)\b", "", source)
    s = re.sub(r"\\[A-Za-z]+", "x", s)
    return len(re.sub(r"[{}\s]", "", s))


def _terms(expr: sp.Basic) -> list[sp.Basic]:
    """The summands of ``expr`` (itself when it is not a sum)."""
    return list(expr.args) if isinstance(expr, sp.Add | sp.MatAdd) else [expr]


WIDE = LINE
"""A summand whose LaTeX is longer than this does not fit a line: a subexpression of it is named instead."""


def _subterms(expr: sp.Basic) -> list[sp.Basic]:
    """The proper subexpressions of ``expr`` that can be named: sums (they print in parentheses), else any
    compound one."""
    found = [s for s in sp.preorder_traversal(expr) if s is not expr and s.args and not s.is_Atom]
    sums = [s for s in found if isinstance(s, sp.Add | sp.MatAdd)]
    return sums or [s for s in found if not isinstance(s, sp.Symbol | sp.MatrixSymbol)]


def _name(index: int, like: sp.Basic) -> sp.Basic:
    name = f"Z_{{{index}}}"
    return sp.MatrixSymbol(name, *like.shape) if isinstance(like, sp.MatrixExpr) else sp.Symbol(name)


def named(expr: sp.Basic) -> tuple[sp.Basic, list[tuple[sp.Basic, sp.Basic]]]:
    """``expr`` with long subexpressions named, so that every summand of it and of each definition fits a
    line (:data:`WIDE`): ``(expr with names Z_1, Z_2, …, [(Z_1, its definition), …])``, the definitions in
    the order they are first used. A summand too long is shortened by naming its longest subexpression
    (a parenthesised sum where there is one), everywhere it occurs, until it fits or has nothing left to
    name.

    >>> a, b = sp.symbols("a b")
    >>> short, defs = named(sp.Add(*(sp.Symbol(f"x_{i}") for i in range(60))) * (a + b))
    >>> short, [n for n, _ in defs]
    (Z_{1}*(a + b), [Z_{1}])
    """
    exprs: dict[sp.Basic | None, sp.Basic] = {None: expr}  # None: the expression itself; else a name
    todo: list[sp.Basic | None] = [None]
    while todo:
        key = todo.pop()
        # The summands are read afresh after each naming: a name replaces its subexpression everywhere.
        while wide := [t for t in _terms(exprs[key]) if width(latex(t)) > WIDE and _subterms(t)]:
            longest = max(_subterms(wide[0]), key=lambda s: width(latex(s)))
            name = _name(len(exprs), longest)
            exprs = {k: e.xreplace({longest: name}) for k, e in exprs.items()}
            exprs[name] = longest
            todo.append(name)
    order: list[sp.Basic] = []

    def visit(e: sp.Basic) -> None:
        for s in sp.preorder_traversal(e):
            if s in exprs and s not in order:
                order.append(s)
                visit(exprs[s])

    visit(exprs[None])
    return exprs[None], [(n, exprs[n]) for n in order]


def lines(expr: sp.Basic) -> list[str]:
    """``expr`` as a list of LaTeX lines of about :data:`LINE` characters, breaking only between summands
    (name long subexpressions first, :func:`named`, so that each summand fits)."""
    rows: list[str] = []
    for term in map(latex, _terms(expr)):
        signed = term if term.startswith("-") else "+ " + term
        if rows and width(rows[-1]) + width(signed) <= LINE:
            rows[-1] += " " + signed
        else:
            rows.append(signed)
    rows[0] = rows[0].removeprefix("+ ")
    return [re.sub(r"\+ -", "- ", r) for r in rows]


def equation(lhs: str, expr: sp.Basic) -> str:
    """Rows of an ``align*`` block: ``lhs &= first line`` then ``&\\quad + …`` continuation lines, then, where
    long subexpressions were named (:func:`named`), "where" and one such equation per name."""
    short, definitions = named(expr)
    blocks = []
    for left, e in [(lhs, short), *((latex(n), d) for n, d in definitions)]:
        rows = lines(e)
        blocks.append(" \\\\\n".join([f"{left} &= {rows[0]}", *(rf"&\quad {r}" for r in rows[1:])]))
    if len(blocks) > 1:
        blocks[1] = "\\intertext{\\small where}\n" + blocks[1]
    return " \\\\\n".join(blocks)
