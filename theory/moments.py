"""Gaussian moment engine: E[polynomial matrix expression] in general dimension (Wick/Isserlis).

Setting. Gaussians x ~ N(0, Σ) are column vectors (n×1 MatrixSymbols, n symbolic), independent of
each other; a scalar Gaussian is a 1×1 MatrixSymbol with a scalar variance. A sample mean

    Ŝ = (1/m) Σ_{j=1}^m term(x_j, z_j, ...)

is the average of a polynomial `term` over m iid copies of its `vectors` (e.g. Σ̂ = (1/m) Σ x_j x_jᵀ,
ĉ = (1/m) Σ x_j z_j). Means that share a Gaussian are averages over the same samples j.

Method, for one product of factors (sums are expanded first):
1. Sample means. For r occurrences of means over the same samples,
   E[Ŝ⁽¹⁾⋯Ŝ⁽ʳ⁾] = m⁻ʳ Σ_{j_1..j_r} E[term⁽¹⁾_{j_1} ⋯ term⁽ʳ⁾_{j_r}]. Group the index tuples by the
   set partition of {1..r} they induce (equal indices ⇔ same block): a partition with b blocks
   comes from m(m−1)⋯(m−b+1) tuples, and each block is a fresh independent copy of the vectors.
   For m = ∞ only b = r survives.
2. Isserlis: for x ~ N(0, Σ), E[x_{i_1} ⋯ x_{i_2k}] = Σ over perfect matchings of Π Σ_{i_a i_b};
   an odd count of x gives 0; distinct Gaussians (and distinct copies) are independent.
3. Each matching is read back as matrices, without indices: a factor is a node joining its row
   index to its column index; consecutive factors share an index unless their common dimension is
   1; a matched pair (x, x) becomes a node Σ joining the indices the two occurrences carried. In
   this graph the path from the free row index of the product is the main matrix product (a node
   walked from column to row is transposed), closed loops are traces, other paths are 1×1 scalars.
   Example: E[x xᵀ A x xᵀ] = ΣAΣ + ΣAᵀΣ + tr(AΣ)Σ.
4. The sum is put in the canonical form of `maml_theory.theory.matrix_algebra` (covariances are symmetric).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sympy as sp
from sympy.utilities.iterables import multiset_partitions

from maml_theory.theory.matrix_algebra import Term, Terms, canonical

__all__ = ["Gaussian", "SampleMean", "expect"]


@dataclass(frozen=True)
class Gaussian:
    """Zero-mean Gaussian vector x ~ N(0, cov), independent of every other Gaussian.

    symbol: sp.MatrixSymbol of shape (n, 1); cov: n×n symmetric MatrixExpr (e.g. a MatrixSymbol
    Σ, or rho*Identity(d)). For a scalar Gaussian use n = 1 and cov a scalar sympy Expr (the
    VARIANCE, e.g. sigma**2).
    """

    symbol: sp.MatrixSymbol
    cov: sp.Expr

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, sp.MatrixSymbol) or self.symbol.shape[1] != 1:
            raise ValueError(f"Gaussian symbol must be an n×1 MatrixSymbol, got {self.symbol!r}")
        n = self.symbol.shape[0]
        cov = sp.sympify(self.cov)
        if n == 1:
            if isinstance(cov, sp.MatrixExpr):
                raise ValueError(f"a scalar Gaussian {self.symbol} takes a scalar variance, got {cov}")
        elif not isinstance(cov, sp.MatrixExpr) or tuple(cov.shape) != (n, n):
            raise ValueError(f"covariance of {self.symbol} must be a {n}×{n} matrix, got {cov}")
        object.__setattr__(self, "cov", cov)

    @property
    def scalar(self) -> bool:
        return self.symbol.shape[0] == 1


@dataclass(frozen=True)
class SampleMean:
    """`symbol` (MatrixSymbol r×c) stands for the sample average (1/m) Σ_{j=1}^m term_j.

    term_j is `term` with the Gaussians in `vectors` replaced by the j-th of m iid copies
    (independent of everything else). m: a positive-integer sympy Symbol or a number, or sp.oo
    (then the average equals its expectation). Means sharing a Gaussian use the same samples.
    Example: Σ̂ = SampleMean(S, x*x.T, (Gaussian(x, Sigma),), m);
    ĉ = SampleMean(c, x*z, (gx, gz), m).
    """

    symbol: sp.MatrixSymbol
    term: sp.MatrixExpr
    vectors: tuple[Gaussian, ...]
    m: sp.Expr

    def __post_init__(self) -> None:
        m = sp.sympify(self.m)
        if not isinstance(self.symbol, sp.MatrixSymbol):
            raise ValueError(f"SampleMean symbol must be a MatrixSymbol, got {self.symbol!r}")
        if tuple(self.symbol.shape) != tuple(sp.sympify(self.term).shape):
            raise ValueError(f"{self.symbol} has shape {self.symbol.shape}, its term {self.term.shape}")
        if not self.vectors or not all(isinstance(g, Gaussian) for g in self.vectors):
            raise ValueError(f"vectors of {self.symbol} must be a non-empty tuple of Gaussian")
        if m != sp.oo and (m.is_integer is False or m.is_positive is False):
            raise ValueError(f"sample size m of {self.symbol} must be a positive integer or oo, got {m}")
        object.__setattr__(self, "m", m)
        object.__setattr__(self, "vectors", tuple(self.vectors))


@dataclass(frozen=True)
class _Rand:
    """One occurrence of a Gaussian in a product.

    copy () is the Gaussian itself; another copy is the independent sample copy of one block of a
    partition (step 1).
    """

    gaussian: Gaussian
    copy: tuple
    transposed: bool

    @property
    def shape(self) -> tuple:
        n = self.gaussian.symbol.shape[0]
        return (1, n) if self.transposed else (n, 1)


@dataclass(frozen=True)
class _Mean:
    """One occurrence of a sample mean (transposed or not); `family` labels the samples it uses."""

    mean: SampleMean
    transposed: bool
    family: int


_Item = sp.Basic | _Rand | _Mean
_Words = list[list[_Item]]


class _Engine:
    """The random symbols of one call of `expect`, and steps 1–2 for its terms."""

    def __init__(
        self,
        gaussians: Iterable[Gaussian],
        means: Iterable[SampleMean],
        symmetric: Iterable[sp.Basic],
    ):
        self.means = {s.symbol: s for s in means}
        self.gaussians: dict[sp.MatrixSymbol, Gaussian] = {}
        for g in [*gaussians, *(v for s in self.means.values() for v in s.vectors)]:
            if self.gaussians.setdefault(g.symbol, g) != g:
                raise ValueError(f"two different covariances given for {g.symbol}")
        clash = set(self.means) & set(self.gaussians)
        if clash:
            raise ValueError(f"{clash} declared both Gaussian and SampleMean")
        covs = {g.cov for g in self.gaussians.values() if isinstance(g.cov, sp.MatrixSymbol)}
        self.symmetric = frozenset(symmetric) | covs
        self.terms = Terms(self.symmetric)
        self.random = set(self.means) | set(self.gaussians)
        self.family = self._families()
        self.expanded = {}  # mean symbol -> (terms as items, transposed terms as items)
        for s, mean in self.means.items():
            plain = [self.items(t) for t in self.terms.expand(mean.term)]
            if any(isinstance(f, _Mean) for _, words in plain for w in words for f in w):
                raise ValueError(f"the term of {s} contains a sample mean (nesting is not supported)")
            flipped = [(c, [self.flip(ws[0]), *ws[1:]]) for c, ws in plain]
            self.expanded[s] = (plain, flipped)

    def _families(self) -> dict[sp.MatrixSymbol, int]:
        """Means sharing a Gaussian are averages over the same samples: label connected groups."""
        root = {s: i for i, s in enumerate(self.means)}
        for a, b in itertools.combinations(self.means.values(), 2):
            if {g.symbol for g in a.vectors} & {g.symbol for g in b.vectors}:
                if a.m != b.m:
                    raise ValueError(f"{a.symbol} and {b.symbol} share samples but not m")
                old, new = root[a.symbol], root[b.symbol]
                root = {s: new if r == old else r for s, r in root.items()}
        return root

    def item(self, f: sp.Basic) -> _Item:
        """A leaf of an expanded word as a constant, a Gaussian occurrence or a mean occurrence."""
        transposed = isinstance(f, sp.Transpose)
        base = f.arg if transposed else f
        if base in self.gaussians:
            g = self.gaussians[base]
            return _Rand(g, (), transposed and not g.scalar)
        if base in self.means:
            return _Mean(self.means[base], transposed, self.family[base])
        self.check_constant(f)
        return f

    def check_constant(self, e: sp.Basic) -> None:
        bad = self.random & sp.sympify(e).atoms(sp.MatrixSymbol)
        if bad:
            raise ValueError(
                f"{sorted(map(str, bad))} occur non-polynomially in {e}: the moment engine takes "
                "polynomials in Gaussians and sample means (no inverses or functions of them)"
            )

    def items(self, t: Term) -> tuple[sp.Expr, _Words]:
        """A term as (coefficient, [main word, trace words...]) with leaves converted to items."""
        self.check_constant(t.coeff)
        return t.coeff, [[self.item(f) for f in w] for w in (t.word, *t.traces)]

    def flip(self, word: list[_Item]) -> list[_Item]:
        """The word of the transposed product."""
        out = []
        for f in reversed(word):
            if isinstance(f, _Rand):
                out.append(_Rand(f.gaussian, f.copy, not f.transposed and not f.gaussian.scalar))
            else:
                out.append(self.terms.transpose(f))
        return out

    def substitute_means(self, coeff: sp.Expr, words: _Words) -> Iterator[tuple[sp.Expr, _Words]]:
        """Step 1: replace the sample means by their terms, summed over sample partitions."""
        where = [(w, p) for w, word in enumerate(words) for p, f in enumerate(word) if isinstance(f, _Mean)]
        occurrences = [words[w][p] for w, p in where]
        families: dict[int, list[int]] = {}
        for k, occ in enumerate(occurrences):
            families.setdefault(occ.family, []).append(k)
        per_family = [list(multiset_partitions(ks)) for ks in families.values()]
        for partitions in itertools.product(*per_family):
            weight, block_of = coeff, {}
            for (fam, ks), blocks in zip(families.items(), partitions, strict=True):
                m, r, b = occurrences[ks[0]].mean.m, len(ks), len(blocks)
                if m == sp.oo:
                    weight *= 1 if b == r else 0
                else:  # m(m−1)⋯(m−b+1) index tuples realise this partition
                    weight *= sp.Mul(*[m - i for i in range(b)]) / m**r
                block_of.update({k: (fam, i) for i, block in enumerate(blocks) for k in block})
            if weight == 0:
                continue
            choices = []
            for k, occ in enumerate(occurrences):
                plain, flipped = self.expanded[occ.mean.symbol]
                vectors = {g.symbol for g in occ.mean.vectors}
                choices.append(
                    [
                        (c, _rename(ws, vectors, block_of[k]))
                        for c, ws in (flipped if occ.transposed else plain)
                    ]
                )
            for combo in itertools.product(*choices):
                new = [list(word) for word in words]
                c = weight
                for (w, p), (ck, sub) in sorted(zip(where, combo, strict=True), reverse=True):
                    c *= ck
                    new[w][p : p + 1] = sub[0]
                    new += sub[1:]
                yield c, new

    @staticmethod
    def matchings(words: _Words) -> Iterator[tuple[sp.Expr, _Words, list]]:
        """Step 2, Isserlis: yields (factor, words, pairs) for each perfect matching.

        Scalar Gaussians are dropped from the words into the factor; pairs are (end, end, cov) with
        the ends (see `_contract`) that the two matched vector occurrences carry.
        """
        groups: dict[tuple, list] = {}
        for w, word in enumerate(words):
            for p, f in enumerate(word):
                if isinstance(f, _Rand):
                    groups.setdefault((f.gaussian.symbol, f.copy), []).append((w, p))
        if any(len(occ) % 2 for occ in groups.values()):
            return
        factor, vector_groups = sp.Integer(1), []
        for occ in groups.values():
            g = words[occ[0][0]][occ[0][1]].gaussian
            if g.scalar:  # E[z^{2k}] = (2k−1)!! σ^{2k}
                factor *= sp.factorial2(len(occ) - 1) * g.cov ** (len(occ) // 2)
            else:
                vector_groups.append((g, occ))
        kept = [[f for f in word if not (isinstance(f, _Rand) and f.gaussian.scalar)] for word in words]
        position = {}  # old (w, p) -> new (w, p), after dropping scalar Gaussians
        for w, word in enumerate(words):
            q = 0
            for p, f in enumerate(word):
                if not (isinstance(f, _Rand) and f.gaussian.scalar):
                    position[w, p] = (w, q)
                    q += 1

        def real_end(wp):
            w, p = position[wp]
            return (w, p, 1 if kept[w][p].transposed else 0)

        per_group = [
            [[(real_end(a), real_end(b), g.cov) for a, b in mt] for mt in _perfect_matchings(occ)]
            for g, occ in vector_groups
        ]
        for choice in itertools.product(*per_group):
            yield factor, kept, [pair for pairs in choice for pair in pairs]


def _rename(words: _Words, vectors: set, copy: tuple) -> _Words:
    """The words with the Gaussians in `vectors` replaced by their sample copy `copy`."""
    return [
        [
            _Rand(f.gaussian, copy, f.transposed)
            if isinstance(f, _Rand) and f.gaussian.symbol in vectors
            else f
            for f in w
        ]
        for w in words
    ]


def _perfect_matchings(items: list) -> Iterator[list[tuple]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for i, other in enumerate(rest):
        for tail in _perfect_matchings(rest[:i] + rest[i + 1 :]):
            yield [(first, other), *tail]


def _contract(words: _Words, pairs: list, shape: tuple | None) -> sp.Basic:
    """Step 3: read one matching as matrices.

    Ends are (word, position, side), side 0 the row index and 1 the column index of the factor.
    `link[e] = (e', M)`: a node joining end e to end e', read as M when walked from e to e'.
    `wire` joins the two ends that carry the same index (consecutive factors, and the last and
    first factor of a trace word). Word 0 is the product itself (open), the others are traces.
    """
    link: dict[tuple, tuple] = {}
    wire: dict[tuple, tuple] = {}
    for w, word in enumerate(words):
        closed = w > 0 or shape is None
        for p, f in enumerate(word):
            if not isinstance(f, _Rand):
                link[w, p, 0] = ((w, p, 1), f)
                link[w, p, 1] = ((w, p, 0), sp.Transpose(f))
            nxt = p + 1 if p + 1 < len(word) else (0 if closed else None)
            if nxt is not None and f.shape[1] != 1:
                wire[w, p, 1], wire[w, nxt, 0] = (w, nxt, 0), (w, p, 1)
    for a, b, cov in pairs:
        link[a], link[b] = (b, cov), (a, cov)

    seen: set = set()

    def walk(start):
        """Follow node, index, node, ... from `start`; returns (matrices, end where it stopped)."""
        mats, e = [], start
        while True:
            nxt, m = link[e]
            seen.update((e, nxt))
            mats.append(m)
            if nxt not in wire or wire[nxt] == start:
                return mats, nxt
            e = wire[nxt]

    def product(mats):
        return mats[0] if len(mats) == 1 else sp.MatMul(*mats)

    main, scalars = [], []
    if shape is not None and words[0]:
        rows, cols = shape
        first, last = (0, 0, 0), (0, len(words[0]) - 1, 1)
        done = False
        if first in link:
            mats, end = walk(first)
            done = end == last
            (main if rows != 1 or done else scalars).append(mats)
        if not done and last in link and last not in seen:
            _, start = walk(last)
            mats, _ = walk(start)  # the same path read forwards, ending at the free column index
            (main if cols != 1 else scalars).append(mats)
    for e in [e for e in link if e not in wire] + list(link):  # paths first, then loops
        if e not in seen:
            scalars.append(walk(e)[0])
    value = sp.Mul(*[sp.Trace(product(mats)) for mats in scalars])
    if shape is None:
        return value
    factors = [m for mats in main for m in mats] or [sp.Identity(shape[0])]
    return sp.MatMul(value, *factors)


def expect(
    expr: sp.Basic,
    gaussians: Iterable[Gaussian] = (),
    means: Iterable[SampleMean] = (),
    symmetric: Iterable[sp.Basic] = (),
) -> sp.Basic:
    """E[expr] for a polynomial in the Gaussian symbols and sample-mean symbols (module docstring).

    expr: a scalar or matrix expression built from sums, products, scalar coefficients,
    transposes, traces and nonnegative integer powers of the random symbols and of constants
    (MatrixSymbols, Identity, ZeroMatrix, inverses of constants, scalar symbols).
    gaussians: the Gaussians; those in a mean's `vectors` are random too, and a Gaussian written
    directly in expr is independent of the mean's sample copies.
    symmetric: constant symbols known to be symmetric (covariance MatrixSymbols are added).

    Returns `maml_theory.theory.matrix_algebra.canonical` of the expectation, of expr's shape: a scalar for a
    scalar, else a matrix expression (for 1×1, terms like wᵀΣw, or scalar·Identity(1)).
    Raises ValueError when a random symbol is used non-polynomially (in an inverse, a function).
    """
    expr = sp.sympify(expr)
    engine = _Engine(gaussians, means, symmetric)
    shape = tuple(expr.shape) if isinstance(expr, sp.MatrixExpr) else None
    parts = []
    for t in engine.terms.expand(expr):
        for coeff, words in engine.substitute_means(*engine.items(t)):
            for factor, kept, pairs in engine.matchings(words):
                parts.append(coeff * factor * _contract(kept, pairs, shape))
    if shape is None:
        total = sp.Add(*parts)
    else:
        total = sp.MatAdd(*parts) if parts else sp.ZeroMatrix(*shape)
    return canonical(total, engine.symmetric)
