"""``maml-theory floor``: the finite-sample floor of the meta-learners over a grid, and its fitted exponents.

A thin layer over :mod:`maml_theory.numerics.representation.floor`. Grid flags take comma-separated lists
(``--d 20,40,80``); the grid is their full product, run for every method. Printed per method and grid
point: dist_∞ (median over runs of the last-quarter mean of dist(B_t, B_*)) with a 95 % bootstrap interval,
whether the run was long enough (``settled``), and the runs that diverged (a point with one has no floor);
then per method the fitted
exponents of dist_∞ in d, n·m_out, m_in and σ with bootstrap intervals, beside the exponents the
reconstructed bound dist_∞ ≤ C(√(kd/(n·m_out)) + √(k/m_in))·σ̃ suggests. Ctrl-C prints the finished grid
points and exits with code 130. ``--save`` also writes the JSON, with the command line and the time, where
the report finds it (:mod:`maml_theory.reports.results`); without a saved result the report runs
:data:`QUICK`.
"""

from __future__ import annotations

import argparse
import itertools
import json
from typing import Any

import numpy as np

from maml_theory.numerics import validation as v
from maml_theory.numerics.representation import floor as fl
from maml_theory.numerics.representation.dynamics import check_cost, cost, sizes
from maml_theory.numerics.representation.instances import Instance
from maml_theory.numerics.verification.engine import json_safe
from maml_theory.reports import results
from maml_theory.reports.arguments import count, number
from maml_theory.reports.figures.progress import Progress

METHODS = ("anil", "fo-anil", "maml", "fo-maml")

# flag, field, help, default. Step sizes in the finite-sample converging regime: at dynamics' α = 0.1,
# β = 1 the runs of n = 20, m = 10 diverge; α = 0.5, β = 0.2 (the same αβ scale) converge.
_GRID = (
    ("--d", "d", "ambient dimensions", "20"),
    ("--n", "n", "tasks per round", "20"),
    ("--m-in", "m_in", "inner-step samples per task", "10"),
    ("--m-out", "m_out", "outer-gradient samples per task", "10"),
    ("--sigma", "sigma", "label-noise STANDARD DEVIATIONS σ (> 0)", "1"),
)
_FIXED = (
    ("--k", "k", "representation dimension, 1 <= k <= d", "3"),
    ("--alpha", "alpha", "inner step size α > 0", "0.5"),
    ("--beta", "beta", "outer step size β > 0", "0.2"),
    ("--T", "T", "outer steps (>= 8: the floor is read from the last quarter)", "400"),
    ("--mu", "mu", "heads ~ N(0, diag(1, …, 1, µ²)) (µ >= 0)", "1"),
)

QUICK = ("--d", "10,20", "--n", "10,40", "--m-in", "10,40", "--runs", "6", "--T", "200")
"""The report's grid when no result is saved: 8 points, 4 methods, about 10 s."""

GUESSED = {"d": 0.5, "n_m_out": -0.5, "m_in": -0.5, "sigma": 1.0}
"""The exponents the reconstructed bound suggests where one of its terms dominates (σ̃ ≈ σ for large σ)."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "floor",
        help="the finite-sample floor of ANIL, FO-ANIL, MAML, FO-MAML over a grid, with fitted exponents",
        description=__doc__.splitlines()[0],
    )
    p.add_argument(
        "--methods",
        default=",".join(METHODS),
        metavar="M,...",
        help=f"comma-separated, from {', '.join(METHODS)} [default: all four]",
    )
    for flag, field, text, default in _GRID:
        p.add_argument(
            flag, dest=field, default=default, metavar="X,...", help=f"{text} [default: {default}]"
        )
    for flag, field, text, default in _FIXED:
        p.add_argument(flag, dest=field, default=default, metavar="X", help=f"{text} [default: {default}]")
    p.add_argument("--init", default="theory", choices=("theory", "random"), help="start [default: theory]")
    p.add_argument("--runs", default="10", metavar="R", help="runs per grid point (>= 2) [default: 10]")
    p.add_argument("--seed", default="0", metavar="S", help="seed [default: 0]")
    p.add_argument("--json", action="store_true", help="print JSON")
    results.add_save_flag(p, "floor")
    p.set_defaults(run=run)


def _methods(text: str) -> list[str]:
    names = [m.strip() for m in text.split(",")]
    if not names or any(m not in METHODS for m in names) or len(set(names)) < len(names):
        raise v.ParameterError("methods", f"distinct names from {', '.join(METHODS)}", text)
    return names


def _values(field: str, text: str) -> list[int | float | str]:
    values = [number(x.strip()) for x in text.split(",")]
    if field == "sigma":
        # σ = 0 has no floor (the runs converge to B_* to round-off): the grid asks for σ > 0.
        return [v.real("sigma", s, low=0.0, low_open=True, allowed="a list of numbers > 0") for s in values]
    allowed = "a list of integers >= 1"
    return [v.integer(field, x, low=1, allowed=allowed) for x in values]


def grid(args: argparse.Namespace, runs: int, methods: int) -> list[Instance]:
    """Every grid point's instance, validated, its cost and the whole grid's time (for ``methods`` methods)
    checked, before any simulation."""
    fixed = {f: number(getattr(args, f)) for _, f, _, _ in _FIXED}
    fixed["T"] = v.integer("T", fixed["T"], low=8)
    lists = {f: _values(f, getattr(args, f)) for _, f, _, _ in _GRID}
    points = []
    for combo in itertools.product(*lists.values()):
        inst = Instance(init=args.init, **fixed, **dict(zip(lists, combo, strict=True)))
        check_cost(inst, runs)
        points.append(inst)
    seconds = methods * sum(cost(sizes(i, runs))[1] for i in points)
    if seconds > v.TIME_LIMIT:
        allowed = (
            f"fewer, or the grid smaller: {len(points)} grid points × {methods} methods would take about "
            f"{v.duration_text(seconds)}, over the limit of {v.duration_text(v.TIME_LIMIT)}"
        )
        raise v.ParameterError("runs", allowed, runs)
    return points


def _point(f: fl.Floor, rng: np.random.Generator) -> dict[str, Any]:
    i = f.inst
    return {
        "method": f.method,
        "d": i.d,
        "n": i.n,
        "m_in": i.m_in,
        "m_out": i.m_out,
        "sigma": i.sigma,
        "floor": f.value,
        "ci": f.interval(rng),
        "settled": f.settled,
        "diverged": f.diverged,
        "diverged_at": f.first_divergence,
    }


def floors(
    methods: list[str], points: list[Instance], *, seed: int, runs: int, progress: Progress | None = None
) -> dict[str, Any]:
    """The command's result from Python: every (method, grid point) measured, then the fits. Interrupted,
    the finished part is returned with ``"interrupted": true``."""
    rng = np.random.default_rng([seed, 1])  # the bootstrap's stream, apart from the runs' seeds
    work = [(m, i) for m in methods for i in points]
    measured: list[fl.Floor] = []
    interrupted = False
    try:
        for m, inst in (progress or Progress("floor", False)).iterate(work):
            measured.append(fl.measure(m, inst, seed=seed, runs=runs))
    except KeyboardInterrupt:
        interrupted = True
    fits = {}
    for m in methods:
        done = [f for f in measured if f.method == m]
        result = fl.fit(done, rng) if len(done) == len(points) else None
        fits[m] = None
        if result is not None:
            fits[m] = {"exponents": result.exponents, "intervals": result.intervals, "points": result.points}
    out = {
        "runs": runs,
        "seed": seed,
        "T": points[0].T,
        "points": [_point(f, rng) for f in measured],
        "fits": fits,
        "guessed_exponents": GUESSED,
    }
    if interrupted:
        out["interrupted"] = True
    return out


def compute(args: argparse.Namespace, progress: Progress | None = None) -> dict[str, Any]:
    """The command's result for parsed arguments: everything validated before the first simulation."""
    methods = _methods(args.methods)
    runs = count("runs", args.runs, low=2)
    seed = count("seed", args.seed, low=0)
    points = grid(args, runs, len(methods))
    return json_safe(floors(methods, points, seed=seed, runs=runs, progress=progress))


def run(args: argparse.Namespace) -> int:
    result = compute(args, Progress("floor"))
    print(json.dumps(result, indent=2, allow_nan=False) if args.json else table(result))
    if args.save and not result.get("interrupted"):
        results.save("floor", result, results.command_line("floor", add_parser, args))
    return 130 if result.get("interrupted") else 0


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.4f}"


def table(r: dict[str, Any]) -> str:
    """The result as text: one line per method and grid point, then the fitted exponents."""
    lines = [
        f"floor: median over {r['runs']} runs of mean dist(B_t, B_*) over t in [3T/4, T], T = {r['T']}, "
        f"95% bootstrap CI",
        f"{'method':<8} {'d':>5} {'n':>5} {'m_in':>5} {'m_out':>5} {'sigma':>6} {'floor':>8} "
        f"{'95% CI':>17}  settled  diverged",
    ]
    for p in r["points"]:
        ci = "—" if p["ci"] is None else f"[{p['ci'][0]:.4f}, {p['ci'][1]:.4f}]"
        div = f"{p['diverged']}, the first at step {p['diverged_at']}" if p["diverged"] else "0"
        settled = "—" if p["settled"] is None else ("yes" if p["settled"] else "NO")
        lines.append(
            f"{p['method']:<8} {p['d']:>5} {p['n']:>5} {p['m_in']:>5} {p['m_out']:>5} {p['sigma']:>6g} "
            f"{_fmt(p['floor']):>8} {ci:>17}  {settled:>7}  {div}"
        )
    lines.append("fitted exponents of the floor (95% bootstrap CI); guessed by the reconstructed bound:")
    for m, f in r["fits"].items():
        if f is None:
            lines.append(f"  {m}: no fit (too few grid points without a diverged run, or no factor varies)")
            continue
        parts = [
            f"{name} {e:+.2f} [{f['intervals'][name][0]:+.2f}, {f['intervals'][name][1]:+.2f}] "
            f"(guess {GUESSED[name]:+.1f})"
            for name, e in f["exponents"].items()
        ]
        lines.append(f"  {m} ({f['points']} points): " + "; ".join(parts))
    if r.get("interrupted"):
        lines.append("interrupted: the grid points above are the finished ones")
    return "\n".join(lines)
