"""Spec L §5: G against the adaptation batch size m (MAML trained with the same m), with the two ceilings:
(g_H + g_E)²/(4 g_H g_E) of §3.6e at each m and the few-samples cap (1 + g*)²/(4g*), g* = (d+1)/(m+d+1), of
§3.6h (claim ``L.gain.few_samples``, drawn where its hypotheses g_H, g_E ≤ 1 hold). The dashed line is G at
m = ∞. Lines: closed forms; points: Monte Carlo as in ``landscape --mc`` (point i draws from ``seed + i``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from maml_theory.numerics.landscape.closed_form import easy_hard
from maml_theory.numerics.landscape.instances import EasyHard
from maml_theory.reports.figures import common
from maml_theory.reports.figures.progress import Progress
from maml_theory.reports.landscape_command import compare
from maml_theory.theory.claims import registered
from maml_theory.theory.landscape import claims as _claims  # noqa: F401  (registers L.gain.few_samples)

_CLAIM_NAMES = {
    "R": "R",
    "alpha": "alpha",
    "d": "d",
    "m": "m",
    "nu_E": "nu_easy",
    "nu_H": "nu_hard",
    "p_H": "p_hard",
    "rho_E": "rho_easy",
    "rho_H": "rho_hard",
    "sigma": "sigma",
}
"""Claim symbol → EasyHard field."""


def few_samples_cap(inst: EasyHard) -> float:
    """Claim L.gain.few_samples's bound (1 + g*)²/(4g*) at ``inst``, NaN where its hypotheses fail."""
    (claim,) = registered("L.gain.few_samples")
    values = {s.name: getattr(inst, _CLAIM_NAMES[s.name]) for s in claim.symbols}
    return claim.bound(values) if claim.admissible(values) else math.nan


def compute(config: dict[str, Any], progress: Progress) -> dict[str, Any]:
    table = config["instance"]
    grid = np.unique(np.round(np.logspace(0, math.log10(config["m_max"]), config["m_points"])))
    forms = [easy_hard(common.landscape_instance(table, m=m)) for m in grid]
    caps = np.array([few_samples_cap(common.landscape_instance(table, m=m)) for m in grid])
    mc = []
    for i, m in enumerate(progress.iterate(config["m_mc"])):
        out = compare(common.landscape_instance(table, m=m), config["mc_tasks"], config["seed"] + i)
        mc.append((m, out["monte_carlo"]["gain"], out["monte_carlo"]["se_gain"], out["gain"]))
    return {
        "m": grid,
        "gain": np.array([f.gain for f in forms]),
        "ceiling": np.array([f.gain_ceiling for f in forms]),
        "few_samples": caps,
        "gain_inf": easy_hard(common.landscape_instance(table, m=math.inf)).gain,
        "mc": np.array(mc),
    }


def draw(data: dict[str, Any], config: dict[str, Any]) -> Figure:
    fig = common.figure(width=5.8, height=4.3)
    ax = fig.subplots()
    m = data["m"]
    ax.plot(m, data["gain"], color="C0", linewidth=1.6, label="G (closed form)")
    ax.plot(
        m,
        data["ceiling"],
        color="C1",
        linestyle="--",
        linewidth=1.0,
        label=r"ceiling $(g_H + g_E)^2 / (4 g_H g_E)$, §3.6e",
    )
    ax.plot(
        m,
        data["few_samples"],
        color="C3",
        linestyle="-.",
        linewidth=1.0,
        label=r"few-samples cap $(1 + g^*)^2 / (4 g^*)$, §3.6h",
    )
    ax.axhline(data["gain_inf"], color="0.4", linestyle=":", linewidth=1.0, label=r"G at $m = \infty$")
    if data["mc"].size:
        mm, gain, se, _ = data["mc"].T
        ax.errorbar(
            mm,
            gain,
            yerr=config["error_bars"] * se,
            fmt="o",
            color="C0",
            markerfacecolor="white",
            markersize=4.5,
            capsize=2.5,
            label=f"Monte Carlo, ±{config['error_bars']:g} SE",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("adaptation batch size $m$ (MAML trained with the same $m$)")
    ax.set_ylabel("gain $G$")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left")
    ax.set_title(config["title"])
    return fig


def caption(data: dict[str, Any], config: dict[str, Any]) -> str:
    inst = common.landscape_instance(config["instance"], m=config["m_max"])
    return " ".join(
        [
            f"Gain of MAML over NAL against the batch size m from 1 to {config['m_max']} (MAML trained with "
            "the same m), closed form, with the ceiling of spec L section 3.6e, the few-samples cap of "
            "section 3.6h where its hypotheses hold, and the gain at infinite m (dotted).",
            f"Monte Carlo points from {config['mc_tasks']} sampled tasks each, bars of plus or minus "
            f"{common.number(config['error_bars'])} standard errors.",
            f"Instance otherwise: {common.describe(inst, omit=('m', 'm_train'))}.",
            f"Seeds {config['seed']} to {config['seed'] + len(config['m_mc']) - 1}, one per Monte Carlo "
            "point.",
        ]
    )
