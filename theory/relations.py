"""How a derivation's operation steps are checked: each step that defines a quantity by an operation (a
derivative, an expectation, an average, a substitution, a limit) carries a :class:`Relation`, which redoes
the operation by another route at exact random rational points (:mod:`maml_theory.theory.concrete`) and
returns the two values that must agree: the one the operation gives there, and the step's displayed expression
there.

- :func:`definition`: the step defines its left-hand side (nothing to check; marked as a definition).
- :func:`equals`: the step's expression (through ``form``) equals ``reference`` with the substitutions
  ``given`` made at the point (w = 0, Σ = ρI, B = B_*A + B_⊥E, …).
- :func:`gradient`: ∇_X f — the exact directional derivative d/dt f(X + tV) at t = 0 for a random V equals
  tr(∇ᵀV).
- :func:`expectation`: E over Gaussians and sample means — the explicit polynomial at concrete dimension and
  sample size, averaged monomial by monomial (:func:`maml_theory.theory.concrete.gaussian_mean`), not by Wick
  pairing.
- :func:`batch_mean`: a batch average (1/m)Σ_j f(x_j, z_j) written through Σ̂, ĉ — at m concrete samples.
- :func:`limit`: a scalar limit m → ∞ of a rational function — the ratio of leading coefficients.
- :func:`recurrence`: a closed-form solution of s_{t+1} = g s_t + c — iterated from s_0 for a few t.
- :func:`stationary`: a stationary point s* of f — f'(s*) = 0 at random values of the other symbols.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import sympy as sp

from maml_theory.theory import concrete
from maml_theory.theory.concrete import DomainMatrix, Point, Value
from maml_theory.theory.moments import Gaussian, SampleMean

Sides = Callable[[Point, sp.Basic], tuple[Value, Value]]


@dataclass(frozen=True)
class Relation:
    """``how``: what the check does, in words; ``sides(point, expr)``: the two values that must be equal
    (None for a definition); ``points``: how many random points (cheap checks use more)."""

    how: str
    sides: Sides | None = None
    points: int = 3


def definition(how: str = "definition") -> Relation:
    """The step defines its left-hand side."""
    return Relation(how)


def _identity(e: sp.Basic) -> sp.Basic:
    return e


def equals(
    reference: sp.Basic,
    how: str,
    given: Mapping[sp.Basic, sp.Basic] | None = None,
    form: Callable[[sp.Basic], sp.Basic] = _identity,
    points: int = 3,
) -> Relation:
    """The step's expression, written into ``form``, equals ``reference``; ``given`` (symbol ↦ expression or
    value) is substituted into both at the point."""

    def sides(point: Point, expr: sp.Basic) -> tuple[Value, Value]:
        return point.evaluate(reference, given), point.evaluate(form(expr), given)

    return Relation(how, sides, points)


def gradient(
    f: sp.Basic,
    var: sp.MatrixSymbol,
    how: str,
    at: Mapping[sp.Basic, sp.Basic] | None = None,
) -> Relation:
    """The step's expression is ∇_var f (f a 1×1 or scalar function), with ``at`` (symbol ↦ expression)
    substituted after differentiating: d/dt f(var + tV)|_{t=0} = tr(exprᵀ V) for a random direction V."""
    at = dict(at or {})

    def sides(point: Point, expr: sp.Basic) -> tuple[Value, Value]:
        K, (t,) = concrete.ring(["t"])
        base = {s: point.evaluate(e) for s, e in at.items()}
        start = base.get(var, point.evaluate(var))
        direction = DomainMatrix.from_Matrix(point.random_like(var))
        moved = start.convert_to(K) + direction.convert_to(K) * t
        along = concrete.derivative_at_zero(point.evaluate(f, {**base, var: moved}, K), K)
        slope = point.evaluate(sp.Trace(expr.T * sp.ImmutableMatrix(direction.to_Matrix())))
        return along, slope

    return Relation(how, sides)


def _law_values(
    point: Point, gaussians: Sequence[Gaussian], means: Sequence[SampleMean], fixed: dict
) -> tuple[sp.polys.domains.Domain, dict[sp.Basic, object], list]:
    """The ring of the ζ's, the values of the random symbols (x = Lζ) and the ζ variances (``fixed``: given
    values, the covariances' symbols among them). A mean over m = ∞ samples is its expectation."""
    population = [mean for mean in means if mean.m == sp.oo]
    if population:
        vectors = list(dict.fromkeys(g for mean in population for g in mean.vectors))
        K, laws, variances = _law_values(point, vectors, [], fixed)
        expected = {
            mean.symbol: concrete.gaussian_mean(point.evaluate(mean.term, laws, K), K, variances)
            for mean in population
        }
        fixed = {**fixed, **expected}
        means = [mean for mean in means if mean.m != sp.oo]
    blocks: list[tuple[Gaussian, int]] = [(g, 0) for g in gaussians]
    sizes = {}
    for mean in means:
        sizes[mean.symbol] = point.size(mean.m)
        for g in mean.vectors:
            blocks.extend((g, j + 1) for j in range(sizes[mean.symbol]) if (g, j + 1) not in blocks)
    names, variances, factors = [], [], []
    for g, _ in blocks:
        n = point.size(g.symbol.shape[0])
        if g.scalar:
            L, D = sp.Matrix([[1]]), [sp.QQ.to_sympy(point.evaluate(g.cov, fixed))]
        else:
            L, D = concrete.factor(point.evaluate(g.cov, fixed).to_Matrix())
        factors.append(L)
        names.extend(f"zeta_{len(names) + i}" for i in range(n))
        variances.extend(D)
    K, gens = concrete.ring(names)
    values: dict[tuple[Gaussian, int], DomainMatrix] = {}
    start = 0
    for (g, copy), L in zip(blocks, factors, strict=True):
        n = L.rows
        zeta = concrete.column(gens[start : start + n], K)
        values[(g, copy)] = DomainMatrix.from_Matrix(L).convert_to(K).to_dense().matmul(zeta)
        start += n
    given: dict[sp.Basic, object] = {**fixed, **{g.symbol: values[(g, 0)] for g in gaussians}}
    for mean in means:
        m = sizes[mean.symbol]
        total = None
        for j in range(1, m + 1):
            copy = {**fixed, **{g.symbol: values[(g, j)] for g in mean.vectors}}
            term = point.evaluate(mean.term, copy, K)
            total = term if total is None else total + term
        given[mean.symbol] = total * K.convert(sp.Rational(1, m))
    return K, given, variances


def expectation(
    of: sp.Basic,
    how: str,
    gaussians: Sequence[Gaussian] = (),
    means: Sequence[SampleMean] = (),
    form: Callable[[sp.Basic], sp.Basic] = _identity,
    given: Mapping[sp.Basic, sp.Basic] | None = None,
    points: int = 2,
) -> Relation:
    """The step's expression (through ``form``) is E[``of``] over the ``gaussians`` and the sample means
    (``means``, sizes from the point's dimensions), with ``given`` substituted at the point."""

    def sides(point: Point, expr: sp.Basic) -> tuple[Value, Value]:
        fixed = {s: point.evaluate(e) for s, e in (given or {}).items()}
        K, laws, variances = _law_values(point, gaussians, means, fixed)
        mean = concrete.gaussian_mean(point.evaluate(of, laws, K), K, variances)
        return mean, point.evaluate(form(expr), fixed)

    return Relation(how, sides, points)


def batch_mean(per_sample: sp.Basic, means: Sequence[SampleMean], how: str, points: int = 3) -> Relation:
    """The step's expression, in the batch statistics of ``means``, equals (1/m)Σ_j ``per_sample`` at m
    concrete samples (random rational x_j, z_j; m from the point)."""

    def sides(point: Point, expr: sp.Basic) -> tuple[Value, Value]:
        vectors = {g.symbol for mean in means for g in mean.vectors}
        (m,) = {point.size(mean.m) for mean in means}
        samples = [{s: point.random_like(s) for s in vectors} for _ in range(m)]

        def average(e: sp.Basic) -> Value:
            values = [point.evaluate(e, sample) for sample in samples]
            return sum(values[1:], values[0]) * sp.QQ(1, m)

        batch = {mean.symbol: average(mean.term) for mean in means}
        return average(per_sample), point.evaluate(expr, batch)

    return Relation(how, sides, points)


def _at_point(point: Point, expr: sp.Expr, keep: sp.Symbol) -> sp.Expr:
    """A scalar expression with every symbol but ``keep`` replaced by its value at the point."""
    return expr.xreplace({s: point.value(s) for s in expr.free_symbols if s != keep})


def limit(of: sp.Expr, var: sp.Symbol, how: str | None = None) -> Relation:
    """The step's expression is lim_{var → ∞} ``of`` for a rational function of var: at the point, the ratio
    of the leading coefficients of numerator and denominator (0 if the denominator's degree is higher)."""

    def sides(point: Point, expr: sp.Basic) -> tuple[Value, Value]:
        num, den = (sp.Poly(p, var) for p in sp.fraction(sp.cancel(_at_point(point, of, var))))
        if num.degree() > den.degree():
            raise ValueError(f"{of} grows without bound as {var} → ∞")
        lead = num.LC() / den.LC() if num.degree() == den.degree() else sp.Integer(0)
        return sp.QQ.convert(lead), point.evaluate(expr)

    return Relation(how or f"ratio of the leading coefficients in {var}", sides)


def recurrence(
    step: Callable[[sp.Expr], sp.Expr], start: sp.Expr, index: sp.Symbol, how: str, steps: int = 4
) -> Relation:
    """The step's expression s(index) solves s_{t+1} = step(s_t), s_0 = start: iterated exactly at the point
    for index = 0, …, steps − 1."""

    def sides(point: Point, expr: sp.Basic) -> tuple[Value, Value]:
        iterated, closed = [], []
        s = point.evaluate(start)
        for t in range(steps):
            iterated.append(s)
            closed.append(point.evaluate(expr, {index: t}))
            s = point.evaluate(step(sp.Symbol("_s")), {sp.Symbol("_s"): s})
        return tuple(iterated), tuple(closed)

    return Relation(how, sides)


def stationary(f: sp.Expr, var: sp.Symbol, how: str | None = None) -> Relation:
    """The step's expression s* is a stationary point of f in ``var``: ∂f/∂var at s* is 0 at the point."""

    def sides(point: Point, expr: sp.Basic) -> tuple[Value, Value]:
        slope = sp.diff(_at_point(point, f, var), var)
        at = sp.cancel(slope.subs(var, _at_point(point, expr, var)))
        return sp.QQ.convert(at), sp.QQ.zero

    return Relation(how or f"∂/∂{var} vanishes there", sides)
