"""Validation of user-facing parameters: one clear error naming the parameter and its allowed range."""

from __future__ import annotations

import math
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


def integer(name: str, value: object, *, low: int, allowed: str | None = None) -> int:
    """``value`` as an int ≥ ``low`` (integral floats such as 3.0 are accepted), else
    :class:`ParameterError`."""
    allowed = allowed or f"an integer >= {low}"
    if isinstance(value, bool):
        raise ParameterError(name, allowed, value)
    if isinstance(value, Integral):
        n = int(value)
    elif isinstance(value, Real) and math.isfinite(float(value)) and float(value).is_integer():
        n = int(value)
    else:
        raise ParameterError(name, allowed, value)
    if n < low:
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
