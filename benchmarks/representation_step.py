"""Timing of one finite-sample outer step of each spec R method, sampling included, against a JAX peer.

Run from the repository root: ``python benchmarks/representation_step.py [--json]`` (the peer needs
``pip install ".[bench]"``; without JAX the peer's columns are left out).

Ours: :func:`maml_theory.numerics.representation.simulate.round_step` with its default sampler, "auto" (fresh
N(0, I_k) heads, n tasks with m_in inner and m_out outer samples of x ~ N(0, I_d), σ = 0.1; the batches
themselves at the smallest size, elsewhere drawn as the projections the update depends on), for a single run
at a random point (B, w) (B with iid N(0, 1/(αd)) entries, w with iid N(0, 1/k) entries). Peer: the same step
in JAX, jit + vmap over tasks, its data drawn inside the jitted call (``benchmarks/jax_peer.py``; compile time
excluded). Also shown: both samplers that "auto" chooses between, the projected one and the naive one (the
batches themselves, the route every sample-drawing implementation pays for). The last row is the
finite-sample theorem's regime (d = 10 000), exact ANIL only. Each figure is the best of a few calls.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import best_time
from maml_theory.numerics.representation.instances import METHODS, Instance, draw_problem
from maml_theory.numerics.representation.simulate import SAMPLERS, round_step

SIZES = ((20, 3, 20, 20, 20), (100, 5, 100, 50, 50), (500, 10, 200, 100, 100))
"""(d, k, n, m_in, m_out)."""

LARGE_D = ((10_000, 5, 50, 20, 20), ("anil",))
"""The finite-sample theorem's regime: one size, the methods timed there."""

PLANNING_JAX_MS = 0.9 + 14.0
"""ms of the JAX peer's exact-ANIL step at (100, 5, 100, 50, 50) on the reference machine the targets were set
on (there: a 0.9 ms step plus 14 ms to draw the data). Against this machine's, it gives the factor by
which this machine is slower at work that is neither BLAS- nor call-overhead-bound."""


def time_size(size: tuple[int, ...], methods: tuple[str, ...], repeats: int, seed: int) -> dict:
    """Best wall times (s) per method: each sampler ("auto" is ours) and the JAX peer."""
    d, k, n, m_in, m_out = size
    inst = Instance(d=d, k=k, n=n, m_in=m_in, m_out=m_out, sigma=0.1, init="random")
    rng = np.random.default_rng(seed)
    problem = draw_problem(inst, rng)
    args = (problem.B0, problem.w0, problem.B_star, rng)
    try:
        import jax_peer
    except ImportError:
        jax_peer = None
    seconds = {}
    for method in methods:
        seconds[method] = {
            sampler: best_time(lambda m=method, s=sampler: round_step(m, inst, *args, sampler=s), repeats)
            for sampler in SAMPLERS
        }
        if jax_peer is not None:
            step = jax_peer.make_step(method, d, k, n, m_in, m_out, inst.alpha, inst.beta, inst.sigma)
            seconds[method]["jax"] = jax_peer.best_step_time(step, *args[:3], repeats, seed)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="calls per timing (the best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    cases = [(size, METHODS) for size in SIZES] + [LARGE_D]
    rows = [
        {"size": size, "seconds": time_size(size, methods, args.repeats, args.seed)}
        for size, methods in cases
    ]
    mid = next(r["seconds"]["anil"] for r in rows if r["size"] == SIZES[1])
    factor = 1e3 * mid["jax"] / PLANNING_JAX_MS if "jax" in mid else None
    if args.json:
        print(json.dumps({"repeats": args.repeats, "rows": rows, "jax_factor": factor}, indent=2))
        return 0
    print(f"one finite-sample outer step, one run, sampling included (ms, best of {args.repeats})")
    header = f"{'(d, k, n, m_in, m_out)':>28}{'method':>9}{'ours':>9}{'JAX':>9}{'JAX/ours':>10}"
    print(f"{header}{'projected':>10}{'naive':>9}")
    for row in rows:
        for method, t in row["seconds"].items():
            jax_ms = f"{1e3 * t['jax']:9.2f}{t['jax'] / t['auto']:9.1f}x" if "jax" in t else " " * 19
            samplers = f"{1e3 * t['projected']:10.2f}{1e3 * t['naive']:9.2f}"
            print(f"{row['size']!s:>28}{method:>9}{1e3 * t['auto']:9.2f}{jax_ms}{samplers}")
    if factor is not None:
        print(
            f"machine: the JAX exact-ANIL step at {SIZES[1]} takes {1e3 * mid['jax']:.1f} ms here, "
            f"{PLANNING_JAX_MS:.1f} ms on the planning machine ({factor:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
