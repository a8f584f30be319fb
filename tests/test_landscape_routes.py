"""Spec L: the three routes of docs/architecture.md agree.

1. closed form (sympy-derived, compiled: :mod:`maml_theory.numerics.landscape.closed_form`);
2. oracle (the losses in plain code, differentiated by autograd:
  :mod:`maml_theory.numerics.landscape.oracle`);
3. simulator / Monte Carlo (:mod:`maml_theory.numerics.landscape.montecarlo`,
  :mod:`maml_theory.numerics.landscape.minimisers`).

Route 1 against route 2: relative 1e-9 (float round-off). Against Monte Carlo: |estimate − closed form|
≤ Z·SE with Z = 6, SE estimated from the same samples, fixed seeds (deterministic in CI; with a normal
estimate the false-alarm rate of one comparison is 2e-9). Which distribution each estimate has is said
where it is used.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maml_theory.numerics.landscape import closed_form, minimisers, oracle
from maml_theory.numerics.landscape.instances import EasyHard, Mixture, TaskType
from maml_theory.numerics.landscape.montecarlo import adapted_excess
from tests.strategies import common_centres_mixture, easy_hard_instances, mixtures, sample_sizes, spd_matrices
from tests.tolerances import Z

RTOL = 1e-9
INF = math.inf


def rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def general_mixture(seed: int, d: int, k: int, *, alpha: float, sigma: float, m: float) -> Mixture:
    """k types with non-isotropic Σ_k (eigenvalues in [0.2, 1.5], random axes), non-isotropic V_k and
    centres spread over a few units."""
    rng = np.random.default_rng(seed)
    types = []
    probs = rng.uniform(0.5, 1.0, k)
    probs /= probs.sum()
    probs[-1] = 1.0 - probs[:-1].sum()
    for prob in probs:
        o, p = rotation(rng, d), rotation(rng, d)
        cov = (o * rng.uniform(0.2, 1.5, d)) @ o.T
        opt_cov = (p * rng.uniform(0.0, 0.3, d)) @ p.T
        types.append(
            TaskType(prob, (cov + cov.T) / 2, 2.0 * rng.standard_normal(d), (opt_cov + opt_cov.T) / 2)
        )
    return Mixture(tuple(types), alpha=alpha, sigma=sigma, m=m)


def scale_of(a: np.ndarray) -> float:
    return max(float(np.max(np.abs(a))), 1e-300)


# --- route 1 vs route 2: closed form against the autograd oracle, to round-off ----------------------


@given(cov=spd_matrices(), alpha=st.floats(0.1, 1.5), seed=st.integers(0, 2**32 - 1))
def test_exact_gradient_curvature_is_the_oracle_hessian(cov: np.ndarray, alpha: float, seed: int) -> None:
    """Q(∞) from the derivation equals ∇²_w f(w − α∇f(w)) by autograd (second order through the inner
    step), at any w and w* (the Hessian of a quadratic does not depend on them); the noise term is 0.

    Round-off scale: the entries of Q(∞) are sums of terms bounded by ‖Σ‖(1 + α‖Σ‖)², so the tolerance
    is RTOL times that (Q itself can be near 0 where αλ ≈ 1)."""
    d = cov.shape[0]
    rng = np.random.default_rng(seed)
    w, w_star = rng.standard_normal(d), rng.standard_normal(d)
    q, noise = closed_form.curvature(cov, alpha, 0.7, INF)
    hess = oracle.adapted_hessian(w, w_star, cov, alpha)
    norm = float(np.linalg.norm(cov, 2))
    assert np.max(np.abs(q - hess)) <= RTOL * norm * (1 + alpha * norm) ** 2
    assert noise == 0.0


@pytest.mark.parametrize(("m", "sigma"), [(1, 0.5), (4, 0.0)])
def test_finite_batch_curvature_is_the_mean_oracle_hessian(m: int, sigma: float) -> None:
    """Q(m) = E_D[∇²_w f(w − αĝ(w; D))]: the autograd Hessian of the sampled one-task objective is
    PᵀΣP with P = I − αΣ̂, whose mean over batches is Q(m). Estimate: the mean over B = 40 groups of
    500 tasks of the groups' mean Hessians (the groups are iid, so per entry the standardised error is
    t-distributed with 39 degrees of freedom; P(|t₃₉| > 6) ≈ 5e-7, over d² = 9 entries ≈ 5e-6)."""
    d, alpha, groups, per_group = 3, 0.6, 40, 500
    rng = np.random.default_rng(2024 + m)
    o = rotation(rng, d)
    cov = (o * np.array([0.3, 0.8, 1.4])) @ o.T
    cov = (cov + cov.T) / 2
    mix = Mixture((TaskType(1.0, cov, np.zeros(d), 0.1 * np.eye(d)),), alpha=alpha, sigma=sigma, m=m)
    w = rng.standard_normal(d)
    hessians = []
    for _ in range(groups):
        tasks = oracle.sample_tasks(mix, per_group, rng, m=m)
        hessians.append(oracle.adapted_hessian(w, tasks.w_star, tasks.cov, alpha, tasks.X, tasks.y))
    hessians = np.array(hessians)
    mean = hessians.mean(axis=0)
    se = hessians.std(axis=0, ddof=1) / math.sqrt(groups)
    q, noise = closed_form.curvature(cov, alpha, sigma, m)
    assert np.max(np.abs(mean - q) / se) <= Z
    assert math.isclose(noise, alpha**2 * sigma**2 * np.trace(cov @ cov) / (2 * m), rel_tol=RTOL, abs_tol=0.0)


def sigma_points(center: np.ndarray, opt_cov: np.ndarray) -> np.ndarray:
    """2d points c ± √d F_j (F Fᵀ = V, F_j the columns), equally weighted: their mean is c and their
    covariance V, so the average of any quadratic over them is its exact expectation under any law of w*
    with mean c and covariance V (only these enter, spec L §1)."""
    d = center.shape[0]
    lam, vecs = np.linalg.eigh(opt_cov)
    factor = vecs * np.sqrt(np.clip(lam, 0.0, None))
    return np.concatenate([center + math.sqrt(d) * factor.T, center - math.sqrt(d) * factor.T])


def oracle_gradient(mix: Mixture, w: np.ndarray, alpha: float) -> np.ndarray:
    """∇_w Σ_k p_k E_{w*}[f_k(w − α∇f_k(w))] (m = ∞; α = 0 is the NAL objective), by autograd through
    the inner step, the expectation over w* exact by :func:`sigma_points`."""
    total = np.zeros(mix.d)
    for t in mix.types:
        points = sigma_points(t.center, t.opt_cov)
        covs = np.broadcast_to(t.cov, (len(points), mix.d, mix.d))
        total += t.prob * oracle.adapted_gradient(w, points, covs, alpha)
    return total


@given(mix=mixtures(m=INF))
def test_closed_form_minimisers_are_stationary_for_the_oracle_objectives(mix: Mixture) -> None:
    """m = ∞: the autograd gradient of the exact MAML objective vanishes at the closed-form w_MAML, and
    that of the NAL objective at w_NAL. Round-off scale: the gradient is a sum of terms p_k C_k (w − w*)
    with C_k ≤ ‖Σ_k‖(1 + α‖Σ_k‖)², so the tolerance is RTOL times Σ_k p_k that bound (‖w − c_k‖ + √(tr V_k)).
    The closed-form minimiser solves with an explicit inverse, whose residual grows with cond(Q̄) ≤ 4e4
    here (G_FLOOR bounds Q_k ⪰ 1e-4 I, ‖Q_k‖ ≤ 8), still far below RTOL."""
    forms = closed_form.mixture_forms(mix)
    for w, alpha in ((forms.w_maml, mix.alpha), (forms.w_nal, 0.0)):
        scale = sum(
            t.prob
            * float(np.linalg.norm(t.cov, 2))
            * (1 + alpha * float(np.linalg.norm(t.cov, 2))) ** 2
            * (float(np.linalg.norm(w - t.center)) + math.sqrt(float(np.trace(t.opt_cov))))
            for t in mix.types
        )
        assert np.max(np.abs(oracle_gradient(mix, w, alpha))) <= RTOL * max(scale, 1e-12)


# --- two derivation paths: the two-type forms against the general mixture forms ----------------------


def assert_two_type_matches_mixture(inst: EasyHard) -> None:
    """closed_form.easy_hard (specialised sympy derivation, §3.5) against closed_form.mixture_forms at
    inst.mixture() (general derivation, §3.3, with m_train for w_MAML and m for E_m), to RTOL."""
    two = closed_form.easy_hard(inst)
    general = closed_form.mixture_forms(inst.mixture())
    e_maml, e_nal = general.excess(general.w_maml), general.excess(general.w_nal)
    assert math.isclose(two.excess_maml, e_maml, rel_tol=RTOL)
    assert math.isclose(two.excess_nal, e_nal, rel_tol=RTOL)
    assert math.isclose(two.gain, e_nal / e_maml, rel_tol=RTOL)
    # w_H = R e_1, w_E = 0: the solutions are (weight · R) e_1.
    for weight, w in ((two.weight_hard_maml, general.w_maml), (two.weight_hard_nal, general.w_nal)):
        expected = np.zeros(inst.d)
        expected[0] = weight * inst.R
        assert np.allclose(w, expected, rtol=RTOL, atol=RTOL * max(inst.R, 1e-300))


@given(inst=easy_hard_instances(finite_m=True, m_train=sample_sizes(finite=True)))
def test_two_type_forms_equal_the_mixture_forms(inst: EasyHard) -> None:
    """Finite m and m_train, drawn independently (so m_train ≠ m in most examples, = m in some)."""
    assert_two_type_matches_mixture(inst)


@given(
    inst=easy_hard_instances(m=st.sampled_from([INF, 1.0, 7.0]), m_train=st.sampled_from([INF, 1.0, 30.0]))
)
def test_two_type_forms_equal_the_mixture_forms_with_exact_gradients(inst: EasyHard) -> None:
    """The same with m = ∞ or m_train = ∞ (the exact inner gradient) involved."""
    assert_two_type_matches_mixture(inst)


def assert_quadratic_identity(mix: Mixture, seed: int) -> None:
    """Spec §3.4 with m_train = m: E_m(w) − E_m(w_MAML) = ½ (w − w_MAML)ᵀ Q̄ (w − w_MAML) at random w,
    Q̄ = Σ_k p_k Q_k(m) from closed_form.curvature. The left side is a difference, so the tolerance is
    RTOL relative to E_m(w) (the larger of the two values)."""
    forms = closed_form.mixture_forms(mix)
    q_bar = sum(t.prob * closed_form.curvature(t.cov, mix.alpha, mix.sigma, mix.m)[0] for t in mix.types)
    rng = np.random.default_rng(seed)
    base = forms.excess(forms.w_maml)
    for _ in range(3):
        w = forms.w_maml + rng.standard_normal(mix.d) * rng.uniform(0.01, 3.0)
        lhs = forms.excess(w) - base
        rhs = 0.5 * (w - forms.w_maml) @ q_bar @ (w - forms.w_maml)
        assert abs(lhs - rhs) <= RTOL * forms.excess(w)
        assert lhs >= -RTOL * base  # hence w_MAML minimises E_m and G ≥ 1


@given(mix=mixtures(finite_m=True), seed=st.integers(0, 2**32 - 1))
def test_quadratic_identity_around_w_maml(mix: Mixture, seed: int) -> None:
    assert_quadratic_identity(mix, seed)


@given(mix=mixtures(m=INF), seed=st.integers(0, 2**32 - 1))
def test_quadratic_identity_around_w_maml_exact_gradient(mix: Mixture, seed: int) -> None:
    assert_quadratic_identity(mix, seed)


def test_mixture_excess_near_its_minimum_to_round_off() -> None:
    """E_m at w_MAML to relative round-off where it is small: common centres and ν = 0, so
    E_m(w) = ½ (w − c)ᵀQ̄(w − c) + Σ_k p_k n_k and, at the computed w_MAML (c to round-off), E_m is the
    noise term Σ_k p_k n_k (≈ 5e-7; the quadratic part is ~1e-31). Fails if the excess is evaluated in a
    form whose terms are O(‖Q‖‖c‖²) and cancel (found by hypothesis, see test_landscape_claims)."""
    mix = common_centres_mixture()
    forms = closed_form.mixture_forms(mix)
    noise = sum(t.prob * closed_form.curvature(t.cov, mix.alpha, mix.sigma, mix.m)[1] for t in mix.types)
    assert abs(forms.w_maml[0] - 1.5) <= 1e-15
    assert math.isclose(forms.excess(forms.w_maml), noise, rel_tol=RTOL)


def test_quadratic_identity_needs_m_train_equal_m() -> None:
    """The check has teeth: trained with m_train ≠ m, w_MAML is not the minimiser of E_m and the
    identity around it fails by far more than round-off; around the m-trained minimiser it holds."""
    mix = general_mixture(5, 3, 2, alpha=0.8, sigma=0.3, m=2)
    off = Mixture(mix.types, mix.alpha, mix.sigma, mix.m, m_train=50)
    forms, forms_off = closed_form.mixture_forms(mix), closed_form.mixture_forms(off)
    q_bar = sum(t.prob * closed_form.curvature(t.cov, mix.alpha, mix.sigma, mix.m)[0] for t in mix.types)
    w = forms.w_maml + np.array([0.5, -0.3, 0.2])
    e_w = forms_off.excess(w)
    assert e_w == forms.excess(w)  # the same E_m: only the point w_MAML differs
    residual_off = e_w - forms_off.excess(forms_off.w_maml)
    residual_off -= 0.5 * (w - forms_off.w_maml) @ q_bar @ (w - forms_off.w_maml)
    residual = e_w - forms.excess(forms.w_maml) - 0.5 * (w - forms.w_maml) @ q_bar @ (w - forms.w_maml)
    assert abs(residual_off) > 1e-3 * e_w
    assert abs(residual) <= RTOL * e_w


# --- closed form vs Monte Carlo -------------------------------------------------------------------
#
# Each Monte Carlo value below is a sample mean of iid per-task excesses (each task with its own type,
# optimum and fresh batch), so by the CLT it is asymptotically N(E_m(w), SE²), with SE the sample
# standard deviation / √n from the same samples. Several points share tasks (common random numbers).

EASY_HARD = {
    "m=1": EasyHard(d=5, m=1, sigma=0.5, nu_hard=0.01, R=3.0),
    "m=2": EasyHard(d=3, m=2, sigma=0.3, p_hard=0.5, nu_hard=0.02, nu_easy=0.2, R=2.0),
    "m=100 default": EasyHard(),
    "m=inf": EasyHard(d=4, m=INF, sigma=0.3, nu_hard=0.05, R=4.0),
    "m=2, m_train=inf": EasyHard(d=3, m=2, m_train=INF, sigma=0.2, nu_hard=0.05, R=3.0),
    "m=1, m_train=20": EasyHard(d=6, m=1, m_train=20, sigma=0.4, p_hard=0.3, rho_hard=0.3, R=2.0),
}
GENERAL = {
    "d=3, 2 types, m=3": general_mixture(11, 3, 2, alpha=0.7, sigma=0.4, m=3),
    "d=2, 3 types, m=1": general_mixture(12, 2, 3, alpha=0.5, sigma=0.6, m=1),
    "d=3, 2 types, m=inf": general_mixture(13, 3, 2, alpha=0.9, sigma=0.4, m=INF),
}
N_MC = 200_000


@pytest.mark.parametrize("name", list(EASY_HARD))
def test_two_type_excesses_and_gain_match_monte_carlo(name: str) -> None:
    """easy_hard's E_m(w_MAML), E_m(w_NAL) at its own weights (w = weight·R e_1) within 6 SE of the
    Monte Carlo means; the Monte Carlo gain mean[NAL]/mean[MAML] within 6 delta-method SE of G (the ratio
    of two jointly asymptotically normal means is asymptotically normal with that SE)."""
    inst = EASY_HARD[name]
    forms = closed_form.easy_hard(inst)
    W = np.zeros((2, inst.d))
    W[:, 0] = np.array([forms.weight_hard_maml, forms.weight_hard_nal]) * inst.R
    est = adapted_excess(inst.mixture(), W, N_MC, np.random.default_rng(100))
    exact = np.array([forms.excess_maml, forms.excess_nal])
    assert np.all(np.abs(est.mean - exact) <= Z * est.se), (est.mean - exact) / est.se
    ratio = est.mean[1] / est.mean[0]
    assert abs(ratio - forms.gain) <= Z * est.ratio_se(1, 0), (ratio, forms.gain, est.ratio_se(1, 0))


@pytest.mark.parametrize("name", list(EASY_HARD) + list(GENERAL))
def test_mixture_excess_matches_monte_carlo(name: str) -> None:
    """mixture_forms' E_m at w_MAML, w_NAL and a random w within 6 SE of the Monte Carlo means (for
    general Σ the simulator draws every sample in full)."""
    mix = EASY_HARD[name].mixture() if name in EASY_HARD else GENERAL[name]
    forms = closed_form.mixture_forms(mix)
    rng = np.random.default_rng(200)
    W = np.stack([forms.w_maml, forms.w_nal, forms.w_maml + rng.standard_normal(mix.d)])
    est = adapted_excess(mix, W, N_MC, np.random.default_rng(201))
    exact = np.array([forms.excess(w) for w in W])
    assert np.all(np.abs(est.mean - exact) <= Z * est.se), (est.mean - exact) / est.se
    ratio = est.mean[1] / est.mean[0]
    assert abs(ratio - forms.gain) <= Z * est.ratio_se(1, 0)


@pytest.mark.parametrize("m", [3, 20, INF])
def test_monte_carlo_error_shrinks_like_one_over_root_n(m: float) -> None:
    """SE(4N)/SE(N) = 1/2 within Z times the relative sampling error of that ratio of independent
    estimates (√(r_N² + r_4N²), r the relative error of each SE from its own kurtosis), and at N and 4N
    the estimate is within Z SE of the closed form. Independent seeds for the two sample sizes. The
    one-step excess is heavy tailed at small m (kurtosis near 10³ at m = 3, 10² at m = 20, 5 at m = ∞), so
    the band is about 40 %, 12 % and 2 %: m = ∞ is the sharp check of the 1/√N law (at m = 3 the sample
    kurtosis itself differs twofold between N and 4N, so that band is only indicative)."""
    inst = EasyHard(d=4, m=m, sigma=0.3, nu_hard=0.05, R=3.0)
    forms = closed_form.easy_hard(inst)
    w = np.zeros(inst.d)
    w[0] = forms.weight_hard_maml * inst.R
    n = 100_000
    small = adapted_excess(inst.mixture(), w, n, np.random.default_rng(300))
    large = adapted_excess(inst.mixture(), w, 4 * n, np.random.default_rng(301))
    band = Z * math.hypot(small.se_relative_error[0], large.se_relative_error[0])
    assert abs(large.se[0] / small.se[0] / 0.5 - 1) <= band, (large.se[0] / small.se[0], band)
    assert abs(large.mean[0] - forms.excess_maml) <= Z * large.se[0]
    assert abs(small.mean[0] - forms.excess_maml) <= Z * small.se[0]


# --- minimisers found without closed forms --------------------------------------------------------

MINIMISER_CASES = {
    "two-type m=5": EasyHard(d=3, m=5, sigma=0.3, nu_hard=0.05, R=3.0).mixture(),
    "two-type m=10, m_train=1": EasyHard(d=3, m=10, m_train=1, sigma=0.3, nu_hard=0.05, R=3.0).mixture(),
    "general m=4": general_mixture(21, 3, 2, alpha=0.7, sigma=0.4, m=4),
    "general m=inf": general_mixture(22, 3, 3, alpha=0.6, sigma=0.4, m=INF),
}


@pytest.mark.parametrize("name", list(MINIMISER_CASES))
def test_sampled_minimisers_converge_to_the_derived_ones(name: str) -> None:
    """The exact minimisers of the sampled MAML (batch m_train) and NAL objectives over N = 200 000
    tasks against the closed-form w_MAML, w_NAL: max over the d coordinates of |z| ≤ 6, z the error over
    the delete-a-group jackknife SE (20 groups; per coordinate z is close to t₁₉, P(|t₁₉| > 6) ≈ 1e-5, so
    by Bonferroni the max over d ≤ 3 coordinates false-alarms with probability ≤ 3e-5)."""
    mix = MINIMISER_CASES[name]
    forms = closed_form.mixture_forms(mix)
    maml = minimisers.sampled_maml_minimiser(mix, 200_000, np.random.default_rng(400))
    nal = minimisers.sampled_nal_minimiser(mix, 200_000, np.random.default_rng(401))
    assert np.max(np.abs(maml.mean - forms.w_maml) / maml.se) <= Z, (maml.mean, forms.w_maml, maml.se)
    assert np.max(np.abs(nal.mean - forms.w_nal) / nal.se) <= Z, (nal.mean, forms.w_nal, nal.se)


def test_sgd_lands_near_w_maml() -> None:
    """SGD on the sampled MAML objective (autograd gradients, fresh tasks and batches each step, the
    Polyak average of the last half of 2000 steps × 32 tasks, n_eff = 32 000 tasks).

    Criterion: per coordinate |w_sgd − w_MAML| ≤ 6·SE_eff with SE_eff = SE_N √(N/n_eff), SE_N the
    jackknife SE of the least-squares minimiser of N tasks. Why: the objective is quadratic, and the
    Polyak–Ruppert average of constant-step SGD is asymptotically normal with the covariance
    H⁻¹SH⁻¹/n_eff of the least-squares (M-)estimator on the same n_eff tasks (its gradient noise S is the
    same), which SE_N √(N/n_eff) estimates. The remaining transient from w0 is e^{-O(1000 lr λ)}, and the
    isotropic Q̄ of a two-type instance keeps it negligible. The tolerance is also required to be well
    below ‖w_MAML − w_NAL‖, so the check tells MAML's solution from NAL's."""
    mix = EasyHard(d=2, m=20, sigma=0.3, nu_hard=0.01, nu_easy=0.1, R=5.0).mixture()
    forms = closed_form.mixture_forms(mix)
    n = 200_000
    ls = minimisers.sampled_maml_minimiser(mix, n, np.random.default_rng(500))
    steps, per_step, tail = 2000, 32, 0.5
    w = minimisers.sgd_maml(mix, np.random.default_rng(501), steps=steps, tasks_per_step=per_step, tail=tail)
    se_eff = ls.se * math.sqrt(n / (tail * steps * per_step))
    assert np.all(np.abs(w - forms.w_maml) <= Z * se_eff), (w - forms.w_maml) / se_eff
    assert Z * float(np.linalg.norm(se_eff)) < 0.25 * float(np.linalg.norm(forms.w_maml - forms.w_nal))


@pytest.mark.slow
def test_sgd_lands_near_w_maml_general_mixture() -> None:
    """The same criterion on a non-isotropic mixture (batch m = 3), 4000 steps × 32 tasks."""
    mix = general_mixture(31, 2, 2, alpha=0.6, sigma=0.3, m=3)
    forms = closed_form.mixture_forms(mix)
    n = 200_000
    ls = minimisers.sampled_maml_minimiser(mix, n, np.random.default_rng(510))
    steps, per_step, tail = 4000, 32, 0.5
    w = minimisers.sgd_maml(mix, np.random.default_rng(511), steps=steps, tasks_per_step=per_step, tail=tail)
    se_eff = ls.se * math.sqrt(n / (tail * steps * per_step))
    assert np.all(np.abs(w - forms.w_maml) <= Z * se_eff), (w - forms.w_maml) / se_eff
