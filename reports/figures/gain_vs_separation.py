"""Spec L §5: MAML's gain G = E_m(w_NAL)/E_m(w_MAML) against the separation R = ‖w_H − w_E‖ for several ν_H,
one panel per adaptation batch size m (MAML trained with the same m).

Lines: the closed form (:func:`maml_theory.numerics.landscape.closed_form.easy_hard`). Points: Monte Carlo of
both excess risks at the closed-form minimisers on common tasks and samples, G = the ratio of the means, bars
± ``error_bars`` delta-method standard errors (:func:`maml_theory.reports.landscape_command.compare`, the
numbers of ``landscape --mc``). The dotted line is the ceiling (g_H + g_E)²/(4 g_H g_E) of §3.6e, which
depends on neither R nor ν_H (unbounded when a type is solved in one step, g = 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from maml_theory.numerics.landscape.closed_form import easy_hard
from maml_theory.reports.figures import common
from maml_theory.reports.figures.progress import Progress
from maml_theory.reports.landscape_command import compare


def compute(config: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Per panel m and ν_H: the closed-form G on the R grid and the Monte Carlo (R, G, SE) at the R points;
    Monte Carlo point i (m, then ν_H, then R) draws from seed ``seed + i``."""
    table = config["instance"]
    grid = np.linspace(0.0, config["R_max"], config["R_lines"])
    panels = []
    for m in config["m"]:
        curves = {
            nu: np.array(
                [easy_hard(common.landscape_instance(table, m=m, nu_hard=nu, R=R)).gain for R in grid]
            )
            for nu in config["nu_hard"]
        }
        ceiling = easy_hard(common.landscape_instance(table, m=m, nu_hard=config["nu_hard"][0], R=0.0))
        panels.append(
            {"m": m, "curves": curves, "mc": {nu: [] for nu in config["nu_hard"]}, "ceiling": ceiling}
        )
    points = [(p, nu, R) for p in panels for nu in config["nu_hard"] for R in config["R_mc"]]
    for i, (panel, nu, R) in enumerate(progress.iterate(points)):
        inst = common.landscape_instance(table, m=panel["m"], nu_hard=nu, R=R)
        mc = compare(inst, config["mc_tasks"], config["seed"] + i)["monte_carlo"]
        panel["mc"][nu].append((R, mc["gain"], mc["se_gain"]))
    return {"R": grid, "panels": panels}


def draw(data: dict[str, Any], config: dict[str, Any]) -> Figure:
    panels = data["panels"]
    fig = common.figure(columns=len(panels), width=4.8, height=4.2)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, panel in zip(axes, panels, strict=True):
        for j, (nu, curve) in enumerate(panel["curves"].items()):
            colour = f"C{j}"
            ax.plot(data["R"], curve, color=colour, linewidth=1.4, label=f"$\\nu_H$ = {nu:g}")
            R, gain, se = np.array(panel["mc"][nu]).reshape(-1, 3).T
            ax.errorbar(
                R,
                gain,
                yerr=config["error_bars"] * se,
                fmt="o",
                color=colour,
                markersize=4,
                capsize=2.5,
                markerfacecolor="white",
                # One legend entry for the points of every ν_H: they differ only in colour.
                label=f"Monte Carlo, ±{config['error_bars']:g} SE" if j == 0 else None,
            )
        ceiling = panel["ceiling"].gain_ceiling
        if math.isfinite(ceiling):
            ax.axhline(ceiling, color="0.4", linestyle=":", linewidth=1.0, label="ceiling §3.6e")
        m = panel["m"]
        solved = panel["ceiling"].g_easy == 0.0
        ax.set_title(
            f"m = {'∞ (exact gradient)' if math.isinf(m) else f'{m:g}'}"
            + (": easy tasks solved in one step" if solved else ""),
        )
        if max(np.max(c) for c in panel["curves"].values()) > 30:
            ax.set_yscale("log")
        ax.set_xlabel(r"separation $R = \|w_H - w_E\|$")
        ax.set_xlim(0, config["R_max"])
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper left")
    axes[0].set_ylabel(r"gain $G = E_m(w_{NAL}) / E_m(w_{MAML})$")
    fig.suptitle(config["title"])
    return fig


def caption(data: dict[str, Any], config: dict[str, Any]) -> str:
    nus = ", ".join(common.number(nu) for nu in config["nu_hard"])
    ms = " and ".join(common.number(m) for m in config["m"])
    inst = common.landscape_instance(
        config["instance"], m=config["m"][0], nu_hard=config["nu_hard"][0], R=0.0
    )
    n_points = len(config["m"]) * len(config["nu_hard"]) * len(config["R_mc"])
    return " ".join(
        [
            f"Gain of MAML over NAL against the separation R of the centres for nu hard = {nus}, with batch "
            f"size m = {ms} (one panel each, MAML trained with the same m): closed form as lines, Monte "
            f"Carlo as points with bars of plus or minus {common.number(config['error_bars'])} standard "
            f"errors from {config['mc_tasks']} sampled tasks each; the dotted line is the ceiling of spec L "
            "section 3.6e.",
            f"Instance otherwise: {common.describe(inst, omit=('m', 'm_train', 'nu_hard', 'R'))}.",
            f"Seeds {config['seed']} to {config['seed'] + n_points - 1}, one per Monte Carlo point.",
        ]
    )
