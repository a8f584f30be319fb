"""One call behind ``maml-theory dynamics``: run a method R times and summarise the trajectories.

The command line is a thin layer over :func:`run`, which takes the same arrays as ``--init FILE.npz`` (B0, w0,
B_star, heads), so any run can be reproduced from a notebook. The summary is JSON-ready: plain floats, None
where a value does not exist (a rate after divergence, a predicted rate without a fixed task set).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from maml_theory.numerics import validation as v
from maml_theory.numerics.representation.instances import Instance, draw_problem
from maml_theory.numerics.representation.simulate import Trajectory, simulate

ROUND_OFF_FLOOR = 1e-12
"""dist values at or below this are round-off (float64 principal angles bottom out near 1e-15); the fitted
rate ignores them, or it would report the floor's flatness as slow convergence."""


def run(
    method: str,
    inst: Instance,
    *,
    seed: int = 0,
    runs: int = 1,
    arrays: Mapping[str, ArrayLike] | None = None,
) -> dict:
    """Simulate ``method`` on ``inst`` for ``runs`` independent runs from ``seed``; see :func:`summary`.

    ``arrays``: B0, w0, B_star, heads as for
    :func:`maml_theory.numerics.representation.instances.draw_problem` (then ``inst.init`` must be "given" and
    ``inst.fixed_tasks`` True); every run starts from them. The summary then also carries B_final and w_final.
    """
    seed = v.integer("seed", seed, low=0)
    runs = v.integer("runs", runs, low=1)
    streams = np.random.default_rng(seed).spawn(runs)
    if arrays is not None:
        problem = draw_problem(inst, streams[0], arrays)
        heads = [problem.heads] * runs
        traj = simulate(method, inst, streams, problem=problem)
    else:
        # simulate draws run r's problem from stream r first; drawing it from a copy shows its heads.
        heads = [draw_problem(inst, copy.deepcopy(s)).heads for s in streams]
        traj = simulate(method, inst, streams)
    out = summary(traj, heads)
    if arrays is not None:
        out["B_final"] = _per_run(traj.B_final.tolist())
        out["w_final"] = _per_run(traj.w_final.tolist())
    return out


def _per_run(values: list) -> list | object:
    return values[0] if len(values) == 1 else values


def _curve(values: np.ndarray) -> list | dict:
    """One run: its T+1 values; several: the median and the 10th and 90th percentiles per step (JSON null for
    a value that is not finite: after divergence, or a rank-deficient iterate)."""
    if values.shape[0] == 1:
        return [_float(x) for x in values[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN step (every run diverged): null
        q = np.nanpercentile(values, [50, 10, 90], axis=0)
        # numpy interpolates between neighbours a ≤ b as a + (b − a)t or b − (b − a)(1 − t), NaN when b = ∞;
        # the value is a when both neighbours are one element (t = 0) and ∞ otherwise.
        lower = np.nanpercentile(values, [50, 10, 90], axis=0, method="lower")
        higher = np.nanpercentile(values, [50, 10, 90], axis=0, method="higher")
        q = np.where(np.isnan(q) & ~np.isnan(lower), np.where(lower == higher, lower, np.inf), q)
    return {
        "median": [_float(x) for x in q[0]],
        "p10": [_float(x) for x in q[1]],
        "p90": [_float(x) for x in q[2]],
    }


def _float(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def fitted_rate(curve: np.ndarray) -> float | None:
    """exp of the least-squares slope of log dist_t over the last half of the steps: the per-step factor.

    Only finite values above :data:`ROUND_OFF_FLOOR` count; None if fewer than two remain.
    """
    T = curve.shape[0] - 1
    t = np.arange(T // 2, T + 1)
    c = curve[T // 2 :]
    keep = np.isfinite(c) & (c > ROUND_OFF_FLOOR)
    if keep.sum() < 2:
        return None
    slope = np.polyfit(t[keep], np.log(c[keep]), 1)[0]
    return float(np.exp(slope))


def summary(traj: Trajectory, heads: list[np.ndarray | None]) -> dict:
    """JSON-ready summary: dist and w_norm per step, the fitted rate, divergence, and ``lambda_min``: λ_min(Λ)
    of a fixed task set (the median over runs when their sets differ), else None — the observable of spec R
    §4.6's predicted rate, which the command evaluates from that claim."""
    inst = traj.inst
    # A diverged run counts as +∞ from its divergence on, so the median and percentiles say how many runs
    # failed rather than summarising the survivors alone; NaN is left only for rank-deficient iterates.
    steps = np.arange(traj.dist.shape[1])
    gone = (traj.diverged_at[:, None] >= 0) & (steps[None, :] >= traj.diverged_at[:, None])
    dist = np.where(gone, np.inf, traj.dist)
    w_norm = np.where(gone, np.inf, traj.w_norm)
    curve = dist[0] if dist.shape[0] == 1 else np.nanmedian(dist, axis=0)
    lam_min = None
    if inst.fixed_tasks:
        lam_min = float(np.median([np.linalg.eigvalsh(h.T @ h / h.shape[0])[0] for h in heads]))
    diverged_at = [int(t) if t >= 0 else None for t in traj.diverged_at]
    return {
        "method": traj.method,
        "runs": int(dist.shape[0]),
        "dist": _curve(dist),
        "w_norm": _curve(w_norm),
        "rate": fitted_rate(curve),
        "lambda_min": lam_min,
        "diverged": _per_run([bool(x) for x in traj.diverged]),
        "diverged_at": _per_run(diverged_at),
    }
