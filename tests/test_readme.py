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


def test_readme_lists_every_claim():
    from maml_theory.theory.claims import registered
    from maml_theory.theory.landscape import claims  # noqa: F401  (registers spec L's claims)
    from maml_theory.theory.representation import claims as _  # noqa: F401  (and spec R's)

    text = README.read_text()
    # The project's own claims: a test may have loaded a user's claim file into the registry too.
    missing = [c.id for c in registered("L.") + registered("R.") if f"`{c.id}`" not in text]
    assert not missing
