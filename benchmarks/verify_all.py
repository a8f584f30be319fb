"""Time ``maml-theory verify`` over every claim of both specs at the default settings (100 instances, search
on).

Target: the whole command within 60 s on this 2-core machine. The command runs as a user runs it (a
fresh process), twice: first with an empty proof cache (cold: every sympy proof runs), then again with the
cache that run filled (warm: the usual case, the theory unchanged since the last run). Prints the wall time of
each, the time per claim (slowest first) and what dominates.

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


def show(label: str, wall: float, out: dict) -> None:
    claims = out["claims"]
    status = {s: sum(c["status"] == s for c in claims) for s in ("proved", "holds", "fails", "inconclusive")}
    print(f"{label}: {len(claims)} claims, wall {wall:.1f} s (target 60 s); {status}")
    for c in sorted(claims, key=lambda c: -c["seconds"])[:8]:
        print(f"  {c['seconds']:7.2f} s  {c['status']:<8} {c['id']}")
    proofs = sum(c["seconds"] for c in claims if not c["drawn"])
    numeric = sum(c["seconds"] for c in claims if c["drawn"])
    print(
        f"  proofs only {proofs:.1f} s; claims checked on instances {numeric:.1f} s; "
        f"start-up (imports, building the claims with sympy) {wall - out['seconds']:.1f} s"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        show("cold proof cache", *verify(cache))
        show("warm proof cache", *verify(cache))


if __name__ == "__main__":
    main()
