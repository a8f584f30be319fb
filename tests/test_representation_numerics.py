"""Spec R numerics: instance validation, problem draws, the distance, and the simulator's runs."""

import math
from dataclasses import replace

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

from maml_theory.numerics.representation import distance, instances
from maml_theory.numerics.representation import simulate as simulator
from maml_theory.numerics.representation.distance import dist, orthonormal_basis
from maml_theory.numerics.representation.instances import (
    METHODS,
    Instance,
    Problem,
    draw_problem,
    draw_round,
    haar_frame,
)
from maml_theory.numerics.representation.simulate import BLOWUP, simulate
from maml_theory.numerics.validation import ParameterError
from tests.tolerances import Z

# ---------------------------------------------------------------------------------------------- instances


def test_k_above_d_names_k_and_its_range():
    with pytest.raises(ParameterError, match=r"^k must be an integer in \[1, d\] \(d = 20\)") as err:
        Instance(d=20, k=25)
    assert err.value.name == "k"


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": -0.1}, "alpha"),
        ({"alpha": math.nan}, "alpha"),
        ({"beta": 0.0}, "beta"),
        ({"beta": math.inf}, "beta"),
        ({"n": 0}, "n"),
        ({"n": 2.5}, "n"),
        ({"T": -1}, "T"),
        ({"mu": -0.5}, "mu"),
        ({"sigma": math.nan}, "sigma"),
        ({"d": 0}, "d"),
        ({"k": 0}, "k"),
        ({"m_in": 0, "m_out": 5}, "m_in"),
        ({"m_in": 5, "m_out": 0}, "m_out"),
        ({"m_in": 5}, "m_out"),
        ({"m_out": 5}, "m_in"),
        ({"head_mean": [1.0, 2.0]}, "head_mean"),
        ({"head_mean": [1.0, math.nan, 0.0]}, "head_mean"),
        ({"sign_symmetric": True, "n": 5}, "n"),
        ({"sign_symmetric": True, "head_mean": [1.0, 0.0, 0.0]}, "head_mean"),
        ({"fixed_tasks": "yes"}, "fixed_tasks"),
        ({"init": "zeros"}, "init"),
    ],
)
def test_bad_parameter_raises_one_error_naming_it(kwargs, name):
    with pytest.raises(ParameterError) as err:
        Instance(**kwargs)
    assert err.value.name == name
    assert str(err.value).startswith(f"{name} must be ")


def test_bad_method_and_runs_are_named():
    inst = Instance(T=1)
    with pytest.raises(ParameterError, match=r"^method must be one of"):
        simulate("reptile", inst, np.random.default_rng(0))
    with pytest.raises(ParameterError, match=r"^runs must be"):
        simulate("nal", inst, np.random.default_rng(0), runs=0)
    with pytest.raises(ParameterError, match=r"^runs must be"):
        simulate("nal", inst, np.random.default_rng(0).spawn(2), runs=3)


def test_theory_init_meets_the_theory_conditions():
    inst = Instance()
    p = draw_problem(inst, np.random.default_rng(0))
    np.testing.assert_allclose(p.B_star.T @ p.B_star, np.eye(inst.k), atol=1e-14)
    np.testing.assert_allclose(inst.alpha * p.B0.T @ p.B0, np.eye(inst.k), atol=1e-13)
    assert not np.any(p.w0)
    assert dist(p.B0, p.B_star) ** 2 < instances.DIST0_SQ_MAX
    assert p.heads is None


def test_theory_init_that_cannot_be_met_says_so(monkeypatch):
    # At d = 60, k = 5 a random 5-plane essentially never has dist² < 0.9; a small budget keeps this fast.
    monkeypatch.setattr(instances, "THEORY_INIT_DRAWS", 2048)
    with pytest.raises(ParameterError, match=r"^init must be 'random' or given arrays .* at d = 60, k = 5"):
        draw_problem(Instance(d=60, k=5), np.random.default_rng(0))


def test_a_hopeless_theory_init_fails_before_drawing():
    # At d = 2000, k = 3 the acceptance bound is 2e-45, so the rejection sampler gives up at once.
    with pytest.raises(ParameterError, match=r"with probability below 2\.3e-45 "):
        draw_problem(Instance(d=2000, k=3), np.random.default_rng(0))
    # The bound's law: for k = 1 it is exact, P(cos² > 0.1) for a uniform unit vector against a fixed one
    # (Monte Carlo, binomial standard error).
    x = np.random.default_rng(5).standard_normal((200_000, 6))
    hits = x[:, 0] ** 2 / np.sum(x * x, axis=1) > 1 - instances.DIST0_SQ_MAX
    p = instances.acceptance_bound(6, 1)
    assert abs(hits.mean() - p) <= Z * np.sqrt(p * (1 - p) / hits.size)


def test_theory_init_keeps_the_first_acceptable_candidate_in_draw_order():
    # _theory_frame draws and tests candidates in growing batches; the law must be that of drawing one
    # Gaussian d×k candidate at a time and keeping the first with dist² < 0.9 (here checked by SVD).
    inst = Instance(d=20, k=3)
    for seed in range(6):
        got = draw_problem(inst, np.random.default_rng(seed))
        rng = np.random.default_rng(seed)
        B_star = haar_frame(rng, inst.d, inst.k)
        while True:
            G = rng.standard_normal((inst.d, inst.k))
            if dist(G, B_star) ** 2 < instances.DIST0_SQ_MAX:
                break
        np.testing.assert_array_equal(got.B_star, B_star)
        np.testing.assert_allclose(got.B0 * math.sqrt(inst.alpha), instances._frame(G), rtol=0, atol=1e-15)


def test_same_seed_same_problem_and_round_bits():
    inst = Instance(d=7, k=2, n=4, fixed_tasks=True, init="random", m_in=3, m_out=2, sigma=0.5)

    def draw(seed):
        rng = np.random.default_rng(seed)
        p = draw_problem(inst, rng)
        heads, data = draw_round(inst, rng, p.B_star, p.heads)
        return [p.B_star, p.B0, p.w0, p.heads, heads, data.X_in, data.y_in, data.X_out, data.y_out]

    for a, b in zip(draw(4), draw(4), strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(draw(4)[1], draw(5)[1])


def test_head_law_mean_and_covariance():
    # n iid heads θ = θ̄ + diag(1, 1, µ) ξ: each coordinate's sample mean is N(θ̄_j, D_j²/n) and the last
    # coordinate's sample variance has SE ≈ µ² √(2/n) (Gaussian fourth moment); 6 SE bounds.
    n, mu, mean = 200_000, 0.3, np.array([1.0, -2.0, 0.5])
    inst = Instance(n=n, mu=mu, head_mean=mean, fixed_tasks=True)
    heads = draw_problem(inst, np.random.default_rng(1)).heads
    scale = np.array([1.0, 1.0, mu])
    assert np.all(np.abs(heads.mean(axis=0) - mean) <= 6 * scale / np.sqrt(n))
    assert abs(heads[:, -1].var(ddof=1) - mu**2) <= 6 * mu**2 * np.sqrt(2 / n)


def test_sign_symmetric_sets_average_to_exactly_zero():
    inst = Instance(n=6, sign_symmetric=True)
    heads, _ = draw_round(inst, np.random.default_rng(2), np.eye(20, 3))
    np.testing.assert_array_equal(heads[1::2], -heads[0::2])
    assert not np.any(heads.mean(axis=0))


def test_labels_are_the_linear_model_plus_noise():
    # y − X B_*θ = σ z with z iid N(0, 1): its sample variance over N entries has SE ≈ σ² √(2/N); 6 SE.
    inst = Instance(d=5, k=2, n=50, m_in=400, m_out=300, sigma=0.7)
    rng = np.random.default_rng(3)
    B_star = haar_frame(rng, 5, 2)
    heads, data = draw_round(inst, rng, B_star)
    for X, y in ((data.X_in, data.y_in), (data.X_out, data.y_out)):
        noise = y - (X @ (heads @ B_star.T)[..., None])[..., 0]
        assert abs(noise.var() - inst.sigma**2) <= 6 * inst.sigma**2 * np.sqrt(2 / noise.size)


def test_given_arrays_round_trip_through_npz(tmp_path):
    inst = Instance(d=6, k=2, n=4, fixed_tasks=True, init="given")
    rng = np.random.default_rng(5)
    arrays = {
        "B_star": haar_frame(rng, 6, 2),
        "B0": rng.standard_normal((6, 2)),
        "w0": rng.standard_normal(2),
        "heads": rng.standard_normal((4, 2)),
    }
    np.savez(tmp_path / "init.npz", **arrays)
    with np.load(tmp_path / "init.npz") as f:
        p = draw_problem(inst, np.random.default_rng(0), f)
    for name, value in arrays.items():
        np.testing.assert_array_equal(getattr(p, name), value)


@pytest.mark.parametrize(
    ("inst", "given", "name"),
    [
        (Instance(d=6, k=2), {"B_star": np.ones((6, 2))}, "B_star"),
        (Instance(d=6, k=2), {"B_star": np.eye(6, 3)}, "B_star"),
        (Instance(d=6, k=2, init="given"), {"w0": np.zeros(2)}, "B0"),
        (Instance(d=6, k=2, init="given"), {"B0": np.ones((6, 2)), "w0": np.zeros(2)}, "B0"),
        (Instance(d=6, k=2, init="given"), {"B0": np.eye(6, 2), "w0": np.zeros(3)}, "w0"),
        (Instance(d=6, k=2), {"B0": np.eye(6, 2)}, "B0"),
        (Instance(d=6, k=2), {"heads": np.ones((20, 2))}, "heads"),
        (Instance(d=6, k=2, n=2, fixed_tasks=True, sign_symmetric=True), {"heads": np.ones((2, 2))}, "heads"),
    ],
)
def test_bad_given_arrays_are_named(inst, given, name):
    with pytest.raises(ParameterError) as err:
        draw_problem(inst, np.random.default_rng(0), given)
    assert err.value.name == name


# ----------------------------------------------------------------------------------------------- distance


@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 9))
def test_dist_is_the_largest_principal_angle_sine_and_invariant(seed, d):
    rng = np.random.default_rng(seed)
    k = 1 + seed % d
    B_star = haar_frame(rng, d, k)
    B = rng.standard_normal((d, k))
    # Invertible by construction: orthogonal × column scales in [0.5, 2] × unit upper triangular.
    G = (haar_frame(rng, k, k) * rng.uniform(0.5, 2.0, k)) @ (
        np.eye(k) + np.triu(rng.standard_normal((k, k)), 1)
    )
    # The computed basis of col(B) is accurate to about ε·κ(B): tolerances scale with condition numbers.
    tol = 1e-13 * np.linalg.cond(B) * np.linalg.cond(G)
    value = dist(B, B_star)
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(np.sin(scipy.linalg.subspace_angles(B, B_star).max()), abs=tol)
    assert dist(-2.5 * B @ G, B_star) == pytest.approx(value, abs=tol)
    assert dist(1e-8 * B_star @ G, B_star) <= tol
    assert dist(B_star, B_star) <= 1e-14  # round-off of the projection, a few ε


def test_dist_of_the_complement_is_one_and_small_angles_keep_their_digits():
    d, k = 8, 3
    frame = haar_frame(np.random.default_rng(6), d, d)
    B_star, B_perp = frame[:, :k], frame[:, k:]
    assert dist(B_perp[:, :k], B_star) == pytest.approx(1.0, abs=1e-15)
    # Tilting one column by ε: dist = sin(atan ε); √(1 − cos²) would return 0 or noise at ε = 1e-10.
    eps = 1e-10
    tilted = B_star + eps * np.outer(B_perp[:, 0], [1.0, 0.0, 0.0])
    assert dist(tilted, B_star) == pytest.approx(np.sin(np.arctan(eps)), rel=1e-6)


def test_dist_batched_equals_one_at_a_time_and_flags_rank_deficiency():
    rng = np.random.default_rng(7)
    B_star = haar_frame(rng, 6, 2)
    batch = rng.standard_normal((4, 6, 2))
    batch[1, :, 1] = 2.0 * batch[1, :, 0]  # rank one
    batch[2] = 0.0
    batch[3, 0, 0] = np.inf
    value, flag = dist(batch, B_star)
    np.testing.assert_array_equal(flag, [False, True, True, True])
    assert value[0] == dist(batch[0], B_star)
    assert np.all(np.isnan(value[1:]))
    for bad in batch[1:]:
        with pytest.raises(ParameterError, match=r"^B must be a finite 6x2 matrix of full column rank"):
            dist(bad, B_star)


def _svd_only(monkeypatch, B, B_star):
    """dist with every matrix sent to the SVD route (the Gram route's gate closed)."""
    with monkeypatch.context() as m:
        m.setattr(distance, "GRAM_COND_MAX", 0.0)
        return dist(B, B_star)


def test_dist_gram_route_agrees_with_the_svd_route_to_round_off(monkeypatch):
    # distance.py's error model: both routes are within about ε·κ(B)·(1 + k·κ(B)·dist) of the exact value
    # (worst seen over many draws: 1.3 times that); 16 times it bounds their difference. B spans random,
    # badly column-scaled and nearly converged (dist from 0.3 down to 1e-13) matrices of any overall scale.
    eps = np.finfo(np.float64).eps
    rng = np.random.default_rng(11)
    taken, smallest = 0, 1.0
    for d, k in [(2, 1), (6, 3), (10, 5), (20, 3), (9, 9), (30, 8)]:
        frame = haar_frame(rng, d, d)
        B_star, B_perp = frame[:, :k], frame[:, k:]
        N = 300
        G = rng.standard_normal((N, k, k)) * np.exp(rng.uniform(-2.0, 2.0, (N, 1, k)))
        tilt = 10.0 ** rng.uniform(-13.0, -0.5, (N, 1, 1)) * (B_perp @ rng.standard_normal((N, d - k, k)))
        B = (B_star + tilt) @ G * 10.0 ** rng.uniform(-5.0, 5.0, (N, 1, 1))
        B[: N // 3] = rng.standard_normal((N // 3, d, k))  # and plain Gaussian matrices
        fast, svd = dist(B, B_star), _svd_only(monkeypatch, B, B_star)
        gram = np.swapaxes(B, -1, -2) @ B
        gated = np.trace(gram, axis1=-2, axis2=-1) * np.trace(np.linalg.inv(gram), axis1=-2, axis2=-1) <= 1e4
        kappa = np.linalg.cond(B)
        bound = 16 * eps * kappa * (1 + k * kappa * svd.value)
        assert np.all(np.abs(fast.value - svd.value) <= bound)
        np.testing.assert_array_equal(fast.rank_deficient, svd.rank_deficient)
        # Off the gate the value is the SVD route's, bit for bit.
        np.testing.assert_array_equal(fast.value[~gated], svd.value[~gated])
        taken += gated.sum()
        smallest = min(smallest, np.min(svd.value[gated]))
    assert taken > 1000 and smallest < 1e-12  # the Gram route is exercised, down to the smallest angles


def test_dist_sends_ill_conditioned_and_rank_deficient_b_to_the_svd_route_with_its_flag(monkeypatch):
    rng = np.random.default_rng(12)
    d, k = 8, 3
    B_star = haar_frame(rng, d, k)
    base = rng.standard_normal((d, k))
    batch = np.repeat(base[None], 7, axis=0)
    for i, gap in enumerate([1e-3, 1e-8, 1e-13, 1e-15, 0.0]):  # column 2 → column 0: κ from 1e3 to ∞
        batch[i, :, 2] = base[:, 0] + gap * base[:, 2]
    batch[5, :, 1] = 1e-200  # a column 1e-200 long: κ(B) is huge, the Gram products underflow
    batch[6, 0, 0] = np.nan
    got, svd = dist(batch, B_star), _svd_only(monkeypatch, batch, B_star)
    np.testing.assert_array_equal(got.value, svd.value)  # NaN where flagged
    np.testing.assert_array_equal(got.rank_deficient, orthonormal_basis(batch)[1])
    assert got.rank_deficient[4:].all() and not got.rank_deficient[:2].any()


def test_dist_of_one_b_is_its_value_in_any_batch():
    rng = np.random.default_rng(13)
    B_star = haar_frame(rng, 10, 4)
    batch = rng.standard_normal((5, 10, 4))
    batch[3] = B_star @ rng.standard_normal((4, 4)) + 1e-9 * rng.standard_normal((10, 4))
    values = dist(batch, B_star).value
    for i in range(5):
        assert dist(batch[i], B_star) == values[i]
        assert dist(batch[i : i + 1], B_star[None]).value[0] == values[i]
    stacked = dist(np.stack([batch, batch[::-1]]), B_star)  # leading axes (2, 5)
    np.testing.assert_array_equal(stacked.value, [values, values[::-1]])


# ---------------------------------------------------------------------------------------------- simulator

SMALL = {
    "population": Instance(d=8, k=2, n=6, T=25, alpha=0.2, beta=0.5, mu=0.5, head_mean=[0.3, 0.0]),
    "finite-sample": Instance(
        d=8, k=2, n=6, T=25, alpha=0.2, beta=0.5, m_in=5, m_out=4, sigma=0.3, fixed_tasks=True, init="random"
    ),
}


FIELDS = ("dist", "w_norm", "rank_deficient", "diverged_at", "B_final", "w_final")


@pytest.mark.parametrize("mode", SMALL)
@pytest.mark.parametrize("method", METHODS)
def test_batched_runs_equal_one_at_a_time_and_same_seed_same_bits(method, mode):
    inst = SMALL[mode]
    batch = simulate(method, inst, np.random.default_rng(8), runs=3)
    assert batch.dist.shape == (3, inst.T + 1) and batch.B_final.shape == (3, inst.d, inst.k)
    # Run r of a batch draws from stream r of the seed's spawn only: alone on that stream, the same bits.
    for r in range(3):
        one = simulate(method, inst, [np.random.default_rng(8).spawn(3)[r]])
        for f in FIELDS:
            assert np.array_equal(getattr(one, f)[0], getattr(batch, f)[r], equal_nan=True), f
    again = simulate(method, inst, np.random.default_rng(8), runs=3)
    for f in FIELDS:
        assert np.array_equal(getattr(again, f), getattr(batch, f), equal_nan=True), f


@pytest.mark.parametrize("method", METHODS)
def test_population_bits_do_not_depend_on_blocks_runs_or_lazy_divergence(method, monkeypatch):
    # simulate keeps a block of iterates per batched distance call and tests population divergence once a
    # block. Neither may show in the output: tiny blocks (3 steps for the batch, 5 alone) give the default's
    # bits, run r of a batch equals a run alone although the two see different blocks, and divergence is
    # found at the same step with the same final iterate (here runs diverge from step 2 to step 38 or never,
    # depending on the method and the run).
    for inst, runs in [
        (Instance(d=9, k=3, n=6, T=40, beta=1.2, init="random"), 6),
        (Instance(d=9, k=3, n=6, T=40, beta=2.0), 6),
        (Instance(d=9, k=3, n=6, T=40, fixed_tasks=True, mu=0.5), 3),
    ]:
        default = simulate(method, inst, np.random.default_rng(21), runs=runs)
        with monkeypatch.context() as m:
            m.setattr(simulator, "BLOCK_STEPS", 5)
            m.setattr(simulator, "BLOCK_ENTRIES", 3 * runs * 2 * inst.k**2)  # 3 steps for the batch
            small = simulate(method, inst, np.random.default_rng(21), runs=runs)
            alone = [simulate(method, inst, [s]) for s in np.random.default_rng(21).spawn(runs)]
        for f in FIELDS:
            assert np.array_equal(getattr(small, f), getattr(default, f), equal_nan=True), f
            for r in range(runs):
                assert np.array_equal(getattr(alone[r], f)[0], getattr(default, f)[r], equal_nan=True), f


def test_a_diverged_population_run_stops_at_its_first_step_past_the_threshold():
    # FO-MAML at the spec defaults diverges on some runs. A run that diverged at t* equals, up to t* − 1, the
    # same run stopped at T = t* − 1 (which does not diverge); with a threshold too high to cross, its
    # iterate at t* is the first above BLOWUP · max(‖(B_0, w_0)‖_F, √k).
    inst = Instance()
    traj = simulate("fo-maml", inst, np.random.default_rng(3), runs=8)
    assert traj.diverged.any()
    streams = np.random.default_rng(3).spawn(8)
    for r in np.flatnonzero(traj.diverged):
        t = int(traj.diverged_at[r])
        # Each stream is used once per simulate call: spawn it afresh for every call.
        before = simulate("fo-maml", replace(inst, T=t - 1), [np.random.default_rng(3).spawn(8)[r]])
        assert not before.diverged[0]
        np.testing.assert_array_equal(before.B_final[0], traj.B_final[r])
        np.testing.assert_array_equal(before.w_final[0], traj.w_final[r])
        np.testing.assert_array_equal(before.dist[0], traj.dist[r, :t])
        at = simulate("fo-maml", replace(inst, T=t), [np.random.default_rng(3).spawn(8)[r]], blowup=1e300)
        p = draw_problem(inst, streams[r])
        limit = BLOWUP * max(np.sqrt(np.sum(p.B0**2) + np.sum(p.w0**2)), np.sqrt(inst.k))
        size = np.sqrt(np.sum(at.B_final[0] ** 2) + np.sum(at.w_final[0] ** 2))
        assert not size <= limit


def test_initial_distance_and_shared_problem():
    inst = Instance(T=2)
    problem = draw_problem(inst, np.random.default_rng(9))
    traj = simulate("fo-anil", inst, np.random.default_rng(10), runs=3, problem=problem)
    np.testing.assert_array_equal(traj.dist[:, 0], dist(problem.B0, problem.B_star))
    assert not np.array_equal(traj.dist[0], traj.dist[1])  # fresh heads differ between runs


def test_fo_anil_converges_exponentially_at_the_spec_defaults():
    # Spec R §6 defaults: d = 20, k = 3, n = 20 fresh N(0, I) heads, α = 0.1, β = 1, T = 300, theory init.
    # Observed over these 8 seeded runs: dist_300/dist_0 ≤ 2.2e-13, late per-step ratio ≈ 0.90 (1 − βα = 0.9).
    traj = simulate("fo-anil", Instance(), np.random.default_rng(0), runs=8)
    assert not traj.diverged.any()
    assert np.all(traj.dist[:, -1] < 1e-11 * traj.dist[:, 0])
    late_rate = (traj.dist[:, 300] / traj.dist[:, 100]) ** (1 / 200)
    assert np.all((late_rate > 0.88) & (late_rate < 0.92))


def test_fixed_task_set_rate_tends_to_one_minus_beta_alpha_lambda_min():
    # Spec R §4.6: with a fixed set, dist_{t+1}/dist_t → 1 − βα λ_min(Λ) (population; the set's θ̄ ≠ 0, so
    # w_t ≠ 0 here). The gap is the faster modes' transient: 1.3e-8 at t = 400, 1e-14 at t = 800.
    inst = Instance(fixed_tasks=True, mu=0.5, T=800)
    problem = draw_problem(inst, np.random.default_rng(0))
    traj = simulate("fo-anil", inst, np.random.default_rng(1), problem=problem)
    lam_min = np.linalg.eigvalsh(problem.heads.T @ problem.heads / inst.n)[0]
    assert traj.dist[0, -1] / traj.dist[0, -2] == pytest.approx(
        1 - inst.beta * inst.alpha * lam_min, rel=1e-11
    )


def test_nal_stays_put_and_maml_equals_anil_with_sign_symmetric_heads():
    # θ̄_t = 0 exactly and w_0 = 0: every method keeps w ≡ 0 (spec R §4.3), NAL never moves (§4.4), FO-MAML
    # runs as FO-ANIL and exact MAML as exact ANIL.
    inst = Instance(sign_symmetric=True)
    runs = {m: simulate(m, inst, np.random.default_rng(1), runs=4) for m in METHODS}
    for traj in runs.values():
        assert not traj.diverged.any()
        assert not np.any(traj.w_norm)
    nal = runs["nal"]
    # B_t = B_0 exactly (G_B = mean(s)wᵀ = 0), so dist is the same bits from t = 1 on; dist_0 is computed in
    # the given coordinates, the others in those of span(B_0, B_*), which differ by round-off.
    assert np.array_equal(nal.dist[:, 1:], np.broadcast_to(nal.dist[:, 1:2], nal.dist[:, 1:].shape))
    assert np.max(np.abs(nal.dist[:, 1] - nal.dist[:, 0])) <= 1e-14
    assert np.all(runs["anil"].dist[:, -1] < 1e-11 * runs["anil"].dist[:, 0])
    np.testing.assert_allclose(runs["fo-maml"].dist, runs["fo-anil"].dist, rtol=1e-12, atol=0)
    np.testing.assert_allclose(runs["maml"].dist, runs["anil"].dist, rtol=1e-12, atol=0)


def test_divergence_is_detected_and_the_run_frozen():
    inst = Instance(beta=30.0, T=50)
    traj = simulate("fo-anil", inst, np.random.default_rng(2), runs=3)
    assert traj.diverged.all()
    for r, t in enumerate(traj.diverged_at):
        assert 1 <= t <= inst.T
        assert np.all(np.isfinite(traj.dist[r, :t])) and np.all(np.isnan(traj.dist[r, t:]))
        assert np.all(np.isnan(traj.w_norm[r, t:]))
    size = np.sqrt(np.sum(traj.B_final**2, axis=(1, 2)) + np.sum(traj.w_final**2, axis=1))
    assert np.all(np.isfinite(size)) and np.all(size <= BLOWUP * np.sqrt(inst.k / inst.alpha))


def test_spec_defaults_make_nal_diverge_and_fo_maml_diverge_where_fo_anil_does_not():
    # With fresh N(0, I) heads θ̄_t ≠ 0 moves w, and NAL's w-recursion w⁺ = (I − βBᵀB)w + … has the factor
    # 1 − β/α = −9 at the theory's init (BᵀB = I/α): it diverges within a few steps. FO-MAML's (I − αwwᵀ)
    # factor diverges on some runs (spec R §4.8) where FO-ANIL converges on all.
    inst = Instance()
    nal = simulate("nal", inst, np.random.default_rng(3), runs=4)
    assert nal.diverged.all() and np.all(nal.diverged_at <= 10)
    fo_maml = simulate("fo-maml", inst, np.random.default_rng(3), runs=8)
    fo_anil = simulate("fo-anil", inst, np.random.default_rng(3), runs=8)
    assert fo_maml.diverged.any() and not fo_anil.diverged.any()


def test_rank_deficient_iterate_is_reported_not_raised():
    inst = Instance(d=5, k=2, n=4, T=3, sign_symmetric=True, init="given")
    B_star = np.eye(5, 2)
    B0 = np.zeros((5, 2))
    B0[2, 0] = 1.0  # rank one: the given-array check would refuse it, so the Problem is built directly
    problem = Problem(B_star=B_star, B0=B0, w0=np.zeros(2), heads=None)
    traj = simulate("nal", inst, np.random.default_rng(0), problem=problem)
    assert traj.rank_deficient.all() and np.all(np.isnan(traj.dist)) and not traj.diverged.any()


def test_auto_sampler_draws_small_rounds_naively_and_large_ones_projected() -> None:
    small = Instance(
        d=20, k=3, n=20, T=3, beta=0.1, m_in=20, m_out=20, sigma=0.1, init="random"
    )  # 16 800 numbers
    large = replace(small, d=40)  # 32 800 numbers
    assert small.n * (small.m_in + small.m_out) * (small.d + 1) <= simulator.NAIVE_MAX_NUMBERS
    for inst, chosen in ((small, "naive"), (large, "projected")):
        auto = simulate("anil", inst, np.random.default_rng(3), runs=2)
        named = simulate("anil", inst, np.random.default_rng(3), runs=2, sampler=chosen)
        other = simulate(
            "anil", inst, np.random.default_rng(3), runs=2, sampler=({"naive", "projected"} - {chosen}).pop()
        )
        assert np.array_equal(auto.dist, named.dist)
        assert not np.array_equal(auto.dist[:, 1:], other.dist[:, 1:])
    with pytest.raises(ParameterError, match="sampler"):
        simulate("anil", small, np.random.default_rng(3), sampler="fast")
