"""``maml-theory baselines``: dist against the samples used, for the four meta-learners and three baselines.

A thin layer over :func:`maml_theory.numerics.representation.baselines.compare`: the instance flags of
``dynamics`` (finite samples required), ``--budgets N1,N2,...`` (total samples, strictly increasing, each at
least one round's n(m_in + m_out) and at most T rounds' worth), ``--runs``, ``--seed`` and ``--json``.
"""

from __future__ import annotations

import argparse

from maml_theory.numerics import validation as v
from maml_theory.numerics.representation import baselines
from maml_theory.numerics.representation.instances import Instance
from maml_theory.reports.arguments import count, emit, number
from maml_theory.reports.dynamics_command import add_instance_arguments, instance_from, load_arrays
from maml_theory.reports.figures.common import METHOD_LABELS


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "baselines",
        help="meta-learners against method of moments, alternating minimisation and Burer–Monteiro (spec R)",
        description=__doc__.splitlines()[0],
    )
    add_instance_arguments(p)
    p.add_argument(
        "--budgets",
        required=True,
        metavar="N1,N2,...",
        help="total samples used, strictly increasing; N pays for N // (n(m_in + m_out)) rounds",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    arrays = None if args.init in ("theory", "random") else load_arrays(args.init)
    inst = instance_from(args, arrays)
    if inst.width != inst.k:
        # The baselines estimate a d×k B̂: the comparison is on the k-wide model.
        raise v.ParameterError("width", f"k = {inst.k} (the baselines estimate a d×k B̂)", args.width)
    result = baselines.compare(
        inst,
        [number(b.strip()) for b in args.budgets.split(",")],
        seed=count("seed", args.seed, low=0),
        runs=count("runs", args.runs, low=1),
        arrays=arrays,
    )
    return emit(result, args.json, lambda: table(inst, result))


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.2e}"


def table(inst: Instance, r: dict) -> str:
    """The median dist per method and budget, and the samples each method needs for dist ≤ 0.1 and 0.01."""
    runs = f"{r['runs']} run{'s' if r['runs'] > 1 else ''}"
    lines = [
        f"Spec R baselines (d={inst.d} k={inst.k} n={inst.n} m_in={inst.m_in} m_out={inst.m_out} "
        f"α={inst.alpha:g} β={inst.beta:g} σ={inst.sigma:g} µ={inst.mu:g}; {runs}, seed {r['seed']}): "
        "median dist(B̂, B_*)",
        f"  {'samples':<18}" + "".join(f"{b:>10}" for b in r["budgets"]) + f"{'to 0.1':>10}{'to 0.01':>10}",
        f"  {'rounds':<18}" + "".join(f"{t:>10}" for t in r["rounds"]),
    ]
    for name, entry in r["methods"].items():
        cells = "".join(f"{_fmt(p['dist_median']):>10}" for p in entry["dist"])
        reach = "".join(f"{_fmt_count(entry[f'samples_to_{t:g}']):>10}" for t in baselines.THRESHOLDS)
        lines.append(f"  {METHOD_LABELS[name]:<18}{cells}{reach}")
    for name, entry in r["methods"].items():
        if entry["diverged"]:
            where = ", ".join(f"run {d['run']} at step {d['step']}" for d in entry["diverged"])
            lines.append(f"  DIVERGED: {METHOD_LABELS[name]}: {where}")
    return "\n".join(lines)


def _fmt_count(n: int | None) -> str:
    return "—" if n is None else str(n)
