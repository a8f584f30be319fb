"""Timing of the three baselines at the issue's size: d = 100, k = 5, N = 10⁶ samples; target under 5 s each.

Run from the repository root: ``python benchmarks/baselines.py [--repeats R] [--json]``.

Data: 10⁴ tasks of m = 100 samples (as 50 inner plus 50 outer samples per task would be pooled), heads
θ ~ N(0, I_5), y = xᵀB_*θ + σz with σ = 0.5, drawn once (not timed: 8·10⁸ bytes). Each estimator of
:mod:`maml_theory.numerics.representation.baselines` is timed on the whole sample; the figure is the best of
``--repeats`` calls (default 1: each call takes seconds), and dist(B̂, B_*) is printed beside it, with the
machine's load average: on the shared 2-core machine the multithreaded BLAS calls (M̂'s product, the S_t)
slow down many-fold when other processes hold the cores (measured at load 10: M̂'s product 30 s with
OpenBLAS's default threads, 1.0 s with OPENBLAS_NUM_THREADS=1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import best_time
from maml_theory.numerics.representation import baselines
from maml_theory.numerics.representation.distance import dist

D, K, TASKS, M, SIGMA = 100, 5, 10_000, 100, 0.5
TARGET_SECONDS = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    B_star = np.linalg.qr(rng.standard_normal((D, K)))[0]
    heads = rng.standard_normal((TASKS, K))
    X = rng.standard_normal((TASKS, M, D))
    y = (X @ (heads @ B_star.T)[..., None])[..., 0] + SIGMA * rng.standard_normal((TASKS, M))
    rows = {}
    for name, estimate in baselines.ESTIMATORS.items():
        seconds = best_time(lambda f=estimate: f(X, y, K), args.repeats)
        rows[name] = {"seconds": seconds, "dist": dist(estimate(X, y, K), B_star)}
    if args.json:
        sizes = {"d": D, "k": K, "samples": TASKS * M, "target_seconds": TARGET_SECONDS}
        print(json.dumps({**sizes, "load_average": os.getloadavg()[0], **rows}))
        return
    print(
        f"baselines at d = {D}, k = {K}, N = {TASKS * M} samples ({TASKS} tasks of {M}), σ = {SIGMA}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    for name, row in rows.items():
        verdict = "within" if row["seconds"] < TARGET_SECONDS else "OVER"
        print(
            f"  {name:<8} {row['seconds']:7.2f} s  ({verdict} the {TARGET_SECONDS:g} s target)  "
            f"dist {row['dist']:.2e}"
        )


if __name__ == "__main__":
    main()
