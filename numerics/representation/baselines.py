"""Three estimators of a shared linear representation that a user would pick instead of meta-learning.

Data: T tasks with m samples each, X (T, m, d) and y (T, m), y_tj = x_tjᵀB_*θ_t + σz_tj (spec R §1;
N = T·m samples in all). Each estimator maps (X, y, k) to B̂ (d × k) with orthonormal columns, to be compared
with B_* by :func:`~maml_theory.numerics.representation.distance.dist`. All three are vectorised over tasks
and samples (array operations on the whole (T, m, d) block); the only Python loops are over iterations.

- **Method of moments** (:func:`method_of_moments`; Tripuraneni, Jin & Jordan, *Provable meta-learning of
  linear representations*, ICML 2021, their method-of-moments estimator; the same estimator as in Duchi,
  Feldman, Hu & Talwar, *Subspace recovery from heterogeneous data with non-isotropic noise*, NeurIPS 2022):
  B̂ = the top-k eigenvectors of M̂ = (1/N) Σ_j y_j² x_jxⱼᵀ. For one task,
  E[y² x xᵀ] = (‖B_*θ‖² + σ²) I + 2B_*θθᵀB_*ᵀ (Wick pairing of the four Gaussian factors; derived by the
  project's moment engine, claim ``R.baselines.mom``), so averaged over heads
  E M̂ = (tr Λ + σ²) I + 2B_*ΛB_*ᵀ with Λ = E θθᵀ: its top-k eigenspace is col(B_*) whenever Λ is positive
  definite. No iteration, no tuning.
- **Alternating minimisation** (:func:`alternating_minimisation`; Thekumparampil, Jain, Netrapalli & Oh,
  *Sample efficient linear meta-learning by alternating minimization*, 2021): start from the method of
  moments' B̂ (the natural initialisation: it is already close to col(B_*)), then :data:`ALTMIN_ITERATIONS`
  times: (1) per-task least-squares heads w_t = argmin_w ‖X_tBw − y_t‖² (the minimum-norm solution when
  m < k), (2) the least-squares representation B = argmin_B Σ_t ‖X_tBw_t − y_t‖², whose normal equations
  Σ_t S_tBw_tw_tᵀ = Σ_t c_tw_tᵀ (S_t = X_tᵀX_t, c_t = X_tᵀy_t) are the dk × dk linear system
  H vec(B) = vec(Σ_t c_tw_tᵀ), H = Σ_t (S_t ⊗ w_tw_tᵀ) in row-major vec (solved by :func:`_solve`), and
  (3) B ← its orthonormal QR factor (the next heads absorb the change of basis, so the iterates' column
  spaces are those of the plain alternation). Cost: S_t once (N d² flops, T d² floats of memory), then per
  iteration T k² d² for H.
- **Burer–Monteiro factored gradient descent** (:func:`factored_gradient_descent`; the factored non-convex
  multi-task least squares analysed by Tripuraneni, Jin & Jordan 2021): gradient descent on
  f(B, V) = (1/2N) Σ_t ‖√T·X_tBv_t − y_t‖² + (1/8)‖BᵀB − VᵀV‖_F², V (T × k) the heads scaled by 1/√T
  (w_t = √T·v_t, the scale at which the two factors of B Vᵀ are balanced), the second term the usual
  balancing regulariser. Start: the method of moments' B̂ with per-task least-squares heads W, rebalanced
  (W/√T = PSRᵀ by SVD, then B = B̂RS^{1/2}, V = PS^{1/2}: the same product, BᵀB = VᵀV = S). Step sizes per
  block, fixed at the start: :data:`BM_STEP`/s_1 for B (s_1 = λ_max(S), its curvature there), and
  :data:`BM_STEP`/max(s_1, ℓ_t) for task t's head, ℓ_t = λ_max(BᵀX_tᵀX_tB)/m its own curvature there (a
  task with few samples is much stiffer than the average, and one step size for all heads diverges at
  m ≈ k). :data:`BM_ITERATIONS` steps; a run whose iterate leaves float64 or grows :data:`BLOWUP`-fold raises
  :class:`Diverged` with the step.

Each estimator's result goes through a QR factorisation, so its columns are orthonormal to round-off.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike

from maml_theory.numerics import validation as v
from maml_theory.numerics.representation import dynamics
from maml_theory.numerics.representation.distance import dist
from maml_theory.numerics.representation.instances import Instance, Problem, draw_problem, draw_round
from maml_theory.numerics.representation.simulate import simulate

ALTMIN_ITERATIONS = 10
"""Alternations of heads and representation. From the method of moments' start each one shrinks dist by a
factor of about 20 on clean data (measured at d = 100, k = 5, m = 100: 0.07 → 4e-3 → 2e-4 → … → 2e-14)."""

BM_ITERATIONS = 40
"""Gradient steps of the factored descent: on clean data at d = 20, k = 5, m = 40 they take dist from the
method of moments' 0.3 to about 1e-4 (the rate is about 0.8 a step at these step sizes)."""

BM_STEP = 0.5
"""The factored descent's step, as a fraction of the inverse curvature of each block (module docstring)."""

BLOWUP = 1e6
"""The factored descent diverges when ‖B‖_F or ‖V‖_F exceeds this multiple of its start (or is not finite)."""

PINV_RTOL = 1e-10
"""Relative cut-off of the pseudo-inverses of Gram matrices (the per-task k × k ones, and a singular H):
eigenvalues below it times the largest count as zero. A Gram matrix squares the condition number, so this
drops directions whose singular value is below 1e-5 of the largest, far above round-off (1e-16 relative)
and far below any direction the data determine."""


class Diverged(ArithmeticError):
    """The factored descent left float64 or grew :data:`BLOWUP`-fold at iteration ``step`` (1-based)."""

    def __init__(self, step: int) -> None:
        self.step = step
        super().__init__(f"diverged at iteration {step}")


def _data(X: object, y: object, k: object) -> tuple[np.ndarray, np.ndarray, int]:
    """(X, y, k) checked: X a finite (T, m, d) array, y a finite (T, m) array, k an integer in 1..d."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3 or 0 in X.shape or not np.isfinite(X).all():
        raise v.ParameterError("X", "a finite array of shape (tasks, m, d), none of them 0", X.shape)
    T, m, d = X.shape
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (T, m) or not np.isfinite(y).all():
        raise v.ParameterError("y", f"a finite array of shape ({T}, {m}) like X's first two axes", y.shape)
    k = v.integer("k", k, low=1, high=d, allowed=f"an integer in [1, d] (d = {d})")
    return X, y, k


def _orthonormal(B: np.ndarray) -> np.ndarray:
    """The Q factor of B = QR: orthonormal columns spanning col(B)."""
    return np.linalg.qr(B)[0]


def method_of_moments(X: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """The top-k eigenvectors of (1/N) Σ_j y_j² x_jxⱼᵀ over all N = T·m samples (module docstring).

    M̂ = WᵀW/N with the rows of W the samples x_j scaled by |y_j|: one symmetric product (BLAS syrk through
    np.dot), N d²/2 flops.
    """
    X, y, k = _data(X, y, k)
    d = X.shape[-1]
    N = y.size
    W = X.reshape(N, d) * np.abs(y).reshape(N, 1)
    M = np.dot(W.T, W) / N
    # Only the top k eigenpairs, by LAPACK's syevr: on this shared machine numpy's full eigh (syevd) of a
    # 100 × 100 matrix took up to 0.1 s, syevr a tenth of that.
    vectors = scipy.linalg.eigh(M, subset_by_index=(d - k, d - 1))[1]
    return _orthonormal(vectors[:, ::-1])


def _heads(XB: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-task least-squares heads w_t = (BᵀX_tᵀX_tB)⁺BᵀX_tᵀy_t, (T, k), from XB = X B (T, m, k): the
    minimum-norm solution of min_w ‖X_tBw − y_t‖², batched over the tasks."""
    G = XB.mT @ XB
    b = XB.mT @ y[..., None]
    return (np.linalg.pinv(G, rtol=PINV_RTOL, hermitian=True) @ b)[..., 0]


def alternating_minimisation(X: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Alternating least squares for heads and representation from the method of moments' start (module
    docstring): :data:`ALTMIN_ITERATIONS` alternations."""
    X, y, k = _data(X, y, k)
    T, _, d = X.shape
    B = method_of_moments(X, y, k)
    S = (X.mT @ X).reshape(T, d * d)  # S_t = X_tᵀX_t, flattened
    c = (X.mT @ y[..., None])[..., 0]  # c_t = X_tᵀy_t, (T, d)
    for _ in range(ALTMIN_ITERATIONS):
        W = _heads(X @ B, y)
        # H[(p, a), (q, b)] = Σ_t S_t[p, q] w_ta w_tb: one product over the task axis, then reordered.
        ww = (W[:, :, None] * W[:, None, :]).reshape(T, k * k)
        H = (ww.T @ S).reshape(k, k, d, d).transpose(2, 0, 3, 1).reshape(d * k, d * k)
        rhs = (c.T @ W).reshape(d * k)
        B = _orthonormal(_solve(H, rhs).reshape(d, k))
    return B


def _solve(H: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """The minimum-norm solution of H x = rhs for symmetric positive semidefinite H: by Cholesky where H is
    positive definite (the heads span R^k and the samples determine every direction of B), else by least
    squares (all heads zero, say, when y carries no signal). Cholesky, not an eigendecomposition, because
    LAPACK's symmetric eigensolvers ran 30 to 100 times slower on this shared machine (measured at dk = 60 and
    500: eigh 0.11 s and 4.5 s, Cholesky 0.7 ms and 34 ms)."""
    try:
        return scipy.linalg.cho_solve(scipy.linalg.cho_factor(H), rhs)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(H, rhs, rcond=PINV_RTOL)[0]


def factored_gradient_descent(X: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Gradient descent on the balanced factored objective f(B, V) from the method of moments' start, with
    per-block step sizes (module docstring); raises :class:`Diverged` if the iterates blow up.

    Gradients, with r_t = X_tBw_t − y_t (w_t = √T v_t), g_t = X_tᵀr_t and D = BᵀB − VᵀV:
    ∇_B f = (1/N) Σ_t g_tw_tᵀ + ½BD and √T ∇_{v_t} f = (T/N) Bᵀg_t − ½w_tD (the head step is taken on w_t
    directly, scaled by √T, which is the step on v_t)."""
    X, y, k = _data(X, y, k)
    T, m, _ = X.shape
    N = T * m
    B = method_of_moments(X, y, k)
    XB = X @ B
    W = _heads(XB, y)
    # Full Rᵀ (k×k) and s padded with zeros: with fewer tasks than k (T < k) the heads span T directions only,
    # and the factors' other columns are 0; they stay 0 under the descent (every gradient term of such a
    # column carries it), and at the end they take the method of moments' directions.
    P, s, Rt = np.linalg.svd(W / math.sqrt(T), full_matrices=True)
    s = np.concatenate([s, np.zeros(k - s.size)])
    start = B @ Rt.T
    B = start * np.sqrt(s)
    W = np.concatenate([P[:, : min(T, k)], np.zeros((T, k - min(T, k)))], axis=1) * np.sqrt(s) * math.sqrt(T)
    s1 = float(s[0])
    if not s1 > 0.0:  # every head is zero: y carries no signal in col(B̂), and MoM's B̂ is all there is
        return _orthonormal(B)
    # ℓ_t at the balanced B: X_tB = X_tB̂ R S^{1/2}, so λ_max(BᵀX_tᵀX_tB) ≤ s_1 λ_max(B̂ᵀX_tᵀX_tB̂).
    ell = np.linalg.eigvalsh(XB.mT @ XB)[:, -1] * s1 / m
    step_B = BM_STEP / s1
    step_W = (BM_STEP / np.maximum(ell, s1))[:, None]
    limit = BLOWUP * max(np.linalg.norm(B), np.linalg.norm(W) / math.sqrt(T))
    for it in range(1, BM_ITERATIONS + 1):
        with np.errstate(all="ignore"):
            r = (X @ (W @ B.T)[..., None])[..., 0] - y
            g = (X.mT @ r[..., None])[..., 0]
            D = B.T @ B - W.T @ W / T
            B, W = (
                B - step_B * (g.T @ W / N + 0.5 * B @ D),
                W - step_W * ((T / N) * (g @ B) - 0.5 * W @ D),
            )
        size = max(float(np.linalg.norm(B)), float(np.linalg.norm(W)) / math.sqrt(T))
        if not size <= limit:  # NaN compares False
            raise Diverged(it)
    B[:, s == 0.0] = start[:, s == 0.0]
    return _orthonormal(B)


ESTIMATORS: dict[str, Callable[[np.ndarray, np.ndarray, int], np.ndarray]] = {
    "mom": method_of_moments,
    "altmin": alternating_minimisation,
    "bm": factored_gradient_descent,
}
"""The baselines by name: method of moments, alternating minimisation, Burer–Monteiro descent."""


SECONDS = {"mom": 2.2e-9, "altmin": 1.8e-9, "bm": 2.8e-9}
"""Seconds per unit of work (:func:`cost`), measured by benchmarks/baselines.py at d = 100, k = 5, 10⁴ tasks
of 100 samples on this 2-core machine while shared (load average about 7.5): the method of moments 22 s for
N d² = 10¹⁰; alternating minimisation 96 s, 74 s past its method of moments, for
N d² + 10(T k²d² + N d k + (dk)³) = 4.1·10¹⁰; the descent 45 s, 23 s past its method of moments, for
40 · 2N d = 8·10⁹. Pessimistic on an idle machine (there the multithreaded products run many times faster),
which suits their use: refusing runs that would take hours."""


def cost(T: int, m: int, d: int, k: int) -> tuple[float, float]:
    """Estimated (peak bytes, seconds) of running the three estimators once on T tasks of m samples in R^d,
    besides the data themselves: the largest temporaries (M̂'s weighted copy of X, N d floats; alternating
    minimisation's S_t, T d² floats; the (dk)² system) and the work of the module docstring, at
    :data:`SECONDS` a unit (each iterative method runs the method of moments first)."""
    N = T * m
    memory = 8.0 * (N * d + T * d * d + 3 * (d * k) ** 2 + 4 * N * k)
    mom = SECONDS["mom"] * N * d * d
    per_alternation = T * k * k * d * d + N * d * k + (d * k) ** 3
    altmin = SECONDS["altmin"] * (N * d * d + ALTMIN_ITERATIONS * per_alternation)
    bm = SECONDS["bm"] * BM_ITERATIONS * 2 * N * d
    return memory, 3 * mom + altmin + bm


def pooled_data(
    inst: Instance, rng: np.random.Generator, rounds: int, problem: Problem | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B_*, X, y): the samples of the first ``rounds`` rounds of one finite-sample run, pooled as
    rounds·n tasks of m_in + m_out samples each (a task's inner batch, then its outer batch; tasks in
    round order), X (rounds·n, m_in + m_out, d), y (rounds·n, m_in + m_out).

    They are the very numbers the meta-learners see in
    :func:`~maml_theory.numerics.representation.simulate.simulate` with ``sampler="naive"`` on the stream
    ``rng``: the problem first (:func:`~.instances.draw_problem`, or the shared ``problem``, which draws
    nothing), then per round :func:`~.instances.draw_round` (heads, X_in, z_in, X_out, z_out).
    """
    if not inst.finite:
        raise v.ParameterError("m_in", "an integer >= 1 (the baselines take samples)", None)
    rounds = v.integer("rounds", rounds, low=1)
    if problem is None:
        problem = draw_problem(inst, rng)
    n, m_in, d = inst.n, inst.m_in, inst.d
    m = m_in + inst.m_out
    X = np.empty((rounds, n, m, d))
    y = np.empty((rounds, n, m))
    for t in range(rounds):
        _, batches = draw_round(inst, rng, problem.B_star, problem.heads)
        X[t, :, :m_in], y[t, :, :m_in] = batches.X_in, batches.y_in
        X[t, :, m_in:], y[t, :, m_in:] = batches.X_out, batches.y_out
    return problem.B_star, X.reshape(rounds * n, m, d), y.reshape(rounds * n, m)


META = ("anil", "fo-anil", "maml", "fo-maml")
"""The meta-learners compared with the baselines (spec R §2; NAL, which learns no representation, is not)."""

METHODS = (*META, *ESTIMATORS)

THRESHOLDS = (0.1, 0.01)
"""The accuracies whose sample cost is reported: the smallest budget whose median dist is at most each."""


def check_budgets(inst: Instance, budgets: Sequence[object]) -> list[int]:
    """``budgets`` as strictly increasing integers, each paying for at least one round (n(m_in + m_out)
    samples) and at most the T rounds of ``inst`` (T·n(m_in + m_out)); else :class:`ParameterError`."""
    if not inst.finite:
        raise v.ParameterError("m_in", "an integer >= 1, with --m-out: the baselines take samples", None)
    per_round = inst.n * (inst.m_in + inst.m_out)
    supply = inst.T * per_round
    allowed = (
        f"strictly increasing integers from n(m_in + m_out) = {per_round} (one round) to "
        f"T·n(m_in + m_out) = {supply} (the T = {inst.T} rounds)"
    )
    if supply < per_round or not budgets:
        raise v.ParameterError("budgets", allowed, budgets)
    out = [v.integer("budgets", b, low=per_round, high=supply, allowed=allowed) for b in budgets]
    if any(b >= c for b, c in itertools.pairwise(out)):
        raise v.ParameterError("budgets", allowed, budgets)
    return out


def _cost(sizes: Mapping[str, int], count: int) -> tuple[float, float]:
    """(bytes, seconds) of :func:`compare` at ``sizes`` (d, k, n, m_in, m_out, runs and the largest budget
    ``budgets``) with ``count`` budgets: the four meta-learners' naive runs (a round's batches and the
    records, :data:`~.dynamics.RECORD_BYTES`; the measured per-number time of a naive round), then per run
    the pooled data of the largest budget, (d + 1) floats a sample, and the estimators on it (:func:`cost`)
    at every budget, counted at the largest."""
    d, k, n, R = sizes["d"], sizes["k"], sizes["n"], sizes["runs"]
    m = sizes["m_in"] + sizes["m_out"]
    rounds = sizes["budgets"] // (n * m)
    numbers = n * m * (d + 1)
    memory = 8.0 * 3 * R * numbers + (rounds + 1) * dynamics.RECORD_BYTES[0] * R
    seconds = len(META) * rounds * R * (dynamics.STEP_SECONDS + dynamics.SAMPLE_SECONDS * numbers)
    data = 8.0 * rounds * numbers
    fit_memory, fit_seconds = cost(rounds * n, m, d, k)
    memory += data + fit_memory
    seconds += R * (rounds * numbers * dynamics.SAMPLE_SECONDS + count * fit_seconds)
    return memory, seconds


def compare(
    inst: Instance,
    budgets: Sequence[object],
    *,
    seed: int = 0,
    runs: int = 1,
    arrays: Mapping[str, ArrayLike] | None = None,
) -> dict:
    """dist(B̂, B_*) against the samples used, for the four meta-learners (:data:`META`) and the three
    baselines (:data:`ESTIMATORS`) on the same draws.

    A budget of N samples pays for N // (n(m_in + m_out)) rounds: the meta-learners' dist after that many
    rounds of :func:`~.simulate.simulate` (naive sampler), and the baselines' estimate from those rounds'
    samples pooled (:func:`pooled_data`: the same numbers, stream by stream). Runs r = 0..R−1 use the streams
    ``default_rng(seed).spawn(runs)``, fresh for every method, so every method sees run r's data. ``arrays``:
    a shared problem as for :func:`~.dynamics.run` (``inst.init`` "given", fixed task set).

    Returns a JSON-ready dict: ``budgets``, ``rounds`` and ``samples_used`` (rounds · n(m_in + m_out)) per
    budget, and per method ``dist``, a list of {samples, dist_median, dist_p10, dist_p90} over the runs (a
    diverged run counts as +∞: "inf" in JSON), ``samples_to_0.1`` and ``samples_to_0.01`` (the smallest
    budget whose median is at most the threshold, None if none), and ``diverged``, a list of
    {run, samples, step} for each run that diverged (a meta-learner's outer step, the factored descent's
    iteration), from the first budget it touches.
    """
    seed = v.integer("seed", seed, low=0)
    runs = v.integer("runs", runs, low=1)
    budgets = check_budgets(inst, budgets)
    sizes = {"d": inst.d, "k": inst.k, "n": inst.n, "m_in": inst.m_in, "m_out": inst.m_out}
    sizes.update(runs=runs, budgets=budgets[-1])
    typical = {"d": 20, "k": 3, "n": 20, "m_in": 20, "m_out": 20, "runs": 1, "budgets": 8000}
    v.within_budget(sizes, typical, lambda s: _cost(s, len(budgets)))
    per_round = inst.n * (inst.m_in + inst.m_out)
    rounds = np.array([b // per_round for b in budgets])
    run_inst = dataclasses.replace(inst, T=int(rounds[-1]))

    def streams() -> list[np.random.Generator]:
        return np.random.default_rng(seed).spawn(runs)

    problem = None if arrays is None else draw_problem(run_inst, streams()[0], arrays)
    values = {name: np.empty((runs, len(budgets))) for name in METHODS}
    diverged: dict[str, list[dict]] = {name: [] for name in METHODS}
    for method in META:
        traj = simulate(method, run_inst, streams(), problem=problem, sampler="naive")
        at = traj.diverged_at[:, None]
        gone = (at >= 0) & (rounds[None, :] >= at)
        values[method][:] = np.where(gone, np.inf, traj.dist[:, rounds])
        for r in np.flatnonzero(gone.any(axis=1)):
            first = budgets[int(np.argmax(gone[r]))]
            diverged[method].append({"run": int(r), "samples": first, "step": int(at[r, 0])})
    for r, stream in enumerate(streams()):
        B_star, X, y = pooled_data(run_inst, stream, int(rounds[-1]), problem)
        for name, estimate in ESTIMATORS.items():
            for b, tasks in enumerate(rounds * inst.n):
                try:
                    values[name][r, b] = dist(estimate(X[:tasks], y[:tasks], inst.k), B_star)
                except Diverged as e:
                    values[name][r, b] = np.inf
                    diverged[name].append({"run": r, "samples": budgets[b], "step": e.step})
    out = {
        "budgets": budgets,
        "rounds": rounds.tolist(),
        "samples_used": (rounds * per_round).tolist(),
        "runs": runs,
        "seed": seed,
        "methods": {},
    }
    for name in METHODS:
        q = dynamics.quantiles(values[name])
        entry: dict = {
            "dist": [
                {"samples": budgets[b], **{f"dist_{p}": _number(q[i, b]) for i, p in enumerate(_BANDS)}}
                for b in range(len(budgets))
            ]
        }
        for threshold in THRESHOLDS:
            reached = [budgets[b] for b in range(len(budgets)) if q[0, b] <= threshold]
            entry[f"samples_to_{threshold:g}"] = reached[0] if reached else None
        entry["diverged"] = diverged[name]
        out["methods"][name] = entry
    return out


_BANDS = ("median", "p10", "p90")


def _number(x: float) -> float | None:
    """A quantile for JSON: None where it does not exist (every run rank deficient), else the float (+∞ for
    diverged runs, written "inf")."""
    return None if np.isnan(x) else float(x)
