"""Exact evaluation of matrix expressions at random rational points in small concrete dimensions.

The independent route behind the checks of a derivation's operation steps
(:mod:`maml_theory.theory.derivation`): the general-dimension symbolic work (differentials, Wick pairings,
task averages, substitutions) is redone at a point by plain arithmetic on explicit matrices, where every
quantity is an exact rational.

- :class:`Point`: concrete values for dimension symbols (small integers), scalar symbols (random rationals,
  positive for positive symbols) and matrix symbols (random rational matrices; declared symmetric ones are
  symmetric positive definite; declared orthonormal frames (B_*, B_⊥) are the column blocks of an exact
  rational orthogonal matrix, the Cayley transform (I − S)(I + S)⁻¹ of a skew-symmetric S). A symbol's value
  depends only on the point's seed and the symbol's name, not on the order of use.
- :meth:`Point.evaluate`: an expression as an exact matrix (a :class:`DomainMatrix`) or scalar, over ℚ or a
  polynomial ring ℚ[t, ζ, …] when some symbols are given polynomial values (a direction t·V for a
  derivative, Gaussian vectors L ζ for an expectation).
- :func:`gaussian_mean`: E over independent ζ_i ~ N(0, D_i) of a polynomial, monomial by monomial:
  E[Π ζ_i^{p_i}] = Π D_i^{p_i/2} (p_i − 1)!! for even p_i, else 0 — a different algorithm from the moment
  engine's Wick pairing in general dimension.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sympy as sp
from sympy.polys.matrices import DomainMatrix

Value = DomainMatrix | object
"""An evaluated expression: a DomainMatrix for a matrix, a domain element for a scalar."""


@dataclass
class Point:
    """Concrete values at which expressions are evaluated (module docstring).

    ``dims``: integer values of the dimension symbols (and of sample sizes written as symbols);
    ``symmetric``: matrix symbols drawn symmetric positive definite; ``frames``: pairs (B, B_⊥) drawn as
    complementary column blocks of one rational orthogonal matrix.
    """

    dims: Mapping[sp.Symbol, int]
    seed: int = 0
    symmetric: Iterable[sp.Basic] = ()
    frames: Iterable[tuple[sp.MatrixSymbol, sp.MatrixSymbol]] = ()

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.symmetric = tuple(self.symmetric)
        self.frames = tuple(self.frames)
        self._drawn: dict[sp.Basic, sp.Basic] = {}
        self.dims = {s: sp.Integer(v) for s, v in dict(self.dims).items()}

    # -- draws ---------------------------------------------------------------------------------------
    @staticmethod
    def _rational(rng: random.Random, positive: bool) -> sp.Rational:
        num = rng.randint(1, 9) * (1 if positive or rng.random() < 0.5 else -1)
        return sp.Rational(num, rng.randint(1, 7))

    def size(self, n: sp.Expr) -> int:
        """A shape entry (an integer or an expression in the dimension symbols) as an int."""
        value = sp.sympify(n).xreplace(self.dims)
        if not value.is_Integer:
            raise ValueError(f"dimension {n} has no concrete value at this point (dims {dict(self.dims)})")
        return int(value)

    def _matrix(self, rows: int, cols: int, rng: random.Random | None = None) -> sp.Matrix:
        rng = rng or self._rng
        return sp.Matrix(rows, cols, lambda i, j: self._rational(rng, False))

    def _orthogonal(self, n: int, rng: random.Random) -> sp.Matrix:
        upper = self._matrix(n, n, rng)
        skew = sp.Matrix(n, n, lambda i, j: upper[i, j] if i < j else (-upper[j, i] if i > j else 0))
        eye = sp.eye(n)
        return (eye - skew) * (eye + skew).inv()

    def value(self, symbol: sp.Basic) -> sp.Basic:
        """The concrete value of a symbol (a sympy Rational or Matrix), drawn on first use."""
        if symbol in self._drawn:
            return self._drawn[symbol]
        # Seeded by name, so that a value does not depend on which symbols were drawn before it.
        rng = random.Random(f"{self.seed}/{symbol}")
        if isinstance(symbol, sp.MatrixSymbol):
            rows, cols = self.size(symbol.shape[0]), self.size(symbol.shape[1])
            for frame, perp in self.frames:
                if symbol in (frame, perp):
                    q = self._orthogonal(rows, random.Random(f"{self.seed}/{frame}"))
                    k = self.size(frame.shape[1])
                    self._drawn[frame], self._drawn[perp] = q[:, :k], q[:, k:]
                    return self._drawn[symbol]
            if symbol in self.symmetric:
                g = self._matrix(rows, rows, rng)
                value = g * g.T + sp.eye(rows)  # positive definite: a covariance may be one
            else:
                value = self._matrix(rows, cols, rng)
        elif isinstance(symbol, sp.Symbol):
            if symbol in self.dims:
                value = self.dims[symbol]
            else:
                value = self._rational(rng, bool(symbol.is_positive or symbol.is_nonnegative))
        else:
            raise TypeError(f"{symbol!r} is not a symbol")
        self._drawn[symbol] = value
        return value

    def random_like(self, symbol: sp.MatrixSymbol) -> sp.Matrix:
        """A fresh random rational matrix of ``symbol``'s shape (a direction, say), from the point's own
        stream: the n-th fresh draw of a point is the same every time."""
        return self._matrix(self.size(symbol.shape[0]), self.size(symbol.shape[1]))

    # -- evaluation ----------------------------------------------------------------------------------
    def evaluate(
        self,
        expr: sp.Basic,
        given: Mapping[sp.Basic, object] | None = None,
        domain: sp.polys.domains.Domain = sp.QQ,
    ) -> Value:
        """``expr`` at this point, exactly, over ``domain``. ``given`` overrides values for this call only:
        a sympy expression (evaluated here first, e.g. B ↦ B_*A + B_⊥E), an explicit Matrix or a
        DomainMatrix over ``domain`` (e.g. a polynomial direction)."""
        return _Evaluator(self, dict(given or {}), domain).run(sp.sympify(expr))


@dataclass(frozen=True)
class Points:
    """The points a model's derivations are checked at: point i takes ``dims[i % len(dims)]`` and seed i;
    ``symmetric`` and ``frames`` as in :class:`Point`."""

    dims: tuple[Mapping[sp.Symbol, int], ...]
    symmetric: tuple[sp.Basic, ...] = ()
    frames: tuple[tuple[sp.MatrixSymbol, sp.MatrixSymbol], ...] = ()

    def point(self, i: int, symmetric: Iterable[sp.Basic] = ()) -> Point:
        """Point i; ``symmetric``: further symbols drawn symmetric (a derivation's own)."""
        dims = self.dims[i % len(self.dims)]
        return Point(dims, seed=i, symmetric=(*self.symmetric, *symmetric), frames=self.frames)


class _Evaluator:
    def __init__(self, point: Point, given: dict, domain) -> None:
        self.point, self.domain = point, domain
        self.cache: dict[sp.Basic, Value] = {}
        self.given: dict[sp.Basic, Value] = {}
        for symbol, value in given.items():
            self.given[symbol] = self._convert(value)

    def _convert(self, value: object) -> Value:
        if isinstance(value, DomainMatrix):
            return value.convert_to(self.domain).to_dense()
        if isinstance(value, sp.MatrixBase):
            return DomainMatrix.from_Matrix(sp.Matrix(value)).convert_to(self.domain).to_dense()
        if isinstance(value, sp.Basic) and not value.is_number:
            return self.run(value)
        if isinstance(value, sp.Basic | int):
            return self.domain.convert(sp.sympify(value))
        return value  # already a domain element

    def child(self, given: Mapping[sp.Basic, object]) -> _Evaluator:
        """An evaluator at the same point with further given values (a class's ``_concrete`` hook uses it to
        evaluate its argument, say, at each of several values of a symbol)."""
        out = _Evaluator(self.point, {}, self.domain)
        out.given = {**self.given, **{s: out._convert(v) for s, v in given.items()}}
        return out

    def run(self, e: sp.Basic) -> Value:
        if e in self.cache:
            return self.cache[e]
        out = self._matrix(e) if _is_matrix(e) else self._scalar(e)
        self.cache[e] = out
        return out

    def _shape(self, e: sp.Basic) -> tuple[int, int]:
        return self.point.size(e.shape[0]), self.point.size(e.shape[1])

    def _matrix(self, e: sp.Basic) -> DomainMatrix:
        K = self.domain
        if e in self.given:
            return self.given[e]
        if isinstance(e, sp.MatrixSymbol):
            return self._convert(sp.Matrix(self.point.value(e)))
        if isinstance(e, sp.Identity):
            return DomainMatrix.eye(self.point.size(e.shape[0]), K).to_dense()
        if isinstance(e, sp.ZeroMatrix):
            return DomainMatrix.zeros(self._shape(e), K).to_dense()
        if isinstance(e, sp.MatrixBase):
            return self._convert(e)
        if isinstance(e, sp.MatAdd):
            parts = [self.run(a) for a in e.args]
            total = parts[0]
            for p in parts[1:]:
                total = total + p
            return total
        if isinstance(e, sp.MatMul):
            scalar, product = K.one, None
            for a in e.args:
                if not _is_matrix(a):
                    scalar = scalar * self.run(a)
                    continue
                v = self.run(a)
                if product is None:
                    product = v
                elif product.shape[1] == v.shape[0]:
                    product = product.matmul(v)
                elif v.shape == (1, 1):  # a 1×1 factor where the dimensions do not chain is a scalar
                    scalar = scalar * v.to_list()[0][0]
                elif product.shape == (1, 1):
                    scalar, product = scalar * product.to_list()[0][0], v
                else:
                    raise ValueError(f"factors of {e} do not chain")
            return product * scalar
        if isinstance(e, sp.Transpose):
            return self.run(e.arg).transpose()
        if isinstance(e, sp.Inverse):
            return self.run(e.arg).inv()
        if isinstance(e, sp.MatPow):
            return self.run(e.base).pow(int(e.exp))
        handler = getattr(e, "_concrete", None)
        if handler is not None:
            return handler(self)
        raise TypeError(f"cannot evaluate {type(e).__name__} {e} at a point")

    def _scalar(self, e: sp.Basic) -> object:
        K = self.domain
        if e in self.given:
            return self.given[e]
        if isinstance(e, sp.Trace):
            return sum(self.run(e.arg).diagonal(), K.zero)
        if isinstance(e, sp.Symbol):
            return K.convert(self.point.value(e))
        if e.is_Number:
            return K.convert(e)
        if isinstance(e, sp.Add):
            return sum((self.run(a) for a in e.args), K.zero)
        if isinstance(e, sp.Mul):
            out = K.one
            for a in e.args:
                out = out * self.run(a)
            return out
        if isinstance(e, sp.Pow):
            exponent = e.exp if e.exp.is_Integer else K.to_sympy(self.run(e.exp))
            if not exponent.is_Integer:
                raise ValueError(f"{e}: the exponent is not an integer at this point")
            base = self.run(e.base)
            if exponent >= 0:
                return base ** int(exponent)
            return K.quo(K.one, base ** int(-exponent))
        if isinstance(e, sp.MatrixElement):
            return self.run(e.parent).to_list()[int(e.i)][int(e.j)]
        if e.is_number:
            return K.convert(e)
        raise TypeError(f"cannot evaluate {type(e).__name__} {e} at a point")


def _is_matrix(e: sp.Basic) -> bool:
    return isinstance(e, sp.MatrixExpr | sp.MatrixBase) or getattr(e, "is_Matrix", False)


def ring(names: Sequence[str]) -> tuple[sp.polys.domains.Domain, list]:
    """ℚ[names] as a domain, and its generators."""
    K = sp.QQ[tuple(sp.Symbol(n) for n in names)]
    return K, list(K.gens)


def column(gens: Sequence, domain) -> DomainMatrix:
    """The column vector of the given ring generators."""
    return DomainMatrix([[g] for g in gens], (len(gens), 1), domain).to_dense()


def derivative_at_zero(value: Value, domain) -> Value:
    """d/dt at t = 0 of a matrix or scalar polynomial in the single generator t of ``domain`` (ℚ[t]): the
    coefficient of t¹, over ℚ."""
    t = domain.gens[0]

    def coeff(p: object) -> object:
        return sp.QQ.convert(domain.to_sympy(domain.convert(p.coeff(t))))

    if isinstance(value, DomainMatrix):
        rows = [[coeff(p) for p in row] for row in value.to_list()]
        return DomainMatrix(rows, value.shape, sp.QQ)
    return coeff(value)


def factor(cov: sp.Matrix) -> tuple[sp.Matrix, list[sp.Rational]]:
    """(L, D) with cov = L diag(D) Lᵀ, L unit lower triangular, all rational (an LDLᵀ factorisation), so
    x = L ζ with independent ζ_i ~ N(0, D_i) has covariance cov."""
    L, D = sp.Matrix(cov).LDLdecomposition(hermitian=False)
    return L, [D[i, i] for i in range(D.rows)]


def gaussian_mean(value: Value, domain, variances: Sequence[sp.Rational]) -> Value:
    """E over independent ζ_i ~ N(0, variances[i]) (the generators of ``domain``, in order) of a matrix or
    scalar polynomial: each monomial Π ζ_i^{p_i} becomes Π D_i^{p_i/2}(p_i − 1)!! (0 if some p_i is odd)."""
    QQ = sp.QQ
    var = [QQ.convert(sp.Rational(v)) for v in variances]

    def mean(p: object) -> object:
        total = QQ.zero
        for monomial, coeff in domain.convert(p).terms():
            if any(power % 2 for power in monomial):
                continue
            moment = QQ.one
            for v, power in zip(var, monomial, strict=True):
                if power:
                    moment *= v ** (power // 2) * QQ(int(sp.factorial2(power - 1)))
            total += coeff * moment
        return total

    if isinstance(value, DomainMatrix):
        rows = [[mean(p) for p in row] for row in value.to_list()]
        return DomainMatrix(rows, value.shape, QQ)
    return mean(value)


def same(a: Value | tuple, b: Value | tuple) -> bool:
    """Exact equality of two evaluated values (matrices entry by entry over ℚ; tuples element by element)."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, DomainMatrix) or isinstance(b, DomainMatrix):
        if not (isinstance(a, DomainMatrix) and isinstance(b, DomainMatrix)):
            # A 1×1 matrix and a scalar are interchangeable.
            a, b = (x.to_list()[0][0] if isinstance(x, DomainMatrix) else x for x in (a, b))
            return sp.QQ.convert(a) == sp.QQ.convert(b)
        return a.shape == b.shape and a.convert_to(sp.QQ) == b.convert_to(sp.QQ)
    return sp.QQ.convert(a) == sp.QQ.convert(b)
