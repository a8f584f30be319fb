"""The method family (theory/method.py) through spec R's numeric routes: s inner steps, width h ≥ k.

The simulator's hand-written recursion through s steps and the autograd oracle share no gradient code, so
their agreement checks the recursion. Tolerance: both evaluate the same polynomial in (B, w) with a few
hundred float64 operations per inner step on entries of order one, so their difference is round-off, about
s·1e-14 of the gradient's size (measured: below 3e-15 at s ≤ 4); 1e-9 leaves a margin of 10⁴, as in claim
R.route (numerics/representation/checks.py).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maml_theory.numerics import validation as v
from maml_theory.numerics.representation import oracle
from maml_theory.numerics.representation.distance import dist, dist_h, outside_norm
from maml_theory.numerics.representation.dynamics import check_cost, cost
from maml_theory.numerics.representation.instances import (
    METHODS,
    Instance,
    Problem,
    draw_problem,
    draw_round,
    haar_frame,
    resolve_method,
)
from maml_theory.numerics.representation.simulate import meta_gradient, round_step, simulate, step
from maml_theory.reports.cli import main
from maml_theory.theory.method import ADAPT, PRESETS, Method, MethodError
from tests.test_representation_sampler import draws, max_z, statistics

ROUTE_TOL = 1e-9


@st.composite
def family_cases(draw: st.DrawFn) -> tuple:
    """A random member of the family at a random point: (method, B, w, B_*, heads, α, batches or None)."""
    adapt = draw(st.sampled_from(ADAPT))
    s = 0 if adapt == "none" else draw(st.integers(1, 4))
    first_order = adapt != "none" and draw(st.booleans())
    k = draw(st.integers(1, 3))
    h = draw(st.integers(k, 3 * k))
    d = h + draw(st.integers(0, 3))
    n = draw(st.integers(1, 4))
    finite = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    alpha = draw(st.floats(0.05, 0.5))
    rng = np.random.default_rng(seed)
    inst = Instance(
        d=d,
        k=k,
        n=n,
        width=h,
        init="random",
        sigma=0.3,
        m_in=3 if finite else None,
        m_out=2 if finite else None,
    )
    B_star = haar_frame(rng, d, k)
    B = rng.standard_normal((d, h)) / np.sqrt(d)
    w = rng.standard_normal(h) / np.sqrt(h)
    heads, data = draw_round(inst, rng, B_star)
    return Method(adapt, first_order, s), B, w, B_star, heads, alpha, data


@given(family_cases())
def test_simulator_meta_gradient_equals_the_autograd_oracle_for_any_member(case):
    method, B, w, B_star, heads, alpha, data = case
    got = meta_gradient(method, B, w, B_star, heads, alpha, data)
    want = oracle.meta_gradient(method, B, w, B_star, heads, alpha, data)
    size = max(np.abs(want[0]).max(), np.abs(want[1]).max())
    assert size > 0
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= ROUTE_TOL * size


@pytest.mark.parametrize("s", [2, 3])
def test_simulator_step_batched_over_runs_equals_one_run_at_a_time(s):
    # The recursion is vectorised over runs as well as tasks: run r of a batch is run r alone.
    rng = np.random.default_rng(7)
    d, k, h, n, R = 6, 2, 4, 3, 3
    B_star = haar_frame(rng, d, k)
    B, w = rng.standard_normal((R, d, h)) / np.sqrt(d), rng.standard_normal((R, h))
    heads = rng.standard_normal((R, n, k))
    for name in ("anil", "maml", "fo-maml"):
        method = PRESETS[name].with_inner_steps(s)
        batched = step(method, B, w, B_star, heads, 0.2, 0.5)
        for r in range(R):
            one = step(method, B[r], w[r], B_star, heads[r], 0.2, 0.5)
            for a, b in zip(batched, one, strict=True):
                np.testing.assert_allclose(a[r], b, rtol=0, atol=1e-14 * np.abs(b).max())


# sha256 (first 16 hex digits) of the bytes of dist, w_norm, B_final and w_final of two runs from seed 3,
# recorded with the code before methods became values (commit 5dc0b5e): the presets keep their bits.
PRESET_BITS = {
    ("population", "anil"): "a5d2e805f24b3c05",
    ("population", "fo-anil"): "01419537d7f67701",
    ("population", "maml"): "81491f31571f66a4",
    ("population", "fo-maml"): "02d38267fdea3a86",
    ("population", "nal"): "1b0d519560f4128b",
    ("population-fixed", "anil"): "9d8a1c9cbb711fbc",
    ("population-fixed", "fo-anil"): "f6f4eb9c387cefaf",
    ("population-fixed", "maml"): "eb828b72628b3b45",
    ("population-fixed", "fo-maml"): "79ce5714085bffa8",
    ("population-fixed", "nal"): "5cc8d8849d8defbd",
    ("naive", "anil"): "8f722474f874b89a",
    ("naive", "fo-anil"): "14e85b479c985b30",
    ("naive", "maml"): "048a5e7d47dc7df9",
    ("naive", "fo-maml"): "b84edb37e3f4d8e1",
    ("naive", "nal"): "c4dfe83bea99b9e2",
    ("projected", "anil"): "f18ce134f478e473",
    ("projected", "fo-anil"): "754da186a72d9152",
    ("projected", "maml"): "47e0b84a96eabf74",
    ("projected", "fo-maml"): "a99ee274bbf86217",
    ("projected", "nal"): "de16ea4b800875e2",
}
BIT_CASES = {
    "population": {"T": 30},
    "population-fixed": {"T": 30, "fixed_tasks": True, "init": "random"},
    "naive": {"T": 10, "m_in": 10, "m_out": 10, "sigma": 0.1},
    "projected": {"T": 5, "d": 40, "m_in": 30, "m_out": 30, "sigma": 0.1, "init": "random"},
}


@pytest.mark.parametrize(("case", "name"), sorted(PRESET_BITS))
def test_presets_keep_the_bits_of_the_code_before_methods_were_values(case, name):
    for method in (name, PRESETS[name]):
        t = simulate(method, Instance(**BIT_CASES[case]), np.random.default_rng(3), runs=2)
        data = b"".join(a.tobytes() for a in (t.dist, t.w_norm, t.B_final, t.w_final))
        assert hashlib.sha256(data).hexdigest()[:16] == PRESET_BITS[case, name]


def test_the_presets_are_the_five_methods_and_parse_names_them():
    assert tuple(PRESETS) == METHODS
    assert Method.parse("fo-anil") == Method("head", True, 1)
    assert PRESETS["nal"].inner_steps == 0
    assert Method("both", False, 3).name == "maml[s=3]"
    assert PRESETS["maml"].name == "maml"
    assert resolve_method(PRESETS["anil"]) is PRESETS["anil"]


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        (("head", False, -1), "inner_steps"),
        (("head", False, 1.5), "inner_steps"),
        (("head", False, True), "inner_steps"),
        (("head", False, 0), "inner_steps"),
        (("none", False, 1), "inner_steps"),
        (("none", True, 0), "inner_steps"),
        (("all", False, 1), "adapt"),
        (("head", "yes", 1), "first_order"),
    ],
)
def test_bad_method_fields_are_named(fields, name):
    with pytest.raises(MethodError) as e:
        Method(*fields)
    assert isinstance(e.value, ValueError) and e.value.name == name


def test_an_unknown_method_name_is_a_parameter_error():
    with pytest.raises(v.ParameterError, match=r"^method must be one of"):
        resolve_method("reptile")


def test_the_projected_sampler_is_refused_where_it_is_not_derived_and_auto_falls_back():
    inst = Instance(d=40, m_in=30, m_out=30, init="random")  # above the naive switch: auto would project
    rng = np.random.default_rng(0)
    problem = draw_problem(inst, rng)
    two = PRESETS["anil"].with_inner_steps(2)
    with pytest.raises(v.ParameterError, match=r"^sampler must be 'auto' or 'naive'"):
        round_step(two, inst, problem.B0, problem.w0, problem.B_star, rng, sampler="projected")
    auto = round_step(two, inst, problem.B0, problem.w0, problem.B_star, np.random.default_rng(1))
    naive = round_step(
        two, inst, problem.B0, problem.w0, problem.B_star, np.random.default_rng(1), sampler="naive"
    )
    for a, b in zip(auto, naive, strict=True):
        np.testing.assert_array_equal(a, b)


def test_width_must_lie_between_k_and_d_and_the_theory_start_is_k_wide():
    with pytest.raises(v.ParameterError, match=r"^width must be an integer in"):
        Instance(k=3, width=2)
    with pytest.raises(v.ParameterError, match=r"^width must be an integer in"):
        Instance(d=5, k=3, width=6, init="random")
    with pytest.raises(v.ParameterError, match=r"^init must be 'random' or 'given' when width > k"):
        Instance(k=3, width=6)
    assert Instance(k=3).width == 3


def test_dist_h_is_dist_at_width_k_and_sees_the_top_k_subspace_above():
    rng = np.random.default_rng(4)
    d, k = 9, 3
    B_star = haar_frame(rng, d, k)
    B = rng.standard_normal((5, d, k))
    np.testing.assert_array_equal(dist_h(B, B_star).value, dist(B, B_star).value)
    assert dist_h(B[0], B_star) == dist(B[0], B_star)
    # B = [B_*G, εu] with u ⊥ col(B_*): its top-k subspace is col(B_*) (dist_h = 0), its part outside col(B_*)
    # is εu (‖B_⊥ᵀB‖_F = ε); tilting the top subspace by angle φ gives dist_h = sin φ.
    G = rng.standard_normal((k, k)) + 3 * np.eye(k)
    u = np.linalg.qr(np.concatenate([B_star, rng.standard_normal((d, 1))], axis=1))[0][:, k]
    eps = 1e-3
    wide = np.concatenate([B_star @ G, eps * u[:, None]], axis=1)
    assert dist_h(wide, B_star) < 1e-12
    assert dist(np.linalg.qr(wide)[0][:, :k], B_star) < 1e-12
    assert outside_norm(wide, B_star) == pytest.approx(eps, rel=1e-12)
    phi = 0.3
    tilted = B_star.copy()
    tilted[:, 0] = np.cos(phi) * B_star[:, 0] + np.sin(phi) * u
    extra = -np.sin(phi) * B_star[:, 0] + np.cos(phi) * u  # orthogonal to every tilted column
    wide = np.concatenate([tilted * 2.0, eps * extra[:, None]], axis=1)
    assert dist_h(wide, B_star) == pytest.approx(np.sin(phi), rel=1e-12)


@pytest.mark.parametrize("name", ["anil", "fo-anil", "maml", "fo-maml"])
def test_wide_population_runs_in_the_span_frame_equal_steps_in_full_coordinates(name):
    # simulate works in span(B_0, B_*) (dimension h + k here): exact, so it must reproduce full-d steps.
    inst = Instance(d=12, k=2, width=4, n=5, T=4, alpha=0.2, beta=0.3, fixed_tasks=True, init="random")
    problem = draw_problem(inst, np.random.default_rng(5))
    method = PRESETS[name].with_inner_steps(2)
    traj = simulate(method, inst, np.random.default_rng(0), problem=problem)
    B, w = problem.B0, problem.w0
    for _ in range(inst.T):
        B, w = step(method, B, w, problem.B_star, problem.heads, inst.alpha, inst.beta)
    np.testing.assert_allclose(traj.B_final[0], B, rtol=0, atol=1e-12 * np.abs(B).max())
    np.testing.assert_allclose(traj.w_final[0], w, rtol=0, atol=1e-12 * np.abs(w).max())
    assert traj.dist[0, -1] == pytest.approx(dist_h(B, problem.B_star), rel=1e-9)
    assert traj.outside_norm[0, -1] == pytest.approx(outside_norm(B, problem.B_star), rel=1e-9)


def test_a_given_problem_of_the_wrong_width_is_refused():
    inst = Instance(d=6, k=2, width=3, init="random")
    p = draw_problem(Instance(d=6, k=2, init="random"), np.random.default_rng(0))
    with pytest.raises(v.ParameterError, match=r"^problem must be a Problem for d = 6, k = 2, width = 3"):
        simulate("anil", inst, np.random.default_rng(0), problem=Problem(p.B_star, p.B0, p.w0, None))


def _cli(capsys, *argv: str) -> tuple[int, dict | None, str]:
    code = main(["dynamics", *argv, "--json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else None), out.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--method", "anil", "--inner-steps", "-1"], "--inner-steps must be an integer >= 0 (got '-1')"),
        (["--method", "anil", "--inner-steps", "1.5"], "--inner-steps must be an integer >= 0 (got '1.5')"),
        (
            ["--method", "anil", "--inner-steps", "0"],
            "--inner-steps must be an integer >= 1 for anil (0 is nal)",
        ),
        (["--method", "nal", "--inner-steps", "2"], "--inner-steps must be 0 for nal (no inner step)"),
        (["--method", "anil", "--width", "2"], "--width must be an integer in [k, d] = [3, 20]"),
        (["--method", "anil", "--width", "6"], "--init must be 'random' or 'given' when width > k"),
    ],
)
def test_bad_inner_steps_and_width_give_one_line_and_exit_2(capsys, argv, message):
    code, _, err = _cli(capsys, *argv)
    assert code == 2
    assert err.startswith(f"maml-theory: error: {message}") and err.count("\n") == 1


def test_an_init_file_of_width_h_runs_and_a_w0_of_another_width_is_refused(capsys, tmp_path):
    inst = Instance(d=8, k=2, width=4, n=4, fixed_tasks=True, init="random")
    p = draw_problem(inst, np.random.default_rng(2))
    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    np.savez(good, B0=p.B0, w0=p.w0, B_star=p.B_star, heads=p.heads)
    np.savez(bad, B0=p.B0, w0=p.w0[:3], B_star=p.B_star, heads=p.heads)
    code, r, _ = _cli(capsys, "--method", "fo-anil", "--inner-steps", "2", "--T", "3", "--init", str(good))
    assert code == 0
    assert (r["inner_steps"], r["width"], len(r["w_final"]), len(r["B_final"][0])) == (2, 4, 4, 4)
    assert r["dist_h"] == r["dist"] and len(r["outside_norm"]) == 4 and r["predicted_rate"] is None
    assert len(r["singular_values"]) == 4
    code, _, err = _cli(capsys, "--method", "fo-anil", "--T", "3", "--init", str(bad))
    assert code == 2
    want = "--init array w0 must be a vector as long as B0 is wide (B0 is 8×4) (got 'a vector of length 3')"
    assert err == f"maml-theory: error: {want}\n"


def test_the_json_names_inner_steps_and_width_and_adds_the_wide_curves_only_above_k(capsys):
    code, r, _ = _cli(capsys, "--method", "anil", "--inner-steps", "2", "--T", "5")
    assert code == 0 and (r["method"], r["inner_steps"], r["width"]) == ("anil", 2, 3)
    assert "dist_h" not in r and "outside_norm" not in r
    code, r, _ = _cli(
        capsys, "--method", "maml", "--width", "5", "--init", "random", "--beta", "0.1", "--T", "5"
    )
    assert code == 0 and (r["inner_steps"], r["width"]) == (1, 5)
    assert r["outside_norm"][0] > 0 and r["dist_h"] == r["dist"]


@pytest.mark.parametrize("inner_steps", [1, 2, 4])
def test_the_cost_estimate_grows_with_inner_steps_and_width(inner_steps):
    # The unrolled recursion repeats a step's work s times forward and s backward, and keeps s iterates.
    base = {"d": 20, "k": 3, "n": 20, "T": 300, "runs": 1, "width": 3, "inner_steps": 1}
    memory, seconds = cost({**base, "inner_steps": inner_steps})
    wide = cost({**base, "inner_steps": inner_steps, "width": 9})
    one = cost(base)
    assert memory >= one[0] and seconds >= one[1] and wide[1] > seconds
    assert (seconds > one[1]) == (inner_steps > 1)
    with pytest.raises(v.ParameterError, match=r"^inner_steps must be at most"):
        check_cost(Instance(), runs=1, inner_steps=10**9)


@pytest.mark.parametrize("method", METHODS)
def test_the_projected_sampler_has_the_naive_law_on_a_wider_layer(method):
    # The projected sampler's construction never uses h = k (sampling.py's docstring): on a layer 3 wide
    # against k = 1 (r = h + k = 4 < d = 7, so a complement exists; m_in = 3 below p = r + 1 = 5 and
    # m_out = 6 above it) its draws must have the naive sampler's law. The criterion and statistics are
    # tests/test_representation_sampler.py's: max |z| over about a hundred moments, observed at most about 4.
    d, k, h, n, m_in, m_out, sigma, alpha, N = 7, 1, 3, 2, 3, 6, 0.5, 0.5, 20_000
    rng = np.random.default_rng(1)
    B_star = haar_frame(rng, d, k)
    B = rng.standard_normal((d, h)) / np.sqrt(d)
    w = 1.5 * rng.standard_normal(h)
    heads = rng.standard_normal((n, k))
    naive, projected = (
        draws(method, sampler, B, w, B_star, heads, alpha, m_in, m_out, sigma, N, seed)
        for sampler, seed in (("naive", 11), ("projected", 12))
    )
    z = max_z(statistics(*naive, B, B_star), statistics(*projected, B, B_star))
    assert z <= 6, z
