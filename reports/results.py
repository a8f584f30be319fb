"""Saved results of the long experiments (``maml-theory floor --save``, …), for the report to include.

A result is saved as ``reports/build/results/NAME.json`` (relative to the working directory, beside the
report's default folder): the command's JSON output under ``"result"``, with the command line that made it
under ``"command"`` and the UTC time under ``"saved"``. :func:`load` returns None when there is none, and the
report then runs the experiment's quick configuration instead, saying which it shows.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

AddParser = Callable[[argparse._SubParsersAction], None]

FOLDER = Path("reports/build/results")


def _parsers(command: str, add_parser: AddParser) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    parser = argparse.ArgumentParser(prog="maml-theory")
    commands = parser.add_subparsers()
    add_parser(commands)
    return parser, commands.choices[command]


def parse(command: str, add_parser: AddParser, argv: Sequence[str]) -> argparse.Namespace:
    """The arguments of ``maml-theory COMMAND ARGV`` (defaults filled in), from the command's own parser."""
    return _parsers(command, add_parser)[0].parse_args([command, *argv])


def command_line(command: str, add_parser: AddParser, args: argparse.Namespace) -> list[str]:
    """Every option of ``args`` written out (defaults included, --json and --save left out): the full
    configuration a saved result was made with."""
    out = [command]
    for action in _parsers(command, add_parser)[1]._actions:
        if not action.option_strings or action.dest in ("help", "json", "save"):
            continue
        value = getattr(args, action.dest)
        if isinstance(action, argparse._StoreTrueAction):
            out += [action.option_strings[0]] if value else []
        elif value is not None:
            out += [action.option_strings[0], str(value)]
    return out


def add_save_flag(p: argparse.ArgumentParser, name: str) -> None:
    """``--save``: also keep the result where the report finds it."""
    p.add_argument("--save", action="store_true", help=f"also save the result for the report ({path(name)})")


def path(name: str) -> Path:
    """Where the result ``name`` is saved."""
    return FOLDER / f"{name}.json"


def save(name: str, result: Any, argv: Sequence[str]) -> Path:
    """Write ``result`` (JSON-ready) with the command line ``argv`` and the time; return the path."""
    saved = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    record = {"command": "maml-theory " + shlex.join(argv), "saved": saved, "result": result}
    target = path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=2, allow_nan=False))
    return target


def load(name: str) -> dict[str, Any] | None:
    """The saved record of ``name`` ({"command", "saved", "result"}), or None when none was saved or the
    file is not such a record (the report then shows the quick configuration)."""
    try:
        record = json.loads(path(name).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not {"command", "saved", "result"} <= set(record):
        return None
    return record
