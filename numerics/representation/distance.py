"""The distance of spec R §1 between a representation B and the ground truth B_*.

dist(B, B_*) = ‖B_{*,⊥}ᵀ B̂‖₂ = ‖(I − B_*B_*ᵀ) B̂‖₂ = √(1 − σ_min²(B_*ᵀB̂)), B̂ an orthonormal basis of col(B):
the sine of the largest principal angle between col(B) and col(B_*), in [0, 1], invariant to the scale and
basis of B (B ↦ cBG for c ≠ 0, G invertible k×k). Both routes below evaluate it in the sine form, through the
complement part of B, which keeps full relative accuracy for small angles; √(1 − cos²) would lose every digit
below about 1e-8.

A hidden layer wider than the truth (B of width h > k, see :class:`~.instances.Instance`) makes col(B) meet
the complement of col(B_*) always, so dist would be 1: :func:`dist_h` measures B's top-k left singular
subspace instead, and :func:`outside_norm` the size ‖B_{*,⊥}ᵀB‖_F of all of B outside col(B_*).

Rank: col(B) must be k-dimensional. B is called rank deficient when
σ_min(B) ≤ RANK_RTOL · max(d, k) · σ_max(B) (numpy's ``matrix_rank`` default, RANK_RTOL = machine epsilon) or
B has a non-finite entry.

Two routes, chosen per matrix from that matrix alone (so a value never depends on the rest of its batch, and
the same B gives the same bits alone or in any batch):
- Gram route, for B that is clearly well conditioned. With G = BᵀB = LLᵀ (Cholesky) and E = B − B_*(B_*ᵀB),
  B̂ = BL⁻ᵀ is an orthonormal basis of col(B), so dist² = λ_max(L⁻¹EᵀEL⁻ᵀ): k×k work after two Gram
  products. It is taken when the Cholesky pivots are positive and tr(G)·tr(G⁻¹) ≤ :data:`GRAM_COND_MAX`
  (tr(G⁻¹) = ‖L⁻¹‖_F²); since tr(G)·tr(G⁻¹) ≥ λ_max(G)/λ_min(G) = κ(B)², that guarantees κ(B) ≤ 100 (up to
  round-off in the test). Such a B is never rank deficient (σ_min/σ_max ≥ 1e-2, far above the rank
  tolerance), so the flag is the SVD route's.
  Accuracy: E carries an absolute error of about ε‖B‖, which L⁻ᵀ scales by 1/σ_min(B), and the Gram
  matrix's round-off becomes a relative error of about kε·κ(B)², so |value − dist| ≲ ε·κ(B)·(1 + k·κ(B)·dist)
  with ε = 2.2e-16: with κ(B) ≤ 100, at most about 2e-14 absolute plus k·2e-12 relative. The SVD route's own
  error is about ε·κ(B) absolute. tests/test_representation_numerics.py checks that the two routes agree
  within 16ε·κ(B)·(1 + k·κ(B)·dist) on random, badly scaled and nearly converged B down to dist = 1e-13
  (the worst seen is 1.3 times ε·κ(B)·(1 + k·κ(B)·dist)).
- SVD route, for every other B (ill conditioned, rank deficient, non-finite, or overflowing in the Gram
  products): B̂ the left singular vectors of B and dist = σ_max(B̂ − B_*(B_*ᵀB̂)), the rank test on the singular
  values of B.
The Gram route exists for speed: a run records dist at every step, and on 256 000 matrices of 6×3 it takes
a third to a half of the time of the SVD route (measured 0.47 s against 1.3 s).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from maml_theory.numerics import validation as v

RANK_RTOL = float(np.finfo(np.float64).eps)

GRAM_COND_MAX = 1e4
"""The Gram route's gate: tr(G)·tr(G⁻¹) ≤ this, so κ(B)² ≤ 1e4 (module docstring)."""


class BatchDistance(NamedTuple):
    """dist for a batch: ``value`` (…,), NaN where B is rank deficient, flagged in ``rank_deficient`` (…,)."""

    value: np.ndarray
    rank_deficient: np.ndarray


def orthonormal_basis(B: np.ndarray, rank: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(B̂, rank_deficient) for B of shape (…, d, h): B̂ the first ``rank`` (None: h) left singular vectors (an
    orthonormal basis of col(B), or of its top-``rank`` singular subspace, where σ_rank(B) passes the rank
    test of the module docstring; meaningless elsewhere) and that test's failure."""
    B = np.asarray(B, dtype=np.float64)
    rank = B.shape[-1] if rank is None else rank
    finite = np.all(np.isfinite(B), axis=(-2, -1))
    # LAPACK cannot take NaN or inf: such matrices are replaced by zeros, which the rank test flags anyway.
    u, s, _ = np.linalg.svd(np.where(finite[..., None, None], B, 0.0), full_matrices=False)
    tol = RANK_RTOL * max(B.shape[-2:]) * s[..., 0]
    return u[..., :rank], ~finite | (s[..., rank - 1] <= tol)


def _svd_route(B: np.ndarray, B_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value, rank_deficient) by the SVD route; B (N, d, h), B_star (N, d, k), k ≤ h: with h > k the basis is
    that of B's top-k left singular subspace (dist_h)."""
    basis, deficient = orthonormal_basis(B, B_star.shape[-1])
    off = basis - B_star @ (np.swapaxes(B_star, -1, -2) @ basis)
    # The spectral norm of a d×k matrix: its largest singular value; clipped to [0, 1] against round-off.
    value = np.minimum(np.linalg.svd(off, compute_uv=False)[..., 0], 1.0)
    return np.where(deficient, np.nan, value), deficient


def _cholesky(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(L, ok) with LLᵀ = G for G (…, k, k) where ``ok`` (all pivots positive), one column at a time over the
    batch. Unlike np.linalg.cholesky it never raises: a failing pivot is replaced by 1 and flagged."""
    k = G.shape[-1]
    L = np.zeros_like(G)
    ok = np.ones(G.shape[:-2], dtype=bool)
    for j in range(k):
        column = G[..., j:, j] - (L[..., j:, :j] @ L[..., j, :j, None])[..., 0]
        pivot = column[..., 0]
        good = pivot > 0.0  # NaN compares False
        ok &= good
        L[..., j:, j] = column / np.sqrt(np.where(good, pivot, 1.0))[..., None]
    return L, ok


def _lower_inverse(L: np.ndarray) -> np.ndarray:
    """L⁻¹ for lower triangular L (…, k, k) with non-zero diagonal, by forward substitution over the batch."""
    k = L.shape[-1]
    X = np.zeros_like(L)
    for i in range(k):
        row = -(L[..., i, None, :i] @ X[..., :i, :])[..., 0, :]
        row[..., i] += 1.0
        X[..., i, :] = row / L[..., i, i, None]
    return X


def _batch(B: np.ndarray, B_star: np.ndarray) -> BatchDistance:
    """dist of every matrix of B (…, d, k) against B_star broadcast to its shape, by the routes above."""
    # Non-finite or overflowing B makes NaN/inf here; such B fail the gate and go to the SVD route.
    with np.errstate(all="ignore"):
        # A contiguous Bᵀ: numpy's matmul of a stack with its own transpose takes a much slower path.
        G = np.ascontiguousarray(np.swapaxes(B, -1, -2)) @ B
        E = B - B_star @ (np.swapaxes(B_star, -1, -2) @ B)
        L, ok = _cholesky(G)
        X = _lower_inverse(L)
        ok &= np.trace(G, axis1=-2, axis2=-1) * (X * X).sum(axis=(-2, -1)) <= GRAM_COND_MAX
        F = E @ np.swapaxes(X, -1, -2)  # (I − B_*B_*ᵀ)B̂ with B̂ = BL⁻ᵀ
        M = np.ascontiguousarray(np.swapaxes(F, -1, -2)) @ F
    # λ_max(M) = dist²; matrices off the route get 0 (LAPACK cannot take NaN), overwritten below.
    lam = np.linalg.eigvalsh(np.where(ok[..., None, None], M, 0.0))[..., -1]
    value = np.sqrt(np.clip(lam, 0.0, 1.0))
    deficient = np.zeros(value.shape, dtype=bool)
    if not ok.all():
        rest = ~ok
        value[rest], deficient[rest] = _svd_route(B[rest], np.broadcast_to(B_star, B.shape)[rest])
    return BatchDistance(value, deficient)


def dist(B: np.ndarray, B_star: np.ndarray) -> float | BatchDistance:
    """dist(B, B_*) of the module docstring. B_* must have orthonormal columns (not checked here).

    - One B (d, k): a float; a rank-deficient or non-finite B raises :class:`ParameterError` naming ``B``.
    - A batch (…, d, k) with one or more leading axes (B_* (d, k) or broadcastable to B's shape): a
      :class:`BatchDistance` of shape (…); a rank-deficient or non-finite B at some index gives NaN there and
      ``rank_deficient`` True instead of an error, so that one bad run does not stop a batch.
    A single B is computed as a batch of one, so its value is bit for bit its value in any batch.
    """
    B = np.asarray(B, dtype=np.float64)
    B_star = np.asarray(B_star, dtype=np.float64)
    shapes_ok = B.ndim >= 2 and B_star.ndim >= 2 and B.shape[-2:] == B_star.shape[-2:]
    if shapes_ok:
        try:
            shapes_ok = np.broadcast_shapes(B.shape, B_star.shape) == B.shape
        except ValueError:
            shapes_ok = False
    if not shapes_ok or B.shape[-1] > B.shape[-2]:
        raise v.ParameterError(
            "B", f"an array of shape (d, k) or (..., d, k) matching B_star {B_star.shape}", B.shape
        )
    if B.ndim > 2:
        return _batch(B, B_star)
    value, deficient = _batch(B[None], B_star[None])
    if deficient[0]:
        raise v.ParameterError(
            "B", f"a finite {B.shape[0]}x{B.shape[1]} matrix of full column rank", "a rank-deficient B"
        )
    return float(value[0])


def dist_h(B: np.ndarray, B_star: np.ndarray) -> float | BatchDistance:
    """dist_h(B, B_*) = ‖B_{*,⊥}ᵀ B̂_k‖₂ for B (…, d, h) with h ≥ k: B̂_k the top-k left singular vectors of
    B, so the sine of the largest principal angle between B's k most used directions and col(B_*).

    At h = k, B̂_k spans col(B) and dist_h is :func:`dist` (computed by it, the same bits). For h > k it is
    the SVD route's sine form on B̂_k, NaN and ``rank_deficient`` where σ_k(B) fails the rank test of the
    module docstring (the top-k subspace then has a direction of B's null space). Where
    σ_k(B) = σ_{k+1}(B) the top-k subspace is not unique and the value is that of LAPACK's choice (a
    measure-zero set of B). Shapes and errors as in :func:`dist`.
    """
    B = np.asarray(B, dtype=np.float64)
    B_star = np.asarray(B_star, dtype=np.float64)
    if B.ndim < 2 or B_star.ndim < 2 or B.shape[-1] == B_star.shape[-1]:
        return dist(B, B_star)
    d, h = B.shape[-2:]
    k = B_star.shape[-1]
    if B_star.shape[-2] != d or not k < h <= d:
        raise v.ParameterError(
            "B", f"an array of shape (d, h) or (..., d, h), k <= h <= d, for B_star {B_star.shape}", B.shape
        )
    batch = np.broadcast_shapes(B.shape[:-2], B_star.shape[:-2])
    flat = np.broadcast_to(B, (*batch, d, h)).reshape(-1, d, h)
    star = np.broadcast_to(B_star, (*batch, d, k)).reshape(-1, d, k)
    value, deficient = _svd_route(flat, star)
    if B.ndim > 2:
        return BatchDistance(value.reshape(batch), deficient.reshape(batch))
    if deficient[0]:
        raise v.ParameterError(
            "B", f"a finite {d}x{h} matrix with σ_k > 0 (k = {k})", "a B whose top-k subspace is degenerate"
        )
    return float(value[0])


def outside_norm(B: np.ndarray, B_star: np.ndarray) -> np.ndarray:
    """‖B_{*,⊥}ᵀB‖_F = ‖B − B_*(B_*ᵀB)‖_F for B (…, d, h): the size of the part of B outside col(B_*), which
    unlike dist_h sees every column of B (scale included). B_* (…, d, k) with orthonormal columns."""
    outside = B - B_star @ (np.swapaxes(B_star, -1, -2) @ B)
    return np.sqrt((outside * outside).sum(axis=(-2, -1)))
