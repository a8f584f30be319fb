"""Spec L's claims on numbers: the admissible box of two-type instances and the observables read off them.

The box (the ranges of tests/strategies.py, which draws from the same :data:`EASY_HARD`): d in 1..8,
α ∈ [0.1, 2], p_H ∈ [0.05, 0.95], ρ_H, ρ_E ∈ [0.02, 2], ν_H, ν_E ∈ [1e-4, 1] (variances), σ ∈ [1e-3, 1]
(a standard deviation), R ∈ [1e-2, 10], m in 1..200 (m_train = m); scales on a log grid. Observables: the gain
G and the hardness factors g_H, g_E from the compiled closed forms
(:func:`maml_theory.numerics.landscape.closed_form.easy_hard`), p_E = 1 − p_H. Every ``L.*`` claim whose
symbols these cover gets a check; the general-mixture claim ``L.gain.any_mixture`` gets its own box (2 or 3
types, random covariances and centres from a seed); the claims with equality hypotheses get EASY_HARD with
those equalities built in (:data:`TIED`).

Two more claims make the agreement of the routes something the verifier itself reports (a wrong compiled
closed form fails ``maml-theory verify``, not only the test suite):

- ``L.route.oracle``: the closed-form curvature Q(∞) of one task (compiled from the sympy derivation) against
  the autograd Hessian of the adapted loss (:mod:`~maml_theory.numerics.landscape.oracle`), for a random SPD
  Σ, w and w*; largest entrywise difference over max(1, largest entry of Q). Round-off of a few dozen
  operations on entries of order one: 1e-9 leaves a wide margin.
- ``L.route.montecarlo``: the closed forms' E_m(w_MAML) and E_m(w_NAL) against the Monte Carlo
  (:func:`~maml_theory.numerics.landscape.montecarlo.adapted_excess`, which never sees a closed form) of
  :data:`ROUTE_TASKS` tasks from the instance's seed; z, the larger standard score, at most Z = 6. A
  statistical check: the verifier does not search it for a worst case (that would find the largest of many
  noise draws)."""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable, Mapping
from functools import lru_cache

import numpy as np
import scipy.optimize

import maml_theory.theory.landscape.claims  # noqa: F401  (registers the claims bound here)
from maml_theory.numerics.landscape import closed_form, oracle
from maml_theory.numerics.landscape.instances import EasyHard, Mixture, TaskType
from maml_theory.numerics.landscape.montecarlo import adapted_excess
from maml_theory.numerics.verification.checks import (
    Check,
    Inadmissible,
    bind,
    claim,
    residual_claim,
    zscore_claim,
)
from maml_theory.numerics.verification.space import Param, Space
from maml_theory.theory.claims import register, registered

EASY_HARD = Space(
    (
        Param("d", 1, 8, integer=True),
        Param("alpha", 0.1, 2.0, log=True),
        Param("p_H", 0.05, 0.95),
        Param("rho_H", 0.02, 2.0, log=True),
        Param("rho_E", 0.02, 2.0, log=True),
        Param("nu_H", 1e-4, 1.0, log=True),
        Param("nu_E", 1e-4, 1.0, log=True),
        Param("sigma", 1e-3, 1.0, log=True),
        Param("R", 1e-2, 10.0, log=True),
        Param("m", 1, 200, integer=True, log=True),
    )
)


def easy_hard(params: Mapping[str, float]) -> EasyHard:
    return EasyHard(
        d=int(params["d"]),
        alpha=params["alpha"],
        p_hard=params["p_H"],
        rho_hard=params["rho_H"],
        rho_easy=params["rho_E"],
        nu_hard=params["nu_H"],
        nu_easy=params["nu_E"],
        sigma=params["sigma"],
        R=params["R"],
        m=params["m"],
    )


def gain_observables(params: Mapping[str, float]) -> dict[str, float]:
    """G, g_H, g_E and p_E at a two-type instance."""
    try:
        forms = closed_form.easy_hard(easy_hard(params))
    except closed_form.DegenerateInstance:
        raise Inadmissible from None
    return {"G": forms.gain, "g_H": forms.g_hard, "g_E": forms.g_easy, "p_E": 1.0 - params["p_H"]}


OBSERVED = frozenset({"G", "g_H", "g_E", "p_E"})

MIXTURES = Space(
    (
        Param("d", 1, 5, integer=True),
        Param("types", 2, 3, integer=True),
        Param("alpha", 0.1, 1.5, log=True),
        Param("sigma", 1e-3, 1.0, log=True),
        Param("m", 1, 200, integer=True, log=True),
        Param("seed", 0, 2**31 - 1, integer=True, fixed=True),
    )
)


def mixture(params: Mapping[str, float]) -> Mixture:
    """A general mixture from the seed: per type, Σ_k = O diag(λ) Oᵀ with λ ∈ [0.1, 2], V_k = P diag(v) Pᵀ
    with v ∈ [1e-3, 0.5], centres in [−3, 3]^d, probabilities ∝ weights in [0.1, 1] (O, P Haar rotations)."""
    rng = np.random.default_rng(int(params["seed"]))
    d, k = int(params["d"]), int(params["types"])
    weights = rng.uniform(0.1, 1.0, k)
    types = []
    for prob in weights / weights.sum():
        o, p = (np.linalg.qr(rng.standard_normal((d, d)))[0] for _ in range(2))
        cov = (o * rng.uniform(0.1, 2.0, d)) @ o.T
        opt_cov = (p * rng.uniform(1e-3, 0.5, d)) @ p.T
        types.append(TaskType(prob, (cov + cov.T) / 2, rng.uniform(-3, 3, d), (opt_cov + opt_cov.T) / 2))
    return Mixture(tuple(types), alpha=params["alpha"], sigma=params["sigma"], m=params["m"])


def mixture_observables(params: Mapping[str, float]) -> dict[str, float]:
    """G at the mixture and the hardness spread g_min, g_max (:func:`closed_form.hardness_spread`)."""
    mix = mixture(params)
    try:
        G = closed_form.mixture_forms(mix).gain
    except closed_form.DegenerateInstance:
        raise Inadmissible from None
    g_min, g_max = closed_form.hardness_spread(mix)
    return {"G": G, "g_min": g_min, "g_max": g_max}


def _tied(
    replace: Mapping[str, Param] | None = None, **derived: Callable[[Mapping[str, float]], float]
) -> Space:
    """:data:`EASY_HARD` with the parameters named in ``replace`` swapped for others, and those named in
    ``derived`` drawn no more but computed from the rest: the box of a claim whose hypotheses are equalities,
    which a random point of EASY_HARD never meets."""
    params = tuple((replace or {}).get(p.name, p) for p in EASY_HARD.params if p.name not in derived)
    return Space(params, derive=lambda v: {name: f(v) for name, f in derived.items()})


TIED = {
    "L.gain.no_separation": _tied({"R": Param("R", 0.0, 0.0)}),
    "L.gain.equal_hardness": _tied(rho_E=lambda v: v["rho_H"]),
    "L.gain.easy_solved": _tied(rho_E=lambda v: 1.0 / v["alpha"], m=lambda v: math.inf),
}
"""The boxes of the claims with equality hypotheses (R = 0; g_H = g_E through ρ_E = ρ_H; m = ∞ and
αρ_E = 1): those equalities hold at every draw."""


SEED = Param("seed", 0, 2**31 - 1, integer=True, fixed=True)
ORACLE = Space((Param("d", 1, 6, integer=True), Param("alpha", 0.1, 2.0, log=True), SEED))
ROUTE = Space((*EASY_HARD.params, SEED))
ROUTE_TASKS = 20_000
"""Tasks per Monte Carlo of the route claim: relative standard errors of about 1 % (more where the excess
is heavy tailed, at small m), enough to see a wrong term in g_m, at about 10 ms an instance."""


def oracle_residual(params: Mapping[str, float]) -> dict[str, float]:
    """Q(∞) of the compiled closed form against the autograd Hessian of one task's adapted loss, at a random
    SPD Σ (eigenvalues in [0.1, 2.1]), w and w* drawn from the instance's seed."""
    rng = np.random.default_rng(int(params["seed"]))
    d, alpha = int(params["d"]), params["alpha"]
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    cov = (q * (0.1 + 2.0 * rng.random(d))) @ q.T
    w, w_star = rng.standard_normal(d), rng.standard_normal((1, d))
    hessian = oracle.adapted_hessian(w, w_star, cov[None], alpha)
    Q, _ = closed_form.curvature(cov, alpha, 0.0, math.inf)
    return {"residual": float(np.max(np.abs(hessian - Q))) / max(1.0, float(np.max(np.abs(Q))))}


def montecarlo_score(params: Mapping[str, float]) -> dict[str, float]:
    """The larger |Monte Carlo − closed form| / SE of E_m at w_MAML and at w_NAL (w = weight · R e_1)."""
    inst = easy_hard(params)
    try:
        forms = closed_form.easy_hard(inst)
    except closed_form.DegenerateInstance:
        raise Inadmissible from None
    W = np.zeros((2, inst.d))
    W[:, 0] = np.array([forms.weight_hard_maml, forms.weight_hard_nal]) * inst.R
    est = adapted_excess(inst.mixture(), W, ROUTE_TASKS, np.random.default_rng(int(params["seed"])))
    exact = np.array([forms.excess_maml, forms.excess_nal])
    return {"z": float(np.max(np.abs(est.mean - exact) / est.se))}


TRAIN_STEP = Space(
    (
        *EASY_HARD.params,
        Param("alpha_train", -5.0, 5.0),
        Param("m_train", 1, 200, integer=True, log=True),
        Param("S", 1, 4, integer=True),
    )
)
"""The box of the α_train claims: :data:`EASY_HARD` with MAML's training step α_train ∈ [−5, 5] and batch
m_train ∈ 1..200, and S ∈ 1..4 test-time steps."""

GRID = 201
"""Grid points of the numeric search over α_train before Brent's method refines the best."""
XATOL = 1e-12
"""Brent's absolute tolerance in the search coordinate u."""


def _train_step_instance(params: Mapping[str, float]) -> EasyHard:
    return dataclasses.replace(
        easy_hard(params),
        alpha_train=params["alpha_train"],
        m_train=params["m_train"],
        inner_steps=int(params["S"]),
    )


def numeric_optimum(inst: EasyHard, negative: bool) -> tuple[float, float, float, float]:
    """The α̂ maximising G over α_train found without the closed-form optimum, G(α̂), the search's
    location error there (relative to max(1, |α̂|)), and how far below the top G(α̂) may be: ½|G''| times
    Brent's squared location error, plus 4ν (below which a flat top's points cannot be told apart).

    The search runs in u: α_train = u/(1 − |u|) for u ∈ (−1, 1) (every real), or α_train = −u/(1 − u) for
    u ∈ (0, 1) (``negative``: every negative real). The best of :data:`GRID` interior grid points, then
    scipy's bounded Brent method in the two grid cells around it (the bracket). Its location error: Brent
    stops within 2(√ε|û| + XATOL/3) of the maximum in u, times dα/du = 1/(1 − |u|)²; and a point δ from
    the top looks as good as the top when ½|G''|δ² is below twice the rounding noise ν of G, so the top is
    located to √(4ν/|G''|), taken twice for noise beyond the sampled: √(8ν/|G''|). ν is measured: the
    largest residual of a parabola fitted to G at α̂ + jτ, j = −6..6, τ = 1e-6 s, s = max(1, |α̂|) (the
    cubic term left, G‴(6τ)³/6, is below rounding), at least ε G. G'' is the second difference at a step h
    from 1e-3 s, quadrupled until the difference is 100ν or more (or h reaches s): a flat top's curvature is
    measured where it shows above the noise. And never less than the half-width found directly, by doubling
    a step from τ while G on either side stays within 4ν of G(α̂) (a top level to rounding over a wide range,
    where the quadratic model fails)."""
    lo, hi = (0.0, 1.0) if negative else (-1.0, 1.0)
    sign = -1.0 if negative else 1.0

    def alpha(u: float) -> float:
        return sign * u / (1.0 - abs(u))

    def gain(a: float) -> float:
        return closed_form.easy_hard(dataclasses.replace(inst, alpha_train=a)).gain

    us = np.linspace(lo, hi, GRID + 2)[1:-1]
    if negative:
        # Squared: grid points crowd towards α = 0, where a negative optimum can sit in a peak narrower than
        # an even cell (−0.001, between α = 0 and the first even point −0.005).
        us = us**2
    gains = [gain(alpha(u)) for u in us]
    i = int(np.argmax(gains))
    # The bracket reaches the search's end where α is finite there (u = 0, α = 0): a peak narrower than a grid
    # cell next to α = 0 (−0.001 at a grid step of 0.005) was missed.
    left = us[i - 1] if i > 0 else (lo if abs(lo) < 1 else (lo + us[0]) / 2)
    right = us[i + 1] if i + 1 < us.size else (us[-1] + hi) / 2
    found = scipy.optimize.minimize_scalar(
        lambda u: -gain(alpha(u)), bounds=(left, right), method="bounded", options={"xatol": XATOL}
    )
    u_hat = float(found.x) if -found.fun >= gains[i] else float(us[i])
    a_hat, g_hat = alpha(u_hat), gain(alpha(u_hat))
    eps = sys.float_info.epsilon
    scale = max(1.0, abs(a_hat))
    offsets = 1e-6 * scale * np.arange(-6, 7)
    near = np.array([gain(a_hat + x) for x in offsets])
    fit = np.polyval(np.polyfit(offsets, near, 2), offsets)
    noise = max(eps * abs(g_hat), float(np.max(np.abs(near - fit))))
    h = 1e-3 * scale
    while True:
        second = abs(gain(a_hat + h) - 2 * g_hat + gain(a_hat - h))
        if second >= 100 * noise or h >= scale:
            break
        h *= 4
    flat = math.sqrt(8 * noise * h**2 / second) if second > 0 else math.inf
    # A top flatter than its quadratic model (G level to rounding over a wide range: the curvature is then
    # measured far out, where the quartic terms show) is located no better than where G stays within 4ν of
    # G(α̂) on either side: found directly by doubling the step from τ.
    wide = 1e-6 * scale
    while wide < 1e6 * scale and max(gain(a_hat + wide), gain(a_hat - wide)) >= g_hat - 4 * noise:
        wide *= 2
    flat = max(flat, wide / 2)
    brent = 2 * (math.sqrt(eps) * abs(u_hat) + XATOL / 3) / (1.0 - abs(u_hat)) ** 2
    # How far below the top G(α̂) may be: Brent's location error on the quadratic part, plus the 4ν within
    # which a flat top cannot be told apart (the flat part of the location error costs no more than that).
    shortfall = 0.5 * (second / h**2) * brent**2 + 4 * noise
    return a_hat, g_hat, (brent + flat) / max(1.0, abs(a_hat)), shortfall


def _newton_distance(coeffs: tuple[float, float, float], a: float) -> float:
    """|P(a)/P'(a)| for P = C₂a² + C₁a + C₀: to first order, the distance from a to the nearest root."""
    c2, c1, c0 = coeffs
    value, slope = (c2 * a + c1) * a + c0, 2 * c2 * a + c1
    return abs(value / slope) if slope != 0 else (0.0 if value == 0 else math.inf)


@lru_cache(maxsize=64)
def _train_step_cached(key: tuple) -> dict[str, float]:
    params = dict(key)
    inst = _train_step_instance(params)
    try:
        forms = closed_form.easy_hard(inst)
        best = closed_form.optimal_alpha_train(inst)
    except closed_form.DegenerateInstance:
        raise Inadmissible from None
    if best is None:
        raise Inadmissible
    a_hat, _, resolution, _ = numeric_optimum(inst, negative=False)
    p1, p2 = closed_form.stationarity_coefficients(inst)  # not None: the optimum above exists
    _, g_neg, _, g_neg_error = numeric_optimum(inst, negative=True)
    steps = inst.inner_steps
    return {
        "G": forms.gain,
        "G_star": best.gain,
        "G_neg": g_neg,
        "G_neg_error": g_neg_error,
        "alpha_min": min(best.alpha_train),
        "delta": min(_newton_distance(p, a_hat) for p in (p1, p2)) / max(1.0, abs(a_hat)),
        "resolution": resolution,
        "Gamma_H": forms.g_hard**steps,
        "Gamma_E": forms.g_easy**steps,
    }


def train_step_observables(params: Mapping[str, float]) -> dict[str, float]:
    """The α_train claims' observables at a :data:`TRAIN_STEP` instance: G at its α_train and G_star at the
    derived optimum (:func:`closed_form.optimal_alpha_train`; Inadmissible where G does not depend on
    α_train), alpha_min the least derived optimum, G_neg the best G over negative α_train and delta the
    Newton distance from the numeric maximiser to the nearer root of P₁ or P₂ with the search's
    resolution (:func:`numeric_optimum`), Γ_k = g_m(ρ_k)^S. The four claims share one evaluation per
    instance (cached)."""
    return dict(_train_step_cached(tuple(sorted(params.items()))))


def _register_routes() -> None:
    claim(
        residual_claim(
            "L.route.oracle",
            "The closed-form curvature is the autograd Hessian",
            "spec L §4 (two independent routes to Q(∞))",
            "residual: the largest entrywise difference of the compiled Q(∞) and the autograd Hessian of "
            "f(w − α∇f(w)) − f(w*), over max(1, largest entry of Q), random SPD Σ, w, w*",
        ),
        ORACLE,
        oracle_residual,
    )
    route = zscore_claim(
        "L.route.montecarlo",
        "The closed-form excesses are the Monte Carlo's",
        "spec L §4 (two independent routes to E_m)",
        f"z: the larger |Monte Carlo − closed form| / SE of E_m(w_MAML) and E_m(w_NAL), {ROUTE_TASKS} tasks "
        "with fresh batches from the instance's seed",
    )
    register(route)
    bind(Check(route, ROUTE, montecarlo_score, search_budget=0))


def _bind_all() -> None:
    names = set(EASY_HARD.names) | OBSERVED
    for c in registered("L."):
        if c.id.startswith("L.alpha_train."):
            # Each evaluation runs two searches of about 250 closed forms: a shorter worst-case search.
            bind(Check(c, TRAIN_STEP, train_step_observables, search_budget=200))
        elif c.id == "L.gain.any_mixture":
            bind(Check(c, MIXTURES, mixture_observables))
        elif c.numeric and {s.name for s in c.symbols} <= names:
            bind(Check(c, TIED.get(c.id, EASY_HARD), gain_observables))
    _register_routes()


_bind_all()
