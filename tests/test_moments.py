"""maml_theory.theory.moments: Gaussian moments in general dimension, checked three independent ways.

1. Against stated closed forms in general d (spec L §3.1, Wishart moments), by matrix_algebra.equal.
2. Element-wise at d = 2, 3: the engine's general-d result with explicit matrices substituted,
   against expectations of the explicit polynomial entries computed from the moment generating
   function.
3. Monte Carlo with numpy.
"""

from functools import cache

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from maml_theory.theory.matrix_algebra import equal, is_zero
from maml_theory.theory.moments import Gaussian, SampleMean, expect

d = sp.Symbol("d", integer=True, positive=True)
m = sp.Symbol("m", integer=True, positive=True)
n = sp.Symbol("n", integer=True, positive=True)
sigma = sp.Symbol("sigma", positive=True)
Sigma, A = sp.MatrixSymbol("Sigma", d, d), sp.MatrixSymbol("A", d, d)
x, y, u = (sp.MatrixSymbol(s, d, 1) for s in "xyu")
z = sp.MatrixSymbol("z", 1, 1)
S_hat, W = sp.MatrixSymbol("Shat", d, d), sp.MatrixSymbol("W", d, d)
c_hat = sp.MatrixSymbol("chat", d, 1)
gx, gy, gz = Gaussian(x, Sigma), Gaussian(y, Sigma), Gaussian(z, sigma**2)
Id = sp.Identity(d)


def batch(size):
    """Σ̂ = (1/m) Σ_j x_j x_jᵀ and ĉ = (1/m) Σ_j x_j z_j on the same m samples."""
    return SampleMean(S_hat, x * x.T, (gx,), size), SampleMean(c_hat, x * z, (gx, gz), size)


FOURTH = Sigma * A * Sigma + Sigma * A.T * Sigma + sp.Trace(A * Sigma) * Sigma
SANDWICH = Sigma * A * Sigma + (Sigma * A.T * Sigma + sp.Trace(A * Sigma) * Sigma) / m


def explicit(expr, dim, values):
    """expr at d = dim with explicit values ({symbol: matrix or number}), by sympy's arithmetic."""
    subs = {}
    for k, val in values.items():
        if isinstance(k, sp.MatrixSymbol):
            subs[k.xreplace({d: dim})] = sp.ImmutableMatrix(val)
        else:
            subs[k] = val
    e = sp.sympify(expr).xreplace({d: dim}).xreplace(subs).doit()
    return sp.Matrix(e.as_explicit()) if isinstance(e, sp.MatrixExpr) else e


def as_float(e):
    return np.array(e.tolist() if isinstance(e, sp.MatrixBase) else e, dtype=float)


# ------------------------------------------------------------------------------------------------
# 1. Closed forms in general dimension


def test_fourth_moment_general_d():
    result = expect(x * x.T * A * x * x.T, gaussians=(gx,))
    assert equal(result, FOURTH, [Sigma])
    assert not equal(result, Sigma * A * Sigma + Sigma * A * Sigma + sp.Trace(A * Sigma) * Sigma)


def test_sample_sandwich_general_d():
    result = expect(S_hat * A * S_hat, means=batch(m))
    assert equal(result, SANDWICH, [Sigma])
    assert not equal(result, FOURTH, [Sigma])


@given(st.integers(0, 2**32 - 1), st.sampled_from([2, 3, 4]))
def test_closed_forms_at_numeric_matrices(seed, dim):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((dim, dim))
    vals = {Sigma: g @ g.T + np.eye(dim), A: rng.standard_normal((dim, dim)), m: 3}
    s, a = vals[Sigma], vals[A]
    fourth = s @ a @ s + s @ a.T @ s + np.trace(a @ s) * s
    got = as_float(explicit(expect(x * x.T * A * x * x.T, gaussians=(gx,)), dim, vals))
    np.testing.assert_allclose(got, fourth, rtol=1e-10, atol=1e-10)
    sandwich = s @ a @ s + (s @ a.T @ s + np.trace(a @ s) * s) / 3
    got = as_float(explicit(expect(S_hat * A * S_hat, means=batch(m)), dim, vals))
    np.testing.assert_allclose(got, sandwich, rtol=1e-10, atol=1e-10)


def test_wishart_moments():
    # W = Σ_{j≤n} x_j x_jᵀ = n·(sample mean of x xᵀ over n samples).
    wishart = (SampleMean(W, x * x.T, (gx,), n),)
    assert equal(expect(n * W, means=wishart), n * Sigma, [Sigma])
    second = expect(n**2 * W * W, means=wishart)
    assert equal(second, n * (n + 1) * Sigma**2 + n * sp.Trace(Sigma) * Sigma, [Sigma])
    assert not equal(second, n**2 * Sigma**2 + n * sp.Trace(Sigma) * Sigma, [Sigma])


def test_odd_moments_vanish():
    zero = sp.ZeroMatrix
    assert expect(x, gaussians=(gx,)) == zero(d, 1)
    assert expect(x * x.T * x, gaussians=(gx,)) == zero(d, 1)
    assert expect(x.T * A * x * x.T, gaussians=(gx,)) == zero(1, d)
    assert expect(sp.Trace(A * x * x.T) * x, gaussians=(gx,)) == zero(d, 1)
    assert expect(z * z * z, gaussians=(gz,)) == zero(1, 1)
    assert expect(S_hat * c_hat, means=batch(m)) == zero(d, 1)  # odd in z
    assert expect(S_hat * A * S_hat * x, gaussians=(gx,), means=batch(m)) == zero(d, 1)


def test_even_moments_of_a_scalar_and_traces():
    assert equal(expect(z**4, gaussians=(gz,)), 3 * sigma**4)
    assert equal(expect(z * x.T * x * z, gaussians=(gx, gz)), sigma**2 * sp.Trace(Sigma))
    # Scalar input (a trace) gives a scalar; E[tr(x xᵀ)²] = tr(Σ)² + 2 tr(Σ²).
    result = expect(sp.Trace(x * x.T) ** 2, gaussians=(gx,))
    assert not isinstance(result, sp.MatrixExpr)
    assert equal(result, sp.Trace(Sigma) ** 2 + 2 * sp.Trace(Sigma**2), [Sigma])
    # Constant vectors: E[x uᵀ x uᵀ] = Σ u uᵀ, E[uᵀ x xᵀ u] = uᵀ Σ u (a 1×1 matrix).
    assert equal(expect(x * u.T * x * u.T, gaussians=(gx,)), Sigma * u * u.T, [Sigma])
    result = expect(u.T * x * x.T * u, gaussians=(gx,))
    assert result.shape == (1, 1)
    assert equal(result, u.T * Sigma * u, [Sigma])


def test_infinite_sample_is_the_population():
    S_inf, c_inf = batch(sp.oo)
    assert equal(expect(S_hat * A * S_hat, means=(S_inf,)), Sigma * A * Sigma, [Sigma])
    assert is_zero(expect(c_hat * c_hat.T, means=(S_inf, c_inf)))


def test_independent_gaussians_are_not_paired():
    # x, y iid N(0, Σ): x yᵀ x yᵀ = x xᵀ y yᵀ, so E = Σ²; pairing x with y would add Σ² + tr(Σ)Σ.
    assert is_zero(expect(x * y.T, gaussians=(gx, gy)))
    assert equal(expect(x * y.T * x * y.T, gaussians=(gx, gy)), Sigma**2, [Sigma])
    assert equal(expect(x * x.T * x * x.T, gaussians=(gx,)), 2 * Sigma**2 + sp.Trace(Sigma) * Sigma)
    # A Gaussian written directly is independent of the sample copies inside Σ̂.
    assert equal(expect(x * x.T * S_hat, gaussians=(gx,), means=batch(m)), Sigma**2, [Sigma])


def test_noise_terms():
    assert equal(expect(c_hat.T * Sigma * c_hat, means=batch(m)), sigma**2 * sp.Trace(Sigma**2) / m)
    assert is_zero(expect(c_hat.T * Sigma * S_hat, means=batch(m)))
    assert equal(expect(c_hat * c_hat.T, means=batch(m)), sigma**2 * Sigma / m, [Sigma])


def test_isotropic_covariance_expression():
    rho = sp.Symbol("rho", positive=True)
    result = expect(x * x.T * A * x * x.T, gaussians=(Gaussian(x, rho * Id),))
    assert equal(result, rho**2 * (A + A.T + sp.Trace(A) * Id))


def test_invalid_uses_are_rejected():
    with pytest.raises(ValueError, match="non-polynomially"):
        expect(sp.Inverse(x * x.T + Id), gaussians=(gx,))
    with pytest.raises(ValueError, match="non-polynomially"):
        expect(sp.Inverse(S_hat) * A, means=batch(m))
    with pytest.raises(ValueError, match="covariances"):
        expect(x, gaussians=(gx, Gaussian(x, 2 * Sigma)))
    with pytest.raises(ValueError, match="scalar variance"):
        Gaussian(z, Sigma)
    with pytest.raises(ValueError, match="positive integer"):
        SampleMean(S_hat, x * x.T, (gx,), sp.Rational(1, 2))
    with pytest.raises(ValueError, match="share samples"):
        expect(S_hat * W, means=(batch(m)[0], SampleMean(W, x * x.T, (gx,), n)))
    with pytest.raises(ValueError, match="nesting"):
        expect(W, means=(batch(m)[0], SampleMean(W, S_hat * x * x.T, (gx,), m)))


# ------------------------------------------------------------------------------------------------
# 2. Element-wise expectations from the moment generating function


@cache
def gaussian_moment(cov: sp.ImmutableMatrix, powers: tuple[int, ...]) -> sp.Expr:
    """E[Π_i x_i^{p_i}] for x ~ N(0, cov): the derivative ∂^p M(t) at t = 0, M(t) = exp(½ tᵀ cov t).

    M(t) = Σ_j (½ tᵀ cov t)^j / j!, and the j-th term is homogeneous of degree 2j in t, so at t = 0
    only j = |p|/2 survives |p| derivatives; we differentiate that term alone (exact, and fast).
    """
    k = sum(powers)
    if k % 2:
        return sp.Integer(0)
    t = sp.Matrix(sp.symbols(f"t0:{len(powers)}"))
    f = ((t.T * cov * t)[0, 0] / 2) ** (k // 2) / sp.factorial(k // 2)
    for ti, p in zip(t, powers, strict=True):
        f = sp.diff(f, ti, p)
    return sp.expand(f.subs(dict.fromkeys(t, 0)))


def elementwise_expectation(matrix, blocks):
    """E of each entry of an explicit sympy Matrix polynomial in independent Gaussian blocks.

    blocks: list of (variables, covariance); the entries' monomials factor over the blocks.
    """
    variables = [v for vs, _ in blocks for v in vs]

    def entry(e):
        total = sp.Integer(0)
        for powers, coeff in sp.Poly(sp.expand(e), *variables).terms():
            k, moment = 0, coeff
            for vs, cov in blocks:
                moment *= gaussian_moment(sp.ImmutableMatrix(cov), tuple(powers[k : k + len(vs)]))
                k += len(vs)
            total += moment
        return total

    return matrix.applyfunc(entry)


def symbolic_values(dim):
    """Σ symmetric and A general, with symbolic entries."""
    s = sp.Matrix(dim, dim, lambda i, j: sp.Symbol(f"s{min(i, j)}{max(i, j)}"))
    a = sp.Matrix(dim, dim, lambda i, j: sp.Symbol(f"a{i}{j}"))
    return s, a


def vector(name, dim):
    return sp.Matrix(sp.symbols(f"{name}0:{dim}"))


@pytest.mark.parametrize("dim", [2, 3])
def test_fourth_moment_elementwise(dim):
    s, a = symbolic_values(dim)
    xv = vector("x", dim)
    direct = elementwise_expectation(xv * xv.T * a * xv * xv.T, [(list(xv), s)])
    engine = explicit(expect(x * x.T * A * x * x.T, gaussians=(gx,)), dim, {Sigma: s, A: a})
    assert sp.expand(direct - engine) == sp.zeros(dim, dim)


@pytest.mark.parametrize("dim, size", [(2, 2), (3, 2), (2, 3)])
def test_sample_means_elementwise(dim, size):
    s, a = symbolic_values(dim)
    xs = [vector(f"x{j}_", dim) for j in range(size)]
    zs = sp.symbols(f"z0:{size}")
    s_hat = sum((xj * xj.T for xj in xs), sp.zeros(dim, dim)) / size
    c_hat_ = sum((xj * zj for xj, zj in zip(xs, zs, strict=True)), sp.zeros(dim, 1)) / size
    blocks = [(list(xj), s) for xj in xs] + [([zj], sp.Matrix([[sigma**2]])) for zj in zs]
    # A mix of the sandwich, the noise and a cross term, with m symbolic in the engine.
    explicit_expr = (s_hat - s) * a * (s_hat - s) + c_hat_ * c_hat_.T * a + s_hat * c_hat_ * c_hat_.T
    general = (S_hat - Sigma) * A * (S_hat - Sigma) + c_hat * c_hat.T * A + S_hat * c_hat * c_hat.T
    direct = elementwise_expectation(explicit_expr, blocks)
    engine = explicit(expect(general, means=batch(m)), dim, {Sigma: s, A: a, m: size})
    assert sp.expand(direct - engine) == sp.zeros(dim, dim)


# Random words in the random symbols and constants, at d = 2 with exact rational values.
TOKENS = {  # (rows, cols) with "D" the dimension
    ("D", "D"): [A, A.T, Sigma, S_hat, S_hat.T],
    ("D", 1): [x, y, u, c_hat],
    (1, "D"): [x.T, y.T, u.T, c_hat.T],
    (1, 1): [z],
}


@st.composite
def words(draw):
    """A random product W of tokens, or W Wᵀ or Wᵀ W (even in every symbol, so often E ≠ 0)."""
    length = draw(st.integers(1, 5))
    row = draw(st.sampled_from(["D", 1]))
    factors, current = [], row
    for _ in range(length):
        shape = draw(st.sampled_from([s for s in TOKENS if s[0] == current]))
        factors.append(draw(st.sampled_from(TOKENS[shape])))
        current = shape[1]
    word = sp.MatMul(*factors) if len(factors) > 1 else factors[0]
    if length <= 3:
        word = draw(st.sampled_from([word, word * word.T, word.T * word]))
    if word.shape[0] == word.shape[1] and draw(st.booleans()):
        return sp.Trace(word)
    return word


@given(words())
def test_random_words_elementwise(word):
    dim, size = 2, 2
    r = sp.Rational
    vals = {Sigma: sp.Matrix([[2, r(1, 2)], [r(1, 2), 1]]), A: sp.Matrix([[1, 2], [-1, r(1, 3)]])}
    vals[u] = sp.Matrix([1, -2])
    var = r(3, 2)  # σ² = 3/2
    xs = [vector(f"x{j}_", dim) for j in range(size)]
    zs = sp.symbols(f"z0:{size}")
    xv, yv, zv = vector("x", dim), vector("y", dim), sp.Symbol("zz")
    explicit_vals = {
        **vals,
        x: xv,
        y: yv,
        z: sp.Matrix([[zv]]),
        S_hat: sum((xj * xj.T for xj in xs), sp.zeros(dim, dim)) / size,
        c_hat: sum((xj * zj for xj, zj in zip(xs, zs, strict=True)), sp.zeros(dim, 1)) / size,
    }
    cov = vals[Sigma]
    blocks = [(list(xv), cov), (list(yv), cov), ([zv], sp.Matrix([[var]]))]
    blocks += [(list(xj), cov) for xj in xs] + [([zj], sp.Matrix([[var]])) for zj in zs]
    value = explicit(word, dim, explicit_vals)
    if not isinstance(value, sp.MatrixBase):
        value = sp.Matrix([[value]])
    direct = elementwise_expectation(value, blocks)
    result = expect(word, gaussians=(gx, gy, gz), means=batch(m))
    engine = explicit(result, dim, {**vals, sigma: sp.sqrt(var), m: size})
    if not isinstance(engine, sp.MatrixBase):
        engine = sp.Matrix([[engine]])
    assert sp.expand(direct - engine) == sp.zeros(*direct.shape)


# ------------------------------------------------------------------------------------------------
# 3. Monte Carlo. Each estimate is a sample mean of N iid terms with finite variance (Gaussian
# moments), so it is asymptotically normal: |estimate − E| ≤ 6 SE with SE = sample std / √N from the
# same samples. The seed is fixed, so the check is deterministic.

N_MC = 200_000


def monte_carlo_agrees(terms, closed_form):
    """terms: array (N, ...) of iid draws; each entry of their mean within 6 SE of closed_form."""
    mean = terms.mean(axis=0)
    se = terms.std(axis=0, ddof=1) / np.sqrt(terms.shape[0])
    assert np.all(np.abs(mean - closed_form) <= 6 * se), (mean, closed_form, se)


@pytest.fixture
def mc_instance():
    rng = np.random.default_rng(20240611)
    dim = 3
    g = rng.standard_normal((dim, dim))
    sig = g @ g.T / dim + 0.5 * np.eye(dim)
    a = rng.standard_normal((dim, dim))
    return rng, dim, sig, a


def test_monte_carlo_fourth_moment(mc_instance):
    rng, dim, sig, a = mc_instance
    xs = rng.multivariate_normal(np.zeros(dim), sig, size=N_MC)
    quad = np.einsum("ni,ij,nj->n", xs, a, xs)  # x x^T A x x^T = (x^T A x) x x^T
    terms = quad[:, None, None] * xs[:, :, None] * xs[:, None, :]
    closed = explicit(expect(x * x.T * A * x * x.T, gaussians=(gx,)), dim, {Sigma: sig, A: a})
    monte_carlo_agrees(terms, as_float(closed))


def test_monte_carlo_sample_statistics(mc_instance):
    rng, dim, sig, a = mc_instance
    size, noise_sd = 3, 0.7
    xs = rng.multivariate_normal(np.zeros(dim), sig, size=(N_MC, size))
    zs = noise_sd * rng.standard_normal((N_MC, size))
    s_hat = np.einsum("nji,njk->nik", xs, xs) / size
    c = np.einsum("nji,nj->ni", xs, zs) / size
    vals = {Sigma: sig, A: a, m: size, sigma: noise_sd}
    closed = explicit(expect(S_hat * A * S_hat, means=batch(m)), dim, vals)
    monte_carlo_agrees(s_hat @ a @ s_hat, as_float(closed))
    closed = explicit(expect(c_hat.T * Sigma * c_hat, means=batch(m)), dim, vals)
    monte_carlo_agrees(np.einsum("ni,ij,nj->n", c, sig, c)[:, None, None], as_float(closed))
