"""Monte Carlo of the adapted excess E_m(w) (maml_theory.numerics.landscape.montecarlo), without closed forms.

Tolerances follow docs/architecture.md: a Monte Carlo mean is asymptotically normal around E_m(w) with the
standard error estimated from the same samples; two independent estimates differ by
N(0, se₁² + se₂²); we allow z = 6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from maml_theory.numerics.landscape import oracle
from maml_theory.numerics.landscape.instances import EasyHard, Mixture, TaskType
from maml_theory.numerics.landscape.montecarlo import (
    ExcessEstimate,
    _Moments,
    adapted_excess,
    sd_relative_error,
)
from maml_theory.numerics.validation import ParameterError
from tests.tolerances import Z, spread_tolerance


def two_type_mixture(d: int, m: float, *, sigma: float = 0.4, anisotropic: bool = False) -> Mixture:
    """An isotropic hard type and a second type, isotropic or not, both with spread optima."""
    rng = np.random.default_rng(1234)
    g = rng.standard_normal((d, d))
    opt_cov = 0.5 * (g @ g.T) / d  # a non-isotropic optimum covariance: the full draw of η
    hard = TaskType(0.4, 0.3 * np.eye(d), rng.standard_normal(d), opt_cov)
    h = rng.standard_normal((d, d))
    cov_easy = (h @ h.T) / d + 0.5 * np.eye(d) if anisotropic else 0.9 * np.eye(d)
    easy = TaskType(0.6, cov_easy, rng.standard_normal(d), 0.1 * np.eye(d))
    return Mixture((hard, easy), alpha=0.7, sigma=sigma, m=m)


def points(d: int, q: int, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((q, d))


def assert_close(a: ExcessEstimate, b_mean: np.ndarray, b_se: np.ndarray) -> None:
    """Two independent estimates of the same E_m: |difference| ≤ Z √(se_a² + se_b²)."""
    bound = Z * np.sqrt(a.se**2 + b_se**2)
    assert np.all(np.abs(a.mean - b_mean) <= bound), (a.mean, b_mean, bound)


# --- reproducibility ------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [5, math.inf])
@pytest.mark.parametrize("anisotropic", [False, True])
def test_same_seed_bit_identical_and_other_seed_differs(m: float, anisotropic: bool) -> None:
    mix = two_type_mixture(4, m, anisotropic=anisotropic)
    W = points(4, 2)
    first = adapted_excess(mix, W, 3000, np.random.default_rng(11))
    again = adapted_excess(mix, W, 3000, np.random.default_rng(11))
    other = adapted_excess(mix, W, 3000, np.random.default_rng(12))
    assert np.array_equal(first.mean, again.mean) and np.array_equal(first.cov, again.cov)
    assert not np.any(first.mean == other.mean)


def test_shapes_of_the_estimate() -> None:
    mix = two_type_mixture(3, 4)
    single = adapted_excess(mix, np.zeros(3), 100, np.random.default_rng(0))
    several = adapted_excess(mix, points(3, 5), 100, np.random.default_rng(0))
    assert single.mean.shape == single.se.shape == (1,) and single.cov.shape == (1, 1)
    assert several.mean.shape == several.se.shape == (5,) and several.cov.shape == (5, 5)
    assert several.n == 100


# --- deterministic cases, by hand -----------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 4])
def test_no_spread_exact_gradient_is_deterministic(d: int) -> None:
    """ν = 0, σ = 0, m = inf, one type: every task's excess is ½ ρ (1 − αρ)² ‖w − c‖², SE 0."""
    rho, alpha = 0.8, 0.5
    center = np.linspace(-1.0, 1.0, d)
    mix = Mixture((TaskType(1.0, rho * np.eye(d), center, np.zeros((d, d))),), alpha=alpha, m=math.inf)
    W = points(d, 3)
    est = adapted_excess(mix, W, 500, np.random.default_rng(3))
    exact = 0.5 * rho * (1 - alpha * rho) ** 2 * np.sum((W - center) ** 2, axis=1)
    assert np.allclose(est.mean, exact, rtol=1e-13, atol=0.0)
    assert np.all(est.se <= 1e-14 * exact)


def test_two_point_masses_give_a_bernoulli_mixture_across_many_chunks() -> None:
    """ν = σ = 0, m = inf, two types: the per-task excess takes two values, a (type 1), b (type 2).

    The type counts are random, but the estimated mean fixes the fraction p̂ of type-2 tasks, and
    then the sample variance is (b − a)² p̂ (1 − p̂) N/(N − 1) exactly; a tiny chunk makes the merge
    of chunks carry it.
    """
    d, alpha = 3, 0.4
    rho = (0.5, 2.0)
    centers = (np.array([1.0, 0.0, 0.0]), np.array([0.0, -2.0, 1.0]))
    types = tuple(
        TaskType(0.5, r * np.eye(d), c, np.zeros((d, d))) for r, c in zip(rho, centers, strict=True)
    )
    mix = Mixture(types, alpha=alpha, m=math.inf)
    w = np.array([0.3, 0.2, -0.1])
    a, b = (0.5 * r * (1 - alpha * r) ** 2 * np.sum((w - c) ** 2) for r, c in zip(rho, centers, strict=True))
    n = 1001
    # A budget of 300 entries makes chunks of a few dozen tasks, so many merges.
    est = adapted_excess(mix, w, n, np.random.default_rng(5), chunk=300)
    p = (est.mean[0] - a) / (b - a)
    assert 0.3 < p < 0.7
    assert math.isclose(p * n, round(p * n), abs_tol=1e-6)  # a whole number of type-2 tasks
    variance = (b - a) ** 2 * p * (1 - p) * n / (n - 1)
    assert math.isclose(est.cov[0, 0] * n, variance, rel_tol=1e-9)


@pytest.mark.parametrize(("m", "sigma", "nu"), [(1, 0.0, 0.0), (3, 0.5, 0.2), (12, 1.0, 0.0)])
def test_one_dimension_matches_hand_derivation(m: int, sigma: float, nu: float) -> None:
    """d = 1, x ~ N(0, ρ): w⁺ − w* = (1 − αρS) e + (α/m) Σ_j x_j z_j with S = χ²_m/m (mean 1,
    variance 2/m) and e = w − w*, so, the cross terms having mean zero,
    E_m = ½ ρ [((w − c)² + ν)((1 − αρ)² + 2α²ρ²/m) + α²ρσ²/m]."""
    rho, alpha, center, w = 0.7, 0.9, 0.4, -0.6
    mix = Mixture((TaskType(1.0, [[rho]], [center], [[nu]]),), alpha=alpha, sigma=sigma, m=m)
    est = adapted_excess(mix, [w], 200_000, np.random.default_rng(8))
    gain = (1 - alpha * rho) ** 2 + 2 * alpha**2 * rho**2 / m
    exact = 0.5 * rho * (((w - center) ** 2 + nu) * gain + alpha**2 * rho * sigma**2 / m)
    assert abs(est.mean[0] - exact) <= Z * est.se[0]


@pytest.mark.parametrize("q", [1, 3])
@pytest.mark.parametrize("isotropic_optima", [True, False])
def test_exact_gradient_isotropic_matches_hand_derivation(q: int, isotropic_optima: bool) -> None:
    """m = inf, Σ = ρI: w⁺ − w* = (1 − αρ)(w − w*), so E_∞(w) = ½ρ(1 − αρ)² (‖w − c‖² + tr V)."""
    d, rho, alpha = 5, 0.6, 0.5
    g = np.random.default_rng(71).standard_normal((d, d))
    opt_cov = np.eye(d) if isotropic_optima else g @ g.T / d
    center = np.arange(d, dtype=float)
    mix = Mixture((TaskType(1.0, rho * np.eye(d), center, opt_cov),), alpha=alpha, m=math.inf)
    W = points(d, q)
    est = adapted_excess(mix, W, 100_000, np.random.default_rng(72))
    spread = np.sum((W - center) ** 2, axis=1) + np.trace(opt_cov)
    exact = 0.5 * rho * (1 - alpha * rho) ** 2 * spread
    assert np.all(np.abs(est.mean - exact) <= Z * est.se)


# --- agreement with independent routes ------------------------------------------------------------


def test_exact_gradient_agrees_with_a_per_task_autograd_loop() -> None:
    """m = inf: a plain loop, one task at a time, w* drawn in full, the step by autograd."""
    mix = two_type_mixture(3, math.inf, anisotropic=True)
    W = points(3, 2)
    est = adapted_excess(mix, W, 100_000, np.random.default_rng(21))
    tasks = oracle.sample_tasks(mix, 2000, np.random.default_rng(22))
    values = np.array(
        [
            [oracle.adapted_loss(w, w_star, cov, mix.alpha) for w in W]
            for w_star, cov in zip(tasks.w_star, tasks.cov, strict=True)
        ]
    )
    assert_close(est, values.mean(axis=0), values.std(axis=0, ddof=1) / math.sqrt(len(values)))


@pytest.mark.parametrize("q", [1, 2, 5])
@pytest.mark.parametrize(("d", "m"), [(4, 6), (3, 1), (2, 30)])
def test_finite_batch_agrees_with_the_autograd_oracle_on_full_draws(q: int, d: int, m: int) -> None:
    """Finite m: the reduced draws against full draws of X and y, inner step by autograd."""
    mix = two_type_mixture(d, m, anisotropic=(d == 4))
    W = points(d, q)
    est = adapted_excess(mix, W, 100_000, np.random.default_rng(31))
    tasks = oracle.sample_tasks(mix, 20_000, np.random.default_rng(32), m=m)
    values = np.stack(
        [oracle.adapted_loss(w, tasks.w_star, tasks.cov, mix.alpha, tasks.X, tasks.y) for w in W],
        axis=1,
    )
    assert_close(est, values.mean(axis=0), values.std(axis=0, ddof=1) / math.sqrt(len(values)))


@pytest.mark.parametrize(("d", "m", "q"), [(5, 4, 1), (5, 2, 3), (2, 8, 4), (3, math.inf, 2)])
def test_isotropic_fast_path_agrees_with_the_general_path(d: int, m: float, q: int) -> None:
    """Σ = ρI takes the frame reduction, Σ = ρ diag(1, …, 1, 1 + 1e-12) the full draw of U."""
    mix = two_type_mixture(d, m)
    nudge = np.ones(d)
    nudge[-1] += 1e-12
    nudged = Mixture(
        tuple(TaskType(t.prob, t.cov * nudge, t.center, t.opt_cov) for t in mix.types),
        mix.alpha,
        mix.sigma,
        mix.m,
    )
    W = points(d, q)
    fast = adapted_excess(mix, W, 100_000, np.random.default_rng(41))
    full = adapted_excess(nudged, W, 100_000, np.random.default_rng(42))
    assert_close(fast, full.mean, full.se)


# --- standard errors ------------------------------------------------------------------------------


def test_standard_error_shrinks_like_one_over_root_n() -> None:
    """se(16N)/se(N) = 1/4 within Z times the relative sampling error of that ratio of independent
    estimates, √(r_N² + r_16N²) with r the relative error of each se from its own kurtosis."""
    mix = two_type_mixture(4, 5)
    W = points(4, 2)
    small = adapted_excess(mix, W, 20_000, np.random.default_rng(51))
    large = adapted_excess(mix, W, 320_000, np.random.default_rng(52))
    band = Z * np.hypot(small.se_relative_error, large.se_relative_error)
    assert np.all(np.abs(large.se / small.se / 0.25 - 1) <= band), (large.se / small.se / 0.25 - 1, band)


@pytest.mark.parametrize("sizes", [(1000,), (1, 999), (7, 500, 3, 490), (2, 2, 996)])
def test_merged_moments_equal_the_moments_of_all_rows(sizes: tuple[int, ...]) -> None:
    """The chunk merge gives the central moments of the concatenated rows (to rounding), whatever the
    split; rows of a heavy-tailed law, offset far from 0, so that raw moments would lose digits."""
    rng = np.random.default_rng(55)
    rows = 1e3 + rng.standard_exponential((sum(sizes), 3)) ** 2
    moments = _Moments.empty(3)
    for part in np.split(rows, np.cumsum(sizes)[:-1]):
        moments = moments.merged(part)
    c = rows - rows.mean(axis=0)
    assert moments.n == rows.shape[0]
    np.testing.assert_allclose(moments.mean, rows.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(moments.m2, c.T @ c, rtol=1e-11)
    np.testing.assert_allclose(moments.m3, (c**3).sum(axis=0), rtol=1e-10)
    np.testing.assert_allclose(moments.m4, (c**4).sum(axis=0), rtol=1e-11)
    est = moments.estimate()
    np.testing.assert_allclose(
        est.kurtosis, rows.shape[0] * (c**4).sum(axis=0) / (c**2).sum(axis=0) ** 2, rtol=1e-10
    )


def test_kurtosis_of_a_chi_square_excess() -> None:
    """With the exact gradient (m = ∞) at w = c the excess is ½(1 − αρ)²ρν χ²_d, of kurtosis 3 + 12/d;
    the estimate's own sampling error is taken from 20 independent replicates."""
    d, rho, nu = 3, 0.5, 0.2
    mix = Mixture(
        (TaskType(1.0, rho * np.eye(d), np.ones(d), nu * np.eye(d)),), alpha=0.5, sigma=0.3, m=math.inf
    )
    rng = np.random.default_rng(56)
    kurtosis = np.array([adapted_excess(mix, np.ones(d), 50_000, rng).kurtosis[0] for _ in range(20)])
    se = kurtosis.std(ddof=1) / math.sqrt(kurtosis.size)
    assert abs(kurtosis.mean() - (3 + 12 / d)) <= Z * se, (kurtosis.mean(), se)


@pytest.mark.parametrize(("law", "kurtosis"), [("normal", 3.0), ("exponential", 9.0)])
def test_sd_relative_error_matches_the_spread_of_sample_deviations(law: str, kurtosis: float) -> None:
    """sd(ŝ)/s for n = 200 draws of a law of known kurtosis, against the spread of ŝ over 4000 replicates;
    the band is Z standard errors of that spread, estimated from 20 independent groups of replicates (so the
    function under test does not set its own tolerance)."""
    n, groups, per_group = 200, 20, 200
    rng = np.random.default_rng(71)
    draw = rng.standard_normal if law == "normal" else rng.standard_exponential
    sd = draw((groups, per_group, n)).std(axis=2, ddof=1)
    spreads = sd.std(axis=1, ddof=1) / sd.mean(axis=1)
    measured, se = spreads.mean(), spreads.std(ddof=1) / math.sqrt(groups)
    predicted = float(sd_relative_error(kurtosis, n))
    assert abs(measured - predicted) <= Z * se, (measured, predicted, se)


def test_ratio_standard_error_matches_the_spread_of_replicates() -> None:
    """The delta-method SE of mean₀/mean₁ (common random numbers) against the standard deviation of
    the ratio over 100 independent replicates, within Z times that standard deviation's relative sampling
    error (about 7 %, from the replicates' kurtosis)."""
    mix = two_type_mixture(3, 4)
    W = np.array([[0.2, 0.1, 0.0], [0.3, 0.0, 0.1]])
    rng = np.random.default_rng(61)
    replicates = [adapted_excess(mix, W, 2000, rng) for _ in range(100)]
    ratios = np.array([e.mean[0] / e.mean[1] for e in replicates])
    predicted = np.mean([e.ratio_se(0, 1) for e in replicates])
    assert abs(ratios.std(ddof=1) / predicted - 1) <= spread_tolerance(ratios)
    # For nearby points the common random numbers pay off: the SE is far below the one the same
    # per-point SEs would give for independent estimates.
    first = replicates[0]
    uncorrelated = first.mean[0] / first.mean[1] * math.hypot(*(first.se / first.mean))
    assert first.ratio_se(0, 1) < 0.5 * uncorrelated


def test_ratio_se_by_hand() -> None:
    cov = np.array([[4.0, 1.0], [1.0, 9.0]]) * 1e-4
    est = ExcessEstimate(
        mean=np.array([2.0, 3.0]), se=np.sqrt(np.diag(cov)), cov=cov, kurtosis=np.full(2, 3.0), n=10
    )
    r = 2.0 / 3.0
    by_hand = r * math.sqrt(4e-4 / 4 + 9e-4 / 9 - 2 * 1e-4 / 6)
    assert math.isclose(est.ratio_se(0, 1), by_hand, rel_tol=1e-12)
    assert est.ratio_se(1, 1) == pytest.approx(0.0, abs=1e-15)


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_tasks": 1}, "n_tasks"),
        ({"n_tasks": 2.5}, "n_tasks"),
        ({"W": np.zeros(4)}, "W"),
        ({"W": np.zeros((2, 4))}, "W"),
        ({"W": np.zeros((0, 3))}, "W"),
        ({"W": np.zeros((1, 1, 3))}, "W"),
        ({"W": np.array([0.0, np.nan, 1.0])}, "W"),
        ({"m": 0}, "m"),
        ({"m": 2.5}, "m"),
        ({"chunk": 0}, "chunk"),
    ],
)
def test_bad_inputs_name_the_parameter(kwargs: dict, name: str) -> None:
    args = {"W": np.zeros(3), "n_tasks": 10} | kwargs
    W = args.pop("W")
    n_tasks = args.pop("n_tasks")
    with pytest.raises(ParameterError) as info:
        adapted_excess(EasyHard(d=3).mixture(), W, n_tasks, np.random.default_rng(0), **args)
    assert info.value.name == name
