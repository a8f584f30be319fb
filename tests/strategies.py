"""Hypothesis strategies for admissible spec L instances (reusable by the verifier).

Ranges, chosen to keep every quantity well inside float64 and every Monte Carlo check cheap:

- ``d`` in 1..8; ``alpha`` in [0.1, 2]; ``rho_hard``, ``rho_easy`` in [0.02, 2] (so αρ ≤ 4 and the
  hardness factor g_m(ρ) = (1 − αρ)² + α²ρ²(d+1)/m stays below 150);
- ``p_hard`` in [0.05, 0.95] (both types present);
- ``nu_hard``, ``nu_easy`` (variances) 0 or in [1e-4, 1]; ``sigma`` (noise std) 0 or in [1e-3, 1];
  ``R`` 0 or in [1e-2, 10];
- ``m`` (and ``m_train`` when drawn) an integer in 1..200 or inf.

Degenerate instances, where the gain G = E_m(w_NAL)/E_m(w_MAML) is undefined, are rejected with
``assume``, from the parameters alone (no closed form is consulted): G needs E_m(w_MAML) > 0 and a
unique MAML minimiser. With g ≥ G_FLOOR for both types, at m and at m_train, every Q_k is positive
definite, so the minimiser is unique, and E_m(w) ≥ Σ_k p_k ½ ρ_k g_k (‖w − w_k‖² + d ν_k) + noise is
positive as soon as the optima are spread (ν > 0), labels are noisy (σ > 0, m finite) or the centres
differ (R > 0). g can only fall below G_FLOOR when m = inf and αρ is within ~0.03 of 1 (for finite m,
g ≥ (d+1)/(m+d+1) ≥ 0.0099). The same rules, for Σ_k's eigenvalues, hold in :func:`mixtures`.

Every parameter can be pinned: pass a value (used as is) or a strategy (drawn from).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from maml_theory.numerics.landscape.instances import EasyHard, Mixture, TaskType

G_FLOOR = 1e-3
"""Smallest hardness factor g (per type, or per eigen-direction of Σ_k) the strategies accept."""

_FLOAT = {"allow_nan": False, "allow_infinity": False}


def sample_sizes(*, finite: bool = False, low: int = 1, high: int = 200) -> st.SearchStrategy[float]:
    """A batch size m: an integer in ``low``..``high`` (as a float, the instances' convention) or, unless
    ``finite``, ``math.inf`` (the exact gradient)."""
    counts = st.integers(low, high).map(float)
    return counts if finite else st.one_of(counts, st.just(math.inf))


def _zero_or(low: float, high: float) -> st.SearchStrategy[float]:
    return st.one_of(st.just(0.0), st.floats(low, high, **_FLOAT))


def _draw(draw: Any, given: Any, default: st.SearchStrategy) -> Any:
    """``given`` drawn if a strategy, used as is if a value, else ``default`` drawn."""
    if given is None:
        return draw(default)
    if isinstance(given, st.SearchStrategy):
        return draw(given)
    return given


def hardness(rho: float, alpha: float, d: int, m: float) -> float:
    """g_m(ρ) = (1 − αρ)² + α²ρ²(d+1)/m, the spec's definition (spec L §1), used here only to reject
    degenerate draws."""
    extra = 0.0 if math.isinf(m) else alpha**2 * rho**2 * (d + 1) / m
    return (1.0 - alpha * rho) ** 2 + extra


def contracting_bound(alpha: float, d: int, m: float) -> float:
    """The largest ρ with g_m(ρ) ≤ 1: ρ ≤ 2m/(α(m + d + 1)) (2/α for m = inf)."""
    return 2.0 / alpha if math.isinf(m) else 2.0 * m / (alpha * (m + d + 1))


@st.composite
def easy_hard_instances(
    draw: Any,
    *,
    d: Any = None,
    alpha: Any = None,
    p_hard: Any = None,
    rho_hard: Any = None,
    rho_easy: Any = None,
    nu_hard: Any = None,
    nu_easy: Any = None,
    sigma: Any = None,
    R: Any = None,
    m: Any = None,
    m_train: Any = None,
    finite_m: bool = False,
    contracting: bool = False,
) -> EasyHard:
    """A valid, non-degenerate :class:`EasyHard` instance (ranges in the module docstring).

    ``m_train``: ``None`` (the default) trains MAML with the test batch size (m_train = m); a value or
    a strategy (e.g. :func:`sample_sizes`) sets it apart. ``finite_m``: draw m finite only.
    ``contracting``: draw each ρ not pinned as a fraction in [0.01, 0.999] of the bound 2m/(α(m+d+1)),
    so that both g_m(ρ_k) ≤ 1 (the hypothesis of spec L §3.6h).
    """
    d = _draw(draw, d, st.integers(1, 8))
    alpha = _draw(draw, alpha, st.floats(0.1, 2.0, **_FLOAT))
    m = _draw(draw, m, sample_sizes(finite=finite_m))
    m_train = _draw(draw, m_train, st.just(m))
    rho_default = st.floats(0.02, 2.0, **_FLOAT)
    if contracting:
        bound = contracting_bound(alpha, d, m)
        rho_default = st.floats(0.01, 0.999, **_FLOAT).map(lambda f: f * bound)
    inst = EasyHard(
        d=d,
        alpha=alpha,
        p_hard=_draw(draw, p_hard, st.floats(0.05, 0.95, **_FLOAT)),
        rho_hard=_draw(draw, rho_hard, rho_default),
        rho_easy=_draw(draw, rho_easy, rho_default),
        nu_hard=_draw(draw, nu_hard, _zero_or(1e-4, 1.0)),
        nu_easy=_draw(draw, nu_easy, _zero_or(1e-4, 1.0)),
        sigma=_draw(draw, sigma, _zero_or(1e-3, 1.0)),
        R=_draw(draw, R, _zero_or(1e-2, 10.0)),
        m=m,
        m_train=m_train,
    )
    assume(0.0 < inst.p_hard < 1.0)
    for size in {inst.m, inst.m_train}:
        assume(min(hardness(r, inst.alpha, inst.d, size) for r in (inst.rho_hard, inst.rho_easy)) >= G_FLOOR)
    noisy = inst.sigma > 0.0 and math.isfinite(inst.m)
    assume(inst.nu_hard > 0.0 or inst.nu_easy > 0.0 or noisy or inst.R > 0.0)
    return inst


def easy_hard_values(inst: EasyHard) -> dict[str, float]:
    """The instance as values of the claims' symbols (``claim.symbols`` names; p_E = 1 − p_H).

    ``m_train`` is included for claims that name it; the two-type claims with m_train = m use ``m``.
    """
    return {
        "d": float(inst.d),
        "alpha": inst.alpha,
        "p_H": inst.p_hard,
        "p_E": inst.p_easy,
        "rho_H": inst.rho_hard,
        "rho_E": inst.rho_easy,
        "nu_H": inst.nu_hard,
        "nu_E": inst.nu_easy,
        "sigma": inst.sigma,
        "R": inst.R,
        "m": inst.m,
        "m_train": inst.m_train,
    }


def _rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    """A Haar-random orthogonal matrix (QR of a Gaussian matrix, signs fixed by R's diagonal)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


@st.composite
def spd_matrices(draw: Any, *, d: Any = None, low: float = 0.1, high: float = 2.0) -> np.ndarray:
    """A random SPD matrix O diag(λ) Oᵀ, eigenvalues λ in [``low``, ``high``] drawn by hypothesis
    (condition number ≤ high/low), O a Haar rotation from a seeded Generator; ``d`` in 1..6 unless
    pinned."""
    d = _draw(draw, d, st.integers(1, 6))
    lam = np.array(draw(st.lists(st.floats(low, high, **_FLOAT), min_size=d, max_size=d)))
    o = _rotation(np.random.default_rng(draw(st.integers(0, 2**32 - 1))), d)
    cov = (o * lam) @ o.T
    return 0.5 * (cov + cov.T)


@st.composite
def mixtures(
    draw: Any,
    *,
    d: Any = None,
    n_types: Any = None,
    alpha: Any = None,
    sigma: Any = None,
    m: Any = None,
    m_train: Any = None,
    finite_m: bool = False,
) -> Mixture:
    """A valid, non-degenerate general :class:`Mixture`.

    - ``d`` in 1..5, 2 or 3 types with probabilities ∝ weights in [0.1, 1];
    - Σ_k = O_k diag(λ) O_kᵀ with eigenvalues λ in [0.1, 2] (condition number ≤ 20) and a random
      rotation O_k; V_k = P_k diag(v) P_kᵀ with variances v in {0} ∪ [1e-3, 0.5] (PSD, possibly
      singular); centres in [−3, 3]^d;
    - ``alpha`` in [0.1, 1.5], ``sigma`` 0 or in [1e-3, 1], ``m`` 1..200 or inf (finite only with
      ``finite_m``), ``m_train`` as in :func:`easy_hard_instances` (``None``: = m).

    The eigenvalues, variances and centres are drawn by hypothesis (so they shrink); the rotations
    come from a numpy Generator seeded by a drawn integer. Degenerate draws are rejected as described
    in the module docstring: every eigenvalue λ of every Σ_k has g(λ) = (1 − αλ)² ≥ G_FLOOR when m or
    m_train is inf (this bounds Q_k(m) ≥ G_FLOOR Σ_k in both cases: for finite m, Q_k ⪰ (α²/m)tr(Σ²)Σ
    adds to it), and the centres are spread, or the optima are, or the labels are noisy.
    """
    d = _draw(draw, d, st.integers(1, 5))
    k = _draw(draw, n_types, st.integers(2, 3))
    alpha = _draw(draw, alpha, st.floats(0.1, 1.5, **_FLOAT))
    sigma = _draw(draw, sigma, _zero_or(1e-3, 1.0))
    m = _draw(draw, m, sample_sizes(finite=finite_m))
    m_train = _draw(draw, m_train, st.just(m))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    floats = st.floats
    weights = [draw(floats(0.1, 1.0, **_FLOAT)) for _ in range(k)]
    total = sum(weights)
    types = []
    for i in range(k):
        lam = np.array(draw(st.lists(floats(0.1, 2.0, **_FLOAT), min_size=d, max_size=d)))
        if math.isinf(m) or math.isinf(m_train):
            assume(float(np.min((1.0 - alpha * lam) ** 2)) >= G_FLOOR)
        var = np.array(draw(st.lists(_zero_or(1e-3, 0.5), min_size=d, max_size=d)))
        centre = np.array(draw(st.lists(floats(-3.0, 3.0, **_FLOAT), min_size=d, max_size=d)))
        o, p = _rotation(rng, d), _rotation(rng, d)
        cov = (o * lam) @ o.T
        opt_cov = (p * var) @ p.T
        prob = weights[i] / total if i < k - 1 else 1.0 - sum(w / total for w in weights[:-1])
        types.append(TaskType(prob, 0.5 * (cov + cov.T), centre, 0.5 * (opt_cov + opt_cov.T)))
    spread = max(float(np.linalg.norm(a.center - b.center)) for a in types for b in types)
    noisy = sigma > 0.0 and math.isfinite(m)
    assume(spread >= 1e-2 or noisy or any(np.trace(t.opt_cov) > 0.0 for t in types))
    return Mixture(tuple(types), alpha=alpha, sigma=sigma, m=m, m_train=m_train)


def common_centres_mixture() -> Mixture:
    """A regression instance found by hypothesis: common centres and ν = 0, so w_MAML = w_NAL = c, G = 1 and
    E_m is the noise term alone (≈ 5e-7): evaluating the excess in expanded form loses it to cancellation."""
    zero = np.array([[0.0]])
    return Mixture(
        (
            TaskType(0.8, np.array([[1.5]]), np.array([1.5]), zero),
            TaskType(0.2, np.array([[0.125]]), np.array([1.5]), zero),
        ),
        alpha=0.75,
        sigma=0.001,
        m=1.0,
    )
