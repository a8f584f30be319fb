"""Spec R's derived updates, compiled to numpy and evaluated at numeric (B, w, B_*, heads).

Verification code: it compiles the theory's expressions, which no simulator or oracle may see (see
:mod:`maml_theory.numerics`). The round moments θ̄, Λ are computed from the heads; an explicit third-moment
task mean (exact MAML) is evaluated head by head and averaged.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp

from maml_theory.numerics.compiled import numpy_function
from maml_theory.theory.representation import finite_sample, losses, structure, updates
from maml_theory.theory.representation import model as R

_SCALARS = (R.d, R.k, R.alpha, losses.sigma, losses.m_in)


@cache
def _compiled(method: str, sampled: bool, zero_head: bool):
    """(main, [(means' arguments)]) for G_B and G_w: main takes the task means' values as extra arguments."""
    if sampled:
        dv = finite_sample.expected_update(method, zero_head)
        exprs = (dv["E[G_B]"], dv["E[G_w]"])
    else:
        dv = updates.at_zero_head(method) if zero_head else updates.round_update(method)
        exprs = (
            (R.B - dv["B⁺"]) / R.beta if zero_head else dv["G_B"],
            -dv["w⁺"] / R.beta if zero_head else dv["G_w"],
        )
    out = []
    base = (R.B, R.w, R.B_star, R.Lam, R.theta_bar, *_SCALARS)
    for expr in exprs:
        means = sorted(expr.atoms(R.TaskMean), key=str)
        slots = [sp.MatrixSymbol(f"T{i}", *t.shape) for i, t in enumerate(means)]
        main = numpy_function((*base, *slots), expr.xreplace(dict(zip(means, slots, strict=True))))
        per_head = [numpy_function((R.B, R.w, R.B_star, R.theta, *_SCALARS), t.arg) for t in means]
        out.append((main, per_head))
    return out


def update(
    method: str,
    B: np.ndarray,
    w: np.ndarray,
    B_star: np.ndarray,
    heads: np.ndarray,
    alpha: float,
    *,
    sigma: float = 0.0,
    m_in: float | None = None,
    zero_head: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(G_B, G_w) of one round: the population update, or with ``m_in`` its expectation over the batches.

    ``zero_head`` evaluates the (smaller) derived form at w = 0; ``w`` must then be zero.
    """
    d, k = B.shape
    sampled = m_in is not None
    if zero_head and np.any(w):
        raise ValueError("zero_head needs w = 0")
    lam = heads.T @ heads / heads.shape[0]
    bar = heads.mean(axis=0).reshape(k, 1)
    col = np.asarray(w, dtype=np.float64).reshape(k, 1)
    scalars = (d, k, alpha, sigma, m_in if sampled else 1.0)
    result = []
    for main, per_head in _compiled(method, sampled, zero_head):
        means = [
            np.mean([f(B, col, B_star, th.reshape(k, 1), *scalars) for th in heads], axis=0) for f in per_head
        ]
        result.append(np.asarray(main(B, col, B_star, lam, bar, *scalars, *means), dtype=np.float64))
    g_b, g_w = result
    return g_b.reshape(d, k), g_w.reshape(k)


@cache
def _contraction(method: str):
    return numpy_function((R.B, R.w, R.B_star, R.theta, *_SCALARS), structure.perpendicular(method)["C"])


def contraction(
    method: str, B: np.ndarray, w: np.ndarray, B_star: np.ndarray, heads: np.ndarray, alpha: float
) -> np.ndarray:
    """C̄ = (1/n) Σ_i C(θ_i), the derived per-task C of B_⊥ᵀB⁺ = B_⊥ᵀB(I − βC̄) (claims ``R.perp.<method>``),
    for one population round. B (…, d, k), w (…, k), B_star (…, d, k), heads (…, n, k); returns (…, k, k),
    leading (run) axes looped over."""
    f = _contraction(method)
    d, k = B.shape[-2:]
    lead = B.shape[:-2]
    B_star = np.broadcast_to(B_star, B.shape)
    out = np.empty((*lead, k, k))
    for idx in np.ndindex(*lead):
        col = w[idx].reshape(k, 1)
        per_task = [f(B[idx], col, B_star[idx], th.reshape(k, 1), d, k, alpha, 0.0, 1.0) for th in heads[idx]]
        out[idx] = np.mean(np.broadcast_to(per_task, (len(per_task), k, k)), axis=0)
    return out
