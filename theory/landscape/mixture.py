"""A finite mixture of task types (spec L §2, §3.3, §3.4), general Σ_k and optimum covariances V_k.

Every objective of spec L has the same shape: with a per-type curvature C_k and constant c_k,
    F(w) = Σ_k p_k E_{w*~(w_k, V_k)} [½ (w − w*)ᵀ C_k (w − w*)] + Σ_k p_k c_k
         = Σ_k p_k [½ (w − w_k)ᵀ C_k (w − w_k) + ½ tr(C_k V_k) + c_k],
minimised at w = (Σ_k p_k C_k)⁻¹ Σ_k p_k C_k w_k. NAL is C_k = Σ_k; MAML is C_k = Q_k(m_train); the adapted
excess E_m is C_k = Q_k(m), c_k = n_k (the noise term). Only the mean and covariance of the optimum law enter.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from maml_theory.theory import matrix_forms as mf
from maml_theory.theory.derivation import Derivation
from maml_theory.theory.landscape import model as M
from maml_theory.theory.matrix_algebra import canonical, is_zero
from maml_theory.theory.moments import Gaussian, expect
from maml_theory.theory.relations import definition, equals, expectation, gradient


def derivation(id_: str, title: str, source: str, types: tuple[int | str, ...]) -> Derivation:
    """A derivation about the mixture of ``types``, checked at spec L's points with each type's C_k and V_k
    symmetric."""
    return Derivation(id_, title, source, points=M.POINTS, symmetric=tuple(_symmetric(types)))


def type_symbols(k: int | str) -> dict[str, sp.Basic]:
    """The symbols of task type ``k``: probability p, curvature C, constant c, optimum mean w̄ and
    covariance V."""
    return {
        "p": sp.Symbol(f"p_{k}", nonnegative=True),
        "C": sp.MatrixSymbol(f"C_{k}", M.d, M.d),
        "c": sp.Symbol(f"c_{k}"),
        "center": sp.MatrixSymbol(f"w_{k}", M.d, 1),
        "V": sp.MatrixSymbol(f"V_{k}", M.d, M.d),
    }


@cache
def objective(types: tuple[int | str, ...] = (1, 2)) -> Derivation:
    """F(w) for the mixture of ``types``, from the per-task quadratic ½ (w − w*)ᵀ C (w − w*) + c."""
    dv = derivation("L.mixture.objective", "Mixture objective", "spec L §2, §3.3", types)
    xi = sp.MatrixSymbol("xi", M.d, 1)
    parts, mixture, laws = [], [], []
    for k in types:
        s = type_symbols(k)
        per_task = (M.w - M.w_star).T * s["C"] * (M.w - M.w_star) / 2
        if k == types[0]:
            dv.step(
                "one task of type k, optimum w* = w_k + ξ, ξ ~ (0, V_k)",
                per_task,
                "F_k(w | w*)",
                by=definition("the excess of a task of type k, curvature C_k"),
            )
        drawn = per_task.subs(M.w_star, s["center"] + xi)
        mean = expect(drawn, gaussians=(Gaussian(xi, s["V"]),), symmetric=(s["C"], s["V"]))
        parts.append(s["p"] * (mf.expand_matrix(mean, [s["C"], s["V"]]) + s["c"] * sp.Identity(1)))
        # The check draws an independent ξ_k per type (the derivation reuses one symbol, type by type).
        xi_k = sp.MatrixSymbol(f"xi_{k}", M.d, 1)
        laws.append(Gaussian(xi_k, s["V"]))
        mixture.append(s["p"] * (per_task.subs(M.w_star, s["center"] + xi_k) + s["c"] * sp.Identity(1)))
    total = dv.step(
        "E over the optimum, then over the type",
        sp.MatAdd(*parts),
        "F(w)",
        by=expectation(
            sp.MatAdd(*mixture),
            "Σ_k p_k E over an explicit Gaussian ξ_k = Lζ with covariance V_k, monomial by monomial (the "
            "task excess is quadratic in ξ, so any law with covariance V_k gives the same)",
            gaussians=laws,
        ),
    )
    dv.step("expand", mf.expand_matrix(total, _symmetric(types)), "F(w)")
    return dv


@cache
def centred() -> Derivation:
    """One type's share of F around its optimum mean: F_k(w_k + e) = p_k [½ eᵀC_k e + ½ tr(C_kV_k) + c_k].

    The form numerics evaluate: centred, it keeps full precision near the minimum, where the expanded
    ½wᵀCw − wᵀCw_k + ½w_kᵀCw_k cancels.
    """
    dv = derivation("L.mixture.centred", "One type's objective around its optimum mean", "spec L §2", (1,))
    s = type_symbols(1)
    e = sp.MatrixSymbol("e", M.d, 1)
    around = {M.w: s["center"] + e}
    share = objective((1,)).result.subs(around)
    dv.step(
        "F_k(w_k + e)",
        mf.expand_matrix(share, _symmetric((1,))),
        "F_k",
        by=equals(objective((1,)).result, "F evaluated at w = w_k + e", given=around),
    )
    centred_form = canonical(share, _symmetric((1,)))
    if centred_form.has(s["center"]):
        raise AssertionError("the terms linear in e did not cancel")
    dv.step("uᵀCe = eᵀCu (1×1, C symmetric): the terms linear in e cancel", centred_form, "F_k")
    return dv


@cache
def minimiser(types: tuple[int | str, ...] = (1, 2)) -> Derivation:
    """argmin F: the stationarity condition ∇F(w) = H w − b = 0, so w = H⁻¹ b."""
    dv = derivation("L.mixture.minimiser", "Minimiser of the mixture objective", "spec L §3.3", types)
    F = objective(types).result
    grad = dv.step(
        "∂F/∂w",
        mf.expand_matrix(F.diff(M.w), _symmetric(types)),
        "∇F(w)",
        by=gradient(F, M.w, "d/dt F(w + t dw) at t = 0 equals ∇Fᵀdw for a random dw"),
    )
    at_zero = grad.xreplace({M.w: sp.ZeroMatrix(M.d, 1)})
    H, minus_b = mf.linear_parts(grad, M.w, _symmetric(types))
    dv.step(
        "∇F(w) = H w − b: the Hessian",
        H,
        "H",
        by=equals(grad - at_zero, "∇F(w) − ∇F(0) = H w", form=lambda h: h * M.w),
    )
    b = dv.step(
        "∇F(w) = H w − b: the offset", mf.expand_matrix(-minus_b), "b", by=equals(-at_zero, "b = −∇F(0)")
    )
    dv.step(
        "H w = b",
        sp.Inverse(H) * b,
        "w_opt",
        by=equals(sp.ZeroMatrix(M.d, 1), "∇F vanishes at w_opt", form=lambda v: grad.xreplace({M.w: v})),
    )
    return dv


def _symmetric(types: tuple[int | str, ...]) -> list[sp.MatrixSymbol]:
    return [type_symbols(k)[n] for k in types for n in ("C", "V")]


@cache
def quadratic_identity() -> Derivation:
    """Spec L §3.4: E(w) = E(w_opt) + ½ (w − w_opt)ᵀ H (w − w_opt) for every w, in general dimension.


    From :func:`objective`, F is a quadratic ½ wᵀHw − bᵀw + c with H = Σ_k p_k C_k symmetric; the
    identity is then decided by :func:`maml_theory.theory.matrix_algebra.is_zero` with H and H⁻¹ symmetric.
    """
    types = (1, 2)
    sym = _symmetric(types)
    title = "Excess as a quadratic around the minimiser"
    dv = derivation("L.identity.quadratic", title, "spec L §3.4", types)
    F = objective(types).result
    half_h, lin, _ = mf.quadratic_parts(F, M.w, sym)
    H, b = minimiser(types)["H"], minimiser(types)["b"]
    if not is_zero(mf.expand_matrix(2 * half_h - H, sym), sym) or not is_zero(lin + b.T * M.w, sym):
        raise AssertionError("F is not ½ wᵀHw − bᵀw + c with the minimiser's H and b")
    dv.step(
        "F(w) = ½ wᵀ H w − bᵀ w + c with",
        H,
        "H",
        by=equals(
            F - F.xreplace({M.w: sp.ZeroMatrix(M.d, 1)}),
            "F(w) − F(0) = ½ wᵀHw − bᵀw with the minimiser's b",
            form=lambda h: M.w.T * h * M.w / 2 - b.T * M.w,
        ),
    )
    h_sym, b_sym, c_sym = (
        sp.MatrixSymbol("H", M.d, M.d),
        sp.MatrixSymbol("b", M.d, 1),
        sp.Symbol("c"),
    )
    w_opt = sp.Inverse(h_sym) * b_sym
    dv.symmetric = (*dv.symmetric, h_sym)

    def q(v: sp.Basic) -> sp.Basic:
        return v.T * h_sym * v / 2 - b_sym.T * v + c_sym * sp.Identity(1)

    residual = dv.step(
        "F(w) − F(w_opt) − ½ (w − w_opt)ᵀ H (w − w_opt), w_opt = H⁻¹ b",
        q(M.w) - q(w_opt) - (M.w - w_opt).T * h_sym * (M.w - w_opt) / 2,
        "residual",
        by=definition("the residual of the identity, for a symmetric H and any b, c"),
    )
    proved = is_zero(residual, [h_sym])
    dv.step(
        "canonical form (H, H⁻¹ symmetric; 1×1 terms equal their transposes)",
        sp.ZeroMatrix(1, 1) if proved else residual,
        "residual",
    )
    return dv
