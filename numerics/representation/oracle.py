"""The oracle route of spec R: the losses written as plain code and the meta-gradients taken by ``autograd``.

Nothing here knows a gradient formula. A method is a :class:`~maml_theory.theory.method.Method` (or a preset's
name): s inner steps, each the autograd gradient of the inner loss on the same inner batch (the population
loss in population mode), taken by the head (ANIL) or by both blocks (MAML). Exact methods differentiate the
meta-loss through the s steps (second order, autograd of autograd); first-order ones take the autograd
gradient of the outer loss at the adapted point, evaluated first as plain numbers, so no derivative flows
through the adaptation (the "stop-gradient"), and apply it to the original parameters. NAL (s = 0) takes the
outer loss's gradient at (B, w). B may be wider than B_* (d×h, h ≥ k, w ∈ R^h). Conventions as in
:mod:`maml_theory.numerics.representation.instances` (½ in the loss, σ the noise standard deviation).

The n tasks of a round are handled as one batch: each task gets its own copy of (B, w) (arrays (n, d, k)
and (n, k)), and the gradient of the summed per-task losses with respect to the stacked copies is then the
stack of the per-task gradients. Population mode (``data=None``) uses the population loss; otherwise the
inner step uses the batch (X_in, y_in) and the outer loss (X_out, y_out), as in :class:`Batches`.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import grad

from maml_theory.numerics.representation.instances import Batches, resolve_method
from maml_theory.theory.method import Method


def _regressor(B, w):
    """Bw for B (…, d, k), w (…, k): the linear model's weight vector in R^d, shape (…, d)."""
    return anp.matmul(B, w[..., None])[..., 0]


def population_loss(B, w, B_star, theta, sigma=0.0):
    """L(B, w; θ) = ½‖Bw − B_*θ‖² + σ²/2 = ½ E[(⟨Bw, x⟩ − y)²], x ~ N(0, I), y = ⟨B_*θ, x⟩ + z, z ~ N(0, σ²).

    Batched: B (…, d, k), w (…, k), θ (…, k) give the per-task values (…).
    """
    residual = _regressor(B, w) - _regressor(B_star, theta)
    return 0.5 * anp.sum(residual**2, axis=-1) + 0.5 * sigma**2


def empirical_loss(B, w, X, y):
    """(1/2m) Σ_j (⟨Bw, x_j⟩ − y_j)² on the m samples X (…, m, d), y (…, m); per task for a batch."""
    prediction = anp.matmul(X, _regressor(B, w)[..., None])[..., 0]
    return 0.5 * anp.mean((prediction - y) ** 2, axis=-1)


def meta_gradient(
    method: Method | str,
    B: np.ndarray,
    w: np.ndarray,
    B_star: np.ndarray,
    heads: np.ndarray,
    alpha: float,
    data: Batches | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(G_B, G_w) of one round by autograd: B (d, h), w (h,), B_star (d, k), heads (n, k), ``data`` one
    round's batches (no run axis) or None for the population loss. The update is
    (B, w) ← (B, w) − β (G_B, G_w)."""
    method = resolve_method(method)
    n = heads.shape[0]

    def loss(params, X=None, y=None):
        """The n per-task losses at per-task parameters params = (B (n, d, k), w (n, k))."""
        b, v = params
        if X is None:
            # σ shifts the population loss by a constant only: no gradient sees it.
            return population_loss(b, v, B_star, heads)
        return empirical_loss(b, v, X, y)

    def inner(params):
        return loss(params, *((data.X_in, data.y_in) if data is not None else ()))

    def outer(params):
        return loss(params, *((data.X_out, data.y_out) if data is not None else ()))

    def adapt(params):
        """Per-task adapted (B_i, w_i): s steps of size α on the inner loss (ANIL: head only)."""
        b, v = params
        b, v = b + anp.zeros((n, *b.shape)), v + anp.zeros((n, *v.shape))
        for _ in range(method.inner_steps):
            g_b, g_w = grad(lambda p: anp.sum(inner(p)))((b, v))
            b, v = (b - alpha * g_b if method.adapt == "both" else b), v - alpha * g_w
        return b, v

    def meta_loss(params):
        return anp.mean(outer(adapt(params)))

    if method.first_order:
        # Evaluated to plain arrays first: the adapted point is a constant for the outer gradient.
        adapted = tuple(np.asarray(a) for a in adapt((B, w)))
        g_b, g_w = grad(lambda p: anp.mean(outer(p)))(adapted)
        # Task i's copy receives (1/n)∇L_i(B_i, w_i); summing over the copies gives the round mean.
        return g_b.sum(axis=0), g_w.sum(axis=0)
    g_b, g_w = grad(meta_loss)((B, w))
    return np.asarray(g_b), np.asarray(g_w)
