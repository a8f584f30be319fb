"""The baselines (numerics/representation/baselines.py), the method of moments' derived expectation and
``maml-theory baselines``: recovery, per-task loop references, the same draws as the meta-learners, the
command's JSON and its one-line refusals."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import sympy as sp

from maml_theory.numerics.representation import baseline_checks as checks
from maml_theory.numerics.representation import baselines as bl
from maml_theory.numerics.representation.distance import dist
from maml_theory.numerics.representation.instances import Batches, Instance, draw_problem
from maml_theory.numerics.representation.simulate import simulate, step
from maml_theory.numerics.validation import ParameterError
from maml_theory.reports.cli import main
from maml_theory.reports.figures.common import METHOD_LABELS
from maml_theory.theory.claims import registered
from maml_theory.theory.representation import baselines as derived
from tests.tolerances import Z


def _clean(seed: int, T: int, m: int, d: int, k: int, sigma: float = 0.0):
    """(B_*, heads, X, y) with y = X B_*θ_t + σz, heads θ_t ~ N(0, I_k)."""
    rng = np.random.default_rng(seed)
    B_star = np.linalg.qr(rng.standard_normal((d, k)))[0]
    heads = rng.standard_normal((T, k))
    X = rng.standard_normal((T, m, d))
    y = (X @ (heads @ B_star.T)[..., None])[..., 0] + sigma * rng.standard_normal((T, m))
    return B_star, heads, X, y


def _projector(B: np.ndarray) -> np.ndarray:
    return B @ B.T


# --- recovery -----------------------------------------------------------------------------------------------


def test_method_of_moments_is_within_its_davis_kahan_bound():
    """dist(B̂, B_*) ≤ 2‖M̂ − M‖₂ / gap (Yu, Wang & Samworth 2015, Thm 2), with M = E[M̂ | heads] =
    (mean ‖θ_t‖² + σ²) I + 2B_*Λ̂B_*ᵀ (claim R.baselines.mom, Λ̂ the heads' second moment) and gap = 2λ_min(Λ̂),
    the gap between its k-th and (k+1)-th eigenvalues; and that bound is small on a large sample."""
    d, k, sigma = 8, 2, 0.3
    B_star, heads, X, y = _clean(0, 4000, 10, d, k, sigma)
    lam = heads.T @ heads / len(heads)
    M = (np.trace(lam) + sigma**2) * np.eye(d) + 2 * B_star @ lam @ B_star.T
    N = y.size
    M_hat = np.einsum("j,jp,jq->pq", y.ravel() ** 2, X.reshape(N, d), X.reshape(N, d)) / N
    bound = 2 * np.linalg.norm(M_hat - M, 2) / (2 * np.linalg.eigvalsh(lam)[0])
    got = dist(bl.method_of_moments(X, y, k), B_star)
    assert got <= bound < 0.3


@pytest.mark.parametrize("seed", [0, 1])
def test_iterative_baselines_recover_b_star_from_clean_data(seed):
    """σ = 0: B_* is the exact minimiser, so what is left after the fixed iterations is the optimiser's. From
    the method of moments' start, an alternation shrinks dist about 7-fold at these sizes (10 of them: below
    1e-8 of the start; measured 2e-9 from 0.13) and a descent step by about 0.8 (40 of them: below 1e-2 of the
    start; measured 5e-4 to 8e-4)."""
    inst = Instance(d=10, k=3, n=50, m_in=10, m_out=10, init="random")
    B_star, X, y = bl.pooled_data(inst, np.random.default_rng(seed), 20)
    start = dist(bl.method_of_moments(X, y, 3), B_star)
    assert 0.01 < start < 0.5
    assert dist(bl.alternating_minimisation(X, y, 3), B_star) < 1e-6 * start
    assert dist(bl.factored_gradient_descent(X, y, 3), B_star) < 1e-2 * start


@pytest.mark.parametrize("name", list(bl.ESTIMATORS))
def test_estimates_have_orthonormal_columns(name):
    _, _, X, y = _clean(3, 30, 4, 6, 2, 0.5)
    B = bl.ESTIMATORS[name](X, y, 2)
    assert B.shape == (6, 2)
    assert np.max(np.abs(B.T @ B - np.eye(2))) < 1e-14


def test_no_signal_leaves_the_methods_start():
    """y ≡ 0: every head is zero, so the factored descent has nothing to descend and returns its start."""
    _, _, X, _ = _clean(4, 10, 5, 4, 2)
    y = np.zeros(X.shape[:2])
    for estimate in bl.ESTIMATORS.values():
        B = estimate(X, y, 2)
        assert np.all(np.isfinite(B)) and np.max(np.abs(B.T @ B - np.eye(2))) < 1e-14


# --- vectorised = per-task loops ----------------------------------------------------------------------------


def _mom_loop(X, y, k):
    T, m, d = X.shape
    M = np.zeros((d, d))
    for t in range(T):
        for j in range(m):
            M += y[t, j] ** 2 * np.outer(X[t, j], X[t, j])
    return np.linalg.eigh(M / (T * m))[1][:, -k:]


def _heads_loop(X, y, B):
    return np.array([np.linalg.lstsq(X[t] @ B, y[t], rcond=None)[0] for t in range(len(X))])


def _altmin_loop(X, y, k):
    T, _, d = X.shape
    B = bl.method_of_moments(X, y, k)
    for _ in range(bl.ALTMIN_ITERATIONS):
        W = _heads_loop(X, y, B)
        H = np.zeros((d * k, d * k))
        rhs = np.zeros(d * k)
        for t in range(T):
            H += np.kron(X[t].T @ X[t], np.outer(W[t], W[t]))
            rhs += np.kron(X[t].T @ y[t], W[t])
        B = np.linalg.qr(np.linalg.solve(H, rhs).reshape(d, k))[0]
    return B


def _bm_loop(X, y, k):
    T, m, _ = X.shape
    N = T * m
    B0 = bl.method_of_moments(X, y, k)
    W = _heads_loop(X, y, B0)
    P, s, Rt = np.linalg.svd(W / math.sqrt(T), full_matrices=False)
    B, W = B0 @ Rt.T @ np.diag(np.sqrt(s)), P @ np.diag(np.sqrt(s)) * math.sqrt(T)
    ell = [np.linalg.eigvalsh(B0.T @ X[t].T @ X[t] @ B0)[-1] * s[0] / m for t in range(T)]
    for _ in range(bl.BM_ITERATIONS):
        D = B.T @ B - W.T @ W / T
        grad_B = 0.5 * B @ D
        grad_W = np.empty_like(W)
        for t in range(T):
            g = X[t].T @ (X[t] @ B @ W[t] - y[t])
            grad_B = grad_B + np.outer(g, W[t]) / N
            grad_W[t] = (T / N) * B.T @ g - 0.5 * D @ W[t]
        B, W = B - bl.BM_STEP / s[0] * grad_B, W - (bl.BM_STEP / np.maximum(ell, s[0]))[:, None] * grad_W
    return np.linalg.qr(B)[0]


@pytest.mark.parametrize(
    ("name", "reference"),
    [("mom", _mom_loop), ("altmin", _altmin_loop), ("bm", _bm_loop)],
)
def test_vectorised_estimators_equal_per_task_loops(name, reference):
    """On a tiny case (6 tasks of 7 samples, d = 5, k = 2, well posed: each task has m ≥ k and H is
    invertible), the batched estimator and a loop over tasks and samples span the same space to 1e-12."""
    _, _, X, y = _clean(5, 6, 7, 5, 2, 0.2)
    got, want = bl.ESTIMATORS[name](X, y, 2), reference(X, y, 2)
    assert np.max(np.abs(_projector(got) - _projector(want))) < 1e-12


def test_bad_data_is_refused_naming_it():
    X = np.ones((2, 3, 4))
    with pytest.raises(ParameterError, match=r"^X "):
        bl.method_of_moments(X[0], np.ones((2, 3)), 1)
    with pytest.raises(ParameterError, match=r"^y "):
        bl.method_of_moments(X, np.ones((2, 4)), 1)
    with pytest.raises(ParameterError, match=r"^k "):
        bl.alternating_minimisation(X, np.ones((2, 3)), 5)
    with pytest.raises(ParameterError, match=r"^X "):
        bl.factored_gradient_descent(np.full((2, 3, 4), np.nan), np.ones((2, 3)), 1)


def test_a_blown_up_descent_is_reported_with_its_step(monkeypatch):
    monkeypatch.setattr(bl, "BM_STEP", 50.0)
    _, _, X, y = _clean(6, 40, 6, 5, 2)
    with pytest.raises(bl.Diverged) as info:
        bl.factored_gradient_descent(X, y, 2)
    assert 1 <= info.value.step <= bl.BM_ITERATIONS


# --- the same draws -----------------------------------------------------------------------------------------


def test_pooled_data_are_the_meta_learners_draws():
    """Replaying run 1's pooled samples through simulate.step (the arithmetic of simulate's rounds) gives
    simulate's naive-sampler dist curve bit for bit, so the baselines see the meta-learners' numbers."""
    inst = Instance(d=6, k=2, n=3, m_in=2, m_out=3, sigma=0.4, beta=0.2, T=5)
    traj = simulate("fo-anil", inst, np.random.default_rng(9).spawn(2), sampler="naive")
    assert not traj.diverged.any()
    stream = np.random.default_rng(9).spawn(2)[1]
    problem = draw_problem(inst, copy.deepcopy(stream))
    B_star, X, y = bl.pooled_data(inst, stream, inst.T)
    assert np.array_equal(B_star, problem.B_star)
    B, w = problem.B0[None], problem.w0[None]
    X, y = X.reshape(inst.T, 1, inst.n, 5, 6), y.reshape(inst.T, 1, inst.n, 5)
    curve = [dist(B[0], B_star)]
    for t in range(inst.T):
        data = Batches(X[t, ..., :2, :], y[t, ..., :2], X[t, ..., 2:, :], y[t, ..., 2:])
        heads = np.zeros((1, inst.n, inst.k))  # given batches, the step reads the heads' count only
        B, w = step("fo-anil", B, w, B_star[None], heads, inst.alpha, inst.beta, data)
        curve.append(dist(B[0], B_star))
    assert np.array_equal(np.array(curve), traj.dist[1])


def test_pooled_data_need_samples():
    with pytest.raises(ParameterError, match=r"^m_in "):
        bl.pooled_data(Instance(), np.random.default_rng(0), 1)


# --- the method of moments' expectation ---------------------------------------------------------------------


def test_mom_expectation_is_derived_checked_and_proved():
    dv = derived.mom_expectation()
    checks_ = dv.checks()
    assert [c.kind for c in checks_] == [
        "definition",
        "rational points",
        "rational points",
        "rational points",
    ]
    assert all(c.ok for c in checks_)
    (claim,) = registered("R.baselines.mom")
    assert claim.provenance == "derived" and claim.prove().proved


def test_a_wrong_mom_expectation_fails_its_proof_and_its_step_check():
    dv = derived.mom_expectation()
    wrong = dv.result + sp.Rational(1, 7) * sp.MatrixSymbol("Perturbation", *dv.result.shape)
    bad = type(dv)(dv.id, dv.title, dv.source, [*dv.steps[:-1]], dv.points)
    bad.step(dv.steps[-1].note, wrong, dv.steps[-1].lhs, dv.steps[-1].by)
    assert not bad.checks()[-1].ok
    from maml_theory.theory.representation.claims import same

    assert not same(dv.result.xreplace({sp.Integer(2): sp.Integer(1)}), dv.result)


PARAMS = {"seed": 3, "k": 3, "d_extra": 2, "d": 5, "sigma": 0.5, "mu": 0.7}


def test_mom_monte_carlo_is_within_z_standard_errors():
    assert checks.mom_score(PARAMS)["z"] <= Z


def test_mom_monte_carlo_sees_a_wrong_factor(monkeypatch):
    """With 2B_*ΛB_*ᵀ replaced by B_*ΛB_*ᵀ the Monte Carlo is many standard errors away."""
    right = checks._mom_expectation()

    def wrong(B_star, lam, sigma, eye):
        return right(B_star, lam, sigma, eye) - B_star @ lam @ B_star.T

    monkeypatch.setattr(checks, "_mom_expectation", lambda: wrong)
    assert checks.mom_score(PARAMS)["z"] > 2 * Z


# --- the command --------------------------------------------------------------------------------------------

SMALL = ["--d", "6", "--k", "2", "--n", "5", "--m-in", "4", "--m-out", "4", "--T", "20", "--sigma", "0.3"]
SMALL += ["--beta", "0.5", "--runs", "3"]


def _json(capsys, *argv: str) -> dict:
    assert main(["baselines", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_every_method_with_its_curve_and_sample_costs(capsys):
    data = _json(capsys, *SMALL, "--budgets", "40,400,800")
    assert data["budgets"] == [40, 400, 800] and data["rounds"] == [1, 10, 20]
    assert list(data["methods"]) == [*bl.META, *bl.ESTIMATORS]
    for entry in data["methods"].values():
        assert set(entry) == {"dist", "samples_to_0.1", "samples_to_0.01", "diverged"}
        assert [p["samples"] for p in entry["dist"]] == [40, 400, 800]
        for p in entry["dist"]:
            assert set(p) == {"samples", "dist_median", "dist_p10", "dist_p90"}
            band = [p["dist_p10"], p["dist_median"], p["dist_p90"]]
            band = [math.inf if x == "inf" else x for x in band]  # a diverged run counts as +∞
            assert 0 <= band[0] <= band[1] <= band[2] and band[0] <= 1
        for t in (0.1, 0.01):
            reached = [p["samples"] for p in entry["dist"] if p["dist_median"] <= t]
            assert entry[f"samples_to_{t:g}"] == (reached[0] if reached else None)
    assert data["methods"]["altmin"]["samples_to_0.1"] is not None


def test_a_budget_between_rounds_pays_for_whole_rounds(capsys):
    data = _json(capsys, *SMALL, "--budgets", "79,81")
    assert data["rounds"] == [1, 2] and data["samples_used"] == [40, 80]


def test_same_seed_same_bits_and_another_seed_other_numbers(capsys):
    a = _json(capsys, *SMALL, "--budgets", "40,400")
    assert _json(capsys, *SMALL, "--budgets", "40,400") == a
    assert _json(capsys, *SMALL, "--budgets", "40,400", "--seed", "1") != a


def test_a_diverged_baseline_is_reported_not_averaged(capsys, monkeypatch):
    monkeypatch.setattr(bl, "BM_STEP", 50.0)
    data = _json(capsys, *SMALL, "--budgets", "400")
    entry = data["methods"]["bm"]
    assert entry["dist"][0]["dist_median"] == "inf" and entry["samples_to_0.1"] is None
    assert [d["run"] for d in entry["diverged"]] == [0, 1, 2]
    assert all(1 <= d["step"] <= bl.BM_ITERATIONS and d["samples"] == 400 for d in entry["diverged"])


def test_text_table_names_every_method(capsys):
    assert main(["baselines", *SMALL, "--budgets", "40,400"]) == 0
    out = capsys.readouterr().out
    for name in bl.METHODS:
        assert f"  {METHOD_LABELS[name]}  " in out


def _one_line_error(capsys, argv: list[str]) -> str:
    assert main(["baselines", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("maml-theory: error: --")
    return err


@pytest.mark.parametrize(
    "budgets",
    [
        "400,40",  # not increasing
        "40,40",  # not strictly increasing
        "40,801",  # beyond T·n(m_in + m_out) = 800
        "0",  # zero
        "39",  # less than one round
        "40,abc",
        "",
    ],
)
def test_bad_budgets_get_one_line_and_exit_2(capsys, budgets):
    err = _one_line_error(capsys, [*SMALL, "--budgets", budgets])
    assert err.startswith("maml-theory: error: --budgets must be strictly increasing integers from")


def test_the_population_is_refused(capsys):
    population = ["--d", "6", "--k", "2", "--n", "5", "--T", "20"]
    err = _one_line_error(capsys, [*population, "--budgets", "40"])
    assert err.startswith("maml-theory: error: --m-in must be")


def test_sizes_that_cannot_fit_are_refused_with_the_number(capsys):
    argv = ["--d", "100", "--k", "5", "--init", "random", "--n", "100", "--m-in", "50", "--m-out", "50"]
    assert main(["baselines", *argv, "--T", "100000", "--budgets", "1000000000"]) == 2
    err = capsys.readouterr().err
    assert "--budgets must be at most" in err and "GiB of memory" in err and err.count("\n") == 1


def test_fewer_tasks_than_k_still_give_a_d_by_k_estimate():
    # Two tasks' heads span two of k = 3 directions: the factored descent's third column keeps the method of
    # moments' direction (it used to return d×2, which dist refused).
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((2, 4, 20)), rng.standard_normal((2, 4))
    for name, estimate in bl.ESTIMATORS.items():
        B = estimate(X, y, 3)
        assert B.shape == (20, 3), name
        np.testing.assert_allclose(B.T @ B, np.eye(3), atol=1e-12)
