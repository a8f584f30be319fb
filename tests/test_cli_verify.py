"""``verify``, ``derive``, ``figures`` and ``report`` on hostile input: one line, exit code 2, before any
work; NaN never a verdict; Ctrl-C without worker tracebacks; progress on a terminal only."""

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maml_theory.reports import derive_command, figures, figures_command, verify_command
from maml_theory.reports.cli import main
from maml_theory.reports.figures.progress import Progress
from maml_theory.theory import notation
from maml_theory.theory.claims import registered

verify_command.builtin()

POINT = "d=3,alpha=0.5,p_H=0.5,rho_H=0.1,rho_E=1,nu_H=0.01,nu_E=0.1,sigma=0.1"
CEILING_PARAMETERS = "d, alpha, p_H, rho_H, rho_E, nu_H, nu_E, sigma, R, m"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("maml-theory: error: "), err
    return lines[0]


# --- verify --at ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "says"),
    [
        # NaN (a ValueError before), 1e300 (an OverflowError), m = ∞ (a false 'fails': lhs nan, rhs nan)
        (f"{POINT},R=nan,m=10", "admissible: R in [0.01, 10] (got 'R=nan')"),
        (f"{POINT},R=1e300,m=10", "admissible: R in [0.01, 10] (got 'R=1e+300')"),
        (f"{POINT},R=5,m=inf", "admissible: m an integer in 1..200 (got 'm=inf')"),
        (f"{POINT},R=5,m=2.5", "admissible: m an integer in 1..200 (got 'm=2.5')"),
        (f"{POINT},R=5,m=10,bogus=3", f"parameters: {CEILING_PARAMETERS} (got 'bogus=3')"),
        (f"{POINT},R=5", f"parameters: {CEILING_PARAMETERS} (got 'no m')"),
        (f"{POINT},R=5,R=6,m=10", "each name once (got 'R=6')"),
        (f"{POINT},R=five,m=10", "separated by commas (got 'R=five')"),
    ],
)
def test_a_bad_or_inadmissible_point_is_one_line_exit_2(capsys, at, says) -> None:
    code, out, err = run(capsys, "verify", "--claim", "L.gain.ceiling", "--at", at)
    line = one_error_line(err)
    assert code == 2 and out == ""
    assert line.startswith("maml-theory: error: --at must be ") and line.endswith(says), line
    assert "fails" not in line and "nan, rhs" not in line


def test_a_point_breaking_a_hypothesis_names_it(capsys) -> None:
    (claim,) = registered("L.gain.few_samples")
    at = "d=3,alpha=1.9,p_H=0.5,rho_H=1.9,rho_E=1,nu_H=0.01,nu_E=0.1,sigma=0.1,R=5,m=3"
    code, out, err = run(capsys, "verify", "--claim", claim.id, "--at", at, "--json")
    line = one_error_line(err)
    assert code == 2 and out == ""
    hypothesis = notation.text(claim.hypotheses[0])  # g_H ≤ 1, as the statement prints it
    assert f"admissible: its hypothesis {hypothesis} (got 'alpha=1.9,d=3,m=3,rho_H=1.9')" in line


def test_an_admissible_point_still_gets_its_verdict(capsys) -> None:
    code, out, err = run(capsys, "verify", "--claim", "L.gain.ceiling", "--at", f"{POINT},R=5,m=10", "--json")
    point = json.loads(out)
    assert code == 0 and err == "" and point["outcome"] == "holds" and point["lhs"] < point["rhs"]


NAN_CLAIM = """
import math
import sympy as sp
from maml_theory.numerics.verification.checks import claim
from maml_theory.numerics.verification.space import Param, Space
from maml_theory.theory.claims import Claim, Provenance

x = sp.Symbol("x")
statement = Claim("T.nan_above_half", "t", "tests", Provenance.ABSTRACT, "x ≤ 1", sp.Le(x, 1))
claim(statement, Space((Param("a", 0, 1),)), lambda p: {"x": math.nan if p["a"] > 0.5 else 0.0})
"""


def test_nan_at_an_admissible_point_is_an_error_never_fails(tmp_path, capsys) -> None:
    path = tmp_path / "nan_claim.py"
    path.write_text(NAN_CLAIM)
    load = ["verify", "--load", str(path), "--claim", "T.nan_above_half"]
    code, out, _ = run(capsys, *load, "--at", "a=0.75")
    assert code == 1
    assert out.strip() == (
        "T.nan_above_half at a=0.75: error (evaluates to NaN (lhs nan, rhs 1.0, slack nan) at a=0.75)"
    )
    assert run(capsys, *load, "--at", "a=0.25")[:2] == (
        0,
        "T.nan_above_half at a=0.25: holds (lhs 0, rhs 1, slack 0)\n",
    )
    code, out, _ = run(capsys, *load, "--json", "--jobs", "1")
    (verdict,) = json.loads(out)["claims"]
    assert code == 1 and verdict["status"] == "error" and verdict["counterexample"] is None
    assert "NaN" in verdict["note"] and " at a=0." in verdict["note"]


# --- verify --instances ---------------------------------------------------------------------------------


def test_instances_beyond_memory_are_refused_before_any_work(capsys, monkeypatch) -> None:
    def no_work() -> None:
        raise AssertionError("the claims were built before --instances was checked")

    monkeypatch.setattr(verify_command, "builtin", no_work)
    code, out, err = run(capsys, "verify", "--instances", "1000000000", "--jobs", "2")
    line = one_error_line(err)
    limit = verify_command.instance_limit(2)
    assert code == 2 and out == ""
    assert line.startswith(f"maml-theory: error: --instances must be an integer in 0..{limit} (about 4 KiB")
    assert line.endswith("GiB) (got '1000000000')")
    # The limit is what the memory holds: the limit fits, one more does not.
    memory = verify_command._memory()
    assert limit * verify_command.BYTES_PER_INSTANCE * 2 <= memory
    assert (limit + 1) * verify_command.BYTES_PER_INSTANCE * 2 > memory
    assert verify_command.instance_limit(1) >= 2 * limit


def test_instances_at_the_limit_pass_the_check(monkeypatch) -> None:
    class Reached(Exception):
        pass

    def reached() -> None:
        raise Reached

    monkeypatch.setattr(verify_command, "builtin", reached)
    with pytest.raises(Reached):
        main(["verify", "--instances", str(verify_command.instance_limit(1)), "--jobs", "1"])


# --- verify: Ctrl-C -------------------------------------------------------------------------------------


def _children(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


@pytest.mark.skipif(
    not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(), reason="needs Linux /proc"
)
def test_ctrl_c_during_verify_prints_one_line_and_no_worker_traceback(tmp_path) -> None:
    # A terminal's Ctrl-C sends SIGINT to the whole foreground process group, workers included: the command
    # runs in a session of its own, and the signal goes to its group once both workers are at work.
    env = {**os.environ, "MAML_THEORY_CACHE": str(tmp_path)}  # a cold cache: the proofs keep them busy
    cmd = [sys.executable, "-m", "maml_theory.reports.cli", "verify", "--jobs", "2", "--no-cache"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        # At least the two workers (multiprocessing may add a helper process of its own).
        while len(_children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_children(proc.pid)) >= 2, "the workers never started"
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "ForkPoolWorker" not in err and "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.splitlines() == ["maml-theory: interrupted; the verdicts above are those finished"]
    assert out.strip().endswith("(interrupted)")


# --- figures and report --out ---------------------------------------------------------------------------


def _unwritable(tmp_path: Path) -> list[tuple[str, str]]:
    """(--out, the system's reason): inside a read-only system folder, through a regular file, a file."""
    afile = tmp_path / "a-file"
    afile.write_text("")
    return [
        ("/proc/maml-theory-test", "No such file or directory"),
        (str(afile / "sub"), "Not a directory"),
        (str(afile), "File exists"),
    ]


def test_figures_to_an_unwritable_place_stop_before_any_work(tmp_path, capsys, monkeypatch) -> None:
    def no_work(*args, **kwargs):
        raise AssertionError("a figure was computed before --out was checked")

    monkeypatch.setattr(figures, "make", no_work)
    for out_dir, reason in _unwritable(tmp_path):
        code, out, err = run(capsys, "figures", "--only", "l-clusters", "--out", out_dir)
        line = one_error_line(err)
        assert code == 2 and out == ""
        assert line.startswith("maml-theory: error: --out must be a folder that can be created and written")
        assert reason in line and line.endswith(f"(got {out_dir!r})")


def test_report_to_an_unwritable_place_stops_before_any_work(tmp_path, capsys, monkeypatch) -> None:
    from maml_theory.reports import report

    def no_work(*args, **kwargs):
        raise AssertionError("the report was started before --out was checked")

    monkeypatch.setattr(report, "write", no_work)
    for out_dir, reason in _unwritable(tmp_path):
        code, out, err = run(capsys, "report", "--quick", "--out", out_dir)
        line = one_error_line(err)
        assert code == 2 and out == ""
        assert reason in line and line.endswith(f"(got {out_dir!r})")
    # A file where the report's figures folder would go stops it too, before any work.
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / report.FIGURES_FOLDER).write_text("")
    code, out, err = run(capsys, "report", "--quick", "--out", str(blocked))
    assert code == 2 and "File exists" in one_error_line(err)


def test_output_folder_is_created_and_left_empty(tmp_path) -> None:
    folder = tmp_path / "a" / "b"
    assert figures.output_folder(folder) == folder and folder.is_dir() and list(folder.iterdir()) == []


def test_quick_figures_go_to_their_own_folder(tmp_path, capsys, monkeypatch) -> None:
    made = []

    def make(name, out_dir, quick=False, progress=None):
        made.append((out_dir, quick))
        return figures.FigureResult(name, name, out_dir / f"{name}.pdf", out_dir / f"{name}.png", "", {}, 0.0)

    monkeypatch.setattr(figures, "make", make)
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "figures", "--only", "l-clusters", "--quick")[0] == 0
    assert run(capsys, "figures", "--only", "l-clusters")[0] == 0
    assert made == [
        (Path("reports/build/figures-quick"), True),
        (Path("reports/build/figures"), False),
    ]
    assert figures_command.DEFAULT_OUT[True] != figures_command.DEFAULT_OUT[False]


# --- progress on a terminal -----------------------------------------------------------------------------


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_verify_announces_each_claim_on_a_terminal_only() -> None:
    claims = registered("L.gain.ceiling") + registered("L.gain.any_mixture")
    settings = dict(instances=2, seed=0, search=False, use_cache=True, owner={})
    for stream, expected in (
        (FakeTTY(), "[1/2] L.gain.ceiling ...\n[2/2] L.gain.any_mixture ...\n"),
        (io.StringIO(), ""),
    ):
        done = list(
            verify_command.verdicts(claims, jobs=1, progress=Progress("verify", stream=stream), **settings)
        )
        assert [v.id for v in done] == [c.id for c in claims]
        assert stream.getvalue() == expected


def test_derive_announces_each_derivation_on_a_terminal_only(capsys) -> None:
    steps = derive_command.landscape_steps()[:3]
    stream = FakeTTY()
    made = derive_command.build(steps, Progress("derive", stream=stream))
    assert [d.id for d in made] == [d.id for d in derive_command.landscape_derivations()[:3]]
    assert stream.getvalue().splitlines() == [
        "[1/3] adaptation.task_loss() ...",
        "[2/3] adaptation.inner_gradient() ...",
        "[3/3] adaptation.adapted_excess() ...",
    ]
    code, out, err = run(capsys, "derive", "nal")  # capsys's stderr is no terminal: nothing on it
    assert code == 0 and err == "" and "R.update.nal" in out
