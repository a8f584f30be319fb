"""Tolerances shared by the Monte Carlo tests (docs/architecture.md): Z standard errors, each estimated
from the same samples as the estimate it bounds."""

from __future__ import annotations

import numpy as np

from maml_theory.numerics.landscape.montecarlo import Z, sd_relative_error

__all__ = ["Z", "spread_tolerance"]


def spread_tolerance(replicates: np.ndarray) -> float:
    """Z times the relative standard error of the sample standard deviation of ``replicates`` (n,): by the
    delta method, sd(ŝ)/s ≈ √((κ − 1)/(4n)) with κ the replicates' kurtosis, estimated from them (3 for a
    normal law, so about 7 % at n = 100)."""
    x = np.asarray(replicates, dtype=np.float64)
    c = x - x.mean()
    kurtosis = np.mean(c**4) / np.mean(c**2) ** 2
    return Z * float(sd_relative_error(kurtosis, x.size))
