"""The README's worked examples are real: each ```console block's output is what the command prints now."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from maml_theory.reports.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```console\n\$ (.+?)\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize(("command", "expected"), BLOCKS, ids=[c for c, _ in BLOCKS])
def test_readme_example_output(capsys, command, expected):
    argv = shlex.split(command)
    assert argv[0] == "maml-theory"
    main(argv[1:])
    out = capsys.readouterr()
    assert (out.out + out.err) == expected


VERIFY = re.search(r"A run over everything.*?```text\n(.*?)```", README.read_text(), flags=re.S).group(1)


def _timeless(line: str) -> str:
    """A verify output line without what depends on the machine: the seconds column, the total time."""
    line = re.sub(r"\s+\d+\.\d+ s$", "", line)
    return re.sub(r" in \d+(\.\d+)? s:", " in _ s:", line)


@pytest.mark.slow
def test_readme_verify_excerpt_is_what_verify_prints():
    # The whole run (cold, about a minute on two cores): every line of the excerpt, in order, but for times.
    done = subprocess.run(
        [sys.executable, "-m", "maml_theory.reports.cli", "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    # Exit code 1 exactly when a claim fails or cannot be judged (the summary line says how many).
    counts = re.search(r"(\d+) fails, (\d+) inconclusive, (\d+) error", done.stdout)
    assert counts, done.stderr
    assert done.returncode == (1 if any(int(c) for c in counts.groups()) else 0), done.stderr
    printed = [_timeless(line) for line in done.stdout.splitlines()]
    at = 0
    for line in VERIFY.splitlines():
        if line == "...":
            continue
        want = _timeless(line)
        assert want in printed[at:], f"not printed (in order): {want}"
        at = printed.index(want, at) + 1


SWEEP = re.search(r"## Sweeps on Dask.*?```text\n\$ (.+?)\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.slow
def test_readme_sweep_example_is_what_sweep_prints(tmp_path, monkeypatch, capsys):
    # 352 dynamics runs on a LocalCluster (about 30 s on two cores), in a scratch folder: the example writes
    # its output folder into the working folder.
    command, expected = SWEEP.groups()
    argv = shlex.split(command)
    assert argv[:2] == ["maml-theory", "sweep"]
    argv[2] = str(README.parent / argv[2])
    monkeypatch.chdir(tmp_path)
    assert main(argv[1:]) == 0
    assert capsys.readouterr().out == expected
