"""``maml-theory verify``: every registered claim proved, or checked on random admissible instances.

Per claim: status (proved, holds, fails, inconclusive, error), the number of admissible instances, the worst
slack, the worst case found by search, a shrunk counterexample with the one command that reproduces it, and
for reconstructed claims the boundary of their uncertain hypotheses. Exit code 0 when nothing fails, 1 when a
claim fails or raises, 2 for a usage mistake, 130 on Ctrl-C (after printing the verdicts so far).

``--claim ID --at NAME=VALUE,...`` judges one claim at one point: exit code 0 when it holds, 1 when it fails
(diverged included) or cannot be judged there (its evaluation raised or gave NaN). A point outside the claim's
box (its check's parameter ranges) or its hypotheses is not admissible: the claim says nothing there, so it is
a usage mistake, one line naming the range or the hypothesis as printed, exit code 2.

``--explain ID`` prints everything about one claim in one place (``--json``: one object): its statement,
note, source, hypotheses and definitions, how it is proved and checked (with file:line), and a quick verdict
(:data:`EXPLAIN_INSTANCES` instances, no search; ``--no-run``: none). Exit code as for a run of that claim.

With stderr a terminal, a line "[i/N] ID ..." announces each claim as it begins (a proof with a cold cache
takes up to a minute).

``--scheduler ADDRESS`` runs the claims on that Dask cluster instead of ``--jobs`` local processes (the same
groups; each worker registers the claims itself, ``--load`` files by absolute path, so they must be readable
there): the verdicts are those of a local run, since each claim's draws are seeded by its id. A scheduler
that does not answer within ``--timeout`` seconds is a usage mistake (exit code 2).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from maml_theory.numerics import validation as v
from maml_theory.numerics.verification import engine
from maml_theory.numerics.verification.checks import check_of
from maml_theory.reports.arguments import count, number
from maml_theory.reports.figures.progress import Progress
from maml_theory.reports.sweep import add_scheduler_flags, connect, timeout_seconds
from maml_theory.theory.claims import Claim, registered

STATUSES = ("proved", "holds", "fails", "inconclusive", "error")

BYTES_PER_INSTANCE = 4096
"""Memory one random instance of a claim takes while the claim runs, an upper estimate: its parameters and
outcome measure at most 2 KB (tracemalloc, peak over 2000 draws; the general-mixture check is the largest),
and a boundary search draws as many again."""

EXPLAIN_INSTANCES = 20
"""Instances of the quick verdict ``--explain`` prints: enough to show the claim judged, few enough that a
simulated claim answers in a second or two."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "verify", help="prove or property-test every registered claim", description=__doc__.splitlines()[0]
    )
    p.add_argument("--spec", choices=("R", "L"), default=None, help="only the claims of one spec")
    p.add_argument(
        "--claim", nargs="+", default=None, metavar="ID", help="only these claims (ids or prefixes)"
    )
    p.add_argument(
        "--instances", default="100", metavar="N", help="random instances per claim [default: 100]"
    )
    p.add_argument("--seed", default="0", metavar="S", help="seed of the instance draws [default: 0]")
    p.add_argument(
        "--load",
        action="append",
        default=[],
        metavar="FILE.py",
        help="a Python file of your own claims (calling maml_theory.numerics.verification.checks.claim); "
        "repeatable",
    )
    p.add_argument(
        "--at",
        default=None,
        metavar="K=V,...",
        help="evaluate one --claim at these parameters (exit 0 holds, 1 fails or cannot be judged; a point "
        "outside the claim's box or hypotheses is not admissible: exit 2)",
    )
    p.add_argument("--no-search", action="store_true", help="skip the worst-case and boundary searches")
    p.add_argument("--no-cache", action="store_true", help="run every sympy proof, ignoring the proof cache")
    p.add_argument(
        "--jobs", default=str(os.cpu_count() or 1), metavar="N", help="worker processes [default: the CPUs]"
    )
    add_scheduler_flags(p)
    p.add_argument("--list", action="store_true", help="list the claims and exit")
    p.add_argument(
        "--explain",
        default=None,
        metavar="ID",
        help="everything about one claim: statement, hypotheses, definitions, proof and check (file:line), "
        f"and a quick verdict ({EXPLAIN_INSTANCES} instances, no search)",
    )
    p.add_argument("--no-run", action="store_true", help="with --explain: print no verdict, run nothing")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


_LOADED: dict[str, dict[str, str]] = {}
"""Files already imported in this process, with the claims each registered (a second ``main`` call in one
process, as in a notebook or the tests, must not register them twice)."""


def load(paths: Sequence[str]) -> dict[str, str]:
    """Import each user file; returns {claim id: the file that registered it}."""
    owner: dict[str, str] = {}
    for path in paths:
        key = str(Path(path).resolve())
        if key in _LOADED:
            owner.update(_LOADED[key])
            continue
        before = {c.id for c in registered()}
        spec = importlib.util.spec_from_file_location(f"maml_theory_user_claims_{len(_LOADED)}", path)
        if spec is None or spec.loader is None or not Path(path).is_file():
            raise v.ParameterError("load", "a readable Python file", path)
        try:
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
        except (Exception, SystemExit) as e:  # a file that calls sys.exit() is not a claims file either
            raise v.ParameterError(
                "load", f"a Python file that imports cleanly ({type(e).__name__}: {e})", path
            ) from None
        _LOADED[key] = {c.id: path for c in registered() if c.id not in before}
        owner.update(_LOADED[key])
    return owner


def select(spec: str | None, ids: Sequence[str] | None) -> list[Claim]:
    claims = registered(f"{spec}." if spec else "")
    if not ids:
        return claims
    chosen = [c for c in claims if any(c.id == i or c.id.startswith(i + ".") for i in ids)]
    unknown = [i for i in ids if not any(c.id == i or c.id.startswith(i + ".") for c in claims)]
    if unknown:
        raise v.ParameterError("claim", "a registered claim id or id prefix (see --list)", unknown[0])
    return chosen


def _verify_one(claim: Claim, settings: dict[str, Any], progress: Progress | None) -> engine.Verdict:
    if progress is not None:
        progress.begin(settings["positions"][claim.id], len(settings["positions"]), claim.id)
    owner = settings["owner"]
    prefix = "maml-theory verify" + (f" --load {owner[claim.id]}" if claim.id in owner else "")
    return engine.verify(
        claim,
        instances=settings["instances"],
        seed=settings["seed"],
        search=settings["search"],
        use_cache=settings["use_cache"],
        reproduce_prefix=prefix,
    )


_worker_progress: Progress | None = None
"""A worker process's progress lines (set by :func:`_start_worker`)."""


def _start_worker(progress: Progress | None) -> None:
    """Each worker's first act. Ctrl-C sends SIGINT to the terminal's whole process group: the workers ignore
    it and the parent alone stops (it ends the pool and prints one line), so no worker prints a traceback."""
    global _worker_progress
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_progress = progress


def _verify_group(task: tuple[list[str], dict[str, Any]]) -> list[engine.Verdict]:
    """A worker's job: the claims are looked up in the registry it inherited when it was forked."""
    ids, settings = task
    by_id = {c.id: c for c in registered()}
    return [_verify_one(by_id[i], settings, _worker_progress) for i in ids]


def groups(claims: Sequence[Claim]) -> list[list[Claim]]:
    """Claims that share a computation (``Claim.shares``) go to one worker; the groups holding a slow proof go
    first, so that the workers finish at about the same time."""
    by_key: dict[str, list[Claim]] = {}
    for c in claims:
        by_key.setdefault(c.shares or c.id, []).append(c)
    return sorted(by_key.values(), key=lambda g: not any(c.slow for c in g))


def _verify_on_cluster(task: tuple[list[str], dict[str, Any]], paths: list[str]) -> list[engine.Verdict]:
    """A Dask worker's job: it registers the claims itself (built in, then the user's files by absolute path)
    and runs the group as :func:`_verify_group` does in a forked worker."""
    builtin()
    load(paths)
    return _verify_group(task)


def _in_order(done: Iterator[list[engine.Verdict]], positions: dict[str, int]) -> Iterator[engine.Verdict]:
    """Groups of verdicts as they finish, yielded in the claims' order."""
    ready: dict[int, engine.Verdict] = {}
    following = 1
    for group in done:
        ready.update((positions[x.id], x) for x in group)
        while following in ready:
            yield ready.pop(following)
            following += 1


def verdicts(
    claims: Sequence[Claim],
    *,
    jobs: int,
    progress: Progress | None = None,
    client: Any = None,
    **settings: Any,
) -> Iterator[engine.Verdict]:
    """The verdicts in the claims' order. ``jobs`` > 1: that many forked worker processes (they inherit the
    registry, a user's loaded claims included); ``client``: a Dask client, whose cluster's workers run the
    groups instead (each registers the claims itself; no progress lines, the workers' streams are theirs).
    Each verdict is independent of the others (a claim's draws are seeded by its id), so the result depends
    on neither. ``progress``: announces each claim as it begins, numbered by its place in ``claims`` (forked
    workers write to its stream, inherited at the fork)."""
    positions = settings["positions"] = {c.id: i for i, c in enumerate(claims, start=1)}
    tasks = [([c.id for c in g], settings) for g in groups(claims)]
    if client is not None:
        from distributed import as_completed

        paths = sorted({str(Path(p).resolve()) for p in settings["owner"].values()})
        futures = [client.submit(_verify_on_cluster, t, paths, pure=False) for t in tasks]
        yield from _in_order((f.result() for f in as_completed(futures)), positions)
        return
    if jobs == 1 or len(claims) < 2:
        for c in claims:
            yield _verify_one(c, settings, progress)
        return
    # The fork start method hands initargs to the workers without pickling them: a stream can pass. No more
    # workers than groups: the others would idle, and --jobs 100000 would fork 100000 processes.
    workers = min(jobs, len(tasks))
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_start_worker, initargs=(progress,))
    try:
        yield from _in_order(pool.imap_unordered(_verify_group, tasks), positions)
        pool.close()
    finally:
        pool.terminate()  # on Ctrl-C too: no worker outlives the command


def parse_at(text: str) -> dict[str, float]:
    """``NAME=NUMBER,...`` as {name: number}; a name given twice is a mistake."""
    out: dict[str, float] = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        x = number(value)
        if not name.strip() or isinstance(x, str):
            raise v.ParameterError("at", "NAME=NUMBER pairs separated by commas", item)
        if name.strip() in out:
            raise v.ParameterError("at", "NAME=NUMBER pairs, each name once", item)
        out[name.strip()] = x
    return out


def at_point(claim: Claim, params: dict[str, float]) -> dict[str, Any]:
    """``claim`` judged at ``params``: the outcome ``holds``, ``fails``, ``diverged`` or ``error`` (with the
    reason). A point that names other parameters than the check's, or misses one, or is not admissible
    (outside the box or a hypothesis) raises ParameterError naming ``at``."""
    check = check_of(claim.id)
    if check is None:
        raise v.ParameterError("claim", "a claim with a numeric check when --at is given", claim.id)
    names = check.space.names
    listed = f"{claim.id}'s parameters: {', '.join(names)}"
    unknown = [n for n in params if n not in names]
    if unknown:
        raise v.ParameterError(
            "at", f"NAME=NUMBER pairs naming {listed}", f"{unknown[0]}={params[unknown[0]]}"
        )
    missing = [n for n in names if n not in params]
    if missing:
        raise v.ParameterError("at", f"a value for each of {listed}", f"no {', '.join(missing)}")
    point = {"id": claim.id, "parameters": params}
    try:
        o = engine.evaluate(check, params)
    except engine.EvaluationError as e:
        return {**point, "outcome": "error", "error": str(e)}
    if o.unmet is not None:
        condition, values = o.unmet.condition, o.unmet.values
        raise v.ParameterError("at", f"a point where {claim.id} is admissible: {condition}", values)
    return {
        **point,
        "parameters": o.params,
        "outcome": o.kind,
        "lhs": o.lhs,
        "rhs": o.rhs,
        "slack": o.slack,
        "diverged_at": o.step,
    }


def instance_limit(jobs: int) -> int:
    """The most instances per claim that ``jobs`` workers, each holding one claim's instances at a time, can
    keep in this machine's memory at :data:`BYTES_PER_INSTANCE` each."""
    return _memory() // (BYTES_PER_INSTANCE * jobs)


def _memory() -> int:
    """Bytes of physical memory."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def builtin() -> None:
    """Register both specs' claims and bind their checks (imported here, not at the top: building the claims
    takes sympy a few seconds, which the other commands should not pay)."""
    import maml_theory.numerics.landscape.checks
    import maml_theory.numerics.representation.baseline_checks
    import maml_theory.numerics.representation.checks  # noqa: F401


def run(args: argparse.Namespace) -> int:
    # The numbers first: a mistake is reported before sympy builds the claims.
    seed = count("seed", args.seed, low=0)
    jobs = count("jobs", args.jobs, low=1)
    instances = count("instances", args.instances, low=0)
    timeout = timeout_seconds(args.timeout)
    limit = instance_limit(jobs)
    if instances > limit:
        raise v.ParameterError(
            "instances",
            f"an integer in 0..{limit} (about {BYTES_PER_INSTANCE // 1024} KiB per instance while a claim "
            f"runs, times {jobs} worker process{'es' if jobs > 1 else ''}; this machine has "
            f"{_memory() / 2**30:.0f} GiB)",
            instances,
        )
    if args.explain is not None and (args.claim or args.spec or args.at is not None or args.list):
        raise v.ParameterError(
            "explain", "one claim id, given without --claim, --spec, --at or --list", args.explain
        )
    if args.no_run and args.explain is None:
        raise v.ParameterError("no_run", "given with --explain ID", "--no-run")
    if args.scheduler is not None and (args.list or args.at is not None or args.explain is not None):
        allowed = "given for a run over claims, not with --list, --at or --explain"
        raise v.ParameterError("scheduler", allowed, args.scheduler)
    builtin()
    owner = load(args.load)
    if args.explain is not None:
        return _explain(args, seed, owner)
    claims = select(args.spec, args.claim)
    if args.list:
        if args.json:
            listed = [{"id": c.id, "provenance": str(c.provenance), "title": c.title} for c in claims]
            print(json.dumps(listed, indent=2))
        else:
            print("\n".join(f"{c.id:<28} {c.provenance:<13} {c.title}" for c in claims))
        return 0
    if args.at is not None:
        if len(claims) != 1:
            raise v.ParameterError("claim", "exactly one claim id when --at is given", args.claim)
        point = at_point(claims[0], parse_at(args.at))
        print(json.dumps(engine.json_safe(point), indent=2) if args.json else _point_text(point))
        return 0 if point["outcome"] == "holds" else 1
    client = None
    if args.scheduler is not None:
        client, _ = connect(args.scheduler, 0, timeout)
    start = time.perf_counter()
    done: list[engine.Verdict] = []
    interrupted = False
    try:
        for verdict in verdicts(
            claims,
            jobs=jobs,
            client=client,
            progress=Progress("verify"),
            instances=instances,
            seed=seed,
            search=not args.no_search,
            use_cache=not args.no_cache,
            owner=owner,
        ):
            done.append(verdict)
            if not args.json:
                print(_line(verdict), flush=True)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if client is not None:
            client.close()
    seconds = round(time.perf_counter() - start, 3)
    if args.json:
        out = {
            "seed": seed,
            "instances": instances,
            "interrupted": interrupted,
            "seconds": seconds,
            "claims": [x.json() for x in done],
        }
        print(json.dumps(out, indent=2))
    else:
        print(_details(done, seconds, interrupted))
    if interrupted:
        print("maml-theory: interrupted; the verdicts above are those finished", file=sys.stderr)
        return 130
    return 1 if any(x.status in ("fails", "error") for x in done) else 0


def _explain(args: argparse.Namespace, seed: int, owner: dict[str, str]) -> int:
    """``--explain``: the claim's explanation, with the verdict of a quick run unless ``--no-run``."""
    from maml_theory.reports import explain  # it uses _num from here: imported here, not in a cycle

    claim = explain.claim_named(args.explain, registered())
    check = check_of(claim.id)
    e = explain.explanation(claim, check)  # before the run: the proof cache as the run finds it
    status = None
    if not args.no_run:
        run = {"instances": EXPLAIN_INSTANCES, "seed": seed, "search": False}
        settings = {**run, "use_cache": not args.no_cache, "owner": owner, "positions": {claim.id: 1}}
        verdict = _verify_one(claim, settings, None)
        e, status = explain.with_verdict(e, verdict, run), verdict.status
    print(json.dumps(engine.json_safe(e), indent=2) if args.json else explain.text(claim, check, e))
    return 1 if status in ("fails", "error") else 0


def _num(x: float | None, digits: int = 4) -> str:
    """``digits`` significant digits; a tight slack (within 1e-4 of 1) as 1 − δ, which rounding would hide."""
    if x is None:
        return "—"
    if not math.isfinite(x):
        return str(x)
    if x != 1 and abs(1 - x) < 1e-4:
        return f"1{'−' if x < 1 else '+'}{abs(1 - x):.1e}"
    return f"{x:.{digits}g}"


def _line(x: engine.Verdict) -> str:
    n = f"{x.instances}/{x.drawn}" if x.drawn else "—"
    return (
        f"{x.status:<12} {x.id:<28} instances {n:<8} worst slack {_num(x.worst_slack):<11} {x.seconds:6.2f} s"
    )


def _details(done: list[engine.Verdict], seconds: float, interrupted: bool) -> str:
    lines = []
    for x in done:
        if x.counterexample:
            ce = x.counterexample
            how = (
                f"diverged at step {ce['diverged_at']}"
                if "diverged_at" in ce
                else f"slack {_num(ce['slack'])}"
            )
            lines += [f"{x.id}: counterexample ({how})", f"  reproduce: {ce['reproduce']}"]
        if x.worst_case and not x.counterexample:
            lines.append(f"{x.id}: worst case found by search: slack {_num(x.worst_case['slack'])}")
        for b in x.boundary:
            beyond = f"no failure up to {_num(b['tried_up_to'])}"
            if b["fails_from"] is not None:
                ce = b["counterexample"]
                how = (
                    f"diverged at step {ce['diverged_at']}"
                    if "diverged_at" in ce
                    else f"slack {_num(ce['slack'])}"
                )
                beyond = f"fails from {b['parameter']} = {_num(b['fails_from'], 7)} ({how})"
            lines.append(
                f"{x.id}: without {'; '.join(b['dropped'])}: holds up to {b['parameter']} = "
                f"{_num(b['holds_up_to'], 7)}, {beyond}"
            )
        if x.note:
            lines.append(f"{x.id}: {x.note}")
    tally = ", ".join(f"{sum(x.status == s for x in done)} {s}" for s in STATUSES)
    lines.append(
        f"{len(done)} claims in {seconds:.1f} s: {tally}" + (" (interrupted)" if interrupted else "")
    )
    return "\n".join(lines)


def _point_text(p: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={_num(v)}" for k, v in p["parameters"].items())
    if p["outcome"] == "diverged":
        return f"{p['id']} at {params}: diverged at step {p['diverged_at']}"
    if p["outcome"] == "error":
        return f"{p['id']} at {params}: error ({p['error']})"
    sides = f"lhs {p['lhs']:.10g}, rhs {p['rhs']:.10g}, slack {_num(p['slack'])}"
    return f"{p['id']} at {params}: {p['outcome']} ({sides})"
