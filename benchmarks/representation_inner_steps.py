"""Timing of the simulator's outer step against the number of inner steps s = 1..4 (ratio to s = 1).

Run from the repository root: ``python benchmarks/representation_inner_steps.py [--json]``.

Rows: each meta-learner, population (a run of T = 2000 steps at d = 20, k = 3, n = 20 fresh heads, from a
random start with w_0 = 0 on sign-symmetric task sets and β = 0.1, stable for every s) and finite-sample (T =
200 steps at m_in = m_out = 20, the naive sampler), both with distances recorded as
:func:`maml_theory.numerics.representation.simulate.simulate` does. s = 1 is the presets' own code; s ≥ 2
the unrolled recursion, whose work is s forward and s backward steps: the ratio should grow at most linearly
in s. Each figure is the best of a few calls, in ms per outer step.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import best_time
from maml_theory.numerics.representation.instances import Instance, Problem, draw_problem
from maml_theory.numerics.representation.simulate import simulate
from maml_theory.theory.method import PRESETS

STEPS = (1, 2, 3, 4)
CASES = {
    "population": {"T": 2000},
    "finite (naive)": {"T": 200, "m_in": 20, "m_out": 20},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="calls per timing (the best is kept)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    rows = []
    for case, sizes in CASES.items():
        inst = Instance(beta=0.1, sign_symmetric=True, init="random", **sizes)
        drawn = draw_problem(inst, np.random.default_rng(1))
        start = Problem(B_star=drawn.B_star, B0=drawn.B0, w0=np.zeros(inst.k), heads=None)
        for name in ("anil", "fo-anil", "maml", "fo-maml"):
            ms = {}
            for s in STEPS:
                method = PRESETS[name].with_inner_steps(s)
                seconds = best_time(
                    lambda m=method, i=inst, p=start: simulate(m, i, np.random.default_rng(0), problem=p),
                    args.repeats,
                )
                ms[s] = 1e3 * seconds / inst.T
            rows.append({"case": case, "method": name, "ms_per_step": ms})
    if args.json:
        print(json.dumps({"repeats": args.repeats, "rows": rows}, indent=2))
        return 0
    print(f"simulator outer step against inner steps s (ms per step, best of {args.repeats}; ratio to s = 1)")
    print(f"{'case':>16}{'method':>9}" + "".join(f"{f's={s}':>16}" for s in STEPS))
    for row in rows:
        ms = row["ms_per_step"]
        cells = "".join(f"{ms[s]:8.3f} ({ms[s] / ms[1]:4.1f}x)" for s in STEPS)
        print(f"{row['case']:>16}{row['method']:>9}{cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
