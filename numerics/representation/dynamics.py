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
from maml_theory.numerics.representation.instances import (
    CANDIDATES_PER_BATCH,
    Instance,
    draw_problem,
    resolve_method,
)
from maml_theory.numerics.representation.simulate import (
    BLOCK_ENTRIES,
    BLOCK_STEPS,
    NAIVE_MAX_NUMBERS,
    Trajectory,
    simulate,
)
from maml_theory.theory.method import Method

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


UNROLLED_STEP_FACTOR = 3.0
"""A step with s ≥ 2 inner steps costs at most about this times s one-step steps (the forward and backward
passes of the unrolled recursion each repeat a step's products s times; measured by
benchmarks/representation_inner_steps.py at d = 20, k = 3, n = 20, two runs on the shared machine: at most
about 1.6s times a one-step step, e.g. 3.2 times at s = 2 and 5.5 to 5.6 times at s = 4 for the population's
exact ANIL and MAML; an upper estimate, as the budget wants)."""


def cost(sizes: Mapping[str, int]) -> tuple[float, float]:
    """Estimated peak bytes and seconds of :func:`run` for ``sizes`` d, k, n, T, runs, width h, inner_steps s
    and, for a finite-sample instance, m_in and m_out: the records of T + 1 steps (:data:`RECORD_BYTES`), the
    problem and the theory initialisation's candidates, the arrays of a block of steps as
    :func:`~.simulate.simulate` allocates them (population heads and targets, or a round's batches or their
    projections) with the temporaries of a step, the s per-task iterates (n × r × h each) that the unrolled
    recursion keeps, and the measured per-step times above, times :data:`UNROLLED_STEP_FACTOR` · s for s ≥ 2
    (the unrolled recursion draws nothing more: only its computation grows with s)."""
    d, k, n, T, R, h, s = (sizes[key] for key in ("d", "k", "n", "T", "runs", "width", "inner_steps"))
    curves = 2 if R == 1 else 6
    memory = (T + 1) * (RECORD_BYTES[0] * R + RECORD_BYTES[1] * curves)
    memory += 8 * (8 * R * d * h + 3 * CANDIDATES_PER_BATCH * d * k)
    r = min(d, h + k)
    repeat = UNROLLED_STEP_FACTOR * s if s >= 2 else 1.0
    if "m_in" not in sizes:
        block = max(1, min(T, BLOCK_STEPS, BLOCK_ENTRIES // (R * r * h)))
        memory += 8 * (
            block * R * n * (k + r) + 8 * R * n * r + 4 * block * R * r * h + 2 * s * R * n * r * h
        )
        return float(memory), T * repeat * (STEP_SECONDS * R + TASK_SECONDS * R * n * r * h)
    m = sizes["m_in"] + sizes["m_out"]
    block = max(1, min(T, BLOCK_STEPS, BLOCK_ENTRIES // (R * d * h)))
    memory += 8 * (2 * block * R * d * h + 2 * s * R * n * d * h)
    numbers = n * m * (d + 1)
    if numbers <= NAIVE_MAX_NUMBERS or s >= 2:
        # The naive sampler: always below the switch, and the only one for s ≥ 2.
        memory += 8 * 3 * R * numbers
        return float(memory), T * (STEP_SECONDS * R * repeat + SAMPLE_SECONDS * R * numbers * repeat)
    p = r + 1
    memory += 8 * 4 * R * n * (2 * p * p + 3 * d)
    return float(memory), T * (STEP_SECONDS * R + PROJECTED_SECONDS * R * n * (d * h + p * p))


def sizes(inst: Instance, runs: int, inner_steps: int = 1) -> dict[str, int]:
    """The sizes :func:`cost` takes, of ``runs`` runs of ``inst`` with ``inner_steps`` inner steps."""
    out = {
        "d": inst.d,
        "k": inst.k,
        "n": inst.n,
        "T": max(inst.T, 1),
        "runs": runs,
        "width": inst.width,
        "inner_steps": inner_steps,
    }
    if inst.finite:
        out.update(m_in=inst.m_in, m_out=inst.m_out)
    return out


def check_cost(inst: Instance, runs: int, inner_steps: int = 1) -> None:
    """:class:`ParameterError` naming the size (d, k, n, T, runs, width, inner_steps, m_in or m_out) to reduce
    when :func:`cost` exceeds the memory or time a run may take (:func:`validation.within_budget`): before
    anything is drawn."""
    typical = {"d": 20, "k": 3, "n": 20, "T": 300, "runs": 1, "m_in": 20, "m_out": 20}
    typical.update(width=inst.k, inner_steps=1)
    v.within_budget(sizes(inst, runs, inner_steps), typical, cost)


def run(
    method: Method | str,
    inst: Instance,
    *,
    seed: int = 0,
    runs: int = 1,
    arrays: Mapping[str, ArrayLike] | None = None,
) -> dict:
    """Simulate ``method`` (a Method or a preset's name) on ``inst`` for ``runs`` independent runs from
    ``seed``; see :func:`summary`.

    ``arrays``: B0, w0, B_star, heads as for
    :func:`maml_theory.numerics.representation.instances.draw_problem` (then ``inst.init`` must be "given" and
    ``inst.fixed_tasks`` True); every run starts from them. The summary then also carries B_final and w_final.

    FO-ANIL on sign-symmetric task sets (θ̄_t = 0) from the theory's start contracts at about 1 − βα:

    >>> from maml_theory.numerics.representation.instances import Instance
    >>> summary = run("fo-anil", Instance(sign_symmetric=True), seed=0)
    >>> round(summary["rate"], 3), summary["diverged"]
    (0.897, False)
    """
    method = resolve_method(method)
    seed = v.integer("seed", seed, low=0)
    runs = v.integer("runs", runs, low=1)
    check_cost(inst, runs, method.inner_steps)
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
    §4.6's predicted rate, which the command evaluates from that claim. ``method`` is the preset whose blocks
    and order the run used, with ``inner_steps`` and the layer's ``width``; a layer wider than k adds the
    curves ``dist_h`` (the same as ``dist``, which is dist_h there, under the generalised distance's name) and
    ``outside_norm`` (‖B_{*,⊥}ᵀB_t‖_F), and ``singular_values``: those of each run's final B, largest
    first."""
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
    out = {
        "method": traj.method.family,
        "inner_steps": traj.method.inner_steps,
        "width": inst.width,
        "runs": int(dist.shape[0]),
        "dist": _curve(dist),
        "w_norm": _curve(w_norm),
        "rate": fitted_rate(curve),
        "lambda_min": lam_min,
        "diverged": _per_run([bool(x) for x in traj.diverged]),
        "diverged_at": _per_run(diverged_at),
    }
    if traj.outside_norm is not None:
        out["dist_h"] = out["dist"]
        out["outside_norm"] = _curve(np.where(gone, np.inf, traj.outside_norm))
        out["singular_values"] = _per_run(np.linalg.svd(traj.B_final, compute_uv=False).tolist())
    return out
