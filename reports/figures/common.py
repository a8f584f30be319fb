"""What the figure modules share: instances built from config tables, the method styles, captions' wording
and the matplotlib figure (object API only: no pyplot, so no screen and no global backend state)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np
from matplotlib.figure import Figure

from maml_theory.numerics.landscape.instances import EasyHard
from maml_theory.numerics.representation.instances import Instance

D = TypeVar("D")

METHOD_LABELS = {
    "anil": "exact ANIL",
    "fo-anil": "FO-ANIL",
    "maml": "exact MAML",
    "fo-maml": "FO-MAML",
    "nal": "NAL",
    "mom": "method of moments",
    "altmin": "alternating min.",
    "bm": "Burer-Monteiro GD",
}
"""The meta-learners of spec R §2 and the baselines of numerics/representation/baselines.py."""
METHOD_COLOURS = {
    "anil": "C0",
    "fo-anil": "C1",
    "maml": "C2",
    "fo-maml": "C3",
    "nal": "C7",
    "mom": "C4",
    "altmin": "C5",
    "bm": "C6",
}
METHOD_LINES = {
    "anil": "-",
    "fo-anil": "--",
    "maml": ":",
    "fo-maml": "-.",
    "nal": "-",
    "mom": "-",
    "altmin": "--",
    "bm": ":",
}
"""Line styles as well as colours: in the theory's regime (w ≈ 0) several methods trace the same curve."""


def complete(cls: type[D], table: Mapping[str, Any]) -> D:
    """``cls(**table)`` for the dataclass ``cls``, insisting that the table names every field whose default is
    not None, so a config records each parameter rather than leaning on a default that may change. (None
    cannot be written in TOML: a field left out that way keeps its None, e.g. population sample sizes.)"""
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is not None and f.default is not dataclasses.MISSING
    }
    missing = sorted(required - set(table))
    if missing:
        raise ValueError(f"a {cls.__name__} table must give every parameter; missing: {', '.join(missing)}")
    return cls(**table)


def representation_instance(table: Mapping[str, Any], **changes: Any) -> Instance:
    """The spec R instance of a config table, with ``changes`` (e.g. a method's own β) applied."""
    return complete(Instance, {**table, **changes})


def landscape_instance(table: Mapping[str, Any], **changes: Any) -> EasyHard:
    """The spec L instance of a config table, with ``changes`` applied."""
    return complete(EasyHard, {**table, **changes})


def dist_quantiles(summary: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(median, p10, p90) per step of dist from :func:`~maml_theory.numerics.representation.dynamics.summary`,
    NaN for its JSON nulls (a diverged majority, a rank-deficient iterate); one run is its own median and
    band."""
    dist = summary["dist"]
    curves = dist if isinstance(dist, Mapping) else dict.fromkeys(("median", "p10", "p90"), dist)
    median, p10, p90 = (
        np.array([np.nan if x is None else x for x in curves[q]], dtype=np.float64)
        for q in ("median", "p10", "p90")
    )
    return median, p10, p90


def number(x: float) -> str:
    """A parameter for a caption: shortest form, "infinity" for inf."""
    return "infinity" if math.isinf(x) else f"{x:g}"


def describe(inst: Instance | EasyHard, omit: tuple[str, ...] = ()) -> str:
    """The instance in words for a caption, leaving out the fields ``omit`` (those a figure varies); only
    ASCII letters, digits and plain punctuation, so it is LaTeX-safe."""
    if isinstance(inst, Instance):
        parts = {
            "d": f"d = {inst.d}",
            "k": f"k = {inst.k}",
            "n": f"n = {inst.n} tasks per round",
            "alpha": f"alpha = {number(inst.alpha)}",
            "beta": f"beta = {number(inst.beta)}",
            "T": f"T = {inst.T}",
            "sigma": f"label noise sigma = {number(inst.sigma)}",
            "mu": f"mu = {number(inst.mu)}",
            "fixed_tasks": "a fixed task set" if inst.fixed_tasks else "fresh heads each round",
            "sign_symmetric": "sign-symmetric task sets" if inst.sign_symmetric else "",
            "init": f"{inst.init} initialisation",
        }
    else:
        # A field left None (alpha_train: MAML trained with α) is not a parameter of its own.
        fields = dataclasses.asdict(inst).items()
        parts = {k: f"{k.replace('_', ' ')} = {number(x)}" for k, x in fields if x is not None}
    return ", ".join(text for k, text in parts.items() if text and k not in omit)


def figure(columns: int = 1, width: float = 4.6, height: float = 3.6) -> Figure:
    """A figure of ``columns`` panels side by side, ``width`` inches each, laid out by matplotlib."""
    return Figure(figsize=(width * columns, height), layout="constrained")
