"""Deciding identities between matrix expressions in general dimension (sympy only).

An expression built from matrix symbols of symbolic shape (d×d, d×1, ...) by sums, products,
scalar coefficients, transposes, traces, integer powers and inverses is brought to a canonical sum

    Σ coefficient · (product of scalar factors) · (main word),

where a *word* is a product of *leaves*. A leaf is an atomic matrix L (a MatrixSymbol, an
Inverse(X) with X in canonical form, or any matrix expression the rules below do not open), or Lᵀ.
The rewrite rules, each an identity in every dimension:

- products distribute over sums; (XY)ᵀ = YᵀXᵀ, (X + Y)ᵀ = Xᵀ + Yᵀ, (cX)ᵀ = cXᵀ, Xᵀᵀ = X;
- Sᵀ = S for a symbol S declared symmetric, for identities and for every 1×1 matrix;
  (X⁻¹)ᵀ = (Xᵀ)⁻¹, so X⁻¹ is symmetric when X is; (X⁻¹)⁻¹ = X; identities drop out of products;
- S S⁻¹ = S⁻¹ S = I for adjacent factors (also (X⁻¹)ᵀ Xᵀ, and X X⁻¹ for a composite X that is
  one factor of a product); tr(I_d) = d;
- a 1×1 factor commutes with everything: u vᵀ w zᵀ (d×d, with the 1×1 block vᵀw inside) is
  (vᵀw)·u zᵀ. So a word is cut at its inner dimension-1 junctions; the 1×1 pieces are scalars;
- a 1×1 matrix equals its transpose, uᵀAv = vᵀAᵀu: the one whose string sorts first is kept;
- tr(XY) = tr(YX) and tr(Xᵀ) = tr(X): a trace is kept in the rotation or reflection that sorts
  first; a trace with a dimension-1 junction is a product of 1×1 scalars (tr(u vᵀ) = vᵀu);
- like terms are collected; coefficients (rational functions of scalar symbols) are cancelled.

A 1×1 matrix and its only entry are interchangeable: `equal(x.T*A*x, Trace(A*x*x.T))` is True.
Dimensions are symbolic: a shape entry counts as 1 only if it is the integer 1.

The rules are sound: `is_zero(e)` True proves e = 0 in every dimension. They are not complete (no
Cayley–Hamilton or other facts of one dimension; a sum is never factored to cancel an inverse), so
False means "not proved". For polynomials (no inverses) in matrices related only by the declared
symmetries, different canonical forms are different functions once d is large enough (the tests
check this on random instances), and there False does mean e ≠ 0.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sympy as sp

__all__ = ["Term", "Terms", "canonical", "equal", "is_zero"]

Word = tuple[sp.Basic, ...]


@dataclass(frozen=True)
class Term:
    """coeff · tr(traces[0]) · tr(traces[1]) ⋯ · word[0] word[1] ⋯ (an empty word is I).

    coeff is a scalar free of matrices; each entry of `word` and of each trace word is a leaf
    (module docstring). A term of a scalar expression has an empty word.
    """

    coeff: sp.Expr
    word: Word = ()
    traces: tuple[Word, ...] = ()

    def __mul__(self, other: Term) -> Term:
        return Term(self.coeff * other.coeff, self.word + other.word, self.traces + other.traces)


def _product(factors: Sequence[list[Term]]) -> list[Term]:
    """Distribute a product of sums of terms."""
    out = [Term(sp.Integer(1))]
    for f in factors:
        out = [a * b for a in out for b in f]
    return out


def _has_matrix(e: sp.Basic) -> bool:
    return any(isinstance(n, sp.MatrixExpr | sp.Trace) for n in sp.preorder_traversal(e))


def _key(word: Iterable[sp.Basic]) -> tuple:
    """A total order on words: by printed form, then by the full structure as a tie-break."""
    return tuple(_leaf_key(f) for f in word)


@functools.cache
def _leaf_key(leaf: sp.Basic) -> tuple[str, str]:
    # Printing is the costly part of canonicalisation; the same few leaves recur in every term.
    return str(leaf), sp.srepr(leaf)


def _runs(word: Word) -> list[sp.MatrixExpr]:
    """The factors of a word, with runs X X X shown as X**3."""
    return [
        f if k == 1 else sp.MatPow(f, k) for f, k in ((f, len(list(g))) for f, g in itertools.groupby(word))
    ]


def _mat(word: Word) -> sp.MatrixExpr:
    """The product of a non-empty word as a sympy matrix expression."""
    factors = _runs(word)
    return factors[0] if len(factors) == 1 else sp.MatMul(*factors)


class Terms:
    """Expansion of expressions into terms, for one set of symmetric symbols.

    `expand(e)` (or `matrix(M)`, `scalar(s)`) returns a list of `Term` whose sum is e; leaves are
    normalised (symmetric transposes removed, inverses oriented); nothing is collected or
    cancelled. `transpose(leaf)` is the leaf of the transpose.
    """

    def __init__(self, symmetric: Iterable[sp.Basic] = ()):
        self.symmetric = frozenset(symmetric)
        self._sym_memo: dict[sp.Basic, bool] = {}
        self._transposed: dict[sp.Basic, sp.Basic] = {}

    def is_symmetric(self, leaf: sp.Basic) -> bool:
        """Lᵀ = L: declared, an identity, 1×1, or the inverse of a provably symmetric matrix."""
        if leaf in self.symmetric or isinstance(leaf, sp.Identity) or leaf.shape == (1, 1):
            return True
        if isinstance(leaf, sp.Inverse):
            if leaf not in self._sym_memo:
                x = leaf.arg
                self._sym_memo[leaf] = _equal(self, x, sp.Transpose(x))
            return self._sym_memo[leaf]
        return False

    def transpose(self, leaf: sp.Basic) -> sp.Basic:
        if leaf not in self._transposed:  # (memoised: canonical forms transpose the same leaves many times)
            if isinstance(leaf, sp.Transpose):
                self._transposed[leaf] = leaf.arg
            else:
                self._transposed[leaf] = leaf if self.is_symmetric(leaf) else sp.Transpose(leaf)
        return self._transposed[leaf]

    def matrix(self, m: sp.MatrixExpr) -> list[Term]:
        if isinstance(m, sp.ZeroMatrix):
            return []
        if isinstance(m, sp.Identity):
            return [Term(sp.Integer(1))]
        if isinstance(m, sp.MatAdd):
            return [t for a in m.args for t in self.matrix(a)]
        if isinstance(m, sp.MatMul):
            c, nc = m.args_cnc()
            nc = _cancel(nc, _inverse_pair)
            return _product([self.scalar(sp.Mul(*c))] + [self.matrix(a) for a in nc])
        if isinstance(m, sp.Transpose):
            return [
                Term(t.coeff, tuple(self.transpose(f) for f in reversed(t.word)), t.traces)
                for t in self.matrix(m.arg)
            ]
        if isinstance(m, sp.Inverse):  # (a subclass of MatPow)
            return self._inverse(m.arg)
        if isinstance(m, sp.MatPow) and m.exp.is_Integer:
            base = m.base if m.exp >= 0 else sp.Inverse(m.base)
            return _product([self.matrix(base)] * abs(int(m.exp)))
        return [Term(sp.Integer(1), (m,))]

    def _inverse(self, x: sp.MatrixExpr) -> list[Term]:
        x = canonical(x, self.symmetric)
        if isinstance(x, sp.Identity):
            return [Term(sp.Integer(1))]
        if isinstance(x, sp.Inverse):  # (X⁻¹)⁻¹ = X
            return self.matrix(x.arg)
        xt = canonical(sp.Transpose(x), self.symmetric)
        if _key([xt]) < _key([x]):  # X⁻¹ = ((Xᵀ)⁻¹)ᵀ: keep the orientation that sorts first
            return [Term(sp.Integer(1), (self.transpose(sp.Inverse(xt)),))]
        return [Term(sp.Integer(1), (sp.Inverse(x),))]

    def scalar(self, s: sp.Expr) -> list[Term]:
        s = sp.sympify(s)
        if s == 0:
            return []
        if not _has_matrix(s):
            return [Term(s)]
        if isinstance(s, sp.Add):
            return [t for a in s.args for t in self.scalar(a)]
        if isinstance(s, sp.Mul):
            return _product([self.scalar(a) for a in s.args])
        if isinstance(s, sp.Pow) and s.exp.is_Integer and s.exp > 0:
            return _product([self.scalar(s.base)] * int(s.exp))
        if isinstance(s, sp.Trace):
            out = []
            for t in self.matrix(s.arg):
                if t.word:
                    out.append(Term(t.coeff, (), (*t.traces, t.word)))
                else:  # tr(I_n) = n
                    out.append(Term(t.coeff * s.arg.shape[0], (), t.traces))
            return out
        return [Term(s)]  # an opaque scalar (e.g. a determinant): kept as a coefficient

    def expand(self, expr: sp.Basic) -> list[Term]:
        """A scalar or matrix expression as a list of terms."""
        expr = sp.sympify(expr)
        return self.matrix(expr) if isinstance(expr, sp.MatrixExpr) else self.scalar(expr)


def _cancel(word: Sequence, inverse_pair) -> list:
    """Remove adjacent pairs (a, b) with inverse_pair(a, b), repeatedly (a stack, like brackets)."""
    out: list = []
    for f in word:
        if out and inverse_pair(out[-1], f):
            out.pop()
        else:
            out.append(f)
    return out


def _inverse_pair(a: sp.Basic, b: sp.Basic) -> bool:
    """a b = I because one is the inverse of the other (also (X⁻¹)ᵀ next to Xᵀ)."""
    if isinstance(a, sp.Transpose) and isinstance(b, sp.Transpose):
        return _inverse_pair(a.arg, b.arg)
    return (isinstance(a, sp.Inverse) and a.arg == b) or (isinstance(b, sp.Inverse) and b.arg == a)


def _split(word: Word) -> list[Word]:
    """Cut a word after every factor with one column: the pieces are joined by outer products."""
    pieces, start = [], 0
    for i, f in enumerate(word):
        if _column(f) and i < len(word) - 1:
            pieces.append(word[start : i + 1])
            start = i + 1
    pieces.append(word[start:])
    return pieces


@functools.cache
def _column(leaf: sp.Basic) -> bool:
    """The leaf has one column (comparing sympy dimensions is slow, and the same leaves recur)."""
    return leaf.shape[1] == 1


# A scalar factor in canonical form: (0, word) is the 1×1 product of the word, (1, word) its trace.
Scalar = tuple[int, Word]


class _Normal:
    """Canonical form of single terms (see the module docstring)."""

    def __init__(self, terms: Terms):
        self.terms = terms

    def reverse(self, word: Word) -> Word:
        return tuple(self.terms.transpose(f) for f in reversed(word))

    def path(self, word: Word) -> Scalar:
        """A 1×1 word, in the orientation (it or its transpose) that sorts first."""
        return (0, min(word, self.reverse(word), key=_key))

    def cycle(self, word: Word) -> tuple[sp.Expr, list[Scalar]]:
        """tr(word) as (factor, scalars): cancelled, cut at dimension-1 junctions, rotated."""
        n = word[0].shape[0]
        word = tuple(_cancel(word, _inverse_pair))
        while len(word) >= 2 and _inverse_pair(word[-1], word[0]):
            word = tuple(_cancel(word[1:-1], _inverse_pair))
        if not word:
            return n, []
        cuts = [i for i, f in enumerate(word) if _column(f)]
        if cuts:
            start = cuts[-1] + 1
            return sp.Integer(1), [self.path(p) for p in _split(word[start:] + word[:start])]
        rotations = [w[i:] + w[:i] for w in (word, self.reverse(word)) for i in range(len(w))]
        return sp.Integer(1), [(1, min(rotations, key=_key))]

    def term(self, t: Term, shape: tuple | None) -> tuple[sp.Expr, Word, tuple[Scalar, ...]]:
        """(coefficient, main word, sorted scalar factors) of a term of an expression of `shape`."""
        coeff, scalars = t.coeff, []
        for c in t.traces:
            factor, parts = self.cycle(c)
            coeff *= factor
            scalars += parts
        word = tuple(_cancel(t.word, _inverse_pair))
        rows, cols = shape if shape is not None else (1, 1)
        pieces = _split(word) if word else []
        if len(pieces) == 1 and (rows, cols) != (1, 1):
            main, rest = word, []
        elif pieces:  # keep the first piece (rows×1) and the last (1×cols) unless they are 1×1
            main = (pieces[0] if rows != 1 else ()) + (pieces[-1] if cols != 1 else ())
            rest = pieces[int(rows != 1) : len(pieces) - int(cols != 1)]
        else:
            main, rest = (), []
        scalars += [self.path(p) for p in rest]
        return coeff, main, tuple(sorted(scalars, key=lambda s: (s[0], _key(s[1]))))


def _simplify_coeff(c: sp.Expr) -> sp.Expr:
    c = sp.cancel(sp.together(c))
    if c != 0 and not c.is_rational_function():
        c = sp.simplify(c)
    return c


def _collect(terms: Terms, expr: sp.Basic) -> tuple[tuple | None, dict]:
    """(shape, or None for a scalar; {(main word, scalars): coefficient}, zeros dropped)."""
    expr = sp.sympify(expr)
    shape = tuple(expr.shape) if isinstance(expr, sp.MatrixExpr) else None
    normal = _Normal(terms)
    acc: dict = {}
    for t in terms.expand(expr):
        coeff, main, scalars = normal.term(t, shape)
        acc[main, scalars] = acc.get((main, scalars), 0) + coeff
    out = {}
    for k, c in acc.items():
        c = _simplify_coeff(c)
        if c != 0:
            out[k] = c
    return shape, out


def canonical(expr: sp.Basic, symmetric: Iterable[sp.Basic] = ()) -> sp.Basic:
    """The canonical form of a scalar or matrix expression (rules in the module docstring).

    `symmetric`: matrix symbols S with Sᵀ = S. Returns a scalar for a scalar, else a matrix
    expression of the same shape. In a 1×1 matrix each term keeps one 1×1 product as a matrix
    (uᵀAv, the one that sorts first; the others become traces), or is (scalar)·Identity(1) when it
    has none, so quadratic and linear forms stay readable. Zero is 0 or ZeroMatrix(rows, cols).
    """
    return _assemble(*_collect(Terms(symmetric), expr))


def _assemble(shape: tuple | None, collected: dict) -> sp.Basic:
    """The expression of collected canonical terms {(main word, scalars): coefficient} (see `canonical`)."""
    rows, cols = shape if shape is not None else (1, 1)
    out = []
    for (main, scalars), c in sorted(collected.items(), key=lambda kv: _key(kv[0][0])):
        if shape == (1, 1) and scalars and scalars[0][0] == 0:  # (paths sort before traces)
            main, scalars = scalars[0][1], scalars[1:]
        s = sp.factor(c) * sp.Mul(*[sp.Trace(_mat(w)) for _, w in scalars])
        if shape is not None:  # (MatMul without evaluation: evaluation would rewrite the leaves)
            factors = ([] if s == 1 else [s]) + (_runs(main) or [sp.Identity(rows)])
            s = factors[0] if len(factors) == 1 else sp.MatMul(*factors)
        out.append(s)
    if shape is None:
        return sp.Add(*out)
    if len(out) <= 1:
        return out[0] if out else sp.ZeroMatrix(rows, cols)
    return sp.MatAdd(*out)


def _equal(terms: Terms, a: sp.Basic, b: sp.Basic) -> bool:
    sa, ca = _collect(terms, a)
    sb, cb = _collect(terms, b)
    if sa not in (None, (1, 1)) or sb not in (None, (1, 1)):
        if sa != sb:
            raise ValueError(f"cannot compare expressions of shapes {sa} and {sb}")
    keys = set(ca) | set(cb)
    return all(_simplify_coeff(ca.get(k, 0) - cb.get(k, 0)) == 0 for k in keys)


def is_zero(expr: sp.Basic, symmetric: Iterable[sp.Basic] = ()) -> bool:
    """True if the rules prove expr = 0 in every dimension (sound; see the module docstring)."""
    return not _collect(Terms(symmetric), expr)[1]


def equal(a: sp.Basic, b: sp.Basic, symmetric: Iterable[sp.Basic] = ()) -> bool:
    """True if a = b is proved (canonical forms agree); a 1×1 matrix may be compared with a scalar.

    Raises ValueError when the shapes differ (other than 1×1 against scalar).
    """
    return _equal(Terms(symmetric), a, b)
