"""``maml-theory landscape``: spec L's MAML-vs-NAL comparison at one easy/hard instance.

Prints the derived closed forms (λ, μ, E_m(w_MAML), E_m(w_NAL), the gain G and the ceiling of §3.6e); with
``--mc N`` also their Monte Carlo estimates from N sampled tasks (common random numbers for both points),
standard errors and z-scores, so the closed form is checked on the instance the user typed.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from typing import NamedTuple

import numpy as np

from maml_theory.numerics import validation as v
from maml_theory.numerics.landscape.instances import EasyHard
from maml_theory.numerics.landscape.montecarlo import EXCESS_RANGE, adapted_excess, cost
from maml_theory.reports.arguments import count, emit, json_number, number

# flag, field, help
_PARAMETERS = (
    ("--d", "d", "dimension (integer >= 1)"),
    ("--m", "m", "adaptation batch size at test time (integer >= 1, or inf for the exact gradient)"),
    ("--alpha", "alpha", "inner step size α > 0"),
    ("--p-hard", "p_hard", "probability of a hard task, in [0, 1]"),
    ("--rho-hard", "rho_hard", "hard tasks' data covariance ρ_H I (ρ_H > 0)"),
    ("--rho-easy", "rho_easy", "easy tasks' data covariance ρ_E I (ρ_E > 0)"),
    ("--nu-hard", "nu_hard", "VARIANCE per coordinate of the hard optima around w_H (>= 0)"),
    ("--nu-easy", "nu_easy", "VARIANCE per coordinate of the easy optima around w_E (>= 0)"),
    ("--sigma", "sigma", "label-noise STANDARD DEVIATION σ (>= 0)"),
    ("--R", "R", "distance ‖w_H − w_E‖ between the centres (>= 0)"),
    ("--m-train", "m_train", "batch size MAML is trained with (default: --m)"),
    (
        "--alpha-train",
        "alpha_train",
        "step size MAML is trained with, any real, negative too (default: --alpha)",
    ),
    ("--inner-steps", "inner_steps", "test-time adaptation steps S, each on a fresh batch (integer >= 1)"),
)
_DEFAULT_FROM = {"m_train": "--m", "alpha_train": "--alpha"}


def add_parser(commands: argparse._SubParsersAction) -> None:
    defaults = EasyHard()
    p = commands.add_parser(
        "landscape",
        help="MAML vs NAL on easy and hard linear-regression tasks (spec L)",
        description=__doc__.splitlines()[0],
    )
    for flag, field, text in _PARAMETERS:
        default = _DEFAULT_FROM.get(field, getattr(defaults, field))
        p.add_argument(flag, dest=field, default=None, metavar="X", help=f"{text} [default: {default}]")
    p.add_argument(
        "--mc", default=None, metavar="N", help="also estimate by Monte Carlo from N sampled tasks"
    )
    p.add_argument("--seed", default="0", metavar="S", help="seed of the Monte Carlo draws [default: 0]")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def instance_from(args: argparse.Namespace) -> EasyHard:
    given = {f: number(getattr(args, f)) for _, f, _ in _PARAMETERS if getattr(args, f) is not None}
    return EasyHard(**given)


def monte_carlo_budget(inst: EasyHard, n_tasks: int) -> None:
    """:class:`ParameterError` naming ``--m`` when its batch size is 2⁶³ or more (past int64), or naming
    ``--mc`` or ``--d`` when a Monte Carlo of ``n_tasks`` tasks at ``inst`` is estimated
    (:func:`montecarlo.cost`: the mixture's four d×d matrices, then the tasks) to need more memory or time
    than :func:`validation.within_budget` allows; nothing is allocated before."""
    if math.isfinite(inst.m):
        # The sampler draws χ² variables with m − j degrees of freedom, which numpy takes as int64.
        allowed = "an integer below 2^63 (9.2e18) or inf with --mc (the Monte Carlo counts samples in int64)"
        v.integer("m", inst.m, low=1, high=v.INT64_MAX, allowed=allowed)
    sizes = {"mc": n_tasks, "d": inst.d}
    typical = {"mc": 200_000, "d": EasyHard().d}
    v.within_budget(sizes, typical, lambda s: cost(s["d"], 2, s["mc"], matrices=4))


def compare(inst: EasyHard, n_tasks: int | None, seed: int) -> dict:
    """The closed forms at ``inst`` and, with ``n_tasks``, their Monte Carlo estimates (a JSON-ready dict).

    The Monte Carlo's size is checked first (:func:`monte_carlo_budget`), and its range against the closed
    forms (:data:`montecarlo.EXCESS_RANGE`)."""
    # Imported here, so that the command line starts without compiling spec L's closed forms.
    from maml_theory.numerics.landscape import closed_form

    if n_tasks is not None:
        if inst.inner_steps > 1:
            # The simulator draws one adaptation step per task; several would need a chain of fresh batches.
            reason = "left out with --inner-steps above 1: the Monte Carlo simulates one adaptation step"
            raise v.ParameterError("mc", reason, n_tasks)
        monte_carlo_budget(inst, n_tasks)
    forms = closed_form.easy_hard(inst)
    best = closed_form.optimal_alpha_train(inst)
    given = dataclasses.asdict(inst) | {"alpha_train": inst.step_train}
    out: dict = {"instance": {k: json_number(v) for k, v in given.items()}}
    # An unbounded ceiling (g_E = 0) is written as null.
    out.update({k: v if math.isfinite(v) else None for k, v in dataclasses.asdict(forms).items()})
    # None: G does not depend on α_train here (R = 0, one type, ρ_H = ρ_E, or both test factors 0).
    out.update(
        alpha_train=inst.step_train,
        inner_steps=inst.inner_steps,
        optimal_alpha_train=None if best is None else list(best.alpha_train),
        optimal_alpha_train_negative=None if best is None else best.negative,
        gain_at_optimal_alpha_train=None if best is None else best.gain,
    )
    if n_tasks is None:
        return out
    low, high = EXCESS_RANGE
    for what, excess in (("E_m(w_MAML)", forms.excess_maml), ("E_m(w_NAL)", forms.excess_nal)):
        if not low <= excess <= high:
            reason = (
                f"{what} = {excess:.3g} is outside [{low:g}, {high:g}], the excesses whose Monte Carlo "
                "moments (fourth powers summed over the tasks) float64 holds"
            )
            raise v.ParameterError("mc", f"left out at this instance: {reason}", n_tasks)
    mix = inst.mixture()
    centre_h, centre_e = (t.center for t in mix.types)
    points = np.stack(
        [w * centre_h + (1 - w) * centre_e for w in (forms.weight_hard_maml, forms.weight_hard_nal)]
    )
    try:
        # Closed forms in range do not make the samples so: at α = 1e-308, σ = 1e308 the excess is 0.011 while
        # the sampled noise σz overflows. A sample past float64 refuses the Monte Carlo, never prints NaN.
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            est = adapted_excess(mix, points, n_tasks, np.random.default_rng(seed))
    except FloatingPointError as e:
        reason = f"left out at this instance: its samples leave float64 ({e})"
        raise v.ParameterError("mc", reason, n_tasks) from None
    closed = (forms.excess_maml, forms.excess_nal)
    z = [_z(est.mean[i], closed[i], est.se[i]) for i in range(2)]
    # Every sampled task with zero excess at w_MAML (possible when ν_H = σ = R = 0 and few tasks) leaves the
    # ratio undefined: null, never NaN.
    defined = bool(est.mean[0] > 0)
    out["monte_carlo"] = {
        "n": est.n,
        "seed": seed,
        "excess_maml": float(est.mean[0]),
        "excess_nal": float(est.mean[1]),
        "se_maml": float(est.se[0]),
        "se_nal": float(est.se[1]),
        "z_maml": z[0],
        "z_nal": z[1],
        "gain": float(est.mean[1] / est.mean[0]) if defined else None,
        "se_gain": float(est.ratio_se(1, 0)) if defined else None,
    }
    return out


def _z(estimate: float, exact: float, se: float) -> float:
    """(estimate − exact)/SE; 0 when both agree exactly with SE 0 (a deterministic instance)."""
    diff = float(estimate - exact)
    if se > 0:
        return diff / float(se)
    return 0.0 if abs(diff) <= 1e-12 * max(1.0, abs(exact)) else math.copysign(math.inf, diff)


class Inputs(NamedTuple):
    """What the command computes from: the instance, the Monte Carlo's size (None: closed forms only), the
    seed."""

    inst: EasyHard
    n_tasks: int | None
    seed: int


def inputs(args: argparse.Namespace) -> Inputs:
    """The parsed flags, validated (the Monte Carlo's budget included) before anything is computed."""
    inst = instance_from(args)
    n_tasks = count("mc", args.mc, low=2) if args.mc is not None else None
    seed = count("seed", args.seed, low=0)
    if n_tasks is not None:
        monte_carlo_budget(inst, n_tasks)
    return Inputs(inst, n_tasks, seed)


def result(given: Inputs) -> dict:
    """What ``--json`` prints (before :func:`json_safe`): :func:`compare` at ``given``. ``maml-theory sweep``
    calls this too, so that a sweep's row is the one-off command's output."""
    return compare(given.inst, given.n_tasks, given.seed)


def run(args: argparse.Namespace) -> int:
    result_ = result(inputs(args))
    # A z-score is infinite where a small sample's standard error is 0 (--mc 2, both tasks of one
    # deterministic type): JSON has no inf, so it is written as a string ("inf"), as everywhere in this tool.
    return emit(result_, args.json, lambda: table(result_))


def _ceiling_setting(r: dict) -> str:
    """Where the §3.6e ceiling bounds G: MAML trained as tested, one test step (said in full when the
    instance trains with another step size or tests with several steps, where it need not bound G)."""
    i = r["instance"]
    if i["alpha_train"] == i["alpha"] and i["inner_steps"] == 1:
        return "m_train = m"
    return "m_train = m, α_train = α, S = 1 only"


def _optimum_line(r: dict) -> str:
    best = r["optimal_alpha_train"]
    if best is None:
        return "  optimal α_train      every α_train (G does not depend on it here)"
    shown = " and ".join(f"{a:.6g}" for a in best)
    tie = ", tied" if len(best) > 1 else ""
    negative = "a negative one" if r["optimal_alpha_train_negative"] else "none negative"
    return (
        f"  optimal α_train      {shown}{tie} ({negative})   G there = {r['gain_at_optimal_alpha_train']:.6g}"
    )


def table(r: dict) -> str:
    i = r["instance"]
    ceiling = "unbounded" if r["gain_ceiling"] is None else f"{r['gain_ceiling']:.6g}"
    lines = [
        "Spec L: MAML vs NAL on easy and hard tasks (closed forms derived by sympy)",
        "instance: " + "  ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in i.items()),
        f"  hardness             g_m(ρ_H) = {r['g_hard']:.6g}   g_m(ρ_E) = {r['g_easy']:.6g}",
        f"  weight on w_H        NAL λ = {r['weight_hard_nal']:.6g}   MAML μ = {r['weight_hard_maml']:.6g}",
        f"  E_m(w_MAML)          {r['excess_maml']:.8g}",
        f"  E_m(w_NAL)           {r['excess_nal']:.8g}",
        f"  gain G               {r['gain']:.6g}   (ceiling §3.6e, for {_ceiling_setting(r)}: {ceiling})",
        f"  training step        α_train = {r['alpha_train']:g}   test-time steps S = {r['inner_steps']}",
        _optimum_line(r),
    ]
    mc = r.get("monte_carlo")
    if mc:
        lines += [
            f"Monte Carlo, {mc['n']} tasks, seed {mc['seed']} (estimate ± standard error, z vs closed form):",
            f"  E_m(w_MAML)          {mc['excess_maml']:.8g} ± {mc['se_maml']:.3g}   z = {mc['z_maml']:+.2f}",
            f"  E_m(w_NAL)           {mc['excess_nal']:.8g} ± {mc['se_nal']:.3g}   z = {mc['z_nal']:+.2f}",
            f"  gain G               {mc['gain']:.6g} ± {mc['se_gain']:.3g}"
            if mc["gain"] is not None
            else "  gain G               — (every sampled excess at w_MAML is 0: the ratio is undefined)",
        ]
    return "\n".join(lines)
