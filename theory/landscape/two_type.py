"""Two task types, isotropic (spec L §3.5): the hard type H and the easy type E, Σ_k = ρ_k I, V_k = ν_k I.

Derived by specialising the mixture results of :mod:`theory.landscape.mixture` to C_k = ρ_k γ_k I,
where γ_k is the factor by which adaptation multiplies a type-k task's excess (γ_k = g_m(ρ_k) for one
step, γ_k = 1 without adaptation, g^T for T steps) and η_k is the noise excess it adds.
With u_k = p_k ρ_k and R = ‖w_H − w_E‖:
    E(w_t) = ½ [u_H γ_H (1 − t)² R² + u_E γ_E t² R² + d (u_H γ_H ν_H + u_E γ_E ν_E)] + p_H η_H + p_E η_E
on the segment w_t = t w_H + (1 − t) w_E, and the minimiser is w_t with t = u_H γ_H / (u_H γ_H + u_E γ_E).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from theory import matrix_forms as mf
from theory.derivation import Derivation
from theory.landscape import adaptation
from theory.landscape import model as M
from theory.landscape.mixture import minimiser, objective, type_symbols

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


@cache
def weight() -> Derivation:
    """The minimiser's weight t on w_H: argmin E = t w_H + (1 − t) w_E."""
    dv = Derivation("L.two_type.weight", "Two types: the minimiser on the segment [w_E, w_H]", "spec L §3.5")
    mini = minimiser(TYPES)
    H, b = mini["H"], mini["b"]
    h = dv.step("H with C_k = ρ_k γ_k I", mf.identity_coefficient(_specialise(H)), "H / I")
    b_iso = dv.step("b with C_k = ρ_k γ_k I", _specialise(b), "b")
    coefficient = {}
    for coeff, factors in mf.terms(b_iso):
        (vec,) = factors
        coefficient[vec] = coefficient.get(vec, 0) + coeff
    w_h, w_e = (type_symbols(k)["center"] for k in TYPES)
    if set(coefficient) != {w_h, w_e}:
        raise AssertionError(f"b is not a combination of w_H and w_E: {b_iso}")
    if sp.simplify((coefficient[w_h] + coefficient[w_e]) / h - 1) != 0:
        raise AssertionError("the minimiser is not on the line through w_H and w_E")
    dv.step("w_opt = H⁻¹ b: coefficient of w_E", sp.factor(coefficient[w_e] / h), "1 − t_opt")
    dv.step("w_opt = H⁻¹ b: coefficient of w_H", sp.factor(coefficient[w_h] / h), "t_opt")
    return dv


@cache
def excess_on_segment() -> Derivation:
    """E(w_t) for w_t = t w_H + (1 − t) w_E, in terms of R² = ‖w_H − w_E‖²."""
    dv = Derivation("L.two_type.excess", "Two types: the objective on the segment", "spec L §3.5")
    w_h, w_e = (type_symbols(k)["center"] for k in TYPES)
    r = sp.MatrixSymbol("r", M.d, 1)
    F = _specialise(objective(TYPES).result)
    F = dv.step("C_k = ρ_k γ_k I, V_k = ν_k I, c_k = η_k", F, "E(w)")
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
    )
    return dv


def objective_at(weight_h: sp.Expr) -> sp.Expr:
    """E(w_t) at t = ``weight_h`` (γ, η as symbols)."""
    return excess_on_segment().result.subs(t, weight_h)


def noise_per_type() -> sp.Expr:
    """η(ρ) = α²σ² d ρ²/(2m): the noise excess one step adds to an isotropic task."""
    return mf.identity_coefficient(mf.isotropic(adaptation.noise() * M.Id, M.Sigma, M.rho))


def one_step(expr: sp.Expr, size: sp.Expr = M.m) -> sp.Expr:
    """γ_k = g_{size}(ρ_k), η_k = α²σ² d ρ_k²/(2 size): one adaptation step on ``size`` samples."""
    g_m = adaptation.isotropic_contraction()["g_m(ρ)"]
    n_m = noise_per_type()
    subs = {}
    for k in TYPES:
        subs[gamma[k]] = g_m.subs({M.rho: rho[k], M.m: size})
        subs[eta[k]] = n_m.subs({M.rho: rho[k], M.m: size})
    return expr.subs(subs)


def in_g(expr: sp.Expr) -> sp.Expr:
    """γ_k = g_k (abstract per-step factors) and η_k written through 2N = α²σ²d(p_H ρ_H² + p_E ρ_E²)/m."""
    n_m = noise_per_type()
    subs = {gamma[k]: g[k] for k in TYPES}
    subs.update({eta[k]: n_m.subs(M.rho, rho[k]) for k in TYPES})
    return expr.subs(subs)


@cache
def gain() -> Derivation:
    """G = E_m(w_NAL) / E_m(w_MAML) with MAML trained on ``m_train`` samples and both adapted with m."""
    dv = Derivation("L.two_type.gain", "Two types: MAML's gain over NAL", "spec L §3.5")
    t_opt = weight()["t_opt"]
    lam = dv.step("NAL: no adaptation, γ_k = 1", sp.factor(t_opt.subs({gamma[k]: 1 for k in TYPES})), "λ")
    mu = dv.step("MAML: one step, γ_k = g_{m_train}(ρ_k)", sp.factor(one_step(t_opt, m_train)), "μ")
    e_nal = dv.step("E_m(w_NAL)", one_step(objective_at(lam)), "E_m(w_NAL)")
    e_maml = dv.step("E_m(w_MAML)", one_step(objective_at(mu)), "E_m(w_MAML)")
    dv.step("G = E_m(w_NAL) / E_m(w_MAML)", e_nal / e_maml, "G")
    return dv


@cache
def ceiling() -> Derivation:
    """The largest gain over the type weights (spec L §3.6e): G with no spread and no noise (ν = σ = 0,
    then R cancels), written through the hard share s = u_H/(u_H + u_E), maximised over s."""
    dv = Derivation("L.two_type.ceiling", "Two types: the gain ceiling", "spec L §3.6e")
    t_opt = weight()["t_opt"]
    quiet = {nu[k]: 0 for k in TYPES} | {eta[k]: 0 for k in TYPES}
    step = {gamma[k]: g[k] for k in TYPES}
    e_nal = objective_at(t_opt.subs({gamma[k]: 1 for k in TYPES})).subs(quiet).subs(step)
    e_maml = objective_at(t_opt.subs(step)).subs(quiet).subs(step)
    gain0 = dv.step("ν = σ = 0, one step: γ_k = g_k", sp.factor(e_nal / e_maml), "G_0")
    share, total = sp.Symbol("s", positive=True), sp.Symbol("S", positive=True)
    by_share = {p["H"]: share * total / rho["H"], p["E"]: (1 - share) * total / rho["E"]}
    gain_s = dv.step("u_H = sS, u_E = (1 − s)S", sp.factor(gain0.subs(by_share)), "G_0(s)")
    (best,) = [x for x in sp.solve(sp.diff(gain_s, share), share) if x.is_positive]
    dv.step("∂G_0/∂s = 0", best, "s*")
    dv.step("G_0(s*)", sp.factor(gain_s.subs(share, best)), "G_max")
    return dv
