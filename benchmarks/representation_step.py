"""Timing of one finite-sample outer step of each spec R method, sampling included.

Run from the repository root: ``python benchmarks/representation_step.py [--json]``.

One step is :func:`numerics.representation.instances.draw_round` (fresh N(0, I_k) heads, n tasks with m_in
inner and m_out outer samples of x ~ N(0, I_d), σ = 0.1) followed by
:func:`numerics.representation.simulate.step`, for a single run at a random point (B, w) (B with iid
N(0, 1/(αd)) entries, w with iid N(0, 1/k) entries). The sampling alone is timed too: it is the floor any
implementation drawing the same n (m_in + m_out)(d + 1) normals pays. Each figure is the best of a few calls.
There is no peer yet (a JAX implementation is the planned one).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from numerics.representation.instances import METHODS, Instance, draw_problem, draw_round
from numerics.representation.simulate import step

SIZES = ((20, 3, 20, 20, 20), (100, 5, 100, 50, 50), (500, 10, 200, 100, 100))
"""(d, k, n, m_in, m_out)."""


def best_time(run: Callable[[], object], repeats: int) -> float:
    """The shortest wall time of ``repeats`` calls of ``run``."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def time_size(d: int, k: int, n: int, m_in: int, m_out: int, repeats: int, seed: int) -> dict[str, float]:
    """Best wall times (s) of the sampling alone and of one step per method at one size."""
    inst = Instance(d=d, k=k, n=n, m_in=m_in, m_out=m_out, sigma=0.1, init="random")
    rng = np.random.default_rng(seed)
    problem = draw_problem(inst, rng)

    def sample() -> tuple:
        return draw_round(inst, rng, problem.B_star)

    def one_step(method: str) -> None:
        heads, data = sample()
        step(method, problem.B0, problem.w0, problem.B_star, heads, inst.alpha, inst.beta, data)

    seconds = {"sampling": best_time(sample, repeats)}
    for method in METHODS:
        seconds[method] = best_time(lambda method=method: one_step(method), repeats)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="calls per timing (the best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    rows = []
    for d, k, n, m_in, m_out in SIZES:
        seconds = time_size(d, k, n, m_in, m_out, args.repeats, args.seed)
        rows.append({"d": d, "k": k, "n": n, "m_in": m_in, "m_out": m_out, "seconds": seconds})

    if args.json:
        print(json.dumps({"repeats": args.repeats, "sizes": rows}, indent=2))
        return 0
    columns = ["sampling", *METHODS]
    print(f"one finite-sample outer step, one run, sampling included (ms, best of {args.repeats})")
    print(f"{'(d, k, n, m_in, m_out)':>24}" + "".join(f"{c:>10}" for c in columns))
    for row in rows:
        size = f"({row['d']}, {row['k']}, {row['n']}, {row['m_in']}, {row['m_out']})"
        print(f"{size:>24}" + "".join(f"{1e3 * row['seconds'][c]:10.2f}" for c in columns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
