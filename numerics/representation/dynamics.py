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
from maml_theory.numerics.representation.instances import CANDIDATES_PER_BATCH, Instance, draw_problem
from maml_theory.numerics.representation.simulate import (
    BLOCK_ENTRIES,
    BLOCK_STEPS,
    NAIVE_MAX_NUMBERS,
    Trajectory,
    simulate,
)

ROUND_OFF_FLOOR = 1e-12
"""dist values at or below this are round-off (float64 principal angles bottom out near 1e-15); the fitted
rate ignores them, or it would report the floor's flatness as slow convergence."""


STEP_SECONDS = 4e-5
"""Measured seconds of one population step per run at small n (the call overhead): 1e6 steps of one default
ANIL run took 19 s, of four runs 165 s on this 2-core machine (shared)."""

TASK_SECONDS = 1.8e-8
"""Measured seconds per task, run and entry of r×k (r = min(d, 2k)) of a population step: n = 1000 tasks at
k = 3 took 0.32 ms a step for one run and 3.3 ms for ten."""

SAMPLE_SECONDS = 2.5e-8
"""Measured seconds per random number of a naive finite-sample round (n(m_in + m_out)(d + 1) of them):
0.43 ms a step at d = n = m_in = m_out = 20."""

PROJECTED_SECONDS = 3e-7
"""Seconds per task, run and entry of d·k + (2k + 1)² of a projected finite-sample round (MAML draws n·d
normals): 84 ms a step at d = 1000, n = 100, k = 3 (1.7 ms at d = 100: an upper estimate there)."""

RECORD_BYTES = (125, 110)
"""Measured bytes a step of the records takes (peak over baseline): 125 per run (the (R, T+1) arrays of
:func:`~.simulate.simulate` and of :func:`summary`) and 110 per value of each summary curve (a Python float in
a list, its JSON text): 324 MB for one run of 1e6 steps printed as JSON, 1.03 GB for four."""


def cost(sizes: Mapping[str, int]) -> tuple[float, float]:
    """Estimated peak bytes and seconds of :func:`run` for ``sizes`` d, k, n, T, runs and, for a finite-sample
    instance, m_in and m_out: the records of T + 1 steps (:data:`RECORD_BYTES`), the problem and the
    theory initialisation's candidates, the arrays of a block of steps as
    :func:`~.simulate.simulate` allocates them (population heads and targets, or a round's batches or their
    projections) with the temporaries of a step, and the measured per-step times above."""
    d, k, n, T, R = (sizes[key] for key in ("d", "k", "n", "T", "runs"))
    curves = 2 if R == 1 else 6
    memory = (T + 1) * (RECORD_BYTES[0] * R + RECORD_BYTES[1] * curves)
    memory += 8 * (8 * R * d * k + 3 * CANDIDATES_PER_BATCH * d * k)
    r = min(d, 2 * k)
    if "m_in" not in sizes:
        block = max(1, min(T, BLOCK_STEPS, BLOCK_ENTRIES // (R * r * k)))
        memory += 8 * (block * R * n * (k + r) + 8 * R * n * r + 4 * block * R * r * k)
        return float(memory), T * (STEP_SECONDS * R + TASK_SECONDS * R * n * r * k)
    m = sizes["m_in"] + sizes["m_out"]
    block = max(1, min(T, BLOCK_STEPS, BLOCK_ENTRIES // (R * d * k)))
    memory += 8 * 2 * block * R * d * k
    numbers = n * m * (d + 1)
    if numbers <= NAIVE_MAX_NUMBERS:
        memory += 8 * 3 * R * numbers
        return float(memory), T * (STEP_SECONDS * R + SAMPLE_SECONDS * R * numbers)
    p = r + 1
    memory += 8 * 4 * R * n * (2 * p * p + 3 * d)
    return float(memory), T * (STEP_SECONDS * R + PROJECTED_SECONDS * R * n * (d * k + p * p))


def check_cost(inst: Instance, runs: int) -> None:
    """:class:`ParameterError` naming the size (d, k, n, T, runs, m_in or m_out) to reduce when :func:`cost`
    exceeds the memory or time a run may take (:func:`validation.within_budget`): before anything is drawn."""
    sizes = {"d": inst.d, "k": inst.k, "n": inst.n, "T": max(inst.T, 1), "runs": runs}
    typical = {"d": 20, "k": 3, "n": 20, "T": 300, "runs": 1, "m_in": 20, "m_out": 20}
    if inst.finite:
        sizes.update(m_in=inst.m_in, m_out=inst.m_out)
    v.within_budget(sizes, typical, cost)


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

    FO-ANIL on sign-symmetric task sets (θ̄_t = 0) from the theory's start contracts at about 1 − βα:

    >>> from maml_theory.numerics.representation.instances import Instance
    >>> summary = run("fo-anil", Instance(sign_symmetric=True), seed=0)
    >>> round(summary["rate"], 3), summary["diverged"]
    (0.897, False)
    """
    seed = v.integer("seed", seed, low=0)
    runs = v.integer("runs", runs, low=1)
    check_cost(inst, runs)
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
    q = quantiles(values)
    return {
        "median": [_float(x) for x in q[0]],
        "p10": [_float(x) for x in q[1]],
        "p90": [_float(x) for x in q[2]],
    }


def quantiles(values: np.ndarray) -> np.ndarray:
    """The median and the 10th and 90th percentiles over the runs (axis 0) of ``values`` (R, …), shape (3, …),
    linearly interpolated; +∞ (a diverged run) counts as the largest value and NaN (a rank-deficient
    iterate) is left out; NaN where every run is NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN step (every run diverged): null
        q = np.nanpercentile(values, [50, 10, 90], axis=0)
        # numpy interpolates between neighbours a ≤ b as a + (b − a)t or b − (b − a)(1 − t), NaN when b = ∞;
        # the value is a when both neighbours are one element (t = 0) and ∞ otherwise.
        lower = np.nanpercentile(values, [50, 10, 90], axis=0, method="lower")
        higher = np.nanpercentile(values, [50, 10, 90], axis=0, method="higher")
        return np.where(np.isnan(q) & ~np.isnan(lower), np.where(lower == higher, lower, np.inf), q)


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
