"""Every displayed equality of every derivation is checked by machine
(maml_theory.theory.derivation.Derivation.checks), and each check can fail: the same step with a perturbed
expression is flagged. Plus the exact arithmetic the checks rest on (maml_theory.theory.concrete)."""

from __future__ import annotations

import dataclasses
from functools import cache

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from maml_theory.reports import report
from maml_theory.theory import concrete
from maml_theory.theory.derivation import Derivation
from maml_theory.theory.representation import finite_sample, losses, updates
from maml_theory.theory.representation import model as R

GROUPS = ("Spec L", *(f"Spec R: {m}" for m in R.METHODS))


@cache
def _groups() -> dict[str, list[Derivation]]:
    return dict(report.derivations(quick=True))


def _perturbed(e: sp.Basic) -> sp.Basic:
    """``e`` plus a term that is not zero at any point: a scalar 1/7, or 1/7 of a fresh matrix symbol."""
    if isinstance(e, sp.Eq):
        return sp.Eq(e.lhs, e.rhs + sp.Rational(1, 7))
    if getattr(e, "is_Matrix", False):
        return e + sp.Rational(1, 7) * sp.MatrixSymbol("Perturbation", *e.shape)
    return e + sp.Rational(1, 7)


def _replaced(dv: Derivation, i: int, expr: sp.Basic) -> Derivation:
    bad = dataclasses.replace(dv, steps=list(dv.steps))
    bad.steps[i] = dataclasses.replace(dv.steps[i], expr=expr)
    return bad


def test_groups_cover_the_report() -> None:
    assert tuple(_groups()) == GROUPS


@pytest.mark.parametrize("group", GROUPS)
def test_every_step_is_checked_and_holds(group: str) -> None:
    for dv in _groups()[group]:
        for step, check in zip(dv.steps, dv.checks(), strict=True):
            assert check.kind in ("sympy", "rational points", "definition"), (dv.id, step.lhs, check)
            assert check.ok, (dv.id, step.lhs, check.how)


@pytest.mark.parametrize("group", GROUPS)
def test_a_perturbed_step_fails_its_check(group: str) -> None:
    tried = 0
    for dv in _groups()[group]:
        for i, (step, check) in enumerate(zip(dv.steps, dv.checks(), strict=True)):
            if check.kind == "definition":
                continue
            tried += 1
            assert not _replaced(dv, i, _perturbed(step.expr)).checks()[i].ok, (dv.id, step.lhs)
    assert tried >= 8


def test_definitions_are_few_and_named() -> None:
    """Definitions are the model's primitives (losses, inner steps), not a way around a check."""
    notes = [
        (dv.id, c.how)
        for dvs in _groups().values()
        for dv in dvs
        for c in dv.checks()
        if c.kind == "definition"
    ]
    assert len(notes) <= 30 and all(how != "definition" for _, how in notes)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["anil", "fo-anil", "fo-maml", "nal"])
def test_expected_finite_sample_updates_are_checked(method: str) -> None:
    dv = finite_sample.expected_update(method)
    assert all(c.ok and c.kind == "rational points" for c in dv.checks())


def test_the_batch_size_dependence_is_pinned() -> None:
    """The expectation check runs at m_in = 2: moving a term between the m_in and m_in² orders fails it."""
    dv = finite_sample.expected_update("fo-anil")
    i = next(i for i, s in enumerate(dv.steps) if s.lhs == "E[g_B]")
    assert dv.checks()[i].ok
    shifted = dv.steps[i].expr.xreplace({losses.m_in: losses.m_in + 1})
    assert not _replaced(dv, i, shifted).checks()[i].ok


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_maml_gradient_and_task_average_hold_at_any_point(seed: int) -> None:
    point = R.POINTS.point(seed)
    task = updates.task_gradient("maml")
    for step in task.steps[-2:]:
        left, right = step.by.sides(point, step.expr)
        assert concrete.same(left, right)
    average = updates.round_update("maml").steps[0]
    assert concrete.same(*average.by.sides(point, average.expr))


# ------------------------------------------------------------------------------------------------
# maml_theory.theory.concrete


def test_frames_are_exactly_orthonormal_and_points_reproducible() -> None:
    a, b = R.POINTS.point(3), R.POINTS.point(3)
    d, k = int(a.dims[R.d]), int(a.dims[R.k])
    star, perp = (a.evaluate(x).to_Matrix() for x in (R.B_star, R.B_perp))
    assert star.T * star == sp.eye(k) and perp.T * perp == sp.eye(d - k)
    assert perp.T * star == sp.zeros(d - k, k)
    assert a.value(R.Lam) == b.value(R.Lam) and a.value(R.Lam).T == a.value(R.Lam)


def test_gaussian_mean_of_a_fourth_moment() -> None:
    """E[x xᵀ A x xᵀ] = ΣAΣ + ΣAᵀΣ + tr(AΣ)Σ for x ~ N(0, Σ), with x = Lζ from the rational LDLᵀ of Σ."""
    d = sp.Symbol("d", integer=True, positive=True)
    sigma, a, x = sp.MatrixSymbol("Sigma", d, d), sp.MatrixSymbol("A", d, d), sp.MatrixSymbol("x", d, 1)
    point = concrete.Point({d: 3}, seed=5, symmetric=(sigma,))
    L, D = concrete.factor(point.value(sigma))
    assert L * sp.diag(*D) * L.T == point.value(sigma)
    K, gens = concrete.ring([f"z{i}" for i in range(3)])
    value = concrete.DomainMatrix.from_Matrix(L).convert_to(K).to_dense().matmul(concrete.column(gens, K))
    mean = concrete.gaussian_mean(point.evaluate(x * x.T * a * x * x.T, {x: value}, K), K, D)
    closed = sigma * a * sigma + sigma * a.T * sigma + sp.Trace(a * sigma) * sigma
    assert concrete.same(mean, point.evaluate(closed))
    assert not concrete.same(mean, point.evaluate(closed - sp.Trace(a * sigma) * sigma))


def test_derivative_at_zero_is_the_linear_coefficient() -> None:
    K, (t,) = concrete.ring(["t"])
    assert concrete.derivative_at_zero(3 * t**2 + 5 * t + 7, K) == sp.QQ(5)
