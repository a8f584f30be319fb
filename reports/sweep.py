"""Parameter sweeps of a command on a Dask cluster: the engine behind ``maml-theory sweep``.

A sweep is read from a TOML file (the schema is in :mod:`maml_theory.reports.sweep_command`): a command
(``landscape`` or ``dynamics``), ``[fixed]`` parameters, ``[grid]`` lists whose full product are the points,
and ``seeds``. Each point × seed is one *task*: the command's own argument parser reads the point as flags
and the command's own ``inputs``/``result`` functions compute what its ``--json`` prints, so a task's result
is the one-off command's output, bit for bit. The result's scalars make the task's row:

- nested objects are flattened with dotted names (``monte_carlo.z_maml``);
- a list (a curve over the steps t = 0..T) contributes its last entry, as ``NAME.last`` (``dist.last`` is
  dist(B_T, B_*));
- a run that diverged keeps only ``diverged`` and its step ``diverged_at``: no numbers;
- a task that raised keeps its error text instead of a result.

Each finished task is written at once to ``tasks/<key>.json``, the key the SHA-256 of the canonical JSON of
(command, parameters, seed), so a sweep that stops (Ctrl-C, a lost worker, a lost client) is resumed without
recomputing anything that finished; the table is assembled from those files at the end.

Tasks are sent to Dask in batches of consecutive tasks (:func:`batch_size`): one task of the example sweeps
takes about 10 ms, and Dask's cost per task (a scheduler round trip, about a millisecond) would otherwise be
a good part of the time.
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import itertools
import json
import logging
import math
import os
import threading
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maml_theory.numerics.validation import ParameterError, real
from maml_theory.numerics.verification.engine import json_safe
from maml_theory.reports import dynamics_command, landscape_command
from maml_theory.reports.arguments import number

COMMANDS = {"landscape": landscape_command, "dynamics": dynamics_command}
"""The commands a sweep runs: each has ``inputs(args)`` (validation, no work) and ``result(inputs)``."""

NOT_SWEPT = ("json", "seed", "runs", "help", "expected")
"""Flags that are not a sweep's parameters: the output format, the seed (``seeds`` gives it), ``runs`` (the
seeds are a sweep's repetitions, so that every row is one run) and ``dynamics --expected`` (one closed-form
step at a given point, not a run)."""

KEYS = ("command", "fixed", "grid", "seeds", "plot", "log")
MAX_TASKS = 1_000_000
"""The most tasks (points × seeds) a sweep may have: each leaves a task file of about 1 KB, and the table
holds them all in memory at the end."""
TASKS = "tasks"
TABLES = {"csv": "results.csv", "parquet": "results.parquet"}
"""The table's file for each ``--format``."""
COPY = "sweep.toml"
BATCHES_PER_WORKER = 16
"""Batches each worker gets on average: enough that the workers finish at about the same time and that a
lost worker loses little, few enough that Dask's cost per batch is small against the batch's time."""


class ConfigError(Exception):
    """A sweep that cannot run as given (its file, a parameter, the output folder, the scheduler): one line,
    reported before any task runs."""


Value = bool | int | float | str


@dataclass(frozen=True)
class Task:
    """One point × seed of a sweep."""

    command: str
    params: dict[str, Value]
    seed: int

    @property
    def key(self) -> str:
        """SHA-256 of the canonical JSON of (command, parameters, seed): the name of the task's file."""
        text = json.dumps([self.command, self.params, self.seed], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Sweep:
    """A parsed, validated sweep file."""

    path: Path
    command: str
    fixed: dict[str, Value]
    grid: dict[str, list[Value]]
    seeds: list[int]
    plot: tuple[str, ...] = ()
    log: tuple[str, ...] = ()
    text: str = field(default="", repr=False)

    def points(self) -> Iterator[dict[str, Value]]:
        """The grid's full product, the first axis varying slowest; each point with the fixed parameters."""
        for values in itertools.product(*self.grid.values()):
            yield {**dict(zip(self.grid, values, strict=True)), **self.fixed}

    def tasks(self) -> list[Task]:
        return [Task(self.command, p, s) for p in self.points() for s in self.seeds]

    @property
    def size(self) -> int:
        return math.prod(len(v) for v in self.grid.values()) * len(self.seeds)


@functools.cache
def _cli_parser() -> argparse.ArgumentParser:
    """The command line's parser, built once per process."""
    from maml_theory.reports.cli import build_parser  # the command line imports this module

    return build_parser()


def _subparser(command: str) -> argparse.ArgumentParser:
    (commands,) = (a for a in _cli_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices[command]


def parameters(command: str) -> dict[str, bool]:
    """The command's sweepable parameters, by flag name without the dashes: {name: is a switch}."""
    out = {}
    for action in _subparser(command)._actions:
        if not action.option_strings or action.dest in NOT_SWEPT:
            continue
        name = action.option_strings[-1].removeprefix("--")
        out[name] = isinstance(action, argparse._StoreTrueAction)
    return out


def argv(task: Task) -> list[str]:
    """The task as the one-off command's arguments (a float as its repr, which reads back to the same
    number; a switch present when true)."""
    switches = parameters(task.command)
    out = [task.command]
    for name, value in task.params.items():
        if switches[name]:
            out += [f"--{name}"] if value else []
        else:
            out += [f"--{name}", repr(value) if isinstance(value, float) else str(value)]
    return [*out, "--seed", str(task.seed)]


def parse(task: Task) -> argparse.Namespace:
    """The task's arguments read by the command line's own parser (a usage mistake raises its UsageError)."""
    return _cli_parser().parse_args(argv(task))


def load(path: str) -> Sweep:
    """Read and check a sweep file: ConfigError (one line, naming the file and the key) for any mistake."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the sweep file ({type(e).__name__}: {e})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:  # its message says where: "(at line 3, column 9)"
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    unknown = [k for k in data if k not in KEYS]
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; the keys are {', '.join(KEYS)}")
    command = data.get("command")
    if command not in COMMANDS:
        raise ConfigError(f"{path}: command must be one of {', '.join(COMMANDS)} (got {command!r})")
    fixed, grid = data.get("fixed", {}), data.get("grid", {})
    for name, table in (("fixed", fixed), ("grid", grid)):
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{name}] must be a table of parameters (got {table!r})")
    if not grid:
        raise ConfigError(f"{path}: [grid] must give at least one parameter a list of values (it is empty)")
    allowed = parameters(command)
    for table_name, table in (("fixed", fixed), ("grid", grid)):
        for name, value in table.items():
            if name not in allowed:
                raise ConfigError(
                    f"{path}: [{table_name}] {name} is not a parameter of {command}; "
                    f"its parameters are {', '.join(allowed)}"
                )
            for x in value if table_name == "grid" and isinstance(value, list) else [value]:
                _check_value(path, f"[{table_name}] {name}", x, switch=allowed[name])
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{path}: [grid] {name} must be a non-empty list of values (got {values!r})")
        if name in fixed:
            raise ConfigError(f"{path}: {name} is both in [fixed] and in [grid]")
    seeds = _seeds(path, data.get("seeds", 1))
    plot, log = _names(path, "plot", data.get("plot", [])), _names(path, "log", data.get("log", []))
    if plot and not 1 <= len(grid) <= 2:
        raise ConfigError(f"{path}: plot needs one or two [grid] axes (there are {len(grid)})")
    if not set(log) <= set(plot):
        raise ConfigError(
            f"{path}: log must name plotted columns ({', '.join(plot) or 'none'}) (got {log!r})"
        )
    sweep = Sweep(Path(path), command, fixed, grid, seeds, plot, log, text)
    if sweep.size > MAX_TASKS:
        raise ConfigError(f"{path}: {sweep.size} tasks (points × seeds); at most {MAX_TASKS} are allowed")
    return sweep


def _names(path: str, key: str, value: object) -> tuple[str, ...]:
    """``plot`` or ``log``: a result column's name or a list of them."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(f"{path}: {key} must be a result column's name or a list of them (got {value!r})")
    return tuple(dict.fromkeys(names))


def _check_value(path: str, where: str, x: object, *, switch: bool) -> None:
    if switch and not isinstance(x, bool):
        raise ConfigError(f"{path}: {where} is a switch: true or false (got {x!r})")
    if not switch and (isinstance(x, bool) or not isinstance(x, int | float | str)):
        raise ConfigError(f"{path}: {where} must be a number or a string (got {x!r})")


def _seeds(path: str, seeds: object) -> list[int]:
    """``seeds = N`` (the seeds 0..N−1) or a list of distinct integers >= 0."""
    allowed = "an integer N >= 1 (the seeds 0..N-1) or a non-empty list of distinct integers >= 0"
    if isinstance(seeds, int) and not isinstance(seeds, bool) and 1 <= seeds <= MAX_TASKS:
        return list(range(seeds))
    if (
        isinstance(seeds, list)
        and seeds
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
        and len(set(seeds)) == len(seeds)
    ):
        return seeds
    raise ConfigError(f"{path}: seeds must be {allowed} (got {seeds!r})")


def check_points(sweep: Sweep) -> None:
    """Every point read and validated by the command itself (its parser, then its ``inputs``), before any
    task runs: the first bad point raises ConfigError with the command line's own message."""
    from maml_theory.reports.cli import UsageError, parameter_message

    module = COMMANDS[sweep.command]
    for params in sweep.points():
        task = Task(sweep.command, params, sweep.seeds[0])
        where = ", ".join(f"{k}={v}" for k, v in params.items() if k in sweep.grid)
        args = None
        try:
            args = parse(task)
            module.inputs(args)
        except UsageError as e:
            raise ConfigError(f"{sweep.path} at {where}: {e}") from None
        except ParameterError as e:
            raise ConfigError(f"{sweep.path} at {where}: {parameter_message(e, args)}") from None


def scalars(out: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The JSON's scalars with dotted names; a list gives its last entry as ``NAME.last`` (module
    docstring)."""
    flat: dict[str, Any] = {}
    for k, v in out.items():
        name = prefix + k
        if isinstance(v, dict):
            flat.update(scalars(v, name + "."))
        elif isinstance(v, list):
            flat[name + ".last"] = v[-1] if v else None
        else:
            flat[name] = v
    return flat


def run_task(task: Task) -> dict[str, Any]:
    """One task on a worker: its record (status ``ok``, ``diverged`` or ``error``) with the result's
    :func:`scalars`, and the seconds it took."""
    from maml_theory.reports.cli import parameter_message

    start = time.perf_counter()
    record: dict[str, Any] = {"command": task.command, "params": task.params, "seed": task.seed}
    args = None
    try:
        args = parse(task)
        module = COMMANDS[task.command]
        out = scalars(json_safe(module.result(module.inputs(args))))
    except ParameterError as e:
        record.update(status="error", error=parameter_message(e, args))
    except Exception as e:  # recorded (a usage mistake of the parser too), and the sweep goes on
        record.update(status="error", error=f"{type(e).__name__}: {e}".replace("\n", " "))
    else:
        if out.get("diverged") is True:
            record.update(status="diverged", result={"diverged": True, "diverged_at": out["diverged_at"]})
        else:
            record.update(status="ok", result=out)
    record["seconds"] = time.perf_counter() - start
    return record


def run_batch(tasks: Sequence[Task]) -> list[dict[str, Any]]:
    """A Dask task: several sweep tasks in a row."""
    return [run_task(t) for t in tasks]


def batch_size(n_tasks: int, workers: int) -> int:
    """Tasks per Dask task: :data:`BATCHES_PER_WORKER` batches per worker on average, at least one task."""
    return max(1, n_tasks // (workers * BATCHES_PER_WORKER))


def write_record(folder: Path, key: str, record: dict[str, Any]) -> None:
    """The task's file, written whole or not at all (a temporary file renamed), so that a sweep killed while
    writing leaves no half file for ``--resume`` to trust."""
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    # A parameter m = inf (TOML has inf) is written as "inf", as the results' infinities are.
    tmp.write_text(json.dumps(json_safe(record), allow_nan=False))
    os.replace(tmp, folder / f"{key}.json")


@dataclass
class Outcome:
    """What a sweep did: tasks run now, reused from earlier task files, and lost (no record: their batch
    failed in Dask, a worker lost too many times say), with the table's rows by status."""

    run: int = 0
    reused: int = 0
    lost: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    plots: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def execute(
    sweep: Sweep, out: Path, client: Any, *, progress: bool = False, table_format: str = "csv"
) -> Outcome:
    """Run the tasks of ``sweep`` that have no file in ``out/tasks`` on ``client``'s cluster, writing each
    record as its batch completes; then the table (in ``table_format``, a key of :data:`TABLES`), the TOML's
    copy and the plots."""
    from distributed import as_completed

    start = time.perf_counter()
    folder = out / TASKS
    folder.mkdir(parents=True, exist_ok=True)
    (out / COPY).write_text(sweep.text, encoding="utf-8")
    tasks = sweep.tasks()
    todo = [t for t in tasks if not (folder / f"{t.key}.json").exists()]
    outcome = Outcome(run=0, reused=len(tasks) - len(todo))
    workers = max(1, len(client.scheduler_info()["workers"]))
    size = batch_size(len(todo), workers)
    batches = [todo[i : i + size] for i in range(0, len(todo), size)]
    futures = [client.submit(run_batch, b, pure=False) for b in batches]
    bar = _progress_bar(futures) if progress and futures else None
    for future in as_completed(futures):
        try:
            records = future.result()
        except Exception as e:  # a batch Dask could not finish (its workers died): its tasks have no record
            lost = batches[futures.index(future)]
            outcome.lost += [f"{t.key} ({type(e).__name__})" for t in lost]
            continue
        for task, record in zip(batches[futures.index(future)], records, strict=True):
            write_record(folder, task.key, record)
            outcome.run += 1
    if bar is not None:
        bar.join(timeout=5)  # its last draw and line clearing, before the summary is printed
    rows = assemble(sweep, out, table_format)
    for row in rows:
        outcome.statuses[row["status"]] = outcome.statuses.get(row["status"], 0) + 1
    if sweep.plot:
        from maml_theory.reports.sweep_plot import plot

        for column in sweep.plot:
            name = plot_file(column)
            note = plot(sweep, column, rows, out / name)
            (outcome.notes if note else outcome.plots).append(note or name)
    outcome.seconds = time.perf_counter() - start
    return outcome


def plot_file(column: str) -> str:
    """The figure of a plotted column: ``plot-<column>.png``, any character but letters, digits, ``.``, ``_``
    and ``-`` replaced by ``_``."""
    return "plot-" + "".join(c if c.isalnum() or c in "._-" else "_" for c in column) + ".png"


def _progress_bar(futures: list[Any]) -> threading.Thread:
    """Dask's own text progress bar, drawn from a thread while this one writes the task files."""
    from distributed import progress

    bar = threading.Thread(target=progress, args=(futures,), kwargs={"notebook": False}, daemon=True)
    bar.start()
    return bar


def assemble(sweep: Sweep, out: Path, table_format: str = "csv") -> list[dict[str, Any]]:
    """The table ``out/results.csv`` (or ``.parquet``) from the task files of ``sweep`` (in the order of its
    tasks; a task without a file has no row): the parameter columns (grid axes, fixed parameters, seed),
    ``status``, ``diverged_at``, ``error``, then the result columns in the order they first appear. Written
    whole or not at all (a temporary file renamed). Returns the rows."""
    first = [*sweep.grid, *sweep.fixed, "seed", "status", "diverged_at", "error"]
    rows = []
    results: dict[str, None] = {}
    for task in sweep.tasks():
        path = out / TASKS / f"{task.key}.json"
        if not path.exists():
            continue
        record = json.loads(path.read_text())
        result = dict(record.get("result", {}))
        at = result.pop("diverged_at", None)
        # A result named as a parameter (dynamics' "method") is kept beside it, as "result.method".
        result = {f"result.{k}" if k in first else k: x for k, x in result.items()}
        results.update(dict.fromkeys(result))
        row = {**task.params, "seed": task.seed, "status": record["status"], "diverged_at": at}
        rows.append({**row, "error": record.get("error"), **result})
    columns = [*first, *results]
    name = TABLES[table_format]
    tmp = out / f".{name}.tmp"
    if table_format == "parquet":
        _write_parquet(tmp, columns, rows)
    else:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, columns, restval="")
            writer.writeheader()
            writer.writerows({k: _cell(x) for k, x in row.items()} for row in rows)
    os.replace(tmp, out / name)
    return rows


def _cell(x: Any) -> Any:
    """A CSV cell: None empty, a boolean as JSON writes it, a float as its repr (csv writes str(x), the
    repr), which reads back to the same number."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    return x


NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
"""The strings :func:`json_safe` writes for the numbers JSON lacks; a Parquet float column holds them."""


def _write_parquet(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({c: _arrow_column(pa, [row.get(c) for row in rows]) for c in columns})
    pq.write_table(table, path)


def _arrow_column(pa: Any, values: list[Any]) -> Any:
    """A typed column: booleans, int64 integers, float64 numbers (the strings of :data:`NON_FINITE` read
    back as numbers), else text; None is null."""
    present = [x for x in values if x is not None]

    def number(x: Any) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool)

    if present and all(isinstance(x, bool) for x in present):
        return pa.array(values, pa.bool_())
    if present and all(isinstance(x, int) and number(x) and -(2**63) <= x < 2**63 for x in present):
        return pa.array(values, pa.int64())
    if present and all(number(x) or (isinstance(x, str) and x in NON_FINITE) for x in present):
        floats = [None if x is None else NON_FINITE[x] if isinstance(x, str) else float(x) for x in values]
        return pa.array(floats, pa.float64())
    return pa.array([None if x is None else str(x) for x in values], pa.string())


def add_scheduler_flags(p: argparse.ArgumentParser) -> None:
    """``--scheduler`` and ``--timeout``, shared by ``sweep`` and ``verify``."""
    p.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="a Dask scheduler (tcp://host:8786) to run on"
    )
    p.add_argument(
        "--timeout",
        default=str(TIMEOUT),
        metavar="S",
        help=f"seconds to wait for --scheduler to answer [default: {TIMEOUT:g}]",
    )


TIMEOUT = 10.0
"""Seconds a scheduler is given to answer."""


def timeout_seconds(text: str) -> float:
    return real("timeout", number(text), low=0, low_open=True, allowed="seconds > 0")


def connect(address: str | None, workers: int, timeout: float) -> tuple[Any, Any]:
    """(client, cluster): a client of the scheduler at ``address`` (cluster None), or of a new LocalCluster
    of ``workers`` processes with one thread each. An address that is not one, or does not answer within
    ``timeout`` seconds, is a usage mistake (ConfigError)."""
    from distributed import Client, LocalCluster

    if address is None:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            # Any free port for the scheduler's web server (its default, 8787, may be taken).
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        return Client(cluster), cluster
    try:
        return Client(address, timeout=timeout), None
    except ValueError as e:  # distributed's parse of the address
        message = f"--scheduler must be a scheduler's address, tcp://HOST:PORT ({e}) (got {address!r})"
        raise ConfigError(message.replace("\n", " ")) from None
    except (OSError, TimeoutError) as e:
        message = f"--scheduler {address} did not answer within {timeout:g} s ({type(e).__name__}: {e})"
        raise ConfigError(message.replace("\n", " ")) from None
