"""Figure configs: TOML files shipped in ``reports/figures/configs/``, one per figure.

A config records every parameter of its figure and the seed. Its optional ``[quick]`` table holds overrides
for the quick variant (shorter runs, fewer Monte Carlo samples, coarser grids: for tests and
``maml-theory report --quick``), merged key by key into the rest, tables recursively; the merged config has no
``quick`` table and carries ``variant = "quick"`` or ``"full"``. That merged config is what a figure is made
from and what its files carry in their metadata, written back as TOML by :func:`dumps`.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if key not in base:
            # A key the full config lacks would be a parameter that only the quick variant sets: a typo.
            raise ValueError(f"[quick] sets {key!r}, which the full config does not have")
        out[key] = _merge(base[key], value) if isinstance(value, Mapping) else value
    return out


def load(name: str, quick: bool = False) -> dict[str, Any]:
    """The config of figure ``name``, its ``[quick]`` table merged in when ``quick``."""
    text = (resources.files(__package__) / "configs" / f"{name}.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    overrides = raw.pop("quick", {})
    merged = _merge(raw, overrides) if quick else raw
    return {**merged, "variant": "quick" if quick else "full"}


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=True)


def _value(x: Any) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        # repr round-trips a float exactly; TOML spells the non-finite ones inf, -inf and nan.
        return repr(x) if math.isfinite(x) else ("nan" if math.isnan(x) else ("inf" if x > 0 else "-inf"))
    if isinstance(x, str):
        # A JSON string with ASCII escapes is a valid TOML basic string, and ASCII fits a PNG text chunk.
        return json.dumps(x, ensure_ascii=True)
    if isinstance(x, list | tuple):
        return "[" + ", ".join(_value(item) for item in x) + "]"
    raise TypeError(f"no TOML form for {type(x).__name__}")


def dumps(config: Mapping[str, Any], _prefix: str = "") -> str:
    """``config`` (nested tables of booleans, integers, floats, strings and lists of them) as ASCII TOML text
    with ``tomllib.loads(dumps(c)) == c``: a table's scalars first, then each sub-table under its dotted
    header."""
    scalars = "".join(f"{_key(k)} = {_value(x)}\n" for k, x in config.items() if not isinstance(x, Mapping))
    tables = "".join(
        f"\n[{_prefix}{_key(k)}]\n" + dumps(x, f"{_prefix}{_key(k)}.")
        for k, x in config.items()
        if isinstance(x, Mapping)
    )
    return scalars + tables
