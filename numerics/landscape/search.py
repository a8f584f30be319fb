"""Search for a two-type instance where MAML loses to NAL: G = E_m(w_NAL) / E_m(w_MAML) < 1.

Why it can happen (spec L §3.4). With m_train = m, w_MAML minimises E_m itself, so G ≥ 1 always. But
MAML is trained for a batch size: w_MAML = Q̄(m_train)⁻¹ E[Q_i(m_train) w*_i] weights each type by how
little one step on m_train samples helps it, g_{m_train}(ρ_k), while the test-time excess E_m weights
them by g_m(ρ_k). Trained with exact gradients (m_train = ∞) and αρ_E = 1, for instance, MAML deems the
easy tasks solved in one step (g_∞(ρ_E) = 0) and sits on the hard centre; tested with a few samples,
g_m(ρ_E) = α²ρ_E²(d+1)/m is large, the easy tasks are far from solved, and NAL's compromise between the
centres beats MAML's — G can be far below 1. The search quantifies this: it minimises G over the
parameters of :class:`EasyHard`, through the closed forms (:func:`closed_form.easy_hard`), with the
batch sizes m ≠ m_train drawn from a finite menu that includes ∞.

This is verification code: it uses the derived closed forms; the instance it returns is meant to be
confirmed by Monte Carlo (:func:`maml_theory.numerics.landscape.montecarlo.adapted_excess`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from maml_theory.numerics import validation as v
from maml_theory.numerics.landscape.closed_form import DegenerateInstance, easy_hard
from maml_theory.numerics.landscape.instances import EasyHard

SAMPLE_SIZES: tuple[float, ...] = (1, 2, 5, 10, 20, 50, 200, math.inf)
"""The default menu of batch sizes for m and m_train."""


@dataclass(frozen=True)
class Box:
    """The search box (closed intervals) for the continuous parameters; α is fixed.

    The gain is invariant under (ρ, σ², α) → (cρ, cσ², α/c) (spec L §3.6i), so fixing α loses nothing when
    the ρ range scales with 1/α, as here: ρ ∈ [rho_low, rho_high] / α.
    """

    p_hard: tuple[float, float] = (0.05, 0.95)
    alpha_rho: tuple[float, float] = (0.02, 2.0)
    nu: tuple[float, float] = (1e-4, 1.0)
    sigma: tuple[float, float] = (1e-3, 1.0)
    R: tuple[float, float] = (0.1, 10.0)


# The search coordinates x: p_hard; log ρ_E; the position t ∈ [0, 1] of log ρ_H between the box's
# lowest log ρ and log ρ_E (so ρ_H ≤ ρ_E, the canonical labelling: the hard type has the smaller
# curvature); then log ν_H, log ν_E, log σ, log R.
_LOGS = ("nu_hard", "nu_easy", "sigma", "R")


@dataclass(frozen=True)
class _Problem:
    d: int
    alpha: float
    log_rho_low: float
    m: float
    m_train: float

    def instance(self, x: np.ndarray) -> EasyHard:
        p, log_rho_easy, t, *logs = (float(c) for c in x)
        log_rho_hard = self.log_rho_low + t * (log_rho_easy - self.log_rho_low)
        values = dict(zip(_LOGS, (math.exp(c) for c in logs), strict=True))
        return EasyHard(
            d=self.d,
            alpha=self.alpha,
            p_hard=p,
            rho_hard=math.exp(log_rho_hard),
            rho_easy=math.exp(log_rho_easy),
            m=self.m,
            m_train=self.m_train,
            **values,
        )

    def log_gain(self, x: np.ndarray) -> float:
        try:
            return math.log(easy_hard(self.instance(x)).gain)
        except DegenerateInstance:
            return math.inf


def _bounds(box: Box, alpha: float) -> list[tuple[float, float]]:
    rho = (math.log(box.alpha_rho[0] / alpha), math.log(box.alpha_rho[1] / alpha))
    logs = [(math.log(low), math.log(high)) for low, high in (box.nu, box.nu, box.sigma, box.R)]
    return [box.p_hard, rho, (0.0, 1.0), *logs]


def find_gain_below_one(
    rng: np.random.Generator,
    *,
    target: float = 1.0,
    d: int = 5,
    alpha: float = 1.0,
    sample_sizes: Sequence[float] = SAMPLE_SIZES,
    box: Box | None = None,
    n_random: int = 400,
    n_polish: int = 4,
) -> EasyHard | None:
    """An :class:`EasyHard` instance with m_train ≠ m and G < ``target`` (≤ 1), or ``None``.

    Random search: ``n_random`` draws, each with a pair m ≠ m_train from ``sample_sizes`` and the
    continuous parameters uniform in the box (p_hard linearly, the others log-uniformly; ρ_H ≤ ρ_E,
    the canonical labelling of spec L §1). Then the
    ``n_polish`` best draws are polished by bounded Nelder–Mead on log G over the continuous parameters,
    their batch sizes fixed. Returns the instance with the smallest G found if that G is below
    ``target``. Deterministic given the state of ``rng``.
    """
    target = v.real("target", target, low=0.0, low_open=True, high=1.0, allowed="in (0, 1]")
    d = v.integer("d", d, low=1)
    alpha = v.real("alpha", alpha, low=0.0, low_open=True, allowed="> 0")
    n_random = v.integer("n_random", n_random, low=1)
    n_polish = v.integer("n_polish", n_polish, low=0)
    sizes = sorted({v.sample_count("sample_sizes", s) for s in sample_sizes})
    if len(sizes) < 2:
        raise v.ParameterError("sample_sizes", "at least two different batch sizes", sample_sizes)
    bounds = _bounds(box or Box(), alpha)
    low, high = np.array(bounds).T

    draws: list[tuple[float, np.ndarray, _Problem]] = []
    for _ in range(n_random):
        m, m_train = (sizes[i] for i in rng.choice(len(sizes), size=2, replace=False))
        problem = _Problem(d, alpha, bounds[1][0], m, m_train)
        x = rng.uniform(low, high)
        draws.append((problem.log_gain(x), x, problem))
    draws.sort(key=lambda item: item[0])

    best = draws[0]
    for value, x, problem in draws[:n_polish]:
        if not math.isfinite(value):
            continue
        result = scipy.optimize.minimize(
            problem.log_gain,
            x,
            method="Nelder-Mead",
            bounds=bounds,
            options={"maxiter": 2000, "xatol": 1e-6, "fatol": 1e-9},
        )
        if result.fun < best[0]:
            best = (float(result.fun), np.clip(result.x, low, high), problem)
    value, x, problem = best
    if not value < math.log(target):
        return None
    return problem.instance(x)
