"""One-task adaptation (spec L §1, §3.2, §3.6j), derived from the per-sample loss.

- :func:`task_loss`: f(w) = E ℓ(w; x, y) = ½ (w − w*)ᵀ Σ (w − w*) + σ²/2.
- :func:`inner_gradient`: ĝ(w) = (1/m) Σ_j ∇ℓ(w; x_j, y_j) = Σ̂ (w − w*) − ĉ.
- :func:`adapted_excess`: E_D[f(w − αĝ(w)) − f(w*)] = ½ eᵀ Q(m) e + α²σ² tr(Σ²)/(2m), e = w − w*.
- :func:`isotropic_contraction`: with Σ = ρ I, Q = ρ g_m(ρ) I; g_m(ρ) is the per-step excess factor.
- :func:`multistep_excess`: T steps with fresh batches, isotropic Σ.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from maml_theory.theory import matrix_forms as mf
from maml_theory.theory.derivation import Derivation
from maml_theory.theory.landscape import model as M
from maml_theory.theory.moments import expect
from maml_theory.theory.relations import (
    batch_mean,
    definition,
    equals,
    expectation,
    gradient,
    limit,
    recurrence,
)

_WICK = "E over explicit Gaussians x = Lζ, z (and m samples of each), monomial by monomial"


@cache
def task_loss() -> Derivation:
    """f(w) = E_{x,z} ½(xᵀw − y)², by Wick pairing over x ~ N(0, Σ) and z ~ N(0, σ²)."""
    dv = Derivation("L.task_loss", "Population task loss", "spec L §1", points=M.POINTS)
    loss = dv.step(
        "per-sample loss, y = xᵀw* + z",
        M.per_sample_loss(M.w),
        "ℓ(w)",
        by=definition("the model's per-sample loss"),
    )
    dv.step("expand", mf.expand_matrix(loss, [M.Sigma]), "ℓ(w)")
    mean = expect(loss, gaussians=(M.x_law, M.z_law))
    dv.step(
        "Wick pairing over x ~ N(0, Σ), z ~ N(0, σ²)",
        mf.expand_matrix(mean, [M.Sigma]),
        "f(w)",
        by=expectation(loss, _WICK, gaussians=(M.x_law, M.z_law)),
    )
    return dv


@cache
def inner_gradient() -> Derivation:
    """ĝ(w) = (1/m) Σ_j ∇_w ℓ(w; x_j, y_j), written through the batch statistics Σ̂ and ĉ."""
    dv = Derivation("L.inner_gradient", "Inner-loop gradient on a batch", "spec L §1", points=M.POINTS)
    grad = dv.step(
        "∂/∂w of ℓ(w)",
        M.per_sample_loss(M.w).diff(M.w),
        "∇ℓ(w)",
        by=gradient(M.per_sample_loss(M.w), M.w, "d/dt ℓ(w + t dw) at t = 0 equals ∇ℓᵀdw for a random dw"),
    )
    grad = dv.step("expand", mf.expand_matrix(grad), "∇ℓ(w)")
    # ∇ℓ is linear in the per-sample features x xᵀ and x z, so its batch mean is the same expression in
    # their batch means Σ̂ and ĉ.
    averaged = grad.subs({M.x * M.x.T: M.Sigma_hat, M.x * M.z: M.c_hat})
    if averaged.has(M.x) or averaged.has(M.z):
        raise AssertionError("the inner gradient is not linear in x xᵀ and x z")
    dv.step(
        "average over the batch: Σ̂ = (1/m)Σ x_j x_jᵀ, ĉ = (1/m)Σ x_j z_j",
        averaged,
        "ĝ(w)",
        by=batch_mean(grad, M.batch(M.m), "(1/m)Σ_j ∇ℓ(w; x_j, z_j) at m random samples"),
    )
    return dv


@cache
def adapted_excess(exact: bool = False) -> Derivation:
    """E_D[f(w⁺) − f(w*)] for w⁺ = w − αĝ(w), as ½ eᵀ Q e + n with e = w − w* (``exact``: m = ∞)."""
    size = sp.oo if exact else M.m
    suffix = "(∞)" if exact else "(m)"
    dv = Derivation(
        "L.adapted_excess" + (".exact" if exact else ""),
        "Adapted excess risk of one task" + (", exact inner gradient" if exact else ""),
        "spec L §3.2",
        points=M.POINTS,
    )
    g = inner_gradient().result
    centre = {M.w: M.w_star + M.e}
    step = dv.step(
        "w⁺ − w* = w − αĝ(w) − w*, w = w* + e",
        (M.w - M.alpha * g - M.w_star).subs(centre),
        "e⁺",
        by=equals(M.w - M.alpha * g - M.w_star, "w − αĝ(w) − w* evaluated at w = w* + e", given=centre),
    )
    step = dv.step("collect", mf.expand_matrix(step, [M.Sigma]), "e⁺")
    f = task_loss().result
    # f(v) − f(w*) = ½ (v − w*)ᵀ Σ (v − w*): the quadratic part of f around w*.
    q_f, _, _ = mf.quadratic_parts(f.subs(M.w, M.w_star + M.e), M.e, [M.Sigma])
    excess = dv.step(
        "f(w⁺) − f(w*) = ½ e⁺ᵀ Σ e⁺",
        step.T * q_f * step,
        "f(w⁺) − f(w*)",
        by=equals(
            f.xreplace({M.w: M.w_star + step}) - f.xreplace({M.w: M.w_star}),
            "f(w* + e⁺) − f(w*) with the population loss f derived above",
        ),
    )

    def at(e: sp.Basic) -> sp.Basic:
        return excess.xreplace({M.e: e})

    even = at(M.e) + at(-M.e) - 2 * at(sp.ZeroMatrix(M.d, 1))
    q_hat, lin_hat, const_hat = mf.quadratic_parts(excess, M.e, [M.Sigma])
    means = M.batch(size)
    q = expect(q_hat, means=means, symmetric=(M.Sigma,))
    lin = expect(lin_hat, means=means, symmetric=(M.Sigma,))
    const = expect(const_hat, means=means, symmetric=(M.Sigma,))
    dv.step(
        f"E over the batch, Wick pairing: quadratic part ½ Q{suffix}",
        mf.expand_matrix(q, [M.Sigma]),
        f"½ Q{suffix}",
        by=expectation(
            even,
            f"E[x(e) + x(−e) − 2x(0)] = eᵀQe for the excess x; {_WICK}",
            means=means,
            form=lambda h: 2 * M.e.T * h * M.e,
        ),
    )
    linear = dv.step(
        "E over the batch: linear part (odd in z)",
        mf.expand_matrix(lin, [M.Sigma]),
        "linear",
        by=expectation(
            at(M.e) - at(-M.e),
            f"E[x(e) − x(−e)] is twice the linear part; {_WICK}",
            means=means,
            form=lambda part: 2 * part,
        ),
    )
    n = dv.step(
        "E over the batch: constant part (noise)",
        sp.factor(const),
        "n",
        by=expectation(at(sp.ZeroMatrix(M.d, 1)), f"E[x(0)]; {_WICK}", means=means),
    )
    Q = mf.expand_matrix(2 * q, [M.Sigma])
    dv.step(
        "so E[f(w⁺) − f(w*)] = ½ eᵀ Q e + n with",
        Q,
        f"Q{suffix}",
        by=expectation(
            excess,
            f"E[f(w⁺) − f(w*)] = ½eᵀQe + linear + n; {_WICK}",
            means=means,
            form=lambda big_q: M.e.T * big_q * M.e / 2 + linear + n * sp.Identity(1),
        ),
    )
    return dv


def curvature(exact: bool = False) -> sp.Basic:
    """Q(m) (or Q(∞)): the excess after one step is ½ eᵀ Q e + noise."""
    return adapted_excess(exact).result


def noise(exact: bool = False) -> sp.Expr:
    """The noise term n = α²σ² tr(Σ²)/(2m) (0 for m = ∞)."""
    return adapted_excess(exact)["n"]


@cache
def isotropic_contraction() -> Derivation:
    """g_m(ρ): with Σ = ρ I, Q(m) = ρ g_m(ρ) I, so one step multiplies the excess ½ρ‖e‖² by g_m(ρ)
    (noise aside)."""
    dv = Derivation(
        "L.hardness", "Hardness: the per-step excess factor g_m(ρ)", "spec L §1, §3.2", points=M.POINTS
    )
    iso = {M.Sigma: M.rho * M.Id}
    Q = dv.step(
        "Q(m) with Σ = ρ I",
        mf.isotropic(curvature(), M.Sigma, M.rho),
        "Q(m)",
        by=equals(curvature(), "Q(m) evaluated at Σ = ρI", given=iso),
    )
    g = dv.step(
        "g_m(ρ) = Q / ρ",
        sp.factor(mf.identity_coefficient(Q) / M.rho),
        "g_m(ρ)",
        by=equals(Q, "ρ g_m(ρ) I equals the line above", form=lambda g: g * M.rho * M.Id),
    )
    dv.step("m → ∞", sp.factor(sp.limit(g, M.m, sp.oo)), "g(ρ)", by=limit(g, M.m))
    return dv


@cache
def multistep_excess() -> Derivation:
    """T steps with fresh batches, Σ = ρ I: E‖e_T‖² = g^T ‖e_0‖² + s (1 − g^T)/(1 − g), s = α²σ² d ρ / m.

    Derived from one step: E[‖e⁺‖² | e] = eᵀ E[(I − αΣ̂)ᵀ(I − αΣ̂)] e + α² E[ĉᵀĉ] (the cross term is odd in z).
    """
    dv = Derivation(
        "L.multistep", "T adaptation steps with fresh batches (isotropic)", "spec L §3.6j", points=M.POINTS
    )
    step = mf.expand_matrix(adapted_excess()["e⁺"], [M.Sigma])
    sq = dv.step("‖e⁺‖² = e⁺ᵀ e⁺", step.T * step, "‖e⁺‖²", by=definition("the squared norm"))
    q_hat, _, const_hat = mf.quadratic_parts(sq, M.e, [M.Sigma])
    means = M.batch(M.m)
    gain = mf.identity_coefficient(
        mf.isotropic(expect(q_hat, means=means, symmetric=(M.Sigma,)), M.Sigma, M.rho)
    )
    drift = _iso_scalar(expect(const_hat, means=means, symmetric=(M.Sigma,)))
    s_t = sp.Function("s")
    t = sp.Symbol("t", integer=True, nonnegative=True)
    s0 = sp.Symbol("s_0", nonnegative=True)
    rec = dv.step(
        "E‖e_{t+1}‖² = g s_t + drift, Σ = ρ I",
        sp.Eq(s_t(t + 1), gain * s_t(t) + drift),
        "",
        by=expectation(
            sq,
            f"E‖e⁺‖² at a random e with Σ = ρI is g‖e‖² + drift; {_WICK}",
            means=means,
            given={M.Sigma: M.rho * M.Id},
            form=lambda eq: eq.rhs.xreplace({s_t(t): sp.Trace(M.e.T * M.e)}),
        ),
    )
    solved = sp.rsolve(rec.lhs - rec.rhs, s_t(t), {s_t(0): s0})
    dv.step(
        "solve the recurrence, s_0 = ‖e_0‖²",
        sp.simplify(solved.subs(t, M.T)),
        "s_T",
        by=recurrence(
            lambda s: rec.rhs.xreplace({s_t(t): s}),
            s0,
            M.T,
            "s_T iterated from s_0 by the recurrence, T = 0..3",
        ),
    )
    return dv


def _iso_scalar(expr: sp.Expr) -> sp.Expr:
    return sp.factor(
        expr.replace(
            lambda e: isinstance(e, sp.Trace),
            lambda e: mf.identity_coefficient(mf.isotropic(e.arg, M.Sigma, M.rho)) * M.d,
        )
    )
