"""``maml-theory sweep FILE.toml``: a command over a grid of parameters and seeds, on a Dask cluster.

The file::

    command = "dynamics"           # or "landscape": the command each task runs
    seeds = 4                      # the seeds 0..3, or a list: [0, 7, 9]   [default: 1]
    plot = "rate"                  # optional: a result column (or a list) to draw over the grid axes
    log = []                       # optional: plotted columns drawn on a log scale, e.g. ["gain"]

    [fixed]                        # parameters for every task, named as the command's flags
    method = "fo-maml"
    d = 20

    [grid]                         # lists of values: every combination is a point
    alpha = [0.05, 0.1, 0.2]
    beta = [0.5, 1.0, 2.0]

Parameter names are the command's flags without the dashes (``p-hard``, ``m-in``); a switch is true or
false; ``seed`` comes from ``seeds`` and ``dynamics --runs`` is not a parameter (each row is one run). Every
point is read by the command's own parser and validated before the cluster starts.

Without ``--scheduler`` the tasks run on a Dask LocalCluster of ``--workers`` processes (one thread each);
with it, on the cluster whose scheduler is at that address (its workers need only this package installed).

Output, in ``--out`` (default: the file's name without .toml, in the working folder):

- ``results.csv`` (``--format parquet``: ``results.parquet``, typed columns: booleans, int64, float64 with
  the infinities as numbers, text; needs pyarrow): one row per point × seed, in the grid's order (first
  axis slowest), seeds innermost.
  Columns: the grid axes, the fixed parameters, ``seed``; ``status`` (``ok``, ``diverged``, ``error``);
  ``diverged_at`` (the step of a diverged run, else empty); ``error`` (the message of a task that raised,
  the command line's own for a parameter out of range, else empty); then the result's scalars, what the
  one-off command's ``--json`` prints: nested objects flattened with dots (``monte_carlo.z_maml``), a list
  (a curve over t = 0..T) as its last entry ``NAME.last``, infinities as the strings ``inf``/``-inf``, a
  missing value (null) empty. A diverged row has no numbers: only ``diverged`` and ``diverged_at``.
- ``tasks/<sha256>.json``: each task's record, written as it finishes: ``command``, ``params``, ``seed``,
  ``status``, ``result`` (the row's result columns) or ``error``, ``seconds``. The name is the SHA-256 of
  the canonical JSON of [command, params, seed]; ``--resume`` runs only the tasks without a file.
- ``sweep.toml``: the file as given; ``plot-<column>.png`` for each column of ``plot``: a heat map over
  two grid axes or a line over one (``plot`` needs one or two), the mean over the seeds, a point where some
  seed diverged hatched grey (never drawn as a number), one without a value white.

Exit codes: 0 every task has its record (errors included: they are results); 1 some tasks were lost (their
workers died too often): ``--resume`` runs them; 2 a usage mistake, found before anything is written.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from maml_theory.numerics import validation as v
from maml_theory.reports import sweep as engine
from maml_theory.reports.arguments import count

GIB = 2**30
WORKER_MEMORY = GIB
"""Memory one worker process is allowed for (the interpreter, numpy, sympy's compiled closed forms and a
task's arrays take a few hundred MB): ``--workers`` is refused beyond the machine's memory over this."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "sweep",
        help="run landscape or dynamics over a grid of parameters and seeds on Dask",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("file", metavar="FILE.toml", help="the sweep (see the command's documentation)")
    p.add_argument(
        "--workers",
        default=None,
        metavar="N",
        help="local worker processes, without --scheduler [default: the CPUs]",
    )
    engine.add_scheduler_flags(p)
    p.add_argument("--out", default=None, metavar="DIR", help="output folder [default: FILE's name]")
    p.add_argument(
        "--format",
        default="csv",
        choices=tuple(engine.TABLES),
        help="the table's format (parquet needs pyarrow installed) [default: csv]",
    )
    p.add_argument(
        "--resume", action="store_true", help="continue the sweep in --out: run only its unfinished tasks"
    )
    p.set_defaults(run=run)


def _memory() -> int:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def run(args: argparse.Namespace) -> int:
    sweep = engine.load(args.file)
    limit = max(1, _memory() // WORKER_MEMORY)
    if args.scheduler is not None and args.workers is not None:
        allowed = "left out with --scheduler (the cluster has its own workers)"
        raise v.ParameterError("workers", allowed, args.workers)
    workers = count("workers", args.workers, low=1) if args.workers is not None else os.cpu_count() or 1
    if workers > limit:
        raise v.ParameterError(
            "workers",
            f"an integer in 1..{limit} (a worker process takes up to {WORKER_MEMORY // GIB} GiB; "
            f"this machine has {_memory() / GIB:.0f} GiB)",
            args.workers,
        )
    timeout = engine.timeout_seconds(args.timeout)
    if args.format == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise v.ParameterError(
            "format", "csv, or parquet with pyarrow installed (pip install pyarrow)", "parquet"
        )
    out = Path(args.out if args.out is not None else Path(args.file).stem)
    _check_out(out, args.resume)
    engine.check_points(sweep)
    client, cluster = engine.connect(args.scheduler, workers, timeout)
    try:
        try:  # made once the cluster answers: a scheduler that does not leaves nothing behind
            (out / engine.TASKS).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise v.ParameterError("out", f"a folder that can be made ({e.strerror})", str(out)) from None
        outcome = engine.execute(sweep, out, client, progress=sys.stdout.isatty(), table_format=args.format)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    statuses = ", ".join(f"{outcome.statuses.get(s, 0)} {s}" for s in ("ok", "diverged", "error"))
    print(
        f"sweep {sweep.command}: {sweep.size} tasks ({sweep.size // len(sweep.seeds)} points × "
        f"{len(sweep.seeds)} seeds): {outcome.run} run, {outcome.reused} reused; {statuses}"
    )
    written = [engine.TABLES[args.format], engine.COPY, *outcome.plots]
    print(f"wrote {', '.join(str(out / name) for name in written)}")
    for note in outcome.notes:
        print(f"maml-theory: no plot: {note}", file=sys.stderr)
    if outcome.lost:
        print(
            f"maml-theory: {len(outcome.lost)} tasks lost (their workers died): run again with --resume",
            file=sys.stderr,
        )
        return 1
    return 0


def _check_out(out: Path, resume: bool) -> None:
    """``--out`` must be a folder that can be made, and a new or empty one unless ``--resume``."""
    if out.exists() and not out.is_dir():
        raise v.ParameterError("out", "a folder (it is a file)", str(out))
    if not resume and out.is_dir() and any(out.iterdir()):
        allowed = "a new or empty folder, or given with --resume to continue the sweep in it"
        raise v.ParameterError("out", allowed, str(out))
    parent = next((p for p in out.absolute().parents if p.exists()), None)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK):
        raise v.ParameterError("out", "a folder that can be made (its parent is not writable)", str(out))
