"""Instances of spec R, validated at construction, and the random draws of a problem and of a round.

Conventions (stated once, used everywhere in :mod:`maml_theory.numerics.representation`):
- ground truth B_* ∈ R^{d×k} with orthonormal columns; a task has head θ ∈ R^k, data x ~ N(0, I_d),
  y = ⟨B_*θ, x⟩ + z with z ~ N(0, σ²): ``sigma`` is the noise STANDARD DEVIATION σ;
- population task loss L(B, w; θ) = ½‖Bw − B_*θ‖² + σ²/2 (the ½ is in the loss), empirical loss on m
  samples (1/2m) Σ_j (⟨Bw, x_j⟩ − y_j)²;
- head law θ = θ̄ + D ξ, ξ ~ N(0, I_k), D = diag(1, …, 1, µ): ``mu`` is a standard deviation and enters the
  head covariance as µ² (µ = 1 is N(0, I_k)); ``head_mean`` is θ̄ (None: 0);
- every round has n tasks, with fresh heads or a fixed set drawn once (``fixed_tasks``); with
  ``sign_symmetric`` a set (fresh or fixed) is n/2 draws interleaved with their negatives, so θ̄_t = 0;
- ``m_in``/``m_out``: the inner step uses m_in samples and the outer gradient m_out independent ones, fresh
  for every task and round; both None is the population (infinite-sample) case.

Randomness: every draw takes an explicit :class:`numpy.random.Generator`. Where runs are batched, each run has
its own generator (a "stream"), used in a fixed order per round (heads, X_in, z_in, X_out, z_out), so a run's
numbers do not depend on how many runs share the batch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.special
from numpy.typing import ArrayLike

from maml_theory.numerics import validation as v
from maml_theory.numerics.representation.distance import orthonormal_basis
from maml_theory.theory.method import PRESETS, Method, MethodError

METHODS = tuple(PRESETS)
"""Exact ANIL, first-order ANIL, exact MAML, first-order MAML and average-loss minimisation (spec R §2): the
names of the presets of :mod:`maml_theory.theory.method`."""

INITS = ("theory", "random", "given")

DIST0_SQ_MAX = 0.9
"""The theory's initial condition dist(B_0, B_*)² < 0.9 (spec R §2)."""

THEORY_INIT_DRAWS = 100_000
"""Candidates tried for the theory's initialisation before giving up. A uniformly random k-plane meets
dist² < 0.9 with probability about 1.2% at d = 20, k = 3, but essentially never once d ≳ 50: the error then
says to use another initialisation rather than loop for ever (at once, without drawing, where
:func:`acceptance_bound` shows the draws hopeless: d ≳ 300 at k = 3)."""

HOPELESS = 1e-3
"""The theory's initialisation gives up before drawing when fewer than this many of its
:data:`THEORY_INIT_DRAWS` candidates can be expected to meet dist² < 0.9, by the bound of
:func:`acceptance_bound`."""

CANDIDATES_PER_BATCH = 1024
"""The theory initialisation's rejection draws this many candidate frames at most at once (its memory)."""

_FIRST_CANDIDATES = 64
"""Candidates of a batch tested first by the theory's initialisation (then 128, 256, …; _theory_frame)."""

MU_MAX = 1e150
"""Largest head scale µ: a task set's second moment Λ = Σ_i θ_iθ_iᵀ/n sums n squares of size µ²ξ², which
stays inside float64 (1.8e308) for µ² = 1e300 with n·ξ² up to 1e8; beyond it (µ = 1e154 at n = 20) Λ
overflows and its eigenvalues cannot be computed."""

ORTHONORMAL_TOL = 1e-10
"""A given B_* is accepted when max |B_*ᵀB_* − I| ≤ this (a float64 QR gives about 1e-15)."""

Streams = np.random.Generator | Sequence[np.random.Generator]


@dataclass(frozen=True, eq=False)
class Instance:
    """One spec R instance: dimensions, step sizes, the head law, sample sizes and the initialisation.

    ``init``: ``"theory"`` (w_0 = 0, B_0 = Q/√α with Q a uniformly random orthonormal d×k frame, redrawn until
    dist(B_0, B_*)² < 0.9), ``"random"`` (B_0 with iid N(0, 1/(αd)) entries, so E[αB_0ᵀB_0] = I_k as in the
    theory's scale, and w_0 with iid N(0, 1/k) entries, so E‖w_0‖² = 1; no condition on dist_0) or
    ``"given"`` (B_0 and w_0 are passed to :func:`draw_problem`).

    ``width``: the hidden layer's width h ∈ [k, d] (None: k). B is d×h and w ∈ R^h, while B_* stays d×k and
    the heads θ ∈ R^k: the model Bw may use more directions than the truth has. The random initialisation then
    draws B_0 (d×h) with iid N(0, 1/(αd)) entries and w_0 with iid N(0, 1/h) entries (the same bits as
    before at h = k); the theory's initialisation is k wide only.

    The defaults are spec R §6's: d = 20, k = 3, n = 20 fresh N(0, I_k) heads, α = 0.1, β = 1, T = 300.
    """

    d: int = 20
    k: int = 3
    n: int = 20
    alpha: float = 0.1
    beta: float = 1.0
    T: int = 300
    sigma: float = 0.0
    mu: float = 1.0
    head_mean: np.ndarray | None = None
    fixed_tasks: bool = False
    sign_symmetric: bool = False
    m_in: int | None = None
    m_out: int | None = None
    init: str = "theory"
    width: int | None = None

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "d", v.integer("d", self.d, low=1))
        s(self, "k", v.integer("k", self.k, low=1, allowed=f"an integer in [1, d] (d = {self.d})"))
        if self.k > self.d:
            raise v.ParameterError("k", f"an integer in [1, d] (d = {self.d})", self.k)
        for name in ("fixed_tasks", "sign_symmetric"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise v.ParameterError(name, "True or False", getattr(self, name))
            s(self, name, bool(getattr(self, name)))
        if self.sign_symmetric:
            n = v.integer("n", self.n, low=2, allowed="an even integer >= 2 when sign_symmetric")
            if n % 2:
                raise v.ParameterError("n", "an even integer >= 2 when sign_symmetric", self.n)
            s(self, "n", n)
        else:
            s(self, "n", v.integer("n", self.n, low=1))
        for name in ("alpha", "beta"):
            s(self, name, v.real(name, getattr(self, name), low=0.0, low_open=True, allowed="> 0"))
        s(self, "T", v.integer("T", self.T, low=0))
        s(self, "sigma", v.real("sigma", self.sigma, low=0.0, allowed=">= 0"))
        s(self, "mu", v.real("mu", self.mu, low=0.0, high=MU_MAX, allowed="in [0, 1e150]"))
        if self.head_mean is not None:
            mean = v.matrix(
                "head_mean",
                self.head_mean,
                (self.k,),
                allowed=f"None or a finite vector of length k = {self.k}",
            )
            if self.sign_symmetric and np.any(mean):
                raise v.ParameterError(
                    "head_mean", "None or zero when sign_symmetric (θ and −θ average to 0)", mean
                )
            s(self, "head_mean", mean)
        # A given sample size is checked before the pairing, so that a bad value is named as itself.
        for name in ("m_in", "m_out"):
            if getattr(self, name) is not None:
                # The samplers draw χ² variables with m − j degrees of freedom, which numpy takes as int64.
                s(self, name, v.integer(name, getattr(self, name), low=1, high=v.INT64_MAX))
        if (self.m_in is None) != (self.m_out is None):
            name = "m_out" if self.m_out is None else "m_in"
            raise v.ParameterError(
                name, "an integer >= 1 when the other sample size is set (both or neither)", None
            )
        if self.init not in INITS:
            raise v.ParameterError("init", f"one of {INITS}", self.init)
        width_allowed = f"an integer in [k, d] = [{self.k}, {self.d}] (the hidden layer's width h)"
        if self.width is None:
            s(self, "width", self.k)
        else:
            s(self, "width", v.integer("width", self.width, low=self.k, high=self.d, allowed=width_allowed))
        if self.width > self.k and self.init == "theory":
            # αB_0ᵀB_0 = I_h makes every singular value of B_0 equal: no top-k subspace, so dist_h(B_0, B_*)
            # is not defined and neither is the theory's condition on it.
            raise v.ParameterError(
                "init", "'random' or 'given' when width > k (the theory's start is k wide)", self.init
            )

    @property
    def finite(self) -> bool:
        """True when gradients use sampled batches (m_in, m_out), False for the population loss."""
        return self.m_in is not None

    @property
    def head_scale(self) -> np.ndarray:
        """The diagonal of D = diag(1, …, 1, µ): standard deviations of the head coordinates."""
        scale = np.ones(self.k)
        scale[-1] = self.mu
        return scale


@dataclass(frozen=True, eq=False)
class Problem:
    """The fixed ingredients of a run: B_* (d, k) with orthonormal columns, B_0 (d, h), w_0 (h,) and, for a
    fixed task set, the heads (n, k) reused every round (None when heads are fresh each round)."""

    B_star: np.ndarray
    B0: np.ndarray
    w0: np.ndarray
    heads: np.ndarray | None


@dataclass(frozen=True, eq=False)
class Batches:
    """The samples of one round: X_in (…, n, m_in, d), y_in (…, n, m_in) for the inner step and the
    independent X_out (…, n, m_out, d), y_out (…, n, m_out) for the outer gradient (the leading axes, if any,
    index runs). NAL, having no inner step, uses the outer batch only."""

    X_in: np.ndarray
    y_in: np.ndarray
    X_out: np.ndarray
    y_out: np.ndarray


def resolve_method(method: Method | str) -> Method:
    """``method`` itself, or the preset it names (one of :data:`METHODS`), else :class:`ParameterError`."""
    if isinstance(method, Method):
        return method
    try:
        return Method.parse(method)
    except MethodError as e:
        raise v.ParameterError(e.name, e.allowed, e.got) from None


def haar_frame(rng: np.random.Generator, d: int, k: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    """Uniformly (Haar) distributed d×k matrices with orthonormal columns, shape (*batch, d, k).

    The QR factor of a Gaussian matrix, with each column's sign fixed so that diag(R) > 0: without that fix
    the law of Q depends on LAPACK's sign convention and is not rotation invariant.
    """
    return _frame(rng.standard_normal((*batch, d, k)))


def _frame(G: np.ndarray) -> np.ndarray:
    """The sign-fixed Q factor of :func:`haar_frame` for given Gaussian matrices G (…, d, k)."""
    q, r = np.linalg.qr(G)
    signs = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    # diag(R) = 0 happens with probability 0; keep the column rather than zero it.
    return q * np.where(signs == 0.0, 1.0, signs)[..., None, :]


def acceptance_bound(d: int, k: int) -> float:
    """An upper bound on P(dist(Q, B_*)² < 0.9) for a uniformly random d×k frame Q: the event needs every
    unit b ∈ col(B_*) to keep ‖Qᵀb‖² = 1 − (its sine)² > 0.1, and for one fixed b,
    ‖Qᵀb‖² ~ Beta(k/2, (d − k)/2)."""
    if d == k:
        return 1.0
    # The regularised upper incomplete beta function: P(Beta(a, b) > x), accurate far in the tail.
    return float(scipy.special.betaincc(k / 2, (d - k) / 2, 1.0 - DIST0_SQ_MAX))


def _theory_frame(inst: Instance, rng: np.random.Generator, B_star: np.ndarray) -> np.ndarray:
    """Q uniformly random given dist(Q, B_*)² < 0.9, by rejection: candidates are drawn in batches of
    :data:`CANDIDATES_PER_BATCH` and the first acceptable one (in draw order) is kept.

    A batch is tested in chunks of :data:`_FIRST_CANDIDATES`, then twice, four times … as many candidates,
    in draw order, up to the first chunk holding an acceptable one: at d = 20, k = 3 (about 1.2% accepted)
    about 130 candidates are tested instead of 1024. The whole batch is still drawn (drawing costs a fifth
    of testing), so the stream, and every draw after the frame, is as if every candidate had been tested.

    The test needs no frame: for a candidate's Gaussian G, col(Q) = col(G) and the squared cosines of the
    principal angles are the eigenvalues of (GᵀG)⁻¹GᵀB_*B_*ᵀG, so dist² < 0.9 ⇔ their minimum exceeds 0.1,
    evaluated through the k×k Cholesky factor L of GᵀG as λ_min(L⁻¹ GᵀB_*B_*ᵀG L⁻ᵀ). (The threshold is far
    from round-off, so this cosine form is as good as the sine form of :func:`dist` here.) Only the accepted
    candidate is orthonormalised, exactly as :func:`haar_frame` would have.
    """
    bound = acceptance_bound(inst.d, inst.k)
    if bound * THEORY_INIT_DRAWS < HOPELESS:
        raise _out_of_reach(
            inst, f"a uniformly random frame meets dist² < {DIST0_SQ_MAX} with probability below {bound:.1e}"
        )
    for _ in range(math.ceil(THEORY_INIT_DRAWS / CANDIDATES_PER_BATCH)):
        candidates = rng.standard_normal((CANDIDATES_PER_BATCH, inst.d, inst.k))
        start, chunk = 0, _FIRST_CANDIDATES
        while start < CANDIDATES_PER_BATCH:
            G = candidates[start : start + chunk]
            L = np.linalg.cholesky(np.swapaxes(G, -1, -2) @ G)
            C = np.linalg.solve(L, np.swapaxes(G, -1, -2) @ B_star)  # L⁻¹GᵀB_*, (·, k, k)
            cos_sq = np.linalg.eigvalsh(C @ np.swapaxes(C, -1, -2))[..., 0]
            ok = np.flatnonzero(1.0 - cos_sq < DIST0_SQ_MAX)
            if ok.size:
                return _frame(G[ok[0]])
            start, chunk = start + chunk, 2 * chunk
    raise _out_of_reach(
        inst, f"no uniformly random frame among the {THEORY_INIT_DRAWS} drawn met dist² < {DIST0_SQ_MAX}"
    )


def _out_of_reach(inst: Instance, reason: str) -> v.ParameterError:
    """The error of a theory initialisation that rejection sampling cannot reach at ``inst``'s d and k."""
    return v.ParameterError(
        "init",
        f"'random' or given arrays (--init random or --init FILE.npz) at d = {inst.d}, k = {inst.k}, where "
        f"the theory's start (w_0 = 0, αB_0ᵀB_0 = I with dist(B_0, B_*)² < {DIST0_SQ_MAX}, drawn by "
        f"rejection) is out of reach: {reason}",
        inst.init,
    )


def fill_heads(inst: Instance, rng: np.random.Generator, out: np.ndarray) -> None:
    """Fill ``out`` (…, n, k) with task sets from the head law (module docstring), one per leading index in
    C order: the bits of one call on (T, n, k) equal those of T calls on (n, k), so rounds can be pre-drawn.

    A sign-symmetric set is laid out as θ_1, −θ_1, θ_2, −θ_2, …: summed in order, or in the paired blocks of
    numpy's pairwise summation, each pair cancels exactly, so θ̄_t = 0 holds in floating point too. That
    matters: a method that is unstable in w (NAL at β > 2α from the theory's init) would otherwise amplify
    the round-off in θ̄_t until it diverges, where the exact dynamics never move.
    """
    if inst.sign_symmetric:
        half = rng.standard_normal((*out.shape[:-2], inst.n // 2, inst.k)) * inst.head_scale
        out[..., 0::2, :] = half
        out[..., 1::2, :] = -half
    else:
        rng.standard_normal(out=out)
        out *= inst.head_scale
        if inst.head_mean is not None:
            out += inst.head_mean


def _given(name: str, value: ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    dims = "x".join(str(s) for s in shape)
    return v.matrix(name, value, shape, allowed=f"a finite array of shape {dims}")


def _full_column_rank(name: str, B: np.ndarray) -> None:
    if orthonormal_basis(B)[1]:
        raise v.ParameterError(
            name, f"a {B.shape[0]}x{B.shape[1]} matrix of full column rank", "a rank-deficient matrix"
        )


def draw_problem(
    inst: Instance, rng: np.random.Generator, given: Mapping[str, ArrayLike] | None = None
) -> Problem:
    """Draw (or take from ``given``) B_*, B_0, w_0 and the fixed heads of one run.

    ``given`` may hold ``B_star`` (d×k, orthonormal columns to :data:`ORTHONORMAL_TOL`) and, with
    ``fixed_tasks``, ``heads`` (n×k; with ``sign_symmetric`` the set must equal its negative); ``B0``
    (d×h, full column rank, h = ``inst.width``) and ``w0`` (h) exactly when ``init == "given"``. An
    ``np.load``-ed ``.npz`` file is such a mapping. What is not given is drawn from ``rng`` in the order
    B_*, B_0 (and w_0), heads; B_* is a Haar frame (the problem is rotation invariant, so nothing depends on
    which).
    """
    given = {} if given is None else dict(given)
    allowed = (
        {"B_star"}
        | ({"B0", "w0"} if inst.init == "given" else set())
        | ({"heads"} if inst.fixed_tasks else set())
    )
    for name in given:
        if name not in allowed:
            raise v.ParameterError(
                name, f"absent here: the arrays accepted are {sorted(allowed)}", "an array"
            )
    d, k, h = inst.d, inst.k, inst.width
    if "B_star" in given:
        B_star = _given("B_star", given["B_star"], (d, k))
        if np.max(np.abs(B_star.T @ B_star - np.eye(k))) > ORTHONORMAL_TOL:
            raise v.ParameterError(
                "B_star", f"a {d}x{k} matrix with orthonormal columns", "B_starᵀB_star ≠ I"
            )
    else:
        B_star = haar_frame(rng, d, k)
    if inst.init == "given":
        for name in ("B0", "w0"):
            if name not in given:
                raise v.ParameterError(name, "an array in the given arrays when init == 'given'", None)
        B0 = _given("B0", given["B0"], (d, h))
        _full_column_rank("B0", B0)
        w0 = _given("w0", given["w0"], (h,))
    elif inst.init == "theory":
        B0 = _theory_frame(inst, rng, B_star) / math.sqrt(inst.alpha)
        w0 = np.zeros(k)
    else:
        B0 = rng.standard_normal((d, h)) / math.sqrt(inst.alpha * d)
        w0 = rng.standard_normal(h) / math.sqrt(h)
    heads = None
    if inst.fixed_tasks:
        if "heads" in given:
            heads = _given("heads", given["heads"], (inst.n, k))
            if inst.sign_symmetric and not _sign_symmetric(heads):
                raise v.ParameterError(
                    "heads", "a set holding −θ for every θ (sign_symmetric)", "an asymmetric set"
                )
        else:
            heads = np.empty((inst.n, k))
            fill_heads(inst, rng, heads)
    for a in (B_star, B0, w0, heads):
        if a is not None:
            a.setflags(write=False)
    return Problem(B_star=B_star, B0=B0, w0=w0, heads=heads)


def _sign_symmetric(heads: np.ndarray) -> bool:
    """Whether the rows of ``heads``, as a multiset, equal those of −heads (compared after sorting)."""

    def rows(a: np.ndarray) -> np.ndarray:
        return a[np.lexsort(a.T[::-1])]

    return bool(np.array_equal(rows(heads), rows(-heads)))


def draw_round(
    inst: Instance, rng: Streams, B_star: np.ndarray, heads: np.ndarray | None = None
) -> tuple[np.ndarray, Batches | None]:
    """The heads and (finite-sample instances) the batches of one round.

    ``rng`` is one generator (then B_star is (d, k) and the outputs have no run axis) or a sequence of R
    generators, one per run (B_star (R, d, k) or (d, k), outputs with a leading run axis R). ``heads``: the
    fixed set to use, shape (…, n, k); None draws fresh heads. Per run the draws come in the order heads,
    X_in, z_in, X_out, z_out (module docstring) and y = X B_*θ + σz. Returns (heads, Batches or None).
    """
    single = isinstance(rng, np.random.Generator)
    streams = [rng] if single else list(rng)
    R, n, k, d = len(streams), inst.n, inst.k, inst.d
    B_star = np.broadcast_to(B_star, (R, d, k))
    if heads is None:
        drawn = np.empty((R, n, k))
        for stream, slot in zip(streams, drawn, strict=True):
            fill_heads(inst, stream, slot)
    else:
        drawn = np.broadcast_to(heads, (R, n, k))
    batches = None
    if inst.finite:
        # Per run: the inner batch, then the outer one; the loops run over runs, never over tasks or samples.
        regressors = drawn @ np.swapaxes(B_star, -1, -2)  # (R, n, d): the rows B_*θ_i
        parts = []
        for m in (inst.m_in, inst.m_out):
            X = np.empty((R, n, m, d))
            z = np.empty((R, n, m))
            for stream, x_slot, z_slot in zip(streams, X, z, strict=True):
                stream.standard_normal(out=x_slot)
                stream.standard_normal(out=z_slot)
            parts += [X, (X @ regressors[..., None])[..., 0] + inst.sigma * z]
        if single:
            parts = [p[0] for p in parts]
        batches = Batches(*parts)
    return (drawn[0] if single else drawn), batches
