"""Matrix polynomials as explicit sums of products, and the forms read off them.

A matrix polynomial is held as a list of :data:`Term` s ``(c, [F₁, …, F_r])`` meaning Σ c·F₁⋯F_r, with scalar
coefficients (traces included) and non-commuting factors (an empty list is the identity). Expanding by hand,
rather than with ``sympy.expand``, keeps products from being folded back into powers, so forms
can be read off:

- :func:`linear_parts`: a column vector ``A v + b`` ↦ (A, b);
- :func:`quadratic_parts`: a 1×1 expression ``vᵀQv + (terms linear in v) + c`` ↦ (Q, linear part, c);
- :func:`isotropic`: substitute Σ = ρ I_d and reduce (Σⁿ = ρⁿ I, tr(ρ I) = ρ d).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import sympy as sp

Term = tuple[sp.Expr, list[sp.Basic]]


def terms(expr: sp.Basic, symmetric: Iterable[sp.MatrixSymbol] = ()) -> list[Term]:
    """``expr`` fully expanded into terms; ``Xᵀ`` is replaced by ``X`` for the ``symmetric`` symbols."""
    sym = frozenset(symmetric)
    return [(c, [_sym(f, sym) for f in fs]) for c, fs in _expand(expr)]


def _sym(factor: sp.Basic, sym: frozenset) -> sp.Basic:
    if isinstance(factor, sp.Transpose) and factor.arg in sym:
        return factor.arg
    return factor


def _expand(e: sp.Basic) -> list[Term]:
    if not isinstance(e, sp.MatrixExpr):
        return [(e, [])]
    if isinstance(e, sp.ZeroMatrix):
        return []
    if isinstance(e, sp.Identity):
        return [(sp.S.One, [])]
    if isinstance(e, sp.MatAdd):
        return [t for a in e.args for t in _expand(a)]
    if isinstance(e, sp.MatMul):
        out: list[Term] = [(sp.S.One, [])]
        for a in e.args:
            out = [(c1 * c2, f1 + f2) for c1, f1 in out for c2, f2 in _expand(a)]
        return out
    if isinstance(e, sp.MatPow) and e.exp.is_Integer and e.exp >= 0:
        out = [(sp.S.One, [])]
        for _ in range(int(e.exp)):
            out = [(c1 * c2, f1 + f2) for c1, f1 in out for c2, f2 in _expand(e.base)]
        return out
    if isinstance(e, sp.Transpose):
        return [(c, [_transpose(f) for f in reversed(fs)]) for c, fs in _expand(e.arg)]
    return [(sp.S.One, [e])]


def _transpose(f: sp.Basic) -> sp.Basic:
    return f.arg if isinstance(f, sp.Transpose) else sp.Transpose(f)


def rebuild(ts: list[Term], shape: tuple[sp.Expr, sp.Expr]) -> sp.Basic:
    """The expression Σ c·F₁⋯F_r of a list of terms, with like terms collected."""
    collected: dict[tuple, sp.Expr] = {}
    for c, fs in ts:
        key = tuple(fs)
        collected[key] = collected.get(key, sp.S.Zero) + c
    parts = []
    for fs, c in collected.items():
        c = sp.factor(sp.expand(c))
        if c == 0:
            continue
        if shape == (1, 1) and not fs:
            parts.append(c * sp.Identity(1))
        else:
            parts.append(_scaled(c, _evaluated(fs) if fs else sp.Identity(shape[0])))
    return sp.MatAdd(*parts) if parts else sp.ZeroMatrix(*shape)


@functools.cache
def _evaluated(fs: tuple[sp.Basic, ...]) -> sp.MatrixExpr:
    """sympy's evaluated product of the factors (memoised: the same products recur in many terms)."""
    return sp.S.One * sp.MatMul(*fs)


def _scaled(c: sp.Expr, m: sp.MatrixExpr) -> sp.MatrixExpr:
    """c·m as sympy's evaluated product gives it, for an evaluated product m.

    A scalar factor in front of an evaluated product of matrices is what evaluation would leave (it puts the
    scalars first and has nothing else to combine), so it is prepended without evaluating again, which is
    the costly part; other cases are evaluated.
    """
    if c == 1:
        return m
    factors = m.args if isinstance(m, sp.MatMul) else (m,)
    if isinstance(m, sp.MatMul | sp.MatrixSymbol | sp.Transpose | sp.MatPow) and not any(
        not isinstance(f, sp.MatrixExpr) for f in factors
    ):
        return sp.MatMul(c, *factors)
    return c * m


def expand_matrix(expr: sp.Basic, symmetric: Iterable[sp.MatrixSymbol] = ()) -> sp.Basic:
    """Fully expanded form of a matrix polynomial, like terms collected."""
    return rebuild(terms(expr, symmetric), expr.shape)


def linear_parts(
    expr: sp.Basic, v: sp.MatrixSymbol, symmetric: Iterable[sp.MatrixSymbol] = ()
) -> tuple[sp.Basic, sp.Basic]:
    """(A, b) with ``expr = A v + b``; ValueError if ``expr`` is not affine in ``v`` in that form."""
    rows = expr.shape[0]
    a_terms, b_terms = [], []
    for c, fs in terms(expr, symmetric):
        if fs and fs[-1] == v and not any(f.has(v) for f in fs[:-1]) and not c.has(v):
            a_terms.append((c, fs[:-1]))
        elif any(f.has(v) for f in fs) or c.has(v):
            raise ValueError(f"{expr} is not of the form A·{v} + b")
        else:
            b_terms.append((c, fs))
    return rebuild(a_terms, (rows, v.shape[0])), rebuild(b_terms, (rows, 1))


def quadratic_parts(
    expr: sp.Basic, v: sp.MatrixSymbol, symmetric: Iterable[sp.MatrixSymbol] = ()
) -> tuple[sp.Basic, sp.Basic, sp.Expr]:
    """(Q, L, c) with the 1×1 expression ``expr = vᵀ Q v + L + c``; L collects the terms linear in ``v``."""
    n, vt = v.shape[0], v.T
    q_terms, l_terms, c_terms = [], [], []
    for c, fs in terms(expr, symmetric):
        inner = any(f.has(v) for f in fs[1:-1]) or c.has(v)
        ends = (bool(fs) and fs[0] == vt) + (bool(fs) and fs[-1] == v)
        if inner or ends != sum(1 for f in fs if f.has(v)):
            raise ValueError(f"{expr} is not a quadratic form in {v}")
        if ends == 2:
            q_terms.append((c, fs[1:-1]))
        elif ends == 1:
            l_terms.append((c, fs))
        else:
            c_terms.append(c * sp.Trace(sp.MatMul(*fs)) if fs else c)
    const = sp.factor(sp.expand(sp.Add(*c_terms)))
    return rebuild(q_terms, (n, n)), rebuild(l_terms, (1, 1)), const


def isotropic(expr: sp.Basic, cov: sp.MatrixSymbol, rho: sp.Expr) -> sp.Basic:
    """``expr`` with Σ = ρ I_d: every factor Σ (or Σᵀ, Σⁿ) becomes a scalar, traces of ρ I become ρ d."""
    d = cov.shape[0]

    def scalar(f: sp.Basic) -> sp.Expr | None:
        if f == cov or f == sp.Transpose(cov):
            return rho
        if isinstance(f, sp.MatPow) and f.base == cov and f.exp.is_Integer:
            return rho**f.exp
        return None

    def reduce_coeff(c: sp.Expr) -> sp.Expr:
        return c.replace(lambda e: isinstance(e, sp.Trace), lambda e: _trace(isotropic(e.arg, cov, rho), d))

    out: list[Term] = []
    for c, fs in terms(expr):
        kept, coeff = [], reduce_coeff(c)
        for f in fs:
            s = scalar(f)
            if s is None:
                kept.append(f)
            else:
                coeff *= s
        out.append((coeff, kept))
    return rebuild(out, expr.shape)


def identity_coefficient(expr: sp.Basic) -> sp.Expr:
    """c for ``expr = c I`` (ValueError otherwise)."""
    total = sp.S.Zero
    for c, fs in terms(expr):
        if fs:
            raise ValueError(f"{expr} is not a multiple of the identity")
        total += c
    return sp.factor(sp.expand(total))


def _trace(expr: sp.Basic, d: sp.Expr) -> sp.Expr:
    try:
        return identity_coefficient(expr) * d
    except ValueError:
        return sp.Trace(expr)
