"""Compiling derived sympy expressions to numpy: shared by the specs' verification code.

sympy's numpy printer has no trace for matrix expressions; this one prints ``numpy.trace``. Functions are
compiled once per expression (the callers cache them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp
from sympy.printing.numpy import NumPyPrinter


class _Printer(NumPyPrinter):
    def _print_Trace(self, expr: sp.Trace) -> str:
        return f"numpy.trace({self._print(expr.arg)})"


def numpy_function(args: Sequence[sp.Basic], expr: sp.Basic) -> Callable:
    """``expr`` as a numpy function of ``args`` (matrix symbols take arrays of their shape).

    Every argument is renamed to a plain identifier first: lambdify would otherwise replace a symbol named
    like ``B_{*}`` by a commutative dummy, and a product with it would be printed in the wrong order.
    """
    plain = [
        sp.MatrixSymbol(f"a{i}", *a.shape) if isinstance(a, sp.MatrixSymbol) else sp.Symbol(f"a{i}")
        for i, a in enumerate(args)
    ]
    renamed = expr.xreplace(dict(zip(args, plain, strict=True)))
    return sp.lambdify(plain, renamed, modules="numpy", printer=_Printer)
