"""The statistical floor of the finite-sample meta-learners (spec R §8), measured, and its exponents fitted.

With label noise and fresh tasks and samples every round, dist(B_t, B_*) falls linearly and then fluctuates
around a floor. Per run, the floor is the mean of dist(B_t, B_*) over the last quarter of the run,
t ∈ [3T/4, T]; the measured floor dist_∞ is the median of that over the runs. The run is long enough when
the linear phase is over by the third quarter: the run-wise difference (last quarter − third quarter) has a
mean within Z = 6 standard errors of 0 (``settled``), the same band as every Monte Carlo check of the
project. A grid point where any run diverges has no floor (the survivors' median would be biased towards
the runs that happened to stay small): it is reported as diverged, with the count and the earliest step.

:func:`fit` regresses log dist_∞ on the logarithms of d, n·m_out, m_in and σ over a grid (least squares with
an intercept, over the grid points with a floor, one exponent per factor that takes at least two values
there) and gives each exponent a
percentile bootstrap interval: the runs of every grid point are resampled with replacement, the medians
recomputed and the regression refitted.

No closed form is used: the floors come from :func:`maml_theory.numerics.representation.simulate.simulate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from maml_theory.numerics.landscape.montecarlo import Z
from maml_theory.numerics.representation.instances import Instance
from maml_theory.numerics.representation.simulate import simulate

FACTORS = ("d", "n_m_out", "m_in", "sigma")
"""The grid's factors of the fitted law dist_∞ ∝ d^a (n·m_out)^b m_in^c σ^e."""

BOOTSTRAP = 1000
"""Bootstrap resamples for the intervals (percentile method, 95 %)."""


@dataclass(frozen=True)
class Floor:
    """One method at one grid point: per-run floors (last-quarter means) and third-quarter means of the
    runs that did not diverge, and how many diverged (with the earliest step, None when none did)."""

    method: str
    inst: Instance
    last: np.ndarray
    third: np.ndarray
    diverged: int
    first_divergence: int | None

    @property
    def factors(self) -> dict[str, float]:
        """The grid point's values of :data:`FACTORS`."""
        i = self.inst
        return {"d": i.d, "n_m_out": i.n * i.m_out, "m_in": i.m_in, "sigma": i.sigma}

    @property
    def value(self) -> float | None:
        """dist_∞: the median over the runs (None when a run diverged)."""
        return None if self.diverged else float(np.median(self.last))

    @property
    def settled(self) -> bool | None:
        """Whether the last and third quarters agree: |mean difference| ≤ Z·SE (None without a floor)."""
        if self.value is None or self.last.size < 2:
            return None
        diff = self.last - self.third
        se = diff.std(ddof=1) / np.sqrt(diff.size)
        return bool(abs(diff.mean()) <= Z * se)

    def interval(self, rng: np.random.Generator) -> tuple[float, float] | None:
        """95 % percentile bootstrap interval of the median over runs (None without a floor)."""
        if self.value is None or self.last.size < 2:
            return None
        medians = np.median(_resample(self.last, rng), axis=-1)
        low, high = np.percentile(medians, [2.5, 97.5])
        return float(low), float(high)


def _resample(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """:data:`BOOTSTRAP` resamples of ``x`` with replacement, (BOOTSTRAP, len(x))."""
    return x[rng.integers(0, x.size, size=(BOOTSTRAP, x.size))]


def measure(method: str, inst: Instance, *, seed: int, runs: int) -> Floor:
    """Simulate ``runs`` runs of ``method`` on the finite-sample instance ``inst`` (T ≥ 4); read the floor."""
    if not inst.finite:
        raise ValueError("the floor needs finite samples (m_in and m_out)")
    traj = simulate(method, inst, np.random.default_rng(seed), runs=runs)
    dist = np.asarray(traj.dist)
    T = dist.shape[1] - 1
    ok = traj.diverged_at < 0
    last = dist[ok, 3 * T // 4 :].mean(axis=1)
    third = dist[ok, T // 2 : 3 * T // 4].mean(axis=1)
    first = int(traj.diverged_at[~ok].min()) if (~ok).any() else None
    return Floor(method, inst, last, third, int((~ok).sum()), first)


@dataclass(frozen=True)
class Fit:
    """log dist_∞ = c + Σ_f e_f log f: the exponents e_f of the factors that vary, with 95 % bootstrap
    intervals."""

    exponents: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    points: int
    """The grid points the fit used: those with a floor."""


def _design(floors: Sequence[Floor], varying: Sequence[str]) -> np.ndarray:
    logs = [[np.log(f.factors[name]) for name in varying] for f in floors]
    return np.column_stack([np.ones(len(floors)), np.array(logs).reshape(len(floors), len(varying))])


def fit(floors: Sequence[Floor], rng: np.random.Generator) -> Fit | None:
    """The exponents of dist_∞ in the factors that take two values or more over the grid points with a floor
    (None when no factor varies there or there are no more points than coefficients)."""
    floors = [f for f in floors if f.value is not None]
    varying = [n for n in FACTORS if len({f.factors[n] for f in floors}) > 1]
    if not varying or len(floors) <= len(varying):
        return None
    X = _design(floors, varying)
    y = np.log([f.value for f in floors])
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    # Bootstrap: every grid point's runs resampled independently, the regression refitted per resample.
    medians = np.stack([np.median(_resample(f.last, rng), axis=-1) for f in floors], axis=-1)
    boot = np.linalg.lstsq(X, np.log(medians).T, rcond=None)[0]
    intervals = {
        name: tuple(float(q) for q in np.percentile(boot[j + 1], [2.5, 97.5]))
        for j, name in enumerate(varying)
    }
    return Fit({name: float(coef[j + 1]) for j, name in enumerate(varying)}, intervals, len(floors))
