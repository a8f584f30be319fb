"""The method-of-moments baseline's route claim: its derived expectation against a Monte Carlo.

- ``R.route.mom``: the method of moments' expected matrix E[y² x xᵀ] of claim ``R.baselines.mom`` (the
  derived expression, compiled) against the Monte Carlo mean of (1/m)Σ_j y_j² x_jxⱼᵀ over :data:`MOM_TASKS`
  tasks of m = :data:`MOM_SAMPLES` samples, drawn by the simulator's :func:`~.instances.draw_round` (one
  round of that many tasks, fresh heads from the law with µ) and pooled as the baselines pool them
  (:func:`~.baselines.pooled_data`); z, the largest |mean − exact| over its standard error (from the per-task
  averages, which are iid) among the d² entries, at most Z = 6. A statistical check: not searched for a
  worst case.

Verification code: it compiles the theory's expression, which the simulator never sees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

import numpy as np
import sympy as sp

from maml_theory.numerics.compiled import numpy_function
from maml_theory.numerics.representation.baselines import pooled_data
from maml_theory.numerics.representation.checks import SEED
from maml_theory.numerics.representation.instances import Instance
from maml_theory.numerics.verification.checks import Check, bind, zscore_claim
from maml_theory.numerics.verification.space import Param, Space
from maml_theory.theory.claims import register
from maml_theory.theory.representation import baselines as derived_baselines
from maml_theory.theory.representation import losses
from maml_theory.theory.representation import model as R

MOM = Space(
    (
        SEED,
        Param("k", 1, 3, integer=True),
        Param("d_extra", 0, 3, integer=True),
        Param("sigma", 0.0, 1.0),
        Param("mu", 0.5, 2.0, log=True),
    ),
    derive=lambda v: {"d": v["k"] + v["d_extra"]},
)
MOM_TASKS = 10_000
"""Tasks of the method of moments' Monte Carlo (of :data:`MOM_SAMPLES` samples each): enough that a wrong
coefficient (B_*ΛB_*ᵀ for 2B_*ΛB_*ᵀ) is over 12 standard errors away at d = 5 (tests/test_baselines.py), at
about 0.1 s an instance."""
MOM_SAMPLES = 10
"""Samples per task (split 5 + 5 as an inner and an outer batch by draw_round; pooled here)."""


def mom_score(params: Mapping[str, float]) -> dict[str, float]:
    """The largest |Monte Carlo − derived| / SE over the entries of E[y² x xᵀ], heads θ with
    Λ = E θθᵀ = diag(1, …, 1, µ²)."""
    d, k = int(params["d"]), int(params["k"])
    half = MOM_SAMPLES // 2
    inst = Instance(
        d=d,
        k=k,
        n=MOM_TASKS,
        m_in=half,
        m_out=MOM_SAMPLES - half,
        sigma=params["sigma"],
        mu=params["mu"],
        init="random",  # B_0 is not used: "random" spares the theory start's rejection draws
    )
    B_star, X, y = pooled_data(inst, np.random.default_rng(int(params["seed"])), 1)
    W = X * np.abs(y)[..., None]
    per_task = W.mT @ W / MOM_SAMPLES  # (1/m) Σ_j y_j² x_jxⱼᵀ of each task
    mean = per_task.mean(axis=0)
    se = per_task.std(axis=0, ddof=1) / np.sqrt(per_task.shape[0])
    exact = _mom_expectation()(B_star, np.diag(inst.head_scale**2), inst.sigma, np.eye(d))
    return {"z": float(np.max(np.abs(mean - exact) / se))}


_IDENTITY = sp.MatrixSymbol("I_d", R.d, R.d)


@cache
def _mom_expectation() -> Callable:
    """Claim R.baselines.mom's derived expression as a numpy function of (B_*, Λ, σ, I_d): numpy's printer
    takes no identity of symbolic size, so I_d is an argument."""
    expr = derived_baselines.mom_expectation().result.xreplace({R.Id: _IDENTITY})
    return numpy_function((R.B_star, R.Lam, losses.sigma, _IDENTITY), expr)


def _register_mom() -> None:
    route = zscore_claim(
        "R.route.mom",
        "The derived method-of-moments expectation is the Monte Carlo's",
        "spec R §1 model (two independent routes to E[y² x xᵀ])",
        f"z: the largest |Monte Carlo − derived| / SE over the entries of E[y² x xᵀ], {MOM_TASKS} tasks of "
        f"{MOM_SAMPLES} samples with fresh heads, drawn by the simulator from the instance's seed",
    )
    register(route)
    bind(Check(route, MOM, mom_score, search_budget=0))


_register_mom()
