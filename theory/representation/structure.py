"""Structural facts of spec R §3–4, derived from the updates of
:mod:`maml_theory.theory.representation.updates`.

- :func:`orthonormal`: the rewrite B_*ᵀB_* = I, B_⊥ᵀB_⊥ = I, B_⊥ᵀB_* = 0, B_*ᵀB_⊥ = 0 on adjacent factors.
- :func:`perpendicular`: B_⊥ᵀ g_B = B_⊥ᵀB · C for one task, C read off; so B_⊥ᵀB⁺ = B_⊥ᵀB (I − βC̄) and the
  wrong subspace can only shrink.
- :func:`reduced_dynamics`: FO-ANIL at w ≡ 0 in A = B_*ᵀB, E = B_⊥ᵀB (B = B_*A + B_⊥E).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from maml_theory.theory import matrix_forms as mf
from maml_theory.theory.derivation import Derivation
from maml_theory.theory.relations import equals
from maml_theory.theory.representation import model as R
from maml_theory.theory.representation import updates

_T = sp.Transpose
_RULES: dict[tuple[sp.Basic, sp.Basic], list | None] = {
    (_T(R.B_star), R.B_star): [],
    (_T(R.B_perp), R.B_perp): [],
    (_T(R.B_perp), R.B_star): None,
    (_T(R.B_star), R.B_perp): None,
}


def _reduce_factors(fs: list[sp.Basic]) -> list[sp.Basic] | None:
    """Apply the orthonormality rules until none applies; None when the product vanishes."""
    fs = [orthonormal(f) if isinstance(f, R.TaskMean) else f for f in fs]
    changed = True
    while changed:
        changed = False
        for i in range(len(fs) - 1):
            pair = (fs[i], fs[i + 1])
            if pair in _RULES:
                if _RULES[pair] is None:
                    return None
                fs = fs[:i] + fs[i + 2 :]
                changed = True
                break
    return fs


def orthonormal(expr: sp.Basic) -> sp.Basic:
    """``expr`` with B_*ᵀB_* = I_k, B_⊥ᵀB_⊥ = I, B_⊥ᵀB_* = 0 and B_*ᵀB_⊥ = 0 applied (inside traces too)."""
    if isinstance(expr, R.TaskMean):
        return R.TaskMean(orthonormal(expr.arg))
    out = []
    for c, fs in mf.terms(expr, (R.Lam,)):
        c = c.replace(lambda e: isinstance(e, sp.Trace), lambda e: sp.Trace(orthonormal(e.arg)))
        reduced = _reduce_factors(fs)
        if reduced is not None:
            out.append((c, reduced))
    return mf.rebuild(out, expr.shape)


@cache
def perpendicular(method: str) -> Derivation:
    """B_⊥ᵀ g_B = B_⊥ᵀB · C for one task (then for the round, C̄ = (1/n)Σ C_i, since g_B is averaged)."""
    dv = Derivation(
        f"R.perp.{method}", f"B_⊥ᵀ B⁺ = B_⊥ᵀ B (I − βC): {method}", "spec R §4.1", points=R.POINTS
    )
    g_b = updates.task_gradient(method)["g_B"]
    left = dv.step(
        "multiply by B_⊥ᵀ, B_⊥ᵀB_* = 0",
        orthonormal(_T(R.B_perp) * g_b),
        "B_⊥ᵀ g_B",
        by=equals(_T(R.B_perp) * g_b, "B_⊥ᵀ g_B with (B_*, B_⊥) an exact orthonormal frame"),
    )
    rest = []
    for c, fs in mf.terms(left):
        if fs[:2] != [_T(R.B_perp), R.B]:
            raise AssertionError(f"term {fs} of B_⊥ᵀ g_B does not start with B_⊥ᵀB")
        rest.append((c, fs[2:]))
    dv.step(
        "every term starts with B_⊥ᵀB: read off C",
        mf.rebuild(rest, (R.k, R.k)),
        "C",
        by=equals(left, "B_⊥ᵀB C equals the line above", form=lambda c: _T(R.B_perp) * R.B * c),
    )
    return dv


@cache
def reduced_dynamics() -> Derivation:
    """FO-ANIL at w ≡ 0: A⁺ = A + βα(I − αAAᵀ)ΛA, E⁺ = E(I − βα²AᵀΛA)."""
    dv = Derivation(
        "R.reduced", "FO-ANIL at w = 0 in the coordinates A = B_*ᵀB, E = B_⊥ᵀB", "spec R §3", points=R.POINTS
    )
    b_next = updates.at_zero_head("fo-anil")["B⁺"]
    split_b = {R.B: R.B_star * R.A + R.B_perp * R.E}
    split = dv.step(
        "B = B_*A + B_⊥E",
        b_next.subs(split_b),
        "B⁺",
        by=equals(b_next, "B⁺ evaluated at B = B_*A + B_⊥E", given=split_b),
    )
    for name, frame in (("A", R.B_star), ("E", R.B_perp)):
        dv.step(
            f"{name}⁺ = {'B_*' if name == 'A' else 'B_⊥'}ᵀB⁺",
            orthonormal(_T(frame) * split),
            f"{name}⁺",
            by=equals(
                _T(frame) * b_next, "evaluated at B = B_*A + B_⊥E, exact orthonormal frame", given=split_b
            ),
        )
    return dv
