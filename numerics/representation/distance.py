"""The distance of spec R §1 between a representation B and the ground truth B_*.

dist(B, B_*) = ‖B_{*,⊥}ᵀ B̂‖₂ = ‖(I − B_*B_*ᵀ) B̂‖₂ = √(1 − σ_min²(B_*ᵀB̂)), B̂ an orthonormal basis of col(B):
the sine of the largest principal angle between col(B) and col(B_*), in [0, 1], invariant to the scale and
basis of B (B ↦ cBG for c ≠ 0, G invertible k×k). It is computed as the largest singular value of
B̂ − B_*(B_*ᵀB̂), which keeps full relative accuracy for small angles; √(1 − cos²) would lose every digit below
about 1e-8.

Rank: col(B) must be k-dimensional. B is called rank deficient when
σ_min(B) ≤ RANK_RTOL · max(d, k) · σ_max(B) (numpy's ``matrix_rank`` default, RANK_RTOL = machine epsilon) or
B has a non-finite entry.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from numerics import validation as v

RANK_RTOL = float(np.finfo(np.float64).eps)


class BatchDistance(NamedTuple):
    """dist for a batch: ``value`` (R,), NaN where B is rank deficient, flagged in ``rank_deficient`` (R,)."""

    value: np.ndarray
    rank_deficient: np.ndarray


def orthonormal_basis(B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B̂, rank_deficient) for B of shape (…, d, k): B̂ the left singular vectors (an orthonormal basis of
    col(B) where B has full column rank, meaningless elsewhere) and the rank test of the module docstring."""
    B = np.asarray(B, dtype=np.float64)
    finite = np.all(np.isfinite(B), axis=(-2, -1))
    # LAPACK cannot take NaN or inf: such matrices are replaced by zeros, which the rank test flags anyway.
    u, s, _ = np.linalg.svd(np.where(finite[..., None, None], B, 0.0), full_matrices=False)
    tol = RANK_RTOL * max(B.shape[-2:]) * s[..., 0]
    return u, ~finite | (s[..., -1] <= tol)


def dist(B: np.ndarray, B_star: np.ndarray) -> float | BatchDistance:
    """dist(B, B_*) of the module docstring. B_* must have orthonormal columns (not checked here).

    - One B (d, k): a float; a rank-deficient or non-finite B raises :class:`ParameterError` naming ``B``.
    - A batch (R, d, k) (B_* (d, k) or (R, d, k)): a :class:`BatchDistance`; a rank-deficient or non-finite
      B_r gives NaN at r and ``rank_deficient[r] = True`` instead of an error, so that one bad run does not
      stop a batch.
    """
    B = np.asarray(B, dtype=np.float64)
    B_star = np.asarray(B_star, dtype=np.float64)
    shapes_ok = B.ndim in (2, 3) and B_star.ndim in (2, B.ndim) and B.shape[-2:] == B_star.shape[-2:]
    if not shapes_ok or B.shape[-1] > B.shape[-2]:
        raise v.ParameterError(
            "B", f"an array of shape (d, k) or (R, d, k) matching B_star {B_star.shape}", B.shape
        )
    basis, deficient = orthonormal_basis(B)
    off = basis - B_star @ (np.swapaxes(B_star, -1, -2) @ basis)
    # The spectral norm of a d×k matrix: its largest singular value; clipped to [0, 1] against round-off.
    value = np.minimum(np.linalg.svd(off, compute_uv=False)[..., 0], 1.0)
    if B.ndim == 2:
        if deficient:
            raise v.ParameterError(
                "B", f"a finite {B.shape[0]}x{B.shape[1]} matrix of full column rank", "a rank-deficient B"
            )
        return float(value)
    return BatchDistance(np.where(deficient, np.nan, value), deficient)
