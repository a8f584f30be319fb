"""The claim model: evaluation, slack, hypotheses, symbolic-only claims, unique ids."""

import pytest
import sympy as sp

from maml_theory.theory.claims import Claim, Provenance, registered
from maml_theory.theory.landscape import claims as _landscape  # noqa: F401  (registers spec L's claims)
from maml_theory.theory.representation import claims as _representation  # noqa: F401  (and spec R's)

x, y = sp.symbols("x y", positive=True)


def make(conclusion, hypotheses=()):
    return Claim("T.test", "a test claim", "here", Provenance.DERIVED, "x ≤ y", conclusion, hypotheses)


def test_inequality_slack_and_verdict():
    c = make(sp.Le(x, y), (sp.Gt(y, 1),))
    e = c.evaluate({"x": 1.0, "y": 4.0})
    assert e.holds and e.slack == 0.25
    assert not c.evaluate({"x": 5.0, "y": 4.0}).holds
    assert c.admissible({"x": 1.0, "y": 2.0}) and not c.admissible({"x": 1.0, "y": 0.5})
    # ≥ is oriented as ≤ with the sides swapped, so the slack is still observed / bound ≤ 1.
    assert make(sp.Ge(y, x)).evaluate({"x": 1.0, "y": 4.0}).slack == 0.25


def test_slack_at_zero_and_negative_bounds():
    c = make(sp.Le(x, y))
    assert c.evaluate({"x": -1.0, "y": 0.0}).slack == 0.0
    assert c.evaluate({"x": 1.0, "y": 0.0}).slack == float("inf")
    assert c.evaluate({"x": 1e-17, "y": 1e-18}).slack == 1.0  # both zero to the tolerance: tight
    e = c.evaluate({"x": -2.0, "y": -1.0})
    assert e.holds and e.slack == 0.5
    assert c.evaluate({"x": -0.5, "y": -1.0}).slack == 2.0


def test_a_strict_inequality_fails_at_equality():
    # x < y is judged without tolerance: equality, or a hair above, does not hold; x ≤ y at equality does.
    strict = make(sp.Lt(x, y))
    assert not strict.evaluate({"x": 1.0, "y": 1.0}).holds
    assert not strict.evaluate({"x": 1.0 + 1e-12, "y": 1.0}).holds
    assert strict.evaluate({"x": 1.0 - 1e-12, "y": 1.0}).holds
    assert make(sp.Le(x, y)).evaluate({"x": 1.0, "y": 1.0}).holds


def test_scale_sets_where_quantities_count_as_zero():
    # Default scale 1: below 1 the tolerance is absolute, so a bound of 1e-10 exceeded fivefold is still
    # "zero to the tolerance". With scale 0 (the theorem claims, whose bounds fall to 1e-10) it is relative.
    loose = make(sp.Le(x, y))
    strict = Claim("T.test", "a test claim", "here", Provenance.DERIVED, "x ≤ y", sp.Le(x, y), scale=0.0)
    assert loose.evaluate({"x": 5e-10, "y": 1e-10}).holds
    e = strict.evaluate({"x": 5e-10, "y": 1e-10})
    assert not e.holds and e.slack == pytest.approx(5.0)
    assert strict.evaluate({"x": 1e-10 * (1 + 1e-10), "y": 1e-10}).holds  # within rtol of the bound
    assert all(c.scale == 0.0 for c in registered("R.theorem."))


def test_identity_residual():
    c = make(sp.Eq(x * y, 6))
    assert c.evaluate({"x": 2.0, "y": 3.0}).holds
    assert not c.evaluate({"x": 2.0, "y": 3.1}).holds


def test_symbolic_only_claims_say_so():
    far = next(c for c in registered("L.gain.far_limit"))
    assert not far.numeric
    with pytest.raises(ValueError, match="symbolic only"):
        far.evaluate({})


def test_registry_ids_are_unique_and_cover_both_specs():
    ids = [c.id for c in registered()]
    assert len(ids) == len(set(ids))
    assert any(i.startswith("L.") for i in ids) and any(i.startswith("R.") for i in ids)
