"""Spec L's claims, one record each: source, provenance, conclusion and how sympy decides it.

The conclusions are the spec's formulas (what is claimed; each claim's statement is printed from them); the
derivations in
:mod:`maml_theory.theory.landscape` are independent of them, and each ``prove`` compares the two. Scalar
conclusions are written in the instance's parameters (d, α, p_H, ρ_H, ρ_E, ν_H, ν_E, σ, R, m, m_train) so the
numerics can evaluate them anywhere.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from maml_theory.theory import matrix_algebra as ma
from maml_theory.theory.claims import Claim, Proof, Provenance, register
from maml_theory.theory.landscape import adaptation, mixture, train_step, two_type
from maml_theory.theory.landscape import model as M
from maml_theory.theory.moments import Gaussian, SampleMean, expect

H, E = two_type.TYPES
p_H, p_E = two_type.p[H], two_type.p[E]
rho_H, rho_E = two_type.rho[H], two_type.rho[E]
nu_H, nu_E = two_type.nu[H], two_type.nu[E]
g_H, g_E = two_type.g[H], two_type.g[E]
R = two_type.R

# The spec's notation (§3.5) for the statements: short names, each with its definition (Claim.where).
G = sp.Symbol("G")
u_H, u_E, S, A, Bd, N = sp.symbols("u_H u_E S A Bd N", positive=True)
NOTATION = (
    (u_H, p_H * rho_H),
    (u_E, p_E * rho_E),
    (S, u_H + u_E),
    (A, u_H * g_H + u_E * g_E),
    (Bd, M.d * (u_H * g_H * nu_H + u_E * g_E * nu_E)),
    (N, M.alpha**2 * M.sigma**2 * M.d * (p_H * rho_H**2 + p_E * rho_E**2) / (2 * M.m)),
)
N2 = 2 * N


def _spec_g(r: sp.Expr) -> sp.Expr:
    return (1 - M.alpha * r) ** 2 + M.alpha**2 * r**2 * (M.d + 1) / M.m


def _derived_g(r: sp.Expr) -> sp.Expr:
    """g_m(r) as derived (L.hardness), not as stated."""
    return adaptation.isotropic_contraction()["g_m(ρ)"].subs(M.rho, r)


def _spelled(expr: sp.Expr) -> sp.Expr:
    """``expr`` with the names of :data:`NOTATION` put in (what the proofs compare with the derivation)."""
    for name, definition in reversed(NOTATION):
        expr = expr.xreplace({name: definition})
    return expr


def hardness() -> tuple[tuple[sp.Symbol, sp.Expr], ...]:
    """g_H, g_E and p_E in the instance's parameters, through the derived g_m: ``where`` entries."""
    return ((g_H, _derived_g(rho_H)), (g_E, _derived_g(rho_E)), (p_E, 1 - p_H))


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
    """G in the instance's parameters, m_train = m and α_train = α."""
    trained_as_tested = {two_type.m_train: M.m, M.alpha_train: M.alpha}
    return two_type.gain().result.subs(trained_as_tested).subs(p_E, 1 - p_H)


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
    _moments()
    _one_task()
    _solutions()
    _two_types()
    _gain_shape()
    _gain_bounds()
    _gain_extremes()
    _gain_extensions()
    _alpha_train()


def _moments() -> None:
    """Gaussian moments (§3.1): Isserlis, the sample sandwich, the Wishart second moment."""
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
            "x ~ N(0, Σ), any d×d matrix A",
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
            "Σ̂ = (1/m)Σ_j x_j x_jᵀ, x_j ~ N(0, Σ) independent, any A",
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
            "the Wishart second moment (e.g. Gupta & Nagar, Matrix Variate Distributions, 2000)",
            Provenance.DERIVED,
            "W = Σ_{j≤n} x_j x_jᵀ with x_j ~ N(0, Σ) independent: W is Wishart with n degrees of freedom",
            _identity(r"\mathbb{E}[W^{2}]", wishart_stated),
            prove=lambda: _equal_matrices(
                expect(n**2 * W * W, means=(wishart,)),
                wishart_stated,
                "W = n·(sample mean), Wick pairing",
            ),
        )
    )


def _one_task() -> None:
    """One task (§1, §3.2): its loss, its adapted excess and the isotropic hardness factor."""
    register(
        Claim(
            "L.loss.population",
            "Population task loss",
            "spec L §1",
            Provenance.DERIVED,
            "f(w) = E ½(xᵀw − y)², x ~ N(0, Σ), y = xᵀw* + z, z ~ N(0, σ²)",
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
            "E_D[f(w − αĝ) − f(w*)] = ½eᵀQ(m)e + n(m), e = w − w*, for a batch D of m samples; the noise "
            "term n(m) = α²σ²tr(Σ²)/(2m) is proved with Q(m)",
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
            "m = ∞ (the exact gradient): the noise term is zero (proved with Q(∞))",
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
            "Σ = ρI: Q(m) = ρ g_m(ρ) I",
            sp.Eq(sp.Symbol("g_m"), g_stated),
            prove=lambda: _zero(
                adaptation.isotropic_contraction()["g_m(ρ)"] - g_stated, "Q(m) at Σ = ρI, simplify"
            ),
        )
    )


def _solutions() -> None:
    """The minimisers of a mixture (§3.3) and why MAML never loses when trained as tested (§3.4)."""
    register(
        Claim(
            "L.solution.minimisers",
            "MAML and NAL solutions of a mixture",
            "spec L §3.3",
            Provenance.DERIVED,
            "two task types with probabilities p_k, centres w_k: the minimiser of E_k p_k f_k with "
            "C_k = Q_k(m_train) is w_MAML, with C_k = Σ_k it is w_NAL",
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
            "m_train = m: E_m(w) = E_m(w_MAML) + ½(w − w_MAML)ᵀQ̄(w − w_MAML) for every w, written with "
            "H = Q̄ and b = H w_MAML",
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
            "MAML trained with the batch size it is tested with (m_train = m)",
            sp.Ge(G, 1),
            where=((G, gain_parameters()),),
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


def _two_types() -> None:
    """Two isotropic types (§3.5): the weights, the excesses, the gain."""
    lam_stated, mu_stated = u_H / S, u_H * g_H / A
    register(
        Claim(
            "L.two_type.weights",
            "Where the two solutions sit",
            "spec L §3.5",
            Provenance.DERIVED,
            "w_NAL = λw_H + (1 − λ)w_E, w_MAML = μw_H + (1 − μ)w_E; λ = u_H/S and μ = u_H g_H/A are proved "
            "with it",
            sp.Eq(sp.Symbol("mu_minus_lambda"), u_H * u_E * (g_H - g_E) / (S * A)),
            where=NOTATION,
            prove=lambda: _zero(
                (_lam_mu()[0] - _spelled(lam_stated)) ** 2
                + (_lam_mu()[1] - _spelled(mu_stated)) ** 2
                + (_lam_mu()[1] - _lam_mu()[0] - _spelled(u_H * u_E * (g_H - g_E) / (S * A))) ** 2,
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
            "gap = E_m(w_NAL) − E_m(w_MAML); E_m(w_MAML) = ½[Bd + u_H u_E g_H g_E R²/A] + N is proved "
            "with it",
            sp.Eq(sp.Symbol("gap"), gap_stated),
            where=NOTATION,
            prove=lambda: _zero(
                (_excesses()[1] - _spelled(excess_stated)) ** 2
                + (_excesses()[0] - _excesses()[1] - _spelled(gap_stated)) ** 2,
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
            "G = E_m(w_NAL)/E_m(w_MAML), two types, m_train = m",
            sp.Eq(G, gain_stated),
            where=NOTATION,
            prove=lambda: _zero(gain_g() - _spelled(gain_stated), "derived G minus stated, simplify"),
        )
    )


def _gain_shape() -> None:
    """Where the gain is 1, and how it moves with the parameters (§3.6a–c)."""
    register(
        Claim(
            "L.gain.equal_hardness",
            "No hardness discrepancy, no gain",
            "spec L §3.6a; abstract claim (i)",
            Provenance.ABSTRACT,
            "for all R, ν, σ, p",
            sp.Eq(G, 1),
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
            "the hard and easy centres coincide",
            sp.Eq(G, 1),
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
        deriv = sp.factor(sp.together(sp.diff(gain_g(), symbol)))
        name = sp.Symbol(f"dG/d{label}")
        target = gain_g() if symbol is not M.sigma else gain_s2
        var = symbol if symbol is not M.sigma else sig2
        register(
            Claim(
                f"L.gain.monotone.{label}",
                f"G {'increases' if sign > 0 else 'decreases'} in {label if label != 'sigma' else 'σ²'}",
                "spec L §3.6c",
                Provenance.DERIVED,
                "the derivative of the derived G, m_train = m",
                sp.Ge(name, 0) if sign > 0 else sp.Le(name, 0),
                where=((name, deriv), *hardness()),
                prove=lambda t=target, v=var, s=sign: _nonnegative(
                    s * sp.diff(t, v), "derivative factored into signed pieces"
                ),
            )
        )


def _gain_bounds() -> None:
    """The far-apart limit (§3.6d) and the ceiling (§3.6e)."""
    limit_stated = 1 + u_H * u_E * (g_H - g_E) ** 2 / (S**2 * g_H * g_E)
    register(
        Claim(
            "L.gain.far_limit",
            "The far-apart limit",
            "spec L §3.6d",
            Provenance.DERIVED,
            "m_train = m, the other parameters fixed",
            sp.Eq(sp.Limit(G, R, sp.oo), limit_stated, evaluate=False),
            where=((G, gain_g()), *NOTATION),
            prove=lambda: _zero(sp.limit(gain_g(), R, sp.oo) - _spelled(limit_stated), "sympy limit R → ∞"),
        )
    )
    ceiling = (g_H + g_E) ** 2 / (4 * g_H * g_E)
    register(
        Claim(
            "L.gain.ceiling",
            "The gain ceiling",
            "spec L §3.6e",
            Provenance.DERIVED,
            "m_train = m; equality iff p_Hρ_H = p_Eρ_E and ν = σ = 0 (in the limit R → ∞)",
            sp.Le(G, ceiling),
            where=((G, gain_parameters()), *hardness()),
            prove=lambda: _both(
                _both(
                    _nonnegative(_spelled(limit_stated) - gain_g(), "G_∞ − G ≥ 0"),
                    _nonnegative(
                        ceiling - _spelled(limit_stated), "ceiling − G_∞ = (g_H−g_E)²(u_H−u_E)²/(4g_Hg_ES²)"
                    ),
                ),
                _zero(two_type.ceiling()["G_max"] - ceiling, "the stated ceiling is max over the type share"),
            ),
        )
    )


def _gain_extremes() -> None:
    """Easy tasks solved in one step (§3.6f) and any mixture (§3.6g)."""
    one_step_stated = 1 + (p_E * rho_E) ** 2 * R**2 / ((p_H * rho_H + p_E * rho_E) ** 2 * M.d * nu_H)
    register(
        Claim(
            "L.gain.easy_solved",
            "Easy tasks solved in one step",
            "spec L §3.6f; abstract claim (ii)",
            Provenance.ABSTRACT,
            "one exact step solves every easy task; MAML's solution is then w_H (proved with it)",
            sp.Eq(G, one_step_stated),
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
            "any mixture of task types, m_train = m; g_min and g_max bound the eigenvalues of "
            "Σ_i^{-1/2}Q_iΣ_i^{-1/2} over the types",
            sp.Le(G, sp.Symbol("g_max") / sp.Symbol("g_min")),
        )
    )


def _gain_extensions() -> None:
    """Few samples (§3.6h), rescaling (§3.6i) and several adaptation steps (§3.6j)."""
    g_star = (M.d + 1) / (M.m + M.d + 1)
    g_min = sp.Symbol("g_star", positive=True)
    register(
        Claim(
            "L.gain.few_samples",
            "Few samples cap the gain",
            "spec L §3.6h",
            Provenance.DERIVED,
            "m_train = m; g* = min_ρ g_m(ρ) (proved with it)",
            sp.Le(G, (1 + g_min) ** 2 / (4 * g_min)),
            hypotheses=(sp.Le(g_H, 1), sp.Le(g_E, 1)),
            where=((G, gain_parameters()), *hardness(), (g_min, g_star)),
            prove=lambda: _few_samples_proof(g_star),
        )
    )
    c = sp.Symbol("c", positive=True)
    G_c = sp.Symbol("G_c")
    register(
        Claim(
            "L.gain.rescaling",
            "Rescaling the losses",
            "spec L §3.6i",
            Provenance.DERIVED,
            "G_c: G after f_i → c f_i (ρ → cρ, σ² → cσ²) and α → α/c",
            sp.Eq(G_c, G),
            where=((G_c, _rescaled(gain_parameters(), c)), (G, gain_parameters())),
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
            "Σ = ρI, T steps with fresh batches: s_T is the expected excess after T steps from s_0, so "
            "g → g^T and the noise term gains the factor (1 − g^T)/(1 − g)",
            sp.Eq(sp.Symbol("s_T"), _multistep_stated()),
            where=MULTISTEP,
            prove=_multistep_proof,
        )
    )


Gamma_H, Gamma_E = (train_step.Gamma[k] for k in two_type.TYPES)
_BAND = (Gamma_H - Gamma_E) * (Gamma_H * rho_E**2 - Gamma_E * rho_H**2)
"""Negative exactly where one of the tied optimal α_train is negative: Γ_H/Γ_E strictly between (ρ_H/ρ_E)²
and 1."""
_RELATED = (
    "Related: Bernacchia (ICLR 2021) reports negative optimal meta-training step sizes in linear regression; "
    "that model differs (finite data, no task types), and nothing of it is claimed here."
)


def _alpha_train() -> None:
    """MAML trained with its own step size α_train, tested with α and S steps (spec L §2, §3.5, §3.6j)."""
    G_star, G_neg, G_neg_error, delta, resolution, alpha_min = sp.symbols(
        "G_star G_neg G_neg_error delta resolution alpha_min", real=True
    )
    setting = (
        "two types, MAML trained by one step of size α_train on m_train samples, both solutions tested after "
        "S steps of size α on fresh batches of m; Γ_k = g_m(ρ_k)^S; G_star: G at the derived optimum (the "
        "real roots of P₁, else the root of P₂ whose μ is closest to t*)"
    )
    register(
        Claim(
            "L.alpha_train.optimum",
            "No training step size beats the derived optimum",
            "spec L §3.7",
            Provenance.DERIVED,
            setting + "; G: the gain at any α_train. " + _RELATED,
            sp.Le(G, G_star),
            prove=_alpha_train_optimum_proof,
        )
    )
    register(
        Claim(
            "L.alpha_train.stationary",
            "The numeric optimum of G over α_train is a derived stationary point",
            "spec L §3.7",
            Provenance.DERIVED,
            setting + "; delta: the Newton distance |P/P'| from the numeric maximiser of G (bounded Brent "
            "search in u, α_train = u/(1 − |u|), in the two grid cells around the best of 201 points of "
            "(−1, 1)) to the nearer root of P₁ or P₂, over max(1, |α_train|); resolution: that search's "
            "location error there (its termination tolerance plus √(8ν/|G''|) from the flat top, ν the "
            "measured rounding noise of G)",
            sp.Le(delta, resolution),
            prove=_alpha_train_stationary_proof,
        )
    )
    register(
        Claim(
            "L.alpha_train.negative",
            "A negative training step size is optimal in a band, tied with a positive one",
            "spec L §3.7",
            Provenance.DERIVED,
            setting + "; G_neg: the largest G over α_train < 0 found by a bounded search in u ∈ (0, 1), "
            "α_train = −u/(1 − u); δG_neg: how far below the top the search's point may be (½|G''| times its "
            "squared termination error, plus four times G's measured rounding noise). Outside the band no "
            "optimal α_train is negative (L.alpha_train.positive)",
            sp.Le(G_star, G_neg + G_neg_error),
            hypotheses=(sp.Lt(_BAND, 0),),
            prove=_alpha_train_band_proof,
        )
    )
    register(
        Claim(
            "L.alpha_train.positive",
            "Outside the band every optimal training step size is non-negative",
            "spec L §3.7",
            Provenance.DERIVED,
            setting + "; alpha_min: the least of the derived optimal α_train",
            sp.Ge(alpha_min, 0),
            hypotheses=(sp.Ge(_BAND, 0),),
            prove=_alpha_train_band_proof,
        )
    )


def _alpha_train_optimum_proof() -> Proof:
    """E(t) − E(t*) = ½(u_HΓ_H + u_EΓ_E)R²(t − t*)² (so E is least at t*), and μ − t* has P₁ as its
    numerator's α_train-dependent factor (so at P₁'s real roots μ = t*)."""
    tested = {two_type.gamma[k]: train_step.Gamma[k] for k in two_type.TYPES}
    t_star = two_type.weight()["t_opt"].subs(tested)
    t = two_type.t
    curvature = (u_H * Gamma_H + u_E * Gamma_E) * R**2
    parabola = _zero(
        two_type.excess_on_segment().result.subs(tested)
        - two_type.objective_at(t_star).subs(tested)
        - _spelled(curvature) * (t - t_star) ** 2 / 2,
        "E(t) − E(t*) − ½(u_HΓ_H + u_EΓ_E)R²(t − t*)²",
    )
    dv = train_step.optimum()
    gap = sp.factor(sp.together(dv["μ(α_train)"] - t_star))
    numerator = sp.fraction(gap)[0]
    reached = _zero(
        sp.rem(sp.Poly(numerator, M.alpha_train), sp.Poly(dv["P₁"], M.alpha_train)).as_expr(),
        "P₁ divides the numerator of μ − t*",
    )
    return _both(parabola, reached)


def _alpha_train_stationary_proof() -> Proof:
    """∂E/∂α_train is a constant times P₁P₂/(m_train A)³ (the factorisation of L.alpha_train.optimum)."""
    dv = train_step.optimum()
    slope = dv["∂E/∂α_train"]
    num, _ = sp.fraction(sp.together(slope))
    quotient, rest = sp.div(
        sp.Poly(num, M.alpha_train), sp.Poly(sp.expand(dv["P₁"] * dv["P₂"]), M.alpha_train)
    )
    free = not quotient.as_expr().has(M.alpha_train)
    return Proof(
        bool(rest.is_zero and free),
        "numerator of ∂E/∂α_train = (α_train-free factor) · P₁ · P₂",
        rest.as_expr(),
    )


def _alpha_train_band_proof() -> Proof:
    """Vieta: P₁'s roots multiply to m_train(Γ_E − Γ_H)/((Γ_Eρ_H² − Γ_Hρ_E²)(d + m_train + 1)), whose sign
    is that of the band; a negative product means real roots of opposite signs. With x = Γ_H/Γ_E and
    s = ρ_H/ρ_E the sum's sign is that of (s − x)(s² − x) = λ(1 − x)(s² − x) + (1 − λ)(s² − x)²,
    λ = s/(1 + s) ∈ (0, 1): positive where the product is, so no two roots are both negative. P₂'s roots
    multiply to 1/(cρ_Hρ_E) > 0 and sum to (ρ_H + ρ_E)/(ρ_Hρ_E) > 0, c = 1 + (d + 1)/m_train."""
    dv = train_step.optimum()
    stated = (
        two_type.m_train
        * (Gamma_E - Gamma_H)
        / ((Gamma_E * rho_H**2 - Gamma_H * rho_E**2) * (M.d + two_type.m_train + 1))
    )
    product = _zero(dv["α₁α₂"] - stated, "Vieta's product of P₁'s roots")
    sign = _nonnegative(stated * _BAND, "product · band ≥ 0: the product has the band's sign")
    x, s = sp.symbols("x s", positive=True)
    lam = s / (1 + s)
    split = _zero(
        (s - x) * (s**2 - x) - lam * (1 - x) * (s**2 - x) - (1 - lam) * (s**2 - x) ** 2,
        "the sum's sign split",
    )
    c = 1 + (M.d + 1) / two_type.m_train
    p2 = sp.Poly(dv["P₂"], M.alpha_train).all_coeffs()
    vieta2 = _zero(p2[2] / p2[0] - 1 / (c * rho_H * rho_E), "P₂'s product of roots")
    vieta2_sum = _zero(-p2[1] / p2[0] - (rho_H + rho_E) / (rho_H * rho_E), "P₂'s sum of roots")
    return _both(_both(_both(product, sign), split), _both(vieta2, vieta2_sum))


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


_g, _s = sp.symbols("g s", positive=True)
MULTISTEP = ((_g, _spec_g(M.rho)), (_s, M.alpha**2 * M.sigma**2 * M.d * M.rho / M.m))
"""The names of the multistep statement: g = g_m(ρ) as stated, s = α²σ² d ρ / m."""


def _multistep_stated() -> sp.Expr:
    """g^T s_0 + s (1 − g^T)/(1 − g) in the names of :data:`MULTISTEP`."""
    s0 = sp.Symbol("s_0", nonnegative=True)
    return _g**M.T * s0 + _s * (1 - _g**M.T) / (1 - _g)


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
        subs = {two_type.m_train: M.m, M.alpha_train: M.alpha}
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
        adaptation.multistep_excess().result - _multistep_stated().subs(dict(MULTISTEP)),
        "solved recurrence minus g^T s_0 + s(1 − g^T)/(1 − g)",
    )


_register_all()
