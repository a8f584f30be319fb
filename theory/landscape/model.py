"""Spec L's model in sympy: symbols, data, the per-sample loss and the sample statistics of one batch.

Conventions: the loss carries ½; σ is the noise standard deviation (variance σ²); ν_k and V_k are variances.
Data of one task: x ~ N(0, Σ), y = xᵀw* + z, z ~ N(0, σ²). Per-sample loss ℓ = ½(xᵀw − y)².
One batch of m samples enters the inner gradient only through Σ̂ = (1/m) Σ_j x_j x_jᵀ and ĉ = (1/m)
Σ_j x_j z_j.
"""

from __future__ import annotations

import sympy as sp

from maml_theory.theory import concrete
from maml_theory.theory.moments import Gaussian, SampleMean

d = sp.Symbol("d", integer=True, positive=True)
m = sp.Symbol("m", integer=True, positive=True)
alpha = sp.Symbol("alpha", positive=True)
alpha_train = sp.Symbol("alpha_train", real=True)
"""MAML's training step size α_train (spec L §2): any real number, negative included; α stays the test one."""
sigma = sp.Symbol("sigma", nonnegative=True)
rho = sp.Symbol("rho", positive=True)
T = sp.Symbol("T", integer=True, positive=True)

Sigma = sp.MatrixSymbol("Sigma", d, d)
Id = sp.Identity(d)
w = sp.MatrixSymbol("w", d, 1)
w_star = sp.MatrixSymbol("w^*", d, 1)
e = sp.MatrixSymbol("e", d, 1)
x = sp.MatrixSymbol("x", d, 1)
z = sp.MatrixSymbol("z", 1, 1)
y = x.T * w_star + z

Sigma_hat = sp.MatrixSymbol("Sigmahat", d, d)
c_hat = sp.MatrixSymbol("chat", d, 1)

x_law = Gaussian(x, Sigma)
z_law = Gaussian(z, sigma**2)

POINTS = concrete.Points(dims=({d: 3, m: 2}, {d: 2, m: 3}), symmetric=(Sigma, Sigma_hat))
"""Where spec L's derivation steps are checked: (d, m) = (3, 2) and (2, 3) in turn, Σ and Σ̂ symmetric
positive definite (a derivation adds its own symmetric symbols: the curvatures C_k, covariances V_k)."""


def batch(size: sp.Expr) -> tuple[SampleMean, SampleMean]:
    """Σ̂ and ĉ of one batch of ``size`` samples (``sp.oo``: the population, Σ̂ = Σ and ĉ = 0)."""
    return (
        SampleMean(Sigma_hat, x * x.T, (x_law,), size),
        SampleMean(c_hat, x * z, (x_law, z_law), size),
    )


def per_sample_loss(v: sp.Basic) -> sp.Basic:
    """ℓ(v; x, y) = ½ (xᵀv − y)², as a 1×1 matrix expression."""
    r = x.T * v - y
    return r.T * r / 2
