"""The projected sampler (maml_theory.numerics.representation.sampling) has the naive sampler's law.

The naive sampler draws every batch (instances.draw_round) and applies simulate.meta_gradient; the projected
one draws only the projections the update depends on. Both are run N times, independently, at the same point
(B, w, B_*, heads), and a set of statistics of the update (G_B, G_w) is compared: entries, their squares,
and cross moments that see the complement of span(B, B_*) (where the projected sampler is cleverest). Each
statistic's mean over N iid draws is asymptotically normal; the two means differ by z·SE with
SE² = var₁/N + var₂/N estimated from the same draws, and |z| ≤ 6 is required (docs/architecture.md).
"""

import numpy as np
import pytest

from maml_theory.numerics.representation import closed_form, sampling, simulate
from maml_theory.numerics.representation.instances import METHODS, Instance, draw_round, haar_frame

POINTS = {
    # (d, k, n, m_in, m_out, σ, α, ‖w‖ scale): a complement of dimension 2 (single directions matter); m_in
    # below p = 2k + 1 (a trapezoidal Bartlett factor) and m_out above it (the χ² tails of point 3); no
    # complement at all; the noiseless case; a strong feedback through exact MAML's second inner query.
    "small-complement": (6, 2, 2, 3, 6, 0.5, 0.5, 1.5),
    "no-complement": (3, 2, 2, 4, 2, 0.3, 0.5, 1.5),
    "wide": (12, 1, 2, 7, 2, 0.0, 0.5, 1.5),
    "feedback": (4, 1, 1, 3, 2, 0.3, 0.7, 3.0),
}
QUICK = (
    [(m, "small-complement") for m in METHODS]
    + [(m, "no-complement") for m in ("anil", "maml")]
    + [(m, p) for m in ("maml", "fo-maml") for p in ("wide", "feedback")]
)


def point(d, k, n, scale, seed=1):
    rng = np.random.default_rng(seed)
    B_star = haar_frame(rng, d, k)
    B = rng.standard_normal((d, k)) / np.sqrt(d)
    w = scale * rng.standard_normal(k)
    heads = rng.standard_normal((n, k))
    return B, w, B_star, heads


def draws(method, sampler, B, w, B_star, heads, alpha, m_in, m_out, sigma, N, seed):
    """N draws of (G_B, G_w) by ``sampler``; B may be wider (d×h) than B_star (d×k)."""
    d, h = B.shape
    n, k = heads.shape
    streams = np.random.default_rng(seed).spawn(N)
    if sampler == "naive":
        inst = Instance(
            d=d, k=k, width=h, n=n, alpha=alpha, sigma=sigma, m_in=m_in, m_out=m_out, init="random"
        )
        _, data = draw_round(inst, streams, B_star, heads)
        return simulate.meta_gradient(method, B, w, B_star, heads, alpha, data)
    return sampling.meta_gradient(
        method,
        np.broadcast_to(B, (N, d, h)),
        np.broadcast_to(w, (N, h)),
        B_star,
        np.broadcast_to(heads, (N, n, k)),
        alpha,
        sigma=sigma,
        m_in=m_in,
        m_out=m_out,
        rng=streams,
    )


def statistics(G_B, G_w, B, B_star):
    """Per draw: entries of G_B and G_w, their squares, and cross moments (N, ·)."""
    N = G_B.shape[0]
    span = np.linalg.qr(np.concatenate([B, B_star], axis=1))[0]
    off = G_B - span @ (span.T @ G_B)  # the complement part of G_B
    entries = np.concatenate([G_B.reshape(N, -1), G_w], axis=1)
    cross = [
        (np.swapaxes(G_B, 1, 2) @ G_B).reshape(N, -1),
        (G_B @ G_w[:, :, None])[:, :, 0],
        (B.T @ G_B).reshape(N, -1) * G_w[:, :1],
    ]
    if span.shape[1] < B.shape[0]:  # without a complement, `off` is round-off: no statistic
        cross.append((np.swapaxes(off, 1, 2) @ off).reshape(N, -1))
    return np.concatenate([entries, entries**2, *cross], axis=1)


def max_z(a, b):
    """Largest two-sample |z| over the statistics, raw and through a bounded transform x ↦ tanh(x/c) (c the
    first sample's median |x|): equal laws give equal means of both, and the bounded ones keep their power
    where the raw moments of these high-degree polynomials in Gaussians are heavy-tailed."""
    scale = np.median(np.abs(a), axis=0) + 1e-300
    a = np.concatenate([a, np.tanh(a / scale)], axis=1)
    b = np.concatenate([b, np.tanh(b / scale)], axis=1)
    n_a, n_b = a.shape[0], b.shape[0]
    se = np.sqrt(a.var(axis=0, ddof=1) / n_a + b.var(axis=0, ddof=1) / n_b)
    return float(np.max(np.abs(a.mean(axis=0) - b.mean(axis=0)) / se))


def compare(method, where, N):
    d, k, n, m_in, m_out, sigma, alpha, scale = POINTS[where]
    B, w, B_star, heads = point(d, k, n, scale)
    stats = [
        statistics(*draws(method, s, B, w, B_star, heads, alpha, m_in, m_out, sigma, N, seed), B, B_star)
        for s, seed in (("naive", 11), ("projected", 12))
    ]
    return max_z(*stats)


@pytest.mark.parametrize(("method", "where"), QUICK)
def test_projected_sampler_has_the_naive_law(method, where):
    # Observed max |z| over the statistics: at most about 4 (the largest of ~100 nearly normal z-scores).
    z = compare(method, where, 20_000)
    assert z <= 6, (method, where, z)


@pytest.mark.slow
@pytest.mark.parametrize("where", POINTS)
@pytest.mark.parametrize("method", METHODS)
def test_projected_sampler_has_the_naive_law_long(method, where):
    z = compare(method, where, 200_000)
    assert z <= 6, (method, where, z)


def expected_update_z(method, m_in, m_out, sigma, N):
    """Max |z| of the projected sampler's mean update against the closed-form E[update] (and against the
    population update, which the finite-sample bias must make it reject)."""
    d, k, n, alpha = 4, 2, 3, 0.3
    rng = np.random.default_rng(20261122)
    B_star = np.linalg.qr(rng.standard_normal((d, k)))[0]
    B = rng.standard_normal((d, k)) / np.sqrt(d)
    w = rng.standard_normal(k)
    heads = rng.standard_normal((n, k))
    # N independent draws of the round's batches for the same heads: an iid sample of the meta-gradient, its
    # mean asymptotically normal with SE = sample std / √N.
    samples = draws(method, "projected", B, w, B_star, heads, alpha, m_in, m_out, sigma, N, 7)
    expected = closed_form.update(method, B, w, B_star, heads, alpha, sigma=sigma, m_in=m_in)
    population = closed_form.update(method, B, w, B_star, heads, alpha)
    z_exact, z_population = [], []
    for got, exact, pop in zip(samples, expected, population, strict=True):
        mean, se = got.mean(axis=0), got.std(axis=0, ddof=1) / np.sqrt(N)
        z_exact.append(np.max(np.abs((mean - exact) / se)))
        z_population.append(np.max(np.abs((mean - pop) / se)))
    return max(z_exact), max(z_population)


def test_projected_sampler_mean_is_the_expected_update():
    z, z_population = expected_update_z("anil", 3, 2, 0.5, 40_000)
    assert z <= 6, z
    assert z_population > 6, z_population


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("m_in", "m_out", "sigma"), [(1, 2, 0.0), (3, 1, 0.5), (4, 3, 1.0)])
def test_projected_sampler_mean_is_the_expected_update_long(method, m_in, m_out, sigma):
    # Every method at general w (w ≠ 0 drawn at random), exact MAML included.
    z, z_population = expected_update_z(method, m_in, m_out, sigma, 400_000)
    assert z <= 6, z
    assert (z_population > 6) == (method != "nal"), z_population
