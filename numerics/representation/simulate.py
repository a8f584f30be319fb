"""The simulator route of spec R: the method family with hand-derived, vectorised numpy meta-gradients.

No closed form and no autograd (the oracle checks these formulas). Conventions of
:mod:`maml_theory.numerics.representation.instances`.

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

s inner steps (a :class:`~maml_theory.theory.method.Method` with s ≥ 2; s = 1 is the formulas above, s = 0 is
NAL). Per task, forward on the same inner batch, keeping every step's iterate and residual:
  r_j = Σ̂_a B_jw_j − ĉ_a,  w_{j+1} = w_j − αB_jᵀr_j,  B_{j+1} = B_j − αr_jw_jᵀ (MAML; ANIL: B_j = B),
for j = 0, …, s − 1, then the outer residual s̃ = Σ̂_o B_sw_s − ĉ_o and the adjoints at the adapted point
Ḃ_s = s̃w_sᵀ, ẇ_s = B_sᵀs̃. First order: (G_B, G_w) = mean(Ḃ_s, ẇ_s). Exact: backward for j = s − 1, …, 0,
  ṗ_j = −αΣ̂_a(B_jẇ_{j+1} + [MAML] Ḃ_{j+1}w_j)             (the adjoint of the regressor B_jw_j),
  ẇ_j = ẇ_{j+1} + B_jᵀṗ_j − [MAML] αḂ_{j+1}ᵀr_j,
  Ḃ_j = Ḃ_{j+1} + ṗ_jw_jᵀ − αr_jẇ_{j+1}ᵀ,
and (G_B, G_w) = mean(Ḃ_0, ẇ_0). ANIL's B_j is B itself, so its Ḃ is one d×h sum over the tasks
(Σ_i ṗ_{j,i}w_{j,i}ᵀ a product over the task axis); MAML's B_j differ per task and so do the Ḃ_j. At s = 1
this is the list above (ẇ_1 = g, ṗ_0 = −αΣ̂_aBg for ANIL; the MAML terms through h). The cost is s forward
and s backward steps of one step's work each: linear in s.

B may be wider than the truth: B (d×h), w ∈ R^h, h ≥ k, B_* d×k; nothing above depends on h = k.

Implementation of the one-step formulas (:func:`_sums`, their one implementation, population and batches):
per task, then summed over the tasks. Sums of products over tasks are matrix products over the task axis
(Σ_i s_iw_iᵀ = sᵀw_i); the Σ̂_a terms (Σ̂_aBg of exact ANIL, Σ̂_ah of exact MAML) enter only summed over
the tasks (then times wᵀ in G_B and Bᵀ in G_w), and with Σ̂_a = I that sum is taken before the products with
B (:func:`_moment_sum`); every term is linear in the outer residual s, so the factor −β/n of the update (1/n
for the mean) multiplies s once. The sums over tasks that keep w ≡ 0 exact under a sign-symmetric task set
(where θ and −θ must cancel exactly) are numpy reductions, in order or pairwise, never BLAS products.

Everything is batched: tasks on an axis (no loop over tasks or samples), and any leading axes index runs.
These formulas take explicit batches; :mod:`maml_theory.numerics.representation.sampling` draws the same
update from the projections of the batches only, which is how :func:`simulate` runs finite-sample rounds by
default at all but small sizes (:data:`SAMPLERS`).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from maml_theory.numerics import validation as v
from maml_theory.numerics.representation import sampling
from maml_theory.numerics.representation.distance import dist_h, outside_norm
from maml_theory.numerics.representation.instances import (
    Batches,
    Instance,
    Problem,
    Streams,
    draw_problem,
    draw_round,
    fill_heads,
    resolve_method,
)
from maml_theory.theory.method import Method

SAMPLERS = ("auto", "projected", "naive")
"""How a finite-sample round is drawn: ``"projected"`` draws only the projections of the batches that the
update depends on (:mod:`maml_theory.numerics.representation.sampling`, exact in distribution, much cheaper
at large sizes); ``"naive"`` draws the batches themselves (:func:`~.instances.draw_round`);
``"auto"`` (the default) takes the naive sampler when a run's round holds at most :data:`NAIVE_MAX_NUMBERS`
random numbers, n(m_in + m_out)(d + 1), where drawing them costs less than the projected sampler's extra
calls, and the projected one otherwise. The two have the same law, not the same bits."""

NAIVE_MAX_NUMBERS = 25_000
"""The ``"auto"`` switch. Measured (benchmarks/representation_step.py, k = 3, n = m_in = m_out = 20): the
naive sampler is 1.1-2.2× faster at d ≤ 20 (≤ 16 800 numbers), the two are even near d = 40 (32 800) and the
projected sampler wins from d = 60 on, by 10-25× at (d, k, n, m) = (100, 5, 100, 50)."""


def _resolve(inst: Instance, sampler: str, method: Method) -> str:
    """The sampler that ``sampler`` (:data:`SAMPLERS`) names for ``inst`` and ``method``: "auto" resolved
    where it draws. The projected sampler is derived for at most one inner step (its queries of each batch
    are those of the formulas above at s ≤ 1), of any width: with more "auto" is the naive one and
    "projected" is refused."""
    if sampler not in SAMPLERS:
        raise v.ParameterError("sampler", f"one of {SAMPLERS}", sampler)
    projectable = method.inner_steps <= 1
    if sampler == "projected" and inst.finite and not projectable:
        raise v.ParameterError("sampler", "'auto' or 'naive' with more than one inner step", sampler)
    if sampler != "auto" or not inst.finite:
        return sampler
    small = inst.n * (inst.m_in + inst.m_out) * (inst.d + 1) <= NAIVE_MAX_NUMBERS
    return "naive" if small or not projectable else "projected"


BLOWUP = 1e6
"""Divergence threshold: a run diverges at the first step t where (B_t, w_t) has a non-finite entry or
‖(B_t, w_t)‖_F > BLOWUP · max(‖(B_0, w_0)‖_F, ‖B_*‖_F = √k). The updates are cubic in (B, w), so an iterate
grown a million-fold is deep in the unstable regime."""


BLOCK_ENTRIES = 2**18
"""Floats of iterates kept between two batched distance computations (2 MB: cache-sized, which is faster)."""

BLOCK_STEPS = 1024
"""At most this many steps between two batched distance computations (and draws of population heads)."""


_sum = np.add.reduce  # ndarray.sum's Python wrapper costs more than the sum at small sizes


def _moment(X: np.ndarray | None, p: np.ndarray) -> np.ndarray:
    """Σ̂p for vectors p (…, n, d) or one shared p (…, 1, d): (1/m) Xᵀ(Xp) per task for a batch X (…, n, m, d);
    p itself (Σ̂ = I) when X is None. Two matrix-vector products, O(md) a task, never forming the d×d Σ̂."""
    if X is None:
        return p
    return (X.mT @ (X @ p[..., None]))[..., 0] / X.shape[-2]


def _moment_sum(
    X: np.ndarray | None,
    mm: Callable[[np.ndarray, np.ndarray], np.ndarray],
    Bt: np.ndarray,
    alpha: float | np.ndarray,
    rows: np.ndarray,
    rows_sum: np.ndarray,
    weights: np.ndarray | None = None,
    vectors: np.ndarray | None = None,
) -> np.ndarray:
    """α Σ_i Σ̂_i (B r_i + c_i v_i) over the tasks, as a row (…, 1, d): rows r_i (…, n, k) with their sum
    ``rows_sum`` (…, 1, k), and optionally weights c_i (…, n, 1) with vectors v_i (…, n, d). Per task for a
    batch X (…, n, m, d); with Σ̂ = I (X None) the sums are taken first, B Σ_i r_i + Σ_i c_i v_i (a product
    over the task axis), which is the same sum in fewer operations."""
    if X is None:
        total = mm(rows_sum, Bt)
        return (total if weights is None else total + mm(weights.mT, vectors)) * alpha
    terms = mm(rows, Bt)
    terms = _moment(X, terms if weights is None else terms + weights * vectors)
    return _sum(terms, -2, keepdims=True) * alpha


def _targets(
    B_star: np.ndarray, heads: np.ndarray, data: Batches | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(ĉ_a, ĉ_o, X_a, X_o) of a round: ĉ = B_*θ_i and no batches for the population, else ĉ = (1/m)Xᵀy."""
    if data is None:
        c = heads @ B_star.mT
        return c, c, None, None
    c_in, c_out = (
        (X.mT @ y[..., None])[..., 0] / X.shape[-2]
        for X, y in ((data.X_in, data.y_in), (data.X_out, data.y_out))
    )
    return c_in, c_out, data.X_in, data.X_out


def _sums(
    method: str,
    B: np.ndarray,
    w: np.ndarray,
    c_in: np.ndarray,
    c_out: np.ndarray,
    alpha: float | np.ndarray,
    X_in: np.ndarray | None,
    X_out: np.ndarray | None,
    scale: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """scale · Σ_i (G_B, G_w)_i over the round's tasks i, by the formulas of the module docstring: the one
    implementation of the presets (s ≤ 1) behind :func:`meta_gradient`, :func:`step` and :func:`simulate`
    (:func:`_unrolled` takes s ≥ 2).

    B (…, d, k), w (…, k), c_in/c_out (…, n, d) the rows ĉ_i of the inner and outer batches, X_in/X_out their
    batches (…, n, m, d) or None for the population (Σ̂ = I). Every term is linear in the outer residual, so
    ``scale`` multiplies that residual once instead of each output. Written for few and cheap numpy calls,
    since a population step at small (d, k) costs its calls' overhead only: two-dimensional operands (one
    run) use ndarray.dot, half of matmul's overhead; stacked ones (runs) np.matmul; transposes are ``.mT``.
    """
    mm = np.ndarray.dot if B.ndim == 2 and c_in.ndim == 2 else np.matmul
    Bt = B.mT
    w_row = w[..., None, :]
    p0 = mm(B, w[..., :, None]).mT  # Bw as a row (…, 1, d): one regressor shared by the tasks
    if method == "nal":
        s_bar = _sum(_moment(X_out, p0) - c_out, -2, keepdims=True) * scale  # scale · Σ_i s_i, (…, 1, d)
        return mm(s_bar.mT, w_row), mm(s_bar, B)[..., 0, :]
    # α enters every term with s⁰ as αs⁰ (w_i, B_i = B − αs⁰wᵀ and the chain rule through both), so it is
    # applied to s⁰ once.
    s0a = (_moment(X_in, p0) - c_in) * alpha  # αs⁰, (…, n, d)
    w_i = w_row - mm(s0a, B)  # (…, n, k)
    if method in ("anil", "fo-anil"):
        s = (_moment(X_out, mm(w_i, Bt)) - c_out) * scale
        g = mm(s, B)
        G_B = mm(s.mT, w_i)
        g_sum = _sum(g, -2, keepdims=True)
        if method == "fo-anil":
            return G_B, g_sum[..., 0, :]
        q_sum = _moment_sum(X_in, mm, Bt, alpha, g, g_sum)  # α Σ_i Σ̂_a B g_i, (…, 1, d)
        G_B = G_B - (mm(s0a.mT, g) + mm(q_sum.mT, w_row))
        return G_B, (g_sum - mm(q_sum, B))[..., 0, :]
    overlap = mm(w_i, w[..., :, None])  # wᵀw_i, (…, n, 1)
    s = (_moment(X_out, mm(w_i, Bt) - overlap * s0a) - c_out) * scale  # s̃ at B_i w_i
    s_overlap_a = np.vecdot(s0a, s, keepdims=True)  # α s⁰ᵀs̃, (…, n, 1)
    u = mm(s, B) - s_overlap_a * w_row
    G_B = mm(s.mT, w_i)
    if method == "fo-maml":
        return G_B, _sum(u, -2)
    # α Σ_i Σ̂_a h_i with h_i = (wᵀw_i)s̃_i + Bu_i, (…, 1, d)
    q_sum = _moment_sum(X_in, mm, Bt, alpha, u, _sum(u, -2, keepdims=True), overlap, s)
    G_B = G_B - (mm(q_sum.mT, w_row) + mm(s0a.mT, u))
    # Σ_i (u_i − α(s⁰ᵀs̃)_i w_i) − Bᵀ(α Σ_i Σ̂_a h_i): numpy sums over the tasks, so that a sign-symmetric set
    # cancels exactly at w = 0 (where the one BLAS sum in q_sum, Σ_i (wᵀw_i)s̃_i, is exactly zero).
    return G_B, _sum(u - s_overlap_a * w_i, -2) - mm(q_sum, B)[..., 0, :]


def _regress(B: np.ndarray, v: np.ndarray, shared: bool) -> np.ndarray:
    """B v per task (…, n, d) for vectors v (…, n, h): B (…, d, h) shared by the tasks, or (…, n, d, h)."""
    return v @ B.mT if shared else (B @ v[..., None])[..., 0]


def _transposed(B: np.ndarray, p: np.ndarray, shared: bool) -> np.ndarray:
    """Bᵀp per task (…, n, h) for vectors p (…, n, d), B as in :func:`_regress`."""
    return p @ B if shared else (p[..., None, :] @ B)[..., 0, :]


def _unrolled(
    method: Method,
    B: np.ndarray,
    w: np.ndarray,
    c_in: np.ndarray,
    c_out: np.ndarray,
    alpha: float | np.ndarray,
    X_in: np.ndarray | None,
    X_out: np.ndarray | None,
    scale: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """scale · Σ_i (G_B, G_w)_i for s ≥ 1 inner steps, by the forward and backward recursion of the module
    docstring; arguments as in :func:`_sums`. Every adjoint is linear in the outer residual, which ``scale``
    multiplies once; α enters the forward pass as αr_j, kept per step."""
    shared = method.adapt == "head"  # ANIL: one B for every task and step
    B_j = B if shared else B[..., None, :, :]
    w_j = np.broadcast_to(w[..., None, :], c_in.shape[:-1] + w.shape[-1:])
    forward = []  # (B_j, w_j, αr_j) per inner step
    for _ in range(method.inner_steps):
        r_a = (_moment(X_in, _regress(B_j, w_j, shared)) - c_in) * alpha
        forward.append((B_j, w_j, r_a))
        w_next = w_j - _transposed(B_j, r_a, shared)
        if not shared:
            B_j = B_j - r_a[..., :, None] * w_j[..., None, :]
        w_j = w_next
    s_out = (_moment(X_out, _regress(B_j, w_j, shared)) - c_out) * scale
    w_dot = _transposed(B_j, s_out, shared)  # ẇ_s per task
    # Ḃ_s: ANIL's summed over the tasks at once (a product over the task axis), MAML's per task.
    B_dot = s_out.mT @ w_j if shared else s_out[..., :, None] * w_j[..., None, :]
    if not method.first_order:
        for B_j, w_j, r_a in reversed(forward):
            q = _regress(B_j, w_dot, shared)
            if not shared:
                q = q + (B_dot @ w_j[..., None])[..., 0]
            p_dot = _moment(X_in, q) * -alpha
            w_next_dot = w_dot
            w_dot = w_dot + _transposed(B_j, p_dot, shared)
            if shared:
                B_dot = B_dot + (p_dot.mT @ w_j - r_a.mT @ w_next_dot)
            else:
                w_dot = w_dot - (B_dot.mT @ r_a[..., None])[..., 0]
                B_dot = B_dot + (
                    p_dot[..., :, None] * w_j[..., None, :] - r_a[..., :, None] * w_next_dot[..., None, :]
                )
    return (B_dot if shared else _sum(B_dot, -3)), _sum(w_dot, -2)


def _kernel(method: Method) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """scale · Σ_i (G_B, G_w)_i of ``method`` as a function of (B, w, c_in, c_out, α, X_in, X_out, scale): the
    formulas of :func:`_sums` for the presets' s ≤ 1 (their bits), the unrolled recursion for s ≥ 2."""
    if method.inner_steps <= 1:
        return functools.partial(_sums, method.family)
    return functools.partial(_unrolled, method)


def meta_gradient(
    method: Method | str,
    B: np.ndarray,
    w: np.ndarray,
    B_star: np.ndarray,
    heads: np.ndarray,
    alpha: float,
    data: Batches | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(G_B, G_w) of one round by the formulas of the module docstring; ``method`` a Method or a preset name.

    B (…, d, h), w (…, h), B_star (…, d, k), heads (…, n, k), ``data`` the round's batches (with the same
    leading axes) or None for the population loss; the leading axes (runs) broadcast.
    """
    c_in, c_out, X_in, X_out = _targets(B_star, heads, data)
    kernel = _kernel(resolve_method(method))
    return kernel(B, w, c_in, c_out, alpha, X_in, X_out, 1.0 / heads.shape[-2])


def step(
    method: Method | str,
    B: np.ndarray,
    w: np.ndarray,
    B_star: np.ndarray,
    heads: np.ndarray,
    alpha: float,
    beta: float,
    data: Batches | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One outer step (B − βG_B, w − βG_w), shapes and ``data`` as in :func:`meta_gradient`; evaluated as
    (B, w) + (−β/n)·Σ_i (G_B, G_w)_i, the arithmetic of :func:`simulate`'s steps."""
    c_in, c_out, X_in, X_out = _targets(B_star, heads, data)
    kernel = _kernel(resolve_method(method))
    G_B, G_w = kernel(B, w, c_in, c_out, alpha, X_in, X_out, -beta / heads.shape[-2])
    return B + G_B, w + G_w


def round_step(
    method: Method | str,
    inst: Instance,
    B: np.ndarray,
    w: np.ndarray,
    B_star: np.ndarray,
    rng: Streams,
    heads: np.ndarray | None = None,
    *,
    sampler: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """One outer step of ``inst`` with the round drawn from ``rng``: fresh heads (or the fixed ``heads``) and,
    for a finite-sample instance, its batches by ``sampler`` (:data:`SAMPLERS`). Shapes and ``rng`` as in
    :func:`maml_theory.numerics.representation.instances.draw_round` (one generator, or one per run)."""
    method = resolve_method(method)
    if _resolve(inst, sampler, method) == "naive" or not inst.finite:
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
    (and ``dist`` NaN where B_t is rank deficient, flagged in ``rank_deficient`` (R, T+1)). With a layer wider
    than k, ``dist`` is dist_h (:func:`~.distance.dist_h`, which is dist at h = k) and ``outside_norm``
    (R, T+1) holds ‖B_{*,⊥}ᵀB_t‖_F (:func:`~.distance.outside_norm`; None at h = k). ``diverged`` (R,)
    and ``diverged_at`` (R,): the first t at which the run crossed :data:`BLOWUP` (−1 if it never did); the
    run is then frozen, and ``B_final`` (R, d, h), ``w_final`` (R, h) hold its last iterate below the
    threshold (B_T, w_T for the others).
    """

    method: Method
    inst: Instance
    dist: np.ndarray
    w_norm: np.ndarray
    rank_deficient: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    B_final: np.ndarray
    w_final: np.ndarray
    outside_norm: np.ndarray | None = None


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
    d, k, h, R = inst.d, inst.k, inst.width, len(streams)
    if problem is None:
        drawn = [draw_problem(inst, s) for s in streams]
        return [
            np.stack(parts) if parts[0] is not None else None
            for parts in zip(*((p.B_star, p.B0, p.w0, p.heads) for p in drawn), strict=True)
        ]
    shapes_ok = problem.B_star.shape == (d, k) and problem.B0.shape == (d, h) and problem.w0.shape == (h,)
    heads_ok = (problem.heads is None) != inst.fixed_tasks and (
        problem.heads is None or problem.heads.shape == (inst.n, k)
    )
    if not (shapes_ok and heads_ok):
        raise v.ParameterError(
            "problem",
            f"a Problem for d = {d}, k = {k}, width = {h}, n = {inst.n}, fixed_tasks = {inst.fixed_tasks}",
            "a mismatched Problem",
        )
    arrays = (problem.B_star, problem.B0, problem.w0, problem.heads)
    return [None if a is None else np.repeat(a[None], R, axis=0) for a in arrays]


def _check_start(inst: Instance, B: np.ndarray, w: np.ndarray, *, given: bool) -> None:
    """:class:`ParameterError` when a start's squared norm ‖B_0‖_F² + ‖w_0‖² overflows float64: the divergence
    test measures every iterate against it. Drawn starts have ‖B_0‖² ≈ k/α (B_0 = Q/√α, or iid
    N(0, 1/(αd)) entries), so the culprit is α (below about k/1.8e308); a given start names its array."""
    with np.errstate(over="ignore"):
        squares = {"B0": (B * B).sum(), "w0": (w * w).sum()}
    if np.isfinite(squares["B0"] + squares["w0"]):
        return
    if given:
        name = "B0" if not np.isfinite(squares["B0"]) else "w0"
        allowed = "an array whose squared norm is finite in float64, with that of the other (B0, w0)"
        raise v.ParameterError(name, allowed, f"an array with squared norm {squares[name]:.3g}")
    bound = inst.k / np.finfo(np.float64).max
    allowed = f"> 0 and at least about k/1.8e308 = {bound:.3g}, so that the start's ‖B_0‖² ≈ k/α is finite"
    raise v.ParameterError("alpha", allowed, inst.alpha)


def simulate(
    method: Method | str,
    inst: Instance,
    rng: Streams,
    *,
    runs: int | None = None,
    problem: Problem | None = None,
    blowup: float = BLOWUP,
    sampler: str = "auto",
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

    Steps run in blocks (up to 1024 steps, fewer with many runs); the distances of a block's iterates are
    computed in one batched call at its end (:func:`~.distance.dist`). Divergence is
    tested on every finite-sample step (a frozen run must not draw from an exploded iterate), but for the
    population only at the end of each block, from the kept iterates' norms: a run that crosses the
    threshold keeps evolving (overflow and NaN are harmless there) until the block ends, and is then frozen
    at its first crossing, with the same ``diverged_at``, final iterate and NaN as a per-step test gives.
    """
    method = resolve_method(method)
    kernel = _kernel(method)
    blowup = v.real("blowup", blowup, low=1.0, low_open=True, allowed="> 1")
    sampler = _resolve(inst, sampler, method)
    streams = _streams(rng, runs)
    B_star, B, w, fixed_heads = _stacked(inst, streams, problem)
    _check_start(inst, B, w, given=problem is not None)
    R, T, n, k, h = len(streams), inst.T, inst.n, inst.k, inst.width
    start = dist_h(B, B_star)  # in the given coordinates, bit for bit dist(B_0, B_*) at h = k
    distance = np.full((R, T + 1), np.nan)
    w_norm = np.full((R, T + 1), np.nan)
    outside = np.full((R, T + 1), np.nan) if h > k else None
    deficient = np.zeros((R, T + 1), dtype=bool)
    distance[:, 0], deficient[:, 0] = start
    w_norm[:, 0] = np.linalg.norm(w, axis=-1)
    if outside is not None:
        outside[:, 0] = outside_norm(B, B_star)
    frame = None
    if not inst.finite:
        # Population updates keep B_t in span(B_0, B_*) (every term of G_B is a vector of that span times a
        # row), so the run is exact in the coordinates of an orthonormal basis V of it: B = V C, B_* = V J,
        # with the same formulas in dimension r = min(d, h + k), dist(B, B_*) = dist(C, J), ‖B‖_F = ‖C‖_F (and
        # so are dist_h and ‖B_{*,⊥}ᵀB‖_F: the frame is an isometry on the span).
        frame = sampling.span_basis(np.concatenate([B_star, B], axis=-1))
        B_star, B = (frame.mT @ a for a in (B_star, B))
        if R == 1:
            # One run carries no run axis: its products are then 2-D np.dot calls (see _sums). The bits are
            # those of the run in a batch (tests/test_representation_numerics.py checks it).
            B_star, B, w = B_star[0], B[0], w[0]
            fixed_heads = None if fixed_heads is None else fixed_heads[0]
    B, w = B.copy(), w.copy()
    shape_B, shape_w = B.shape, w.shape  # (…, r, h), (…, h) with … = (R,), or () for one population run
    dims = shape_B[-2:]

    def size(B: np.ndarray, w: np.ndarray) -> np.ndarray:
        return np.sqrt((B * B).sum(axis=(-2, -1)) + (w * w).sum(axis=-1))

    limit = (blowup * np.maximum(size(B, w), math.sqrt(k))).reshape(R)
    diverged_at = np.full(R, -1)
    alive = np.ones(R, dtype=bool)
    frozen_B = np.empty((R, *dims))
    frozen_w = np.empty((R, h))
    # Iterates are kept step-major for a block of steps: kept[j] is the iterate after the block's step j + 1.
    block = max(1, min(T, BLOCK_STEPS, BLOCK_ENTRIES // B.size))
    kept_B = np.empty((block, *shape_B))
    kept_w = np.empty((block, *shape_w))
    runs_B = kept_B.reshape(block, R, *dims)  # views with an explicit run axis
    runs_w = kept_w.reshape(block, R, h)
    star = B_star.reshape(R, dims[0], k)
    if not inst.finite:
        # The update adds scale · Σ_i (G_B, G_w)_i (see step). 0-d arrays: numpy multiplies by them faster
        # than by Python floats, with the same bits.
        alpha, scale = np.array(inst.alpha), np.array(-inst.beta / n)
        Jt = B_star.mT
        if fixed_heads is None:
            heads = np.empty((R, block, n, k))
        else:
            c_fixed = fixed_heads @ Jt  # ĉ_i = B_*θ_i, the same every round
    t = 0  # steps done
    # An unstable run overflows on its way past the threshold; that is detected, not warned about.
    with np.errstate(over="ignore", invalid="ignore"):
        while t < T and alive.any():
            c = min(block, T - t)
            if inst.finite:
                for j in range(c):
                    B_new, w_new = round_step(
                        method, inst, B, w, B_star, streams, fixed_heads, sampler=sampler
                    )
                    # NaN compares False, so a non-finite iterate fails this test too.
                    crossed = alive & ~(size(B_new, w_new) <= limit)
                    if crossed.any():
                        diverged_at[crossed] = t + j + 1
                        frozen_B[crossed], frozen_w[crossed] = B[crossed], w[crossed]
                        alive &= ~crossed
                    if not alive.all():
                        B_new[~alive], w_new[~alive] = frozen_B[~alive], frozen_w[~alive]
                    B, w = B_new, w_new
                    kept_B[j], kept_w[j] = B, w
            else:
                B_before, w_before = B.reshape(R, *dims).copy(), w.reshape(R, h).copy()
                if fixed_heads is None:
                    # The population draws nothing but heads: a block of rounds at once, bit for bit the same.
                    for stream, out in zip(streams, heads, strict=True):
                        fill_heads(inst, stream, out[:c])
                    # ĉ_i = B_*θ_i of the block's rounds (one product per run and round, as the kernel would
                    # have done: the bits do not depend on the blocks), kept step-major: (c, …, n, r).
                    if R == 1:
                        c_block = heads[0, :c] @ Jt
                    else:
                        c_block = np.empty((c, R, n, B.shape[-2]))
                        np.matmul(heads[:, :c], Jt[:, None], out=c_block.swapaxes(0, 1))
                rounds = itertools.repeat(c_fixed, c) if fixed_heads is not None else c_block
                for c_j, B_out, w_out in zip(rounds, kept_B[:c], kept_w[:c], strict=True):
                    G_B, G_w = kernel(B, w, c_j, c_j, alpha, None, None, scale)
                    B = np.add(B, G_B, out=B_out)
                    w = np.add(w, G_w, out=w_out)
                # Each run's first step in the block past the threshold (NaN compares False), if any.
                crossed = ~(size(runs_B[:c], runs_w[:c]) <= limit) & alive
                new = crossed.any(axis=0)
                for r in np.flatnonzero(new):
                    j = int(crossed[:, r].argmax())
                    diverged_at[r] = t + j + 1
                    before = (runs_B[j - 1], runs_w[j - 1]) if j else (B_before, w_before)
                    frozen_B[r], frozen_w[r] = before[0][r], before[1][r]
                alive &= ~new
            # dist and ‖w‖ of the block's iterates; NaN from a run's divergence on. Iterates past a run's
            # divergence are discarded: B_* stands in for them, which spares their SVD.
            steps = np.arange(t + 1, t + c + 1)
            live = (diverged_at[None, :] < 0) | (steps[:, None] < diverged_at[None, :])  # (c, R)
            # Past a run's divergence B_* stands in (padded with zero columns to width h: dist_h is then 0).
            stand_in = star if h == k else np.concatenate([star, np.zeros((R, dims[0], h - k))], axis=-1)
            iterates = runs_B[:c] if live.all() else np.where(live[..., None, None], runs_B[:c], stand_in)
            value, bad = dist_h(iterates, star)
            distance[:, t + 1 : t + c + 1] = np.where(live, value, np.nan).T
            deficient[:, t + 1 : t + c + 1] = (live & bad).T
            w_norm[:, t + 1 : t + c + 1] = np.where(live, np.linalg.norm(runs_w[:c], axis=-1), np.nan).T
            if outside is not None:
                outside[:, t + 1 : t + c + 1] = np.where(live, outside_norm(runs_B[:c], star), np.nan).T
            t += c
    B, w = B.reshape(R, *dims).copy(), w.reshape(R, h).copy()
    dead = diverged_at >= 0
    B[dead], w[dead] = frozen_B[dead], frozen_w[dead]
    if frame is not None:
        B = frame @ B
    return Trajectory(
        method=method,
        inst=inst,
        dist=distance,
        w_norm=w_norm,
        rank_deficient=deficient,
        diverged=dead,
        diverged_at=diverged_at,
        B_final=B,
        w_final=w,
        outside_norm=outside,
    )
