"""Spec L §5, the 2-D picture (d = 2): sampled hard and easy task optima, their centres w_H and w_E, and the
minimisers w_NAL = λw_H + (1 − λ)w_E and w_MAML = μw_H + (1 − μ)w_E.

Filled stars: the closed forms (:func:`maml_theory.numerics.landscape.closed_form.easy_hard`'s λ, μ). Open
markers with ± ``error_bars`` SE bars: the same minimisers found without the closed form, as exact minimisers
of the sampled objectives (:mod:`maml_theory.numerics.landscape.minimisers`). The optima are drawn by
:func:`maml_theory.numerics.landscape.oracle.sample_tasks`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from maml_theory.numerics.landscape.closed_form import easy_hard
from maml_theory.numerics.landscape.minimisers import sampled_maml_minimiser, sampled_nal_minimiser
from maml_theory.numerics.landscape.oracle import sample_tasks
from maml_theory.reports.figures import common
from maml_theory.reports.figures.progress import Progress


def compute(config: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The shown optima by type, the centres, the closed-form minimisers and the sampled ones (mean, SE);
    one generator from ``seed`` draws, in order, the shown tasks, then the NAL and the MAML samples."""
    inst = common.landscape_instance(config["instance"])
    if inst.d != 2:
        raise ValueError("the cluster picture is two-dimensional: the config's instance needs d = 2")
    mix = inst.mixture()
    hard, easy = mix.types
    forms = easy_hard(inst)
    rng = np.random.default_rng(config["seed"])
    out: dict[str, Any] = {"inst": inst, "centres": {"hard": hard.center, "easy": easy.center}}
    for task in progress.iterate(["shown", "nal", "maml"]):
        if task == "shown":
            tasks = sample_tasks(mix, config["tasks_shown"], rng)
            is_hard = tasks.cov[:, 0, 0] == hard.cov[0, 0]
            out["optima"] = {"hard": tasks.w_star[is_hard], "easy": tasks.w_star[~is_hard]}
        elif task == "nal":
            out["sampled_nal"] = sampled_nal_minimiser(mix, config["minimiser_tasks"], rng)
        else:
            out["sampled_maml"] = sampled_maml_minimiser(mix, config["minimiser_tasks"], rng)
    out["nal"] = forms.weight_hard_nal * hard.center + (1 - forms.weight_hard_nal) * easy.center
    out["maml"] = forms.weight_hard_maml * hard.center + (1 - forms.weight_hard_maml) * easy.center
    out["weights"] = {"nal": forms.weight_hard_nal, "maml": forms.weight_hard_maml}
    return out


def draw(data: dict[str, Any], config: dict[str, Any]) -> Figure:
    fig = common.figure(width=6.0, height=5.4)
    ax = fig.subplots()
    for kind, colour in (("hard", "C3"), ("easy", "C0")):
        pts = data["optima"][kind]
        ax.scatter(pts[:, 0], pts[:, 1], s=7, color=colour, alpha=0.35, linewidths=0, label=f"{kind} optima")
        centre = data["centres"][kind]
        ax.plot(
            *centre,
            "P",
            color=colour,
            markersize=10,
            markeredgecolor="black",
            label=f"centre $w_{kind[0].upper()}$",
        )
    hard, easy = data["centres"]["hard"], data["centres"]["easy"]
    ax.plot([easy[0], hard[0]], [easy[1], hard[1]], color="0.5", linewidth=0.8, zorder=0)
    for key, colour, name in (("nal", "0.35", "NAL"), ("maml", "C2", "MAML")):
        weight = data["weights"][key]
        ax.plot(
            *data[key],
            "*",
            color=colour,
            markersize=13,
            markeredgecolor="black",
            zorder=3,
            label=f"$w_{{{name}}}$, closed form: {weight:.3f} of the way to $w_H$",
        )
        est = data[f"sampled_{key}"]
        ax.errorbar(
            est.mean[0],
            est.mean[1],
            xerr=config["error_bars"] * est.se[0],
            yerr=config["error_bars"] * est.se[1],
            fmt="o",
            color=colour,
            markerfacecolor="none",
            markersize=16,
            markeredgewidth=1.4,
            capsize=2,
            zorder=4,
            label=f"{name}, sampled objective's minimiser ±{config['error_bars']:g} SE",
        )
    ax.set_aspect("equal")
    ax.set_xlabel("first coordinate of $w$")
    ax.set_ylabel("second coordinate of $w$")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    ax.set_title(config["title"])
    return fig


def caption(data: dict[str, Any], config: dict[str, Any]) -> str:
    inst = data["inst"]
    return " ".join(
        [
            f"Task optima in two dimensions: {config['tasks_shown']} sampled tasks (hard in red, easy in "
            "blue), the centres, and the NAL and MAML solutions in closed form (stars) and as exact "
            f"minimisers of the sampled objectives over {config['minimiser_tasks']} tasks (open circles, "
            f"bars of plus or minus {common.number(config['error_bars'])} standard errors).",
            f"MAML puts weight {data['weights']['maml']:.3f} on the hard centre, "
            f"NAL {data['weights']['nal']:.3f}.",
            f"Instance: {common.describe(inst)}.",
            f"Seed {config['seed']}.",
        ]
    )
