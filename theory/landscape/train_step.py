"""MAML trained with its own step size α_train, tested with α and S steps (two isotropic types).

MAML's training objective takes one step of size α_train on m_train samples, so its per-type factors
are the training factors γ_k = g_{m_train}(ρ_k) at α = α_train (:func:`two_type.one_step_values`), and its
solution sits at the weight μ(α_train) = u_H γ_H / (u_H γ_H + u_E γ_E) on w_H. It is tested like NAL's,
after S steps of size α on fresh batches of m samples: per type a factor Γ_k (g_m(ρ_k)^S,
:func:`test_steps`) and a noise excess.
The test excess E(t) on the segment is a parabola in t with its minimum at t* = u_H Γ_H / (u_H Γ_H + u_E Γ_E),
so E_m(w_MAML(α_train)) = E(μ(α_train)) depends on α_train only through μ.

:func:`optimum` derives ∂E/∂α_train and factors it: its α_train-dependent numerator is P₁ P₂ with two
quadratics, P₁ = m_train (Γ_E γ_H − Γ_H γ_E) (μ = t*: the test-optimal point is reached) and
P₂ ∝ γ_H' γ_E − γ_H γ_E' (μ is extremal). sympy solves both. Vieta's product of P₁'s roots then says where one
of them is negative; the roots of P₂ are positive (their product 1/(cρ_Hρ_E) and sum (ρ_H + ρ_E)/(ρ_Hρ_E)
with c = 1 + (d + 1)/m_train are). :func:`singular` finds the α_train where the training factors vanish.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from maml_theory.theory.derivation import Derivation
from maml_theory.theory.landscape import adaptation, two_type
from maml_theory.theory.landscape import model as M
from maml_theory.theory.landscape.mixture import derivation
from maml_theory.theory.relations import Relation, equals

H, E = two_type.TYPES
a = M.alpha_train
Gamma = {k: sp.Symbol(f"Gamma_{k}", positive=True) for k in two_type.TYPES}
"""Γ_k: the test-time factor of type k (g_m(ρ_k)^S after S steps of size α on m samples)."""
steps = sp.Symbol("S", integer=True, positive=True)
g = sp.Symbol("g", positive=True)
"""g: one step's factor, in the geometric sum of the noise over S steps."""
GEOMETRIC = (1 - g**steps) / (1 - g)
"""Σ_{j<S} g^j: the noise excess of S steps is the one-step noise times this."""
_complex = sp.Symbol("alpha_train")
"""α_train without assumptions, for solving: sympy's solve drops the roots a real symbol cannot take."""
"""S: the number of test-time adaptation steps, each on a fresh batch."""


def _vanishes(residual, how: str) -> Relation:
    """``residual(step expression)`` is 0 at the point: the other symbols at rational values, the expression
    then algebraic (square roots), simplified exactly."""

    def sides(point, expr):
        rest = residual(expr)
        at = {s: point.value(s) for s in rest.free_symbols}
        value = sp.simplify(sp.expand(rest.xreplace(at)))
        return sp.QQ.convert(sp.Integer(0 if value == 0 else 1)), sp.QQ.zero

    return Relation(how, sides)


def _root_of(poly: sp.Expr, poly_name: str) -> Relation:
    """The step's expression is a root of ``poly`` in α_train."""
    return _vanishes(lambda r: poly.xreplace({a: r}), f"{poly_name} vanishes there (exact algebraic numbers)")


def training_values() -> dict[sp.Symbol, sp.Expr]:
    """γ_k = g_{m_train}(ρ_k) at α = α_train: the factors MAML's training objective weights type k by."""
    return {
        k: v for k, v in two_type.one_step_values(two_type.m_train, a).items() if k in two_type.gamma.values()
    }


@cache
def test_steps() -> Derivation:
    """γ and η of one isotropic type after S test-time steps with fresh batches, from ``L.multistep``: the
    excess after S steps is ½ρ s_S with s_S = g^S s_0 + s (1 − g^S)/(1 − g), s_0 = ‖w − w*‖², so the factor
    is Γ = ∂(½ρ s_S)/∂(½ρ s_0) = g^S and the noise excess is ½ρ s_S at s_0 = 0."""
    dv = Derivation("L.two_type.steps", "S test-time steps: the per-type factor and noise", "spec L §3.6j")
    dv.points = M.POINTS
    s_T = adaptation.multistep_excess().result
    s0 = sp.Symbol("s_0", nonnegative=True)
    g_m = adaptation.isotropic_contraction()["g_m(ρ)"]
    n_1 = two_type.noise_per_type()
    dv.step(
        "Γ = ∂s_S/∂s_0 (the excess is ½ρ s_S, linear in s_0)",
        g_m**steps,
        "Γ(S)",
        by=equals(sp.diff(s_T, s0).subs(M.T, steps), "∂s_S/∂s_0 at S = 3", given={steps: 3}),
    )
    dv.step(
        "η = ½ρ s_S at s_0 = 0: the one-step noise η₁ times a geometric sum",
        n_1 * GEOMETRIC.subs(g, g_m),
        "η(S)",
        by=equals(M.rho * s_T.subs({s0: 0, M.T: steps}) / 2, "½ρ s_S(s_0 = 0) at S = 3", given={steps: 3}),
    )
    dv.step("S = 1", n_1, "η(1)", by=equals(dv["η(S)"], "η(S) at S = 1", given={steps: 1}))
    return dv


@cache
def singular() -> Derivation:
    """Where MAML's training objective has no unique minimiser: its Hessian Q̄ = Σ_k p_k ρ_k γ_k I is
    singular iff every type present has γ_k = 0. γ_k = 0 has real roots in α_train only at m_train = ∞,
    where it is α_train = 1/ρ_k (the factor ρ_k(1 − α_train ρ_k)² of Q_k vanishes)."""
    dv = derivation(
        "L.alpha_train.singular",
        "Training step sizes with a singular MAML objective",
        "spec L §3.7",
        two_type.TYPES,
    )
    gamma_t = adaptation.isotropic_contraction()["g_m(ρ)"].subs(M.alpha, a)
    g = dv.step(
        "the training factor of a type, one step of size α_train on m_train samples",
        gamma_t.subs(M.m, two_type.m_train),
        "γ(α_train)",
        by=equals(
            adaptation.isotropic_contraction()["g_m(ρ)"],
            "g_m(ρ) at α = α_train, m = m_train",
            given={M.alpha: a, M.m: two_type.m_train},
        ),
    )
    for root in _roots(g):
        dv.step(
            "γ = 0: a root (complex for finite m_train)", sp.factor(root), "α_train⁰", by=_root_of(g, "γ")
        )
    dv.step(
        "m_train → ∞: γ = (1 − α_train ρ)², zero at the real root",
        1 / M.rho,
        "α_train⁰",
        by=equals(sp.limit(_roots(g)[0], two_type.m_train, sp.oo), "the roots' limit as m_train → ∞"),
    )
    return dv


@cache
def optimum() -> Derivation:
    """The α_train that minimise the test excess E(μ(α_train)): the stationarity condition, its degree, its
    roots, and Vieta's product of the roots that reach t* (module docstring)."""
    dv = derivation(
        "L.alpha_train.optimum",
        "The training step size that minimises the test excess",
        "spec L §3.7",
        two_type.TYPES,
    )
    t_opt = two_type.weight()["t_opt"]
    trained = training_values()
    mu = dv.step(
        "MAML's weight on w_H, trained with α_train",
        sp.factor(t_opt.subs(trained)),
        "μ(α_train)",
        by=equals(t_opt, "t_opt at γ_k = g_{m_train}(ρ_k), α = α_train", given=trained),
    )
    tested = {two_type.gamma[k]: Gamma[k] for k in two_type.TYPES}
    excess = two_type.objective_at(mu).subs(tested)
    slope = dv.step(
        "∂E(μ(α_train))/∂α_train, tested with factors Γ_k, factored",
        sp.factor(sp.together(sp.diff(excess, a))),
        "∂E/∂α_train",
        by=equals(
            sp.diff(two_type.objective_at(mu), a),
            "the derivative of E(t) at t = μ(α_train), γ_k = Γ_k",
            given=tested,
        ),
    )
    gh, ge = (trained[two_type.gamma[k]] for k in two_type.TYPES)
    p1 = dv.step(
        "P₁: μ = t* (the test-optimal point), a factor of the numerator",
        sp.expand(two_type.m_train * (Gamma[E] * gh - Gamma[H] * ge)),
        "P₁",
        by=_factor_of(slope),
    )
    p2 = dv.step(
        "P₂: μ extremal, the other factor that depends on α_train",
        sp.expand(
            sp.cancel(
                two_type.m_train
                * (sp.diff(gh, a) * ge - gh * sp.diff(ge, a))
                / (2 * (two_type.rho[E] - two_type.rho[H]))
            )
        ),
        "P₂",
        by=_factor_of(slope),
    )
    for name, poly in (("P₁", p1), ("P₂", p2)):
        degree = sp.Poly(poly, a).degree()
        for i, root in enumerate(_roots(poly)):
            dv.step(
                f"{name} = 0 (degree {degree} in α_train): root {i + 1}",
                root,
                f"α_{name}{i + 1}",
                by=_root_of(poly, name),
            )
    coeffs = sp.Poly(p1, a).all_coeffs()
    dv.step(
        "Vieta: the product of P₁'s roots, C₀/C₂ (one root is negative iff it is)",
        sp.factor(coeffs[2] / coeffs[0]),
        "α₁α₂",
        by=_vanishes(lambda e: sp.Mul(*_roots(p1)) - e, "the product of the two roots above"),
    )
    return dv


def _roots(poly: sp.Expr) -> list[sp.Expr]:
    """The roots of ``poly`` in α_train, complex ones included."""
    return [r.xreplace({_complex: a}) for r in sp.solve(poly.xreplace({a: _complex}), _complex)]


def _factor_of(expr: sp.Expr) -> Relation:
    """The step's polynomial divides the numerator of ``expr`` (the remainder in α_train is 0)."""

    def sides(point, poly):
        at = {s: point.value(s) for s in (expr.free_symbols | poly.free_symbols) - {a}}
        num, _ = sp.fraction(sp.cancel(expr.xreplace(at)))
        _, rest = sp.div(sp.Poly(num, a), sp.Poly(poly.xreplace(at), a))
        return sp.QQ.convert(sp.Integer(0 if rest.is_zero else 1)), sp.QQ.zero

    return Relation("divides the numerator of ∂E/∂α_train (remainder 0 in α_train)", sides)
