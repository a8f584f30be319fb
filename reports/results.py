"""Saved results of the long experiments (``maml-theory floor --save``, …), for the report to include.

A result is saved as ``reports/build/results/NAME.json`` (relative to the working directory, beside the
report's default folder): the command's JSON output under ``"result"``, with the command line that made it
under ``"command"`` and the UTC time under ``"saved"``. :func:`load` returns None when there is none, and the
report then runs the experiment's quick configuration instead, saying which it shows.
"""

from __future__ import annotations

import datetime
import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FOLDER = Path("reports/build/results")


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
