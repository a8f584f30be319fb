"""The verifier: a claim in, a verdict out.

For one claim:

1. its ``prove`` (sympy) is run, or its outcome read from the proof cache
   (:mod:`maml_theory.numerics.verification.proofs`);
2. with a numeric :class:`~maml_theory.numerics.verification.checks.Check`, N random instances are drawn from
  the check's
   space (seeded per claim: the draws of a claim do not depend on which other claims run), the admissible ones
   evaluated, and the worst slack kept (observed over bound for an inequality lhs ≤ rhs, the relative residual
   for an identity: :class:`maml_theory.theory.claims.Evaluation`);
3. a worst-case search: Nelder–Mead on the slack (an identity's residual) over the unit box of the space,
   started from the worst random instances; it reports how close the claim comes to failing, or breaks it;
4. a failure is shrunk the way hypothesis shrinks: each parameter in turn is moved towards its simple value
   (bisection) and then rounded to as few significant digits as keep it failing;
5. for a reconstructed claim with uncertain hypotheses, a boundary search per named parameter: the uncertain
   hypotheses are dropped, the parameter drawn up to the check's limit and bisected along the lowest failure's
   line, and the largest value up to which every instance tried holds is reported with the smallest failing
   one.

Statuses: ``proved`` (sympy, and no numeric failure), ``holds`` (no proof; every admissible instance and the
search hold), ``fails`` (a counterexample, from the instances or the search, or a proof that did not go
through while a numeric check failed), ``inconclusive`` (not proved and nothing admissible to evaluate, or
sympy could not decide and there is no numeric check), ``error`` (the claim or its observables raised, or
gave NaN, at an admissible instance, which the note names: NaN is never a verdict). Only the points of a
check's box that meet the claim's hypotheses are admissible.
A diverged simulation at an admissible instance is a failure of the claim there, reported with its step.
"""

from __future__ import annotations

import math
import time
import traceback
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import scipy.optimize

from maml_theory.numerics.verification import proofs
from maml_theory.numerics.verification.checks import Check, Diverged, Inadmissible, check_of
from maml_theory.numerics.verification.space import Param, Space
from maml_theory.theory import notation
from maml_theory.theory.claims import Claim

SEARCH_STARTS = 3
"""Worst random instances the worst-case search starts from (each gets a third of the check's budget)."""
SHRINK_PASSES = 2
BISECTIONS = 12


@dataclass(frozen=True)
class Unmet:
    """Why an instance is not admissible: the ``condition`` it breaks (a parameter's range, or a hypothesis
    as sympy prints it) and the ``values`` that break it."""

    condition: str
    values: str


@dataclass(frozen=True)
class Outcome:
    """One instance: ``kind`` is ``inadmissible`` (with what is ``unmet``), ``holds``, ``fails`` or
    ``diverged`` (a failure)."""

    kind: str
    params: dict[str, float]
    slack: float = math.nan
    lhs: float = math.nan
    rhs: float = math.nan
    step: int | None = None
    unmet: Unmet | None = None

    @property
    def failed(self) -> bool:
        return self.kind in ("fails", "diverged")


class EvaluationError(Exception):
    """An admissible instance at which the claim cannot be judged: its observables or its relation raised,
    or a side or the slack came out NaN (NaN is never a verdict). The message names the instance."""


@dataclass
class Verdict:
    """The report of one claim (its JSON is :meth:`json`)."""

    id: str
    title: str
    source: str
    provenance: str
    statement: str
    status: str = "inconclusive"
    instances: int = 0
    drawn: int = 0
    worst_slack: float | None = None
    worst_instance: dict[str, float] | None = None
    counterexample: dict[str, Any] | None = None
    worst_case: dict[str, Any] | None = None
    boundary: list[dict[str, Any]] = field(default_factory=list)
    proof: dict[str, Any] | None = None
    note: str = ""
    seconds: float = 0.0

    def json(self) -> dict[str, Any]:
        return {k: json_safe(v) for k, v in asdict(self).items()}


def json_safe(x: Any) -> Any:
    """JSON has no inf or NaN: such numbers become strings ("inf") so that the output stays valid JSON."""
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [json_safe(v) for v in x]
    return x


def evaluate(check: Check, params: Mapping[str, float], *, relaxed: bool = False) -> Outcome:
    """The claim of ``check`` at one instance (its drawn parameters; the derived ones are added here).

    An instance outside the check's box, or one that breaks a hypothesis (all but the uncertain ones when
    ``relaxed``), or that the observables find degenerate, is ``inadmissible``: the claim says nothing there.
    Raises :class:`EvaluationError` where an admissible instance cannot be judged."""
    space = check.space
    outside = space.outside(params)
    if outside is not None:
        return Outcome(
            "inadmissible", dict(params), unmet=Unmet(outside.describe(), point(params, [outside.name]))
        )
    params = space.complete(params)
    claim = check.claim

    def failure(reason: str) -> EvaluationError:
        return EvaluationError(f"{reason} at {point(params, space.names)}")

    try:
        values = check.values(params)
    except Diverged as e:
        return Outcome("diverged", params, math.inf, step=e.step)
    except Inadmissible as e:
        return Outcome(
            "inadmissible",
            params,
            unmet=Unmet(str(e) or "a non-degenerate instance", point(params, space.names)),
        )
    except Exception as e:
        raise failure(f"its observables raised {_raised(e)}") from e
    try:
        unmet = claim.unmet(values, relaxed=relaxed)
        if unmet is not None:
            names = sorted(s.name for s in claim.expanded(unmet).free_symbols)
            shown = notation.text(unmet)
            return Outcome(
                "inadmissible", params, unmet=Unmet(f"its hypothesis {shown}", point(values, names))
            )
        judged = claim.evaluate(values)
    except (ArithmeticError, ValueError) as e:  # the compiled relation in math: OverflowError, domain errors
        raise failure(f"its relation raised {_raised(e)}") from e
    if any(math.isnan(x) for x in (judged.lhs, judged.rhs, judged.slack)):
        raise failure(f"evaluates to NaN (lhs {judged.lhs}, rhs {judged.rhs}, slack {judged.slack})")
    return Outcome("holds" if judged.holds else "fails", params, judged.slack, judged.lhs, judged.rhs)


def _raised(e: BaseException) -> str:
    """An exception as one phrase: its type, message and the function it was raised in."""
    return f"{type(e).__name__}: {e} (in {traceback.extract_tb(e.__traceback__)[-1].name})"


def point(values: Mapping[str, float], names: Sequence[str]) -> str:
    """``names=values`` as ``--at`` reads them back (whole numbers without a decimal point, the others as
    repr, which round-trips)."""
    return ",".join(f"{k}={_number(values[k])}" for k in names)


def _number(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def _rng(claim_id: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(claim_id.encode())])


def _drawn(space: Space, params: Mapping[str, float]) -> dict[str, float]:
    return {n: params[n] for n in space.names}


def worst_case(check: Check, starts: list[Outcome]) -> Outcome | None:
    """Maximise the slack from each start by Nelder–Mead over the free coordinates of the unit box.

    Inadmissible points count as slack −1 (below that of any admissible point), so the simplex is pushed back
    into the admissible set; a diverged point ends the search (it is a failure, and nothing is worse)."""
    space = check.space
    free = [i for i, p in enumerate(space.params) if not p.fixed]
    best: Outcome | None = None

    def better(o: Outcome) -> None:
        nonlocal best
        if o.kind != "inadmissible" and (best is None or o.slack > best.slack):
            best = o

    for start in starts:
        u0 = space.unit(start.params)

        def objective(z: np.ndarray, u0: np.ndarray = u0) -> float:
            u = u0.copy()
            u[free] = np.clip(z, 0.0, 1.0)
            o = evaluate(check, space.at(u))
            better(o)
            if o.kind == "inadmissible":
                return 1.0
            if o.kind == "diverged":
                raise _Found
            return -o.slack if math.isfinite(o.slack) else -1e300

        try:
            scipy.optimize.minimize(
                objective,
                u0[free],
                method="Nelder-Mead",
                options={
                    "maxfev": check.search_budget // len(starts),
                    "xatol": 1e-6,
                    "fatol": 1e-12,
                    "adaptive": True,
                },
            )
        except _Found:
            pass
        if best is not None and best.failed:
            break
    return best


class _Found(Exception):
    """Stops a search at the first diverged instance: nothing is worse."""


def shrink(check: Check, failure: Outcome) -> Outcome:
    """A simpler failing instance: each free parameter moved towards its simple value by bisection, then
    rounded to the fewest significant digits that keep the instance failing (as hypothesis shrinks)."""
    space = check.space
    current = failure

    def attempt(p: Param, x: float) -> Outcome | None:
        params = dict(_drawn(space, current.params), **{p.name: x})
        o = evaluate(check, params)
        return o if o.failed else None

    for _ in range(SHRINK_PASSES):
        before = _drawn(space, current.params)
        for p in space.params:
            if p.fixed:
                continue
            x = current.params[p.name]
            o = attempt(p, p.target) if x != p.target else None
            if o is not None:
                current = o
                continue
            lo, hi = p.unit(p.target), p.unit(x)  # lo holds (just tried), hi fails
            for _ in range(BISECTIONS):
                mid = p.value((lo + hi) / 2)
                if mid in (p.value(lo), p.value(hi)):
                    break
                o = attempt(p, mid)
                if o is not None:
                    current, hi = o, p.unit(mid)
                else:
                    lo = p.unit(mid)
            x = current.params[p.name]
            for digits in range(1, 7):
                rounded = float(f"{x:.{digits}g}")
                if rounded == x:
                    break
                if p.low <= rounded <= p.high and (o := attempt(p, rounded)) is not None:
                    current = o
                    break
        if _drawn(space, current.params) == before:
            break
    return current


def boundary(check: Check, name: str, limit: float, rng: np.random.Generator, n: int) -> dict[str, Any]:
    """How far the conclusion holds in parameter ``name`` once the uncertain hypotheses are dropped.

    n instances are drawn with ``name`` up to ``limit``; along the line of the failure with the smallest value
    (the other parameters kept) the value is then bisected down to where it starts to hold. Reported: the
    largest value up to which every instance tried holds, and the smallest failing one, with its instance.
    """
    space = check.space
    i = space.names.index(name)
    q = replace(space.params[i], high=limit)
    wide = replace(space, params=(*space.params[:i], q, *space.params[i + 1 :]))
    wide_check = replace(check, space=wide)
    outcomes = (evaluate(wide_check, params, relaxed=True) for params in wide.draw(rng, n))
    tried = [o for o in outcomes if o.kind != "inadmissible"]
    first = min((o for o in tried if o.failed), key=lambda o: o.params[name], default=None)
    if first is not None:
        lo, hi = 0.0, q.unit(first.params[name])
        for _ in range(2 * BISECTIONS):
            mid = (lo + hi) / 2
            o = evaluate(wide_check, {**_drawn(wide, first.params), name: q.value(mid)}, relaxed=True)
            tried.append(o)
            lo, hi = (lo, mid) if o.failed else (mid, hi)
    edge = min((o for o in tried if o.failed), key=lambda o: o.params[name], default=None)
    fails_from = None if edge is None else edge.params[name]
    holding = [
        o.params[name] for o in tried if not o.failed and (edge is None or o.params[name] < fails_from)
    ]
    return {
        "parameter": name,
        "dropped": [notation.text(h) for h in check.claim.uncertain],
        "tried": len(tried),
        "tried_up_to": max((o.params[name] for o in tried), default=None),
        "holds_up_to": max(holding, default=None),
        "fails_from": fails_from,
        "counterexample": None if edge is None else _counterexample(wide, edge),
    }


def _counterexample(space: Space, o: Outcome) -> dict[str, Any]:
    out: dict[str, Any] = {"parameters": _drawn(space, o.params)}
    if o.kind == "diverged":
        out["diverged_at"] = o.step
    else:
        out.update(lhs=o.lhs, rhs=o.rhs, slack=o.slack)
    return out


def reproduce_command(claim_id: str, params: Mapping[str, float], prefix: str = "maml-theory verify") -> str:
    return f"{prefix} --claim {claim_id} --at {point(params, list(params))}"


def verify(
    claim: Claim,
    *,
    instances: int = 100,
    seed: int = 0,
    search: bool = True,
    use_cache: bool = True,
    reproduce_prefix: str = "maml-theory verify",
    check: Check | None = None,
) -> Verdict:
    """The verdict on ``claim`` (module docstring), checked by ``check`` (default: the one bound to it).
    Exceptions other than KeyboardInterrupt become ``error``.

    >>> import maml_theory.numerics.landscape.checks  # registers spec L's claims and binds their checks
    >>> from maml_theory.theory.claims import registered
    >>> (claim,) = registered("L.gain.ceiling")
    >>> verdict = verify(claim, instances=20, search=False)
    >>> verdict.status, verdict.instances
    ('proved', 20)
    """
    start = time.perf_counter()
    verdict = Verdict(claim.id, claim.title, claim.source, str(claim.provenance), claim.statement)
    try:
        check = check_of(claim.id) if check is None else check
        _run(verdict, claim, check, instances, seed, search, use_cache, reproduce_prefix)
    except EvaluationError as e:
        verdict.status = "error"
        verdict.note = str(e)
    except Exception as e:
        verdict.status = "error"
        verdict.note = f"raised {_raised(e)}"
    verdict.seconds = round(time.perf_counter() - start, 3)
    return verdict


def _run(
    verdict: Verdict,
    claim: Claim,
    check: Check | None,
    n: int,
    seed: int,
    search: bool,
    use_cache: bool,
    prefix: str,
) -> None:
    proved = None
    if claim.prove is not None:
        outcome = proofs.prove(claim, use_cache=use_cache)
        proved = outcome.proved
        verdict.proof = {"proved": outcome.proved, "method": outcome.method, "cached": outcome.cached}
        if not proved:
            verdict.proof["residual"] = outcome.residual
    failure: Outcome | None = None
    if check is not None:
        rng = _rng(claim.id, seed)
        outcomes = [evaluate(check, params) for params in check.space.draw(rng, n)]
        verdict.drawn = len(outcomes)
        admissible = [o for o in outcomes if o.kind != "inadmissible"]
        verdict.instances = len(admissible)
        failure = next((o for o in admissible if o.failed), None)
        if admissible:
            worst = max(admissible, key=lambda o: o.slack)
            verdict.worst_slack, verdict.worst_instance = worst.slack, _drawn(check.space, worst.params)
        # A search budget of 0 marks a statistical check: maximising a standard score over many points
        # would only find the largest of many noise draws.
        if search and check.search_budget and admissible and failure is None:
            starts = sorted(admissible, key=lambda o: -o.slack)[:SEARCH_STARTS]
            found = worst_case(check, starts)
            if found is not None:
                verdict.worst_case = {"slack": found.slack, "parameters": _drawn(check.space, found.params)}
                if found.failed:
                    failure = found
        if failure is not None:
            small = shrink(check, failure)
            verdict.counterexample = _counterexample(check.space, small)
            verdict.counterexample["reproduce"] = reproduce_command(
                claim.id, _drawn(check.space, small.params), prefix
            )
        if search and claim.uncertain:
            verdict.boundary = [
                boundary(check, name, limit, rng, n) for name, limit in check.boundary.items()
            ]
    verdict.status = _status(proved, check is not None, verdict.instances, failure is not None)
    unmet = (
        f"no admissible instance among the {verdict.drawn} draws"
        if verdict.drawn
        else "no instance drawn (N = 0)"
    )
    if verdict.status == "inconclusive":
        verdict.note = (
            unmet if check is not None else "not proved by sympy, and no numeric check is bound to it"
        )
    elif verdict.status == "proved" and check is not None and not verdict.instances:
        verdict.note = f"proved by sympy; its numeric check: {unmet}"
    elif proved is False and verdict.status == "holds":
        verdict.note = "sympy did not prove it; it holds on every instance tried"


def _status(proved: bool | None, checked: bool, admissible: int, failed: bool) -> str:
    if failed:
        return "fails"
    if proved:
        return "proved"
    if checked and admissible:
        return "holds"
    return "inconclusive"
