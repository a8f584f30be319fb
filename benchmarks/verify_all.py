"""Time ``maml-theory verify`` over every claim of both specs at the default settings (100 instances, search
on).

Target: the whole command within 60 s on this 2-core machine. The command runs as a user runs it (a
fresh process), twice: first with an empty proof cache (cold: every sympy proof runs), then again with the
cache that run filled (warm: the usual case, the theory unchanged since the last run). Prints the wall time of
each, the time per claim (slowest first) and what dominates; then the cold sympy proofs' total (target 30 s)
and, in a fresh process, the time to derive exact MAML's expected finite-sample update at general w from
scratch (target 60 s, its one-task meta-gradient included).

    python3 benchmarks/verify_all.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time


def verify(cache: str) -> tuple[float, dict]:
    env = dict(os.environ, MAML_THEORY_CACHE=cache)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "maml_theory.reports.cli", "verify", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr)
    return wall, json.loads(done.stdout)


def proofs_seconds(out: dict) -> float:
    """The time spent in sympy proofs: the claims not checked on drawn instances."""
    return sum(c["seconds"] for c in out["claims"] if not c["drawn"])


def derive_maml_general_w() -> tuple[float, float]:
    """(wall, CPU) seconds of exact MAML's expected finite-sample update at general w, in a fresh process."""
    code = (
        "import time; start = time.process_time(); "
        "from maml_theory.theory.representation import finite_sample; "
        "finite_sample.expected_update('maml'); print(time.process_time() - start)"
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return wall, float(done.stdout)


def show(label: str, wall: float, out: dict) -> None:
    claims = out["claims"]
    status = {s: sum(c["status"] == s for c in claims) for s in ("proved", "holds", "fails", "inconclusive")}
    print(f"{label}: {len(claims)} claims, wall {wall:.1f} s (target 60 s); {status}")
    for c in sorted(claims, key=lambda c: -c["seconds"])[:8]:
        print(f"  {c['seconds']:7.2f} s  {c['status']:<8} {c['id']}")
    proofs = proofs_seconds(out)
    numeric = sum(c["seconds"] for c in claims if c["drawn"])
    print(
        f"  proofs only {proofs:.1f} s; claims checked on instances {numeric:.1f} s; "
        f"start-up (imports, building the claims with sympy) {wall - out['seconds']:.1f} s"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        cold = verify(cache)
        show("cold proof cache", *cold)
        show("warm proof cache", *verify(cache))
    print(f"every sympy proof of verify, cold: {proofs_seconds(cold[1]):.1f} s (target 30 s)")
    wall, cpu = derive_maml_general_w()
    print(f"exact MAML's expected update at general w, cold: {wall:.1f} s ({cpu:.1f} s CPU; target 60 s)")


if __name__ == "__main__":
    main()
