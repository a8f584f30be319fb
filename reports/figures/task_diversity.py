"""Spec R §6, task diversity: heads N(0, diag(1, …, 1, µ²)) for several µ; the measured rate of dist against
the predicted 1 − βαµ² (claim ``R.rate``, 1 − βαλ_min(Λ), at λ_min = µ², the smallest eigenvalue of the head
covariance; with fresh heads each round it is the prediction at the expected Λ).

Measured rate: :func:`maml_theory.numerics.representation.dynamics.fitted_rate`, the per-step factor fitted to
log dist over the last half of a run, per run (median and 10th–90th percentile over runs). Each µ runs for its
own T, long enough for the slow direction to dominate the last half, short enough to stay above the round-off
floor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from maml_theory.numerics.representation import dynamics
from maml_theory.numerics.representation.simulate import simulate
from maml_theory.reports.dynamics_command import predicted_rate
from maml_theory.reports.figures import common
from maml_theory.reports.figures.progress import Progress


def compute(config: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Per (method, µ): the dist summary over runs, the per-run fitted rates and the predicted rate."""
    if len(config["mu"]) != len(config["T"]):
        raise ValueError("the config's mu and T lists must have the same length")
    cases = list(zip(config["mu"], config["T"], strict=True))
    out: dict[str, list[dict[str, Any]]] = {m: [] for m in config["methods"]}
    for method, (mu, T) in progress.iterate([(m, c) for m in config["methods"] for c in cases]):
        inst = common.representation_instance(config["instance"], mu=mu, T=T)
        traj = simulate(method, inst, np.random.default_rng(config["seed"]), runs=config["runs"])
        # A diverged run has no rate, though its curve before divergence would give one.
        rates = np.array(
            [np.nan if gone else _rate(curve) for curve, gone in zip(traj.dist, traj.diverged, strict=True)]
        )
        out[method].append(
            {
                "inst": inst,
                "summary": dynamics.summary(traj, [None] * config["runs"]),
                "rates": rates,
                "predicted": predicted_rate(inst.alpha, inst.beta, float(np.min(inst.head_scale**2))),
                "diverged": int(traj.diverged.sum()),
            }
        )
    return {"cases": out}


def _rate(curve: np.ndarray) -> float:
    """The fitted rate of one run's dist curve, NaN where there is none (too few values above round-off)."""
    rate = dynamics.fitted_rate(curve)
    return np.nan if rate is None else rate


def _quantile(rates: np.ndarray, q: float) -> float:
    """The q-th percentile of the runs' rates that exist (NaN if none does: no point is drawn)."""
    finite = rates[np.isfinite(rates)]
    return float(np.percentile(finite, q)) if finite.size else np.nan


def draw(data: dict[str, Any], config: dict[str, Any]) -> Figure:
    fig = common.figure(columns=2, width=4.8, height=3.9)
    left, right = fig.subplots(1, 2)
    shown = config["methods"][0]
    for j, case in enumerate(data["cases"][shown]):
        inst = case["inst"]
        t = np.arange(inst.T + 1)
        median, p10, p90 = common.dist_quantiles(case["summary"])
        colour = f"C{j}"
        left.fill_between(t, p10, p90, color=colour, alpha=0.2, linewidth=0)
        left.plot(t, median, color=colour, linewidth=1.3, label=f"µ = {inst.mu:g}")
    left.set_yscale("log")
    left.set_xlabel("outer step $t$")
    left.set_ylabel(r"$\mathrm{dist}(B_t, B_*)$ (median, 10–90%)")
    left.set_title(f"{common.METHOD_LABELS[shown]}, heads N(0, diag(1, …, 1, µ²))")
    left.grid(True, which="major", alpha=0.3)
    left.legend(fontsize=8)

    markers = "osD^v"
    ends = []
    for i, (method, cases) in enumerate(data["cases"].items()):
        x = np.array([1 - c["predicted"] for c in cases])
        # 1 − rate reverses the order: the rate's 90th percentile is the lower end of the bar.
        y, low, high = (np.array([1 - _quantile(c["rates"], q) for c in cases]) for q in (50, 90, 10))
        right.errorbar(
            x,
            y,
            yerr=[y - low, high - y],
            fmt=markers[i % len(markers)],
            color=common.METHOD_COLOURS[method],
            markerfacecolor="none" if i else common.METHOD_COLOURS[method],
            markersize=5 + 3 * i,
            capsize=2,
            label=common.METHOD_LABELS[method],
        )
        ends += [x, low, high]
    ends = np.concatenate(ends)
    lo, hi = np.nanmin(ends), np.nanmax(ends)
    span = np.array([lo / 1.5, hi * 1.5])
    right.plot(span, span, "k--", linewidth=0.8, label="measured = predicted")
    right.set_xscale("log")
    right.set_yscale("log")
    for axis in (right.xaxis, right.yaxis):
        axis.set_minor_formatter(NullFormatter())
    right.set_xlim(*span)
    right.set_ylim(*span)
    right.set_xlabel(r"$\beta\alpha\mu^2$ = 1 − predicted rate (claim R.rate)")
    right.set_ylabel("1 − measured rate (median, 10–90% over runs)")
    right.set_title("measured rate against 1 − βαµ²")
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=8, loc="upper left")
    fig.suptitle(config["title"])
    return fig


def caption(data: dict[str, Any], config: dict[str, Any]) -> str:
    first = data["cases"][config["methods"][0]][0]["inst"]
    mus = ", ".join(common.number(m) for m in config["mu"])
    steps = ", ".join(str(T) for T in config["T"])
    parts = [
        f"Task diversity: heads with covariance diag(1, ..., 1, mu squared) for mu = {mus} (T = {steps} "
        f"steps respectively), {config['runs']} runs each.",
        f"Left: distance to the ground truth for {common.METHOD_LABELS[config['methods'][0]]}, median and "
        "10th to 90th percentile band.",
        "Right: one minus the rate fitted over the last half of each run against beta alpha mu squared, one "
        "minus the rate predicted by claim R.rate; bars span the 10th to 90th percentile over runs.",
        f"Instance otherwise: {common.describe(first, omit=('T', 'mu'))}.",
    ]
    diverged = [(m, c) for m, cases in data["cases"].items() for c in cases if c["diverged"]]
    for method, c in diverged:
        parts.append(
            f"{common.METHOD_LABELS[method]} diverged in {c['diverged']} of {config['runs']} runs at "
            f"mu = {common.number(c['inst'].mu)}."
        )
    parts.append(f"Seed {config['seed']}.")
    return " ".join(parts)
