"""Spec R's task losses: population, and empirical on a batch, the latter derived from the per-sample loss.

Per sample, x ~ N(0, I_d), y = xᵀB_*θ + z, z ~ N(0, σ²): ℓ(b, v) = ½(xᵀbv − y)². With r = bv − B_*θ,
ℓ = ½ rᵀ(x xᵀ)r − rᵀ(x z) + ½ z², so the batch mean is L̂ = ½ rᵀΣ̂r − rᵀĉ + const with Σ̂ = (1/m)Σ x_jx_jᵀ
and ĉ = (1/m)Σ x_j z_j; the constant moves no gradient and is dropped. The population loss is Σ̂ = I, ĉ = 0.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from maml_theory.theory import concrete
from maml_theory.theory import matrix_forms as mf
from maml_theory.theory.derivation import Derivation
from maml_theory.theory.moments import Gaussian, SampleMean
from maml_theory.theory.relations import batch_mean, definition
from maml_theory.theory.representation import model as R

x = sp.MatrixSymbol("x", R.d, 1)
z = sp.MatrixSymbol("z", 1, 1)
r = sp.MatrixSymbol("r", R.d, 1)
sigma = sp.Symbol("sigma", nonnegative=True)
m_in = sp.Symbol("m_in", integer=True, positive=True)
m_out = sp.Symbol("m_out", integer=True, positive=True)
_SHAT = sp.MatrixSymbol("Sigmahat", R.d, R.d)
_CHAT = sp.MatrixSymbol("chat", R.d, 1)
_EMPIRICAL_BATCH = 3
"""Samples in the batch at which the empirical loss's batch mean is checked."""


@cache
def empirical() -> Derivation:
    """L̂ in terms of the batch statistics Σ̂ and ĉ, from the per-sample loss."""
    dv = Derivation("R.loss.empirical", "Empirical task loss on a batch", "spec R §1", points=POINTS)
    per_sample = dv.step(
        "per sample, r = bv − B_*θ, y − xᵀB_*θ = z",
        (x.T * r - z).T * (x.T * r - z) / 2,
        "ℓ",
        by=definition("the model's per-sample loss"),
    )
    out = []
    for c, fs in mf.terms(per_sample):
        # A 1×1 term equals its transpose: orient each so that x z (not zᵀxᵀ) appears.
        if fs[0] == z.T or (sp.Transpose(z) in fs and fs.index(sp.Transpose(z)) < len(fs) - 1):
            fs = [f.arg if isinstance(f, sp.Transpose) else sp.Transpose(f) for f in reversed(fs)]
        out.append((c, fs))
    averaged = []
    for c, fs in out:
        if fs == [z.T, z]:
            continue  # ½ z²: no parameter in it
        joined = []
        i = 0
        while i < len(fs):
            pair = fs[i : i + 2]
            if pair == [x, x.T]:
                joined.append(_SHAT)
                i += 2
            elif pair == [x, z]:
                joined.append(_CHAT)
                i += 2
            else:
                joined.append(fs[i])
                i += 1
        if any(f.has(x) or f.has(z) for f in joined):
            raise AssertionError(f"term {fs} is not linear in x xᵀ and x z")
        averaged.append((c, joined))
    gx, gz = Gaussian(x, R.Id), Gaussian(z, sigma**2)
    stats = (
        SampleMean(_SHAT, x * x.T, (gx,), _EMPIRICAL_BATCH),
        SampleMean(_CHAT, x * z, (gx, gz), _EMPIRICAL_BATCH),
    )
    dv.step(
        "batch mean, Σ̂ = (1/m)Σ x_jx_jᵀ, ĉ = (1/m)Σ x_j z_j (constants dropped)",
        mf.rebuild(averaged, (1, 1)),
        "L̂",
        by=batch_mean(
            per_sample - z.T * z / 2,
            stats,
            f"(1/m)Σ_j (ℓ_j − ½z_j²) at m = {_EMPIRICAL_BATCH} random samples",
        ),
    )
    return dv


def batch(which: str) -> tuple[sp.MatrixSymbol, sp.MatrixSymbol]:
    """(Σ̂, ĉ) symbols of the inner (``"in"``) or outer (``"out"``) batch."""
    return sp.MatrixSymbol(f"Sigmahat_{which}", R.d, R.d), sp.MatrixSymbol(f"chat_{which}", R.d, 1)


POINTS = concrete.Points(
    dims=({R.d: 3, R.k: 2, m_in: 2, m_out: 1}, {R.d: 4, R.k: 2, m_in: 1, m_out: 2}),
    symmetric=(*R.POINTS.symmetric, batch("in")[0], batch("out")[0]),
    frames=R.POINTS.frames,
)
"""Spec R's points (:data:`maml_theory.theory.representation.model.POINTS`) with Σ̂_in, Σ̂_out symmetric and
concrete batch sizes. The first, (d, k, m_in, m_out) = (3, 2, 2, 1), is the one the expectations over the
batches are checked at: explicit polynomials in 2·3 + 2 + 3 + 1 Gaussian coordinates stay tractable there
(FO-MAML's expected update: about 20 s)."""


def batch_laws(which: str, size: sp.Expr) -> tuple[SampleMean, SampleMean]:
    """The sample means behind :func:`batch`: fresh x ~ N(0, I_d), z ~ N(0, σ²) for each batch."""
    xs = sp.MatrixSymbol(f"x_{which}", R.d, 1)
    zs = sp.MatrixSymbol(f"z_{which}", 1, 1)
    gx, gz = Gaussian(xs, R.Id), Gaussian(zs, sigma**2)
    s, c = batch(which)
    return SampleMean(s, xs * xs.T, (gx,), size), SampleMean(c, xs * zs, (gx, gz), size)


def loss(b: sp.Basic, v: sp.Basic, which: str | None = None) -> sp.Basic:
    """The task loss at (b, v) less constants: population (``which=None``) or on the ``which`` batch."""
    res = b * v - R.B_star * R.theta
    if which is None:
        return res.T * res / 2
    s, c = batch(which)
    return empirical().result.xreplace({r: res, _SHAT: s, _CHAT: c})
