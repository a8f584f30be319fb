"""Expected finite-sample outer updates of spec R (new results: no paper states them).

The inner step uses m_in fresh samples and the meta-gradient m_out independent ones, x ~ N(0, I_d),
z ~ N(0, σ²). The one-task meta-gradient of :func:`maml_theory.theory.representation.updates.task_gradient`
(sampled) is a polynomial in the batch statistics Σ̂_in, ĉ_in, Σ̂_out, ĉ_out; the moment engine takes its
exact expectation over both batches (Wick pairing over sample partitions), and the round average then goes
through θ̄, Λ and explicit third-moment means as in the population case.

:func:`perpendicular_second_moment` goes one order further: at w = 0, E‖B_⊥ᵀg_B‖_F² =
E tr(g_Bᵀ(I − B_*B_*ᵀ)g_B) for one task (B_* orthonormal, so I − B_*B_*ᵀ = B_⊥B_⊥ᵀ), a quartic in the batch
statistics, the variance term behind the finite-sample floor.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from maml_theory.theory import matrix_forms as mf
from maml_theory.theory.derivation import Derivation
from maml_theory.theory.moments import expect
from maml_theory.theory.relations import expectation
from maml_theory.theory.representation import losses, updates
from maml_theory.theory.representation import model as R


def _expect_batches(expr: sp.Basic) -> sp.Basic:
    means = (*losses.batch_laws("in", losses.m_in), *losses.batch_laws("out", losses.m_out))
    return mf.expand_matrix(expect(expr, means=means, symmetric=(R.Lam,)), (R.Lam,))


def _at_zero_head(expr: sp.Basic) -> sp.Basic:
    """``expr`` at w = 0, expanded."""
    return mf.expand_matrix(expr.subs({R.w: sp.ZeroMatrix(R.k, 1)}).doit())


@cache
def perpendicular_second_moment(method: str) -> Derivation:
    """E tr(g_Bᵀ(I − B_*B_*ᵀ)g_B) over one task's batches at w = 0, general d, k, m_in, m_out, σ, θ.

    With B_* orthonormal it is E‖B_⊥ᵀg_B‖_F², one task's second moment of the update's wrong-subspace part.
    """
    dv = Derivation(
        f"R.perp_second_moment.{method}",
        f"{updates.TITLES[method]}: one task's second moment of B_⊥ᵀg_B at w = 0",
        "spec R §3 (expected finite-sample updates: derived here)",
        points=losses.POINTS,
    )
    laws = (*losses.batch_laws("in", losses.m_in), *losses.batch_laws("out", losses.m_out))
    g = _at_zero_head(updates.task_gradient(method, sampled=True)["g_B"])
    square = sp.Trace(g.T * (sp.Identity(R.d) - R.B_star * R.B_star.T) * g)
    dv.step(
        "E over the inner (m_in) and outer (m_out) batches, Wick pairing at fourth order",
        expect(square, means=laws, symmetric=(R.Lam,)),
        "E‖B_⊥ᵀg_B‖²",
        by=expectation(
            square,
            "E over explicit Gaussian batches (d = 3, m_in = 2, m_out = 1), monomial by monomial",
            means=laws,
            points=1,
        ),
    )
    return dv


@cache
def expected_update(method: str, zero_head: bool = False) -> Derivation:
    """E[G_B], E[G_w] over the round's batches (at w = 0 with ``zero_head``)."""
    per_task = updates.task_gradient(method, sampled=True)
    where = " at w = 0" if zero_head else ""
    dv = Derivation(
        f"R.expected.{method}" + (".w0" if zero_head else ""),
        f"{updates.TITLES[method]}: expected finite-sample update{where}",
        "spec R §3 (expected finite-sample updates)",
        points=losses.POINTS,
    )
    laws = (*losses.batch_laws("in", losses.m_in), *losses.batch_laws("out", losses.m_out))
    for name in ("g_B", "g_w"):
        g = _at_zero_head(per_task[name]) if zero_head else per_task[name]
        mean = _expect_batches(g)
        dv.step(
            "E over the inner (m_in) and outer (m_out) batches, Wick pairing",
            mean,
            f"E[{name}]",
            by=expectation(
                g,
                "E over explicit Gaussian batches (d = 3, m_in = 2, m_out = 1), monomial by monomial",
                means=laws,
                points=1,
            ),
        )
        dv.step(
            "average over the round's tasks",
            updates.round_average(mean),
            f"E[G_{name[2:]}]",
            by=updates.task_average(mean),
        )
    return dv
