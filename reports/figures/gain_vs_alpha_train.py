"""Spec L with MAML's own training step size: G = E_m(w_NAL)/E_m(w_MAML(α_train)) against α_train for several
batch sizes m (MAML trained with the same m), closed forms (:func:`closed_form.easy_hard`), with the optimal
α_train of derivation L.alpha_train.optimum marked (:func:`closed_form.optimal_alpha_train`: the real roots
of P₁, which tie, else a root of P₂). A negative α_train is drawn like any other: with finite m_train every
real α_train gives a finite G (the training factors never vanish), and at m_train = ∞ only α_train = 1/ρ_k of
every type present would be singular, which two types with ρ_H ≠ ρ_E never are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from maml_theory.numerics.landscape.closed_form import easy_hard, optimal_alpha_train
from maml_theory.reports.figures import common
from maml_theory.reports.figures.progress import Progress


def compute(config: dict[str, Any], progress: Progress) -> dict[str, Any]:
    grid = np.linspace(config["alpha_train_min"], config["alpha_train_max"], config["alpha_train_points"])
    curves = []
    for m in progress.iterate(config["m"]):
        inst = common.landscape_instance(config["instance"], m=m)
        gains = np.array(
            [easy_hard(common.landscape_instance(config["instance"], m=m, alpha_train=a)).gain for a in grid]
        )
        best = optimal_alpha_train(inst)
        curves.append({"m": m, "gain": gains, "optimum": np.array(best.alpha_train), "best": best.gain})
    return {"alpha_train": grid, "curves": curves}


def draw(data: dict[str, Any], config: dict[str, Any]) -> Figure:
    fig = common.figure(width=5.8, height=4.3)
    ax = fig.subplots()
    for i, curve in enumerate(data["curves"]):
        color = f"C{i}"
        ax.plot(data["alpha_train"], curve["gain"], color=color, linewidth=1.4, label=f"m = {curve['m']:g}")
        ax.plot(
            curve["optimum"],
            np.full(curve["optimum"].shape, curve["best"]),
            linestyle="none",
            marker="o",
            markerfacecolor="white",
            color=color,
            markersize=5,
            label="derived optimum" if i == 0 else None,
        )
    ax.axvline(0.0, color="0.5", linewidth=0.8, linestyle=":")
    ax.axvline(
        config["instance"]["alpha"], color="0.5", linewidth=0.8, linestyle="--", label=r"$\alpha$ (test)"
    )
    ax.axhline(1.0, color="0.7", linewidth=0.8)
    ax.set_xlabel(r"training step size $\alpha_{\mathrm{train}}$")
    ax.set_ylabel("gain $G$")
    ax.grid(True, alpha=0.3)
    # Below the curves' lowest dip, left of 0, the plot is empty: room for the legend.
    low = min(float(np.min(c["gain"])) for c in data["curves"])
    ax.set_ylim(bottom=low - 0.45 * (1.0 - low + 0.5))
    ax.legend(fontsize=7.5, loc="lower left", ncol=2)
    ax.set_title(config["title"])
    return fig


def caption(data: dict[str, Any], config: dict[str, Any]) -> str:
    inst = common.landscape_instance(config["instance"], m=config["m"][0])
    optima = "; ".join(
        f"m = {common.number(c['m'])}: " + " and ".join(f"{a:.3g}" for a in c["optimum"])
        for c in data["curves"]
    )
    return " ".join(
        [
            "Gain of MAML over NAL against the step size alpha train MAML is trained with (tested with "
            f"alpha), closed form at {config['alpha_train_points']} values from "
            f"{common.number(config['alpha_train_min'])} to {common.number(config['alpha_train_max'])}, for "
            "several batch sizes m (MAML trained with the same m); circles mark the derived optimal alpha "
            f"train, two tied values where both reach the test-optimal weight ({optima}).",
            f"Instance otherwise: {common.describe(inst, omit=('m', 'm_train'))}.",
            f"Closed forms only, no random draws (seed {config['seed']} recorded).",
        ]
    )
