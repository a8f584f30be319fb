"""The LaTeX report: both models with their conventions, every derivation step by step, every claim with its
verdict, and the figures; compiled to PDF by latexmk (pdflatex) when it is installed.

Each derivation is printed from its recorded steps (:meth:`maml_theory.theory.derivation.Derivation.latex`),
every line marked with its machine check (:meth:`maml_theory.theory.derivation.Derivation.checks`): a rewrite
of the line above by canonical forms, sympy or exact rational points; an operation (derivative, expectation,
task average, substitution, limit, recurrence) redone another way at exact random rational points; a
definition marked as such. Under each derivation stands the claim (or numeric route) that checks its result.
The claims table is :func:`maml_theory.numerics.verification.engine.verify` run on every registered claim; the
figures are :func:`maml_theory.reports.figures.build`. ``quick``: fewer instances, no worst-case or boundary
search, no minute-long proofs, the figures' quick configs (what CI builds)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from maml_theory.numerics.verification import engine
from maml_theory.reports import baselines_command, derive_command, figures, floor_command, verify_command
from maml_theory.reports import results as saved
from maml_theory.reports.figures.common import METHOD_LABELS
from maml_theory.theory import tex
from maml_theory.theory.claims import registered
from maml_theory.theory.derivation import Derivation
from maml_theory.theory.representation import model as R

FIGURES_FOLDER = "figures"
"""The report's figures go to this folder inside its own (the LaTeX includes them from there)."""

TEX_PACKAGES = "texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended latexmk"
"""Debian packages that compile the report."""

INSTANCES = {False: 100, True: 10}
"""Random instances per claim: full report, quick report."""

SPEC_L = """\
A task i has data x ~ N(0, Σ_i), y = ⟨w*_i, x⟩ + z with z ~ N(0, σ²) (σ the noise standard
deviation), and loss f_i(w) = ½ E[(⟨w, x⟩ − y)²] = ½ (w − w*_i)ᵀ Σ_i (w − w*_i) + σ²/2 (the ½ is in
the loss).

Two task types k ∈ {H, E} with probabilities p_H + p_E = 1, Σ_k = ρ_k I, and optima w* ~ N(w_k, ν_k
I) (ν_k a per-coordinate variance); R = ‖w_H − w_E‖. The general form allows any Σ_k, optimum
covariance V_k and number of types.

Adaptation: one step w ↦ w − αĝ(w), ĝ(w) = (1/m) Σ_j x_j(x_jᵀw − y_j) on m fresh samples (m = ∞: the
exact gradient). E_m(w) is the expected excess risk after it; w_MAML minimises the adapted objective
(trained with m_train), w_NAL the average loss; the gain is G = E_m(w_NAL)/E_m(w_MAML).
"""
SPEC_R = """\
Ground truth B_* ∈ R^{d×k} with B_*ᵀB_* = I_k; B_⊥ spans its complement. A task has head θ, data x ~
N(0, I_d), y = ⟨B_*θ, x⟩ + z, z ~ N(0, σ²); the model is ŷ = ⟨Bw, x⟩ with loss L(B, w; θ) = ½‖Bw −
B_*θ‖² + σ²/2 (empirical: (1/2m) Σ_j (⟨Bw, x_j⟩ − y_j)²).

A round has n tasks; Λ = (1/n) Σ_i θ_iθ_iᵀ, θ̄ = (1/n) Σ_i θ_i, M = B_*ΛB_*ᵀ, Δ = I − αBᵀB. One
inner step α, outer step β. ANIL adapts the head only, MAML both; the first-order versions hold the
adapted point fixed; NAL minimises the average loss with no inner step.

dist(B, B_*) = ‖B_⊥ᵀB̂‖₂ with B̂ an orthonormal basis of col(B): the sine of the largest principal
angle. The theory starts from w_0 = 0, αB_0ᵀB_0 = I_k, dist_0² < 0.9.
"""
PROVENANCE = """\
Provenance of every claim is stated plainly: derived (exact, proved here by sympy from the loss
definitions); reconstructed (a statement of the paper whose constants are unknown to us: the paper
bodies are not available, so spec R §5 reconstructs the theorem, and the verifier tests it and
searches for where it breaks); abstract (a qualitative claim of the paper's abstract made precise).
"""


@dataclass(frozen=True)
class Report:
    tex: Path
    pdf: Path | None
    message: str


def _tt(name: str) -> str:
    """A name in typewriter type with real underscores (LaTeX's \\_ draws a rule, which copies and searches
    as a space; cmtt has the glyph itself)."""
    return r"\texttt{" + name.replace("_", r"\char95{}") + "}"


def _section(title: str, body: str) -> str:
    return f"\\section{{{tex.text(title)}}}\n{body}\n"


def _paragraphs(text: str) -> str:
    """Blank-line separated paragraphs, each joined into one line of TeX."""
    return "\n\n".join(tex.text(" ".join(p.split())) for p in text.split("\n\n"))


def derivations(quick: bool) -> list[tuple[str, list[Derivation]]]:
    """(heading, derivations) for both specs."""
    out = [("Spec L", derive_command.landscape_derivations())]
    for method in R.METHODS:
        # Exact MAML's expected update takes sympy minutes, even at w = 0.
        finite = not quick and method != "maml"
        out.append((f"Spec R: {method}", derive_command.method_derivations(method, finite)))
    return out


RESULT_CLAIMS = {
    "L.task_loss": "L.loss.population",
    "L.inner_gradient": "L.adapted.curvature",
    "L.adapted_excess": "L.adapted.curvature",
    "L.adapted_excess.exact": "L.adapted.exact",
    "L.hardness": "L.adapted.hardness",
    "L.multistep": "L.gain.multistep",
    "L.mixture.objective": "L.solution.minimisers",
    "L.mixture.minimiser": "L.solution.minimisers",
    "L.two_type.weight": "L.two_type.weights",
    "L.two_type.ceiling": "L.gain.ceiling",
}
"""The claim that checks a derivation's result, where the derivation's id is not itself a claim's."""

ORACLE_CHECKED = ("R.task_gradient.", "R.update.", "R.expected.")
"""Derivations whose results the tests compare with the autograd oracle or with Monte Carlo of the simulator
(tests/test_representation_routes.py) rather than with a claim."""


def _result_check(d: Derivation, verdicts: dict[str, engine.Verdict]) -> str:
    claim = verdicts.get(RESULT_CLAIMS.get(d.id, d.id))
    if claim is not None:
        return f"Result checked by claim {_tt(claim.id)}: \\textbf{{{claim.status}}}."
    if d.id.startswith(ORACLE_CHECKED):
        return tex.text(
            "Result checked numerically: compiled and compared with the autograd oracle to 1e-9 (general w), "
            "or for expected updates with the mean of simulated updates within 6 standard errors "
            "(tests/test_representation_routes.py)."
        )
    return tex.text("Result not checked by a claim.")


def _derivation_section(quick: bool, verdicts: dict[str, engine.Verdict]) -> str:
    parts = []
    for heading, dvs in derivations(quick):
        parts.append(f"\\subsection{{{tex.text(heading)}}}")
        parts.extend(d.latex() + "\n\n" + _result_check(d, verdicts) for d in dvs)
    note = (
        "Each derivation is printed from the steps the code recorded while deriving, and every displayed "
        "equality is checked by machine and marked ✓ with how. A line that rewrites the line above is "
        "compared with it (sympy canonical forms in general dimension, and exact evaluation at random "
        "rational points). A line produced by an operation is checked by redoing the operation another way "
        "at exact random rational points in small concrete dimensions: a gradient by the directional "
        "derivative d/dt f(X + tV) at t = 0 against tr(∇ᵀV); an expectation over Gaussians by expanding the "
        "explicit polynomial in the Gaussian coordinates and averaging it monomial by monomial (not by Wick "
        "pairing); a task average by averaging over explicit heads; a substitution by evaluating the "
        "expression before it at the substituted values; a limit by the leading coefficients; a solved "
        "recurrence by iterating it. A line that defines its left-hand side says so. Below each derivation "
        "stands what checks its result: a claim (with its verdict from the claims section) or the numeric "
        "route of the tests."
    )
    return _section("Derivations", tex.text(note) + "\n\n" + "\n\n".join(parts))


def _statement(claim_id: str) -> str:
    """A claim's statement typeset as mathematics from its relations (:meth:`Claim.latex`), then its note."""
    claim = next(c for c in registered() if c.id == claim_id)
    # Plain parentheses instead of \left( \right): inline mathematics can then break inside them, at an
    # operator, where a long statement meets the end of the line.
    math = tex.math(claim.latex()).replace(r"\left(", "(").replace(r"\right)", ")")
    return f"${math}$" + (rf"\quad ({tex.text(claim.note)})" if claim.note else "")


def _claims_section(verdicts: list[engine.Verdict], quick: bool) -> str:
    rows = []
    for v in verdicts:
        slack = "--" if v.worst_slack is None else f"{v.worst_slack:.4g}"
        detail = []
        if v.counterexample:
            params = ", ".join(f"{k}={x:.4g}" for k, x in v.counterexample["parameters"].items())
            detail.append(f"counterexample: {params}")
        for b in v.boundary:
            up = "--" if b["holds_up_to"] is None else f"{b['holds_up_to']:.4g}"
            beyond = "" if b["fails_from"] is None else f", fails from {b['fails_from']:.4g}"
            detail.append(f"boundary: holds up to {b['parameter']} = {up}{beyond}")
        if v.note:
            detail.append(v.note)
        cells = [
            _tt(v.id).replace(".", r".\allowbreak{}"),  # long ids wrap at their dots
            tex.text(v.provenance),
            rf"\textbf{{{v.status}}}",
            str(v.instances) if v.drawn else "--",
            rf"\mbox{{{slack}}}",
            tex.text("; ".join(detail)),
        ]
        rows.append(" & ".join(cells) + r" \\")
        rows.append(rf"\multicolumn{{6}}{{p{{0.95\textwidth}}}}{{\footnotesize {_statement(v.id)}}} \\[2pt]")
    mode = f"{INSTANCES[quick]} random instances per claim" + (
        "; quick report: no worst-case or boundary search, minute-long proofs skipped" if quick else ""
    )
    widths = (0.22, 0.13, 0.12, 0.05, 0.10, 0.22)  # of \textwidth; with the column gaps, 0.99 of it
    columns = "".join(rf">{{\raggedright\arraybackslash}}p{{{w}\textwidth}}" for w in widths)
    head = (
        f"{{\\small\\begin{{longtable}}{{{columns}}}\n\\toprule\n"
        "claim & provenance & status & inst. & worst slack & details \\\\\n\\midrule\n\\endhead\n"
    )
    intro = tex.text(
        "Verdicts of maml-theory verify (" + mode + "). Slack: observed over bound for an inequality "
        "(at most 1 holds), relative residual for an identity. Below each claim, its statement as checked "
        "(printed from the claim's relations) and, in parentheses, its setting."
    )
    return _section("Claims", intro + "\n\n" + head + "\n".join(rows) + "\n\\bottomrule\n\\end{longtable}}")


def _num(x: float | None, digits: int = 4) -> str:
    return "--" if x is None else f"{x:.{digits}f}"


def _quick(name: str, command: ModuleType) -> dict[str, Any]:
    """A record like a saved one (:mod:`maml_theory.reports.results`) of the command's quick configuration
    (its ``QUICK`` arguments), computed now (``saved`` None)."""
    args = saved.parse(name, command.add_parser, command.QUICK)
    line = saved.command_line(name, command.add_parser, args)
    return {"command": "maml-theory " + " ".join(line), "saved": None, "result": command.compute(args)}


def _source(record: dict[str, Any]) -> str:
    """Which result a section shows: saved (by which command, when) or computed for this report."""
    if record["saved"] is None:
        return f"the quick configuration, computed for this report: {record['command']}"
    return f"saved by {record['command']} on {record['saved']}"


def _exponent(fit: dict, name: str) -> str:
    """A fitted exponent with its interval, or -- for a factor that did not vary."""
    if name not in fit["exponents"]:
        return "--"
    low, high = fit["intervals"][name]
    return f"${fit['exponents'][name]:+.2f}$ [${low:+.2f}$, ${high:+.2f}$]"


def _floor_section(quick: bool) -> str:
    """The finite-sample floor: the saved ``maml-theory floor --save`` result, else its quick grid."""
    record = None if quick else saved.load("floor")
    if record is None:
        record = _quick("floor", floor_command)
    r = record["result"]
    source = _source(record)
    intro = tex.text(
        "With label noise and fresh samples every round, dist(B_t, B_*) falls linearly and then fluctuates "
        "around a floor. Claims R.floor.unbiased.* (above) prove that at a point of the truth's span the "
        "expected update has no part outside it, for every m_in and m_out, so the floor is variance only. "
        f"Measured floor: the median over {r['runs']} runs of the mean distance over the last quarter of "
        f"T = {r['T']} steps, with a 95% bootstrap interval; a grid point where a run diverged has no floor. "
        f"Results: {source}."
    )
    names = {"d": "d", "n_m_out": "n·m_out", "m_in": "m_in", "sigma": "σ"}
    fit_rows = []
    for method, f in r["fits"].items():
        cells = ["--", tex.text("no fit"), "", "", ""]
        if f is not None:
            cells = [str(f["points"]), *(_exponent(f, name) for name in names)]
        fit_rows.append(" & ".join([tex.text(method), *cells]) + r" \\")
    guessed = " & ".join(f"${r['guessed_exponents'][n]:+.1f}$" for n in names)
    fits = (
        "{\\small\\begin{tabular}{@{}llllll@{}}\n\\toprule\n"
        + " & ".join(["method", "points", *(tex.text(v) for v in names.values())])
        + " \\\\\n\\midrule\n"
        + "\n".join(fit_rows)
        + f"\n\\midrule\n{tex.text('guessed')} & & {guessed} \\\\\n"
        + "\\bottomrule\n\\end{tabular}}"
    )
    point_rows = []
    for p in r["points"]:
        ci = "--" if p["ci"] is None else f"[{p['ci'][0]:.4f}, {p['ci'][1]:.4f}]"
        div = str(p["diverged"]) + ("" if not p["diverged"] else f" (step {p['diverged_at']})")
        cells = [
            p["method"],
            p["d"],
            p["n"],
            p["m_in"],
            p["m_out"],
            f"{p['sigma']:g}",
            _num(p["floor"]),
            ci,
            div,
        ]
        point_rows.append(" & ".join(tex.text(str(c)) for c in cells) + r" \\")
    points = (
        "{\\small\\begin{longtable}{lrrrrrrll}\n\\toprule\n"
        + " & ".join(
            tex.text(h) for h in ("method", "d", "n", "m_in", "m_out", "σ", "floor", "95% CI", "diverged")
        )
        + " \\\\\n\\midrule\n\\endhead\n"
        + "\n".join(point_rows)
        + "\n\\bottomrule\n\\end{longtable}}"
    )
    fitted = tex.text(
        "Fitted exponents of the floor (log-log least squares, 95% bootstrap intervals), and the exponents "
        "the reconstructed bound dist_∞ ≤ C(√(kd/(n·m_out)) + √(k/m_in))·σ̃ suggests where one term dominates:"
    )
    return _section("Finite samples: the floor", f"{intro}\n\n{fitted}\n\n{fits}\n\n{points}")


def _baselines_section(quick: bool) -> str:
    """The baselines against the meta-learners: the saved ``maml-theory baselines --save`` result, else its
    quick configuration."""
    record = (None if quick else saved.load("baselines")) or _quick("baselines", baselines_command)
    r = record["result"]
    intro = tex.text(
        "The estimators a practitioner would use instead of meta-learning, on the same sampled data: the "
        "method of moments (its expectation is claim R.baselines.mom), alternating minimisation and "
        f"Burer–Monteiro descent. Median dist(B̂, B_*) over {r['runs']} runs against the total samples used "
        "(a budget pays for whole rounds of n(m_in + m_out) samples; the meta-learners take one outer step "
        "per round), and the samples each needs to reach 0.1 and 0.01 (a dash where no budget does). "
        f"Results: {_source(record)}."
    )
    head = ["method", *(str(b) for b in r["budgets"]), "to 0.1", "to 0.01"]
    rows = []
    for name, entry in r["methods"].items():
        cells = [METHOD_LABELS[name]]
        cells += [baselines_command.dist_text(p["dist_median"]) for p in entry["dist"]]
        cells += [baselines_command.count_text(entry[f"samples_to_{t}"]) for t in ("0.1", "0.01")]
        rows.append(" & ".join(tex.text(c) for c in cells) + r" \\")
    columns = "l" + "r" * (len(head) - 1)
    table = (
        f"{{\\small\\begin{{tabular}}{{{columns}}}\n\\toprule\n"
        + " & ".join(tex.text(h) for h in head)
        + " \\\\\n\\midrule\n"
        + "\n".join(rows)
        + "\n\\bottomrule\n\\end{tabular}}"
    )
    return _section("Finite samples: the baselines", f"{intro}\n\n{table}")


def _figures_section(results: list[figures.FigureResult]) -> str:
    parts = []
    for f in results:
        parts.append(
            "\\begin{figure}[p]\n\\centering\n"
            f"\\includegraphics[width=\\textwidth]{{{FIGURES_FOLDER}/{f.pdf.name}}}\n"
            f"\\caption{{\\texttt{{{f.name}}}: {tex.text(f.caption)}}}\n"
            f"\\label{{fig:{f.name}}}\n\\end{{figure}}"
        )
    refs = ", ".join(f"\\ref{{fig:{f.name}}}" for f in results)
    intro = tex.text(
        "Each figure is made from a TOML config with its seed, carried in the figure file's metadata."
    )
    return _section("Figures", f"{intro} Figures {refs}.\n\n" + "\n\n".join(parts))


PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,amssymb,graphicx,booktabs,longtable,array}
\usepackage[hidelinks]{hyperref}
\hypersetup{
  pdftitle={maml-theory: derivations, claims and figures},
  pdfauthor={maml-theory report (generated)},
  pdfsubject={Closed forms derived with sympy and claims about MAML and ANIL checked against numerics},
  pdfkeywords={MAML, ANIL, meta-learning, sympy, verification, representation learning}
}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{4pt}
\title{maml-theory: derivations, claims and figures}
\author{generated by \texttt{maml-theory report}}
\date{}
"""


def write(out: Path, *, quick: bool = False, seed: int = 0, progress: Callable[[str], None] = print) -> Path:
    """Derive, verify and draw; write ``out/report.tex`` (and the figures under ``out/figures``)."""
    out.mkdir(parents=True, exist_ok=True)
    progress("deriving")
    # First, in this process: the derivations stay cached here, and the verifying workers forked below
    # inherit them instead of repeating the sympy work of the claims that share them.
    derivations(quick)
    progress("verifying the claims")
    verify_command.builtin()
    claims = [c for c in registered("L.") + registered("R.") if not (quick and c.slow)]
    skipped = [c.id for c in registered("L.") + registered("R.") if quick and c.slow]
    # The verify command's worker processes, one per core (verdicts do not depend on how many).
    verdicts = list(
        verify_command.verdicts(
            claims,
            jobs=os.cpu_count() or 1,
            instances=INSTANCES[quick],
            seed=seed,
            search=not quick,
            use_cache=True,
            owner={},
        )
    )
    derivation_text = _derivation_section(quick, {v.id: v for v in verdicts})
    progress("measuring the finite-sample floor")
    floor_text = _floor_section(quick)
    progress("comparing with the baselines")
    baselines_text = _baselines_section(quick)
    progress("drawing the figures")
    results = figures.build(None, out / FIGURES_FOLDER, quick=quick)
    body = [
        _section("Provenance", _paragraphs(PROVENANCE)),
        _section("Spec L: the task landscape", _paragraphs(SPEC_L)),
        _section("Spec R: representation learning", _paragraphs(SPEC_R)),
        derivation_text,
        _claims_section(verdicts, quick),
        floor_text,
        baselines_text,
        _figures_section(results),
    ]
    if skipped:
        names = ", ".join(_tt(c).replace(".", r".\allowbreak{}") for c in skipped)
        body.insert(-4, tex.text("Not run in the quick report (minute-long proofs): ") + names + ".")
    document = PREAMBLE + "\\begin{document}\n\\maketitle\n\\tableofcontents\n" + "\n".join(body)
    path = out / "report.tex"
    path.write_text(document + "\\end{document}\n")
    return path


def compile_pdf(tex_path: Path) -> Report:
    """latexmk -pdf in the report's folder; without latexmk, the .tex stays and the message says what to
    install. A LaTeX error raises :class:`LatexError` with the log's first error lines."""
    if shutil.which("latexmk") is None:
        return Report(
            tex_path, None, f"latexmk not found: wrote {tex_path}; to compile it, install {TEX_PACKAGES}"
        )
    cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", tex_path.name]
    done = subprocess.run(cmd, cwd=tex_path.parent, capture_output=True, text=True)
    log = (
        tex_path.with_suffix(".log").read_text(errors="replace")
        if tex_path.with_suffix(".log").exists()
        else ""
    )
    if done.returncode != 0:
        errors = [line for line in log.splitlines() if line.startswith(("!", "./")) or "Error" in line]
        raise LatexError("\n".join(errors[:10]) or done.stdout[-2000:])
    undefined = [line for line in log.splitlines() if "undefined" in line.lower()]
    if undefined:
        raise LatexError("\n".join(undefined[:10]))
    pdf = tex_path.with_suffix(".pdf")
    return Report(tex_path, pdf, f"wrote {pdf}")


class LatexError(RuntimeError):
    """pdflatex stopped on an error, or left a reference undefined."""
