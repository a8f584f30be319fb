"""Population outer-loop updates of spec R §2–3, derived by matrix calculus from the task loss.

For one task with head θ, each method's meta-gradient (g_B, g_w) is taken from L by differentials
(:mod:`maml_theory.theory.matrix_calculus`): the exact methods differentiate L at the adapted point as a
function of (B, w) through the inner step; the first-order ones take ∇L at the adapted point with it held
fixed. The round's update is the task average G = (1/n)Σ_i g(θ_i), written through the round moments: terms
of degree 0 in θ are kept, degree 1 averages to θ̄, degree 2 to Λ (E[θθᵀ] = Λ, read off by the moment
engine's one pairing), and degree 3 (exact MAML only) stays an explicit task mean. Then
B⁺ = B − βG_B, w⁺ = w − βG_w.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from maml_theory.theory import matrix_forms as mf
from maml_theory.theory.concrete import Point, Value
from maml_theory.theory.derivation import Derivation
from maml_theory.theory.matrix_calculus import gradient as matrix_gradient
from maml_theory.theory.moments import Gaussian, expect
from maml_theory.theory.relations import Relation, definition, equals, gradient
from maml_theory.theory.representation import losses
from maml_theory.theory.representation import model as R
from maml_theory.theory.representation.model import TaskMean

TITLES = {
    "anil": "Exact ANIL",
    "fo-anil": "FO-ANIL",
    "maml": "Exact MAML",
    "fo-maml": "FO-MAML",
    "nal": "NAL (average-loss minimisation)",
}


def inner_gradients(sampled: bool = False) -> tuple[sp.Basic, sp.Basic]:
    """(∇_B L, ∇_w L) at (B, w): (r wᵀ, Bᵀ r) with r = Bw − B_*θ (on the inner batch when ``sampled``)."""
    f = losses.loss(R.B, R.w, "in" if sampled else None)
    return matrix_gradient(f, R.B), matrix_gradient(f, R.w)


_SLOPE = "d/dt {f}({at}) at t = 0 equals tr(∇ᵀ{d}) for a random direction {d}"


@cache
def task_gradient(method: str, sampled: bool = False) -> Derivation:
    """The meta-gradient (g_B, g_w) of one task with head θ.

    ``sampled``: the inner step uses the inner batch's loss and the meta-gradient the outer batch's
    (independent batches of m_in and m_out samples), else both are the population loss.
    """
    if method not in R.METHODS:
        raise ValueError(f"method must be one of {R.METHODS}, got {method!r}")
    kind = "finite-sample" if sampled else "population"
    dv = Derivation(
        f"R.task_gradient.{method}" + (".sampled" if sampled else ""),
        f"{TITLES[method]}: one task's meta-gradient ({kind})",
        "spec R §2",
        points=losses.POINTS,
    )
    inner = losses.loss(R.B, R.w, "in" if sampled else None)
    outer = "out" if sampled else None
    grad_b, grad_w = inner_gradients(sampled)
    dv.step(
        "inner gradient ∇_B L = r wᵀ, r = Bw − B_*θ",
        grad_b,
        "∇_B L",
        by=gradient(inner, R.B, _SLOPE.format(f="L", at="B + t dB, w", d="dB")),
    )
    dv.step(
        "inner gradient ∇_w L = Bᵀ r",
        grad_w,
        "∇_w L",
        by=gradient(inner, R.w, _SLOPE.format(f="L", at="B, w + t dw", d="dw")),
    )
    adapt_b = method in ("maml", "fo-maml")
    b_i = R.B - R.alpha * grad_b if adapt_b else R.B
    w_i = R.w - R.alpha * grad_w if method != "nal" else R.w
    if method != "nal":
        dv.step("inner step", w_i, "w_i", by=definition("the inner step w − α∇_w L"))
    if adapt_b:
        dv.step("inner step", b_i, "B_i", by=definition("the inner step B − α∇_B L"))
    if method in ("fo-anil", "fo-maml"):
        # ∇L with the adapted point held fixed: differentiate in fresh symbols, then substitute.
        b_hat, w_hat = sp.MatrixSymbol("Bhat", R.d, R.k), sp.MatrixSymbol("what", R.k, 1)
        at = losses.loss(b_hat, w_hat, outer)
        adapted = {b_hat: b_i, w_hat: w_i}
        g_b = matrix_gradient(at, b_hat).subs(adapted)
        g_w = matrix_gradient(at, w_hat).subs(adapted)
        note = "first order: ∇L at (B_i, w_i), the adapted point held fixed"
        by_b = gradient(at, b_hat, _SLOPE.format(f="L", at="B_i + t dB, w_i", d="dB"), at=adapted)
        by_w = gradient(at, w_hat, _SLOPE.format(f="L", at="B_i, w_i + t dw", d="dw"), at=adapted)
    else:
        meta = dv.step(
            "meta-loss L(B_i(B, w), w_i(B, w))",
            losses.loss(b_i, w_i, outer),
            "L_i",
            by=definition("the loss at the adapted point"),
        )
        g_b, g_w = matrix_gradient(meta, R.B), matrix_gradient(meta, R.w)
        note = "d L_i = tr(g_Bᵀ dB) + g_wᵀ dw through the inner step"
        by_b = gradient(meta, R.B, _SLOPE.format(f="L_i", at="B + t dB, w", d="dB"))
        by_w = gradient(meta, R.w, _SLOPE.format(f="L_i", at="B, w + t dw", d="dw"))
    dv.step(note, mf.expand_matrix(g_b), "g_B", by=by_b)
    dv.step(note, mf.expand_matrix(g_w), "g_w", by=by_w)
    return dv


def _theta_degree(e: sp.Basic) -> int:
    """The degree in θ of a product of factors or of a scalar monomial (θ inside traces counts)."""
    if isinstance(e, sp.Trace):
        degrees = {sum(_theta_degree(f) for f in fs) for _, fs in mf.terms(e.arg)}
        if len(degrees) > 1:
            raise ValueError(f"{e} is not homogeneous in θ")
        return degrees.pop() if degrees else 0
    if isinstance(e, sp.Pow):
        return _theta_degree(e.base) * int(e.exp)
    if isinstance(e, sp.Mul):
        return sum(_theta_degree(f) for f in e.args)
    if isinstance(e, sp.MatrixExpr):
        return 1 if e in (R.theta, R.theta.T) else int(e.has(R.theta))
    return 0


def round_average(expr: sp.Basic) -> sp.Basic:
    """(1/n)Σ_i expr(θ_i) through θ̄ and Λ, with the cubic part (if any) as an explicit :class:`TaskMean`."""
    by_degree: dict[int, list] = {}
    for c, fs in mf.terms(expr):
        for mono in sp.Add.make_args(sp.expand(c)):
            degree = _theta_degree(mono) + sum(_theta_degree(f) for f in fs)
            by_degree.setdefault(degree, []).append((mono, fs))
    shape = expr.shape
    parts = []
    for degree, ts in sorted(by_degree.items()):
        piece = mf.rebuild(ts, shape)
        if degree == 0:
            parts.append(piece)
        elif degree == 1:
            parts.append(piece.subs(R.theta, R.theta_bar))
        elif degree == 2:
            # One Wick pairing of the two θ's gives E[θθᵀ] = Λ, whatever the law: the round's second moment.
            parts.append(expect(piece, gaussians=(Gaussian(R.theta, R.Lam),), symmetric=(R.Lam,)))
        else:
            parts.append(TaskMean(piece))
    return mf.expand_matrix(sp.MatAdd(*parts), (R.Lam,)) if parts else sp.ZeroMatrix(*shape)


TASKS = 3
"""Heads in the round at which a task average is checked."""


def task_average(per_task: sp.Basic) -> Relation:
    """The step's expression is (1/n)Σ_i ``per_task``(θ_i) written through θ̄, Λ and explicit task means:
    at n = :data:`TASKS` random heads, θ̄ and Λ their moments, each :class:`TaskMean` their average."""

    def sides(point: Point, expr: sp.Basic) -> tuple[Value, Value]:
        heads = [point.random_like(R.theta) for _ in range(TASKS)]

        def mean(e: sp.Basic) -> Value:
            values = [point.evaluate(e, {R.theta: h}) for h in heads]
            return sum(values[1:], values[0]) * sp.QQ(1, TASKS)

        moments = {R.theta_bar: mean(R.theta), R.Lam: mean(R.theta * R.theta.T)}
        moments.update({m: mean(m.arg) for m in expr.atoms(R.TaskMean)})
        return mean(per_task), point.evaluate(expr, moments)

    return Relation(f"(1/n)Σ_i of the one-task expression at n = {TASKS} random heads θ_i", sides)


@cache
def round_update(method: str) -> Derivation:
    """G_B, G_w of one round of n tasks, through the round moments; B⁺ = B − βG_B, w⁺ = w − βG_w."""
    per_task = task_gradient(method)
    dv = Derivation(
        f"R.update.{method}", f"{TITLES[method]}: the population outer update", "spec R §3", points=R.POINTS
    )
    for name in ("g_B", "g_w"):
        g = per_task[name]
        dv.step(
            "average over the round's tasks: θ → θ̄, θθᵀ → Λ",
            round_average(g),
            f"G_{name[2:]}",
            by=task_average(g),
        )
    return dv


@cache
def at_zero_head(method: str) -> Derivation:
    """The update at w = 0 (the theory's regime): B⁺ and w⁺ in the round moments."""
    upd = round_update(method)
    dv = Derivation(
        f"R.update.{method}.w0", f"{TITLES[method]}: the update at w = 0", "spec R §3", points=R.POINTS
    )
    zero = {R.w: sp.ZeroMatrix(R.k, 1)}
    g_b = mf.expand_matrix(upd["G_B"].subs(zero).doit(), (R.Lam,))
    g_w = mf.expand_matrix(upd["G_w"].subs(zero).doit(), (R.Lam,))
    dv.step(
        "w = 0",
        mf.expand_matrix(R.B - R.beta * g_b, (R.Lam,)),
        "B⁺",
        by=equals(R.B - R.beta * upd["G_B"], "B − βG_B evaluated with w = 0", given=zero),
    )
    dv.step(
        "w = 0",
        mf.expand_matrix(-R.beta * g_w, (R.Lam,)),
        "w⁺",
        by=equals(R.w - R.beta * upd["G_w"], "w − βG_w evaluated with w = 0", given=zero),
    )
    return dv
