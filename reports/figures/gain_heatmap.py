"""Spec L §5: log₁₀ G over (ρ_H/ρ_E, R²/(d ν_H)) from the closed form
(:func:`maml_theory.numerics.landscape.closed_form.easy_hard`), one panel per adaptation batch size m (MAML
trained with the same m).

ρ_E and ν_H stay at the config's values; a grid point sets ρ_H = x ρ_E and R = √(y d ν_H). G ≥ 1 (m_train = m,
§3.4), and G = 1 exactly where g_m(ρ_H) = g_m(ρ_E) (§3.6a): dashed lines, found where g_H − g_E (from the
same closed forms) changes sign along x. With m = ∞ and αρ_E = 1 this is the regime of §3.6f, where G depends
on these two coordinates only; a cell where every task is solved in one step has no gain (left blank).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from maml_theory.numerics.landscape.closed_form import DegenerateInstance, easy_hard
from maml_theory.reports.figures import common
from maml_theory.reports.figures.progress import Progress


def _gain(table: dict[str, Any], m: float, ratio: float, separation: float) -> tuple[float, float]:
    """(G, g_H − g_E) at one grid point; both NaN where every task is solved in one step (no gain)."""
    R = math.sqrt(separation * table["d"] * table["nu_hard"])
    inst = common.landscape_instance(table, m=m, rho_hard=ratio * table["rho_easy"], R=R)
    try:
        forms = easy_hard(inst)
    except DegenerateInstance:
        return math.nan, math.nan
    return forms.gain, forms.g_hard - forms.g_easy


def compute(config: dict[str, Any], progress: Progress) -> dict[str, Any]:
    table = config["instance"]
    x = np.linspace(config["ratio_min"], config["ratio_max"], config["ratio_points"])
    y = np.logspace(
        config["log10_separation_min"], config["log10_separation_max"], config["separation_points"]
    )
    panels = []
    for m in progress.iterate(config["m"]):
        values = np.array([[_gain(table, m, ratio, s) for ratio in x] for s in y])
        gain, gap = values[..., 0], values[0, :, 1]  # g_H − g_E does not depend on R
        crossings = [
            x[j] - gap[j] * (x[j + 1] - x[j]) / (gap[j + 1] - gap[j])
            for j in range(x.size - 1)
            if gap[j] * gap[j + 1] < 0
        ] + [x[j] for j in range(x.size) if gap[j] == 0.0]
        panels.append({"m": m, "log10_gain": np.log10(gain), "equal_hardness": sorted(crossings)})
    return {"ratio": x, "separation": y, "panels": panels}


def _edges(centres: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges halfway between grid centres (in log space for a log axis)."""
    c = np.log10(centres) if log else centres
    inner = (c[1:] + c[:-1]) / 2
    edges = np.concatenate([[2 * c[0] - inner[0]], inner, [2 * c[-1] - inner[-1]]])
    return 10**edges if log else edges


def draw(data: dict[str, Any], config: dict[str, Any]) -> Figure:
    panels = data["panels"]
    fig = common.figure(columns=len(panels), width=5.0, height=4.3)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    x, y = data["ratio"], data["separation"]
    for ax, panel in zip(axes, panels, strict=True):
        z = panel["log10_gain"]
        mesh = ax.pcolormesh(_edges(x, False), _edges(y, True), np.ma.masked_invalid(z), cmap="viridis")
        levels = sorted(
            {math.log10(g) for g in config["contour_gains"] if np.nanmin(z) < math.log10(g) < np.nanmax(z)}
        )
        if levels:
            lines = ax.contour(x, y, np.ma.masked_invalid(z), levels=levels, colors="white", linewidths=0.8)
            ax.clabel(lines, fmt=lambda v: f"G = {10**v:.4g}", fontsize=7)
        for k, ratio in enumerate(panel["equal_hardness"]):
            ax.axvline(
                ratio,
                color="red",
                linestyle="--",
                linewidth=1.0,
                label=r"$g_H = g_E$: G = 1 (§3.6a)" if k == 0 else None,
            )
        if panel["equal_hardness"]:
            ax.legend(loc="lower left", fontsize=7.5)
        m = panel["m"]
        ax.set_title(f"m = {'∞' if math.isinf(m) else f'{m:g}'}")
        ax.set_yscale("log")
        ax.set_xlabel(r"hardness ratio $\rho_H / \rho_E$")
        ax.set_ylabel(r"separation over spread $R^2 / (d\,\nu_H)$")
        fig.colorbar(mesh, ax=ax, label=r"$\log_{10} G$")
    fig.suptitle(config["title"])
    return fig


def caption(data: dict[str, Any], config: dict[str, Any]) -> str:
    table = config["instance"]
    inst = common.landscape_instance(table, m=config["m"][0], rho_hard=table["rho_easy"], R=0.0)
    ms = " and ".join(common.number(m) for m in config["m"])
    return " ".join(
        [
            "Base-10 logarithm of the gain of MAML over NAL (closed form) over the hardness ratio rho hard "
            "over rho easy (varying rho hard) and R squared over d nu hard (varying R), on a "
            f"{config['ratio_points']} by {config['separation_points']} grid, for batch size m = {ms} (one "
            "panel each, MAML trained with the same m). White lines are contours of G; dashed red lines mark "
            "equal hardness, where G = 1; blank cells have every task solved in one step (no gain defined).",
            f"Instance otherwise: {common.describe(inst, omit=('m', 'm_train', 'rho_hard', 'R'))}.",
            f"No random draws (seed {config['seed']} unused).",
        ]
    )
