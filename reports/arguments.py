"""Command-line numbers.

Arguments are read as strings and handed to the API's validation as numbers where they parse, else as the
text itself, so that every mistake (a non-number included) is reported by the one place that knows the
parameter's allowed range.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from maml_theory.numerics import validation as v
from maml_theory.numerics.verification.engine import json_safe

ARRAY_NAMES = ("B0", "w0", "B_star", "heads")
"""The arrays of ``dynamics --init FILE.npz``: parameters that come from a file rather than a flag."""


def number(text: str) -> int | float | str:
    """``text`` as an int where it is one (exactly: a seed above 2⁵³ keeps every digit), else as a float
    where it parses ("inf" included), else unchanged for the validator to reject."""
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return text


def count(name: str, text: str, low: int) -> int:
    """An integer ≥ ``low`` from ``text``, else ParameterError naming ``name``."""
    return v.integer(name, number(text), low=low)


def json_number(x: float) -> float | str:
    """JSON has no infinity: a parameter m = ∞ is written as the string "inf"."""
    return "inf" if math.isinf(x) else x


def emit(result: dict, as_json: bool, table: Callable[[], str]) -> int:
    """Print ``result`` as strict JSON (an inf or NaN left in it, a rate that overflows say, is written as a
    string such as "-inf", as everywhere in this tool's JSON) or as the text ``table()``; exit code 0."""
    print(json.dumps(json_safe(result), indent=2, allow_nan=False) if as_json else table())
    return 0
