"""Matrix calculus by differentials: d f = tr(Gᵀ dX) defines the gradient G = ∂f/∂X of a scalar f.

:func:`differential` applies the product rule to a matrix expression along a direction D (a symbol of X's
shape), giving an expression linear in D. :func:`gradient` reads G off it: every term of a 1×1 differential
is a chain u D v (u a row, v a column), and u D v = tr((uᵀvᵀ)ᵀ D), so that term contributes uᵀvᵀ; a term
u Dᵀ v = vᵀ D uᵀ contributes v u. This works for any polynomial expression in X in general dimension,
which sympy's own ∂/∂X (a 4-index array for a 1×1 expression) does not hand back as a matrix.
"""

from __future__ import annotations

import sympy as sp

from maml_theory.theory.matrix_forms import rebuild, terms


def differential(expr: sp.Basic, var: sp.MatrixSymbol, direction: sp.MatrixSymbol) -> sp.Basic:
    """d expr when ``var`` moves along ``direction`` (same shape): linear in ``direction``."""
    if not isinstance(expr, sp.MatrixExpr):
        if expr.has(var):
            raise ValueError(f"scalar {expr} depends on {var} outside a matrix product")
        return sp.S.Zero
    if expr == var:
        return direction
    if not expr.has(var):
        return sp.ZeroMatrix(*expr.shape)
    if isinstance(expr, sp.MatAdd):
        return sp.MatAdd(*(differential(a, var, direction) for a in expr.args))
    if isinstance(expr, sp.Transpose):
        return sp.Transpose(differential(expr.arg, var, direction))
    if isinstance(expr, sp.MatPow) and expr.exp.is_Integer and expr.exp > 0:
        return differential(sp.MatMul(*([expr.base] * int(expr.exp)), evaluate=False), var, direction)
    if isinstance(expr, sp.MatMul):
        scalars, factors = expr.args_cnc()
        coeff = sp.Mul(*scalars)
        if coeff.has(var):
            raise ValueError(f"coefficient {coeff} depends on {var}")
        parts = []
        for i, f in enumerate(factors):
            if f.has(var):
                df = differential(f, var, direction)
                parts.append(coeff * sp.MatMul(*factors[:i], df, *factors[i + 1 :]))
        return sp.MatAdd(*parts)
    if isinstance(expr, sp.Inverse):
        inv = expr
        return -inv * differential(expr.arg, var, direction) * inv
    raise ValueError(f"cannot differentiate {type(expr).__name__}: {expr}")


def gradient(expr: sp.Basic, var: sp.MatrixSymbol, symmetric: tuple[sp.MatrixSymbol, ...] = ()) -> sp.Basic:
    """∂f/∂X for a 1×1 expression f: the G with d f = tr(Gᵀ dX), in expanded form."""
    if tuple(expr.shape) != (1, 1):
        raise ValueError(f"the gradient needs a 1×1 expression, got shape {expr.shape}")
    direction = sp.MatrixSymbol(f"d{var.name}", *var.shape)
    out = []
    for c, fs in terms(differential(expr, var, direction), symmetric):
        where = [i for i, f in enumerate(fs) if f.has(direction)]
        if len(where) != 1 or c.has(direction):
            raise AssertionError(f"differential term {fs} is not linear in {direction}")
        (i,) = where
        u, v = fs[:i], fs[i + 1 :]
        if fs[i] == direction:
            out.append((c, [_t(f) for f in reversed(u)] + [_t(f) for f in reversed(v)]))
        elif fs[i] == sp.Transpose(direction):
            out.append((c, v + u))
        else:
            raise AssertionError(f"{fs[i]} is not {direction} or its transpose")
    return rebuild(out, var.shape)


def _t(f: sp.Basic) -> sp.Basic:
    return f.arg if isinstance(f, sp.Transpose) else sp.Transpose(f)
