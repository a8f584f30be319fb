"""The command line: numbers equal to the API's, JSON a script can read, one-line errors with exit code 2."""

import json
import math
import shutil
import subprocess

import pytest

from maml_theory.numerics.landscape.closed_form import easy_hard
from maml_theory.numerics.landscape.instances import EasyHard
from maml_theory.reports.cli import main

JSON_KEYS = {"weight_hard_maml", "weight_hard_nal", "excess_maml", "excess_nal", "gain", "gain_ceiling"}
MC_KEYS = {"excess_maml", "excess_nal", "se_maml", "se_nal", "n"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_landscape_json_is_the_closed_form(capsys):
    code, out, _ = run(capsys, "landscape", "--json", "--d", "3", "--R", "2", "--m", "7")
    assert code == 0
    data = json.loads(out)
    assert JSON_KEYS <= data.keys()
    forms = easy_hard(EasyHard(d=3, R=2, m=7))
    assert data["gain"] == forms.gain
    assert data["excess_maml"] == forms.excess_maml
    assert data["weight_hard_nal"] == forms.weight_hard_nal
    assert data["instance"]["m_train"] == 7


def test_infinite_batch_and_unbounded_ceiling_are_valid_json(capsys):
    code, out, _ = run(capsys, "landscape", "--json", "--m", "inf", "--alpha", "1", "--rho-easy", "1")
    assert code == 0
    data = json.loads(out)  # strict JSON: no Infinity/NaN tokens
    assert "Infinity" not in out and "NaN" not in out
    assert data["instance"]["m"] == "inf"
    assert data["gain_ceiling"] is None  # g_E = 0: the ceiling (g_H+g_E)²/(4g_Hg_E) is unbounded
    assert data["weight_hard_maml"] == pytest.approx(1.0, abs=1e-12)


def test_default_instance_monte_carlo_agrees_within_six_standard_errors(capsys):
    # Spec L's acceptance check. Each estimate is a sample mean of 200 000 iid per-task excesses, so
    # (estimate − closed form)/SE is asymptotically N(0, 1); |z| ≤ 6 at a fixed seed.
    code, out, _ = run(capsys, "landscape", "--mc", "200000", "--json")
    assert code == 0
    data = json.loads(out)
    mc = data["monte_carlo"]
    assert MC_KEYS <= mc.keys() and mc["n"] == 200000
    for key in ("maml", "nal"):
        z = (mc[f"excess_{key}"] - data[f"excess_{key}"]) / mc[f"se_{key}"]
        assert abs(z) <= 6, (key, z)
        assert mc[f"z_{key}"] == pytest.approx(z)
    assert abs(mc["gain"] - data["gain"]) <= 6 * mc["se_gain"]


def test_same_seed_same_output(capsys):
    _, first, _ = run(capsys, "landscape", "--mc", "5000", "--seed", "7", "--json")
    _, again, _ = run(capsys, "landscape", "--mc", "5000", "--seed", "7", "--json")
    _, other, _ = run(capsys, "landscape", "--mc", "5000", "--seed", "8", "--json")
    assert first == again
    assert first != other


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--d", "0"], "--d"),
        (["--d", "abc"], "--d"),
        (["--d", "2.5"], "--d"),
        (["--alpha", "0"], "--alpha"),
        (["--alpha", "-1"], "--alpha"),
        (["--p-hard", "1.5"], "--p-hard"),
        (["--p-hard", "-0.1"], "--p-hard"),
        (["--m", "0"], "--m"),
        (["--m", "x"], "--m"),
        (["--m-train", "-3"], "--m-train"),
        (["--nu-hard", "-1"], "--nu-hard"),
        (["--nu-easy", "nan"], "--nu-easy"),
        (["--sigma", "-0.5"], "--sigma"),
        (["--rho-hard", "0"], "--rho-hard"),
        (["--rho-easy", "inf"], "--rho-easy"),
        (["--R", "-2"], "--R"),
        (["--mc", "1"], "--mc"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_bad_value_is_one_line_naming_the_parameter(capsys, argv, flag):
    code, out, err = run(capsys, "landscape", *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"maml-theory: error: {flag} must be ")
    assert repr(argv[1]) in lines[0]  # echoes what was typed


def test_degenerate_instance_is_reported_not_crashed(capsys):
    # Only easy tasks, each solved exactly by one exact step: every point minimises the MAML objective.
    code, _, err = run(capsys, "landscape", "--p-hard", "0", "--m", "inf", "--alpha", "1", "--rho-easy", "1")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "no unique minimiser" in err


def test_usage_errors_are_one_line(capsys):
    for argv in (["landscape", "--bogus", "1"], ["nope"], []):
        code, _, err = run(capsys, *argv)
        assert code == 2
        assert len(err.strip().splitlines()) == 1, err


def test_derive_landscape_prints_every_step(capsys):
    code, out, _ = run(capsys, "derive", "landscape")
    assert code == 0
    for ident in (
        "L.task_loss",
        "L.adapted_excess",
        "L.mixture.minimiser",
        "L.identity.quadratic",
        "L.two_type.gain",
    ):
        assert ident in out
    code, latex, _ = run(capsys, "derive", "landscape", "--latex")
    assert code == 0
    assert latex.count(r"\begin{align*}") == latex.count(r"\end{align*}") >= 10
    assert r"\hat{\Sigma}" in latex


@pytest.mark.skipif(shutil.which("maml-theory") is None, reason="console script not installed")
def test_console_script_entry_point():
    done = subprocess.run(
        ["maml-theory", "landscape", "--d", "-1"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "maml-theory: error: --d must be an integer >= 1 (got '-1')"
    done = subprocess.run(["maml-theory", "landscape", "--json"], capture_output=True, text=True, check=True)
    assert math.isfinite(json.loads(done.stdout)["gain"])


@pytest.mark.parametrize("method", ["anil", "fo-anil", "maml", "fo-maml", "nal"])
def test_derive_spec_r_method(capsys, method):
    code, out, _ = run(capsys, "derive", method)
    assert code == 0
    for ident in (
        f"R.task_gradient.{method}",
        f"R.update.{method}",
        f"R.update.{method}.w0",
        f"R.perp.{method}",
    ):
        assert ident + ":" in out
    assert ("R.reduced:" in out) == (method == "fo-anil")
