"""The JAX peer of the spec R benchmarks: one finite-sample outer step, data drawn inside, jit + vmap.

The way a JAX user writes it: per task, draw nothing and compute the hand-derived meta-gradient of
``numerics/representation/simulate.py`` (same formulas) on that task's batches; ``vmap`` over the n tasks;
the round's heads, X_in, z_in, X_out, z_out drawn with ``jax.random`` in the same jitted function; float64.
JAX is a benchmark-only dependency (``pip install ".[bench]"``); nothing outside ``benchmarks/`` imports it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)


def _task_gradient(method: str, alpha: float):
    """(G_B, G_w) of one task from B (d, k), w (k,), its regressor c = B_*θ and its two batches."""

    def moment(X, p):
        return X.T @ (X @ p) / X.shape[0]

    def gradient(B, w, c, X_in, y_in, X_out, y_out):
        c_in, c_out = X_in.T @ y_in / X_in.shape[0], X_out.T @ y_out / X_out.shape[0]
        if method == "nal":
            s = moment(X_out, B @ w) - c_out
            return jnp.outer(s, w), B.T @ s
        s0 = moment(X_in, B @ w) - c_in
        w_i = w - alpha * (B.T @ s0)
        if method in ("anil", "fo-anil"):
            s = moment(X_out, B @ w_i) - c_out
            g = B.T @ s
            G_B, G_w = jnp.outer(s, w_i), g
            if method == "anil":
                q = moment(X_in, B @ g)
                G_B = G_B - alpha * (jnp.outer(s0, g) + jnp.outer(q, w))
                G_w = G_w - alpha * (B.T @ q)
            return G_B, G_w
        overlap = w @ w_i
        s = moment(X_out, B @ w_i - alpha * overlap * s0) - c_out
        s_overlap = s0 @ s
        u = B.T @ s - alpha * s_overlap * w
        G_B, G_w = jnp.outer(s, w_i), u
        if method == "maml":
            q = moment(X_in, overlap * s + B @ u)
            G_B = G_B - alpha * (jnp.outer(q, w) + jnp.outer(s0, u))
            G_w = G_w - alpha * (s_overlap * w_i + B.T @ q)
        return G_B, G_w

    return gradient


def make_step(
    method: str, d: int, k: int, n: int, m_in: int, m_out: int, alpha: float, beta: float, sigma: float
) -> Callable:
    """A jitted (key, B, w, B_star) ↦ (B⁺, w⁺): fresh N(0, I_k) heads and Gaussian batches, then one step."""
    per_task = jax.vmap(_task_gradient(method, alpha), in_axes=(None, None, 0, 0, 0, 0, 0))

    @jax.jit
    def step(key, B, w, B_star):
        k_heads, k_in, k_zin, k_out, k_zout = jax.random.split(key, 5)
        regressors = jax.random.normal(k_heads, (n, k), jnp.float64) @ B_star.T  # rows B_*θ_i
        X_in = jax.random.normal(k_in, (n, m_in, d), jnp.float64)
        X_out = jax.random.normal(k_out, (n, m_out, d), jnp.float64)
        y_in = jnp.einsum("nmd,nd->nm", X_in, regressors) + sigma * jax.random.normal(k_zin, (n, m_in))
        y_out = jnp.einsum("nmd,nd->nm", X_out, regressors) + sigma * jax.random.normal(k_zout, (n, m_out))
        G_B, G_w = per_task(B, w, regressors, X_in, y_in, X_out, y_out)
        return B - beta * G_B.mean(axis=0), w - beta * G_w.mean(axis=0)

    return step


def best_step_time(step: Callable, B, w, B_star, repeats: int, seed: int = 0) -> float:
    """Best wall time of one call (fresh key each call, result blocked on), after a compiling warm-up call."""
    B, w, B_star = (jnp.asarray(a, dtype=jnp.float64) for a in (B, w, B_star))
    keys = jax.random.split(jax.random.PRNGKey(seed), repeats + 1)
    jax.block_until_ready(step(keys[0], B, w, B_star))
    best = math.inf
    for key in keys[1:]:
        start = time.perf_counter()
        jax.block_until_ready(step(key, B, w, B_star))
        best = min(best, time.perf_counter() - start)
    return best
