"""The oracle route of spec L: the losses written as plain code and differentiated by ``autograd``.

Nothing here knows a closed form. The inner adaptation step is the autograd gradient of the inner
loss, and the outer derivatives (gradient, Hessian) differentiate through it, so they are second
order. Conventions as in :mod:`maml_theory.numerics.landscape.instances`: the ½ is in the loss, ``sigma`` is
the label-noise standard deviation, ``opt_cov`` a covariance (variances).

Every loss takes one task (``w_star`` of shape (d,), ``cov`` (d, d), ``X`` (m, d), ``y`` (m,)) or a
batch of T tasks (shapes (T, d), (T, d, d), (T, m, d), (T, m)); for a batch it returns the T
per-task values, and the point ``w`` (d,) is shared by the tasks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np
from autograd import grad, hessian

from maml_theory.numerics import validation as v
from maml_theory.numerics.landscape.instances import Mixture


def psd_factor(a: np.ndarray) -> np.ndarray:
    """A factor F with F Fᵀ = a for a symmetric positive semidefinite a (its symmetric square root).

    Unlike a Cholesky factor it exists for singular a (ν = 0, a point mass of optima); eigenvalues
    that round-off made slightly negative are set to 0.
    """
    lam, vecs = np.linalg.eigh(a)
    return vecs * np.sqrt(np.clip(lam, 0.0, None))


def _quadratic(e, cov):
    """½ eᵀ Σ e over the last axis (one task or a batch)."""
    return 0.5 * anp.sum(e * anp.matmul(cov, e[..., None])[..., 0], axis=-1)


def task_loss(w, w_star, cov, sigma=0.0):
    """Population loss f(w) = ½ E[(⟨w, x⟩ − y)²] = ½ (w − w*)ᵀ Σ (w − w*) + σ²/2 (σ: noise std)."""
    return _quadratic(w - w_star, cov) + 0.5 * sigma**2


def empirical_loss(w, X, y):
    """Empirical loss L(w) = (1/2m) Σ_j (x_jᵀ w − y_j)² on the m samples (X, y)."""
    residual = anp.matmul(X, w[..., None])[..., 0] - y
    return 0.5 * anp.mean(residual**2, axis=-1)


def adapted_loss(w, w_star, cov, alpha, X=None, y=None, sigma=0.0):
    """f(w − α ∇L(w)), ∇L by autograd: L the empirical loss on (X, y), or f itself when X is None.

    With the default ``sigma = 0`` this is the adapted excess f(w⁺) − f(w*) = ½ eᵀ Σ e, e = w⁺ − w*.
    """
    # Each task adapts its own copy of w: the gradient of the summed inner losses with respect to
    # the stacked copies is then the stack of the per-task gradients.
    w_tasks = w + anp.zeros_like(w_star)
    if X is None:
        inner = grad(lambda u: anp.sum(task_loss(u, w_star, cov)))(w_tasks)
    else:
        inner = grad(lambda u: anp.sum(empirical_loss(u, X, y)))(w_tasks)
    return task_loss(w_tasks - alpha * inner, w_star, cov, sigma)


def mean_adapted_loss(w, w_star, cov, alpha, X=None, y=None, sigma=0.0):
    """The sampled one-step MAML objective: the mean of :func:`adapted_loss` over the tasks."""
    return anp.mean(adapted_loss(w, w_star, cov, alpha, X, y, sigma))


adapted_gradient = grad(mean_adapted_loss)
adapted_gradient.__doc__ = "∇_w of :func:`mean_adapted_loss` by autograd (through the inner step)."

adapted_hessian = hessian(mean_adapted_loss)
adapted_hessian.__doc__ = "∇²_w of :func:`mean_adapted_loss` by autograd, a (d, d) array."


@dataclass(frozen=True)
class TaskBatch:
    """n tasks with their data: optima ``w_star`` (n, d), covariances ``cov`` (n, d, d) and, for a
    finite batch size m, samples ``X`` (n, m, d) and labels ``y`` (n, m) (``None`` when m = inf)."""

    w_star: np.ndarray
    cov: np.ndarray
    X: np.ndarray | None
    y: np.ndarray | None


def sample_tasks(mixture: Mixture, n: int, rng: np.random.Generator, *, m: float = math.inf) -> TaskBatch:
    """Draw n iid tasks and, unless m = inf, m fresh samples each, plainly (every x_j in full).

    Type counts ~ Multinomial(n, p) and the tasks come grouped by type (they are exchangeable);
    then per type: w* = c_k + F ξ with F Fᵀ = V_k, x = L u with L Lᵀ = Σ_k (Cholesky),
    y = ⟨w*, x⟩ + σ z; ξ, u, z ~ N(0, I).
    """
    n = v.integer("n", n, low=1)
    m = v.sample_count("m", m)
    finite = math.isfinite(m)
    d = mixture.d
    counts = rng.multinomial(n, [t.prob for t in mixture.types])
    w_star, cov, X, y = [], [], [], []
    for t, count in zip(mixture.types, counts, strict=True):
        optima = t.center + rng.standard_normal((count, d)) @ psd_factor(t.opt_cov).T
        w_star.append(optima)
        cov.append(np.broadcast_to(t.cov, (count, d, d)))
        if finite:
            samples = rng.standard_normal((count, int(m), d)) @ np.linalg.cholesky(t.cov).T
            X.append(samples)
            noise = mixture.sigma * rng.standard_normal((count, int(m)))
            y.append(np.einsum("tjd,td->tj", samples, optima) + noise)
    return TaskBatch(
        w_star=np.concatenate(w_star),
        cov=np.concatenate(cov),
        X=np.concatenate(X) if finite else None,
        y=np.concatenate(y) if finite else None,
    )
