"""Timing of ``maml-theory sweep`` on Dask: a 32 × 32 (α, β) FO-MAML divergence sweep, 4 seeds per point.

Run from the repository root: ``python benchmarks/sweep.py [--json]``.

The sweep: ``dynamics --method fo-maml`` at spec R §6's defaults (d = 20, k = 3, n = 20, T = 300), α on 32
log-spaced values in [0.01, 1], β on 32 in [0.01, 10], seeds 0..3: 4096 tasks of about 10 ms. It runs twice,
on a LocalCluster of 1 and of 2 worker processes (one thread each), each cluster started and its workers'
imports paid before the clock starts. Tasks go to Dask in batches
(:func:`maml_theory.reports.sweep.batch_size`: 16 batches per worker on average, 256 or 128 tasks each here),
since one task is too small to be worth a scheduler round trip.

Printed: the wall time of each run (task files, table and plot included), the speed-up from 1 to 2 workers,
the tasks' own time (the sum of the seconds each task file records), and Dask's overhead per task: the
workers' busy time not spent in the tasks, (workers × wall − Σ task seconds) / tasks.

Targets (issue 19): the 2-worker sweep under 60 s; a speed-up of at least 1.7 on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from maml_theory.reports import sweep as engine

TARGET_SECONDS = 60.0
TARGET_SPEEDUP = 1.7
SIDE = 32
SEEDS = 4


def the_sweep() -> engine.Sweep:
    alpha = [float(f"{x:.4g}") for x in np.logspace(-2, 0, SIDE)]
    beta = [float(f"{x:.4g}") for x in np.logspace(-2, 1, SIDE)]
    return engine.Sweep(
        Path("benchmark.toml"),
        "dynamics",
        {"method": "fo-maml", "d": 20},
        {"alpha": alpha, "beta": beta},
        list(range(SEEDS)),
        ("rate",),
    )


def _warm() -> None:
    """A worker's imports (the command line, the simulators) before the clock starts."""
    import maml_theory.reports.cli  # noqa: F401


def timed(sweep: engine.Sweep, workers: int) -> dict:
    client, cluster = engine.connect(None, workers, engine.TIMEOUT)
    try:
        client.run(_warm)
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder)
            start = time.perf_counter()
            outcome = engine.execute(sweep, out, client)
            wall = time.perf_counter() - start
            seconds = [json.loads(p.read_text())["seconds"] for p in (out / engine.TASKS).glob("*.json")]
    finally:
        client.close()
        cluster.close()
    assert outcome.run == sweep.size == len(seconds), (outcome.run, sweep.size, len(seconds))
    own = float(sum(seconds))
    return {
        "workers": workers,
        "wall_seconds": wall,
        "tasks": sweep.size,
        "batch": engine.batch_size(sweep.size, workers),
        "task_seconds": own,
        "overhead_ms_per_task": 1e3 * (workers * wall - own) / sweep.size,
        "statuses": outcome.statuses,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sweep = the_sweep()
    runs = [timed(sweep, w) for w in (1, 2)]
    speedup = runs[0]["wall_seconds"] / runs[1]["wall_seconds"]
    result = {
        "runs": runs,
        "speedup": speedup,
        "target_seconds": TARGET_SECONDS,
        "target_speedup": TARGET_SPEEDUP,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    head = f"{sweep.size} tasks ({SIDE} × {SIDE} points × {SEEDS} seeds), FO-MAML at d = 20"
    print(f"{head}: {runs[0]['statuses']}")
    for r in runs:
        own_ms = 1e3 * r["task_seconds"] / r["tasks"]
        print(
            f"  {r['workers']} worker(s), batches of {r['batch']}: {r['wall_seconds']:.1f} s wall; "
            f"tasks' own time {r['task_seconds']:.1f} s ({own_ms:.2f} ms a task); Dask's overhead "
            f"{r['overhead_ms_per_task']:.2f} ms a task"
        )
    print(
        f"  speed-up 1 → 2 workers: {speedup:.2f} (target ≥ {TARGET_SPEEDUP}); 2 workers under "
        f"{TARGET_SECONDS:.0f} s: {'yes' if runs[1]['wall_seconds'] < TARGET_SECONDS else 'no'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
