"""Parameter spaces: the boxes that admissible random instances are drawn from, searched and shrunk in.

A :class:`Space` is a box of named parameters. Every parameter maps the unit interval onto its range
(linearly, or geometrically when ``log``; integers are rounded), so one point u ∈ [0, 1]^p is one instance.
The same box serves the verifier's random draws (:meth:`Space.draw`), its worst-case search (scipy.optimize
over u), its shrinker (moving each parameter towards its ``simple`` value) and the hypothesis strategies of
the tests (:meth:`Space.strategy`): one definition of "admissible random instance" for all of them."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Param:
    """One parameter: its range [low, high], whether it is drawn on a log scale or is an integer, the
    value the shrinker moves it towards (``simple``, default ``low``), and whether searches may move it at all
    (``fixed``: a seed, say, whose neighbourhood means nothing)."""

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False
    simple: float | None = None
    fixed: bool = False

    def __post_init__(self) -> None:
        if not self.low <= self.high or (self.log and self.low <= 0):
            raise ValueError(f"parameter {self.name}: bad range [{self.low}, {self.high}]")

    def value(self, u: float) -> float:
        """The parameter at unit coordinate u ∈ [0, 1]."""
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        x = min(max(x, self.low), self.high)
        return float(round(x)) if self.integer else x

    def unit(self, x: float) -> float:
        """The unit coordinate of value x (the inverse of :meth:`value`, clipped to the range)."""
        if self.high == self.low:
            return 0.0
        x = min(max(float(x), self.low), self.high)
        if self.log:
            return (math.log(x) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (x - self.low) / (self.high - self.low)

    @property
    def target(self) -> float:
        return self.low if self.simple is None else self.simple

    def contains(self, x: float) -> bool:
        """Whether x is a value of the parameter: in [low, high] (so not NaN), and whole if ``integer``."""
        return self.low <= x <= self.high and (not self.integer or float(x).is_integer())

    def describe(self) -> str:
        """The range in words, for an error message: "m an integer in 1..200", "R in [0.01, 10]"."""
        if self.low == self.high:
            return f"{self.name} = {self.low:g}"
        if self.integer:
            return f"{self.name} an integer in {self.low:g}..{self.high:g}"
        return f"{self.name} in [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Space:
    """A box of parameters; ``derive`` adds those that follow from the drawn ones (d = k + extra, say)."""

    params: tuple[Param, ...]
    derive: Callable[[dict[str, float]], Mapping[str, float]] | None = field(default=None, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def at(self, u: np.ndarray) -> dict[str, float]:
        """The instance at unit point u (drawn parameters, then the derived ones)."""
        values = {p.name: p.value(x) for p, x in zip(self.params, u, strict=True)}
        return self.complete(values)

    def complete(self, values: Mapping[str, float]) -> dict[str, float]:
        """``values`` (the drawn parameters) with the derived ones added."""
        out = dict(values)
        if self.derive is not None:
            out.update(self.derive(out))
        return out

    def outside(self, values: Mapping[str, float]) -> Param | None:
        """The first parameter whose value in ``values`` is not in its range (None: a point of the box)."""
        return next((p for p in self.params if not p.contains(values[p.name])), None)

    def unit(self, values: Mapping[str, float]) -> np.ndarray:
        return np.array([p.unit(values[p.name]) for p in self.params])

    def draw(self, rng: np.random.Generator, n: int) -> list[dict[str, float]]:
        """n instances, uniform in the unit box (so log-uniform for ``log`` parameters)."""
        return [self.at(u) for u in rng.random((n, len(self.params)))]

    def strategy(self) -> Any:
        """The same box as a hypothesis strategy of parameter dicts (hypothesis is a test dependency, so it is
        imported here, on demand)."""
        from hypothesis import strategies as st

        unit = st.floats(0.0, 1.0, allow_nan=False)
        return st.tuples(*(unit for _ in self.params)).map(lambda u: self.at(np.array(u)))
