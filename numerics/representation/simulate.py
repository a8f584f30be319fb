"""The simulator route of spec R: the five methods with hand-derived, vectorised numpy meta-gradients.

No closed form and no autograd (the oracle checks these formulas). Conventions of
:mod:`numerics.representation.instances`.

Derivation. Write a task's loss through the regressor p = bv ∈ R^d (b ∈ R^{d×k}, v ∈ R^k):
  L̂(b, v) = ½ pᵀΣ̂p − pᵀĉ + const,  ∇_p L̂ = s := Σ̂p − ĉ,  ∇_b L̂ = s vᵀ,  ∇_v L̂ = bᵀs,
with Σ̂ = (1/m) XᵀX and ĉ = (1/m) Xᵀy for a batch (X, y) — the empirical loss (1/2m)‖Xp − y‖² — and Σ̂ = I,
ĉ = B_*θ for the population loss ½‖p − B_*θ‖² + σ²/2 (x integrated out exactly). Subscripts a/o mark the
inner (adaptation) and outer batches; both are the population in population mode. Per task i (index dropped):
  s⁰ = Σ̂_a Bw − ĉ_a,  w_i = w − αBᵀs⁰  (inner step on the head).
- NAL: s = Σ̂_o Bw − ĉ_o;  G_B = mean(s) wᵀ,  G_w = Bᵀ mean(s).
- FO-ANIL: s = Σ̂_o Bw_i − ĉ_o, g = Bᵀs;  G_B = mean(s w_iᵀ),  G_w = mean(g).
- Exact ANIL: dw_i = dw − α(dBᵀs⁰ + BᵀΣ̂_a(dB w + B dw)), so the chain rule through w_i adds
  G_B −= α mean(s⁰gᵀ + Σ̂_aBg wᵀ),  G_w −= α mean(BᵀΣ̂_aBg)   [i.e. G_w = mean((I − αBᵀΣ̂_aB) g)].
- FO-MAML: B_i = B − αs⁰wᵀ, so B_iw_i = Bw_i − α(wᵀw_i)s⁰; s̃ = Σ̂_o B_iw_i − ĉ_o, U = s̃w_iᵀ,
  u = B_iᵀs̃ = Bᵀs̃ − α(s⁰ᵀs̃)w;  G_B = mean(U),  G_w = mean(u).
- Exact MAML: ds⁰ = Σ̂_a(dB w + B dw) enters dB_i = dB − α(ds⁰wᵀ + s⁰dwᵀ) and dw_i = dw − α(dBᵀs⁰ + Bᵀds⁰);
  collecting terms with h = Uw + Bu = (wᵀw_i)s̃ + Bu:
  G_B = mean(U − α(Σ̂_ah wᵀ + s⁰uᵀ)),  G_w = mean(u − α(Uᵀs⁰ + BᵀΣ̂_ah)),  Uᵀs⁰ = (s̃ᵀs⁰)w_i.
With Σ̂ = I these are spec R §3's population formulas. The update is (B, w) ← (B, w) − β(G_B, G_w).

Everything is batched: tasks on an axis (no loop over tasks or samples), and any leading axes index runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from numerics import validation as v
from numerics.representation.distance import dist
from numerics.representation.instances import (
    Batches,
    Instance,
    Problem,
    Streams,
    draw_problem,
    draw_round,
    method_name,
)

BLOWUP = 1e6
"""Divergence threshold: a run diverges at the first step t where (B_t, w_t) has a non-finite entry or
‖(B_t, w_t)‖_F > BLOWUP · max(‖(B_0, w_0)‖_F, ‖B_*‖_F = √k). The updates are cubic in (B, w), so an iterate
grown a million-fold is deep in the unstable regime."""


def _swap(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _moment(X: np.ndarray | None, p: np.ndarray) -> np.ndarray:
    """Σ̂p for vectors p (…, n, d): (1/m) Xᵀ(Xp) per task for a batch X (…, n, m, d); p itself (Σ̂ = I) when
    X is None. Applied as two matrix-vector products, O(md) a task, never forming the d×d Σ̂."""
    if X is None:
        return p
    return (_swap(X) @ (X @ p[..., None]))[..., 0] / X.shape[-2]


def meta_gradient(
    method: str,
    B: np.ndarray,
    w: np.ndarray,
    B_star: np.ndarray,
    heads: np.ndarray,
    alpha: float,
    data: Batches | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(G_B, G_w) of one round by the formulas of the module docstring.

    B (…, d, k), w (…, k), B_star (…, d, k), heads (…, n, k), ``data`` the round's batches (with the same
    leading axes) or None for the population loss; the leading axes (runs) broadcast.
    """
    method = method_name(method)
    Bt = _swap(B)
    if data is None:
        X_in = X_out = None
        c_in = c_out = heads @ _swap(B_star)  # ĉ = B_*θ_i, (…, n, d)
    else:
        X_in, X_out = data.X_in, data.X_out
        c_in, c_out = (
            (_swap(X) @ y[..., None])[..., 0] / X.shape[-2]
            for X, y in ((X_in, data.y_in), (X_out, data.y_out))
        )
    n = heads.shape[-2]
    p0 = (B @ w[..., None])[..., None, :, 0]  # Bw, (…, 1, d): one regressor shared by the tasks
    if method == "nal":
        s_bar = (_moment(X_out, p0) - c_out).mean(axis=-2)
        return s_bar[..., :, None] * w[..., None, :], (s_bar[..., None, :] @ B)[..., 0, :]
    s0 = _moment(X_in, p0) - c_in  # (…, n, d)
    w_i = w[..., None, :] - alpha * (s0 @ B)  # (…, n, k)
    if method in ("anil", "fo-anil"):
        s = _moment(X_out, w_i @ Bt) - c_out
        g = s @ B
        G_B = _swap(s) @ w_i / n
        G_w = g.mean(axis=-2)
        if method == "anil":
            q = _moment(X_in, g @ Bt)  # Σ̂_a B g
            G_B = G_B - alpha * (_swap(s0) @ g + q.sum(axis=-2)[..., :, None] * w[..., None, :]) / n
            G_w = G_w - alpha * (q @ B).mean(axis=-2)
        return G_B, G_w
    head_overlap = w_i @ w[..., :, None]  # wᵀw_i, (…, n, 1)
    s = _moment(X_out, w_i @ Bt - alpha * head_overlap * s0) - c_out  # s̃ at B_i w_i
    s_overlap = np.sum(s0 * s, axis=-1, keepdims=True)  # s⁰ᵀs̃, (…, n, 1)
    u = s @ B - alpha * s_overlap * w[..., None, :]
    G_B = _swap(s) @ w_i / n
    G_w = u.mean(axis=-2)
    if method == "maml":
        q = _moment(X_in, head_overlap * s + u @ Bt)  # Σ̂_a h
        G_B = G_B - alpha * (q.sum(axis=-2)[..., :, None] * w[..., None, :] + _swap(s0) @ u) / n
        G_w = G_w - alpha * (s_overlap * w_i + q @ B).mean(axis=-2)
    return G_B, G_w


def step(
    method: str,
    B: np.ndarray,
    w: np.ndarray,
    B_star: np.ndarray,
    heads: np.ndarray,
    alpha: float,
    beta: float,
    data: Batches | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One outer step (B − βG_B, w − βG_w), shapes and ``data`` as in :func:`meta_gradient`."""
    G_B, G_w = meta_gradient(method, B, w, B_star, heads, alpha, data)
    return B - beta * G_B, w - beta * G_w


@dataclass(frozen=True, eq=False)
class Trajectory:
    """R independent runs of one method for T steps.

    ``dist`` and ``w_norm`` (R, T+1): dist(B_t, B_*) and ‖w_t‖ for t = 0..T, NaN from a run's divergence on
    (and ``dist`` NaN where B_t is rank deficient, flagged in ``rank_deficient`` (R, T+1)). ``diverged`` (R,)
    and ``diverged_at`` (R,): the first t at which the run crossed :data:`BLOWUP` (−1 if it never did); the
    run is then frozen, and ``B_final`` (R, d, k), ``w_final`` (R, k) hold its last iterate below the
    threshold (B_T, w_T for the others).
    """

    method: str
    inst: Instance
    dist: np.ndarray
    w_norm: np.ndarray
    rank_deficient: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    B_final: np.ndarray
    w_final: np.ndarray


def _streams(rng: Streams, runs: int | None) -> list[np.random.Generator]:
    if isinstance(rng, np.random.Generator):
        return rng.spawn(1 if runs is None else v.integer("runs", runs, low=1))
    streams = list(rng)
    if not streams or not all(isinstance(s, np.random.Generator) for s in streams):
        raise v.ParameterError("rng", "a numpy Generator or a non-empty sequence of them", rng)
    if runs is not None and runs != len(streams):
        raise v.ParameterError("runs", f"None or the number of generators given ({len(streams)})", runs)
    return streams


def _stacked(
    inst: Instance, streams: list[np.random.Generator], problem: Problem | None
) -> list[np.ndarray | None]:
    """[B_star, B0, w0, heads or None] with a leading run axis: a problem per stream, or one shared."""
    d, k, R = inst.d, inst.k, len(streams)
    if problem is None:
        drawn = [draw_problem(inst, s) for s in streams]
        return [
            np.stack(parts) if parts[0] is not None else None
            for parts in zip(*((p.B_star, p.B0, p.w0, p.heads) for p in drawn), strict=True)
        ]
    shapes_ok = problem.B_star.shape == problem.B0.shape == (d, k) and problem.w0.shape == (k,)
    heads_ok = (problem.heads is None) != inst.fixed_tasks and (
        problem.heads is None or problem.heads.shape == (inst.n, k)
    )
    if not (shapes_ok and heads_ok):
        raise v.ParameterError(
            "problem",
            f"a Problem for d = {d}, k = {k}, n = {inst.n}, fixed_tasks = {inst.fixed_tasks}",
            "a mismatched Problem",
        )
    arrays = (problem.B_star, problem.B0, problem.w0, problem.heads)
    return [None if a is None else np.repeat(a[None], R, axis=0) for a in arrays]


def simulate(
    method: str,
    inst: Instance,
    rng: Streams,
    *,
    runs: int | None = None,
    problem: Problem | None = None,
    blowup: float = BLOWUP,
) -> Trajectory:
    """Run ``method`` for inst.T steps, R runs at once (one array pass per step): with the population loss, or
    (``inst.m_in`` set) with fresh batches of m_in inner and m_out outer samples per task and round.

    ``rng``: a Generator, spawned into ``runs`` (default 1) independent streams, or a sequence of R generators
    used as the streams directly. Run r draws everything from stream r only (its problem, then per round its
    heads and batches, in the order of :func:`draw_round`), so run r of a batch equals a one-run simulation on
    stream r alone, and the same seed gives the same bits. ``problem``: shared by every run (B_*, B_0, w_0,
    fixed heads); None draws one per run. ``blowup``: the divergence factor of :data:`BLOWUP`.
    """
    method = method_name(method)
    blowup = v.real("blowup", blowup, low=1.0, low_open=True, allowed="> 1")
    streams = _streams(rng, runs)
    B_star, B, w, fixed_heads = _stacked(inst, streams, problem)
    B, w = B.copy(), w.copy()
    R, T = len(streams), inst.T

    def size(B: np.ndarray, w: np.ndarray) -> np.ndarray:
        return np.sqrt(np.sum(B * B, axis=(-2, -1)) + np.sum(w * w, axis=-1))

    limit = blowup * np.maximum(size(B, w), math.sqrt(inst.k))
    distance = np.full((R, T + 1), np.nan)
    w_norm = np.full((R, T + 1), np.nan)
    deficient = np.zeros((R, T + 1), dtype=bool)
    diverged_at = np.full(R, -1)
    active = np.ones(R, dtype=bool)

    def record(t: int) -> None:
        value, bad = dist(B, B_star)
        distance[active, t] = value[active]
        deficient[active, t] = bad[active]
        w_norm[active, t] = np.linalg.norm(w[active], axis=-1)

    record(0)
    for t in range(1, T + 1):
        heads, data = draw_round(inst, streams, B_star, fixed_heads)
        # An unstable run overflows on its way past the threshold; that is detected below, not warned about.
        with np.errstate(over="ignore", invalid="ignore"):
            B_new, w_new = step(method, B, w, B_star, heads, inst.alpha, inst.beta, data)
            # NaN compares False, so a non-finite iterate fails this test too.
            crossed = active & ~(size(B_new, w_new) <= limit)
        diverged_at[crossed] = t
        active &= ~crossed
        B[active], w[active] = B_new[active], w_new[active]
        record(t)
        if not active.any():
            break
    return Trajectory(
        method=method,
        inst=inst,
        dist=distance,
        w_norm=w_norm,
        rank_deficient=deficient,
        diverged=diverged_at >= 0,
        diverged_at=diverged_at,
        B_final=B,
        w_final=w,
    )
