"""``maml-theory dynamics``: spec R's representation dynamics of one method, population or finite-sample.

A thin layer over :func:`maml_theory.numerics.representation.dynamics.run`. ``--method`` names the preset
whose adapted blocks and order are used; ``--inner-steps S`` changes its number of inner steps (the method
family of :mod:`maml_theory.theory.method`) and ``--width H`` the hidden layer's width (B is d×H, H ≥ k).
"""

from __future__ import annotations

import argparse
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from maml_theory.numerics import validation as v
from maml_theory.numerics.representation import dynamics as simulated
from maml_theory.numerics.representation.instances import METHODS, Instance
from maml_theory.reports.arguments import ARRAY_NAMES, count, emit, number
from maml_theory.theory.method import PRESETS, Method

_DEFAULTS = Instance()
# flag, field, help
_PARAMETERS = (
    ("--d", "d", "ambient dimension"),
    ("--k", "k", "representation dimension, 1 <= k <= d"),
    ("--n", "n", "tasks per round"),
    ("--alpha", "alpha", "inner step size α > 0"),
    ("--beta", "beta", "outer step size β > 0"),
    ("--T", "T", "outer steps (>= 0)"),
    ("--sigma", "sigma", "label-noise STANDARD DEVIATION σ (>= 0)"),
    ("--mu", "mu", "heads ~ N(0, diag(1, …, 1, µ²)) (µ >= 0)"),
    ("--m-in", "m_in", "inner-step samples per task (with --m-out; default: population)"),
    ("--m-out", "m_out", "outer-gradient samples per task (with --m-in)"),
    ("--width", "width", "hidden layer width H, k <= H <= d: B is d×H, w has H entries (default: k)"),
)
_ARRAYS = ARRAY_NAMES


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "dynamics",
        help="representation learning by ANIL, FO-ANIL, MAML, FO-MAML or NAL (spec R)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("--method", required=True, choices=METHODS, help="the algorithm")
    p.add_argument(
        "--inner-steps",
        default=None,
        metavar="S",
        help="inner steps S of the method's adaptation (>= 1; 0 only for nal) [default: 1, nal 0]",
    )
    add_instance_arguments(p)
    p.add_argument(
        "--expected",
        action="store_true",
        help="instead of a run: one expected finite-sample step from the derived closed form, at the point "
        "and task set of --init FILE.npz, with --m-in and --m-out (one inner step, width k)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def add_instance_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of a spec R instance (read back by :func:`instance_from`), its seed and its runs: shared by
    ``dynamics`` and ``baselines``."""
    for flag, field, text in _PARAMETERS:
        default = getattr(_DEFAULTS, field)
        p.add_argument(
            flag,
            dest=field,
            default=None,
            metavar="X",
            help=text + ("" if field == "width" else f" [default: {default}]"),
        )
    p.add_argument(
        "--fixed-tasks", action="store_true", help="one task set drawn once and reused every round"
    )
    p.add_argument("--sign-symmetric", action="store_true", help="task sets of pairs θ, −θ (so θ̄_t = 0)")
    p.add_argument("--seed", default="0", metavar="S", help="seed [default: 0]")
    p.add_argument("--runs", default="1", metavar="R", help="independent runs [default: 1]")
    p.add_argument(
        "--init",
        default="theory",
        metavar="theory|random|FILE.npz",
        help="theory: w0 = 0, αB0ᵀB0 = I, dist0² < 0.9 (by rejection: small d only); "
        "random: B0 ~ N(0, 1/(αd)), w0 ~ N(0, 1/H); FILE.npz: given arrays B0 (d×H), w0 (H), "
        "B_star (d×k, orthonormal columns), heads (n×k, the fixed task set), d, k, H, n defaulting to "
        "their shapes [default: theory]",
    )


def load_arrays(path: str) -> dict[str, np.ndarray]:
    """The four arrays of an .npz file, loaded without pickle."""
    allowed = f"a readable .npz file holding the arrays {', '.join(_ARRAYS)}"
    try:
        loaded = np.load(Path(path), allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("one array (an .npy file), not an .npz archive of arrays")
        with loaded as f:
            arrays = {name: np.array(f[name]) for name in f.files}
    except EOFError:  # numpy's answer to an empty file
        raise v.ParameterError("init", allowed, f"{path} (an empty file)") from None
    # A truncated or corrupted archive: BadZipFile (not a zip, a bad CRC) or zlib.error (a compressed member).
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error) as e:
        raise v.ParameterError("init", allowed, f"{path} ({type(e).__name__}: {e})") from None
    if sorted(arrays) != sorted(_ARRAYS):
        raise v.ParameterError("init", allowed, f"{path} with arrays {sorted(arrays)}")
    return arrays


def instance_from(args: argparse.Namespace, arrays: dict[str, np.ndarray] | None) -> Instance:
    given = {f: number(getattr(args, f)) for _, f, _ in _PARAMETERS if getattr(args, f) is not None}
    if arrays is not None:
        if "mu" in given:
            allowed = "left out with --init FILE.npz (its heads are the task set)"
            raise v.ParameterError("mu", allowed, args.mu)
        # The arrays fix the shapes unless the flags say otherwise (then draw_problem names the mismatch).
        B0, w0 = arrays["B0"], arrays["w0"]
        if np.ndim(B0) != 2:
            raise v.ParameterError("B0", "a d×H array", f"an array of shape {np.shape(B0)}")
        if np.ndim(w0) == 1 and w0.shape[0] != B0.shape[1]:
            allowed = f"a vector as long as B0 is wide (B0 is {B0.shape[0]}×{B0.shape[1]})"
            raise v.ParameterError("w0", allowed, f"a vector of length {w0.shape[0]}")
        given.setdefault("d", B0.shape[0])
        star = arrays["B_star"]
        given.setdefault("k", star.shape[1] if np.ndim(star) == 2 else B0.shape[1])
        given.setdefault("width", B0.shape[1])
        if np.ndim(arrays["heads"]) == 2:
            given.setdefault("n", arrays["heads"].shape[0])
        given.update(init="given", fixed_tasks=True)
    else:
        given.update(init=args.init, fixed_tasks=args.fixed_tasks)
    return Instance(sign_symmetric=args.sign_symmetric, **given)


def predicted_rate(alpha: float, beta: float, lambda_min: float) -> float:
    """Spec R §4.6's 1 − βαλ_min(Λ), evaluated from claim R.rate."""
    # Imported here: spec R's claims take seconds of sympy, which only a fixed task set needs.
    from maml_theory.theory.claims import registered
    from maml_theory.theory.representation import claims as _claims  # noqa: F401  (registers R.rate)

    (rate,) = registered("R.rate")
    return rate.bound({"alpha": alpha, "beta": beta, "lambda_min": lambda_min})


def method_from(name: str, inner_steps: str | None) -> Method:
    """The preset ``name`` with ``inner_steps`` (the flag's text; None keeps the preset's), else
    ParameterError naming inner_steps: an integer >= 1 for a meta-learner, 0 for nal."""
    preset = PRESETS[name]
    if inner_steps is None:
        return preset
    steps = count("inner_steps", inner_steps, low=0)
    if (steps == 0) != (preset.adapt == "none"):
        allowed = (
            "0 for nal (no inner step)"
            if preset.adapt == "none"
            else f"an integer >= 1 for {name} (0 is nal)"
        )
        raise v.ParameterError("inner_steps", allowed, inner_steps)
    return preset.with_inner_steps(steps)


def dynamics(
    method: Method | str,
    inst: Instance,
    *,
    seed: int = 0,
    runs: int = 1,
    arrays: dict[str, np.ndarray] | None = None,
) -> dict:
    """The command's result from Python: the simulated summary and ``predicted_rate``, spec R §4.6's
    1 − βαλ_min(Λ) evaluated from claim R.rate for a meta-learner with one inner step and a k-wide layer
    (the claim's setting) on a fixed task set (else None)."""
    out = simulated.run(method, inst, seed=seed, runs=runs, arrays=arrays)
    lam_min = out.pop("lambda_min")
    predicted = None
    one_step = out["inner_steps"] == 1 and inst.width == inst.k
    if lam_min is not None and out["method"] != "nal" and one_step:
        predicted = predicted_rate(inst.alpha, inst.beta, lam_min)
    out["predicted_rate"] = predicted
    out["fixed_tasks"] = inst.fixed_tasks
    return out


IMPLIED_FIXED_TASKS = (
    "--init FILE.npz fixes the task set to the file's heads (as --fixed-tasks): the same n tasks every round"
)


class Inputs(NamedTuple):
    """What the command computes from: the method, the instance, the ``--init`` file's arrays (or None), the
    seed and the number of runs."""

    method: Method
    inst: Instance
    arrays: dict[str, np.ndarray] | None
    seed: int
    runs: int
    implied_fixed_tasks: bool


def inputs(args: argparse.Namespace) -> Inputs:
    """The parsed flags, validated (and the ``--init`` file read) before anything is computed."""
    method = method_from(args.method, args.inner_steps)
    arrays = None if args.init in ("theory", "random") else load_arrays(args.init)
    inst = instance_from(args, arrays)
    seed = count("seed", args.seed, low=0)
    runs = count("runs", args.runs, low=1)
    return Inputs(method, inst, arrays, seed, runs, arrays is not None and not args.fixed_tasks)


def result(given: Inputs) -> dict:
    """What ``--json`` prints (before :func:`json_safe`): :func:`dynamics` at ``given``, with a note when the
    ``--init`` file implied a fixed task set. ``maml-theory sweep`` calls this too, so that a sweep's row is
    the one-off command's output."""
    out = dynamics(given.method, given.inst, seed=given.seed, runs=given.runs, arrays=given.arrays)
    if given.implied_fixed_tasks:
        out["note"] = IMPLIED_FIXED_TASKS
    return out


def expected_step(given: Inputs) -> dict:
    """One expected outer step (B⁺, w⁺) = (B_0, w_0) − β·(E[G_B], E[G_w]) at the ``--init`` file's point and
    task set, the expectation over the round's inner (m_in) and outer (m_out) batches taken from the derived
    closed form (claims ``R.expected.*``; it does not depend on m_out). ParameterError, before any sympy work,
    without finite samples or for a method the closed forms do not cover (s ≠ 1, h ≠ k)."""
    inst, arrays = given.inst, given.arrays
    if not inst.finite:
        allowed = "an integer >= 1 with --expected (the expectation is over finite batches; with --m-out)"
        raise v.ParameterError("m_in", allowed, None)
    if given.method.inner_steps > 1:
        allowed = "1 with --expected (the expected updates are derived for one inner step; nal has none)"
        raise v.ParameterError("inner_steps", allowed, given.method.inner_steps)
    if inst.width != inst.k:
        raise v.ParameterError(
            "width", f"k = {inst.k} with --expected (the expected updates are derived for B d×k)", inst.width
        )
    # Imported here: compiling the expected update takes sympy seconds (exact MAML's about twenty).
    from maml_theory.numerics.representation import closed_form

    B0, w0 = (np.asarray(arrays[name], dtype=np.float64) for name in ("B0", "w0"))
    G_B, G_w = closed_form.update(
        given.method.name,
        B0,
        w0,
        np.asarray(arrays["B_star"], dtype=np.float64),
        np.asarray(arrays["heads"], dtype=np.float64),
        inst.alpha,
        sigma=inst.sigma,
        m_in=inst.m_in,
    )
    return {
        "method": given.method.name,
        "m_in": inst.m_in,
        "m_out": inst.m_out,
        "B_next": (B0 - inst.beta * G_B).tolist(),
        "w_next": (w0 - inst.beta * G_w).tolist(),
    }


def run(args: argparse.Namespace) -> int:
    given = inputs(args)
    if args.expected:
        if given.arrays is None:
            allowed = "a FILE.npz with --expected: the point B0, w0 and the task set to step from"
            raise v.ParameterError("init", allowed, args.init)
        out = expected_step(given)
        return emit(out, args.json, lambda: _expected_table(given.inst, out))
    out = result(given)
    return emit(out, args.json, lambda: table(given.inst, out))


def _expected_table(inst: Instance, r: dict) -> str:
    lines = [
        f"Spec R: {r['method']}, one expected step over batches of m_in = {r['m_in']}, m_out = {r['m_out']} "
        f"(α={inst.alpha:g} β={inst.beta:g} σ={inst.sigma:g}; the --init file's point and {inst.n} tasks)",
        "B_next =",
        *("  " + " ".join(f"{x:+.6e}" for x in row) for row in r["B_next"]),
        "w_next = " + " ".join(f"{x:+.6e}" for x in r["w_next"]),
    ]
    return "\n".join(lines)


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3e}"


def table(inst: Instance, r: dict) -> str:
    mode = "population" if not inst.finite else f"m_in = {inst.m_in}, m_out = {inst.m_out}"
    tasks = "fixed task set" if inst.fixed_tasks else "fresh tasks each round"
    family = f" s={r['inner_steps']}" if r["inner_steps"] != PRESETS[r["method"]].inner_steps else ""
    family += f" h={inst.width}" if inst.width != inst.k else ""
    runs = f"{r['runs']} run{'s' if r['runs'] > 1 else ''}"
    lines = [
        f"Spec R: {r['method']} ({mode}; d={inst.d} k={inst.k}{family} n={inst.n} α={inst.alpha:g} "
        f"β={inst.beta:g} σ={inst.sigma:g} µ={inst.mu:g}; {tasks}; {runs})",
    ]
    dist, w_norm, outside = r["dist"], r["w_norm"], r.get("outside_norm")
    several = isinstance(dist, dict)
    name = "dist(B_t, B_*)" if outside is None else "dist_h(B_t, B_*)"
    header = f"  step    {name}" + ("  [p10, p90]" if several else "") + "    ‖w_t‖"
    lines.append(header + ("" if outside is None else "    ‖B_⊥ᵀB_t‖_F"))
    for t in sorted({0, inst.T // 4, inst.T // 2, 3 * inst.T // 4, inst.T}):
        if several:
            band = f"  [{_fmt(dist['p10'][t])}, {_fmt(dist['p90'][t])}]"
            line = f"  {t:>4}    {_fmt(dist['median'][t])}{band}    {_fmt(w_norm['median'][t])}"
            extra = None if outside is None else outside["median"][t]
        else:
            line = f"  {t:>4}    {_fmt(dist[t])}    {_fmt(w_norm[t])}"
            extra = None if outside is None else outside[t]
        lines.append(line + ("" if outside is None else f"    {_fmt(extra)}"))
    predicted = (
        "" if r["predicted_rate"] is None else f"   (predicted 1 − βαλ_min(Λ) = {r['predicted_rate']:.6f})"
    )
    rate = "—" if r["rate"] is None else f"{r['rate']:.6f}"
    lines.append(f"  rate per step over the last half: {rate}{predicted}")
    if "singular_values" in r:
        values = r["singular_values"] if r["runs"] == 1 else r["singular_values"][0]
        which = "" if r["runs"] == 1 else " (run 1)"
        lines.append(f"  singular values of B_T{which}: " + ", ".join(_fmt(x) for x in values))
    if "note" in r:
        lines.append(f"  note: {r['note']}")
    diverged = r["diverged"] if isinstance(r["diverged"], list) else [r["diverged"]]
    at = r["diverged_at"] if isinstance(r["diverged_at"], list) else [r["diverged_at"]]
    if any(diverged):
        steps = ", ".join(str(t) for t in at if t is not None)
        lines.append(f"  DIVERGED: {sum(diverged)} of {len(diverged)} run(s), at step(s) {steps}")
    return "\n".join(lines)
