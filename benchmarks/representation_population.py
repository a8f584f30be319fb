"""Timing of spec R's population dynamics (T outer steps, distances recorded) against the project's targets.

Run from the repository root: ``python benchmarks/representation_population.py [--json]``.

Rows: one run of T = 10 000 steps at (d, k) = (100, 5) and (1000, 10), each method; 256 runs of T = 1000 steps
at (20, 3) in one call (exact ANIL), from the theory's initialisation (its rejection sampling included) and
from a random one. n = 20 fresh heads per round, α = 0.1. The one-run rows start from a random B_0 and
w_0 = 0 with sign-symmetric task sets and β = 0.1, which keeps every method stable for the whole run (a
diverged run stops early and would time nothing; NAL then stays put but still pays for every step).
Peer (the floor the targets are measured against): the bare d-dimensional matrix products one exact-ANIL
population step needs (B w, B_*θ_i, s⁰B, w_iBᵀ, sB, sᵀw_i, gBᵀ, s⁰ᵀg, qB for the n tasks), T times, with
preallocated outputs. The simulator works in the r = 2k coordinates of span(B_0, B_*), which is exact for the
population loss, so d drops out of its per-step cost. Each figure is the best of a few calls.
Targets: under 0.25 s per method for the one-run rows at d = 100, under 2 s for the batched rows,
set on the planning machine, where the d = 1000 peer took about 57 µs per step; the last line prints this
machine's peer per step and the factor between the two, to read the absolute targets against.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import best_time
from maml_theory.numerics.representation.instances import METHODS, Instance, Problem, draw_problem
from maml_theory.numerics.representation.simulate import simulate

SINGLE = ((100, 5, 10_000), (1000, 10, 10_000))
"""(d, k, T) of the one-run rows."""

PLANNING_PEER_US = 57.0
"""µs per step of the peer at (d, k) = (1000, 10) on the reference machine the targets were set on."""

BATCHED = (20, 3, 1000, 256)
"""(d, k, T, runs) of the batched rows."""


def bare_products(d: int, k: int, n: int, T: int, seed: int = 0) -> float:
    """Seconds for T rounds of the d-dimensional matrix products of an exact-ANIL population step."""
    rng = np.random.default_rng(seed)
    B, B_star = rng.standard_normal((d, k)), rng.standard_normal((d, k))
    w, heads = rng.standard_normal(k), rng.standard_normal((n, k))
    dk, nd, nk = np.empty((d, k)), np.empty((n, d)), np.empty((n, k))
    Bw = np.empty(d)
    start = time.perf_counter()
    for _ in range(T):
        np.matmul(B, w, out=Bw)
        np.matmul(heads, B_star.T, out=nd)
        np.matmul(nd, B, out=nk)
        np.matmul(nk, B.T, out=nd)
        np.matmul(nd, B, out=nk)
        np.matmul(nd.T, nk, out=dk)
        np.matmul(nk, B.T, out=nd)
        np.matmul(nd.T, nk, out=dk)
        np.matmul(nd, B, out=nk)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="calls per timing (the best is kept)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    rows = []
    for d, k, T in SINGLE:
        inst = Instance(d=d, k=k, T=T, beta=0.1, sign_symmetric=True, init="random")
        floor = best_time(lambda i=inst: bare_products(i.d, i.k, i.n, i.T), args.repeats)
        drawn = draw_problem(inst, np.random.default_rng(1))
        start = Problem(B_star=drawn.B_star, B0=drawn.B0, w0=np.zeros(k), heads=None)
        for method in METHODS:
            ours = best_time(
                lambda m=method, i=inst, p=start: simulate(m, i, np.random.default_rng(0), problem=p),
                args.repeats,
            )
            rows.append({"case": f"d={d} k={k} T={T}", "method": method, "ours": ours, "peer": floor})
    d, k, T, runs = BATCHED
    for init in ("theory", "random"):
        inst = Instance(d=d, k=k, T=T, init=init)
        ours = best_time(
            lambda i=inst: simulate("anil", i, np.random.default_rng(0), runs=runs), args.repeats
        )
        rows.append({"case": f"d={d} k={k} T={T} runs={runs} init={init}", "method": "anil", "ours": ours})
    per_step = 1e6 * next(r["peer"] for r in rows if r["case"].startswith("d=1000")) / SINGLE[1][2]
    factor = per_step / PLANNING_PEER_US
    if args.json:
        report = {"repeats": args.repeats, "rows": rows, "peer_us_per_step_d1000": per_step, "factor": factor}
        print(json.dumps(report, indent=2))
        return 0
    print(f"population dynamics, dist recorded every step (s, best of {args.repeats}); peer: bare products")
    print(f"{'case':>38}{'method':>9}{'ours':>9}{'peer':>9}{'peer/ours':>11}")
    for row in rows:
        peer = f"{row['peer']:9.3f}{row['peer'] / row['ours']:10.2f}x" if "peer" in row else ""
        print(f"{row['case']:>38}{row['method']:>9}{row['ours']:9.3f}{peer}")
    print(
        f"machine: the d=1000 peer takes {per_step:.0f} µs per step here, {PLANNING_PEER_US:.0f} µs on the "
        f"planning machine ({factor:.2f}x); the targets at this machine's speed: {0.25 * factor:.2f} s, "
        f"{2 * factor:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
