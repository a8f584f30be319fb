"""Spec L's claims (§3.6 a–j) as property tests.

Three layers, each able to fail on its own:
1. every registered ``L.*`` claim is there (its proof runs in tests/test_verify.py, one test per claim);
2. the claims whose conclusions are written in the instance's parameters are evaluated, through
   ``Claim.evaluate``, at admissible instances drawn by hypothesis (tests/strategies.py);
3. independently of the claims' sympy forms, each §3.6 statement is checked directly on the numbers of
   the compiled closed forms (``closed_form.easy_hard``, ``closed_form.mixture_forms``), and §3.6j by a
   Monte Carlo of T adaptation steps; finally a searched instance with m_train ≠ m and G < 1, confirmed
   by Monte Carlo.

Round-off tolerances are relative 1e-9 (RTOL) for identities and 1e-12 for inequalities between
computed numbers (the approach to the spec L §3.6d limit allows a running bound of its rounding instead);
Monte Carlo ones are Z = 6 standard errors, fixed seeds (docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, example, given
from hypothesis import strategies as st

import maml_theory.theory.landscape.claims  # noqa: F401  (registers the L.* claims)
from maml_theory.numerics.landscape import closed_form, minimisers
from maml_theory.numerics.landscape.instances import EasyHard, Mixture
from maml_theory.numerics.landscape.montecarlo import adapted_excess
from maml_theory.numerics.landscape.search import find_gain_below_one
from maml_theory.theory.claims import Claim, registered
from maml_theory.theory.landscape import model as M
from maml_theory.theory.landscape import two_type
from tests.strategies import (
    common_centres_mixture,
    easy_hard_instances,
    easy_hard_values,
    mixtures,
    sample_sizes,
)
from tests.tolerances import Z

RTOL = 1e-9
ROUND = 1e-12
INF = math.inf

CLAIMS = {c.id: c for c in registered("L.")}
SECTION_3_6 = {
    "a": "L.gain.equal_hardness",
    "b": "L.gain.no_separation",
    "c": "L.gain.monotone.R",
    "d": "L.gain.far_limit",
    "e": "L.gain.ceiling",
    "f": "L.gain.easy_solved",
    "g": "L.gain.any_mixture",
    "h": "L.gain.few_samples",
    "i": "L.gain.rescaling",
    "j": "L.gain.multistep",
}


def replace(inst: EasyHard, **changes: float) -> EasyHard:
    return dataclasses.replace(inst, **changes)


def gain(inst: EasyHard) -> float:
    return closed_form.easy_hard(inst).gain


# --- 1. symbolic proofs -----------------------------------------------------------------------------


def test_every_section_3_6_statement_is_registered() -> None:
    """So that the parametrised tests below cannot pass by finding no claims."""
    missing = [cid for cid in SECTION_3_6.values() if cid not in CLAIMS]
    assert not missing
    for name in ("R", "nu_H", "nu_E", "sigma"):
        assert f"L.gain.monotone.{name}" in CLAIMS


# --- 2. scalar conclusions evaluated at admissible instances ----------------------------------------

# The conclusions in the instance's parameters, with m_train = m and m finite; for each, which side of
# the relation (as evaluated, oriented lhs ≤ rhs) is G itself, to cross-check it with closed_form.
SCALAR = {
    "L.gain.at_least_one": "rhs",
    "L.gain.monotone.R": None,
    "L.gain.monotone.nu_H": None,
    "L.gain.monotone.nu_E": None,
    "L.gain.monotone.sigma": None,
    "L.gain.ceiling": "lhs",
    "L.gain.few_samples": "lhs",
}


@pytest.mark.parametrize("claim_id", list(SCALAR))
@given(data=st.data())
def test_scalar_claim_holds_at_admissible_instances(claim_id: str, data: st.DataObject) -> None:
    """Draw a finite-m instance (contracting, g_H, g_E ≤ 1, for §3.6h whose hypotheses need it), check
    it is admissible, and evaluate the claim; where a side of the relation is G, it must equal the
    compiled closed form's G."""
    claim: Claim = CLAIMS[claim_id]
    contracting = claim_id == "L.gain.few_samples"
    inst = data.draw(easy_hard_instances(finite_m=True, contracting=contracting))
    values = easy_hard_values(inst)
    assert {s.name for s in claim.symbols} <= set(values)
    assert claim.admissible(values)
    evaluation = claim.evaluate(values)
    assert evaluation.holds, evaluation
    side = SCALAR[claim_id]
    if side is not None:
        assert math.isclose(getattr(evaluation, side), gain(inst), rel_tol=RTOL)


# Found by hypothesis (1500-example runs): R = 0, so G ≡ 1 and ∂G/∂ν = 0 exactly, but E_m(w_MAML) is only
# the noise term (~3e-8), so the compiled derivative is a cancelling sum of terms ~1/E_m ~ 3e7 whose float
# value carries ~2⁻²⁷ of round-off; Claim.evaluate's tolerance for "≤ 0" is absolute (1e-9 × max(1, |0|)),
# not scaled to the terms, and reports a counterexample to a true claim.
TINY_EXCESS = {
    "L.gain.monotone.nu_E": EasyHard(
        d=4,
        alpha=0.1,
        p_hard=0.1875,
        rho_hard=2.0,
        rho_easy=1.0,
        nu_hard=0.0,
        nu_easy=0.0,
        sigma=0.001,
        R=0.0,
        m=1,
    ),
    "L.gain.monotone.nu_H": EasyHard(
        d=1,
        alpha=0.1,
        p_hard=0.875,
        rho_hard=1.0,
        rho_easy=1.0,
        nu_hard=0.0,
        nu_easy=0.0,
        sigma=0.001953125,
        R=0.0,
        m=1,
    ),
}


@pytest.mark.parametrize("claim_id", list(TINY_EXCESS))
def test_monotone_claim_at_a_tiny_excess(claim_id: str) -> None:
    """Regression for the round-off above: the claim holds at this admissible instance (G = 1 for every ν)."""
    inst = TINY_EXCESS[claim_id]
    assert gain(inst) == 1.0 and gain(replace(inst, nu_hard=0.5, nu_easy=0.5)) == 1.0
    evaluation = CLAIMS[claim_id].evaluate(easy_hard_values(inst))
    assert evaluation.holds, evaluation


@given(inst=easy_hard_instances(finite_m=True), c=st.floats(0.1, 10.0))
def test_rescaling_claim_holds(inst: EasyHard, c: float) -> None:
    claim = CLAIMS["L.gain.rescaling"]
    evaluation = claim.evaluate(easy_hard_values(inst) | {"c": c})
    assert evaluation.holds, evaluation


def test_few_samples_claim_rejects_non_contracting_instances() -> None:
    """The hypotheses are live: g_E > 1 (αρ_E beyond 2m/(m+d+1)) is outside them."""
    values = easy_hard_values(EasyHard(d=3, alpha=1.0, rho_easy=1.9, m=5))
    assert not CLAIMS["L.gain.few_samples"].admissible(values)


# --- 3. the §3.6 statements on the compiled closed forms --------------------------------------------


@given(inst=easy_hard_instances())
def test_a_equal_curvature_no_gain(inst: EasyHard) -> None:
    """(a) ρ_H = ρ_E ⇒ g_H = g_E ⇒ G = 1 (any R, ν, σ, p, m); the claim's own evaluation agrees."""
    same = replace(inst, rho_hard=inst.rho_easy)
    forms = closed_form.easy_hard(same)
    assert forms.g_hard == forms.g_easy
    assert math.isclose(forms.gain, 1.0, rel_tol=RTOL)
    claim = CLAIMS["L.gain.equal_hardness"]
    values = {"G": forms.gain, "g_H": forms.g_hard, "g_E": forms.g_easy}
    assert claim.admissible(values) and claim.evaluate(values).holds


@given(inst=easy_hard_instances(finite_m=True))
def test_a_two_curvatures_with_equal_hardness_no_gain(inst: EasyHard) -> None:
    """(a) finite m: g_m is a parabola in ρ symmetric about ρ* = m/(α(m+d+1)), so ρ_H = 2ρ* − ρ_E ≠ ρ_E
    (when positive) has g_H = g_E, and G = 1."""
    rho_star = inst.m / (inst.alpha * (inst.m + inst.d + 1))
    rho_other = 2 * rho_star - inst.rho_easy
    assume(rho_other > 1e-3 * rho_star and abs(rho_other - inst.rho_easy) > 1e-3 * rho_star)
    forms = closed_form.easy_hard(replace(inst, rho_hard=rho_other))
    assert math.isclose(forms.g_hard, forms.g_easy, rel_tol=RTOL)
    assert math.isclose(forms.gain, 1.0, rel_tol=RTOL)


@given(inst=easy_hard_instances(R=0.0, m_train=sample_sizes()))
def test_b_no_separation_no_gain(inst: EasyHard) -> None:
    """(b) R = 0 ⇒ G = 1 (even with m_train ≠ m: both solutions are the common centre)."""
    forms = closed_form.easy_hard(inst)
    assert math.isclose(forms.gain, 1.0, rel_tol=RTOL)
    assert CLAIMS["L.gain.no_separation"].evaluate({"G": forms.gain, "R": inst.R}).holds


@pytest.mark.parametrize(
    ("name", "direction", "floor"),
    [("R", 1, 0.1), ("nu_hard", -1, 1e-3), ("nu_easy", -1, 1e-3), ("sigma", -1, 1e-2)],
)
@given(inst=easy_hard_instances(), factor=st.floats(1.01, 10.0))
def test_c_gain_is_monotone(inst: EasyHard, name: str, direction: int, floor: float, factor: float) -> None:
    """(c) with m_train = m, G increases in R and decreases in ν_H, ν_E, σ: two instances differing in
    that one parameter (the larger value = factor × the smaller, or floor if the smaller is 0).
    Non-strict, up to round-off (σ has no effect when m = ∞; R none when g_H = g_E)."""
    low = getattr(inst, name)
    high = low * factor if low > 0 else floor
    g_low, g_high = gain(inst), gain(replace(inst, **{name: high}))
    if direction > 0:
        assert g_high >= g_low * (1 - ROUND)
    else:
        assert g_high <= g_low * (1 + ROUND)


def far_limit(forms: closed_form.EasyHardForms, inst: EasyHard) -> float:
    """§3.6d: 1 + u_H u_E (g_H − g_E)²/(S² g_H g_E), written here from the spec."""
    u_h, u_e = inst.p_hard * inst.rho_hard, inst.p_easy * inst.rho_easy
    g_h, g_e = forms.g_hard, forms.g_easy
    return 1 + u_h * u_e * (g_h - g_e) ** 2 / ((u_h + u_e) ** 2 * g_h * g_e)


@given(inst=easy_hard_instances(nu_hard=0.0, nu_easy=0.0, sigma=0.0, R=st.floats(0.01, 10.0)))
def test_d_limit_is_the_gain_without_spread_or_noise(inst: EasyHard) -> None:
    """(d) with ν = σ = 0 and R > 0, G equals the R → ∞ limit exactly."""
    forms = closed_form.easy_hard(inst)
    assert math.isclose(forms.gain, far_limit(forms, inst), rel_tol=RTOL)


U = 2.0**-53
"""Unit round-off of float64: an operation's result is exact to a relative u."""


def rounding_bound(
    expr: sp.Expr, values: Mapping[sp.Symbol, float], errors: Mapping[sp.Symbol, float] | None = None
) -> tuple[float, float]:
    """(value, bound on its float64 rounding error) of ``expr`` evaluated operation by operation at
    ``values``, whose entries carry absolute errors ``errors`` (default exact): a running error analysis to
    first order in u (Higham, Accuracy and Stability of Numerical Algorithms, §3.3), of the operations of
    the expression tree, in whatever order they are done:
    - a sum of n terms x_i with errors e_i: Σe_i + (n − 1)·u·Σ|x_i| (each partial sum is at most Σ|x_i|);
    - a product of n factors: Σ_i e_i Π_{j≠i}|x_j| + (n − 1)·u·|Πx|;
    - x^k: |k||x|^{k−1}e + u|1/x| for k = −1 (one division), + 2u|x^k| otherwise (pow is within one ulp);
    - a number: exact if float64 holds it (1/2), else u|x|.
    It bounds the error of any evaluation order of the same operations (lambdify's included), so the gap
    between the computed and exact value of a cancelling sum comes out as u times the size of its terms,
    not of the result."""
    errors = errors or {}
    if expr.is_Symbol:
        return values[expr], errors.get(expr, 0.0)
    if expr.is_Number:
        x = float(expr)
        return x, 0.0 if sp.Rational(x) == expr else U * abs(x)
    parts = [rounding_bound(a, values, errors) for a in expr.args]
    if isinstance(expr, sp.Add):
        x = math.fsum(v for v, _ in parts)
        size = math.fsum(abs(v) for v, _ in parts)
        return x, math.fsum(e for _, e in parts) + (len(parts) - 1) * U * size
    if isinstance(expr, sp.Mul):
        x = math.prod(v for v, _ in parts)
        spread = math.fsum(
            e * math.prod(abs(w) for j, (w, _) in enumerate(parts) if j != i)
            for i, (_, e) in enumerate(parts)
        )
        return x, spread + (len(parts) - 1) * U * abs(x)
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer:
        (b, e), k = parts[0], int(expr.exp)
        x = b**k
        return x, abs(k) * abs(b) ** (k - 1) * e + (U if k == -1 else 2 * U) * abs(x)
    raise TypeError(f"no rounding bound for {type(expr).__name__}: {expr}")


def gain_rounding(inst: EasyHard, forms: closed_form.EasyHardForms) -> float:
    """A bound on the float64 rounding error of the computed G = E(λ)/E(μ) of ``forms`` at ``inst``: the
    weights t = λ (γ = 1), μ (γ = g) of u_Hγ_H/(u_Hγ_H + u_Eγ_E) and E(t) = ½R²[u_Hγ_H(1 − t)² +
    u_Eγ_Et²] + K by :func:`rounding_bound` of the derived expressions the closed form compiles (E(t)
    expanded in t: near t = 1 its terms are ~u_Hγ_H R²/2 while E is u_Hγ_H(1 − t)²R²/2 + …, the
    cancellation behind the failure this bound replaces), the weights' errors carried into E, and the
    division's u: |ΔG|/G ≤ ΔE(λ)/E(λ) + ΔE(μ)/E(μ) + u. The inputs γ_k = g_k and η_k (and so K) are taken
    as the floats the closed form computed: the statement G(R) ↑ L as R → ∞ holds for any γ_k > 0, η_k ≥ 0,
    and ``far_limit`` uses the same g_k."""
    H, E = two_type.TYPES
    step = {two_type.gamma[H]: forms.g_hard, two_type.gamma[E]: forms.g_easy}
    noise = {two_type.eta[k]: 0.0 for k in two_type.TYPES}
    if inst.sigma > 0:  # η_k = α²dρ_k²σ²/(2m): its value sizes K's terms; K itself drops out of the claim
        shared = {M.alpha: inst.alpha, M.d: inst.d, M.sigma: inst.sigma, M.m: inst.m}
        for k, r in ((H, inst.rho_hard), (E, inst.rho_easy)):
            noise[two_type.eta[k]] = rounding_bound(two_type.noise_per_type(), {**shared, M.rho: r})[0]
    values = {
        M.d: inst.d,
        two_type.p[H]: inst.p_hard,
        two_type.p[E]: inst.p_easy,
        two_type.rho[H]: inst.rho_hard,
        two_type.rho[E]: inst.rho_easy,
        two_type.nu[H]: inst.nu_hard,
        two_type.nu[E]: inst.nu_easy,
        two_type.R: inst.R,
        **step,
        **noise,
    }
    weight, excess = two_type.weight()["t_opt"], two_type.excess_on_segment().result
    relative = U
    for t, gammas in ((forms.weight_hard_nal, dict.fromkeys(step, 1.0)), (forms.weight_hard_maml, step)):
        _, t_error = rounding_bound(weight, {**values, **gammas})
        e, e_error = rounding_bound(excess, {**values, two_type.t: t}, {two_type.t: t_error})
        relative += e_error / e
    return forms.gain * relative


def far_limit_rounding(inst: EasyHard, forms: closed_form.EasyHardForms) -> float:
    """A bound on the float64 rounding error of :func:`far_limit`: its operations, as an expression in
    the same inputs, through :func:`rounding_bound` (the quotient counted as a reciprocal and a product,
    one rounding more than ``far_limit`` does)."""
    p_h, p_e, r_h, r_e, g_h, g_e = sp.symbols("p_h p_e r_h r_e g_h g_e")
    u_h, u_e = p_h * r_h, p_e * r_e
    limit = 1 + u_h * u_e * (g_h - g_e) ** 2 / ((u_h + u_e) ** 2 * g_h * g_e)
    values = dict(
        zip(
            (p_h, p_e, r_h, r_e, g_h, g_e),
            (inst.p_hard, inst.p_easy, inst.rho_hard, inst.rho_easy, forms.g_hard, forms.g_easy),
            strict=True,
        )
    )
    return rounding_bound(limit, values)[1]


# Found by the dev profile: E(λ) ≈ 2.8e-3 R² is a cancelling sum of terms of 15–31 R² (λ ≈ 0.997), so the
# computed G is off by ~1e-12 (gap −1.17e-12), beyond the fixed 1e-12 · L the test allowed before; the
# rounding bound of G here is 7.6e-11.
@example(
    inst=EasyHard(
        d=3,
        alpha=1.0,
        p_hard=0.90625,
        rho_hard=2.0,
        rho_easy=0.0625,
        nu_hard=0.0,
        nu_easy=0.0,
        sigma=0.0,
        R=1.0,
        m=1,
    )
)
@given(inst=easy_hard_instances())
def test_d_gain_approaches_the_limit_as_r_grows(inst: EasyHard) -> None:
    """(d) along R = 10^j, j = 0..12, G approaches the limit L from below, monotonically, and at R = 1e12
    (bR² ≥ 1e24 b far above the spread and noise term K for the strategies' ranges) the remaining gap is
    below 1e-6 of L − 1.

    Each comparison allows the rounding of what it compares and nothing else: ΔL and ΔG_j bounded by
    :func:`far_limit_rounding` and :func:`gain_rounding`, and u·L for the subtraction L − G_j. Consecutive
    gaps share the computed L, so their difference allows the two G's errors only."""
    forms = closed_form.easy_hard(inst)
    limit, limit_error = far_limit(forms, inst), far_limit_rounding(inst, forms)
    gaps, gain_errors = [], []
    for j in range(13):
        at_r = replace(inst, R=10.0**j)
        forms_r = closed_form.easy_hard(at_r)
        gaps.append(limit - forms_r.gain)
        gain_errors.append(gain_rounding(at_r, forms_r) + U * limit)
    assert all(gap >= -(limit_error + error) for gap, error in zip(gaps, gain_errors, strict=True))
    for (earlier, e_earlier), (later, e_later) in itertools.pairwise(zip(gaps, gain_errors, strict=True)):
        assert later <= earlier + e_earlier + e_later
    assert gaps[-1] <= 1e-6 * (limit - 1) + limit_error + gain_errors[-1]


@given(inst=easy_hard_instances())
def test_e_gain_is_below_the_ceiling(inst: EasyHard) -> None:
    """(e) G ≤ (g_H + g_E)²/(4 g_H g_E); the reported ceiling is that value."""
    forms = closed_form.easy_hard(inst)
    ceiling = (forms.g_hard + forms.g_easy) ** 2 / (4 * forms.g_hard * forms.g_easy)
    assert math.isclose(forms.gain_ceiling, ceiling, rel_tol=ROUND)
    assert forms.gain <= ceiling * (1 + ROUND)


@given(inst=easy_hard_instances(nu_hard=0.0, nu_easy=0.0, sigma=0.0, R=st.floats(0.01, 10.0)))
def test_e_ceiling_is_attained_iff_balanced(inst: EasyHard) -> None:
    """(e) equality iff p_Hρ_H = p_Eρ_E and ν = σ = 0: with ν = σ = 0, balancing the probabilities
    (p_H = ρ_E/(ρ_H + ρ_E)) attains the ceiling, and an unbalanced instance (|u_H − u_E| ≥ 5% of S,
    g_H, g_E 5% apart) stays below it by more than round-off."""
    balanced = replace(inst, p_hard=inst.rho_easy / (inst.rho_hard + inst.rho_easy))
    forms = closed_form.easy_hard(balanced)
    assert math.isclose(forms.gain, forms.gain_ceiling, rel_tol=RTOL)
    forms = closed_form.easy_hard(inst)
    u_h, u_e = inst.p_hard * inst.rho_hard, inst.p_easy * inst.rho_easy
    g_h, g_e = forms.g_hard, forms.g_easy
    assume(abs(u_h - u_e) >= 0.05 * (u_h + u_e) and abs(g_h - g_e) >= 0.05 * (g_h + g_e))
    assert forms.gain_ceiling - forms.gain > RTOL * forms.gain_ceiling


@pytest.mark.parametrize("spread", [{"nu_hard": 0.01}, {"nu_easy": 0.05}, {"sigma": 0.3}])
def test_e_ceiling_is_not_attained_with_spread_or_noise(spread: dict) -> None:
    """(e) the other half of the iff: balanced (u_H = u_E) but with ν > 0 or σ > 0, G < ceiling, by more
    than round-off."""
    inst = EasyHard(
        d=3,
        p_hard=0.5,
        rho_hard=0.3,
        rho_easy=0.3 * 3,
        m=10,
        R=2.0,
        **({"nu_hard": 0.0, "nu_easy": 0.0, "sigma": 0.0} | spread),
    )
    inst = replace(inst, p_hard=inst.rho_easy / (inst.rho_hard + inst.rho_easy))
    forms = closed_form.easy_hard(inst)
    assert forms.gain_ceiling - forms.gain > RTOL * forms.gain_ceiling


@given(inst=easy_hard_instances(m=INF, nu_hard=st.floats(1e-4, 1.0)), nu_easy=st.floats(0.0, 1.0))
def test_f_easy_tasks_solved_in_one_step(inst: EasyHard, nu_easy: float) -> None:
    """(f) m = ∞ and α = 1/ρ_E (g_E = 0): w_MAML = w_H, G = 1 + (p_Eρ_E)²R²/((p_Hρ_H + p_Eρ_E)² d ν_H),
    whatever ν_E; the claim's stated form agrees."""
    assume(abs(inst.rho_hard / inst.rho_easy - 1) >= 0.05)  # g_H > 0: otherwise every task is solved
    solved = replace(inst, alpha=1.0 / inst.rho_easy)
    forms = closed_form.easy_hard(solved)
    assert math.isclose(forms.weight_hard_maml, 1.0, rel_tol=RTOL)
    u_h, u_e = solved.p_hard * solved.rho_hard, solved.p_easy * solved.rho_easy
    stated = 1 + u_e**2 * solved.R**2 / ((u_h + u_e) ** 2 * solved.d * solved.nu_hard)
    assert math.isclose(forms.gain, stated, rel_tol=RTOL)
    assert math.isclose(gain(replace(solved, nu_easy=nu_easy)), forms.gain, rel_tol=RTOL)
    evaluation = CLAIMS["L.gain.easy_solved"].evaluate(easy_hard_values(solved) | {"G": forms.gain})
    assert evaluation.holds, evaluation


def test_f_holds_to_rounding_where_the_gain_is_near_a_million() -> None:
    """(f) at the corner of the checks' box where G ≈ 1e6 (d = 1, ν_H = 1e-4, ρ_H = 0.02, R = 10): the
    closed forms keep g_E = (1 − αρ_E)² vanishing to rounding, so G meets the stated form to 1e-12, by the
    two-type forms and by the general mixture's (expanded as 1 − 2αρ_E + α²ρ_E², or Σ − 2αΣ² + α²Σ³, the
    κ⁰ term left ~1e-16 there and cost up to seven digits)."""
    for alpha in (0.1, 0.3254920191368145, 0.6079538560904059, 2.0):
        inst = EasyHard(
            d=1, alpha=alpha, p_hard=0.05, rho_hard=0.02, rho_easy=1.0 / alpha, nu_hard=1e-4, R=10.0, m=INF
        )
        forms = closed_form.easy_hard(inst)
        u_h, u_e = inst.p_hard * inst.rho_hard, inst.p_easy * inst.rho_easy
        stated = 1 + u_e**2 * inst.R**2 / ((u_h + u_e) ** 2 * inst.d * inst.nu_hard)
        assert stated > 9e5
        assert math.isclose(forms.gain, stated, rel_tol=1e-12), (alpha, forms.gain / stated - 1)
        general = closed_form.mixture_forms(inst.mixture()).gain
        assert math.isclose(general, stated, rel_tol=1e-12), (alpha, general / stated - 1)


def assert_any_mixture(mix: Mixture) -> None:
    forms = closed_form.mixture_forms(mix)
    g_min, g_max = closed_form.hardness_spread(mix)
    G = forms.gain
    assert G >= 1 - RTOL
    evaluation = CLAIMS["L.gain.any_mixture"].evaluate({"G": G, "g_max": g_max, "g_min": g_min})
    assert evaluation.holds, evaluation


@given(mix=mixtures(finite_m=True))
def test_g_any_mixture_gain_between_one_and_hardness_spread(mix: Mixture) -> None:
    """(g) any mixture, m_train = m: 1 ≤ G ≤ g_max/g_min (claim L.gain.any_mixture evaluated)."""
    assert_any_mixture(mix)


def test_g_any_mixture_with_common_centres() -> None:
    """Regression (found by hypothesis): common centres, ν = 0, so w_MAML = w_NAL = c and G = 1, E_m being
    the noise term alone (5e-7). MixtureForms.excess evaluates the quadratic in expanded form
    (½wᵀQw − wᵀQc + ½cᵀQc), whose O(1) terms cancel to round-off ~1e-16 absolute at w = c − 2e-16, a
    relative error ~2e-9 in E_m(w_MAML): G came out 1 − 1.75e-9 < 1 − RTOL."""
    mix = common_centres_mixture()
    assert_any_mixture(mix)


@given(mix=mixtures(m=INF))
def test_g_any_mixture_exact_gradient(mix: Mixture) -> None:
    """(g) the same with m = m_train = ∞."""
    assert_any_mixture(mix)


@given(inst=easy_hard_instances(finite_m=True, contracting=True))
def test_h_few_samples_cap(inst: EasyHard) -> None:
    """(h) g_H, g_E ≤ 1 ⇒ G ≤ (1 + g*)²/(4g*), g* = (d+1)/(m+d+1)."""
    forms = closed_form.easy_hard(inst)
    assert forms.g_hard <= 1 and forms.g_easy <= 1
    g_star = (inst.d + 1) / (inst.m + inst.d + 1)
    assert forms.gain <= (1 + g_star) ** 2 / (4 * g_star) * (1 + ROUND)


@given(d=st.integers(1, 8), m=st.integers(1, 200).map(float), alpha=st.floats(0.1, 2.0))
def test_h_few_samples_cap_is_attained(d: int, m: float, alpha: float) -> None:
    """(h) the cap is tight: g_E = g* at ρ_E = ρ* = m/(α(m+d+1)), g_H = 1 at ρ_H = 2ρ*, balanced
    p_Hρ_H = p_Eρ_E, ν = σ = 0."""
    rho_star = m / (alpha * (m + d + 1))
    inst = EasyHard(
        d=d,
        alpha=alpha,
        p_hard=1 / 3,
        rho_hard=2 * rho_star,
        rho_easy=rho_star,
        nu_hard=0.0,
        nu_easy=0.0,
        sigma=0.0,
        R=1.0,
        m=m,
    )
    g_star = (d + 1) / (m + d + 1)
    forms = closed_form.easy_hard(inst)
    assert math.isclose(forms.g_easy, g_star, rel_tol=RTOL) and math.isclose(forms.g_hard, 1.0, rel_tol=RTOL)
    assert math.isclose(forms.gain, (1 + g_star) ** 2 / (4 * g_star), rel_tol=RTOL)


@given(inst=easy_hard_instances(m_train=sample_sizes()), c=st.floats(0.1, 10.0))
def test_i_rescaling_invariance(inst: EasyHard, c: float) -> None:
    """(i) f_i → c f_i (ρ → cρ, σ → √c σ) and α → α/c: G unchanged, the excesses multiplied by c
    (any m_train)."""
    scaled = replace(
        inst,
        rho_hard=c * inst.rho_hard,
        rho_easy=c * inst.rho_easy,
        sigma=math.sqrt(c) * inst.sigma,
        alpha=inst.alpha / c,
    )
    a, b = closed_form.easy_hard(inst), closed_form.easy_hard(scaled)
    assert math.isclose(b.gain, a.gain, rel_tol=RTOL)
    assert math.isclose(b.excess_maml, c * a.excess_maml, rel_tol=RTOL)
    assert math.isclose(b.excess_nal, c * a.excess_nal, rel_tol=RTOL)


def simulate_steps(
    rng: np.random.Generator, e0: np.ndarray, rho: float, alpha: float, sigma: float, m: int, T: int, n: int
) -> np.ndarray:
    """‖e_T‖² for n iid tasks with Σ = ρI: T steps e ← e − α ĝ, each on a fresh batch of m samples,
    ĝ = (1/m) Xᵀ(X e − z) (X w − y = X e − z with e = w − w*), x ~ N(0, ρI), z ~ N(0, σ²).
    Vectorised over tasks; a Python loop over the T steps only."""
    d = e0.shape[0]
    e = np.broadcast_to(e0, (n, d)).copy()
    for _ in range(T):
        X = math.sqrt(rho) * rng.standard_normal((n, m, d))
        z = sigma * rng.standard_normal((n, m))
        residual = np.einsum("nmd,nd->nm", X, e) - z
        e -= (alpha / m) * np.einsum("nmd,nm->nd", X, residual)
    return np.sum(e * e, axis=1)


@pytest.mark.parametrize(
    ("d", "m", "rho", "alpha", "sigma"), [(3, 1, 0.8, 0.6, 0.5), (4, 5, 0.5, 1.0, 0.3), (2, 2, 1.5, 0.9, 1.0)]
)
def test_j_three_steps_match_monte_carlo(d: int, m: int, rho: float, alpha: float, sigma: float) -> None:
    """(j) E‖e_T‖² = g^T s_0 + s (1 − g^T)/(1 − g), T = 3, with g = g_m(ρ) and s = α²σ²dρ/m from the
    compiled closed form Q(m) = ρ g I, noise n = ρ s/2. The Monte Carlo value is a sample mean of
    n = 200 000 iid ‖e_T‖² (asymptotically normal, SE from the same samples); within 6 SE. The claim's
    stated formula (L.gain.multistep) equals the one written here."""
    T, n = 3, 200_000
    rng = np.random.default_rng(700 + d)
    e0 = rng.standard_normal(d)
    s0 = float(e0 @ e0)
    q, noise = closed_form.curvature(rho * np.eye(d), alpha, sigma, m)
    g, s = q[0, 0] / rho, 2 * noise / rho
    formula = g**T * s0 + s * (1 - g**T) / (1 - g)
    samples = simulate_steps(rng, e0, rho, alpha, sigma, m, T, n)
    mean, se = samples.mean(), samples.std(ddof=1) / math.sqrt(n)
    assert abs(mean - formula) <= Z * se, (mean - formula) / se
    values = {"T": T, "alpha": alpha, "d": d, "m": m, "rho": rho, "s_0": s0, "s_T": formula, "sigma": sigma}
    assert CLAIMS["L.gain.multistep"].evaluate(values).holds


# --- a found instance with m_train ≠ m and G < 1 -----------------------------------------------------


@pytest.fixture(scope="module")
def losing_instance() -> EasyHard:
    inst = find_gain_below_one(np.random.default_rng(0))
    assert inst is not None
    return inst


def test_search_finds_maml_losing_to_nal(losing_instance: EasyHard) -> None:
    """The search returns an instance with m_train ≠ m and a decisive G < 0.8 (closed form)."""
    inst = losing_instance
    assert inst.m_train != inst.m
    assert gain(inst) < 0.8


def test_losing_instance_confirmed_by_monte_carlo(losing_instance: EasyHard) -> None:
    """The same instance by Monte Carlo (200 000 tasks, common random numbers): the ratio of the sample
    means E_m(w_NAL)/E_m(w_MAML) at the closed-form solutions is within 6 delta-method SE of G, and its
    upper bound ratio + 6 SE is below 1. Then without closed forms at all: w_MAML and w_NAL from the
    sampled least-squares minimisers (MAML with batch m_train), and the Monte Carlo ratio at those points
    still below 1 by 6 SE."""
    inst = losing_instance
    forms = closed_form.easy_hard(inst)
    mix = inst.mixture()
    W = np.zeros((2, inst.d))
    W[:, 0] = np.array([forms.weight_hard_maml, forms.weight_hard_nal]) * inst.R
    est = adapted_excess(mix, W, 200_000, np.random.default_rng(800))
    ratio, se = est.mean[1] / est.mean[0], est.ratio_se(1, 0)
    assert abs(ratio - forms.gain) <= Z * se, (ratio, forms.gain, se)
    assert ratio + Z * se < 1
    maml = minimisers.sampled_maml_minimiser(mix, 100_000, np.random.default_rng(801))
    nal = minimisers.sampled_nal_minimiser(mix, 100_000, np.random.default_rng(802))
    est = adapted_excess(mix, np.stack([maml.mean, nal.mean]), 200_000, np.random.default_rng(803))
    assert est.mean[1] / est.mean[0] + Z * est.ratio_se(1, 0) < 1


def test_search_reports_none_when_the_target_is_out_of_reach() -> None:
    """A target below anything the box allows (G is bounded below there) gives None, not a bad instance."""
    assert find_gain_below_one(np.random.default_rng(1), target=1e-12, n_random=20, n_polish=1) is None
