"""Expected finite-sample outer updates of spec R (new results: no paper states them).

The inner step uses m_in fresh samples and the meta-gradient m_out independent ones, x ~ N(0, I_d),
z ~ N(0, σ²). The one-task meta-gradient of :func:`maml_theory.theory.representation.updates.task_gradient`
(sampled) is a polynomial in the batch statistics Σ̂_in, ĉ_in, Σ̂_out, ĉ_out; the moment engine takes its
exact expectation over both batches (Wick pairing over sample partitions), and the round average then goes
through θ̄, Λ and explicit third-moment means as in the population case.
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
    zero = {R.w: sp.ZeroMatrix(R.k, 1)} if zero_head else {}
    for name in ("g_B", "g_w"):
        g = mf.expand_matrix(per_task[name].subs(zero).doit()) if zero_head else per_task[name]
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
