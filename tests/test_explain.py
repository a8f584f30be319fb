"""``maml-theory verify --explain ID``: one claim in one place, as text and as one JSON object; an unknown id
is one line with the close matches; every file:line it prints opens at the function it names."""

import functools
import json
import re
from pathlib import Path

import pytest

from maml_theory.numerics.verification.checks import check_of
from maml_theory.reports import explain, verify_command
from maml_theory.reports.cli import main
from maml_theory.theory import notation
from maml_theory.theory.claims import Claim, registered

verify_command.builtin()
BY_ID = {c.id: c for c in registered()}


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MAML_THEORY_CACHE", str(tmp_path))
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["verify", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def section(out: str, label: str) -> list[str]:
    """The line labelled ``label:`` and the indented lines below it."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{label}:"))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), len(lines))
    return lines[start:end]


def common_fields(out: str, claim: Claim) -> None:
    """The fields every explanation prints, read back against the claim itself."""
    assert out.splitlines()[0] == f"{claim.id}: {claim.title}"
    assert f"\nstatement:  {claim.statement}\n" in out
    assert f"\nnote:       {claim.note}\n" in out
    assert f"\nsource:     {claim.source}\n" in out
    assert f"\nprovenance: {claim.provenance}\n" in out
    assert section(out, "hypotheses")[1:] == [f"  {notation.text(h)}" for h in claim.hypotheses]
    assert section(out, "uncertain hypotheses")[1:] == [f"  {notation.text(h)}" for h in claim.uncertain]
    box = section(out, "check")
    check = check_of(claim.id)
    assert box[0] == f"check:      a box of {len(check.space.params)} parameters"
    for p in check.space.params:
        assert any(line.startswith(f"  {p.describe()}") for line in box), p


# --- spec L: a sympy proof and a numeric check ----------------------------------------------------------


def test_spec_l_claim_with_proof_and_check_text(capsys, fresh_cache) -> None:
    claim = BY_ID["L.gain.ceiling"]
    code, out, err = run(capsys, "--explain", claim.id)
    assert code == 0 and err == ""
    common_fields(out, claim)
    # The proof cache was empty: the explanation says so, and the quick run (which proves) fills it.
    proof = section(out, "proof")
    assert proof[0].startswith("proof:      maml_theory.theory.landscape.claims.")
    assert proof[1] == "  not slow; no cached outcome (the verifier proves it afresh)"
    assert "  alpha in [0.1, 2] (log scale)" in section(out, "check")
    assert "  m an integer in 1..200 (log scale)" in section(out, "check")
    assert "  search budget: 900 evaluations" in out and "  boundary parameters: none" in out
    verdict = section(out, "verdict")[0]
    assert verdict.startswith("verdict:    proved, 20/20 instances admissible, worst slack 1−")
    assert "(20 instances, seed 0, no search, " in verdict
    # G's definition is 1813 characters: summarised in the text; the short ones are printed whole.
    where = section(out, "where")
    (g,) = [line for line in where if line.startswith("  G = ")]
    assert len(g) < 250 and g.endswith("; --json prints it whole)") and "characters in R, α, d, m" in g
    assert "  p_E = 1 - p_H" in where
    code, out, _ = run(capsys, "--explain", claim.id, "--no-run")
    assert code == 0 and section(out, "verdict") == ["verdict:    not run (--no-run)"]
    assert section(out, "proof")[1].startswith("  not slow; cached outcome: proved (")


def test_spec_l_claim_with_proof_and_check_json(capsys, fresh_cache) -> None:
    claim = BY_ID["L.gain.ceiling"]
    code, out, _ = run(capsys, "--explain", claim.id, "--json")
    e = json.loads(out)
    assert code == 0
    assert (e["id"], e["title"], e["source"], e["provenance"]) == (
        claim.id,
        claim.title,
        claim.source,
        "derived",
    )
    assert e["statement"] == claim.statement and e["note"] == claim.note
    assert e["hypotheses"] == [] and e["uncertain"] == []
    assert e["where"] == [{"name": notation.text(n), "definition": notation.text(d)} for n, d in claim.where]
    assert max(len(w["definition"]) for w in e["where"]) > explain.SUMMARY_WIDTH  # the JSON holds it whole
    assert e["proof"]["slow"] is False and e["proof"]["cached"] is None
    assert e["proof"]["file"] == "theory/landscape/claims.py"
    assert e["check"]["observe"]["name"] == "maml_theory.numerics.landscape.checks.gain_observables"
    assert [p["name"] for p in e["check"]["parameters"]] == list(check_of(claim.id).space.names)
    assert e["check"]["parameters"][-1] == {
        "name": "m",
        "low": 1,
        "high": 200,
        "integer": True,
        "log": True,
        "fixed": False,
    }
    assert e["check"]["search_budget"] == 900 and e["check"]["boundary"] == {}
    v = e["verdict"]
    assert v["status"] == "proved" and v["instances"] == v["drawn"] == 20
    assert v["proof"] == {"proved": True, "method": v["proof"]["method"], "cached": False}
    assert v["run"] == {"instances": 20, "seed": 0, "search": False}
    assert v["worst_case"] is None and v["boundary"] == []  # no search
    e = json.loads(run(capsys, "--explain", claim.id, "--json", "--no-run")[1])
    assert e["verdict"] is None and e["proof"]["cached"]["proved"] is True


# --- spec R: a simulator check; uncertain hypotheses ----------------------------------------------------


def test_spec_r_claim_with_simulator_check(capsys) -> None:
    claim = BY_ID["R.contraction"]
    code, out, err = run(capsys, "--explain", claim.id)
    assert code == 0 and err == ""
    common_fields(out, claim)
    assert section(out, "proof") == ["proof:      none (no sympy proof; the numeric check alone judges it)"]
    assert section(out, "where") == ["where: none"]
    check = section(out, "check")
    assert "  seed an integer in 0..2.14748e+09 (fixed)" in check
    assert any(
        line.startswith("  observe: maml_theory.numerics.representation.checks.contraction (")
        for line in check
    )
    assert any(line.startswith("  derived parameters: ") for line in check)
    assert section(out, "verdict")[0].startswith(
        "verdict:    holds, 20/20 instances admissible, worst slack "
    )
    e = json.loads(run(capsys, "--explain", claim.id, "--json")[1])
    assert e["proof"] is None and e["where"] == [] and e["uncertain"] == []
    assert e["hypotheses"] == [notation.text(h) for h in claim.hypotheses]
    assert e["check"]["derived_by"]["file"] == "numerics/representation/checks.py"
    assert e["verdict"]["status"] == "holds" and e["verdict"]["instances"] == 20


def test_claim_with_uncertain_hypotheses(capsys) -> None:
    claim = BY_ID["R.theorem.anil"]
    assert claim.uncertain  # the case this test is about
    code, out, _ = run(capsys, "--explain", claim.id, "--no-run")
    assert code == 0
    common_fields(out, claim)
    assert section(out, "uncertain hypotheses") == ["uncertain hypotheses:", "  β ≤ E_0·α/(4·κ*)"]
    assert "  boundary parameters: c up to 16" in section(out, "check")
    assert "  search budget: 60 evaluations" in section(out, "check")
    e = json.loads(run(capsys, "--explain", claim.id, "--json")[1])
    assert e["provenance"] == "reconstructed"
    assert e["uncertain"] == [notation.text(h) for h in claim.uncertain]
    assert e["hypotheses"] == [notation.text(h) for h in claim.hypotheses]
    assert e["check"]["boundary"] == {"c": 16.0}
    assert e["verdict"]["status"] in ("holds", "fails") and e["verdict"]["boundary"] == []  # no search


# --- mistakes and failures ------------------------------------------------------------------------------


def test_unknown_id_is_one_line_with_close_matches(capsys) -> None:
    code, out, err = run(capsys, "--explain", "L.gain.ceil")
    assert code == 2 and out == ""
    (line,) = err.splitlines()
    prefix = "maml-theory: error: --explain must be a registered claim id (close matches: "
    assert line.startswith(prefix) and line.endswith(") (got 'L.gain.ceil')")
    matches = line[len(prefix) : -len(") (got 'L.gain.ceil')")].split(", ")
    assert matches[0] == "L.gain.ceiling" and all(m in BY_ID for m in matches)
    code, out, err = run(capsys, "--explain", "nothing-like-it")
    assert code == 2 and out == ""
    assert err == (
        "maml-theory: error: --explain must be a registered claim id (see --list) (got 'nothing-like-it')\n"
    )


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--explain", "R.rate", "--claim", "R"],
            "--explain must be one claim id, given without --claim, --spec, --at or --list (got 'R.rate')",
        ),
        (["--no-run"], "--no-run must be given with --explain ID (got '--no-run')"),
    ],
)
def test_explain_with_other_selections_is_one_line(capsys, argv, line) -> None:
    assert run(capsys, *argv) == (2, "", f"maml-theory: error: {line}\n")


FAILING_CLAIM = """
import sympy as sp
from maml_theory.numerics.verification.checks import claim
from maml_theory.numerics.verification.space import Param, Space
from maml_theory.theory.claims import Claim, Provenance

x = sp.Symbol("x")
claim(Claim("T.explain.half", "x stays below a half", "tests", Provenance.ABSTRACT, "", sp.Le(x, 0.5)),
      Space((Param("a", 0, 1),)), lambda p: {"x": p["a"]})
"""


def test_a_failing_loaded_claim_exits_1_with_its_reproduce_line(tmp_path, capsys) -> None:
    path = tmp_path / "failing.py"
    path.write_text(FAILING_CLAIM)
    code, out, _ = run(capsys, "--load", str(path), "--explain", "T.explain.half")
    assert code == 1
    assert section(out, "verdict")[0].startswith("verdict:    fails, 20/20 instances admissible")
    reproduce = section(out, "verdict")[1]
    assert reproduce.startswith(
        f"  reproduce: maml-theory verify --load {path} --claim T.explain.half --at a="
    )
    # The observe lambda lives in the loaded file, outside the repository: its path is printed as loaded.
    line = next(i for i, text in enumerate(FAILING_CLAIM.splitlines(), start=1) if "lambda" in text)
    assert "  observe: maml_theory_user_claims_" in out and f".<lambda> ({path}:{line})" in out


# --- file:line ------------------------------------------------------------------------------------------


def opens_at_function(loc: dict) -> bool:
    """Whether the printed file:line is the ``def`` of the named function, or a ``lambda`` for one."""
    # Relative to the package's root or, for a file outside the package (a test's), the working folder.
    path = next(base / loc["file"] for base in (explain.ROOT, Path.cwd()) if (base / loc["file"]).exists())
    text = path.read_text().splitlines()[loc["line"] - 1]
    name = loc["name"].rsplit(".", 1)[-1]
    return ("lambda" in text) if name == "<lambda>" else re.search(rf"\bdef {re.escape(name)}\(", text)


LOCATED = [c for c in registered() if c.prove is not None or check_of(c.id) is not None]


@pytest.mark.parametrize("claim", LOCATED, ids=[c.id for c in LOCATED])
def test_every_printed_file_line_opens_at_its_function(claim: Claim, fresh_cache) -> None:
    e = explain.explanation(claim, check_of(claim.id))
    check = e["check"] or {}
    locations = [x for x in (e["proof"], check.get("observe"), check.get("derived_by")) if x is not None]
    assert locations
    for loc in locations:
        assert not loc["file"].startswith("/"), loc  # relative to the repository root
        assert opens_at_function(loc), loc
    text = explain.text(claim, check_of(claim.id), e)
    for loc in locations:
        assert f"{loc['name']} ({loc['file']}:{loc['line']})" in text


def _decorated_target(x: float) -> float:
    return x


@functools.lru_cache
def _decorated(x: float) -> float:
    return x


def test_location_skips_decorators_and_partials() -> None:
    loc = explain.location(_decorated)
    assert loc["file"] == "tests/test_explain.py" and loc["name"].endswith("._decorated")
    assert opens_at_function(loc)
    loc = explain.location(functools.partial(_decorated_target, 1.0))
    assert loc["name"].endswith("._decorated_target") and opens_at_function(loc)
