"""``maml-theory sweep`` and ``verify --scheduler`` on a real Dask cluster started here on localhost.

The cluster is Dask's own command line (``dask scheduler`` and two ``dask worker --no-nanny`` processes,
one thread each), started by the tests as subprocesses and ended by them. A sweep's rows must equal what the
one-off commands print with ``--json``; ``--resume`` after a worker and the client were killed mid-sweep
must leave every finished task's file untouched and run exactly the others; bad input is one line, exit 2,
nothing written.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maml_theory.reports import sweep
from maml_theory.reports.cli import main

REPO = Path(__file__).resolve().parents[1]
START_SECONDS = 60.0
"""The most the cluster may take to start (imports on a loaded 2-core machine take seconds)."""


class Cluster:
    """A scheduler and two workers on localhost, as subprocesses of the test."""

    def __init__(self, folder: Path) -> None:
        self.file = folder / "scheduler.json"
        self.scheduler = self._start("dask_scheduler", "--host", "127.0.0.1", "--port", "0")
        self._wait(lambda: self.file.exists() and self.file.stat().st_size > 0, "the scheduler's file")
        self.address = json.loads(self.file.read_text())["address"]
        # No nanny: the subprocess is the worker itself, so that killing it loses the worker (a nanny's
        # SIGKILL would leave its worker process running).
        worker = ("dask_worker", "--nthreads", "1", "--no-nanny")
        self.workers = [self._start(*worker, "--name", f"w{i}") for i in (1, 2)]
        self.wait_for_workers(2)

    def _start(self, cli: str, *args: str) -> subprocess.Popen:
        command = [sys.executable, "-m", f"distributed.cli.{cli}", *args]
        command += ["--no-dashboard", "--scheduler-file", str(self.file)]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not ready():
            assert time.monotonic() < deadline, f"{what} did not appear within {START_SECONDS} s"
            time.sleep(0.1)

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=START_SECONDS) as client:
            client.wait_for_workers(n, timeout=START_SECONDS)

    def close(self) -> None:
        for p in [*self.workers, self.scheduler]:
            if p.poll() is None:
                p.terminate()
        for p in [*self.workers, self.scheduler]:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield c
    finally:
        c.close()


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


SMALL = """
command = "dynamics"
seeds = [0, 3]
plot = "rate"

[fixed]
method = "fo-maml"
d = 6
T = 60

[grid]
alpha = [0.05, 0.3]
beta = [0.2, 3.0]
"""
"""Eight tasks: FO-MAML converges at small β and diverges at β = 3 (with fresh tasks each round)."""


def records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "tasks").glob("*.json")}


def one_off(capsys, argv: list[str]) -> dict:
    """The one-off command's ``--json`` output, run through the command line itself."""
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_rows_equal_the_one_off_commands_json(cluster, tmp_path, capsys) -> None:
    path = write(tmp_path / "small.toml", SMALL)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--scheduler", cluster.address, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "8 tasks (4 points × 2 seeds): 8 run, 0 reused" in printed
    table = list(csv.DictReader((out / "results.csv").open()))
    assert [(r["alpha"], r["beta"], r["seed"]) for r in table] == [
        (a, b, s) for a in ("0.05", "0.3") for b in ("0.2", "3.0") for s in ("0", "3")
    ]
    statuses = {r["status"] for r in table}
    assert statuses == {"ok", "diverged"}, statuses  # the sweep must show both, else it tests too little
    files = records(out)
    assert len(files) == 8
    for task in sweep.load(str(path)).tasks():
        record = files[task.key]
        expected = sweep.scalars(one_off(capsys, sweep.argv(task)))
        if record["status"] == "diverged":
            assert expected["diverged"] is True
            assert record["result"] == {"diverged": True, "diverged_at": expected["diverged_at"]}
        else:
            assert record["status"] == "ok"
            assert record["result"] == expected  # bit for bit: JSON floats round-trip
    for row in table:
        params = {
            "alpha": float(row["alpha"]),
            "beta": float(row["beta"]),
            "method": "fo-maml",
            "d": 6,
            "T": 60,
        }
        task = sweep.Task("dynamics", params, int(row["seed"]))
        result = files[task.key]["result"]
        if row["status"] == "ok":
            assert float(row["rate"]) == result["rate"] and float(row["dist.last"]) == result["dist.last"]
        else:
            assert row["rate"] == row["dist.last"] == ""  # no numbers for a diverged run
            assert int(row["diverged_at"]) == result["diverged_at"]
    assert (out / "sweep.toml").read_text() == SMALL
    assert (out / "plot-rate.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_cells_mark_diverged_points_and_average_the_others() -> None:
    s = sweep.Sweep(Path("x.toml"), "dynamics", {}, {"alpha": [0.1, 0.2], "beta": [1.0]}, [0, 1], ("rate",))
    rows = [
        {"alpha": 0.1, "beta": 1.0, "status": "ok", "rate": 0.5},
        {"alpha": 0.1, "beta": 1.0, "status": "ok", "rate": 0.7},
        {"alpha": 0.2, "beta": 1.0, "status": "ok", "rate": 0.9},
        {"alpha": 0.2, "beta": 1.0, "status": "diverged"},
    ]
    from maml_theory.reports.sweep_plot import cells

    values, diverged = cells(s, "rate", rows)
    assert values[0, 0] == pytest.approx(0.6, rel=1e-15)
    assert diverged.tolist() == [[False], [True]]


def one_line_exit_2(capsys, argv: list[str], says: str) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("maml-theory: error: ") and "Traceback" not in err, err
    assert says in err, err


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            'command = "dynamics"\n[grid]\nalpha = [0.1,\nbeta = 1\n',
            "not valid TOML: Invalid value (at line 4, column 1)",
        ),
        (
            'command = "dynamix"\n[grid]\nalpha = [0.1]\n',
            "command must be one of landscape, dynamics (got 'dynamix')",
        ),
        (
            'command = "landscape"\n[grid]\nalph = [0.1]\n',
            "[grid] alph is not a parameter of landscape; its parameters are d, m, alpha",
        ),
        (
            'command = "landscape"\n[grid]\n',
            "[grid] must give at least one parameter a list of values (it is empty)",
        ),
        (
            'command = "landscape"\n[grid]\nalpha = []\n',
            "[grid] alpha must be a non-empty list of values (got [])",
        ),
        ('command = "landscape"\n[grid]\nalpha = [1, -1]\n', "at alpha=-1: --alpha must be > 0 (got '-1')"),
        ('command = "landscape"\nseeds = 0\n[grid]\nalpha = [1]\n', "seeds must be an integer N >= 1"),
        ('command = "landscape"\n[grid]\nmc = [1e30]\nd = [5]\n', "--mc must be at most"),
        ('command = "dynamics"\n[grid]\nalpha = [1]\n', "the following arguments are required: --method"),
        (
            'command = "dynamics"\n[fixed]\nruns = 2\nmethod = "anil"\n[grid]\nalpha = [1]\n',
            "runs is not a parameter",
        ),
    ],
)
def test_bad_sweep_files_are_one_line_exit_2_nothing_written(tmp_path, capsys, text, says) -> None:
    path = write(tmp_path / "bad.toml", text)
    out = tmp_path / "out"
    one_line_exit_2(capsys, ["sweep", str(path), "--out", str(out)], says)
    assert not out.exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_scheduler_that_does_not_answer_is_one_line_exit_2_nothing_written(tmp_path, capsys) -> None:
    path = write(tmp_path / "small.toml", SMALL)
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    argv = ["sweep", str(path), "--scheduler", address, "--timeout", "1", "--out", str(out)]
    one_line_exit_2(capsys, argv, f"--scheduler {address} did not answer within 1 s")
    assert time.monotonic() - start < 30
    assert not out.exists()
    one_line_exit_2(
        capsys,
        ["verify", "--claim", "L.gain.ceiling", "--scheduler", address, "--timeout", "1"],
        "did not answer within 1 s",
    )


def test_an_existing_sweep_folder_needs_resume(tmp_path, capsys) -> None:
    path = write(tmp_path / "small.toml", SMALL)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.csv").write_text("x\n")
    one_line_exit_2(capsys, ["sweep", str(path), "--out", str(out)], "given with --resume")
    assert (out / "results.csv").read_text() == "x\n"


SLOW = """
command = "dynamics"
seeds = 4

[fixed]
method = "fo-anil"
d = 20
T = 4000
beta = 0.5

[grid]
alpha = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
"""
"""24 tasks of about 0.2 s each (4000 steps of FO-ANIL at d = 20), none diverging."""


@pytest.mark.slow
def test_resume_after_killing_a_worker_and_the_client_repeats_nothing(cluster, tmp_path, capsys) -> None:
    path = write(tmp_path / "slow.toml", SLOW)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "maml_theory.reports.cli", "sweep", str(path)]
    command += ["--scheduler", cluster.address, "--out", str(out)]
    client = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    tasks = out / "tasks"

    def finished() -> int:
        return len(list(tasks.glob("*.json"))) if tasks.exists() else 0

    deadline = time.monotonic() + 120
    while finished() < 4:
        assert client.poll() is None and time.monotonic() < deadline, client.communicate()
        time.sleep(0.05)
    cluster.workers[0].send_signal(signal.SIGKILL)  # a worker lost mid-sweep: Dask moves its tasks
    while finished() < 8:
        assert client.poll() is None and time.monotonic() < deadline, client.communicate()
        time.sleep(0.05)
    client.send_signal(signal.SIGKILL)  # then the client itself: the sweep is interrupted
    client.wait()
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in tasks.glob("*.json")}
    assert 8 <= len(before) < 24, len(before)
    assert main(["sweep", str(path), "--scheduler", cluster.address, "--out", str(out), "--resume"]) == 0
    printed = capsys.readouterr().out
    assert f"{24 - len(before)} run, {len(before)} reused; 24 ok" in printed, printed
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in tasks.glob("*.json")}
    assert len(after) == 24
    assert {k: after[k] for k in before} == before  # nothing that finished was written again
    assert not list(tasks.glob(".*.tmp"))
    assert main(["sweep", str(path), "--scheduler", cluster.address, "--out", str(out), "--resume"]) == 0
    assert "0 run, 24 reused" in capsys.readouterr().out


@pytest.mark.slow
def test_landscape_rows_with_monte_carlo_equal_the_one_off_command(cluster, tmp_path, capsys) -> None:
    text = 'command = "landscape"\nseeds = [1]\n[fixed]\nmc = 300\n[grid]\nR = [0.5, 5]\nnu-hard = [0, 0.1]\n'
    path = write(tmp_path / "l.toml", text)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--scheduler", cluster.address, "--out", str(out)]) == 0
    files = records(out)
    for task in sweep.load(str(path)).tasks():
        assert files[task.key]["result"] == sweep.scalars(one_off(capsys, sweep.argv(task)))
        assert "monte_carlo.z_maml" in files[task.key]["result"]


@pytest.mark.slow
def test_verify_on_the_cluster_gives_the_local_verdicts(cluster, capsys) -> None:
    argv = ["verify", "--spec", "L", "--claim", "L.gain", "--instances", "20", "--no-search", "--json"]

    def verdicts(*extra: str) -> list[dict]:
        main([*argv, *extra])
        return [
            {k: v for k, v in c.items() if k != "seconds"}
            for c in json.loads(capsys.readouterr().out)["claims"]
        ]

    local = verdicts("--jobs", "1")
    assert len(local) > 5 and {c["status"] for c in local} <= {"proved", "holds"}
    assert verdicts("--scheduler", cluster.address) == local


def test_local_cluster_without_scheduler(tmp_path, capsys) -> None:
    text = 'command = "dynamics"\n[fixed]\nmethod = "anil"\nd = 4\nT = 5\n[grid]\nalpha = [0.1, 0.2]\n'
    path = write(tmp_path / "l.toml", text)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--workers", "1", "--out", str(out)]) == 0
    assert "2 tasks (2 points × 1 seeds): 2 run, 0 reused; 2 ok" in capsys.readouterr().out
    assert len(records(out)) == 2
    assert os.path.exists(out / "results.csv")


def test_parquet_table_has_the_csv_rows_typed(cluster, tmp_path, capsys) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    path = write(tmp_path / "small.toml", SMALL)
    tables = {}
    for fmt in ("csv", "parquet"):
        out = tmp_path / fmt
        assert (
            main(["sweep", str(path), "--scheduler", cluster.address, "--out", str(out), "--format", fmt])
            == 0
        )
        assert f"results.{fmt}" in capsys.readouterr().out
        tables[fmt] = out
    rows = list(csv.DictReader((tables["csv"] / "results.csv").open()))
    table = pq.read_table(tables["parquet"] / "results.parquet").to_pylist()
    assert list(table[0]) == list(rows[0])  # the same columns in the same order
    for typed, text in zip(table, rows, strict=True):
        assert typed["status"] == text["status"] and typed["seed"] == int(text["seed"])
        rate = typed["rate"]
        assert (rate is None and text["rate"] == "") or rate == float(text["rate"])
        assert typed["diverged"] is (text["diverged"] == "true")


def test_a_task_that_raises_is_recorded_with_the_command_lines_message(capsys) -> None:
    # Valid flags (the sweep's check passes), but E_m(w_MAML) ~ 5e197 is beyond what the Monte Carlo carries:
    # compare() refuses it only once the closed forms are computed, inside the task.
    task = sweep.Task("landscape", {"mc": 100, "R": 1e100}, 0)
    sweep.check_points(sweep.Sweep(Path("x.toml"), "landscape", {"mc": 100}, {"R": [1e100]}, [0]))
    record = sweep.run_task(task)
    assert record["status"] == "error" and "result" not in record
    assert main(sweep.argv(task)) == 2
    assert capsys.readouterr().err == f"maml-theory: error: {record['error']}\n"


def test_an_infinite_parameter_is_a_row_like_any_other(tmp_path) -> None:
    # TOML has inf: m = inf is the exact gradient (landscape --m inf); its task file writes it as "inf".
    path = write(tmp_path / "m.toml", 'command = "landscape"\n[grid]\nm = [inf, 10]\n')
    s = sweep.load(str(path))
    sweep.check_points(s)
    (tmp_path / "tasks").mkdir()
    for task in s.tasks():
        sweep.write_record(tmp_path / "tasks", task.key, sweep.run_task(task))
    sweep.assemble(s, tmp_path)
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    got = [(r["m"], r["status"], r["instance.m"]) for r in rows]
    assert got == [("inf", "ok", "inf"), ("10", "ok", "10.0")]
