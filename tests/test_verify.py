"""The verifier: one test per registered claim, and the verifier's own behaviour on claims made to fail.

Per claim (``test_claim``): the verifier proves it afresh (an empty proof cache) and checks it on random
instances; a claim with a numeric check is also property-tested by hypothesis over the same space. Derived and
abstract claims must come out ``proved`` or ``holds``; a reconstructed claim is a statement under test, so its
verdict is a finding (README, Findings): the test asks only for a definite verdict and a boundary search.
"""

from __future__ import annotations

import json
import math
import shlex

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings

from maml_theory.numerics.landscape.checks import EASY_HARD, gain_observables
from maml_theory.numerics.verification import engine, proofs
from maml_theory.numerics.verification.checks import Check, Diverged, check_of
from maml_theory.numerics.verification.space import Param, Space
from maml_theory.reports.cli import main
from maml_theory.reports.verify_command import builtin
from maml_theory.theory import notation
from maml_theory.theory.claims import Claim, Proof, Provenance, registered

builtin()
CLAIMS = registered("L.") + registered("R.")
INSTANCES = 20
EXAMPLES = {"R.rate": 10}  # hypothesis examples for checks that run long simulations (default: the profile's)
G = sp.Symbol("G", positive=True)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MAML_THEORY_CACHE", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    "claim",
    [pytest.param(c, marks=pytest.mark.slow) if c.slow else c for c in CLAIMS],
    ids=[c.id for c in CLAIMS],
)
def test_claim(claim: Claim, fresh_cache) -> None:
    verdict = engine.verify(claim, instances=INSTANCES, seed=0)
    if claim.provenance == Provenance.RECONSTRUCTED:
        assert verdict.status in ("holds", "fails"), verdict.json()
        assert verdict.boundary and all(b["tried"] > 0 for b in verdict.boundary)
    else:
        assert verdict.status in ("proved", "holds"), verdict.json()
    if claim.prove is not None:
        assert verdict.proof == {"proved": True, "method": verdict.proof["method"], "cached": False}
    check = check_of(claim.id)
    if check is not None:
        # A bound check must reach the claim: an empty admissible set would confirm nothing.
        assert verdict.instances > 0, verdict.json()
    if check is not None and claim.provenance != Provenance.RECONSTRUCTED and claim.numeric:
        _property(check, EXAMPLES.get(claim.id))


def _property(check: Check, examples: int | None) -> None:
    """The claim on hypothesis-drawn instances of its space (shrunk by hypothesis if one fails)."""
    extra = {} if examples is None else {"max_examples": examples}
    slow_or_filtered = [HealthCheck.filter_too_much, HealthCheck.too_slow]

    @given(params=check.space.strategy())
    @settings(deadline=None, suppress_health_check=slow_or_filtered, **extra)
    def holds(params):
        outcome = engine.evaluate(check, params)
        assume(outcome.kind != "inadmissible")
        assert not outcome.failed, outcome

    holds()


def test_every_claim_is_tested_and_the_numeric_ones_have_checks() -> None:
    assert len(CLAIMS) >= 50
    for cid in ("R.contraction", "R.rate", "L.gain.any_mixture", "R.theorem.anil", "R.theorem.fo-anil"):
        assert check_of(cid) is not None, cid


# --- the verifier on claims made to fail ----------------------------------------------------------------


def false_claim(bound: float = 2.0) -> tuple[Claim, Check]:
    """G ≤ bound: false (G reaches hundreds on the box)."""
    claim = Claim(
        "T.gain.small", "a false bound", "tests", Provenance.ABSTRACT, f"G ≤ {bound}", sp.Le(G, bound)
    )
    return claim, Check(claim, EASY_HARD, gain_observables)


def test_a_false_claim_fails_with_a_shrunk_counterexample(capsys) -> None:
    claim, check = false_claim()
    verdict = engine.verify(claim, check=check, instances=50, seed=1)
    assert verdict.status == "fails"
    ce = verdict.counterexample
    params = ce["parameters"]
    assert ce["lhs"] > 2.0 and ce["slack"] > 1.0
    # Shrunk: each parameter sits at its simple value, or moving it there makes the claim hold; and every
    # value is written with a few significant digits.
    for p in EASY_HARD.params:
        x = params[p.name]
        assert x == p.target or not engine.evaluate(check, {**params, p.name: p.target}).failed, p.name
        assert len(f"{x:.15g}".replace(".", "").lstrip("0")) <= 6, (p.name, x)
    # ... it still fails there, and the printed command reproduces it.
    assert engine.evaluate(check, params).failed
    assert shlex.split(ce["reproduce"])[:4] == ["maml-theory", "verify", "--claim", "T.gain.small"]


def test_the_worst_case_search_breaks_a_claim_the_draws_miss() -> None:
    # G ≤ 5 holds at every one of 10 random draws here (worst slack 0.21) but not at the search's worst case.
    claim, check = false_claim(5.0)
    verdict = engine.verify(claim, check=check, instances=10, seed=0)
    assert verdict.worst_slack < 1.0
    assert verdict.status == "fails" and verdict.worst_case["slack"] > 1.0


def _stepping(steps_before_divergence: int | None) -> Check:
    """A toy 'simulator' x_{t+1} = 2x_t claimed to stay ≤ 1: diverges (or not) as told."""
    x = sp.Symbol("x")
    claim = Claim("T.toy", "toy", "tests", Provenance.DERIVED, "x ≤ 1", sp.Le(x, 1))

    def observe(params):
        if steps_before_divergence is not None and params["a"] > 0.5:
            raise Diverged(steps_before_divergence)
        return {"x": params["a"]}

    return Check(claim, Space((Param("a", 0.0, 1.0),)), observe)


def test_a_proof_whose_check_admits_nothing_says_so(fresh_cache) -> None:
    # Proved by sympy, but the bound check's box never meets the hypothesis a = 2: the verdict is "proved"
    # and the note says the numerics confirmed nothing.
    a = sp.Symbol("a")
    claim = Claim(
        "T.unreached",
        "unreached",
        "tests",
        Provenance.DERIVED,
        "a = 2 ⇒ a² = 4",
        sp.Eq(a**2, 4),
        hypotheses=(sp.Eq(a, 2),),
        prove=lambda: Proof(True, "substitution"),
    )
    check = Check(claim, Space((Param("a", 0.0, 1.0),)), lambda params: {})
    verdict = engine.verify(claim, check=check, instances=10, seed=0, use_cache=False)
    assert verdict.status == "proved" and verdict.instances == 0
    assert verdict.note == "proved by sympy; its numeric check: no admissible instance among the 10 draws"
    none = engine.verify(claim, check=check, instances=0, seed=0, use_cache=False)
    assert none.note == "proved by sympy; its numeric check: no instance drawn (N = 0)"


def test_a_diverged_simulation_is_a_failure_with_its_step() -> None:
    check = _stepping(7)
    verdict = engine.verify(check.claim, check=check, instances=20, seed=0)
    assert verdict.status == "fails"
    assert verdict.counterexample["diverged_at"] == 7
    # shrunk to the divergence's edge: a bisected a just above 0.5
    assert 0.5 < verdict.counterexample["parameters"]["a"] <= 0.6


def test_a_raising_claim_is_an_error_and_the_others_still_run(tmp_path, capsys) -> None:
    path = tmp_path / "claims.py"
    path.write_text(USER_FILE.format(observe="raise ValueError('no such observable')", id="T.raises"))
    code = main(["verify", "--load", str(path), "--claim", "T.raises", "L.gain.ceiling", "--json"])
    out = json.loads(capsys.readouterr().out)
    status = {c["id"]: c["status"] for c in out["claims"]}
    assert code == 1 and status == {"T.raises": "error", "L.gain.ceiling": "proved"}
    assert "ValueError: no such observable" in next(c["note"] for c in out["claims"] if c["id"] == "T.raises")


def test_ctrl_c_keeps_the_json_valid(tmp_path, capsys) -> None:
    path = tmp_path / "claims.py"
    path.write_text(USER_FILE.format(observe="raise KeyboardInterrupt", id="T.interrupts"))
    code = main(
        ["verify", "--load", str(path), "--claim", "L.gain.ceiling", "T.interrupts", "--json", "--jobs", "1"]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 130 and out["interrupted"] is True
    assert [c["id"] for c in out["claims"]] == ["L.gain.ceiling"]


USER_FILE = """
import sympy as sp
from maml_theory.numerics.verification.checks import claim
from maml_theory.numerics.verification.space import Param, Space
from maml_theory.theory.claims import Claim, Provenance

def observe(params):
    {observe}

x = sp.Symbol("x")
statement = Claim("{id}", "t", "tests", Provenance.ABSTRACT, "x ≤ 1", sp.Le(x, 1))
claim(statement, Space((Param("a", 0, 1),)), observe)
"""


def test_the_readme_conjecture_fails_and_its_command_reproduces_it(capsys) -> None:
    args = ["verify", "--load", "tests/user_claims/gain_conjecture.py", "--claim", "U.gain.separation_bound"]
    assert main([*args, "--json"]) == 1
    (verdict,) = json.loads(capsys.readouterr().out)["claims"]
    assert verdict["status"] == "fails"
    command = shlex.split(verdict["counterexample"]["reproduce"])
    assert command[:2] == ["maml-theory", "verify"]
    assert main([*command[1:], "--json"]) == 1
    point = json.loads(capsys.readouterr().out)
    assert point["outcome"] == "fails" and point["lhs"] > point["rhs"]


def test_json_lists_the_required_keys_per_claim(capsys) -> None:
    assert main(["verify", "--spec", "L", "--claim", "L.gain.ceiling", "L.gain.any_mixture", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for c in out["claims"]:
        for key in (
            "id",
            "title",
            "provenance",
            "status",
            "instances",
            "worst_slack",
            "counterexample",
            "seconds",
        ):
            assert key in c
    assert {c["id"]: c["status"] for c in out["claims"]} == {
        "L.gain.ceiling": "proved",
        "L.gain.any_mixture": "holds",
    }


def test_workers_give_the_same_verdicts_in_the_same_order(capsys) -> None:
    args = [
        "verify",
        "--claim",
        "L.gain.ceiling",
        "R.contraction",
        "L.gain.any_mixture",
        "--json",
        "--no-cache",
    ]
    outs = []
    for jobs in ("1", "2"):
        assert main([*args, "--jobs", jobs]) == 0
        outs.append(
            [
                {k: v for k, v in c.items() if k != "seconds"}
                for c in json.loads(capsys.readouterr().out)["claims"]
            ]
        )
    assert outs[0] == outs[1]
    assert {c["id"] for c in outs[0]} == {"L.gain.ceiling", "R.contraction", "L.gain.any_mixture"}


def test_proof_cache_is_keyed_on_the_theory(fresh_cache) -> None:
    (claim,) = registered("L.gain.ceiling")
    first = proofs.prove(claim)
    second = proofs.prove(claim)
    assert (first.cached, second.cached) == (False, True) and first.proved == second.proved
    assert len(list(fresh_cache.glob(f"proofs-{proofs.theory_key()}.json"))) == 1


def test_space_maps_the_unit_box_onto_its_ranges() -> None:
    p = Param("m", 1, 200, integer=True, log=True)
    assert p.value(0.0) == 1 and p.value(1.0) == 200 and p.value(0.5) == round(math.sqrt(200))
    assert p.unit(p.value(0.3)) == pytest.approx(0.3, abs=0.02)
    q = Param("x", 0.1, 10.0, log=True)
    assert q.value(q.unit(2.5)) == pytest.approx(2.5, rel=1e-12)


# --- instances the claim cannot be judged at, and points outside its box -----------------------------


def _toy(observe, conclusion: sp.Basic | None = None) -> Check:
    """x ≤ 1 (or ``conclusion`` in x) on the box a ∈ [0, 1], x from ``observe``."""
    x = sp.Symbol("x")
    claim = Claim(
        "T.toy",
        "toy",
        "tests",
        Provenance.DERIVED,
        "x ≤ 1",
        sp.Le(x, 1) if conclusion is None else conclusion,
    )
    return Check(claim, Space((Param("a", 0.0, 1.0),)), observe)


def test_nan_at_an_instance_is_an_error_naming_it_never_a_verdict() -> None:
    # Before: NaN ≤ 1 + tol is False, so the claim 'failed' with slack inf.
    check = _toy(lambda params: {"x": math.nan if params["a"] > 0.5 else 0.0})
    verdict = engine.verify(check.claim, check=check, instances=20, seed=0)
    assert verdict.status == "error" and verdict.counterexample is None
    assert verdict.note.startswith("evaluates to NaN (lhs nan, rhs 1.0, slack nan) at a=0.")
    with pytest.raises(engine.EvaluationError, match=r"NaN .* at a=0\.75$"):
        engine.evaluate(check, {"a": 0.75})
    assert engine.evaluate(check, {"a": 0.25}).kind == "holds"


def test_an_overflowing_relation_is_an_error_naming_the_point() -> None:
    # x² in Python floats raises OverflowError for x = 1e200.
    x = sp.Symbol("x")
    check = _toy(lambda params: {"x": 1e200 * params["a"]}, sp.Le(x**2, 1))
    verdict = engine.verify(check.claim, check=check, instances=5, seed=0)
    assert verdict.status == "error"
    assert "its relation raised OverflowError" in verdict.note and " at a=0." in verdict.note


def test_a_point_outside_the_box_or_a_hypothesis_is_inadmissible_and_says_why() -> None:
    check = _toy(lambda params: {"x": params["a"]})
    for a in (math.nan, math.inf, 1.5, -0.1):
        o = engine.evaluate(check, {"a": a})
        assert o.kind == "inadmissible" and o.unmet == engine.Unmet("a in [0, 1]", f"a={a!r}"), o
    (few,) = registered("L.gain.few_samples")
    point = dict(d=3, alpha=1.9, p_H=0.5, rho_H=1.9, rho_E=1, nu_H=0.01, nu_E=0.1, sigma=0.1, R=5, m=3)
    o = engine.evaluate(check_of(few.id), point)
    assert o.kind == "inadmissible"
    assert o.unmet.condition == f"its hypothesis {notation.text(few.hypotheses[0])}"
    assert o.unmet.values == "alpha=1.9,d=3,m=3,rho_H=1.9"


def test_params_ranges_in_words() -> None:
    assert Param("m", 1, 200, integer=True).describe() == "m an integer in 1..200"
    assert Param("R", 0.0, 0.0).describe() == "R = 0"
    assert not Param("m", 1, 200, integer=True).contains(2.5)
    assert Param("m", 1, 200, integer=True).contains(200.0) and not Param("x", 0, 1).contains(math.nan)
