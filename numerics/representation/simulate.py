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
These formulas take explicit batches; :mod:`numerics.representation.sampling` draws the same update from
the projections of the batches only, which is how :func:`simulate` runs finite-sample rounds by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from numerics import validation as v
from numerics.representation import sampling
from numerics.representation.distance import dist
from numerics.representation.instances import (
    Batches,
    Instance,
    Problem,
    Streams,
    draw_problem,
    draw_round,
    fill_heads,
    method_name,
)

SAMPLERS = ("projected", "naive")
"""How a finite-sample round is drawn: ``"projected"`` draws only the projections of the batches that the
update depends on (:mod:`numerics.representation.sampling`, exact in distribution, much cheaper);
``"naive"`` draws the batches themselves (:func:`numerics.representation.instances.draw_round`)."""

BLOWUP = 1e6
"""Divergence threshold: a run diverges at the first step t where (B_t, w_t) has a non-finite entry or
‖(B_t, w_t)‖_F > BLOWUP · max(‖(B_0, w_0)‖_F, ‖B_*‖_F = √k). The updates are cubic in (B, w), so an iterate
grown a million-fold is deep in the unstable regime."""


_BLOCK_ENTRIES = 2**22
"""Floats of iterates kept between two batched distance computations (32 MB)."""


def _swap(a: np.ndarray) -> np.ndarray:
    return a.swapaxes(-1, -2)  # the method: np.swapaxes' dispatch costs more than the swap at small sizes


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
        s_bar = (_moment(X_out, p0) - c_out).sum(axis=-2) / n
        return s_bar[..., :, None] * w[..., None, :], (s_bar[..., None, :] @ B)[..., 0, :]
    s0 = _moment(X_in, p0) - c_in  # (…, n, d)
    w_i = w[..., None, :] - alpha * (s0 @ B)  # (…, n, k)
    if method in ("anil", "fo-anil"):
        s = _moment(X_out, w_i @ Bt) - c_out
        g = s @ B
        G_B = _swap(s) @ w_i
        if method == "anil":
            q = _moment(X_in, g @ Bt)  # Σ̂_a B g
            G_B = G_B - alpha * (_swap(s0) @ g + q.sum(axis=-2)[..., :, None] * w[..., None, :])
            g = g - alpha * (q @ B)
        # Sums over tasks divided by n rather than means: np.mean's overhead dominates small population steps.
        return G_B / n, g.sum(axis=-2) / n
    head_overlap = w_i @ w[..., :, None]  # wᵀw_i, (…, n, 1)
    s = _moment(X_out, w_i @ Bt - alpha * head_overlap * s0) - c_out  # s̃ at B_i w_i
    s_overlap = np.sum(s0 * s, axis=-1, keepdims=True)  # s⁰ᵀs̃, (…, n, 1)
    u = s @ B - alpha * s_overlap * w[..., None, :]
    G_B = _swap(s) @ w_i
    if method == "maml":
        q = _moment(X_in, head_overlap * s + u @ Bt)  # Σ̂_a h
        G_B = G_B - alpha * (q.sum(axis=-2)[..., :, None] * w[..., None, :] + _swap(s0) @ u)
        u = u - alpha * (s_overlap * w_i + q @ B)
    return G_B / n, u.sum(axis=-2) / n


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


def round_step(
    method: str,
    inst: Instance,
    B: np.ndarray,
    w: np.ndarray,
    B_star: np.ndarray,
    rng: Streams,
    heads: np.ndarray | None = None,
    *,
    sampler: str = "projected",
) -> tuple[np.ndarray, np.ndarray]:
    """One outer step of ``inst`` with the round drawn from ``rng``: fresh heads (or the fixed ``heads``) and,
    for a finite-sample instance, its batches by ``sampler`` (:data:`SAMPLERS`). Shapes and ``rng`` as in
    :func:`numerics.representation.instances.draw_round` (one generator, or one per run)."""
    if sampler not in SAMPLERS:
        raise v.ParameterError("sampler", f"one of {SAMPLERS}", sampler)
    if not inst.finite or sampler == "naive":
        heads, data = draw_round(inst, rng, B_star, heads)
        return step(method, B, w, B_star, heads, inst.alpha, inst.beta, data)
    if heads is None:
        single = isinstance(rng, np.random.Generator)
        heads = np.empty((*(() if single else (len(rng),)), inst.n, inst.k))
        for stream, out in zip([rng] if single else rng, [heads] if single else heads, strict=True):
            fill_heads(inst, stream, out)
    G_B, G_w = sampling.meta_gradient(
        method, B, w, B_star, heads, inst.alpha, sigma=inst.sigma, m_in=inst.m_in, m_out=inst.m_out, rng=rng
    )
    return B - inst.beta * G_B, w - inst.beta * G_w


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
    sampler: str = "projected",
) -> Trajectory:
    """Run ``method`` for inst.T steps, R runs at once (one array pass per step): with the population loss, or
    (``inst.m_in`` set) with fresh batches of m_in inner and m_out outer samples per task and round.

    ``rng``: a Generator, spawned into ``runs`` (default 1) independent streams, or a sequence of R generators
    used as the streams directly. Run r draws everything from stream r only (its problem, then per round its
    heads and, with finite samples, its batches or their projections as in :func:`round_step`; population
    heads are drawn a block of rounds at a time, the same bits), so run r of a batch equals a one-run
    simulation on stream r alone, and the same seed gives the same bits. Population runs are computed in
    the coordinates of span(B_0, B_*) (exact: the updates never leave it), so their cost does not grow with d.
    ``problem``: shared by every run (B_*, B_0, w_0, fixed heads); None draws one per run. ``blowup``: the
    divergence factor of :data:`BLOWUP`. ``sampler``: how finite-sample rounds are drawn (:data:`SAMPLERS`;
    the two have the same law, not the same bits).
    """
    method = method_name(method)
    blowup = v.real("blowup", blowup, low=1.0, low_open=True, allowed="> 1")
    if sampler not in SAMPLERS:
        raise v.ParameterError("sampler", f"one of {SAMPLERS}", sampler)
    streams = _streams(rng, runs)
    B_star, B, w, fixed_heads = _stacked(inst, streams, problem)
    R, T = len(streams), inst.T
    start = dist(B, B_star)  # in the given coordinates, bit for bit dist(B_0, B_*)
    frame = None
    if not inst.finite:
        # Population updates keep B_t in span(B_0, B_*) (every term of G_B is a vector of that span times a
        # row), so the run is exact in the coordinates of an orthonormal basis V of it: B = V C, B_* = V J,
        # with the same formulas in dimension r = min(d, 2k), dist(B, B_*) = dist(C, J), ‖B‖_F = ‖C‖_F.
        frame = sampling.span_basis(np.concatenate([B_star, B], axis=-1))
        B_star, B = (_swap(frame) @ a for a in (B_star, B))
    B, w = B.copy(), w.copy()

    def size(B: np.ndarray, w: np.ndarray) -> np.ndarray:
        return np.sqrt((B * B).sum(axis=(-2, -1)) + (w * w).sum(axis=-1))

    limit = blowup * np.maximum(size(B, w), math.sqrt(inst.k))
    distance = np.full((R, T + 1), np.nan)
    w_norm = np.full((R, T + 1), np.nan)
    deficient = np.zeros((R, T + 1), dtype=bool)
    diverged_at = np.full(R, -1)
    active = np.ones(R, dtype=bool)
    # Iterates are kept for a block of steps and their distances computed in one batched call per block.
    block = max(1, min(T + 1, 256, _BLOCK_ENTRIES // (R * B[0].size)))
    kept_B = np.empty((R, block, *B.shape[1:]))
    kept_w = np.empty((R, block, *w.shape[1:]))
    heads = np.empty((R, block, inst.n, inst.k))
    first = 0  # the step held in slot 0 of the block

    def record(last: int) -> None:
        """dist and ‖w‖ of the kept steps first..last; NaN from a run's divergence on."""
        c = last - first + 1
        star = np.broadcast_to(B_star[:, None], (R, c, *B_star.shape[1:]))
        value, bad = dist(kept_B[:, :c].reshape(R * c, *B.shape[1:]), star.reshape(R * c, *B.shape[1:]))
        steps = np.arange(first, last + 1)
        live = (diverged_at[:, None] < 0) | (steps[None, :] < diverged_at[:, None])
        distance[:, first : last + 1] = np.where(live, value.reshape(R, c), np.nan)
        deficient[:, first : last + 1] = live & bad.reshape(R, c)
        w_norm[:, first : last + 1] = np.where(live, np.linalg.norm(kept_w[:, :c], axis=-1), np.nan)

    t = 0
    kept_B[:, 0], kept_w[:, 0] = B, w
    # An unstable run overflows on its way past the threshold; that is detected below, not warned about.
    with np.errstate(over="ignore", invalid="ignore"):
        while t < T and active.any():
            t += 1
            slot = t - first
            if slot == block:
                record(t - 1)
                first, slot = t, 0
            if inst.finite:
                B_new, w_new = round_step(method, inst, B, w, B_star, streams, fixed_heads, sampler=sampler)
            else:
                if fixed_heads is None and (t - 1) % block == 0:
                    # The population draws nothing but heads: a block of rounds at once, bit for bit the same.
                    for stream, out in zip(streams, heads, strict=True):
                        fill_heads(inst, stream, out)
                round_heads = fixed_heads if fixed_heads is not None else heads[:, (t - 1) % block]
                B_new, w_new = step(method, B, w, B_star, round_heads, inst.alpha, inst.beta)
            # NaN compares False, so a non-finite iterate fails this test too.
            crossed = active & ~(size(B_new, w_new) <= limit)
            if crossed.any() or not active.all():
                diverged_at[crossed] = t
                active &= ~crossed
                B[active], w[active] = B_new[active], w_new[active]
            else:
                B, w = B_new, w_new
            kept_B[:, slot], kept_w[:, slot] = B, w
    record(t)
    distance[:, 0], deficient[:, 0] = start
    if frame is not None:
        B = frame @ B
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
