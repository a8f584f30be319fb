"""Spec L's claims, one record each: statement, source, provenance, conclusion and how sympy decides it.

The statements are the spec's formulas (what is claimed); the derivations in
:mod:`maml_theory.theory.landscape` are independent of them, and each ``prove`` compares the two. Scalar
conclusions are written in the instance's parameters (d, α, p_H, ρ_H, ρ_E, ν_H, ν_E, σ, R, m, m_train) so the
numerics can evaluate them anywhere.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from maml_theory.theory import matrix_algebra as ma
from maml_theory.theory.claims import Claim, Proof, Provenance, register
from maml_theory.theory.landscape import adaptation, mixture, two_type
from maml_theory.theory.landscape import model as M
from maml_theory.theory.moments import Gaussian, SampleMean, expect

H, E = two_type.TYPES
p_H, p_E = two_type.p[H], two_type.p[E]
rho_H, rho_E = two_type.rho[H], two_type.rho[E]
nu_H, nu_E = two_type.nu[H], two_type.nu[E]
g_H, g_E = two_type.g[H], two_type.g[E]
R = two_type.R

# The spec's notation (§3.5) for the statements.
u_H, u_E = p_H * rho_H, p_E * rho_E
S = u_H + u_E
A = u_H * g_H + u_E * g_E
Bd = M.d * (u_H * g_H * nu_H + u_E * g_E * nu_E)
N2 = M.alpha**2 * M.sigma**2 * M.d * (p_H * rho_H**2 + p_E * rho_E**2) / M.m


def _spec_g(r: sp.Expr) -> sp.Expr:
    return (1 - M.alpha * r) ** 2 + M.alpha**2 * r**2 * (M.d + 1) / M.m


def _derived_g(r: sp.Expr) -> sp.Expr:
    """g_m(r) as derived (L.hardness), not as stated."""
    return adaptation.isotropic_contraction()["g_m(ρ)"].subs(M.rho, r)


def in_parameters(expr: sp.Expr) -> sp.Expr:
    """An expression in g_H, g_E (and p_E) written in the instance's parameters, through the derived g_m."""
    return expr.subs({g_H: _derived_g(rho_H), g_E: _derived_g(rho_E)}).subs(p_E, 1 - p_H)


@cache
def gain_g() -> sp.Expr:
    """G with γ_k = g_k (one step, m_train = m), the form the proofs work with."""
    t_opt = two_type.weight()["t_opt"]
    lam = t_opt.subs({two_type.gamma[k]: 1 for k in two_type.TYPES})
    e_nal = two_type.in_g(two_type.objective_at(lam))
    e_maml = two_type.in_g(two_type.objective_at(two_type.in_g(t_opt)))
    return e_nal / e_maml


@cache
def gain_parameters() -> sp.Expr:
    """G in the instance's parameters, m_train = m."""
    return two_type.gain().result.subs(two_type.m_train, M.m).subs(p_E, 1 - p_H)


def _zero(expr: sp.Expr, how: str) -> Proof:
    residual = sp.simplify(sp.factor(sp.together(expr)))
    return Proof(residual == 0, how, residual)


def _nonnegative(expr: sp.Expr, how: str) -> Proof:
    """Decided on interior parameters (every symbol > 0; the boundary follows by continuity) when the
    factored form is a product and quotient of manifestly non-negative pieces."""
    positive = {s: sp.Symbol(s.name, positive=True) for s in expr.free_symbols}
    factored = sp.factor(sp.together(expr.xreplace(positive)))
    return Proof(bool(factored.is_nonnegative), how + " (parameters > 0)", factored)


def _equal_matrices(derived: sp.Basic, stated: sp.Basic, how: str, symmetric: tuple = (M.Sigma,)) -> Proof:
    ok = ma.equal(derived, stated, symmetric)
    return Proof(ok, how, sp.S.Zero if ok else derived - stated)


def _register_all() -> None:
    A_ = sp.MatrixSymbol("A", M.d, M.d)
    Sig = M.Sigma
    gx = Gaussian(M.x, Sig)
    sh = SampleMean(M.Sigma_hat, M.x * M.x.T, (gx,), M.m)
    fourth_stated = Sig * A_ * Sig + Sig * A_.T * Sig + sp.Trace(A_ * Sig) * Sig
    sample_stated = Sig * A_ * Sig + (Sig * A_.T * Sig + sp.Trace(A_ * Sig) * Sig) / M.m
    W = sp.MatrixSymbol("W", M.d, M.d)
    n = sp.Symbol("n", integer=True, positive=True)
    wishart = SampleMean(W, M.x * M.x.T, (gx,), n)
    wishart_stated = n * (n + 1) * Sig**2 + n * sp.Trace(Sig) * Sig

    register(
        Claim(
            "L.moment.isserlis",
            "Gaussian fourth moment",
            "spec L §3.1",
            Provenance.DERIVED,
            "x ~ N(0, Σ): E[x xᵀ A x xᵀ] = ΣAΣ + ΣAᵀΣ + tr(AΣ)Σ",
            _identity(r"\mathbb{E}[x x^{T} A x x^{T}]", fourth_stated),
            prove=lambda: _equal_matrices(
                expect(M.x * M.x.T * A_ * M.x * M.x.T, gaussians=(gx,)),
                fourth_stated,
                "Wick pairing, general d",
            ),
        )
    )
    register(
        Claim(
            "L.moment.sample",
            "Sample second-moment sandwich",
            "spec L §3.1",
            Provenance.DERIVED,
            "Σ̂ = (1/m)Σ x_j x_jᵀ: E[Σ̂AΣ̂] = ΣAΣ + (ΣAᵀΣ + tr(AΣ)Σ)/m",
            _identity(r"\mathbb{E}[\hat{\Sigma} A \hat{\Sigma}]", sample_stated),
            prove=lambda: _equal_matrices(
                expect(M.Sigma_hat * A_ * M.Sigma_hat, means=(sh,)),
                sample_stated,
                "Wick pairing over sample partitions, general d",
            ),
        )
    )
    register(
        Claim(
            "L.moment.wishart",
            "Wishart second moment",
            "DESIGN.md (published Wishart moments)",
            Provenance.DERIVED,
            "W = Σ_{j≤n} x_j x_jᵀ: E[W²] = n(n+1)Σ² + n tr(Σ)Σ",
            _identity(r"\mathbb{E}[W^{2}]", wishart_stated),
            prove=lambda: _equal_matrices(
                expect(n**2 * W * W, means=(wishart,)),
                wishart_stated,
                "W = n·(sample mean), Wick pairing",
            ),
        )
    )
    register(
        Claim(
            "L.loss.population",
            "Population task loss",
            "spec L §1",
            Provenance.DERIVED,
            "f(w) = E ½(xᵀw − y)² = ½(w − w*)ᵀΣ(w − w*) + σ²/2",
            _identity("f(w)", _loss_stated()),
            prove=lambda: _equal_matrices(
                adaptation.task_loss().result, _loss_stated(), "Wick pairing over x and z"
            ),
        )
    )
    register(
        Claim(
            "L.adapted.curvature",
            "One-step adapted excess, m samples",
            "spec L §3.2",
            Provenance.DERIVED,
            "E_D[f(w − αĝ) − f(w*)] = ½eᵀQ(m)e + α²σ²tr(Σ²)/(2m), Q(m) = Σ(I − αΣ)² + (α²/m)(Σ³ + tr(Σ²)Σ)",
            _identity("Q(m)", _adapted_stated(exact=False)[0]),
            prove=lambda: _adapted_proof(exact=False),
        )
    )
    register(
        Claim(
            "L.adapted.exact",
            "One-step adapted excess, exact gradient",
            "spec L §3.2",
            Provenance.DERIVED,
            "m = ∞: Q(∞) = (I − αΣ)Σ(I − αΣ), no noise term",
            _identity(r"Q(\infty)", _adapted_stated(exact=True)[0]),
            prove=lambda: _adapted_proof(exact=True),
        )
    )
    g_stated = _spec_g(M.rho)
    register(
        Claim(
            "L.adapted.hardness",
            "Isotropic hardness factor",
            "spec L §1, §3.2",
            Provenance.DERIVED,
            "Σ = ρI: Q(m) = ρ g_m(ρ) I with g_m(ρ) = (1 − αρ)² + α²ρ²(d+1)/m",
            sp.Eq(sp.Symbol("g_m"), g_stated),
            prove=lambda: _zero(
                adaptation.isotropic_contraction()["g_m(ρ)"] - g_stated, "Q(m) at Σ = ρI, simplify"
            ),
        )
    )
    register(
        Claim(
            "L.solution.minimisers",
            "MAML and NAL solutions of a mixture",
            "spec L §3.3",
            Provenance.DERIVED,
            "w_MAML = Q̄⁻¹ E_i[Q_i w*_i] (Q at m_train), w_NAL = Σ̄⁻¹ E_i[Σ_i w*_i]",
            _identity(r"w_{\mathrm{opt}}", _minimiser_stated()[0]),
            prove=_minimiser_proof,
        )
    )
    register(
        Claim(
            "L.identity.quadratic",
            "Excess is quadratic around w_MAML",
            "spec L §3.4",
            Provenance.DERIVED,
            "m_train = m: E_m(w) = E_m(w_MAML) + ½(w − w_MAML)ᵀQ̄(w − w_MAML) for every w",
            sp.Eq(mixture.quadratic_identity().steps[1].expr, sp.ZeroMatrix(1, 1), evaluate=False),
            prove=lambda: Proof(
                mixture.quadratic_identity().result == sp.ZeroMatrix(1, 1),
                "matrix_algebra.is_zero with H, H⁻¹ symmetric",
            ),
        )
    )
    register(
        Claim(
            "L.gain.at_least_one",
            "MAML never loses when trained as tested",
            "spec L §3.4",
            Provenance.DERIVED,
            "m_train = m ⇒ G ≥ 1",
            sp.Ge(gain_parameters(), 1),
            prove=lambda: _nonnegative(
                two_type.in_g(
                    two_type.objective_at(
                        two_type.weight()["t_opt"].subs({two_type.gamma[k]: 1 for k in two_type.TYPES})
                    )
                )
                - two_type.in_g(two_type.objective_at(two_type.in_g(two_type.weight()["t_opt"]))),
                "E_m(w_NAL) − E_m(w_MAML) factored into non-negative pieces",
            ),
        )
    )

    lam_stated, mu_stated = u_H / S, u_H * g_H / A
    register(
        Claim(
            "L.two_type.weights",
            "Where the two solutions sit",
            "spec L §3.5",
            Provenance.DERIVED,
            "λ = u_H/S, μ = u_H g_H/A, μ − λ = u_H u_E (g_H − g_E)/(S A)",
            sp.Eq(sp.Symbol("mu_minus_lambda"), u_H * u_E * (g_H - g_E) / (S * A)),
            prove=lambda: _zero(
                (_lam_mu()[0] - lam_stated) ** 2
                + (_lam_mu()[1] - mu_stated) ** 2
                + (_lam_mu()[1] - _lam_mu()[0] - u_H * u_E * (g_H - g_E) / (S * A)) ** 2,
                "derived weights minus stated, simplify",
            ),
        )
    )
    excess_stated = (Bd + u_H * u_E * g_H * g_E * R**2 / A) / 2 + N2 / 2
    gap_stated = u_H**2 * u_E**2 * (g_H - g_E) ** 2 * R**2 / (2 * S**2 * A)
    gain_stated = 1 + (2 * gap_stated) / (Bd + N2 + u_H * u_E * g_H * g_E * R**2 / A)
    register(
        Claim(
            "L.two_type.excess",
            "Excess of the MAML solution and the gap to NAL",
            "spec L §3.5",
            Provenance.DERIVED,
            "E_m(w_MAML) = ½[Bd + u_H u_E g_H g_E R²/A] + N; "
            "E_m(w_NAL) − E_m(w_MAML) = ½u_H²u_E²(g_H − g_E)²R²/(S²A)",
            sp.Eq(sp.Symbol("gap"), gap_stated),
            prove=lambda: _zero(
                (_excesses()[1] - excess_stated) ** 2 + (_excesses()[0] - _excesses()[1] - gap_stated) ** 2,
                "derived excesses minus stated, simplify",
            ),
        )
    )
    register(
        Claim(
            "L.two_type.gain",
            "MAML's gain over NAL",
            "spec L §3.5",
            Provenance.DERIVED,
            "G = 1 + [u_H²u_E²(g_H − g_E)²R²/(S²A)] / [Bd + 2N + u_H u_E g_H g_E R²/A]",
            sp.Eq(sp.Symbol("G"), gain_stated),
            prove=lambda: _zero(gain_g() - gain_stated, "derived G minus stated, simplify"),
        )
    )
    register(
        Claim(
            "L.gain.equal_hardness",
            "No hardness discrepancy, no gain",
            "spec L §3.6a; abstract claim (i)",
            Provenance.ABSTRACT,
            "g_H = g_E ⇒ G = 1 for all R, ν, σ, p",
            sp.Eq(sp.Symbol("G"), 1),
            hypotheses=(sp.Eq(g_H, g_E),),
            prove=lambda: _zero(gain_g().subs(g_E, g_H) - 1, "substitute g_E = g_H"),
        )
    )
    register(
        Claim(
            "L.gain.no_separation",
            "Coinciding centres, no gain",
            "spec L §3.6b",
            Provenance.DERIVED,
            "R = 0 ⇒ G = 1",
            sp.Eq(sp.Symbol("G"), 1),
            hypotheses=(sp.Eq(R, 0),),
            prove=lambda: _zero(gain_g().subs(R, 0) - 1, "substitute R = 0"),
        )
    )
    sig2 = sp.Symbol("s2", nonnegative=True)
    gain_s2 = gain_g().subs(M.sigma, sp.sqrt(sig2))
    for symbol, label, sign in (
        (R, "R", 1),
        (nu_H, "nu_H", -1),
        (nu_E, "nu_E", -1),
        (M.sigma, "sigma", -1),
    ):
        # Factored in g first: the raw derivative in the parameters is a cancelling sum whose round-off can
        # exceed its true value where E_m is tiny.
        deriv = in_parameters(sp.factor(sp.together(sp.diff(gain_g(), symbol))))
        target = gain_g() if symbol is not M.sigma else gain_s2
        var = symbol if symbol is not M.sigma else sig2
        register(
            Claim(
                f"L.gain.monotone.{label}",
                f"G {'increases' if sign > 0 else 'decreases'} in {label if label != 'sigma' else 'σ²'}",
                "spec L §3.6c",
                Provenance.DERIVED,
                f"∂G/∂{label} {'≥' if sign > 0 else '≤'} 0",
                sp.Ge(deriv, 0) if sign > 0 else sp.Le(deriv, 0),
                prove=lambda t=target, v=var, s=sign: _nonnegative(
                    s * sp.diff(t, v), "derivative factored into signed pieces"
                ),
            )
        )
    limit_stated = 1 + u_H * u_E * (g_H - g_E) ** 2 / (S**2 * g_H * g_E)
    register(
        Claim(
            "L.gain.far_limit",
            "The far-apart limit",
            "spec L §3.6d",
            Provenance.DERIVED,
            "R → ∞: G → 1 + u_H u_E (g_H − g_E)²/(S² g_H g_E)",
            sp.Eq(sp.Limit(gain_g(), R, sp.oo), limit_stated, evaluate=False),
            prove=lambda: _zero(sp.limit(gain_g(), R, sp.oo) - limit_stated, "sympy limit R → ∞"),
        )
    )
    ceiling = (g_H + g_E) ** 2 / (4 * g_H * g_E)
    register(
        Claim(
            "L.gain.ceiling",
            "The gain ceiling",
            "spec L §3.6e",
            Provenance.DERIVED,
            "G ≤ (g_H + g_E)²/(4 g_H g_E), equality iff p_Hρ_H = p_Eρ_E and ν = σ = 0",
            sp.Le(gain_parameters(), in_parameters(ceiling)),
            prove=lambda: _both(
                _both(
                    _nonnegative(limit_stated - gain_g(), "G_∞ − G ≥ 0"),
                    _nonnegative(ceiling - limit_stated, "ceiling − G_∞ = (g_H−g_E)²(u_H−u_E)²/(4g_Hg_ES²)"),
                ),
                _zero(two_type.ceiling()["G_max"] - ceiling, "the stated ceiling is max over the type share"),
            ),
        )
    )
    one_step_stated = 1 + (p_E * rho_E) ** 2 * R**2 / ((p_H * rho_H + p_E * rho_E) ** 2 * M.d * nu_H)
    register(
        Claim(
            "L.gain.easy_solved",
            "Easy tasks solved in one step",
            "spec L §3.6f; abstract claim (ii)",
            Provenance.ABSTRACT,
            "m = ∞, αρ_E = 1: w_MAML = w_H and G = 1 + (p_Eρ_E)²R²/((p_Hρ_H + p_Eρ_E)² d ν_H)",
            sp.Eq(sp.Symbol("G"), one_step_stated),
            hypotheses=(sp.Eq(M.m, sp.oo, evaluate=False), sp.Eq(M.alpha * rho_E, 1)),
            prove=_easy_solved_proof(one_step_stated),
        )
    )
    register(
        Claim(
            "L.gain.any_mixture",
            "Gain bounded by the spread of hardness",
            "spec L §3.6g; abstract claim (i)",
            Provenance.ABSTRACT,
            "any mixture, m_train = m: with g_min ≤ eig(Σ_i^{-1/2}Q_iΣ_i^{-1/2}) ≤ g_max, "
            "1 ≤ G ≤ g_max/g_min",
            sp.Le(sp.Symbol("G"), sp.Symbol("g_max") / sp.Symbol("g_min")),
        )
    )
    g_star = (M.d + 1) / (M.m + M.d + 1)
    register(
        Claim(
            "L.gain.few_samples",
            "Few samples cap the gain",
            "spec L §3.6h",
            Provenance.DERIVED,
            "g_H, g_E ≤ 1 ⇒ G ≤ (1 + g*)²/(4g*), g* = (d+1)/(m+d+1) = min_ρ g_m(ρ)",
            sp.Le(gain_parameters(), (1 + g_star) ** 2 / (4 * g_star)),
            hypotheses=(sp.Le(_derived_g(rho_H), 1), sp.Le(_derived_g(rho_E), 1)),
            prove=lambda: _few_samples_proof(g_star),
        )
    )
    c = sp.Symbol("c", positive=True)
    register(
        Claim(
            "L.gain.rescaling",
            "Rescaling the losses",
            "spec L §3.6i",
            Provenance.DERIVED,
            "f_i → c f_i (ρ → cρ, σ² → cσ²) with α → α/c leaves G unchanged",
            sp.Eq(_rescaled(gain_parameters(), c), gain_parameters(), evaluate=False),
            prove=lambda: _zero(
                _rescaled(gain_parameters(), c) - gain_parameters(), "substitute and simplify"
            ),
        )
    )
    register(
        Claim(
            "L.gain.multistep",
            "T adaptation steps",
            "spec L §3.6j",
            Provenance.DERIVED,
            "T steps, fresh batches: g_k → g_k^T, noise α²σ²dρ_k²/(2m) → that × (1 − g_k^T)/(1 − g_k)",
            sp.Eq(sp.Symbol("s_T"), _multistep_stated()),
            prove=_multistep_proof,
        )
    )


def _identity(name: str, stated: sp.Basic) -> sp.Basic:
    """The conclusion ``name = stated`` of a matrix identity, ``name`` standing for the derived side."""
    rows, cols = stated.shape
    return sp.Eq(sp.MatrixSymbol(name, rows, cols), stated, evaluate=False)


def _loss_stated() -> sp.Basic:
    return (M.w - M.w_star).T * M.Sigma * (M.w - M.w_star) / 2 + M.sigma**2 / 2 * sp.Identity(1)


def _adapted_stated(exact: bool) -> tuple[sp.Basic, sp.Expr]:
    """The stated Q and noise term of §3.2."""
    Sig, I_, a = M.Sigma, M.Id, M.alpha
    if exact:
        return (I_ - a * Sig) * Sig * (I_ - a * Sig), sp.S.Zero
    q = Sig * (I_ - a * Sig) ** 2 + a**2 / M.m * (Sig**3 + sp.Trace(Sig**2) * Sig)
    return q, a**2 * M.sigma**2 * sp.Trace(Sig**2) / (2 * M.m)


def _minimiser_stated() -> tuple[sp.Basic, tuple]:
    """(Σ_k p_k C_k)⁻¹ Σ_k p_k C_k w_k for two types, and the symmetric symbols."""
    syms = [mixture.type_symbols(k) for k in (1, 2)]
    h = sp.MatAdd(*(s["p"] * s["C"] for s in syms))
    b = sp.MatAdd(*(s["p"] * s["C"] * s["center"] for s in syms))
    return sp.Inverse(h) * b, tuple(s[n] for s in syms for n in ("C", "V"))


def _rescaled(expr: sp.Expr, c: sp.Symbol) -> sp.Expr:
    """ρ → cρ, σ → √c σ (f_i → c f_i), α → α/c."""
    return expr.subs(
        {rho_H: c * rho_H, rho_E: c * rho_E, M.sigma: sp.sqrt(c) * M.sigma, M.alpha: M.alpha / c},
        simultaneous=True,
    )


def _multistep_stated() -> sp.Expr:
    """g^T s_0 + s (1 − g^T)/(1 − g), s = α²σ² d ρ / m, g = g_m(ρ) as stated."""
    g = _spec_g(M.rho)
    s0 = sp.Symbol("s_0", nonnegative=True)
    drift = M.alpha**2 * M.sigma**2 * M.d * M.rho / M.m
    return g**M.T * s0 + drift * (1 - g**M.T) / (1 - g)


def _both(a: Proof, b: Proof) -> Proof:
    return Proof(a.proved and b.proved, f"{a.method}; {b.method}", a.residual if not a.proved else b.residual)


def _lam_mu() -> tuple[sp.Expr, sp.Expr]:
    t_opt = two_type.weight()["t_opt"]
    return t_opt.subs({two_type.gamma[k]: 1 for k in two_type.TYPES}), two_type.in_g(t_opt)


def _excesses() -> tuple[sp.Expr, sp.Expr]:
    lam, mu = _lam_mu()
    return (two_type.in_g(two_type.objective_at(lam)), two_type.in_g(two_type.objective_at(mu)))


def _adapted_proof(exact: bool) -> Proof:
    q_stated, n_stated = _adapted_stated(exact)
    q_ok = ma.equal(adaptation.curvature(exact), q_stated, (M.Sigma,))
    n_ok = ma.equal(adaptation.noise(exact) * sp.Identity(1), n_stated * sp.Identity(1), (M.Sigma,))
    return Proof(q_ok and n_ok, "derived Q and noise term against the stated ones, general d")


def _minimiser_proof() -> Proof:
    stated, symmetric = _minimiser_stated()
    derived = mixture.minimiser((1, 2)).result
    return _equal_matrices(derived, stated, "∇F = 0 solved, C_k = Q_k (MAML) or Σ_k (NAL)", symmetric)


def _easy_solved_proof(stated: sp.Expr):
    def prove() -> Proof:
        gain = two_type.gain()
        subs = {two_type.m_train: M.m}
        mu = gain["μ"].subs(subs)
        G = gain.result.subs(subs)
        at = {rho_E: 1 / M.alpha}
        mu_inf = sp.limit(mu, M.m, sp.oo).subs(at)
        G_inf = sp.limit(G, M.m, sp.oo).subs(at)
        return _both(
            _zero(mu_inf - 1, "μ = 1: w_MAML = w_H"),
            _zero(G_inf - stated.subs(at), "m → ∞, ρ_E = 1/α"),
        )

    return prove


def _few_samples_proof(g_star: sp.Expr) -> Proof:
    g_m = adaptation.isotropic_contraction()["g_m(ρ)"]
    (rho_star,) = sp.solve(sp.diff(g_m, M.rho), M.rho)
    minimum = _zero(g_m.subs(M.rho, rho_star) - g_star, "min_ρ g_m(ρ) = g* at ρ* = m/(α(m+d+1))")
    r = sp.Symbol("r", positive=True)
    # The ceiling is (1 + r)²/(4r) in r = g_max/g_min ≥ 1, increasing there; with g ∈ [g*, 1], r ≤ 1/g*.
    increasing = _nonnegative(
        sp.diff((1 + r) ** 2 / (4 * r), r).subs(r, 1 + r), "d/dr (1+r)²/(4r) ≥ 0 for r ≥ 1"
    )
    at_end = _zero(
        ((1 + r) ** 2 / (4 * r)).subs(r, 1 / g_star) - (1 + g_star) ** 2 / (4 * g_star),
        "value at r = 1/g*",
    )
    return _both(_both(minimum, increasing), at_end)


def _multistep_proof() -> Proof:
    return _zero(
        adaptation.multistep_excess().result - _multistep_stated(),
        "solved recurrence minus g^T s_0 + s(1 − g^T)/(1 − g)",
    )


_register_all()
