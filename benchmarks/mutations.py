"""Mutation check: does the quick test suite catch plausible bugs in theory/, numerics/ and reports/?

Run from the repository root: ``python benchmarks/mutations.py`` (all mutants), ``--only N[,N...]``
(those mutants of ``--list``), ``--list`` (the mutants, without running anything), ``--timeout S`` (seconds
per run of the suite, default 1800), ``--keep`` (leave the temporary copy for inspection). Not part of the
test suite: each run of the quick suite takes about a minute on two idle cores, so the whole list takes tens
of minutes.

Each mutant is one edit of the source: (file, old text, new text, description), a realistic bug that compiles
and imports. The script never touches the working tree. It copies the repository once (``shutil.copytree``,
without .git and caches) to a temporary folder and makes the copy the package that is imported:
``maml_theory`` is a namespace package installed editable, whose finder maps ``maml_theory.theory`` etc. to
the original folders, but that finder sits at the end of ``sys.meta_path``; Python's path finder comes first
and finds ``maml_theory.theory`` through the namespace's ``__path__``, which lists ``sys.path`` entries
first. So ``PYTHONPATH=<tmp>/_pkg`` with ``<tmp>/_pkg/maml_theory/{theory,numerics,reports}`` symlinks to the
copy's folders makes the copy's code the one imported, in pytest and in the ``maml-theory`` subprocesses the
tests start alike. Before any mutant the script checks this three ways: ``maml_theory.theory.__file__`` (and
the other two layers) resolve into the copy; the unmutated suite passes there (the baseline, or every mutant
would count as caught); a canary mutant that makes every claim's tolerance negative is caught by
tests/test_claims.py in the copy.

Then, one mutant at a time, it applies the edit to the copy, runs the quick suite there
(``python -m pytest -x -q -n 2 -p no:cacheprovider --hypothesis-seed=0 --ignore=tests/test_style.py``: ``-x``
stops at the first failure; the fixed hypothesis seed makes a verdict reproducible; the style test is left
out because ruff would flag a mutant for its formatting, which is not catching the bug), and restores the
file. Verdicts: ``caught`` (a test failed: a FAILED line in pytest's summary, whose first test is shown;
with xdist, ``-x`` exits 2, not 1), ``survived`` (exit 0), ``error`` (any other exit, or the timeout: the
mutant or the suite is broken, which is neither), ``stale`` (the old text does not occur exactly once in
the file: someone edited the code, so the mutant needs updating; not a verdict on the suite).
It prints a table and "caught N/M" over the mutants that ran.

A surviving mutant is a gap in the tests: add or sharpen a test, never weaken or drop the mutant.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("theory", "numerics", "reports")
PYTEST = [
    "-m",
    "pytest",
    "-x",
    "-q",
    "-n",
    "2",
    "-p",
    "no:cacheprovider",
    "--hypothesis-seed=0",
    "--ignore=tests/test_style.py",
    # Its SIGINT to a verify subprocess failed in the copy's baseline three times (passing alone, in the
    # default suite and in CI): left out here until that is understood, so the baseline can pass.
    "--deselect=tests/test_cli_verify.py::test_ctrl_c_during_verify_prints_one_line_and_no_worker_traceback",
]


@dataclass(frozen=True)
class Mutant:
    file: str
    old: str
    new: str
    description: str


MUTANTS: tuple[Mutant, ...] = (
    # theory/
    Mutant(
        "theory/landscape/claims.py",
        'sp.Le(G, sp.Symbol("g_max") / sp.Symbol("g_min"))',
        'sp.Le(G, 2 * sp.Symbol("g_max") / sp.Symbol("g_min"))',
        "L.gain.any_mixture's conclusion weakened to G ≤ 2·g_max/g_min",
    ),
    Mutant(
        "theory/landscape/claims.py",
        "g_star = (M.d + 1) / (M.m + M.d + 1)",
        "g_star = (M.d + 1) / (M.m + M.d)",
        "L.gain.few_samples: g* = (d+1)/(m+d) instead of (d+1)/(m+d+1)",
    ),
    Mutant(
        "theory/moments.py",
        "for i, other in enumerate(rest):",
        "for i, other in enumerate(rest[:1]):",
        "Isserlis: only the first perfect matching (the crossing pairings dropped)",
    ),
    Mutant(
        "theory/moments.py",
        "factor *= sp.factorial2(len(occ) - 1) * g.cov",
        "factor *= g.cov",
        "scalar Gaussian moments E[z^2k] without the (2k−1)!! factor",
    ),
    Mutant(
        "theory/claims.py",
        "slack = rhs / lhs if lhs < 0",
        "slack = lhs / rhs if lhs < 0",
        "verifier: slack against a negative bound inverted (lhs/rhs instead of rhs/lhs)",
    ),
    Mutant(
        "theory/claims.py",
        "holds = lhs < rhs if strict else lhs <= rhs + tol",
        "holds = lhs <= rhs + tol",
        "verifier: a strict inequality judged as non-strict with tolerance",
    ),
    Mutant(
        "theory/representation/updates.py",
        'adapt_b = method in ("maml", "fo-maml")',
        'adapt_b = method in ("maml",)',
        "spec R: FO-MAML's inner step adapts the head only (B_i = B)",
    ),
    Mutant(
        "theory/representation/claims.py",
        "a * (w * g_i.T + g_i * w.T)",
        "a * (w * g_i.T + w * g_i.T)",
        "spec R stated C of exact ANIL: g_i wᵀ written as its transpose w g_iᵀ",
    ),
    # numerics/
    Mutant(
        "numerics/landscape/closed_form.py",
        "step = [_in_kappa(e) for e in (g_m, n_m)]",
        "step = [_in_kappa(e) for e in (g_m.subs(M.d, M.d - 1), n_m)]",
        "compiled spec L closed form: hardness g_m with (d+1) → d",
    ),
    Mutant(
        "numerics/representation/simulate.py",
        "G_B = G_B - (mm(s0a.mT, g)",
        "G_B = G_B + (mm(s0a.mT, g)",
        "simulator: exact ANIL's second-order B-gradient term with the wrong sign",
    ),
    Mutant(
        "numerics/representation/simulate.py",
        "new = crossed.any(axis=0)",
        "new = crossed.all(axis=0)",
        "simulator (population): divergence detected only if every step of the block crossed",
    ),
    Mutant(
        "numerics/representation/oracle.py",
        "copies[1] - alpha * g_w)",
        "copies[1] - alpha * g_w / n)",
        "oracle: inner head step of size α/n (the summed inner loss's gradient taken as a mean)",
    ),
    Mutant(
        "numerics/landscape/montecarlo.py",
        "cov = self.m2 / ((n - 1) * n)",
        "cov = self.m2 / ((n - 1) * n * n)",
        "Monte Carlo: covariance of the means divided by n² (standard errors √n too small)",
    ),
    Mutant(
        "numerics/landscape/montecarlo.py",
        "/ (4 * n))",
        "/ (2 * n))",
        "Monte Carlo: relative error of the standard error √((κ−1)/(2n)) (a factor 2 dropped)",
    ),
    Mutant(
        "numerics/landscape/montecarlo.py",
        "grad = np.array([1.0 / mu_j, -r / mu_j])",
        "grad = np.array([1.0 / mu_j, r / mu_j])",
        "Monte Carlo: delta-method ratio SE with the sign of ∂r/∂μ_j flipped",
    ),
    Mutant(
        "numerics/landscape/montecarlo.py",
        "np.outer(delta, delta) * f)",
        "np.outer(delta, delta))",
        "Monte Carlo: chunk merge of M₂ without the ab/n weight of the mean shift",
    ),
    Mutant(
        "numerics/landscape/montecarlo.py",
        "z = sigma * rng.standard_normal(",
        "z = sigma**2 * rng.standard_normal(",
        "Monte Carlo: label noise scaled by the variance σ² instead of σ",
    ),
    Mutant(
        "numerics/validation.py",
        "integer(name, value, low=1, allowed=allowed)",
        "integer(name, value, low=0, allowed=allowed)",
        "validation: sample size m = 0 accepted",
    ),
    Mutant(
        "numerics/validation.py",
        "(x < low or (low_open and x == low))",
        "(x < low)",
        "validation: an open lower bound (α > 0, say) accepts the bound itself",
    ),
    # reports/
    Mutant(
        "reports/report.py",
        "for v in verdicts:",
        "for v in verdicts[1:]:",
        "report: the claims table drops its first row",
    ),
    Mutant(
        "reports/cli.py",
        'got = typed if isinstance(typed, str) and e.name not in ("init", "at") else e.got',
        "got = e.got",
        "CLI: a bad value echoed as parsed, not as typed",
    ),
    Mutant(
        "reports/dynamics_command.py",
        "if any(diverged):",
        "if all(diverged):",
        "dynamics: the DIVERGED line only when every run diverged",
    ),
)

CANARY = Mutant(
    "theory/claims.py",
    "return self.rtol * max(self.scale, abs(rhs))",
    "return -self.rtol * max(self.scale, abs(rhs))",
    "canary: every claim's tolerance negative (an identity can then never hold)",
)


@dataclass
class Result:
    verdict: str
    seconds: float
    detail: str


def copy_repository(tmp: Path) -> tuple[Path, dict[str, str]]:
    """The copy of the repository and the environment under which its code is the imported maml_theory."""
    repo = tmp / "repo"
    shutil.copytree(
        ROOT,
        repo,
        ignore=shutil.ignore_patterns(
            ".git", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", "*.egg-info"
        ),
    )
    package = tmp / "_pkg" / "maml_theory"
    package.mkdir(parents=True)
    for layer in LAYERS:
        (package / layer).symlink_to(repo / layer, target_is_directory=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp / "_pkg"), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return repo, env


def check_imports(repo: Path, env: dict[str, str]) -> None:
    """Each layer's __init__ as imported under ``env`` resolves into the copy, else exit."""
    code = "import maml_theory.{0} as m; print(m.__file__)"
    for layer in LAYERS:
        out = subprocess.run(
            [sys.executable, "-c", code.format(layer)], env=env, capture_output=True, text=True, check=True
        )
        path = Path(out.stdout.strip()).resolve()
        if not path.is_relative_to(repo.resolve()):
            sys.exit(f"mutations: maml_theory.{layer} is imported from {path}, not from the copy {repo}")


def apply(repo: Path, mutant: Mutant) -> str | None:
    """Edit the copy; the original text of the file, or None (stale) if the old text is not there once."""
    path = repo / mutant.file
    text = path.read_text(encoding="utf-8")
    if text.count(mutant.old) != 1:
        return None
    path.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
    return text


def run_suite(
    repo: Path, env: dict[str, str], timeout: float, tests: tuple[str, ...] = ()
) -> tuple[str, float, str]:
    """(verdict, seconds, detail) of one run of the quick suite (or of ``tests``) in the copy."""
    start = time.perf_counter()
    # A session of its own, so that a timeout ends the xdist workers too (the whole group, by its id).
    with subprocess.Popen(
        [sys.executable, *PYTEST, *tests],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as done:
        try:
            stdout, stderr = done.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(done.pid, signal.SIGKILL)
            done.communicate()
            return "error", time.perf_counter() - start, f"timeout after {timeout:.0f} s"
    seconds = time.perf_counter() - start
    lines = stdout.splitlines()
    # With xdist, -x ends the session as interrupted (exit 2, not 1) after the first failure: the FAILED
    # lines of the summary tell a caught mutant from a broken run.
    failed = [line.split(" - ")[0].removeprefix("FAILED ") for line in lines if line.startswith("FAILED ")]
    if failed:
        return "caught", seconds, failed[0]
    if done.returncode == 0:
        return "survived", seconds, ""
    tail = [line for line in lines + stderr.splitlines() if line.strip()][-3:]
    return "error", seconds, f"pytest exit {done.returncode}: " + " | ".join(tail)


def run_mutant(repo: Path, env: dict[str, str], mutant: Mutant, timeout: float, tests=()) -> Result:
    original = apply(repo, mutant)
    if original is None:
        count = (repo / mutant.file).read_text(encoding="utf-8").count(mutant.old)
        return Result("stale", 0.0, f"old text found {count} times")
    try:
        verdict, seconds, detail = run_suite(repo, env, timeout, tests)
    finally:
        (repo / mutant.file).write_text(original, encoding="utf-8")
    return Result(verdict, seconds, detail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", metavar="N[,N...]", help="run these mutants only (numbered as in --list), e.g. 1,6,14"
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run of the suite")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = parser.parse_args(argv)
    try:
        only = sorted({int(x) for x in args.only.split(",")}) if args.only else []
    except ValueError:
        only = [0]
    if any(not 1 <= i <= len(MUTANTS) for i in only):
        parser.error(
            f"--only must be mutant numbers between 1 and {len(MUTANTS)}, comma-separated (got {args.only})"
        )
    if args.timeout <= 0:
        parser.error(f"--timeout must be > 0 (got {args.timeout})")
    if args.list:
        for i, m in enumerate(MUTANTS, 1):
            print(f"{i:3d}  {m.file:38s} {m.description}")
        return 0
    chosen = [(i, MUTANTS[i - 1]) for i in only] if only else list(enumerate(MUTANTS, 1))

    tmp = Path(tempfile.mkdtemp(prefix="maml-mutations-"))
    try:
        repo, env = copy_repository(tmp)
        check_imports(repo, env)
        print(f"copy: {repo} (each layer imports from it)", flush=True)
        verdict, seconds, detail = run_suite(repo, env, args.timeout)
        print(f"baseline (no mutant): {verdict} in {seconds:.0f} s {detail}", flush=True)
        if verdict != "survived":
            print("mutations: the unmutated suite does not pass in the copy; no verdict is meaningful")
            return 1
        canary = run_mutant(repo, env, CANARY, args.timeout, ("tests/test_claims.py",))
        print(f"canary ({CANARY.description}): {canary.verdict} {canary.detail}", flush=True)
        if canary.verdict != "caught":
            print("mutations: the canary was not caught: the tests may not import the copy")
            return 1
        results = []
        for i, mutant in chosen:
            r = run_mutant(repo, env, mutant, args.timeout)
            results.append((i, mutant, r))
            print(f"[{i}] {r.verdict} ({r.seconds:.0f} s) {mutant.description} {r.detail}", flush=True)
    finally:
        if args.keep:
            print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"{'#':>3}  {'verdict':8}  {'time':>6}  {'file':38}  description / first failing test")
    for i, m, r in results:
        print(f"{i:3d}  {r.verdict:8}  {r.seconds:5.0f}s  {m.file:38}  {m.description}")
        if r.detail:
            print(f"{'':3}  {'':8}  {'':6}  {'':38}  {r.detail}")
    ran = [r for _, _, r in results if r.verdict != "stale"]
    caught = sum(r.verdict == "caught" for r in ran)
    stale = len(results) - len(ran)
    print(f"\ncaught {caught}/{len(ran)}" + (f" ({stale} stale, not run)" if stale else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
