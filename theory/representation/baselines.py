"""The expectation behind the method-of-moments baseline (a new derivation; its source is the estimator of
Tripuraneni, Jin & Jordan, *Provable meta-learning of linear representations*, ICML 2021).

One sample of a task with head θ: x ~ N(0, I_d), z ~ N(0, σ²), y = xᵀB_*θ + z. The method of moments
takes the top-k eigenvectors of (1/N) Σ_j y_j² x_jxⱼᵀ, whose expectation, per task, is E[y² x xᵀ] over
(x, z): the moment engine pairs the four Gaussian factors of x (xᵀB_*θ + z)(θᵀB_*ᵀx + z) xᵀ (Wick), giving
(θᵀB_*ᵀB_*θ + σ²) I + 2B_*θθᵀB_*ᵀ. Averaged over the heads it goes through the second moment Λ = E θθᵀ
alone (the head law's θ̄θ̄ᵀ + diag(1, …, 1, µ²); a round's (1/n)Σ θ_iθ_iᵀ for a given set), so with
B_*ᵀB_* = I_k it is (tr Λ + σ²) I + 2B_*ΛB_*ᵀ, whose top-k eigenspace is col(B_*) when Λ ≻ 0.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from maml_theory.theory import matrix_forms as mf
from maml_theory.theory.derivation import Derivation
from maml_theory.theory.moments import Gaussian, expect
from maml_theory.theory.relations import definition, equals, expectation
from maml_theory.theory.representation import losses, updates
from maml_theory.theory.representation import model as R

LAWS = (Gaussian(losses.x, R.Id), Gaussian(losses.z, losses.sigma**2))
"""One sample's Gaussians: x ~ N(0, I_d) and the noise z ~ N(0, σ²) (σ a standard deviation)."""


@cache
def mom_expectation() -> Derivation:
    """E[y² x xᵀ] for one task, then averaged over the heads through Λ."""
    dv = Derivation(
        "R.baselines.mom",
        "Method of moments: the expectation of y² x xᵀ",
        "spec R §1 model; the method-of-moments baseline",
        points=losses.POINTS,
    )
    x, z = losses.x, losses.z
    y = x.T * R.B_star * R.theta + z
    term = dv.step(
        "one sample of a task with head θ: y = xᵀB_*θ + z",
        x * y * y.T * x.T,
        "y² x xᵀ",
        by=definition("the summand of the method of moments' matrix"),
    )
    mean = dv.step(
        "E over x ~ N(0, I_d) and z ~ N(0, σ²), Wick pairing",
        mf.expand_matrix(expect(term, gaussians=LAWS)),
        "E[y² x xᵀ | θ]",
        by=expectation(term, "E over explicit Gaussians x, z, monomial by monomial", gaussians=LAWS),
    )
    averaged = dv.step(
        "average over the heads: E θθᵀ = Λ",
        updates.round_average(mean),
        "E[y² x xᵀ]",
        by=updates.task_average(mean),
    )
    # tr(B_*ΛB_*ᵀ) = tr(B_*ᵀB_*Λ) = tr Λ: a cyclic rotation that the adjacent-factor rewrite of
    # structure.orthonormal does not make, so it is made here and checked at the points' orthonormal frames.
    dv.step(
        "B_*ᵀB_* = I_k inside the trace",
        averaged.xreplace({sp.Trace(R.B_star * R.Lam * R.B_star.T): sp.Trace(R.Lam)}),
        "E[y² x xᵀ]",
        by=equals(averaged, "the line above at exact orthonormal B_*"),
    )
    return dv
