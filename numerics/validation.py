"""Validation of user-facing parameters: one clear error naming the parameter and its allowed range."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from numbers import Integral, Real

import numpy as np


class ParameterError(ValueError):
    """A parameter outside its allowed range.

    ``name`` is the parameter's name as the Python API spells it (``rho_hard``); the command line
    maps it to its flag (``--rho-hard``).
    """

    def __init__(self, name: str, allowed: str, got: object) -> None:
        self.name = name
        self.allowed = allowed
        self.got = got
        super().__init__(f"{name} must be {allowed} (got {got!r})")


def real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    low_open: bool = False,
    high: float | None = None,
    allowed: str,
) -> float:
    """``value`` as a finite float in the given range, else :class:`ParameterError`."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ParameterError(name, allowed, value)
    x = float(value)
    if not math.isfinite(x):
        raise ParameterError(name, f"finite and {allowed}", value)
    if low is not None and (x < low or (low_open and x == low)):
        raise ParameterError(name, allowed, value)
    if high is not None and x > high:
        raise ParameterError(name, allowed, value)
    return x


INT64_MAX = 2**63 - 1
"""The largest count numpy's random samplers take (their sizes and degrees of freedom are int64)."""


def integer(
    name: str, value: object, *, low: int, high: int | None = None, allowed: str | None = None
) -> int:
    """``value`` as an int in ``low``..``high`` (no upper bound when None; integral floats such as 3.0 are
    accepted), else :class:`ParameterError`."""
    allowed = allowed or (f"an integer >= {low}" if high is None else f"an integer in {low}..{high}")
    if isinstance(value, bool):
        raise ParameterError(name, allowed, value)
    if isinstance(value, Integral):
        n = int(value)
    elif isinstance(value, Real) and math.isfinite(float(value)) and float(value).is_integer():
        n = int(value)
    else:
        raise ParameterError(name, allowed, value)
    if n < low or (high is not None and n > high):
        raise ParameterError(name, allowed, value)
    return n


def sample_count(name: str, value: object) -> float:
    """A sample size m: an integer ≥ 1, or ``math.inf`` for the exact (population) gradient."""
    allowed = "an integer >= 1 or inf"
    if isinstance(value, Real) and not isinstance(value, bool) and float(value) == math.inf:
        return math.inf
    return float(integer(name, value, low=1, allowed=allowed))


def matrix(name: str, value: object, shape: tuple[int, ...], *, allowed: str) -> np.ndarray:
    """``value`` as a finite float64 array of the given shape (a read-only copy). Only real numbers are
    taken: a complex array (whose imaginary part a cast would drop), a boolean or a non-numeric one is
    rejected, and the error describes the value by its type and shape, not its repr (one line however large
    it is)."""
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        raise ParameterError(name, allowed, f"a {type(value).__name__} that is not an array") from None
    if raw.dtype.kind not in "iuf":
        raise ParameterError(name, allowed, f"an array of dtype {raw.dtype} and shape {raw.shape}")
    a = np.array(raw, dtype=np.float64)
    if a.shape != shape or not np.all(np.isfinite(a)):
        raise ParameterError(name, allowed, f"array of shape {a.shape}")
    a.setflags(write=False)
    return a


def spd(name: str, value: object, d: int, *, semi: bool = False) -> np.ndarray:
    """A symmetric positive definite (or, with ``semi``, semidefinite) d×d matrix."""
    kind = "positive semidefinite" if semi else "positive definite"
    allowed = f"a symmetric {kind} {d}x{d} matrix"
    a = matrix(name, value, (d, d), allowed=allowed)
    scale = max(1.0, float(np.max(np.abs(a))))
    if not np.allclose(a, a.T, rtol=0.0, atol=1e-12 * scale):
        raise ParameterError(name, allowed, "a non-symmetric matrix")
    lam_min = float(np.linalg.eigvalsh(a)[0])
    if lam_min < -1e-12 * scale or (not semi and lam_min <= 1e-12 * scale):
        raise ParameterError(name, allowed, f"a matrix with smallest eigenvalue {lam_min:.3g}")
    return a


MEMORY_LIMIT = 20 * 2**30
"""Bytes a run may plan to hold at once: this machine's 24 GiB less 4 GiB for the system, the interpreter and
the other processes. Sizes whose estimated peak exceeds it are refused before anything is allocated."""

TIME_LIMIT = 3600.0
"""Seconds a run may be estimated to take: one hour on this 2-core machine. Larger sizes are refused before
they start; an estimate only needs to tell an absurd size (hours or days) from a feasible one."""


def bytes_text(n: float) -> str:
    """``n`` bytes in GiB or MiB, e.g. "31.2 GiB"."""
    return f"{n / 2**30:.3g} GiB" if n >= 2**30 else f"{n / 2**20:.3g} MiB"


def duration_text(seconds: float) -> str:
    """``seconds`` in the largest unit that keeps it at least 1: "1 hour", "3.25 hours", "41.82 days"."""
    for unit, size in (("day", 86400.0), ("hour", 3600.0), ("minute", 60.0)):
        if seconds >= size:
            count = f"{seconds / size:.4g}"
            return f"{count} {unit}{'' if count == '1' else 's'}"
    return f"{seconds:.4g} s"


def culprit(
    values: Mapping[str, float],
    typical: Mapping[str, float],
    fits: Callable[[Mapping[str, float]], bool],
    *,
    integral: bool = False,
) -> tuple[str, float | None]:
    """The parameter to blame when ``values`` do not ``fit``, and the bound it must keep.

    Of the parameters whose ``typical`` value, the others kept as given, fits, the one furthest from it (in
    |log(value/typical)|) is named, with the value nearest to the given one that still fits, found by
    bisection on the log scale between the two (one crossing is assumed; with ``integral`` an integer).
    When no single parameter can be moved to fit, the furthest is named with the bound None. Only positive,
    finite values take part (a zero or an infinite value is never what overflows or runs out of memory)."""

    def distance(name: str) -> float:  # logs apart: a quotient of huge integers would overflow a float
        return abs(math.log(values[name]) - math.log(typical[name]))

    names = [n for n, x in values.items() if 0 < x < math.inf and 0 < typical[n] < math.inf]
    movable = [n for n in names if fits({**values, n: typical[n]})]
    if not names:  # nothing positive and finite to move: the first parameter, without a bound
        return next(iter(values)), None
    name = max(movable or names, key=distance)
    if not movable:
        return name, None
    if integral:
        good, bad = int(typical[name]), int(values[name])
        while abs(bad - good) > 1:
            mid = (good + bad) // 2
            good, bad = (mid, bad) if fits({**values, name: mid}) else (good, mid)
        return name, good
    good, bad = math.log(typical[name]), math.log(values[name])
    for _ in range(64):
        mid = (good + bad) / 2
        good, bad = (mid, bad) if fits({**values, name: math.exp(mid)}) else (good, mid)
    return name, math.exp(good)


def _needs(
    estimate: Callable[[Mapping[str, int]], tuple[float, float]], sizes: Mapping[str, int]
) -> tuple[float, float]:
    """``estimate(sizes)``; infinite where the estimate itself overflows a float (an integer product of sizes
    such as d = 1e308 cubed, past float64's 1.8e308: far beyond any limit)."""
    try:
        return estimate(sizes)
    except OverflowError:
        return math.inf, math.inf


def _about(x: float, text: Callable[[float], str]) -> str:
    return f"about {text(x)}" if math.isfinite(x) else "past float64's 1.8e308"


def within_budget(
    sizes: Mapping[str, int],
    typical: Mapping[str, int],
    estimate: Callable[[Mapping[str, int]], tuple[float, float]],
) -> None:
    """:class:`ParameterError` when ``estimate(sizes)``, the (bytes, seconds) a run of these sizes is
    estimated to need, exceeds :data:`MEMORY_LIMIT` or :data:`TIME_LIMIT`: called before anything is
    allocated. The size named is :func:`culprit`'s (``typical`` values fit), with the largest value that
    fits both limits, the others as given."""
    memory, seconds = _needs(estimate, sizes)
    over = []
    if math.isinf(memory) and math.isinf(seconds):
        over.append("memory or time past float64's 1.8e308 (their estimate overflows)")
    else:
        if memory > MEMORY_LIMIT:
            limit = f"{bytes_text(MEMORY_LIMIT)} (this machine has 24 GiB)"
            over.append(f"{_about(memory, bytes_text)} of memory, over the limit of {limit}")
        if seconds > TIME_LIMIT:
            limit = duration_text(TIME_LIMIT)
            over.append(f"{_about(seconds, duration_text)} to run, over the limit of {limit}")
    if not over:
        return

    def fits(values: Mapping[str, float]) -> bool:
        need = _needs(estimate, values)
        return need[0] <= MEMORY_LIMIT and need[1] <= TIME_LIMIT

    name, bound = culprit(sizes, typical, fits, integral=True)
    allowed = (
        "smaller, with other sizes too" if bound is None else f"at most {bound} with the other sizes as given"
    )
    raise ParameterError(name, f"{allowed}: these sizes would need {' and '.join(over)}", sizes[name])
