"""Monte Carlo of the adapted excess risk E_m(w) of spec L: the simulator route.

No closed form and no autograd: the numbers come from draws of the model alone.

Model (conventions of :mod:`maml_theory.numerics.landscape.instances`). A task of type k (probability p_k) has
x ~ N(0, Σ_k), optimum w* = c_k + η with η ~ N(0, V_k) (V_k holds variances; only the mean and
covariance of the optimum law matter, so a Gaussian is a valid choice), labels y = ⟨w*, x⟩ + z with
z ~ N(0, σ²) (σ the noise standard deviation). One step on m fresh samples: w⁺ = w − α ĝ(w) with
ĝ(w) = (1/m) Σ_j x_j (x_jᵀ w − y_j), the exact gradient Σ_k (w − w*) when m = inf. The task's excess
is ε(w) = f(w⁺) − f(w*) = ½ (w⁺ − w*)ᵀ Σ_k (w⁺ − w*) (the σ²/2 of f cancels), and E_m(w) = E ε(w)
over tasks and samples.

How a task is drawn (exactly in distribution, without forming X). In the eigenbasis Σ_k = Q Λ Qᵀ
put x = Q Λ^{1/2} u with u ~ N(0, I_d), s = Λ^{1/2} Qᵀ (w − w*), z = σ z₀ and h = z − U s, U the
m×d matrix of the u_j. Then Λ^{1/2} Qᵀ (w⁺ − w*) = s + (α/m) Λ Uᵀ h, so ε = ½ ‖s + (α/m) Λ Uᵀ h‖².

- A general Σ_k draws U in full (m d normals a task).
- For Σ_k = ρ I the law of U is rotation invariant, so only the coordinates a_p = Fᵀ s_p of the
  points in an orthonormal frame F (d×f) holding every s_p matter. Let G = [z₀, U F] (m×(f+1), iid
  N(0, 1)) and γ_p = (σ, −a_p), so h_p = G γ_p. The frame part of Uᵀ h_p is (GᵀG γ_p)[1:]; the
  rest has norm ‖Bᵀ G γ_p‖, B the m×(d−f) rest of U, independent of G. With G = Q_G T (QR),
  GᵀG = TᵀT and Bᵀ G = (Bᵀ Q_G) T where Bᵀ Q_G is again iid N(0, 1). Hence
  ε_p = ½ ‖a_p + (αρ/m)(TᵀT γ_p)[1:]‖² + ½ (αρ/m)² ‖T' T γ_p‖², where T and T' are the R-factors
  of iid Gaussian m×(f+1) and (d−f)×(f+1) matrices, which Bartlett's decomposition draws directly:
  O(f²) draws a task instead of m d.

Several points W are evaluated on the same tasks and samples (common random numbers), so
differences and ratios of their estimates have small standard errors; ``cov`` is the covariance
matrix of the mean estimates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from maml_theory.numerics import validation as v
from maml_theory.numerics.landscape.instances import Mixture, TaskType
from maml_theory.numerics.landscape.oracle import psd_factor

CHUNK = 1 << 17
"""Default budget of float64 entries for a chunk: tasks per chunk = CHUNK // (entries a task takes
in the working arrays). About 1 MiB per array keeps numpy's temporaries in cache; measured on
the benchmark instance, chunks eight times larger ran three times slower. Results depend on the
seed and on this budget, never on the machine."""

TASK_SECONDS = 3.5e-6
"""Measured seconds a task of the isotropic sampler (Σ = ρI) takes at two points, in full chunks: 1e6 tasks of
the default easy/hard instance in 3.5 s on this 2-core machine (shared), about the same at any m."""

CHUNK_SECONDS = 5e-4
"""Measured seconds a chunk costs besides its tasks (the multinomial draw, one sampler call per type, the
moment merge): 2000 one-task chunks of the default instance took 1.1 s."""

EIGH_SECONDS = 6.2e-10
"""Seconds per d³ of the eigendecomposition that validating one d×d matrix of a mixture takes (numpy's
eigvalsh: 5 s at d = 2000 on this machine)."""

MATRIX_BYTES = 26
"""Peak bytes per entry and d×d matrix of a mixture while it is built and validated (the matrix, its
validated copy, the temporaries of the symmetry and eigenvalue checks): the four matrices of a two-type
mixture at d = 3000 peaked at 0.92 GB, 26 bytes per entry and matrix."""

WORKING_ARRAYS = 8
"""Arrays of a chunk's size alive at once while it is drawn (the draws, their products and the excesses),
an upper count for the memory estimate."""


def cost(d: int, q: int, n_tasks: int, matrices: int, chunk: int = CHUNK) -> tuple[float, float]:
    """Estimated peak bytes and seconds of a Monte Carlo of ``n_tasks`` tasks at q points on a mixture of
    isotropic types with ``matrices`` d×d matrices in all (2 per type: Σ and V): building and validating
    the matrices, then the tasks in chunks (:func:`adapted_excess`), from the measured constants above."""
    entries = _isotropic_entries(q, d)
    per_chunk = max(1, chunk // entries)
    memory = matrices * MATRIX_BYTES * d * d + 8 * WORKING_ARRAYS * per_chunk * entries
    seconds = (
        matrices * EIGH_SECONDS * d**3 + TASK_SECONDS * n_tasks + CHUNK_SECONDS * -(-n_tasks // per_chunk)
    )
    return float(memory), float(seconds)


EXCESS_RANGE = (1e-150, 1e70)
"""The per-point excesses E_m whose Monte Carlo float64 carries: the estimate sums fourth powers of per-task
excesses over up to about 1e9 tasks, and a task's excess can be about 1e3 times the mean, so
1e9 · (1e3 E)⁴ stays below float64's 1.8e308 for E ≤ 1e70; the squares behind the standard error stay normal
numbers (above 2.2e-308) for (E/1e3)² with E ≥ 1e-150."""

# (rng, n) ↦ an array whose first axis holds n freshly drawn tasks.
_Sampler = Callable[[np.random.Generator, int], np.ndarray]
# A sampler of per-task excesses and the float64 entries a task takes in its working arrays.
_Plan = tuple[_Sampler, int]


@dataclass(frozen=True)
class ExcessEstimate:
    """Monte Carlo estimate of E_m at q points from n iid tasks.

    ``mean`` (q,) are the sample means of the per-task excesses, ``se`` (q,) their standard errors
    (sample standard deviation / √n), ``cov`` (q, q) the estimated covariance matrix of the q means
    (sample covariance / n; ``se`` is the square root of its diagonal), ``kurtosis`` (q,) the sample
    kurtosis μ₄/μ₂² of the per-task excesses (3 for a normal law; not the excess kurtosis), which sets
    how well ``se`` itself is known (:attr:`se_relative_error`). Each mean is asymptotically
    N(E_m(w_p), se_p²).
    """

    mean: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    kurtosis: np.ndarray
    n: int

    @property
    def se_relative_error(self) -> np.ndarray:
        """(q,) the relative sampling error of ``se``: :func:`sd_relative_error` of ``kurtosis`` and n."""
        return sd_relative_error(self.kurtosis, self.n)

    def ratio_se(self, i: int, j: int) -> float:
        """Delta-method standard error of r = mean[i] / mean[j]:
        r √(C_ii/μ_i² + C_jj/μ_j² − 2 C_ij/(μ_i μ_j)), C = ``cov``, μ = ``mean``."""
        mu_i, mu_j = self.mean[i], self.mean[j]
        r = mu_i / mu_j
        grad = np.array([1.0 / mu_j, -r / mu_j])
        block = self.cov[np.ix_([i, j], [i, j])]
        return float(np.sqrt(max(grad @ block @ grad, 0.0)))


Z = 6.0
"""Standard errors a Monte Carlo mean may stray from its exact value: the project's one Monte Carlo band (the
route claims L.route.montecarlo and R.route.mom, through verification.checks.zscore_claim, and the tests,
through tests/tolerances.py)."""


def sd_relative_error(kurtosis: float | np.ndarray, n: int) -> float | np.ndarray:
    """sd(ŝ)/s ≈ √((κ − 1)/(4n)) for the sample standard deviation ŝ of n iid draws of kurtosis κ = μ₄/μ₂²
    (the delta method on ŝ² = sample variance, whose variance is (μ₄ − μ₂²)/n to first order): about
    √(1/(2n)) for a normal law (κ = 3)."""
    return np.sqrt((np.asarray(kurtosis, dtype=np.float64) - 1.0) / (4 * n))


def _r_factor(rng: np.random.Generator, n: int, rows: int, cols: int) -> np.ndarray:
    """n draws of the R-factor of the QR decomposition of an iid N(0, 1) rows×cols matrix.

    Bartlett's decomposition: shape (n, min(rows, cols), cols), upper trapezoidal, all entries
    independent, R_ii = √χ²_{rows−i} (0-based i) and R_ij ~ N(0, 1) for j > i. Gram–Schmidt on the
    columns shows it: a column's components on the previous orthonormal directions are iid N(0, 1),
    and its residual in the rows − i remaining ones has a χ norm.
    """
    k = min(rows, cols)
    r = np.zeros((n, k, cols))
    if k == 0:
        return r
    upper_i, upper_j = np.triu_indices(k, 1, cols)
    r[:, upper_i, upper_j] = rng.standard_normal((n, upper_i.size))
    diag = np.arange(k)
    r[:, diag, diag] = np.sqrt(rng.chisquare(rows - diag, size=(n, k)))
    return r


def _frame_coordinates(t: TaskType, W: np.ndarray, rho: float) -> tuple[_Sampler, int]:
    """Sampler of the coordinates a_p (n, q, f) of s_p = √ρ (w_p − w*) in a task-dependent frame,
    and the frame's dimension f.

    The frame is [O, o]: O (d×r, r = min(q, d)) an orthonormal basis holding every w_p − c (fixed
    per type, from the SVD, with no rank cut so nothing is lost to a tolerance), o the unit
    direction of the part η_⊥ of η = w* − c orthogonal to O (left out when r = d). So
    a_p = √ρ (Oᵀ(w_p − c) − Oᵀη, −‖η_⊥‖). With q = 1 the frame is the direction of s itself and
    a = ‖s‖: one coordinate, the cheapest frame.
    """
    q, d = W.shape
    r = min(q, d)
    f = _frame_dimension(q, d)
    # The rows of vh are an orthonormal basis of R^d whose first r hold every w_p − c.
    _, _, vh = np.linalg.svd(W - t.center)
    offsets = (W - t.center) @ vh[:r].T  # (q, r)
    nu = t.opt_cov[0, 0]
    isotropic_opt = np.array_equal(t.opt_cov, nu * np.eye(d))
    # ξ (a row) ↦ the coordinates of η in the basis vh, when V is not a multiple of I.
    to_basis = None if isotropic_opt else psd_factor(t.opt_cov).T @ vh.T

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        if isotropic_opt:
            # η ~ N(0, νI): its coordinates on O are √ν ξ and ‖η_⊥‖² ~ ν χ²_{d−r}, independent.
            eta_o = math.sqrt(nu) * rng.standard_normal((n, r))
            eta_perp = np.sqrt(nu * rng.chisquare(d - r, size=n)) if r < d else None
        else:
            eta = rng.standard_normal((n, d)) @ to_basis
            eta_o = eta[:, :r]
            eta_perp = np.linalg.norm(eta[:, r:], axis=1) if r < d else None
        a = offsets[None, :, :] - eta_o[:, None, :]
        if eta_perp is not None:
            a = np.concatenate([a, np.broadcast_to(-eta_perp[:, None, None], (*a.shape[:2], 1))], axis=2)
        a *= math.sqrt(rho)
        if q == 1:
            a = np.linalg.norm(a, axis=2, keepdims=True)
        return a

    return draw, f


def _frame_dimension(q: int, d: int) -> int:
    """The dimension f of :func:`_frame_coordinates`' frame for q points in R^d."""
    r = min(q, d)
    return 1 if q == 1 else (r + 1 if r < d else r)


def _isotropic_entries(q: int, d: int) -> int:
    """The float64 entries a task of :func:`_isotropic_sampler` takes in its working arrays."""
    f = _frame_dimension(q, d)
    return d + (f + 1) * (f + 1 + q)


def _isotropic_sampler(t: TaskType, W: np.ndarray, alpha: float, sigma: float, m: float) -> _Plan:
    """Per-task excesses (n, q) for Σ = ρ I by the frame reduction of the module docstring."""
    q, d = W.shape
    rho = float(t.cov[0, 0])
    coordinates, f = _frame_coordinates(t, W, rho)

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        a = coordinates(rng, n)
        if math.isinf(m):
            return 0.5 * (1.0 - alpha * rho) ** 2 * np.sum(a * a, axis=2)
        gamma = np.concatenate([np.full((*a.shape[:2], 1), sigma), -a], axis=2)  # (n, q, f + 1)
        t_active = _r_factor(rng, n, int(m), f + 1)
        t_gamma = np.einsum("nij,nqj->nqi", t_active, gamma)
        if f == d:
            rest_sq = np.zeros(a.shape[:2])
        elif a.shape[1] == 1:
            # One point: ‖Z v‖² = ‖v‖² χ²_{d−f} for Z iid N(0, 1), one draw instead of an R-factor.
            rest_sq = np.sum(t_gamma * t_gamma, axis=2) * rng.chisquare(d - f, size=(n, 1))
        else:
            rest = np.einsum("nij,nqj->nqi", _r_factor(rng, n, d - f, t_gamma.shape[2]), t_gamma)
            rest_sq = np.sum(rest * rest, axis=2)
        step = alpha * rho / m
        active = a + step * np.einsum("nij,nqi->nqj", t_active[:, :, 1:], t_gamma)
        return 0.5 * (np.sum(active * active, axis=2) + step**2 * rest_sq)

    return draw, _isotropic_entries(q, d)


def _general_sampler(t: TaskType, W: np.ndarray, alpha: float, sigma: float, m: float) -> _Plan:
    """Per-task excesses (n, q) for any SPD Σ, drawn in its eigenbasis, where Σ acts as a diagonal
    scaling (no Cholesky multiply)."""
    q, d = W.shape
    lam, basis = np.linalg.eigh(t.cov)
    offsets = (W - t.center) @ basis  # (q, d)
    to_basis = psd_factor(t.opt_cov).T @ basis
    root = np.sqrt(lam)

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        eta = rng.standard_normal((n, d)) @ to_basis
        s = root * (offsets[None, :, :] - eta[:, None, :])  # (n, q, d)
        if math.isinf(m):
            s_plus = (1.0 - alpha * lam) * s
        else:
            u = rng.standard_normal((n, int(m), d))
            z = sigma * rng.standard_normal((n, int(m)))
            h = z[:, None, :] - np.einsum("nmd,nqd->nqm", u, s)
            s_plus = s + (alpha / m) * lam * np.einsum("nmd,nqm->nqd", u, h)
        return 0.5 * np.sum(s_plus * s_plus, axis=2)

    m_finite = int(m) if math.isfinite(m) else 0
    return draw, d * (m_finite + q) + q * m_finite


@dataclass(frozen=True)
class _Moments:
    """Running central moments of the excesses of n tasks at q points (rows of shape (q,)): the mean, the
    centred cross-product sums M₂ (q, q) and the per-point centred third and fourth power sums M₃, M₄ (q,)
    (M₃ only for M₄'s merge). Chunks are merged by the pairwise formulas (Chan et al. for M₂, Pébay 2008 for
    M₃ and M₄), which stay accurate without storing the rows or forming raw moments."""

    n: int
    mean: np.ndarray
    m2: np.ndarray
    m3: np.ndarray
    m4: np.ndarray

    @classmethod
    def empty(cls, q: int) -> _Moments:
        return cls(0, np.zeros(q), np.zeros((q, q)), np.zeros(q), np.zeros(q))

    def merged(self, rows: np.ndarray) -> _Moments:
        """These moments with the rows (size, q) added, size ≥ 1."""
        a, b = self.n, rows.shape[0]
        n = a + b
        chunk_mean = rows.mean(axis=0)
        centred = rows - chunk_mean
        squares = centred * centred
        c2, c3, c4 = (squares.sum(axis=0), (squares * centred).sum(axis=0), (squares * squares).sum(axis=0))
        a2 = np.diag(self.m2)
        delta = chunk_mean - self.mean
        f = a * b / n
        m4 = (
            self.m4
            + c4
            + delta**4 * f * (a * a - a * b + b * b) / n**2
            + 6 * delta**2 * (a * a * c2 + b * b * a2) / n**2
            + 4 * delta * (a * c3 - b * self.m3) / n
        )
        m3 = self.m3 + c3 + delta**3 * f * (a - b) / n + 3 * delta * (a * c2 - b * a2) / n
        m2 = self.m2 + (centred.T @ centred + np.outer(delta, delta) * f)
        return _Moments(n, self.mean + delta * (b / n), m2, m3, m4)

    def estimate(self) -> ExcessEstimate:
        """The estimate of the means from these n ≥ 2 rows."""
        n = self.n
        cov = self.m2 / ((n - 1) * n)
        spread = np.diag(self.m2)
        # A point where every task has the same excess (M₂ = 0) has no defined kurtosis: NaN.
        with np.errstate(invalid="ignore", divide="ignore"):
            kurtosis = self.m4 * n / (spread * spread)
        return ExcessEstimate(mean=self.mean, se=np.sqrt(np.diag(cov)), cov=cov, kurtosis=kurtosis, n=n)


def adapted_excess(
    mixture: Mixture,
    W: np.ndarray,
    n_tasks: int,
    rng: np.random.Generator,
    *,
    m: float | None = None,
    chunk: int = CHUNK,
) -> ExcessEstimate:
    """Monte Carlo of E_m(w) = E_i E_D[f_i(w − α ĝ_i(w; D)) − f_i(w*_i)] at the rows of W.

    W has shape (d,) or (q, d). ``n_tasks`` iid tasks (types drawn with the mixture's p), each with
    its own fresh batch of m samples (``m`` defaults to ``mixture.m``; ``math.inf`` is the exact
    gradient), shared by all q points. Vectorised; the tasks are drawn in chunks of
    ``chunk // e`` tasks, e the float64 entries a task takes in the working arrays (about
    d (m + q) for a general Σ, d + (q + 2)(2q + 2) at most for Σ = ρI), so the output depends only
    on the seed and ``chunk``. The module docstring says how a task is drawn.

    The spec L default instance at MAML's solution, against the closed form (a different route):

    >>> from maml_theory.numerics.landscape.instances import EasyHard
    >>> inst = EasyHard()
    >>> W = np.zeros(inst.d)
    >>> W[0] = 0.843848 * inst.R  # w_MAML = μ w_H, w_E = 0
    >>> est = adapted_excess(inst.mixture(), W, 100_000, np.random.default_rng(0))
    >>> bool(abs(est.mean[0] - 0.12979126) < 6 * est.se[0]), est.n
    (True, 100000)
    """
    n_tasks = v.integer("n_tasks", n_tasks, low=2)
    m = mixture.m if m is None else v.sample_count("m", m)
    chunk = v.integer("chunk", chunk, low=1)
    d = mixture.d
    shape = np.shape(W)
    # Any other number of dimensions, or q = 0, fails the shape check of v.matrix.
    expected = (max(shape[0], 1), d) if len(shape) == 2 else (d,)
    points = v.matrix("W", W, expected, allowed=f"a finite array of shape ({d},) or (q, {d}), q >= 1")
    points = points.reshape(-1, d)
    q = points.shape[0]

    plans = []
    for t in mixture.types:
        isotropic = np.array_equal(t.cov, t.cov[0, 0] * np.eye(d))
        make = _isotropic_sampler if isotropic else _general_sampler
        plans.append(make(t, points, mixture.alpha, mixture.sigma, m))
    samplers = [draw for draw, _ in plans]
    entries = max(e for _, e in plans)
    per_chunk = max(1, chunk // entries)
    # A chunk holds at least one task: a general Σ's task alone draws m·d normals, which may not fit.
    needs = 8 * WORKING_ARRAYS * per_chunk * entries
    if needs > v.MEMORY_LIMIT:
        largest = (v.MEMORY_LIMIT / (8 * WORKING_ARRAYS) - d * q) / (d + q)
        limit = v.bytes_text(v.MEMORY_LIMIT)
        what = f"one task's draws need about {v.bytes_text(needs)}, over the limit of {limit}"
        raise v.ParameterError("m", f"at most {math.floor(largest)} at d = {d}: {what}", m)
    probs = [t.prob for t in mixture.types]

    moments = _Moments.empty(q)
    while moments.n < n_tasks:
        counts = rng.multinomial(min(per_chunk, n_tasks - moments.n), probs)
        excess = np.concatenate([draw(rng, c) for draw, c in zip(samplers, counts, strict=True) if c])
        moments = moments.merged(excess)
    return moments.estimate()
