"""The README's worked examples are real: each ```console block's output is what the command prints now."""

import re
import shlex
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
