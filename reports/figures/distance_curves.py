"""Spec R §6, the paper's Figure 1 analogue: dist(B_t, B_*) against t for the five methods, population and
finite-sample, median and 10th–90th percentile band over runs, log scale.

The numbers are :func:`maml_theory.numerics.representation.dynamics.run`'s summaries (the ``dynamics``
command's): a diverged run counts as +∞ from its divergence on, so the median stops where half the runs have
diverged and the band where a tenth have; each divergence is marked by a cross at its step, above dist = 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from maml_theory.numerics.representation import dynamics
from maml_theory.numerics.representation.instances import Instance
from maml_theory.reports.figures import common
from maml_theory.reports.figures.progress import Progress

TOP = 2.0
MARK = 1.4
"""Divergence crosses sit between 1 and the top of the axis, above every possible dist (at most 1)."""
BOTTOM = 1e-15
PANELS = ("population", "finite")


def instances(config: dict[str, Any]) -> dict[str, dict[str, Instance]]:
    """panel → method → instance: the population panel is ``[instance]``, the finite-sample one adds
    ``[finite]``; a method in ``[beta_by_method]`` steps at its own β in both."""
    changes = {"population": {}, "finite": config["finite"]}
    own = config["beta_by_method"]
    return {
        panel: {
            m: common.representation_instance(
                config["instance"], **{**changes[panel], **({"beta": own[m]} if m in own else {})}
            )
            for m in config["methods"]
        }
        for panel in PANELS
    }


def compute(config: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """panel → method → the run summary of :func:`maml_theory.numerics.representation.dynamics.run`."""
    insts = instances(config)
    work = [(panel, method) for panel in PANELS for method in config["methods"]]
    out: dict[str, dict[str, Any]] = {panel: {} for panel in PANELS}
    for panel, method in progress.iterate(work):
        out[panel][method] = dynamics.run(
            method, insts[panel][method], seed=config["seed"], runs=config["runs"]
        )
    return {"summaries": out, "instances": insts}


def _per_run(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def divergences(s: dict[str, Any]) -> list[int]:
    """The steps at which the runs of summary ``s`` diverged."""
    return [t for t in _per_run(s["diverged_at"]) if t is not None]


def draw(data: dict[str, Any], config: dict[str, Any]) -> Figure:
    fig = common.figure(columns=2, width=5.2, height=4.2)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, panel in zip(axes, PANELS, strict=True):
        insts = data["instances"][panel]
        for method, s in data["summaries"][panel].items():
            inst = insts[method]
            t = np.arange(inst.T + 1)
            median, p10, p90 = common.dist_quantiles(s)
            colour = common.METHOD_COLOURS[method]
            label = common.METHOD_LABELS[method]
            if method in config["beta_by_method"]:
                label += f" (β = {inst.beta:g})"
            at = divergences(s)
            if at:
                label += f": {len(at)} of {s['runs']} runs diverged, t = {min(at)}–{max(at)}"
            # A band edge of +∞ (diverged runs) is drawn to the top of the axis.
            # Where the 90th percentile is a diverged run the band is left out: the crosses tell that story.
            ax.fill_between(t, p10, p90, color=colour, alpha=0.15, linewidth=0)
            ax.plot(t, median, common.METHOD_LINES[method], color=colour, label=label, linewidth=1.6)
            if at:
                ax.plot(at, np.full(len(at), MARK), "x", color=colour, markersize=7, markeredgewidth=1.5)
        first = insts[config["methods"][0]]
        if panel == "population":
            ax.set_title(f"population loss, β = {first.beta:g}")
        else:
            ax.set_title(
                f"finite samples, $m_{{in}}$ = {first.m_in}, $m_{{out}}$ = {first.m_out}, β = {first.beta:g}",
            )
        ax.set_yscale("log")
        ax.set_ylim(BOTTOM, TOP)
        ax.set_xlim(0, first.T)
        ax.set_xlabel("outer step $t$")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="lower left", fontsize=7.5, framealpha=0.9)
    axes[0].set_ylabel(r"$\mathrm{dist}(B_t, B_*)$")
    fig.suptitle(config["title"])
    return fig


def caption(data: dict[str, Any], config: dict[str, Any]) -> str:
    methods = config["methods"]
    base = data["instances"]["population"][methods[0]]
    finite = data["instances"]["finite"][methods[0]]
    parts = [
        "Distance of B to the ground-truth representation against the outer step for "
        f"{', '.join(common.METHOD_LABELS[m] for m in methods)}: median and 10th to 90th percentile band "
        f"over {config['runs']} runs, log scale.",
        f"Population panel: {common.describe(base)}.",
        f"Finite-sample panel: the same with {finite.m_in} inner and {finite.m_out} outer samples per task "
        f"and round, and beta = {common.number(finite.beta)}.",
    ]
    for method, beta in config["beta_by_method"].items():
        # NAL's head update at B_0^T B_0 = I/alpha multiplies by 1 - beta/alpha.
        why = " (from the theory's start it is stable only for beta below 2 alpha)" if method == "nal" else ""
        label = common.METHOD_LABELS[method]
        parts.append(f"{label} steps at its own beta = {common.number(beta)} in both panels{why}.")
    for panel in PANELS:
        for method, s in data["summaries"][panel].items():
            at = divergences(s)
            if at:
                parts.append(
                    f"{common.METHOD_LABELS[method]} diverged in {len(at)} of {s['runs']} {panel} runs, "
                    f"first at step {min(at)} (crosses mark each divergence; a diverged run counts as "
                    "infinite, so its band stops there)."
                )
    parts.append(f"Seed {config['seed']}.")
    return " ".join(parts)
