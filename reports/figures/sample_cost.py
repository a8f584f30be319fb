"""Spec R's baselines: dist(B̂, B_*) against the total samples used for the four meta-learners and the three
baselines, median and 10th–90th percentile band over runs, log axes.

The numbers are :func:`maml_theory.numerics.representation.baselines.compare`'s (the ``baselines``
command's): every method sees the same draws at a budget; a diverged run counts as +∞, so a band edge past
the runs that diverged is drawn to the top of the axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from maml_theory.numerics.representation import baselines
from maml_theory.reports.figures import common
from maml_theory.reports.figures.progress import Progress

TOP = 2.0


def compute(config: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The comparison of :func:`~maml_theory.numerics.representation.baselines.compare` at the config's
    instance, budgets, runs and seed."""
    inst = common.representation_instance(config["instance"])
    (result,) = [
        baselines.compare(inst, config["budgets"], seed=config["seed"], runs=config["runs"])
        for _ in progress.iterate(["all methods"])
    ]
    return {"result": result, "instance": inst}


def _column(points: list[dict], key: str) -> np.ndarray:
    return np.array([np.nan if p[key] is None else p[key] for p in points], dtype=np.float64)


def draw(data: dict[str, Any], config: dict[str, Any]) -> Figure:
    fig = common.figure(width=6.0, height=4.4)
    ax = fig.subplots()
    result = data["result"]
    samples = np.array(result["samples_used"], dtype=np.float64)
    for method, entry in result["methods"].items():
        colour = common.METHOD_COLOURS[method]
        points = entry["dist"]
        ax.fill_between(
            samples, _column(points, "dist_p10"), _column(points, "dist_p90"), color=colour, alpha=0.12, lw=0
        )
        label = common.METHOD_LABELS[method]
        if entry["diverged"]:
            label += f" ({len({d['run'] for d in entry['diverged']})} of {result['runs']} runs diverged)"
        ax.plot(
            samples,
            _column(points, "dist_median"),
            common.METHOD_LINES[method],
            marker="o",
            markersize=3,
            color=colour,
            label=label,
            linewidth=1.5,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(top=TOP)
    ax.set_xlabel("total samples used, rounds $\\cdot\\, n(m_{in} + m_{out})$")
    ax.set_ylabel(r"$\mathrm{dist}(\hat B, B_*)$")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower left", fontsize=7.5, framealpha=0.9)
    ax.set_title(config["title"])
    return fig


def caption(data: dict[str, Any], config: dict[str, Any]) -> str:
    inst = data["instance"]
    result = data["result"]
    methods = result["methods"]
    reach = "; ".join(
        f"{common.METHOD_LABELS[m]} {entry['samples_to_0.1'] or 'not within the budgets'}"
        for m, entry in methods.items()
    )
    return " ".join(
        [
            "Distance of the learned representation to the ground truth against the total samples used, for "
            f"{', '.join(common.METHOD_LABELS[m] for m in methods)}, all on the same draws: median and 10th "
            f"to 90th percentile band over {result['runs']} runs, log axes.",
            f"Instance: {common.describe(inst, omit=('T',))}, with {inst.m_in} inner and {inst.m_out} outer "
            "samples per task and round; the baselines pool those samples.",
            f"Samples to a median distance of 0.1: {reach}.",
            f"Seed {config['seed']}.",
        ]
    )
