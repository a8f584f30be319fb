"""Two task types, isotropic (spec L §3.5): the hard type H and the easy type E, Σ_k = ρ_k I, V_k = ν_k I.

Derived by specialising the mixture results of :mod:`maml_theory.theory.landscape.mixture` to C_k = ρ_k γ_k I,
where γ_k is the factor by which adaptation multiplies a type-k task's excess (γ_k = g_m(ρ_k) for one
step, γ_k = 1 without adaptation, g^T for T steps) and η_k is the noise excess it adds.
With u_k = p_k ρ_k and R = ‖w_H − w_E‖:
    E(w_t) = ½ [u_H γ_H (1 − t)² R² + u_E γ_E t² R² + d (u_H γ_H ν_H + u_E γ_E ν_E)] + p_H η_H + p_E η_E
on the segment w_t = t w_H + (1 − t) w_E, and the minimiser is w_t with t = u_H γ_H / (u_H γ_H + u_E γ_E).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from maml_theory.theory import matrix_forms as mf
from maml_theory.theory.derivation import Derivation
from maml_theory.theory.landscape import adaptation
from maml_theory.theory.landscape import model as M
from maml_theory.theory.landscape.mixture import derivation, minimiser, objective, type_symbols
from maml_theory.theory.relations import definition, equals, stationary

TYPES = ("H", "E")
p = {k: type_symbols(k)["p"] for k in TYPES}
rho = {k: sp.Symbol(f"rho_{k}", positive=True) for k in TYPES}
nu = {k: sp.Symbol(f"nu_{k}", nonnegative=True) for k in TYPES}
gamma = {k: sp.Symbol(f"gamma_{k}", nonnegative=True) for k in TYPES}
eta = {k: sp.Symbol(f"eta_{k}", nonnegative=True) for k in TYPES}
g = {k: sp.Symbol(f"g_{k}", positive=True) for k in TYPES}
R = sp.Symbol("R", nonnegative=True)
t = sp.Symbol("t")
m_train = sp.Symbol("m_train", integer=True, positive=True)


def _specialise(expr: sp.Basic) -> sp.Basic:
    """C_k = ρ_k γ_k I, V_k = ν_k I, c_k = η_k."""
    for k in TYPES:
        s = type_symbols(k)
        expr = mf.isotropic(expr, s["C"], rho[k] * gamma[k])
        expr = mf.isotropic(expr, s["V"], nu[k])
        expr = expr.subs(s["c"], eta[k])
    return expr


ISOTROPIC = {
    sym: value
    for k in TYPES
    for sym, value in (
        (type_symbols(k)["C"], rho[k] * gamma[k] * M.Id),
        (type_symbols(k)["V"], nu[k] * M.Id),
        (type_symbols(k)["c"], eta[k]),
    )
}
"""The substitution of :func:`_specialise` as values, for the checks: evaluated at a point, not rewritten."""


@cache
def weight() -> Derivation:
    """The minimiser's weight t on w_H: argmin E = t w_H + (1 − t) w_E."""
    title = "Two types: the minimiser on the segment [w_E, w_H]"
    dv = derivation("L.two_type.weight", title, "spec L §3.5", TYPES)
    mini = minimiser(TYPES)
    H, b = mini["H"], mini["b"]
    h = dv.step(
        "H with C_k = ρ_k γ_k I",
        mf.identity_coefficient(_specialise(H)),
        "H / I",
        by=equals(H, "H evaluated at C_k = ρ_kγ_k I is (H / I)·I", given=ISOTROPIC, form=lambda c: c * M.Id),
    )
    b_iso = dv.step(
        "b with C_k = ρ_k γ_k I", _specialise(b), "b", by=equals(b, "b evaluated there", given=ISOTROPIC)
    )
    coefficient = {}
    for coeff, factors in mf.terms(b_iso):
        (vec,) = factors
        coefficient[vec] = coefficient.get(vec, 0) + coeff
    w_h, w_e = (type_symbols(k)["center"] for k in TYPES)
    if set(coefficient) != {w_h, w_e}:
        raise AssertionError(f"b is not a combination of w_H and w_E: {b_iso}")
    if sp.simplify((coefficient[w_h] + coefficient[w_e]) / h - 1) != 0:
        raise AssertionError("the minimiser is not on the line through w_H and w_E")
    for name, vec, other in (("1 − t_opt", w_e, w_h), ("t_opt", w_h, w_e)):
        dv.step(
            f"w_opt = H⁻¹ b: coefficient of {vec}",
            sp.factor(coefficient[vec] / h),
            name,
            by=equals(
                b_iso,
                f"b at {other} = 0 equals (H / I)·({name})·{vec}",
                given={other: sp.ZeroMatrix(M.d, 1)},
                form=lambda c, vec=vec: h * c * vec,
            ),
        )
    return dv


@cache
def excess_on_segment() -> Derivation:
    """E(w_t) for w_t = t w_H + (1 − t) w_E, in terms of R² = ‖w_H − w_E‖²."""
    dv = derivation("L.two_type.excess", "Two types: the objective on the segment", "spec L §3.5", TYPES)
    w_h, w_e = (type_symbols(k)["center"] for k in TYPES)
    r = sp.MatrixSymbol("r", M.d, 1)
    F = _specialise(objective(TYPES).result)
    F = dv.step(
        "C_k = ρ_k γ_k I, V_k = ν_k I, c_k = η_k",
        F,
        "E(w)",
        by=equals(objective(TYPES).result, "F evaluated there", given=ISOTROPIC),
    )
    segment = {M.w: t * w_h + (1 - t) * w_e}
    gap = sp.Trace((w_h - w_e).T * (w_h - w_e))
    on_segment = F.subs(M.w, t * w_h + (1 - t) * w_e).subs(w_h, w_e + r)
    # Inner products aᵀb = bᵀa are collected by the unordered pair {a, b}; translation invariance means
    # every pair but {r, r} must cancel.
    inner: dict[tuple[str, ...], sp.Expr] = {}
    total = sp.S.Zero
    for coeff, factors in mf.terms(on_segment):
        if not factors:
            total += coeff
            continue
        left, right = factors
        inner_key = tuple(sorted((str(left.arg), str(right))))
        inner[inner_key] = inner.get(inner_key, sp.S.Zero) + coeff
    for key, coeff in inner.items():
        if key == ("r", "r"):
            total += coeff * R**2
        elif sp.expand(coeff) != 0:
            raise AssertionError(f"inner product {key} does not cancel (translation invariance)")
    dv.step(
        "w = t w_H + (1 − t) w_E, w_H − w_E = r, rᵀr = R²",
        sp.collect(sp.expand(total), R),
        "E(w_t)",
        by=equals(
            F,
            "E(w) evaluated at w = t w_H + (1 − t) w_E, with R² = ‖w_H − w_E‖²",
            given=segment,
            form=lambda e: e.subs(R**2, gap),
        ),
    )
    return dv


def objective_at(weight_h: sp.Expr) -> sp.Expr:
    """E(w_t) at t = ``weight_h`` (γ, η as symbols)."""
    return excess_on_segment().result.subs(t, weight_h)


def noise_per_type() -> sp.Expr:
    """η(ρ) = α²σ² d ρ²/(2m): the noise excess one step adds to an isotropic task."""
    return mf.identity_coefficient(mf.isotropic(adaptation.noise() * M.Id, M.Sigma, M.rho))


def one_step_values(size: sp.Expr = M.m, step: sp.Expr = M.alpha) -> dict[sp.Symbol, sp.Expr]:
    """γ_k = g_{size}(ρ_k), η_k = α²σ² d ρ_k²/(2 size): one adaptation step of size ``step`` (α, or MAML's
    training step α_train) on ``size`` samples."""
    g_m = adaptation.isotropic_contraction()["g_m(ρ)"]
    n_m = noise_per_type()
    subs = {}
    for k in TYPES:
        at = {M.rho: rho[k], M.m: size, M.alpha: step}
        subs[gamma[k]] = g_m.subs(at)
        subs[eta[k]] = n_m.subs(at)
    return subs


def one_step(expr: sp.Expr, size: sp.Expr = M.m, step: sp.Expr = M.alpha) -> sp.Expr:
    """``expr`` with :func:`one_step_values` substituted."""
    return expr.subs(one_step_values(size, step))


def in_g(expr: sp.Expr) -> sp.Expr:
    """γ_k = g_k (abstract per-step factors) and η_k written through 2N = α²σ²d(p_H ρ_H² + p_E ρ_E²)/m."""
    n_m = noise_per_type()
    subs = {gamma[k]: g[k] for k in TYPES}
    subs.update({eta[k]: n_m.subs(M.rho, rho[k]) for k in TYPES})
    return expr.subs(subs)


@cache
def gain() -> Derivation:
    """G = E_m(w_NAL) / E_m(w_MAML) with MAML trained by steps of size α_train on ``m_train`` samples and
    both adapted by one step of size α on m."""
    dv = derivation("L.two_type.gain", "Two types: MAML's gain over NAL", "spec L §3.5", TYPES)
    t_opt = weight()["t_opt"]
    still = {gamma[k]: 1 for k in TYPES}
    lam = dv.step(
        "NAL: no adaptation, γ_k = 1",
        sp.factor(t_opt.subs(still)),
        "λ",
        by=equals(t_opt, "t_opt evaluated at γ_k = 1", given=still),
    )
    trained = one_step_values(m_train, M.alpha_train)
    mu = dv.step(
        "MAML: trained with one step of size α_train on m_train samples, γ_k = g_{m_train}(ρ_k) at α_train",
        sp.factor(one_step(t_opt, m_train, M.alpha_train)),
        "μ",
        by=equals(t_opt, "t_opt evaluated at γ_k = g_{m_train}(ρ_k) at α = α_train", given=trained),
    )
    adapted = []
    for name, weight_h in (("E_m(w_NAL)", lam), ("E_m(w_MAML)", mu)):
        at = {t: weight_h, **one_step_values()}
        adapted.append(
            dv.step(
                name,
                one_step(objective_at(weight_h)),
                name,
                by=equals(
                    excess_on_segment().result, "E(w_t) evaluated there, one step on m samples", given=at
                ),
            )
        )
    dv.step("G = E_m(w_NAL) / E_m(w_MAML)", adapted[0] / adapted[1], "G", by=definition("MAML's gain"))
    return dv


@cache
def ceiling() -> Derivation:
    """The largest gain over the type weights (spec L §3.6e): G with no spread and no noise (ν = σ = 0,
    then R cancels), written through the hard share s = u_H/(u_H + u_E), maximised over s."""
    dv = derivation("L.two_type.ceiling", "Two types: the gain ceiling", "spec L §3.6e", TYPES)
    t_opt = weight()["t_opt"]
    quiet = {nu[k]: 0 for k in TYPES} | {eta[k]: 0 for k in TYPES}
    step = {gamma[k]: g[k] for k in TYPES}
    e_nal = objective_at(t_opt.subs({gamma[k]: 1 for k in TYPES})).subs(quiet).subs(step)
    e_maml = objective_at(t_opt.subs(step)).subs(quiet).subs(step)
    segment = excess_on_segment().result
    gain0 = dv.step(
        "ν = σ = 0, one step: γ_k = g_k",
        sp.factor(e_nal / e_maml),
        "G_0",
        by=equals(
            segment.xreplace({t: weight()["t_opt"].xreplace({gamma[k]: 1 for k in TYPES})})
            / segment.xreplace({t: t_opt}),
            "E(w_t) at t = λ over E(w_t) at t = t_opt, evaluated at ν_k = η_k = 0, γ_k = g_k",
            given={**quiet, **step},
        ),
    )
    share, total = sp.Symbol("s", positive=True), sp.Symbol("S", positive=True)
    by_share = {p["H"]: share * total / rho["H"], p["E"]: (1 - share) * total / rho["E"]}
    gain_s = dv.step(
        "u_H = sS, u_E = (1 − s)S",
        sp.factor(gain0.subs(by_share)),
        "G_0(s)",
        by=equals(gain0, "G_0 evaluated at p_H = sS/ρ_H, p_E = (1 − s)S/ρ_E", given=by_share),
    )
    (best,) = [x for x in sp.solve(sp.diff(gain_s, share), share) if x.is_positive]
    dv.step("∂G_0/∂s = 0", best, "s*", by=stationary(gain_s, share))
    dv.step(
        "G_0(s*)",
        sp.factor(gain_s.subs(share, best)),
        "G_max",
        by=equals(gain_s, "G_0(s) evaluated at s = s*", given={share: best}),
    )
    return dv
