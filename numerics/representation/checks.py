"""Spec R's claims on numbers: boxes of small instances and the observables the simulator gives on them.

Every observable comes from :func:`maml_theory.numerics.representation.simulate.simulate` (or its one-step
``step``) on a fixed task set drawn from the instance's seed; no closed form is used. Dimensions are small (d
≤ 11, k ≤ 3) so that hundreds of runs fit in seconds; the claims are dimension-free statements, and the tests
check larger instances separately.

- ``R.contraction``: one FO-ANIL step at w = 0 from a random B, β set by c = βα²λ_max(AᵀΛA) ∈ [0.01, 1].
- ``R.rate``: the per-step factor dist_t/dist_{t−1} once dist has fallen below 1e-9, from a start on the
  slowest eigen-direction of Λ (principal angle 1e-4 along v_min(Λ), αB_0ᵀB_0 = I), so that the limit is
  reached without waiting for faster modes to die out; β from h = βαλ_max(Λ) ∈ [0.05, 0.5]; any of the four
  meta-learners, exact MAML and FO-MAML on the sign-symmetric set θ_1, −θ_1, …, θ_n, −θ_n of the n drawn
  heads (the claim's scope; :func:`rate_of` runs any method on either set).
- ``R.theorem.*`` (spec R §5, reconstructed): a start with αB_0ᵀB_0 = I_k and dist(B_0, B_*) = dist_0 (largest
  principal angle arcsin dist_0, the others uniform below it), w_0 = 0, β = c·αE_0/κ_*; T = 300 population
  steps; the observable is dist_T at the step T ≥ 1 where dist_T over the bound is largest, among the steps
  where the bound is above 1e-10 (below that, dist is float64 round-off and says nothing about the claim).
- ``R.route.<method>``: two of the routes, the simulator's hand-derived batched meta-gradient
  (:func:`~maml_theory.numerics.representation.simulate.meta_gradient`) and the autograd oracle's
  (:func:`~maml_theory.numerics.representation.oracle.meta_gradient`), which share no gradient code, at a
  generic point (random B, w ≠ 0; population loss or a finite-sample round): their largest entrywise
  difference relative to the oracle's largest entry. Round-off: a few hundred operations on entries of order
  one, so 1e-9 leaves a margin of 10⁴ over float64's 1e-16 (measured: below 1e-13).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

import maml_theory.theory.representation.claims  # noqa: F401  (registers the claims bound here)
from maml_theory.numerics.representation import oracle
from maml_theory.numerics.representation.instances import (
    METHODS,
    Batches,
    Instance,
    draw_problem,
    draw_round,
    haar_frame,
)
from maml_theory.numerics.representation.simulate import meta_gradient, simulate, step
from maml_theory.numerics.verification.checks import Check, Diverged, bind, claim, residual_claim
from maml_theory.numerics.verification.space import Param, Space
from maml_theory.theory.claims import registered

META = ("anil", "fo-anil", "maml", "fo-maml")
THEOREM_STEPS = 300
BOUND_FLOOR = 1e-10
RATE_START = 1e-4
RATE_END = 1e-9
RATE_MAX_STEPS = 3000
RATE_SEARCH = 60
"""Worst-case evaluations for R.rate: each is a run of up to 3000 steps."""
THEOREM_SEARCH = 60
"""Worst-case evaluations for a theorem claim: each is a 300-step run, and the slack's maximum sits at T = 1
(dist_1 ≈ dist_0 against a bound of 1), which the random draws find already."""


SEED = Param("seed", 0, 2**31 - 1, integer=True, fixed=True)
"""Every instance's draws (B_*, heads, B_0) come from its seed, which searches hold fixed."""


def _shape(values: Mapping[str, float]) -> dict[str, float]:
    return {"d": values["k"] + values["d_extra"], "n": values["k"] + values["n_extra"]}


def _frame(rng: np.random.Generator, d: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(B_*, B_⊥): a Haar-random orthonormal basis of R^d split after k columns."""
    q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    return q[:, :k], q[:, k:]


def _task_set(params: Mapping[str, float]) -> tuple[np.random.Generator, int, int, int, np.ndarray]:
    rng = np.random.default_rng(int(params["seed"]))
    d, k, n = int(params["d"]), int(params["k"]), int(params["n"])
    return rng, d, k, n, rng.standard_normal((n, k))


def _moments(heads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of Λ = (1/n) Σ θ_iθ_iᵀ."""
    return np.linalg.eigh(heads.T @ heads / heads.shape[0])


def _start(
    B_star: np.ndarray, B_perp: np.ndarray, sines: np.ndarray, Q: np.ndarray, V: np.ndarray, alpha: float
) -> np.ndarray:
    """B_0 = (B_*Q cos Θ + B_⊥[:, :k] sin Θ)QᵀV/√α: principal angles arcsin(sines) to col(B_*), tilted
    along the columns of the orthogonal Q (at most d − k sines non-zero), V orthogonal; αB_0ᵀB_0 = I."""
    k = B_star.shape[1]
    lift = np.zeros_like(B_star)
    j = min(k, B_perp.shape[1])
    lift[:, :j] = B_perp[:, :j] * sines[:j]
    return (B_star @ Q * np.sqrt(1 - sines**2) + lift) @ Q.T @ V / math.sqrt(alpha)


def run(
    method: str, alpha: float, beta: float, T: int, B_star: np.ndarray, B0: np.ndarray, heads: np.ndarray
) -> np.ndarray:
    """dist(B_t, B_*), t = 0..T, of a population run on the fixed task set ``heads`` from (B0, w_0 = 0)."""
    d, k = B0.shape
    inst = Instance(d=d, k=k, n=heads.shape[0], alpha=alpha, beta=beta, T=T, fixed_tasks=True, init="given")
    rng = np.random.default_rng(0)  # population dynamics on a given problem draw nothing
    given = {"B_star": B_star, "B0": B0, "w0": np.zeros(k), "heads": heads}
    traj = simulate(method, inst, rng, problem=draw_problem(inst, rng, given))
    if traj.diverged[0]:
        raise Diverged(int(traj.diverged_at[0]))
    return traj.dist[0]


CONTRACTION = Space(
    (
        Param("k", 1, 3, integer=True),
        Param("d_extra", 1, 6, integer=True),
        Param("n", 1, 8, integer=True),
        Param("alpha", 0.05, 1.0, log=True),
        Param("c", 0.01, 1.0, log=True),
        SEED,
    ),
    derive=lambda v: {"d": v["k"] + v["d_extra"]},
)


def contraction(params: Mapping[str, float]) -> dict[str, float]:
    """‖E‖₂ and ‖E⁺‖₂ (E = B_⊥ᵀB) around one FO-ANIL step at w = 0, and λ_min, λ_max of AᵀΛA (A = B_*ᵀB)."""
    rng, d, k, n, heads = _task_set(params)
    alpha = params["alpha"]
    B_star, B_perp = _frame(rng, d, k)
    B = rng.standard_normal((d, k)) / math.sqrt(alpha * d)
    A = B_star.T @ B
    lam = np.linalg.eigvalsh(A.T @ (heads.T @ heads / n) @ A)
    beta = params["c"] / (alpha**2 * lam[-1])
    B_next, _ = step("fo-anil", B, np.zeros(k), B_star, heads, alpha, beta)
    return {
        "E_norm": float(np.linalg.norm(B_perp.T @ B, 2)),
        "E_next_norm": float(np.linalg.norm(B_perp.T @ B_next, 2)),
        "lambda_min": float(lam[0]),
        "lambda_max": float(lam[-1]),
        "beta": beta,
    }


def _task_params(n_extra_low: int) -> tuple[Param, ...]:
    """k ≤ 3, d = k + 1..8, n = k + n_extra_low..10 fixed tasks, α ∈ [0.05, 1] (log scale)."""
    return (
        Param("k", 1, 3, integer=True),
        Param("d_extra", 1, 8, integer=True),
        Param("n_extra", n_extra_low, 10, integer=True),
        Param("alpha", 0.05, 1.0, log=True),
    )


RATE = Space(
    (
        Param("method", 0, len(META) - 1, integer=True),
        *_task_params(1),
        Param("h", 0.05, 0.5),
        SEED,
    ),
    derive=_shape,
)


def rate(params: Mapping[str, float]) -> dict[str, float]:
    """R.rate's observables at an instance of :data:`RATE`: :func:`rate_of` its method, on the sign-symmetric
    set for exact MAML and FO-MAML."""
    method = META[int(params["method"])]
    return rate_of(method, params, sign_symmetric=method in ("maml", "fo-maml"))


def rate_of(method: str, params: Mapping[str, float], *, sign_symmetric: bool) -> dict[str, float]:
    """The observed per-step factor at the end of a run of ``method`` started on Λ's slowest direction (module
    docstring), on the instance's n heads or, ``sign_symmetric``, on those and their negatives (2n tasks, the
    same Λ)."""
    rng, d, k, _, heads = _task_set(params)
    if sign_symmetric:
        heads = np.stack([heads, -heads], axis=1).reshape(-1, k)
    alpha = params["alpha"]
    B_star, B_perp = _frame(rng, d, k)
    lam, vec = _moments(heads)  # vec[:, 0]: Λ's slowest direction
    sines = np.zeros(k)
    sines[0] = RATE_START
    V = np.linalg.qr(rng.standard_normal((k, k)))[0]
    B0 = _start(B_star, B_perp, sines, vec, V, alpha)
    beta = params["h"] / (alpha * lam[-1])
    T = min(RATE_MAX_STEPS, math.ceil(math.log(RATE_START / RATE_END) / (beta * alpha * lam[0])) + 1)
    dist = run(method, alpha, beta, T, B_star, B0, heads)
    t = max(1, int(np.flatnonzero(dist > RATE_END)[-1]))
    return {"rate": float(dist[t] / dist[t - 1]), "lambda_min": float(lam[0]), "beta": beta}


THEOREM = Space(
    (
        *_task_params(0),
        Param("c", 0.01, 0.25, log=True),
        Param("dist_0", 0.05, 0.94),
        SEED,
    ),
    derive=_shape,
)


def theorem(method: str):
    (claim,) = registered(f"R.theorem.{method}")

    def observe(params: Mapping[str, float]) -> dict[str, float]:
        """dist_T where it comes closest to (1 − ½βαE_0µ_*²)^{T−1} (module docstring)."""
        rng, d, k, _, heads = _task_set(params)
        alpha, dist_0 = params["alpha"], params["dist_0"]
        B_star, B_perp = _frame(rng, d, k)
        # Principal angles θ_1 = arcsin dist_0 ≥ θ_2 ≥ … (as many as the complement has room for).
        j = min(k, d - k)
        sines = np.zeros(k)
        sines[0] = dist_0
        sines[1:j] = dist_0 * rng.random(j - 1)
        V = np.linalg.qr(rng.standard_normal((k, k)))[0]
        B0 = _start(B_star, B_perp, sines, np.eye(k), V, alpha)
        lam, _ = _moments(heads)
        E_0 = 0.9 - dist_0**2
        kappa = math.sqrt(lam[-1] / lam[0])
        beta = params["c"] * alpha * E_0 / kappa
        dist = run(method, alpha, beta, THEOREM_STEPS, B_star, B0, heads)
        T = np.arange(1, THEOREM_STEPS + 1)
        bound = claim.bound({"T": T, "E_0": E_0, "mu_star_sq": lam[0], "alpha": alpha, "beta": beta})
        ratio = np.where(bound > BOUND_FLOOR, dist[1:] / bound, -np.inf)
        i = int(np.argmax(ratio))
        return {
            "dist_T": float(dist[i + 1]),
            "T": float(T[i]),
            "E_0": E_0,
            "mu_star_sq": float(lam[0]),
            "kappa_star": kappa,
            "beta": beta,
        }

    return observe


ROUTE = Space(
    (
        SEED,
        Param("k", 1, 3, integer=True),
        Param("d_extra", 0, 3, integer=True),
        Param("n", 1, 5, integer=True),
        Param("m_in", 0, 6, integer=True),
        Param("m_out", 1, 6, integer=True),
        Param("alpha", 0.01, 1.0, log=True),
        Param("sigma", 0.0, 0.3),
    ),
    derive=lambda v: {"d": v["k"] + v["d_extra"]},
)
"""Generic small rounds for the route claims; m_in = 0 is the population loss."""


def route_residual(method: str) -> Callable[[Mapping[str, float]], dict[str, float]]:
    """The simulator's meta-gradient against the oracle's at one round drawn from the instance's seed:
    max |G_sim − G_oracle| over the entries of G_B and G_w, over max(1, max |G_oracle|)."""

    def observe(params: Mapping[str, float]) -> dict[str, float]:
        rng = np.random.default_rng(int(params["seed"]))
        d, k, n, m_in = (int(params[name]) for name in ("d", "k", "n", "m_in"))
        finite = m_in > 0
        inst = Instance(
            d=d,
            k=k,
            n=n,
            m_in=m_in if finite else None,
            m_out=int(params["m_out"]) if finite else None,
            sigma=params["sigma"],
            mu=0.7,
            head_mean=np.ones(k),  # θ̄ ≠ 0: the heads leave zero, every term of the gradients counts
        )
        B_star = haar_frame(rng, d, k, (1,))
        B, w = rng.standard_normal((1, d, k)), rng.standard_normal((1, k))
        heads, data = draw_round(inst, rng.spawn(1), B_star)
        got = meta_gradient(method, B, w, B_star, heads, params["alpha"], data)
        one = None if data is None else Batches(data.X_in[0], data.y_in[0], data.X_out[0], data.y_out[0])
        want = oracle.meta_gradient(method, B[0], w[0], B_star[0], heads[0], params["alpha"], one)
        scale = max(1.0, *(float(np.max(np.abs(x))) for x in want))
        gap = max(float(np.max(np.abs(g[0] - x))) for g, x in zip(got, want, strict=True))
        return {"residual": gap / scale}

    return observe


def _register_routes() -> None:
    """One route claim per method: the simulator's meta-gradient is the autograd oracle's."""
    for method in METHODS:
        claim(
            residual_claim(
                f"R.route.{method}",
                f"{method}: the simulator's meta-gradient is the autograd oracle's",
                "spec R §2 (two independent routes to the same gradient)",
                "residual: the largest entrywise difference of (G_B, G_w), simulator against oracle, over "
                "max(1, largest oracle entry), at a generic point (w ≠ 0, θ̄ ≠ 0), population or "
                "finite-sample",
            ),
            ROUTE,
            route_residual(method),
        )


def _bind_all() -> None:
    _register_routes()
    claims = {c.id: c for c in registered("R.")}
    bind(Check(claims["R.contraction"], CONTRACTION, contraction))
    bind(Check(claims["R.rate"], RATE, rate, search_budget=RATE_SEARCH))
    for method in META:
        bind(
            Check(
                claims[f"R.theorem.{method}"],
                THEOREM,
                theorem(method),
                boundary={"c": 16.0},
                search_budget=THEOREM_SEARCH,
            )
        )


_bind_all()
