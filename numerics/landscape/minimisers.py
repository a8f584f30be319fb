"""w_MAML and w_NAL of spec L found without closed forms: by minimising sampled objectives.

Two routes, both drawing tasks with :func:`maml_theory.numerics.landscape.oracle.sample_tasks`:

- the exact minimiser of the sampled objective (1/N) Σ_i f_i(w − α ĝ_i(w; D_i)). The adapted point
  is affine in w: w − α ĝ_i(w) = P_i w + c_i with P_i = I − α Σ̂_i, Σ̂_i = (1/m) Σ_j x_j x_jᵀ and
  c_i = (α/m) Σ_j x_j y_j (m = inf: P_i = I − α Σ_i, c_i = α Σ_i w*_i). So the objective is a
  weighted least-squares problem with normal equations
  (Σ_i P_iᵀ Σ_i P_i) w = Σ_i P_iᵀ Σ_i (w*_i − c_i). NAL is the case α = 0 (P_i = I, c_i = 0).
- SGD on the sampled objective with fresh tasks and batches every step, the gradient by autograd
  through the inner step (:func:`maml_theory.numerics.landscape.oracle.adapted_gradient`), Polyak-averaged
  over the last steps.

As the number of tasks grows both tend to w_MAML = argmin F_MAML (MAML trained with batch size
``m``, by default ``mixture.m_train``) and w_NAL = argmin F_NAL, where
F_MAML(w) = E_i E_D f_i(w − α ĝ_i(w; D)) and F_NAL(w) = E_i f_i(w).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from maml_theory.numerics import validation as v
from maml_theory.numerics.landscape import oracle
from maml_theory.numerics.landscape.instances import Mixture
from maml_theory.numerics.landscape.montecarlo import CHUNK


@dataclass(frozen=True)
class VectorEstimate:
    """An estimate ``mean`` (d,) of a vector with standard errors ``se`` (d,), from ``n`` tasks."""

    mean: np.ndarray
    se: np.ndarray
    n: int


def _normal_equations(tasks: oracle.TaskBatch, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(Σ_i P_iᵀ Σ_i P_i, Σ_i P_iᵀ Σ_i (w*_i − c_i)) over the tasks (see the module docstring)."""
    d = tasks.w_star.shape[1]
    if tasks.X is None:
        step = np.eye(d) - alpha * tasks.cov
        shift = alpha * np.einsum("tij,tj->ti", tasks.cov, tasks.w_star)
    else:
        m = tasks.X.shape[1]
        step = np.eye(d) - (alpha / m) * np.einsum("tji,tjk->tik", tasks.X, tasks.X)
        shift = (alpha / m) * np.einsum("tji,tj->ti", tasks.X, tasks.y)
    weighted = np.matmul(tasks.cov, step)
    lhs = np.tensordot(step, weighted, axes=([0, 1], [0, 1]))
    rhs = np.einsum("tji,tj->i", weighted, tasks.w_star - shift)
    return lhs, rhs


def _sampled_minimiser(
    mixture: Mixture, n_tasks: int, rng: np.random.Generator, alpha: float, m: float, batches: int
) -> VectorEstimate:
    """Minimiser of the sampled one-step objective, step ``alpha`` (0: NAL), batch size ``m``.

    The tasks are split into ``batches`` groups of near-equal size, drawn group after group with
    :func:`oracle.sample_tasks` in chunks; the SE is the delete-a-group jackknife
    √((B−1)/B Σ_b (ŵ_(−b) − ŵ_(·))²), ŵ_(−b) the minimiser without group b.
    """
    batches = v.integer("batches", batches, low=2)
    n_tasks = v.integer("n_tasks", n_tasks, low=batches, allowed=f"an integer >= batches = {batches}")
    d = mixture.d
    per_chunk = max(1, CHUNK // (d * (int(m) if math.isfinite(m) else 0) + 3 * d * d))
    sizes = np.full(batches, n_tasks // batches)
    sizes[: n_tasks % batches] += 1
    lhs = np.zeros((batches, d, d))
    rhs = np.zeros((batches, d))
    for b, size in enumerate(sizes):
        for start in range(0, size, per_chunk):
            tasks = oracle.sample_tasks(mixture, min(per_chunk, size - start), rng, m=m)
            block_lhs, block_rhs = _normal_equations(tasks, alpha)
            lhs[b] += block_lhs
            rhs[b] += block_rhs
    full = np.linalg.solve(lhs.sum(axis=0), rhs.sum(axis=0))
    left_out = np.linalg.solve(lhs.sum(axis=0) - lhs, (rhs.sum(axis=0) - rhs)[..., None])[..., 0]
    spread = left_out - left_out.mean(axis=0)
    se = np.sqrt((batches - 1) / batches * np.sum(spread**2, axis=0))
    return VectorEstimate(mean=full, se=se, n=n_tasks)


def sampled_maml_minimiser(
    mixture: Mixture,
    n_tasks: int,
    rng: np.random.Generator,
    *,
    m: float | None = None,
    batches: int = 20,
) -> VectorEstimate:
    """argmin_w (1/N) Σ_i f_i(w − α ĝ_i(w; D_i)) over N = ``n_tasks`` sampled tasks.

    Each task has a batch of m samples (``m`` defaults to ``mixture.m_train``; inf: exact inner
    gradients). Solved exactly as weighted least squares; SE by jackknife over ``batches`` groups.
    Tends to w_MAML = argmin F_MAML as N → ∞.
    """
    m = mixture.m_train if m is None else v.sample_count("m", m)
    return _sampled_minimiser(mixture, n_tasks, rng, mixture.alpha, m, batches)


def sampled_nal_minimiser(
    mixture: Mixture, n_tasks: int, rng: np.random.Generator, batches: int = 20
) -> VectorEstimate:
    """argmin_w (1/N) Σ_i f_i(w) = (Σ_i Σ_i)⁻¹ Σ_i Σ_i w*_i over N = ``n_tasks`` sampled tasks.

    SE by jackknife over ``batches`` groups. Tends to w_NAL = argmin F_NAL as N → ∞.
    """
    return _sampled_minimiser(mixture, n_tasks, rng, 0.0, math.inf, batches)


def _sgd(
    mixture: Mixture,
    rng: np.random.Generator,
    alpha: float,
    m: float,
    steps: int,
    tasks_per_step: int,
    lr: float | None,
    w0: np.ndarray | None,
    tail: float,
) -> np.ndarray:
    """SGD on the sampled one-step objective with step ``alpha`` (0: NAL); see :func:`sgd_maml`."""
    steps = v.integer("steps", steps, low=1)
    tasks_per_step = v.integer("tasks_per_step", tasks_per_step, low=1)
    tail = v.real("tail", tail, low=0.0, low_open=True, high=1.0, allowed="in (0, 1]")
    if lr is not None:
        lr = v.real("lr", lr, low=0.0, low_open=True, allowed="> 0")
    d = mixture.d
    if w0 is None:
        w = sum(t.prob * t.center for t in mixture.types)
    else:
        w = v.matrix("w0", w0, (d,), allowed=f"a finite vector of length {d}").copy()
    averaged = max(1, math.ceil(tail * steps))
    total = np.zeros(d)
    for step in range(steps):
        tasks = oracle.sample_tasks(mixture, tasks_per_step, rng, m=m)
        args = (tasks.w_star, tasks.cov, alpha, tasks.X, tasks.y)
        if lr is None:
            # The objective is quadratic, so its curvature does not depend on w; half the inverse
            # top curvature of one batch leaves room for the spread of other batches' curvatures.
            lr = 0.5 / np.linalg.eigvalsh(oracle.adapted_hessian(w, *args))[-1]
        w = w - lr * oracle.adapted_gradient(w, *args)
        if step >= steps - averaged:
            total += w
    return total / averaged


def sgd_maml(
    mixture: Mixture,
    rng: np.random.Generator,
    *,
    steps: int = 2000,
    tasks_per_step: int = 32,
    lr: float | None = None,
    w0: np.ndarray | None = None,
    m: float | None = None,
    tail: float = 0.5,
) -> np.ndarray:
    """SGD for w_MAML; returns the Polyak average of the last ⌈tail·steps⌉ iterates.

    Each step draws ``tasks_per_step`` fresh tasks with fresh batches of m samples (``m`` defaults
    to ``mixture.m_train``) and moves along −∇ of their mean adapted loss f_i(w − α ĝ_i(w)), the
    gradient by autograd through the inner step. ``lr`` defaults to 0.5 / (the largest eigenvalue
    of the autograd Hessian of the first batch's objective), ``w0`` to Σ_k p_k c_k. The objective is
    quadratic and the batch Hessian is independent of the current iterate, so the stationary mean of
    the iterates is w_MAML and their average converges to it as the steps grow.
    """
    m = mixture.m_train if m is None else v.sample_count("m", m)
    return _sgd(mixture, rng, mixture.alpha, m, steps, tasks_per_step, lr, w0, tail)


def sgd_nal(
    mixture: Mixture,
    rng: np.random.Generator,
    *,
    steps: int = 2000,
    tasks_per_step: int = 32,
    lr: float | None = None,
    w0: np.ndarray | None = None,
    tail: float = 0.5,
) -> np.ndarray:
    """SGD for w_NAL: :func:`sgd_maml` with α = 0 (no inner step, no samples: ∇f_i itself)."""
    return _sgd(mixture, rng, 0.0, math.inf, steps, tasks_per_step, lr, w0, tail)
