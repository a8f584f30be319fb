"""Spec R §4.1–4.2, the contraction-matrix story: eigenvalues of C̄_t over time for exact ANIL against NAL.

Every method's outer step leaves the wrong-subspace part E = B_⊥ᵀB as E⁺ = E(I − βC̄), C̄ the round mean of a
per-task C (claims ``R.perp.<method>``, read off by
:func:`maml_theory.theory.representation.structure.perpendicular`).
:func:`maml_theory.numerics.representation.closed_form.contraction` evaluates the derived C̄ (compiled from
sympy) at the simulator's state (B, w) and the round's heads θ_i, population loss: NAL's C = wwᵀ has rank one
(at most one direction contracts per step), FO-ANIL's C = w_iw_iᵀ, and so on per method. At w = 0, C̄ = (1/n)Σ
w_iw_iᵀ = α²BᵀMB (claim ``R.diversity``): every direction of col(B_*ᵀB) contracts. The eigenvalues of βC̄_t
are the per-step contraction of each direction: E⁺ = E(I − βC̄_t)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from maml_theory.numerics.representation import closed_form
from maml_theory.numerics.representation.instances import Instance, draw_problem, draw_round
from maml_theory.numerics.representation.simulate import step
from maml_theory.reports.figures import common
from maml_theory.reports.figures.progress import Progress

_ORDINALS = {2: "second", 3: "third"}

ROUND_OFF = 1e-12
"""An eigenvalue of βC̄ below this fraction of the largest one is round-off of an exact zero."""


@dataclass(frozen=True, eq=False)
class Trace:
    """``eigenvalues`` (R, T, k): ascending eigenvalues of βC̄_t for t = 0..T−1 (symmetric part of C̄), and
    the last iterate ``B_final`` (R, d, k), ``w_final`` (R, k)."""

    eigenvalues: np.ndarray
    B_final: np.ndarray
    w_final: np.ndarray


def trace(method: str, inst: Instance, seed: int, runs: int) -> Trace:
    """Run ``method`` on ``inst`` (population loss) from ``seed`` for ``runs`` runs, recording βC̄_t's
    eigenvalues. The draws are :func:`maml_theory.numerics.representation.simulate.simulate`'s (one stream per
    run, problem first, then each round's heads), so the iterates are the simulator's: it steps in d
    dimensions, the simulator in the coordinates of span(B_0, B_*), so the two agree to round-off."""
    if inst.finite:
        raise ValueError("the contraction identity E⁺ = E(I − βC̄) holds for the population loss only")
    streams = np.random.default_rng(seed).spawn(runs)
    problems = [draw_problem(inst, s) for s in streams]
    B_star = np.stack([p.B_star for p in problems])
    B = np.stack([p.B0 for p in problems])
    w = np.stack([p.w0 for p in problems])
    fixed = None if problems[0].heads is None else np.stack([p.heads for p in problems])
    eigenvalues = np.empty((runs, inst.T, inst.k))
    for t in range(inst.T):
        heads, _ = draw_round(inst, streams, B_star, fixed)
        C = closed_form.contraction(method, B, w, B_star, heads, inst.alpha)
        eigenvalues[:, t] = np.linalg.eigvalsh(inst.beta * (C + np.swapaxes(C, -1, -2)) / 2)
        B, w = step(method, B, w, B_star, heads, inst.alpha, inst.beta)
    if not (np.all(np.isfinite(B)) and np.all(np.isfinite(w))):
        raise ValueError(f"{method} diverged on this instance: choose a smaller beta in the config")
    return Trace(eigenvalues, B, w)


def compute(config: dict[str, Any], progress: Progress) -> dict[str, Any]:
    own = config["beta_by_method"]
    insts = {
        m: common.representation_instance(config["instance"], **({"beta": own[m]} if m in own else {}))
        for m in config["methods"]
    }
    traces = {
        m: trace(m, insts[m], config["seed"], config["runs"]) for m in progress.iterate(config["methods"])
    }
    return {"instances": insts, "traces": traces}


def draw(data: dict[str, Any], config: dict[str, Any]) -> Figure:
    methods = config["methods"]
    fig = common.figure(columns=len(methods), width=4.4, height=3.8)
    axes = np.atleast_1d(fig.subplots(1, len(methods), sharey=True))
    for ax, method in zip(axes, methods, strict=True):
        inst, eig = data["instances"][method], data["traces"][method].eigenvalues
        t = np.arange(inst.T)
        # Exact zeros (NAL's rank-one C, any C at w = 0) cannot go on a log axis: they are counted instead.
        zero = np.abs(eig) <= ROUND_OFF * np.max(np.abs(eig))
        names = {inst.k - 1: "largest", 0: "smallest"}  # eigvalsh sorts ascending
        for colour, j in enumerate(range(inst.k - 1, -1, -1)):
            if zero[:, :, j].all():
                continue
            values = np.where(zero[:, :, j], np.nan, eig[:, :, j])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a step where every run's value is 0: a gap
                q = np.nanpercentile(values, [50, 10, 90], axis=0)
            ax.fill_between(t, q[1], q[2], color=f"C{colour}", alpha=0.2, linewidth=0)
            ax.plot(
                t,
                q[0],
                color=f"C{colour}",
                linewidth=1.3,
                label=names.get(j, f"{_ORDINALS.get(inst.k - j, f'{inst.k - j}th')} largest"),
            )
        always = int(np.sum(zero.all(axis=(0, 1))))
        if always:
            why = ": C = wwᵀ has rank one" if method == "nal" else ""
            ax.text(
                0.03,
                0.96,
                f"the other {always} of {inst.k} eigenvalues are 0 at every step\n"
                f"(below {ROUND_OFF:g} × the largest){why}",
                transform=ax.transAxes,
                verticalalignment="top",
                fontsize=8,
            )
        ax.set_yscale("log")
        ax.set_xlim(0, inst.T)
        ax.set_xlabel("outer step $t$")
        ax.set_title(f"{common.METHOD_LABELS[method]}, β = {inst.beta:g}")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    axes[0].set_ylabel(r"eigenvalues of $\beta\bar C_t$ (median, 10–90%)")
    fig.suptitle(config["title"])
    return fig


def caption(data: dict[str, Any], config: dict[str, Any]) -> str:
    methods = config["methods"]
    insts = data["instances"]
    parts = [
        "Eigenvalues of beta times the round-mean contraction matrix C (the wrong-subspace part of B is "
        "multiplied by I minus beta C each step) over the outer steps, median and 10th to 90th percentile "
        f"band over {config['runs']} runs, for {' and '.join(common.METHOD_LABELS[m] for m in methods)}.",
        f"Instance: {common.describe(insts[methods[0]])}.",
    ]
    for method in methods[1:]:
        if insts[method].beta != insts[methods[0]].beta:
            parts.append(
                f"{common.METHOD_LABELS[method]} steps at beta = {common.number(insts[method].beta)}."
            )
    parts.append(f"Seed {config['seed']}.")
    return " ".join(parts)
