"""Spec R's model in sympy.

Representation B ∈ R^{d×k}, head w ∈ R^k, ground truth B_* (orthonormal columns) and B_⊥ = B_{*,⊥} (an
orthonormal basis of its complement, so B_*ᵀB_* = I_k, B_⊥ᵀB_⊥ = I, B_⊥ᵀB_* = 0). A task has head θ.
Population task loss L(B, w; θ) = ½‖Bw − B_*θ‖² + σ²/2 (the ½ is in the loss; σ² is the noise variance and
does not move any gradient, so it is left out below). Round moments: θ̄ = (1/n)Σ θ_i, Λ = (1/n)Σ θ_iθ_iᵀ,
M = B_*ΛB_*ᵀ. Reduced coordinates: A = B_*ᵀB (k×k), E = B_⊥ᵀB.
"""

from __future__ import annotations

import sympy as sp

from maml_theory.theory import concrete

d = sp.Symbol("d", integer=True, positive=True)
k = sp.Symbol("k", integer=True, positive=True)
alpha = sp.Symbol("alpha", positive=True)
beta = sp.Symbol("beta", positive=True)

B = sp.MatrixSymbol("B", d, k)
w = sp.MatrixSymbol("w", k, 1)
B_star = sp.MatrixSymbol("B_{*}", d, k)
B_perp = sp.MatrixSymbol("B_perp", d, d - k)
theta = sp.MatrixSymbol("theta", k, 1)
theta_bar = sp.MatrixSymbol("thetabar", k, 1)
Lam = sp.MatrixSymbol("Lambda", k, k)
A = sp.MatrixSymbol("A", k, k)
E = sp.MatrixSymbol("E", d - k, k)
Ik = sp.Identity(k)
Id = sp.Identity(d)

METHODS = ("anil", "fo-anil", "maml", "fo-maml", "nal")

HEADS = tuple(sp.MatrixSymbol(f"theta_({i})", k, 1) for i in (1, 2, 3))
"""The heads over which a :class:`TaskMean` is averaged at a point of :mod:`maml_theory.theory.concrete`."""

POINTS = concrete.Points(dims=({d: 4, k: 2}, {d: 5, k: 3}), symmetric=(Lam,), frames=((B_star, B_perp),))
"""Where spec R's derivation steps are checked: (d, k) = (4, 2) and (5, 3) in turn, Λ symmetric positive
definite, (B_*, B_⊥) the column blocks of an exact rational orthogonal matrix."""


class TaskMean(sp.MatrixExpr):
    """(1/n) Σ_i f(θ_i): the round average of an expression f in the head θ that is not a function of the
    round moments θ̄ and Λ (the third-moment terms of exact MAML)."""

    def __new__(cls, arg: sp.Basic) -> sp.MatrixExpr:
        arg = sp.sympify(arg)
        if arg == 0 or isinstance(arg, sp.ZeroMatrix):
            return sp.ZeroMatrix(*arg.shape) if hasattr(arg, "shape") else sp.S.Zero
        return super().__new__(cls, arg)

    @property
    def arg(self) -> sp.Basic:
        return self.args[0]

    @property
    def shape(self) -> tuple:
        return self.arg.shape

    def _eval_transpose(self) -> TaskMean:
        return TaskMean(sp.Transpose(self.arg))

    def _sympystr(self, printer) -> str:
        return f"mean_i[{printer._print(self.arg.subs(theta, sp.MatrixSymbol('theta_i', k, 1)))}]"

    def _concrete(self, ev) -> object:
        """The average over :data:`HEADS` at a point of :mod:`maml_theory.theory.concrete` (a set of heads of
        its own, drawn like any symbol; where θ̄ and Λ must be its moments, a check gives them as values)."""
        values = [ev.child({theta: ev.point.value(h)}).run(self.arg) for h in HEADS]
        return sum(values[1:], values[0]) * sp.QQ(1, len(values))

    def _latex(self, printer) -> str:
        inner = printer._print(self.arg.subs(theta, sp.MatrixSymbol("theta_i", k, 1)))
        return rf"\frac{{1}}{{n}}\sum_{{i}} \left({inner}\right)"
