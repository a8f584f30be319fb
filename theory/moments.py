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
4. Each matching's term is put in the canonical form of `maml_theory.theory.matrix_algebra` (covariances
   are symmetric) and counted under its hashable key (main word, scalar factors); the weights of step 1
   are kept as keys (m, r, b) and the sympy coefficients are built once per key at the end, then cancelled.

Speed. Steps 1–3 depend on a term only through its *skeleton*: its words with each maximal run of constant
factors replaced by a placeholder node. Terms that differ only in their constants (most terms of an
expanded meta-gradient) share a skeleton, so the partitions and pairings are enumerated once per skeleton;
each term then fills its runs into the skeleton's matchings, and identical filled terms are canonicalised
once. Exact MAML's expected finite-sample update at general w (4500 terms, about 2.5·10⁵ matchings per
gradient) takes about 25 s of CPU this way; with a sympy expression built and simplified per matching it
did not finish in 15 minutes.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import sympy as sp
from sympy.utilities.iterables import multiset_partitions

from maml_theory.theory.matrix_algebra import Term, Terms, Word, _assemble, _Normal, _product, _simplify_coeff

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
        self._nodes: dict[tuple, list[Term]] = {}
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

    def node(self, f: sp.Basic, transposed: bool) -> list[Term]:
        """A constant leaf or a covariance (or its transpose) as terms, memoised: matchings reuse them."""
        key = (f, transposed)
        if key not in self._nodes:
            self._nodes[key] = self.terms.expand(sp.Transpose(f) if transposed else f)
        return self._nodes[key]

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

    def substitute_means(self, coeff: sp.Expr, words: _Words) -> Iterator[tuple[tuple, sp.Expr, _Words]]:
        """Step 1: replace the sample means by their terms, summed over sample partitions.

        Yields (weight key, coefficient, words): the partition's weight (see `weight`) is kept as its key
        (m, r, b) per family, so that terms are summed before the rational functions of m are multiplied in.
        """
        where = [(w, p) for w, word in enumerate(words) for p, f in enumerate(word) if isinstance(f, _Mean)]
        occurrences = [words[w][p] for w, p in where]
        families: dict[int, list[int]] = {}
        for k, occ in enumerate(occurrences):
            families.setdefault(occ.family, []).append(k)
        per_family = [_set_partitions(len(ks)) for ks in families.values()]
        for partitions in itertools.product(*per_family):
            key, block_of = [], {}
            for (fam, ks), blocks in zip(families.items(), partitions, strict=True):
                m, r, b = occurrences[ks[0]].mean.m, len(ks), len(blocks)
                if m == sp.oo and b != r:
                    break
                key.append((m, r, b))
                block_of.update({ks[j]: (fam, i) for i, block in enumerate(blocks) for j in block})
            else:
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
                    c = coeff
                    for (w, p), (ck, sub) in sorted(zip(where, combo, strict=True), reverse=True):
                        c *= ck
                        new[w][p : p + 1] = sub[0]
                        new += sub[1:]
                    yield tuple(key), c, new

    @staticmethod
    def weight(key: tuple) -> sp.Expr:
        """Π over families of m(m−1)⋯(m−b+1)/mʳ: the share of the index tuples that realise a partition
        of r occurrences into b blocks (1 for m = ∞, where only b = r is kept)."""
        return sp.Mul(*[1 if m == sp.oo else sp.Mul(*[m - i for i in range(b)]) / m**r for m, r, b in key])

    def matchings(self, words: _Words) -> Iterator[tuple[sp.Expr, _Words, list]]:
        """Step 2, Isserlis: yields (factor, words, pairs) for each perfect matching.

        Scalar Gaussians are dropped from the words into the factor; pairs are (end, end, cov's terms, n)
        with the ends (see `_contract`) that the two matched vector occurrences carry.
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
            [
                [(real_end(a), real_end(b), self.node(g.cov, False), g.cov.shape[0]) for a, b in mt]
                for mt in _perfect_matchings(occ)
            ]
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


def _skeleton(words: _Words, transpose: Callable[[sp.Basic], sp.Basic]) -> tuple[tuple, dict[sp.Basic, Word]]:
    """The words with each maximal run of constants replaced by a placeholder of its shape.

    Returns (skeleton, segments): `segments` maps each placeholder P, and Pᵀ, to the run of leaves it
    stands for (`transpose`: a leaf's transpose). Terms that differ only in their constants share a
    skeleton, so steps 1–3 are done once per skeleton and the constants filled in afterwards (`_fill`): a
    placeholder is one node of the pairing graph, standing for the product of its run.
    """
    skeleton, segments = [], {}
    for word in words:
        out, run = [], []
        for f in [*word, None]:
            if f is not None and not isinstance(f, _Rand | _Mean):
                run.append(f)
                continue
            if run:
                p = _placeholder(len(segments) // 2, run[0].shape[0], run[-1].shape[1])
                segments[p] = tuple(run)
                segments[sp.Transpose(p)] = tuple(transpose(g) for g in reversed(run))
                out.append(p)
                run = []
            if f is not None:
                out.append(f)
        skeleton.append(tuple(out))
    return tuple(skeleton), segments


@functools.cache
def _placeholder(i: int, rows: sp.Expr, cols: sp.Expr) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(f"_P{i}", rows, cols)


def _fill(term: Term, segments: dict[sp.Basic, Word]) -> Term:
    """A term over placeholders with each placeholder (or its transpose) replaced by its run of leaves."""

    def fill(word: Word) -> Word:
        return tuple(g for f in word for g in segments.get(f, (f,)))

    return Term(term.coeff, fill(term.word), tuple(fill(w) for w in term.traces))


@functools.cache
def _set_partitions(r: int) -> list[list[list[int]]]:
    """The set partitions of {0, …, r−1} (blocks as lists of positions)."""
    return [[list(block) for block in p] for p in multiset_partitions(list(range(r)))]


def _perfect_matchings(items: list) -> Iterator[list[tuple]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for i, other in enumerate(rest):
        for tail in _perfect_matchings(rest[:i] + rest[i + 1 :]):
            yield [(first, other), *tail]


def _contract(
    words: _Words, pairs: list, shape: tuple | None, node: Callable[[sp.Basic, bool], list[Term]]
) -> list[Term]:
    """Step 3: read one matching as matrices, as terms (`maml_theory.theory.matrix_algebra.Term`).

    Ends are (word, position, side), side 0 the row index and 1 the column index of the factor.
    `link[e] = (e', M, n)`: a node joining end e to end e', read as M (n×·) when walked from e to e';
    M is a list of terms, `node(f, transposed)` for a constant leaf f; a covariance's terms come with the
    pair (it is symmetric).
    `wire` joins the two ends that carry the same index (consecutive factors, and the last and
    first factor of a trace word). Word 0 is the product itself (open), the others are traces.
    """
    link: dict[tuple, tuple] = {}
    wire: dict[tuple, tuple] = {}
    for w, word in enumerate(words):
        closed = w > 0 or shape is None
        for p, f in enumerate(word):
            if not isinstance(f, _Rand):
                link[w, p, 0] = ((w, p, 1), node(f, False), f.shape[0])
                link[w, p, 1] = ((w, p, 0), node(f, True), f.shape[1])
            nxt = p + 1 if p + 1 < len(word) else (0 if closed else None)
            if nxt is not None and f.shape[1] != 1:
                wire[w, p, 1], wire[w, nxt, 0] = (w, nxt, 0), (w, p, 1)
    for a, b, cov, n in pairs:
        link[a], link[b] = (b, cov, n), (a, cov, n)

    seen: set = set()

    def walk(start):
        """Follow node, index, node, ... from `start`; returns ([(terms, n)...], end where it stopped)."""
        mats, e = [], start
        while True:
            nxt, m, n = link[e]
            seen.update((e, nxt))
            mats.append((m, n))
            if nxt not in wire or wire[nxt] == start:
                return mats, nxt
            e = wire[nxt]

    def trace(mats) -> list[Term]:
        """tr of the product (an empty word is tr(I_n) = n)."""
        n = mats[0][1]
        return [
            Term(t.coeff, (), (*t.traces, t.word)) if t.word else Term(t.coeff * n, (), t.traces)
            for t in _product([m for m, _ in mats])
        ]

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
    return _product([*(m for mats in main for m, _ in mats), *(trace(mats) for mats in scalars)])


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
    normal = _Normal(engine.terms)
    # Each matching adds one canonical term; count them by (canonical key, partition weight, coefficients)
    # and build the sympy coefficients once per distinct entry.
    counts: Counter = Counter()
    skeletons: dict[tuple, list[tuple[tuple, sp.Expr, Term]]] = {}
    forms: dict[Term, tuple] = {}
    for t in engine.terms.expand(expr):
        coeff, words = engine.items(t)
        skeleton, segments = _skeleton(words, engine.terms.transpose)
        if skeleton not in skeletons:  # steps 1–3 once per skeleton, over placeholder segments
            skeletons[skeleton] = [
                (weight, c * factor, term)
                for weight, c, ws in engine.substitute_means(sp.Integer(1), [list(w) for w in skeleton])
                for factor, kept, pairs in engine.matchings(ws)
                for term in _contract(kept, pairs, shape, engine.node)
            ]
        for weight, c, term in skeletons[skeleton]:
            filled = _fill(term, segments)
            if filled not in forms:  # (terms of different skeletons often fill to the same term)
                forms[filled] = normal.term(filled, shape)
            k, main, scalars = forms[filled]
            counts[(main, scalars), weight, coeff, c, k] += 1
    by_key: dict[tuple, dict[tuple, list]] = {}
    for (key, weight, coeff, c, k), n in counts.items():
        by_key.setdefault(key, {}).setdefault(weight, []).append(n * coeff * c * k)
    collected = {}
    for key, by_weight in by_key.items():
        c = _simplify_coeff(sp.Add(*[engine.weight(w) * sp.Add(*cs) for w, cs in by_weight.items()]))
        if c != 0:
            collected[key] = c
    return _assemble(shape, collected)
