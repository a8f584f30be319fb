"""Spec R's three routes agree: the sympy closed form, the autograd oracle, and the simulator.

- Population updates: closed form = oracle to relative 1e-9, all five methods, general w (hypothesis).
- Expected finite-sample updates (new results, derived by the moment engine): closed form = the mean of the
  simulator's sampled updates over many independent draws of the round's batches, within 6 standard errors.
- FO-ANIL's one-task second moment E‖B_⊥ᵀg_B‖_F² at w = 0 (fourth order in the batches) = the simulator's
  Monte Carlo mean, within 6 standard errors.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maml_theory.numerics.compiled import numpy_function
from maml_theory.numerics.representation import closed_form, oracle, simulate
from maml_theory.numerics.representation.instances import Instance, draw_round, haar_frame
from maml_theory.theory.representation import finite_sample, losses
from maml_theory.theory.representation import model as R
from maml_theory.theory.representation.model import METHODS


def random_point(rng, d, k, n):
    B_star = np.linalg.qr(rng.standard_normal((d, k)))[0]
    B = rng.standard_normal((d, k)) / np.sqrt(d)
    w = rng.standard_normal(k)
    heads = rng.standard_normal((n, k))
    return B, w, B_star, heads


@pytest.mark.parametrize("method", METHODS)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(2, 6), n=st.integers(1, 5), alpha=st.floats(0.01, 1.0))
def test_population_closed_form_equals_autograd_oracle(method, seed, d, n, alpha):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, d + 1))
    B, w, B_star, heads = random_point(rng, d, k, n)
    derived = closed_form.update(method, B, w, B_star, heads, alpha)
    autograd = oracle.meta_gradient(method, B, w, B_star, heads, alpha)
    for got, want in zip(derived, autograd, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(want).max()))


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("m_in", "m_out", "sigma"), [(1, 2, 0.0), (3, 1, 0.5), (4, 3, 1.0)])
def test_expected_finite_sample_update_matches_monte_carlo(method, m_in, m_out, sigma):
    # Every method at general w (w ≠ 0 drawn at random), exact MAML included.
    d, k, n, alpha, replicates = 4, 2, 3, 0.3, 40_000
    rng = np.random.default_rng(20261122)
    B, w, B_star, heads = random_point(rng, d, k, n)
    inst = Instance(d=d, k=k, n=n, alpha=alpha, sigma=sigma, m_in=m_in, m_out=m_out, fixed_tasks=True)
    # Each replicate is one independent draw of the round's batches for the same heads: its meta-gradient is
    # an iid sample, so the mean over replicates is asymptotically normal with SE = sample std / √N.
    streams = np.random.default_rng(7).spawn(replicates)
    _, data = draw_round(inst, streams, B_star, heads)
    g_b, g_w = simulate.meta_gradient(method, B, w, B_star, heads, alpha, data)
    expected = closed_form.update(method, B, w, B_star, heads, alpha, sigma=sigma, m_in=m_in)
    population = closed_form.update(method, B, w, B_star, heads, alpha)
    against_population = []
    for samples, exact, pop in zip((g_b, g_w), expected, population, strict=True):
        mean = samples.mean(axis=0)
        se = samples.std(axis=0, ddof=1) / np.sqrt(replicates)
        z = (mean - exact) / se
        # Each of the d·k + k entries at 6 SE: a false alarm has probability about 1e-8 per entry.
        assert np.max(np.abs(z)) <= 6, (method, np.max(np.abs(z)))
        against_population.append(np.max(np.abs((mean - pop) / se)))
    # The check has power: the meta-learners' finite-sample bias (in G_B at least; FO-ANIL's G_w has none,
    # w_i being linear in the inner batch) is resolved, so the population update is rejected. NAL has no bias.
    assert (max(against_population) > 6) == (method != "nal"), against_population


@pytest.mark.parametrize("method", METHODS)
def test_derived_contraction_matrix_gives_the_simulator_step(method):
    # B_⊥ᵀB⁺ = B_⊥ᵀB(I − βC̄) at a general state (w ≠ 0, B off the fixed point), B⁺ from the simulator.
    rng = np.random.default_rng(7)
    d, k, n, alpha, beta = 9, 3, 6, 0.3, 0.7
    B_star = haar_frame(rng, d, k, (4,))
    B_perp = np.linalg.svd(B_star, full_matrices=True)[0][..., :, k:]
    B, w, heads = rng.standard_normal((4, d, k)), rng.standard_normal((4, k)), rng.standard_normal((4, n, k))
    B_next, _ = simulate.step(method, B, w, B_star, heads, alpha, beta)
    C = closed_form.contraction(method, B, w, B_star, heads, alpha)
    perp = np.swapaxes(B_perp, -1, -2)
    assert np.max(np.abs(perp @ B_next - perp @ B @ (np.eye(k) - beta * C))) <= 1e-10


@pytest.mark.slow
@pytest.mark.parametrize(("m_in", "m_out", "sigma"), [(1, 2, 0.5), (3, 1, 1.0)])
def test_perpendicular_second_moment_matches_monte_carlo(m_in, m_out, sigma):
    # One task (n = 1), w = 0: the simulator's G_B is that task's g_B, and ‖B_⊥ᵀG_B‖_F² =
    # tr(G_Bᵀ(I − B_*B_*ᵀ)G_B).
    d, k, alpha, replicates = 4, 2, 0.3, 40_000
    rng = np.random.default_rng(20261208)
    B, _, B_star, heads = random_point(rng, d, k, 1)
    w = np.zeros(k)
    inst = Instance(d=d, k=k, n=1, alpha=alpha, sigma=sigma, m_in=m_in, m_out=m_out, fixed_tasks=True)
    _, data = draw_round(inst, np.random.default_rng(3).spawn(replicates), B_star, heads)
    g_b, _ = simulate.meta_gradient("fo-anil", B, w, B_star, heads, alpha, data)
    perp = np.eye(d) - B_star @ B_star.T
    squares = np.einsum("rij,ik,rkj->r", g_b, perp, g_b)
    # iid replicates: the mean is asymptotically normal with SE = sample std / √N.
    mean, se = squares.mean(), squares.std(ddof=1) / np.sqrt(replicates)
    expr = finite_sample.perpendicular_second_moment("fo-anil")["E‖B_⊥ᵀg_B‖²"]
    args = (R.B, R.B_star, R.theta, R.d, R.k, R.alpha, losses.sigma, losses.m_in, losses.m_out)
    theta = heads[0].reshape(k, 1)
    derived = float(numpy_function(args, expr)(B, B_star, theta, d, k, alpha, sigma, m_in, m_out))
    assert abs(mean - derived) / se <= 6, (mean, derived, se)
    # Power: the square of the expected update's B_⊥ part alone (no variance) is rejected.
    g_mean, _ = closed_form.update("fo-anil", B, w, B_star, heads, alpha, sigma=sigma, m_in=m_in)
    assert abs(mean - np.sum((perp @ g_mean) ** 2)) / se > 6
