"""The finite-sample floor (spec R §8): the simulator's side of the claims
R.floor.unbiased.* (which sympy proves from the expected updates)."""

from __future__ import annotations

import numpy as np
import pytest
from tolerances import Z

from maml_theory.numerics.representation import simulate
from maml_theory.numerics.representation.instances import Instance, draw_round, haar_frame

METHODS = ("anil", "fo-anil", "maml", "fo-maml")


def perpendicular_z(method: str, on_span: bool, N: int) -> float:
    """Max |z| over the entries of the mean of B_⊥ᵀG_B against 0, over N independent rounds (fixed heads) at
    w = 0 and B = B_*A (``on_span``) or B with a component outside span(B_*)."""
    d, k, n, alpha, m_in, m_out, sigma = 5, 2, 3, 0.3, 2, 1, 0.5
    rng = np.random.default_rng(20261208)
    frame = haar_frame(rng, d, d)
    B_star, B_perp = frame[:, :k], frame[:, k:]
    A = rng.standard_normal((k, k))
    B = B_star @ A + (0.0 if on_span else 0.5 * B_perp @ rng.standard_normal((d - k, k)))
    heads = rng.standard_normal((n, k))
    inst = Instance(d=d, k=k, n=n, alpha=alpha, sigma=sigma, m_in=m_in, m_out=m_out, fixed_tasks=True)
    # The naive sampler draws the batches themselves: no projection argument is assumed.
    _, data = draw_round(inst, rng.spawn(N), B_star, heads)
    G_B, _ = simulate.meta_gradient(method, B, np.zeros(k), B_star, heads, alpha, data)
    off = (B_perp.T @ G_B).reshape(N, -1)
    # The N rounds are iid: the mean is asymptotically normal with SE = sample sd / √N.
    return float(np.max(np.abs(off.mean(axis=0)) / (off.std(axis=0, ddof=1) / np.sqrt(N))))


@pytest.mark.parametrize("method", METHODS)
def test_no_bias_out_of_the_span_at_a_point_of_the_span(method):
    assert perpendicular_z(method, True, 20_000) <= Z
    # The same test sees the B_⊥ part where there is one: off the span, E[B_⊥ᵀG_B] = B_⊥ᵀB·E[C] ≠ 0.
    assert perpendicular_z(method, False, 20_000) > Z
