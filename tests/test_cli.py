"""The command line: numbers equal to the API's, JSON a script can read, one-line errors with exit code 2."""

import json
import math
import shutil
import subprocess
import time

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


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
@pytest.mark.parametrize(
    ("argv", "flag", "bound"),
    [
        (["--alpha", "1e308"], "--alpha", 1.3e154),
        (["--R", "1e200"], "--R", 1.03e155),
        (["--sigma", "1e200"], "--sigma", 1.86e155),
        (["--rho-hard", "1e308"], "--rho-hard", 4.39e103),
        (["--m", "1e300", "--rho-hard", "1e5"], "--m", 4.31e299),
    ],
)
def test_results_beyond_float64_are_refused_naming_the_parameter(capsys, argv, flag, bound, json_flag):
    # These overflowed in the closed forms (OverflowError). RuntimeWarnings are errors in the tests, so
    # none may be raised on the way either.
    code, out, err = run(capsys, "landscape", *argv, *json_flag)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"maml-theory: error: {flag} must be at most {bound:.3g} with the other")
    assert "exceeds float64's largest number" in lines[0]
    assert lines[0].endswith(f"(got {argv[argv.index(flag) + 1]!r})")


def test_the_range_bound_is_where_float64_ends():
    # Just inside the bound the results are numbers; just outside they are refused.
    inside, outside = EasyHard(alpha=1.3e154), EasyHard(alpha=1.31e154)
    assert math.isfinite(easy_hard(inside).excess_nal)
    with pytest.raises(ValueError, match=r"alpha must be at most 1\.3e"):
        easy_hard(outside)


def test_extreme_but_representable_instances_are_computed(capsys):
    # ν_H = 1e308 made E_m an overflowing ∞ and G = ∞/∞ (a TypeError printing it). E_m is
    # d g_H ν_H p_H ρ_H / 2 up to terms 1e-300 times smaller, g_H = (αρ_H − 1)² + α²ρ_H²(d + 1)/m = 0.8106.
    code, out, err = run(capsys, "landscape", "--nu-hard", "1e308", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["excess_maml"] == pytest.approx(1e308 * (5 * 0.8106 * 0.8 * 0.1 / 2), rel=1e-12)
    assert data["gain"] == pytest.approx(1.0, rel=1e-12)
    # R = 1.5e154: R² overflows on the way though E_m does not. At R that large E_m is R² times a function of
    # the other parameters (ν and σ add terms 1e-200 times smaller), so it matches R = 1.5e54 scaled by 1e200.
    code, out, _ = run(capsys, "landscape", "--R", "1.5e154", "--json")
    assert code == 0
    big, small = json.loads(out), easy_hard(EasyHard(R=1.5e54))
    assert big["excess_maml"] == pytest.approx(small.excess_maml * 1e200, rel=1e-12)
    assert big["gain"] == pytest.approx(small.gain, rel=1e-12)


@pytest.mark.parametrize(
    ("argv", "flag", "reason"),
    [
        (["--mc", "1e12"], "--mc", "days to run, over the limit of 1 hour"),
        (["--mc", "1e10", "--json"], "--mc", "hours to run, over the limit of 1 hour"),
        (["--d", "100000", "--mc", "10"], "--d", "GiB of memory, over the limit of 20 GiB"),
    ],
)
def test_monte_carlo_beyond_memory_or_time_is_refused_before_allocating(capsys, argv, flag, reason):
    start = time.perf_counter()
    code, out, err = run(capsys, "landscape", *argv)
    assert time.perf_counter() - start < 2.0  # from the sizes alone (1e7 tasks took 17 s)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"maml-theory: error: {flag} must be at most ") and reason in lines[0], err


def test_monte_carlo_outside_its_float64_range_is_refused(capsys):
    # E_m = 1.6e307 is a number, but the Monte Carlo's fourth moments of it are not (they gave NaN ± NaN).
    code, out, err = run(capsys, "landscape", "--nu-hard", "1e308", "--mc", "100")
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1
    assert lines[0].startswith(
        "maml-theory: error: --mc must be left out at this instance: E_m(w_MAML) = 1.62e+307"
    )


@pytest.mark.skipif(shutil.which("maml-theory") is None, reason="console script not installed")
def test_console_script_prints_no_warning_at_extreme_values():
    for argv in (["--alpha", "1e308"], ["--nu-hard", "1e308"], ["--alpha", "1e100", "--json"]):
        done = subprocess.run(
            ["maml-theory", "landscape", *argv], capture_output=True, text=True, check=False
        )
        assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == (done.returncode == 2)
