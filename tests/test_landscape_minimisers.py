"""The autograd oracle (maml_theory.numerics.landscape.oracle) and the sampled minimisers (.minimisers).

Oracle values are compared with the one-step update written out by hand (tiny facts derived in the
tests); minimisers with scipy.optimize on the same sampled objective, with each other, and with
exact degenerate cases. Monte Carlo comparisons use z = 6 standard errors (docs/architecture.md).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given
from hypothesis import strategies as st

from maml_theory.numerics.landscape import minimisers, oracle
from maml_theory.numerics.landscape.instances import EasyHard, Mixture, TaskType
from maml_theory.numerics.validation import ParameterError
from tests.tolerances import Z, spread_tolerance


def random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    g = rng.standard_normal((d, d))
    return g @ g.T / d + 0.3 * np.eye(d)


def small_mixture(m: float = 5, *, sigma: float = 0.3) -> Mixture:
    """d = 2: an isotropic type and an anisotropic one, with spread optima."""
    rng = np.random.default_rng(99)
    hard = TaskType(0.4, 0.3 * np.eye(2), np.array([2.0, 0.5]), 0.1 * np.eye(2))
    easy = TaskType(0.6, random_spd(rng, 2), np.array([-1.0, 0.3]), 0.05 * np.eye(2))
    return Mixture((hard, easy), alpha=0.7, sigma=sigma, m=m)


# --- oracle: the losses and their autograd derivatives against hand-written steps -----------------


@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 4), m=st.integers(1, 6))
def test_adapted_loss_is_the_loss_after_the_hand_written_step(seed: int, d: int, m: int) -> None:
    """ĝ = (1/m) Xᵀ(Xw − y) (or Σ(w − w*) without data), w⁺ = w − αĝ, and the value is
    ½ (w⁺ − w*)ᵀ Σ (w⁺ − w*) + σ²/2."""
    rng = np.random.default_rng(seed)
    cov, w, w_star = random_spd(rng, d), rng.standard_normal(d), rng.standard_normal(d)
    X, y = rng.standard_normal((m, d)), rng.standard_normal(m)
    alpha, sigma = rng.uniform(0.1, 1.0), rng.uniform(0.0, 1.0)

    def by_hand(gradient: np.ndarray) -> float:
        e = w - alpha * gradient - w_star
        return 0.5 * e @ cov @ e + 0.5 * sigma**2

    sample = oracle.adapted_loss(w, w_star, cov, alpha, X, y, sigma)
    population = oracle.adapted_loss(w, w_star, cov, alpha, sigma=sigma)
    assert math.isclose(sample, by_hand(X.T @ (X @ w - y) / m), rel_tol=1e-11)
    assert math.isclose(population, by_hand(cov @ (w - w_star)), rel_tol=1e-11)
    residual = X @ w - y
    assert math.isclose(oracle.empirical_loss(w, X, y), residual @ residual / (2 * m), rel_tol=1e-12)
    assert oracle.task_loss(w_star, w_star, cov, sigma) == 0.5 * sigma**2


def test_batched_losses_are_the_per_task_losses() -> None:
    rng = np.random.default_rng(5)
    T, m, d = 6, 4, 3
    covs = np.stack([random_spd(rng, d) for _ in range(T)])
    w_star, X, y = (
        rng.standard_normal((T, d)),
        rng.standard_normal((T, m, d)),
        rng.standard_normal((T, m)),
    )
    w = rng.standard_normal(d)
    batch = oracle.adapted_loss(w, w_star, covs, 0.4, X, y)
    single = [oracle.adapted_loss(w, w_star[t], covs[t], 0.4, X[t], y[t]) for t in range(T)]
    assert batch.shape == (T,)
    assert np.allclose(batch, single, rtol=1e-13, atol=0.0)


def test_autograd_derivatives_of_the_adapted_loss_by_hand() -> None:
    """w⁺ = P w + c: the gradient is Pᵀ Σ (P w + c − w*) and the Hessian Pᵀ Σ P, with P = I − αΣ̂
    (data) or P = I − αΣ (population; then c = αΣw* and the Hessian is (I − αΣ)Σ(I − αΣ))."""
    rng = np.random.default_rng(8)
    d, m, alpha = 3, 5, 0.6
    cov, w, w_star = random_spd(rng, d), rng.standard_normal(d), rng.standard_normal(d)
    X, y = rng.standard_normal((m, d)), rng.standard_normal(m)
    eye = np.eye(d)
    cases = [
        (X, y, eye - alpha * X.T @ X / m, alpha * X.T @ y / m),
        (None, None, eye - alpha * cov, alpha * cov @ w_star),
    ]
    for data_x, data_y, step, shift in cases:
        hess = oracle.adapted_hessian(w, w_star, cov, alpha, data_x, data_y)
        grad = oracle.adapted_gradient(w, w_star, cov, alpha, data_x, data_y)
        assert np.allclose(hess, step.T @ cov @ step, rtol=1e-12, atol=1e-13)
        assert np.allclose(grad, step.T @ cov @ (step @ w + shift - w_star), rtol=1e-12, atol=1e-13)


def test_sample_tasks_data_have_the_model_law() -> None:
    """One task with a huge batch: the mean per-sample loss ½(xᵀw − y)² estimates f(w) (task_loss);
    and the optima of many tasks have mean c and covariance V. Each within z standard errors."""
    rng = np.random.default_rng(13)
    d = 3
    cov, opt_cov, center = random_spd(rng, d), random_spd(rng, d) * 0.2, rng.standard_normal(d)
    mix = Mixture((TaskType(1.0, cov, center, opt_cov),), alpha=0.5, sigma=0.7)
    one = oracle.sample_tasks(mix, 1, rng, m=200_000)
    # Near w* the noise term σ²/2 dominates f(w), so a wrong noise level would show.
    w = one.w_star[0] + 0.3 * rng.standard_normal(d)
    per_sample = 0.5 * (one.X[0] @ w - one.y[0]) ** 2
    target = oracle.task_loss(w, one.w_star[0], cov, mix.sigma)
    se = per_sample.std(ddof=1) / math.sqrt(per_sample.size)
    assert abs(per_sample.mean() - target) <= Z * se

    many = oracle.sample_tasks(mix, 50_000, rng).w_star
    n = len(many)
    assert np.all(np.abs(many.mean(axis=0) - center) <= Z * np.sqrt(np.diag(opt_cov) / n))
    se_cov = np.sqrt((np.outer(np.diag(opt_cov), np.diag(opt_cov)) + opt_cov**2) / n)
    assert np.all(np.abs(np.cov(many.T) - opt_cov) <= Z * se_cov)


def test_sample_tasks_type_counts_follow_the_probabilities() -> None:
    mix = small_mixture()
    tasks = oracle.sample_tasks(mix, 40_000, np.random.default_rng(3), m=2)
    hard = np.all(tasks.cov == mix.types[0].cov, axis=(1, 2))
    p = mix.types[0].prob
    assert abs(hard.mean() - p) <= Z * math.sqrt(p * (1 - p) / hard.size)
    assert tasks.X.shape == (40_000, 2, 2) and tasks.y.shape == (40_000, 2)


# --- the sampled least-squares minimisers ---------------------------------------------------------


def redraw_objective(mix: Mixture, seed: int, sizes: list[int], m: float, alpha: float):
    """The sampled objective on the tasks the minimiser draws (batch by batch, sample_tasks)."""
    rng = np.random.default_rng(seed)
    batches = [oracle.sample_tasks(mix, size, rng, m=m) for size in sizes]
    finite = math.isfinite(m)
    w_star = np.concatenate([b.w_star for b in batches])
    cov = np.concatenate([b.cov for b in batches])
    X = np.concatenate([b.X for b in batches]) if finite else None
    y = np.concatenate([b.y for b in batches]) if finite else None
    return lambda w: oracle.mean_adapted_loss(w, w_star, cov, alpha, X, y), (
        w_star,
        cov,
        alpha,
        X,
        y,
    )


@pytest.mark.parametrize(("kind", "m"), [("maml", 4), ("maml", 1), ("maml", math.inf), ("nal", math.inf)])
def test_least_squares_minimiser_matches_scipy_on_the_same_tasks(kind: str, m: float) -> None:
    mix = small_mixture()
    seed, n_tasks, batches = 17, 91, 3  # batches of 31, 30, 30 tasks
    if kind == "maml":
        est = minimisers.sampled_maml_minimiser(
            mix, n_tasks, np.random.default_rng(seed), m=m, batches=batches
        )
        alpha = mix.alpha
    else:
        est = minimisers.sampled_nal_minimiser(mix, n_tasks, np.random.default_rng(seed), batches=batches)
        alpha = 0.0
    objective, args = redraw_objective(mix, seed, [31, 30, 30], m, alpha)
    result = scipy.optimize.minimize(
        objective,
        np.zeros(2),
        jac=lambda w: oracle.adapted_gradient(w, *args),
        hess=lambda w: oracle.adapted_hessian(w, *args),
        method="trust-exact",
        options={"gtol": 1e-13},
    )
    assert result.success
    assert np.allclose(est.mean, result.x, rtol=1e-9, atol=1e-10)
    assert est.n == n_tasks and np.all(est.se > 0)


@pytest.mark.parametrize("m", [1, 7, math.inf])
def test_noiseless_point_mass_of_optima_is_recovered_exactly(m: float) -> None:
    """ν = 0 and σ = 0: every task's optimum is c, so every sampled objective is minimal at c, with
    no spread."""
    center = np.array([0.5, -1.5, 2.0])
    cov = random_spd(np.random.default_rng(4), 3)
    mix = Mixture((TaskType(1.0, cov, center, np.zeros((3, 3))),), alpha=0.3, m=m)
    for est in (
        minimisers.sampled_maml_minimiser(mix, 400, np.random.default_rng(1)),
        minimisers.sampled_nal_minimiser(mix, 400, np.random.default_rng(1)),
    ):
        assert np.allclose(est.mean, center, rtol=0.0, atol=1e-12)
        assert np.all(est.se <= 1e-12)


def test_same_seed_bit_identical_other_seed_differs() -> None:
    mix = small_mixture()
    first = minimisers.sampled_maml_minimiser(mix, 500, np.random.default_rng(2))
    again = minimisers.sampled_maml_minimiser(mix, 500, np.random.default_rng(2))
    other = minimisers.sampled_maml_minimiser(mix, 500, np.random.default_rng(3))
    assert np.array_equal(first.mean, again.mean) and np.array_equal(first.se, again.se)
    assert not np.any(first.mean == other.mean)
    sgd = [minimisers.sgd_maml(mix, np.random.default_rng(s), steps=20, tasks_per_step=4) for s in (2, 2, 3)]
    assert np.array_equal(sgd[0], sgd[1]) and not np.any(sgd[0] == sgd[2])


@pytest.mark.parametrize("m", [3, math.inf])
def test_sgd_recovers_a_noiseless_point_mass_exactly(m: float) -> None:
    """ν = 0, σ = 0: w⁺ − w* = P (w − c) for every task and batch, so c is a common fixed point and
    each SGD step contracts towards it; from a far start the averaged iterate is c to round-off."""
    center = np.array([1.0, -2.0])
    mix = Mixture((TaskType(1.0, 0.5 * np.eye(2), center, np.zeros((2, 2))),), alpha=0.4, m=m)
    for run in (minimisers.sgd_maml, minimisers.sgd_nal):
        w = run(mix, np.random.default_rng(6), steps=400, tasks_per_step=4, w0=np.array([10.0, 10.0]))
        assert np.allclose(w, center, rtol=0.0, atol=1e-12)


def test_jackknife_se_matches_the_spread_of_replicates() -> None:
    """The jackknife SE against the standard deviation of the minimiser over 100 independent
    replicates, per coordinate within Z times that standard deviation's relative sampling error (about 7 %,
    from the replicates' kurtosis)."""
    mix = small_mixture()
    rng = np.random.default_rng(23)
    replicates = [minimisers.sampled_maml_minimiser(mix, 1000, rng) for _ in range(100)]
    means = np.array([e.mean for e in replicates])
    spread = np.std(means, axis=0, ddof=1)
    predicted = np.mean([e.se for e in replicates], axis=0)
    for j in range(means.shape[1]):
        assert abs(spread[j] / predicted[j] - 1) <= spread_tolerance(means[:, j]), j


@pytest.mark.parametrize("kind", ["maml", "nal"])
def test_sgd_lands_near_the_least_squares_minimiser(kind: str) -> None:
    """Polyak-averaged SGD over n_eff = tail·steps·tasks_per_step tasks is asymptotically as precise
    as the least-squares minimiser of n_eff tasks, whose SE is se_N √(N / n_eff); both estimate the
    same argmin."""
    mix = small_mixture()
    n = 200_000
    steps, per_step, tail = 800, 16, 0.5
    if kind == "maml":
        ls = minimisers.sampled_maml_minimiser(mix, n, np.random.default_rng(31))
        sgd = minimisers.sgd_maml(
            mix, np.random.default_rng(32), steps=steps, tasks_per_step=per_step, tail=tail
        )
    else:
        ls = minimisers.sampled_nal_minimiser(mix, n, np.random.default_rng(31))
        sgd = minimisers.sgd_nal(
            mix, np.random.default_rng(32), steps=steps, tasks_per_step=per_step, tail=tail
        )
    n_eff = tail * steps * per_step
    bound = Z * ls.se * math.sqrt(1 + n / n_eff)
    assert np.all(np.abs(sgd - ls.mean) <= bound), (sgd, ls.mean, bound)


def test_maml_and_nal_minimisers_differ_when_hardness_differs() -> None:
    """The two objectives are not one code path: on EasyHard the two minimisers lie on the segment
    between the centres at clearly different places (many SEs apart)."""
    mix = EasyHard(d=2, m=20).mixture()
    maml = minimisers.sampled_maml_minimiser(mix, 20_000, np.random.default_rng(41))
    nal = minimisers.sampled_nal_minimiser(mix, 20_000, np.random.default_rng(42))
    assert abs(maml.mean[0] - nal.mean[0]) > Z * math.hypot(maml.se[0], nal.se[0])


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda mix, rng: minimisers.sampled_maml_minimiser(mix, 10, rng, batches=1), "batches"),
        (lambda mix, rng: minimisers.sampled_maml_minimiser(mix, 5, rng, batches=6), "n_tasks"),
        (lambda mix, rng: minimisers.sampled_maml_minimiser(mix, 10.5, rng, batches=2), "n_tasks"),
        (lambda mix, rng: minimisers.sampled_maml_minimiser(mix, 10, rng, m=0), "m"),
        (lambda mix, rng: minimisers.sampled_nal_minimiser(mix, 10, rng, batches=0), "batches"),
        (lambda mix, rng: minimisers.sgd_maml(mix, rng, steps=0), "steps"),
        (lambda mix, rng: minimisers.sgd_maml(mix, rng, tasks_per_step=0), "tasks_per_step"),
        (lambda mix, rng: minimisers.sgd_maml(mix, rng, lr=-1.0), "lr"),
        (lambda mix, rng: minimisers.sgd_maml(mix, rng, tail=0.0), "tail"),
        (lambda mix, rng: minimisers.sgd_maml(mix, rng, tail=1.5), "tail"),
        (lambda mix, rng: minimisers.sgd_maml(mix, rng, w0=np.zeros(3)), "w0"),
        (lambda mix, rng: minimisers.sgd_maml(mix, rng, m=-2), "m"),
        (lambda mix, rng: minimisers.sgd_nal(mix, rng, steps=1.5), "steps"),
        (lambda mix, rng: oracle.sample_tasks(mix, 0, rng), "n"),
    ],
)
def test_bad_inputs_name_the_parameter(call, name: str) -> None:
    with pytest.raises(ParameterError) as info:
        call(small_mixture(), np.random.default_rng(0))
    assert info.value.name == name
