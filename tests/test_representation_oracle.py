"""Spec R: the simulator's hand-derived meta-gradients equal the autograd oracle's, and both match spec R.

The simulator (maml_theory.numerics.representation.simulate) and the oracle
(maml_theory.numerics.representation.oracle) share no gradient code: the oracle differentiates the losses with
autograd, second order through the inner step.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maml_theory.numerics.representation import oracle, simulate
from maml_theory.numerics.representation.instances import METHODS, Batches, Instance, draw_round, haar_frame

RTOL = 1e-9


def assert_close(got, want, rtol=RTOL):
    """Entrywise relative agreement, with the array's largest entry as the scale for near-zero entries."""
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(want)))))


def random_round(seed, d, k, n, m_in, m_out, sigma, runs):
    """A generic point (B, w) (w ≠ 0, B not orthonormal), B_*, heads and (if m_in) batches, for R runs."""
    rng = np.random.default_rng(seed)
    inst = Instance(
        d=d, k=k, n=n, m_in=m_in, m_out=m_out if m_in else None, sigma=sigma, mu=0.7, head_mean=np.ones(k)
    )
    B_star = haar_frame(rng, d, k, (runs,))
    B = rng.standard_normal((runs, d, k))
    w = rng.standard_normal((runs, k))
    heads, data = draw_round(inst, rng.spawn(runs), B_star)
    return B, w, B_star, heads, data


def run_slice(data, r):
    return None if data is None else Batches(data.X_in[r], data.y_in[r], data.X_out[r], data.y_out[r])


@pytest.mark.parametrize("finite", [False, True], ids=["population", "finite-sample"])
@pytest.mark.parametrize("method", METHODS)
@given(
    seed=st.integers(0, 2**32 - 1),
    d=st.integers(1, 6),
    n=st.integers(1, 5),
    m_in=st.integers(1, 6),
    m_out=st.integers(1, 6),
    alpha=st.floats(0.01, 1.0),
    beta=st.floats(0.01, 2.0),
    sigma=st.sampled_from([0.0, 0.3]),
)
def test_simulator_gradient_equals_autograd_oracle(
    method, finite, seed, d, n, m_in, m_out, alpha, beta, sigma
):
    k = 1 + seed % d
    runs = 2
    B, w, B_star, heads, data = random_round(seed, d, k, n, m_in if finite else None, m_out, sigma, runs)
    # The simulator takes all runs in one batched call; the oracle one run at a time, on the same data.
    G_B, G_w = simulate.meta_gradient(method, B, w, B_star, heads, alpha, data)
    B_next, w_next = simulate.step(method, B, w, B_star, heads, alpha, beta, data)
    for r in range(runs):
        want_B, want_w = oracle.meta_gradient(
            method, B[r], w[r], B_star[r], heads[r], alpha, run_slice(data, r)
        )
        assert_close(G_B[r], want_B)
        assert_close(G_w[r], want_w)
        assert_close(B_next[r], B[r] - beta * want_B)
        assert_close(w_next[r], w[r] - beta * want_w)


@pytest.mark.parametrize("finite", [False, True], ids=["population", "finite-sample"])
def test_first_order_methods_differ_from_exact_ones(finite):
    # Negative control: at a generic point the second-order terms are not zero, so the oracle's stop-gradient
    # and the simulator's exact terms both matter.
    B, w, B_star, heads, data = random_round(3, 5, 2, 4, 4 if finite else None, 3, 0.3, 1)
    data = run_slice(data, 0)
    for exact, first in (("anil", "fo-anil"), ("maml", "fo-maml")):
        g_exact = oracle.meta_gradient(exact, B[0], w[0], B_star[0], heads[0], 0.5, data)
        g_first = oracle.meta_gradient(first, B[0], w[0], B_star[0], heads[0], 0.5, data)
        assert np.max(np.abs(g_exact[0] - g_first[0])) > 1e-3 * np.max(np.abs(g_exact[0]))


def test_empirical_loss_averages_to_population_loss():
    # E over x ~ N(0, I), z ~ N(0, σ²) of ½(⟨Bw, x⟩ − y)² is ½‖Bw − B_*θ‖² + σ²/2 (spec R §1). The per-sample
    # losses are iid with finite variance, so their mean is asymptotically normal: |mean − L| ≤ 6 SE.
    rng = np.random.default_rng(11)
    d, k, m, sigma = 6, 2, 200_000, 0.4
    B_star = haar_frame(rng, d, k)
    B, w, theta = rng.standard_normal((d, k)), rng.standard_normal(k), rng.standard_normal(k)
    X = rng.standard_normal((m, 1, d))
    y = (X @ (B_star @ theta)) + sigma * rng.standard_normal((m, 1))
    per_sample = oracle.empirical_loss(B, w, X, y)
    exact = oracle.population_loss(B, w, B_star, theta, sigma)
    se = per_sample.std(ddof=1) / np.sqrt(m)
    assert abs(per_sample.mean() - exact) <= 6 * se
    # On the same m samples the batch loss is the mean of the per-sample losses.
    assert oracle.empirical_loss(B, w, X[:, 0], y[:, 0]) == pytest.approx(per_sample.mean(), rel=1e-12)


def spec_w0_update(method, B, B_star, heads, alpha, beta):
    """Spec R §3 at w = 0 in round moments, typed from the spec (a check on the derivation, not a source)."""
    d, k = B.shape
    lam = heads.T @ heads / len(heads)
    bar = heads.mean(axis=0)
    M = B_star @ lam @ B_star.T
    P = np.eye(d) - alpha * B @ B.T
    delta = np.eye(k) - alpha * B.T @ B
    if method == "nal":
        return B, beta * B.T @ B_star @ bar
    if method in ("fo-anil", "fo-maml"):
        return B + beta * alpha * P @ M @ B, beta * delta @ B.T @ B_star @ bar
    B_next = B + beta * alpha * (P @ M @ B + M @ B @ delta)
    w_next = beta * delta @ delta @ B.T @ B_star @ bar
    if method == "maml":
        q = np.einsum("ik,kl,il->i", heads @ B_star.T, P, heads @ B_star.T)
        w_next = w_next + beta * alpha**2 * np.mean(q[:, None] * (heads @ B_star.T @ B), axis=0)
    return B_next, w_next


@pytest.mark.parametrize("method", METHODS)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 7), n=st.integers(1, 6), alpha=st.floats(0.01, 1.0))
def test_population_step_at_zero_head_matches_spec_formulas(method, seed, d, n, alpha):
    rng = np.random.default_rng(seed)
    k = 1 + seed % d
    B_star = haar_frame(rng, d, k)
    B, heads = rng.standard_normal((d, k)), rng.standard_normal((n, k)) + 0.5
    got = simulate.step(method, B, np.zeros(k), B_star, heads, alpha, 0.7)
    for g, want in zip(got, spec_w0_update(method, B, B_star, heads, alpha, 0.7), strict=True):
        assert_close(g, want)
