"""``maml-theory verify --explain ID``: everything about one claim in one place, as text or one JSON object.

For a reader who meets a claim id in a verdict, the report or the catalogue: its statement (printed from the
checked relations, :attr:`~maml_theory.theory.claims.Claim.statement`), its note, source and provenance, its
hypotheses (certain and uncertain) and ``where`` definitions as :func:`maml_theory.theory.notation.text`
prints them; how it is proved (the ``prove`` callable, where it is defined, whether it is slow and whether the
proof cache holds its outcome, :mod:`maml_theory.numerics.verification.proofs`); how it is checked on numbers
(the bound :class:`~maml_theory.numerics.verification.checks.Check`: its box, its observables, its search
budget and boundary parameters); and the verdict of a quick run (few instances, no search), added by the
caller (:func:`maml_theory.reports.verify_command.run`) under ``verdict``.

Source locations are ``file:line`` with the file relative to the repository root (the folder holding
``theory/``, ``numerics/`` and ``reports/``), or else to the working directory, and the line that of the
``def`` or ``lambda``, so that an editor opens it at the function.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import sympy as sp

from maml_theory import theory
from maml_theory.numerics import validation as v
from maml_theory.numerics.verification import engine, proofs
from maml_theory.numerics.verification.checks import Check
from maml_theory.numerics.verification.space import Param
from maml_theory.reports.verify_command import _num
from maml_theory.theory import notation
from maml_theory.theory.claims import Claim

SUMMARY_WIDTH = 90
"""A ``where`` definition longer than this (in text characters) is summarised in the text output: its first
characters, its length and its symbols (the JSON holds it whole)."""

CLOSE_MATCHES = 5
"""Close matches listed for an unknown id (difflib's ratio at least 0.6)."""

ROOT = Path(theory.__file__).resolve().parents[1]
"""The repository root (with the editable install; the package folder ``maml_theory`` when installed)."""


def claim_named(claim_id: str, claims: Sequence[Claim]) -> Claim:
    """The claim with id ``claim_id`` among ``claims``; otherwise ParameterError (``explain``) listing the
    close matches, or pointing at ``--list`` when nothing is close."""
    by_id = {c.id: c for c in claims}
    if claim_id in by_id:
        return by_id[claim_id]
    close = difflib.get_close_matches(claim_id, list(by_id), n=CLOSE_MATCHES)
    hint = f"close matches: {', '.join(close)}" if close else "see --list"
    raise v.ParameterError("explain", f"a registered claim id ({hint})", claim_id)


def location(fn: Callable[..., Any]) -> dict[str, Any]:
    """Where ``fn`` is defined: its qualified ``name``, ``file`` (:func:`display_path`) and ``line`` (that of
    its ``def`` or ``lambda``, decorators skipped); file and line are None when Python has no source for it.
    A ``functools.partial`` is located at its function, a callable object at its class."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    fn = inspect.unwrap(fn)
    target = fn if inspect.isroutine(fn) or inspect.isclass(fn) else type(fn)
    name = f"{target.__module__}.{target.__qualname__}"
    try:
        lines, first = inspect.getsourcelines(target)
        path = inspect.getsourcefile(target)
    except (OSError, TypeError):
        return {"name": name, "file": None, "line": None}
    skipped = next((i for i, line in enumerate(lines) if not line.lstrip().startswith("@")), 0)
    return {"name": name, "file": display_path(path), "line": first + skipped}


def display_path(path: str | None) -> str | None:
    """``path`` relative to the repository root, else to the working directory, else as it is."""
    if path is None:
        return None
    resolved = Path(path).resolve()
    for base in (ROOT, Path.cwd().resolve()):
        if resolved.is_relative_to(base):
            return str(resolved.relative_to(base))
    return os.fspath(path)


def explanation(claim: Claim, check: Check | None) -> dict[str, Any]:
    """Everything about ``claim`` as one dict (JSON once through :func:`engine.json_safe`), the proof cache
    as it is now; ``verdict`` None, for the caller to fill with :func:`with_verdict`."""
    proof = None
    if claim.prove is not None:
        stored = proofs.cached(claim)
        proof = {
            **location(claim.prove),
            "slow": claim.slow,
            "cached": None
            if stored is None
            else {"proved": stored.proved, "method": stored.method, "residual": stored.residual},
        }
    return {
        "id": claim.id,
        "title": claim.title,
        "statement": claim.statement,
        "note": claim.note,
        "source": claim.source,
        "provenance": str(claim.provenance),
        "hypotheses": [notation.text(h) for h in claim.hypotheses],
        "uncertain": [notation.text(h) for h in claim.uncertain],
        "where": [{"name": notation.text(n), "definition": notation.text(d)} for n, d in claim.where],
        "proof": proof,
        "check": None if check is None else _check(check),
        "verdict": None,
    }


def with_verdict(e: dict[str, Any], verdict: engine.Verdict, run: dict[str, Any]) -> dict[str, Any]:
    """``e`` with the ``verdict`` of a quick run made with the settings ``run`` (instances, seed, search)."""
    return {**e, "verdict": {**asdict(verdict), "run": run}}


def _check(check: Check) -> dict[str, Any]:
    derive = check.space.derive
    return {
        "parameters": [
            {
                "name": p.name,
                "low": p.low,
                "high": p.high,
                "integer": p.integer,
                "log": p.log,
                "fixed": p.fixed,
            }
            for p in check.space.params
        ],
        "derived_by": None if derive is None else location(derive),
        "observe": location(check.observe),
        "search_budget": check.search_budget,
        "boundary": dict(check.boundary),
    }


def text(claim: Claim, check: Check | None, e: dict[str, Any]) -> str:
    """The explanation ``e`` of ``claim`` as the terminal prints it: one labelled line per item, lists
    indented below."""
    lines = [
        f"{e['id']}: {e['title']}",
        f"statement:  {e['statement']}",
        f"note:       {e['note'] or '—'}",
        f"source:     {e['source']}",
        f"provenance: {e['provenance']}",
    ]
    lines += _listed("hypotheses", e["hypotheses"])
    lines += _listed("uncertain hypotheses", e["uncertain"])
    lines += _listed("where", [f"{notation.text(n)} = {_summary(d)}" for n, d in claim.where])
    lines += _proof_lines(e["proof"])
    lines += _check_lines(check, e["check"])
    lines += _verdict_lines(e["verdict"])
    return "\n".join(lines)


def _listed(label: str, items: list[str]) -> list[str]:
    return [f"{label}:" + ("" if items else " none"), *(f"  {x}" for x in items)]


def _summary(definition: sp.Basic) -> str:
    """A definition in full when it fits :data:`SUMMARY_WIDTH`; else its beginning, its length and the
    symbols it uses."""
    full = notation.text(definition)
    if len(full) <= SUMMARY_WIDTH:
        return full
    symbols = ", ".join(notation.text(s) for s in sorted(definition.free_symbols, key=lambda s: s.name))
    return f"{full[:SUMMARY_WIDTH]}… ({len(full)} characters in {symbols}; --json prints it whole)"


def _at(loc: dict[str, Any]) -> str:
    where = "source not available" if loc["file"] is None else f"{loc['file']}:{loc['line']}"
    return f"{loc['name']} ({where})"


def _proof_lines(proof: dict[str, Any] | None) -> list[str]:
    if proof is None:
        return ["proof:      none (no sympy proof; the numeric check alone judges it)"]
    stored = proof["cached"]
    cache = (
        "no cached outcome (the verifier proves it afresh)"
        if stored is None
        else f"cached outcome: {'proved' if stored['proved'] else 'not proved'} ({stored['method']})"
    )
    speed = "slow (about a minute of sympy)" if proof["slow"] else "not slow"
    return [f"proof:      {_at(proof)}", f"  {speed}; {cache}"]


def _check_lines(check: Check | None, c: dict[str, Any] | None) -> list[str]:
    if check is None or c is None:
        return ["check:      none (no numeric check is bound to it)"]
    lines = [f"check:      a box of {len(check.space.params)} parameters"]
    lines += [f"  {_param(p)}" for p in check.space.params]
    if c["derived_by"] is not None:
        lines.append(f"  derived parameters: {_at(c['derived_by'])}")
    lines.append(f"  observe: {_at(c['observe'])}")
    budget = c["search_budget"]
    lines.append(
        f"  search budget: {budget} evaluations" if budget else "  search budget: 0 (a statistical check)"
    )
    boundary = ", ".join(f"{n} up to {_num(x)}" for n, x in c["boundary"].items())
    lines.append(f"  boundary parameters: {boundary or 'none'}")
    return lines


def _param(p: Param) -> str:
    flags = [f for f, on in (("log scale", p.log), ("fixed", p.fixed)) if on]
    return p.describe() + (f" ({', '.join(flags)})" if flags else "")


def _verdict_lines(x: dict[str, Any] | None) -> list[str]:
    if x is None:
        return ["verdict:    not run (--no-run)"]
    n = f"{x['instances']}/{x['drawn']} instances admissible" if x["drawn"] else "no instances"
    run = x["run"]
    settings = f"{run['instances']} instances, seed {run['seed']}, no search, {x['seconds']:.2f} s"
    lines = [f"verdict:    {x['status']}, {n}, worst slack {_num(x['worst_slack'])} ({settings})"]
    if x["counterexample"]:
        lines.append(f"  reproduce: {x['counterexample']['reproduce']}")
    if x["note"]:
        lines.append(f"  {x['note']}")
    return lines
