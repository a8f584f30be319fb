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
from maml_theory.numerics.verification.engine import json_safe
from maml_theory.reports import results
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
    results.add_save_flag(p, "baselines")
    p.set_defaults(run=run)


QUICK = (
    *("--m-in", "20", "--m-out", "20", "--beta", "0.5", "--sigma", "0.5"),
    *("--runs", "3", "--T", "50", "--budgets", "800,8000,40000"),
)
"""The report's configuration when no result is saved (the README's example, a few seconds)."""


def compute(args: argparse.Namespace) -> dict:
    """The command's JSON-ready result for parsed arguments, everything validated before the first run."""
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
    return {"instance": _instance(inst), **json_safe(result)}


def _instance(inst: Instance) -> dict:
    names = ("d", "k", "n", "m_in", "m_out", "alpha", "beta", "sigma", "mu")
    return {name: getattr(inst, name) for name in names}


def run(args: argparse.Namespace) -> int:
    result = compute(args)
    if args.save:
        results.save("baselines", result, results.command_line("baselines", add_parser, args))
    return emit(result, args.json, lambda: table(result))


def dist_text(x: float | str | None) -> str:
    """A median dist; "inf" (a diverged run's, as JSON writes it) stays as it is."""
    return "—" if x is None else x if isinstance(x, str) else f"{x:.2e}"


def table(r: dict) -> str:
    """The median dist per method and budget, and the samples each method needs for dist ≤ 0.1 and 0.01."""
    runs = f"{r['runs']} run{'s' if r['runs'] > 1 else ''}"
    i = r["instance"]
    lines = [
        f"Spec R baselines (d={i['d']} k={i['k']} n={i['n']} m_in={i['m_in']} m_out={i['m_out']} "
        f"α={i['alpha']:g} β={i['beta']:g} σ={i['sigma']:g} µ={i['mu']:g}; {runs}, seed {r['seed']}): "
        "median dist(B̂, B_*)",
        f"  {'samples':<18}" + "".join(f"{b:>10}" for b in r["budgets"]) + f"{'to 0.1':>10}{'to 0.01':>10}",
        f"  {'rounds':<18}" + "".join(f"{t:>10}" for t in r["rounds"]),
    ]
    for name, entry in r["methods"].items():
        cells = "".join(f"{dist_text(p['dist_median']):>10}" for p in entry["dist"])
        reach = "".join(f"{count_text(entry[f'samples_to_{t:g}']):>10}" for t in baselines.THRESHOLDS)
        lines.append(f"  {METHOD_LABELS[name]:<18}{cells}{reach}")
    for name, entry in r["methods"].items():
        if entry["diverged"]:
            where = ", ".join(f"run {d['run']} at step {d['step']}" for d in entry["diverged"])
            lines.append(f"  DIVERGED: {METHOD_LABELS[name]}: {where}")
    return "\n".join(lines)


def count_text(n: int | None) -> str:
    """A sample count, or — where no budget reached the threshold."""
    return "—" if n is None else str(n)
