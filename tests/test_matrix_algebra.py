"""maml_theory.theory.matrix_algebra: identities in general dimension d, and no false identities.

Numeric evaluations use sympy's own explicit-matrix arithmetic (substitute d and explicit matrices,
then doit), which shares no code with the canonicaliser.
"""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from maml_theory.theory.matrix_algebra import canonical, equal, is_zero

d = sp.Symbol("d", integer=True, positive=True)
A, B, C, H, S = (sp.MatrixSymbol(n, d, d) for n in "ABCHS")
u, v, w, b = (sp.MatrixSymbol(n, d, 1) for n in "uvwb")
alpha = sp.Symbol("alpha")


def explicit(expr, dim, values):
    """expr at d = dim with the given explicit values ({symbol: array or number}) as an array."""
    subs = {}
    for k, val in values.items():
        if isinstance(k, sp.MatrixSymbol):
            subs[k.xreplace({d: dim})] = sp.ImmutableMatrix(np.asarray(val).tolist())
        else:
            subs[k] = val
    e = sp.sympify(expr).xreplace({d: dim}).xreplace(subs).doit()
    if isinstance(e, sp.MatrixBase | sp.MatrixExpr):
        e = e.as_explicit()
    return np.array(sp.Matrix(e).tolist() if isinstance(e, sp.MatrixBase) else e, dtype=float)


def random_values(seed, dim):
    """Generic values: A, B, C general (well conditioned), H and S symmetric positive definite."""
    rng = np.random.default_rng(seed)
    vals = {}
    for m in (A, B, C):
        vals[m] = rng.standard_normal((dim, dim)) + 3 * np.eye(dim)
    for m in (H, S):
        g = rng.standard_normal((dim, dim))
        vals[m] = g @ g.T + dim * np.eye(dim)
    for m in (u, v, w, b):
        vals[m] = rng.standard_normal((dim, 1))
    vals[alpha] = rng.uniform(0.5, 2.0)
    return vals


def numerically_zero(expr, seed=0, dim=5):
    val = explicit(expr, dim, random_values(seed, dim))
    return np.allclose(val, 0, atol=1e-9 * (1 + np.abs(val).max()))


def q(x):
    return x.T * H * x / 2 - b.T * x


def test_quadratic_identity_general_d():
    w_m = sp.Inverse(H) * b
    residual = q(w) - q(w_m) - (w - w_m).T * H * (w - w_m) / 2
    assert is_zero(residual, symmetric=[H])
    assert canonical(residual, symmetric=[H]) == sp.ZeroMatrix(1, 1)
    # Without the symmetry of H the identity is false (H⁻ᵀ ≠ H⁻¹), and must not be claimed.
    assert not is_zero(residual)
    vals = random_values(1, 4)
    vals[H] = vals[A]  # a non-symmetric H
    assert not np.allclose(explicit(residual, 4, vals), 0)


@pytest.mark.parametrize(
    "expr, symmetric",
    [
        (A * B - B * A, []),
        (w.T * A * v - v.T * A * w, []),
        (sp.Trace(A * B * C) - sp.Trace(A * C * B), []),
        ((A * B).T - A.T * B.T, []),
        (A - A.T, []),
        (A * S - S * A, [S]),
        (u * v.T - v * u.T, []),
        (sp.Trace(A * B) - sp.Trace(A * B.T), []),
        (sp.Inverse(A) * B * A - B, []),
        ((A + B) ** 2 - A**2 - 2 * A * B - B**2, []),
    ],
)
def test_false_identities_are_not_proved(expr, symmetric):
    assert not is_zero(expr, symmetric)
    assert not numerically_zero(expr)  # they are indeed false


@pytest.mark.parametrize(
    "expr, symmetric",
    [
        (w.T * S * v - v.T * S * w, [S]),
        (w.T * A * v - v.T * A.T * w, []),
        (sp.Trace(A * B * C) - sp.Trace(B * C * A), []),
        (sp.Trace(A * B * C) - sp.Trace(C * A * B), []),
        (sp.Trace(A * B * C) - sp.Trace(C.T * B.T * A.T), []),
        (sp.Trace(A.T) - sp.Trace(A), []),
        (sp.Trace(u * v.T) * sp.Identity(1) - v.T * u, []),
        (sp.Trace(A * u * v.T) * B - sp.Trace(v.T * A * u) * B, []),
        ((A * B).T - B.T * A.T, []),
        ((A + B) ** 2 - A**2 - A * B - B * A - B**2, []),
        (H * sp.Inverse(H) - sp.Identity(d), []),
        (sp.Inverse(A).T * A.T - sp.Identity(d), []),
        (sp.Inverse(H).T - sp.Inverse(H), [H]),
        (sp.Inverse(H + S).T - sp.Inverse(S + H), [H, S]),
        (sp.Trace(sp.Identity(d)) * A - d * A, []),
        (sp.Trace(A + 2 * sp.Identity(d)) - sp.Trace(A) - 2 * d, []),
        (sp.Trace(B * H * sp.Inverse(H) * sp.Inverse(B)) - d, []),
        (sp.Trace(H * (sp.Inverse(H) + A)) - d - sp.Trace(A * H), []),
        (sp.Trace(sp.Inverse(H) * (A + B) * H) - sp.Trace(A + B), []),
        (u * (v.T * w) * b.T - sp.Trace(w.T * v) * u * b.T, []),
        (sp.Trace(S * A) - sp.Trace(A.T * S), [S]),
    ],
)
def test_true_identities_are_proved(expr, symmetric):
    assert numerically_zero(expr)  # (the test's own premise)
    assert is_zero(expr, symmetric)


def test_equal_scalars_and_one_by_one_matrices():
    assert equal(w.T * A * w, sp.Trace(A * w * w.T))
    assert equal(sp.Trace(A * w * w.T), w.T * A.T * w)
    assert not equal(w.T * A * v, sp.Trace(A * w * v.T))
    with pytest.raises(ValueError, match="shapes"):
        equal(A, sp.Trace(A))


def test_canonical_keeps_shape_and_collects():
    e = canonical(A * B + 2 * A * B - 3 * (B.T * A.T).T)
    assert e == sp.ZeroMatrix(d, d)
    e = canonical(sp.Trace(A * B) + sp.Trace(B * A))
    assert e == 2 * sp.Trace(A * B) or e == 2 * sp.Trace(B * A)
    assert canonical(w.T * H * w).shape == (1, 1)
    assert canonical(alpha * sp.Trace(S * A) - alpha * sp.Trace(A.T * S), [S]) == 0


# Random polynomial expressions (no inverses): the canonical form is numerically the expression,
# and it is unique, so an expression and a random equivalent rewriting have the same canonical form.
D = "D"  # the symbolic dimension, as a shape label


@st.composite
def expressions(draw, shape=(D, D), depth=3):
    leaves = {
        (D, D): [A, B, S, sp.Identity(d)],
        (D, 1): [u, v],
        (1, D): [u.T, v.T],
        (1, 1): [u.T * v, w.T * S * w],
    }[shape]
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(leaves))
    kind = draw(st.sampled_from(["sum", "product", "transpose", "scaled"]))
    rows, cols = shape
    if kind == "sum":
        return draw(expressions(shape, depth - 1)) + draw(expressions(shape, depth - 1))
    if kind == "product":
        inner = draw(st.sampled_from([D, 1]))
        return draw(expressions((rows, inner), depth - 1)) * draw(expressions((inner, cols), depth - 1))
    if kind == "transpose":
        return draw(expressions((cols, rows), depth - 1)).T
    scalar = draw(
        st.sampled_from([alpha, sp.Integer(-2), sp.Rational(1, 3)])
        | expressions((D, D), depth - 1).map(sp.Trace)
    )
    return scalar * draw(expressions(shape, depth - 1))


@st.composite
def rewritten(draw, e):
    """A random expression equal to e: XY = (YᵀXᵀ)ᵀ, transposes of 1×1 blocks, cyclic traces, Sᵀ."""
    if isinstance(e, sp.MatrixSymbol):
        return sp.Transpose(e) if e == S and draw(st.booleans()) else e
    if isinstance(e, sp.Trace):
        arg = draw(rewritten(e.arg))
        if isinstance(arg, sp.MatMul) and len(arg.args) > 1 and draw(st.booleans()):
            k = draw(st.integers(1, len(arg.args) - 1))
            arg = sp.MatMul(*arg.args[k:], *arg.args[:k])
        return sp.Trace(arg.T) if draw(st.booleans()) else sp.Trace(arg)
    if not e.args or isinstance(e, sp.Identity | sp.Symbol | sp.Number):
        return e
    new = e.func(*[draw(rewritten(a)) for a in e.args])
    if isinstance(new, sp.MatMul) and draw(st.booleans()):  # XY = (YᵀXᵀ)ᵀ
        scalars, factors = new.args_cnc()
        new = sp.Mul(*scalars) * sp.Transpose(sp.MatMul(*[sp.Transpose(f) for f in factors[::-1]]))
    if isinstance(new, sp.MatrixExpr) and new.shape == (1, 1) and draw(st.booleans()):
        return sp.Transpose(new)
    if isinstance(new, sp.MatrixExpr) and draw(st.booleans()):
        return sp.Transpose(sp.Transpose(new))
    return new


shapes = st.sampled_from([(D, D), (D, 1), (1, D), (1, 1)])


@given(shapes.flatmap(expressions), st.integers(0, 2**32 - 1))
def test_canonical_is_numerically_the_expression(e, seed):
    c = canonical(e, [S])
    vals = random_values(seed, 3)
    assert np.allclose(explicit(c, 3, vals), explicit(e, 3, vals), rtol=1e-9, atol=1e-9)
    assert canonical(c, [S]) == c  # idempotent


@given(shapes.flatmap(expressions).flatmap(lambda e: st.tuples(st.just(e), rewritten(e))))
def test_equivalent_rewritings_have_one_canonical_form(pair):
    e, r = pair
    assert equal(e, r, [S])
    assert is_zero(e - r, [S])


@given(
    shapes.flatmap(lambda s: st.tuples(expressions(s, 2), expressions(s, 2))),
    st.integers(0, 2**32 - 1),
)
def test_equal_agrees_with_numbers(pair, seed):
    # d = 6 exceeds the degree of these expressions, so no Cayley–Hamilton-type identity of a fixed
    # small dimension can make distinct canonical forms agree numerically.
    a, e = pair
    vals = random_values(seed, 6)
    same = np.allclose(explicit(a, 6, vals), explicit(e, 6, vals), rtol=1e-9, atol=1e-9)
    assert equal(a, e, [S]) == same
