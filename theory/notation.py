"""One notation for every output: the terminal's one-line text and the report's LaTeX of the same expression.

Symbols are named in the code by ASCII-ish names (``alpha``, ``rho_H``, ``Sigmahat``, ``B_perp``, ``B_{*}``)
or, for a named matrix such as a derivation's left-hand side, by a LaTeX fragment (``Q(\\infty)``,
``w^{+}``). :func:`text` writes them with Greek letters, hats, bars, ᵀ, ⊥, ∞ and superscripts;
:func:`latex` gives sympy's LaTeX with the same names (``\\hat{\\Sigma}``, ``B_{\\perp}``, ``^{\\top}``), so a
quantity reads the same in ``maml-theory derive``, a claim's statement and the report.

>>> import sympy as sp
>>> a, r = sp.symbols("alpha rho_H", positive=True)
>>> text(sp.Le((1 - a * r) ** 2, 1))
'(-α·ρ_H + 1)^2 ≤ 1'
>>> latex(sp.MatrixSymbol("B_perp", 3, 2).T * sp.MatrixSymbol("B_{*}", 3, 2))
'B_{\\\\perp}^{\\\\top} B_{*}'
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

NAMES = {
    "mu_minus_lambda": ("μ − λ", r"\mu - \lambda"),
    "epsilon": ("ε", r"\varepsilon"),
    "residual": ("residual", r"\mathrm{residual}"),
    "rate": ("rate", r"\mathrm{rate}"),
    "gap": ("gap", r"\mathrm{gap}"),
    "dE_dm_out": ("∂E[G]/∂m_out", r"\partial\, \mathbb{E}[G] / \partial m_{\mathrm{out}}"),
    "dG/dR": ("∂G/∂R", r"\partial G / \partial R"),
    "dG/dnu_H": ("∂G/∂ν_H", r"\partial G / \partial \nu_{H}"),
    "dG/dnu_E": ("∂G/∂ν_E", r"\partial G / \partial \nu_{E}"),
    "dG/dsigma": ("∂G/∂σ", r"\partial G / \partial \sigma"),
    "g_star": ("g*", r"g^{*}"),
    "mu_star_sq": ("μ*²", r"\mu_{*}^{2}"),
    "kappa_star": ("κ*", r"\kappa_{*}"),
    "dist_T": ("dist_T", r"\operatorname{dist}_{T}"),
    "dist_inf": ("dist_∞", r"\operatorname{dist}_{\infty}"),
    "G_neg_error": ("δG_neg", r"\delta G_{\mathrm{neg}}"),
    "sigma_tilde": ("σ̃", r"\tilde{\sigma}"),
    "E_norm": ("‖E‖₂", r"\lVert E \rVert_{2}"),
    "E_next_norm": ("‖E⁺‖₂", r"\lVert E^{+} \rVert_{2}"),
    "lambda_min": ("λ_min", r"\lambda_{\min}"),
    "lambda_max": ("λ_max", r"\lambda_{\max}"),
    "g_max": ("g_max", r"g_{\max}"),
    "g_min": ("g_min", r"g_{\min}"),
    "m_train": ("m_train", r"m_{\mathrm{train}}"),
    "alpha_train": ("α_train", r"\alpha_{\mathrm{train}}"),
    "Sigmahat": ("Σ̂", r"\hat{\Sigma}"),
    "chat": ("ĉ", r"\hat{c}"),
    "thetabar": ("θ̄", r"\bar{\theta}"),
    "B_perp": ("B_⊥", r"B_{\perp}"),
    "EG_B_span": ("E[G_B](B_*A, 0)", r"\mathbb{E}[G_B](B_{*}A, 0)"),
    "w^*": ("w*", r"w^{*}"),
}
"""Names sympy would not write as meant (B_perp as B_{perp}, dG/dR as a fraction): (terminal text, LaTeX)."""

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
    ("Gamma", "Γ"),
    ("Delta", "Δ"),
)
# Rewrites of a symbol's name: LaTeX fragments in the names of named matrices (Q(\infty), w^{+},
# \hat{\Sigma}) first, then Greek letters (only where the name is a word or before a subscript).
_NAME_TEXT = [
    (r"\\mathbb\{E\}", "E"),
    (r"\\mathrm\{(\w+)\}", r"\1"),
    (r"\\overline\{(.*)\}", r"mean[\1]"),
    (r"\\hat\{\\?(\w+)\}", "\\1\u0302"),
    (r"\\infty", "∞"),
    (r"\\(?=[A-Za-z])", ""),
    (r"\^\{T\}", "ᵀ"),
    (r"\^\{\+\}", "⁺"),
    (r"\^\{(\d)\}", lambda m: "⁰¹²³⁴⁵⁶⁷⁸⁹"[int(m.group(1))]),
    (r"_\{([^{}]+)\}", r"_\1"),
    *((rf"\b{name}(?=_|\b|\u0302)", greek) for name, greek in _GREEK),
]
_RELATIONS = {sp.Eq: "=", sp.Le: "≤", sp.Lt: "<", sp.Ge: "≥", sp.Gt: ">", sp.Ne: "≠"}


_STAR = "\u22c6"
"""Stands for a * inside a name (B_*, w*) while the printer's * for products becomes ·."""


def _name(name: str) -> str:
    if name in NAMES:
        return NAMES[name][0].replace("*", _STAR)
    for pattern, repl in _NAME_TEXT:
        name = re.sub(pattern, repl, name)
    return name.replace("*", _STAR)


class _TextPrinter(StrPrinter):
    """sympy's one-line form with the project's names, · for products, ^ for powers, ᵀ and tr."""

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return _name(expr.name)

    _print_MatrixSymbol = _print_Symbol

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        return self.parenthesize(expr.arg, PRECEDENCE["Pow"]) + "ᵀ"

    def _print_Trace(self, expr: sp.Trace) -> str:
        return f"tr({self._print(expr.arg)})"

    def _print_Infinity(self, expr: sp.Basic) -> str:
        return "∞"

    def _print_Relational(self, expr: sp.Basic) -> str:
        sign = next(s for kind, s in _RELATIONS.items() if isinstance(expr, kind))
        return f"{self._print(expr.lhs)} {sign} {self._print(expr.rhs)}"

    def _print_Limit(self, expr: sp.Limit) -> str:
        f, x, x0 = expr.args[:3]
        return f"lim_{{{self._print(x)}→{self._print(x0)}}} {self._print(f)}"


def text(expr: sp.Basic) -> str:
    """One-line readable form of ``expr``: Greek letters, ·, ^, ᵀ, tr, ⊥; a relation as ``lhs ≤ rhs``."""
    out = _TextPrinter().doprint(expr).replace("**", "^").replace("*", "·")
    return out.replace(_STAR, "*")


class _Printer(LatexPrinter):
    """sympy's LaTeX with the project's names (:data:`NAMES`) and ⊤ for the transpose."""

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        name = NAMES.get(expr.name)
        return name[1] if name is not None else super()._print_Symbol(expr, style)

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        name = NAMES.get(expr.name)
        return name[1] if name is not None else super()._print_MatrixSymbol(expr)


def latex(expr: sp.Basic) -> str:
    """``expr`` in LaTeX, named as in :func:`text` (``\\hat{\\Sigma}``, ``B_{\\perp}``, ``^{\\top}``)."""
    return _Printer().doprint(expr).replace("^{T}", r"^{\top}")
