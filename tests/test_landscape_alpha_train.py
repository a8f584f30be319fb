"""Spec L with MAML's own training step size α_train and S test-time steps: the closed forms, the optimum,
the Monte Carlo at w_MAML(α_train) and the command line."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from maml_theory.numerics.landscape import closed_form
from maml_theory.numerics.landscape.instances import EasyHard
from maml_theory.numerics.landscape.montecarlo import adapted_excess
from maml_theory.numerics.validation import ParameterError
from maml_theory.reports.cli import main
from tests.tolerances import Z

# easy_hard's fields at these instances before α_train and S existed (commit 5dc0b5e), repr-exact.
BEFORE = [
    (
        {},
        (
            0.2857142857142858,
            0.8438475952529669,
            0.4290304465306123,
            0.129791259287945,
            3.3055419053974817,
            3.896004811250925,
            0.8106000000000001,
            0.06,
        ),
    ),
    (
        {"m": 10, "m_train": math.inf},
        (
            0.2857142857142858,
            1.0,
            0.5694587102040817,
            1.5306832,
            0.3720291110558225,
            1.0238235294117648,
            0.8160000000000001,
            0.6000000000000001,
        ),
    ),
    (
        {"alpha": 1.5, "rho_hard": 0.4, "m": 20},
        (
            0.6153846153846155,
            0.31673807061604375,
            1.081706426627219,
            0.7798436882996012,
            1.3870810815765016,
            1.435305566760791,
            0.26799999999999996,
            0.925,
        ),
    ),
    (
        {"d": 3, "m": 1, "sigma": 1.0, "nu_easy": 0.5},
        (
            0.2857142857142858,
            0.07834101382488483,
            2.162102,
            1.6955121382488478,
            1.2751911067018686,
            1.7295955882352938,
            0.8500000000000001,
            4.0,
        ),
    ),
]
NEGATIVE = {"alpha": 1.5, "rho_hard": 0.4, "m": 20}
"""An instance whose optimal α_train includes a negative one: Γ_H/Γ_E = 0.268/0.925 lies in ((0.4)², 1)."""


@pytest.mark.parametrize(("kw", "before"), BEFORE, ids=[str(k) for k, _ in BEFORE])
def test_alpha_train_equal_to_alpha_and_one_step_reproduce_the_old_outputs_bit_for_bit(kw, before):
    default = closed_form.easy_hard(EasyHard(**kw))
    explicit = closed_form.easy_hard(EasyHard(**kw, alpha_train=EasyHard(**kw).alpha, inner_steps=1))
    assert dataclasses.astuple(default) == before
    assert dataclasses.astuple(explicit) == before


def _gain(inst: EasyHard, a: float) -> float:
    return closed_form.easy_hard(dataclasses.replace(inst, alpha_train=a)).gain


@pytest.mark.parametrize(
    "kw",
    [
        {},
        NEGATIVE,
        {"m": 10, "m_train": math.inf},
        {"inner_steps": 3},
        {"alpha": 0.5, "m": 5, "inner_steps": 2},
    ],
)
def test_optimum_is_stationary_and_beats_a_grid(kw):
    inst = EasyHard(**kw)
    best = closed_form.optimal_alpha_train(inst)
    grid = np.linspace(-30.0, 30.0, 6001)
    # Singular α_train need m_train = ∞ with one type: none of these instances has them.
    grid_best = max(_gain(inst, a) for a in grid)
    # A maximum of a smooth G: the grid (step 0.01) comes within its second-order error of it, never above.
    assert grid_best <= best.gain * (1 + 1e-12)
    assert grid_best >= best.gain * (1 - 1e-3)
    for a in best.alpha_train:
        # Stationarity by central differences, h = 1e-5: the slope there is O(h²·G''') + O(ε G / h) ≈ 1e-10.
        h = 1e-5 * max(1.0, abs(a))
        slope = (_gain(inst, a + h) - _gain(inst, a - h)) / (2 * h)
        assert abs(slope) <= 1e-6 * best.gain
        assert _gain(inst, a) == pytest.approx(best.gain, rel=1e-12)


def test_negative_optimum_ties_with_a_positive_one():
    best = closed_form.optimal_alpha_train(EasyHard(**NEGATIVE))
    assert best.negative and best.reaches_test_optimum
    low, high = best.alpha_train
    assert low < 0 < high and high == pytest.approx(
        1.5, rel=1e-12
    )  # trained as tested is optimal (G ≥ 1 proof)


def test_no_negative_optimum_outside_the_band():
    # Γ_H/Γ_E = 0.8106/0.06 > 1: both roots positive.
    assert not closed_form.optimal_alpha_train(EasyHard()).negative


def test_monte_carlo_at_w_maml_of_alpha_train_matches_the_closed_form():
    for a in (-2.8, 0.3):
        inst = EasyHard(**NEGATIVE, alpha_train=a)
        forms = closed_form.easy_hard(inst)
        W = np.zeros((2, inst.d))
        W[:, 0] = np.array([forms.weight_hard_maml, forms.weight_hard_nal]) * inst.R
        est = adapted_excess(inst.mixture(), W, 50_000, np.random.default_rng(3))
        exact = np.array([forms.excess_maml, forms.excess_nal])
        assert np.all(np.abs(est.mean - exact) <= Z * est.se)


def test_mixture_forms_take_alpha_train():
    inst = EasyHard(**NEGATIVE, alpha_train=-1.0)
    forms = closed_form.mixture_forms(inst.mixture())
    two = closed_form.easy_hard(inst)
    assert forms.w_maml[0] == pytest.approx(two.weight_hard_maml * inst.R, rel=1e-12)
    assert forms.gain == pytest.approx(two.gain, rel=1e-12)


def test_singular_alpha_train_is_refused_naming_the_factor():
    with pytest.raises(ParameterError, match=r"ρ_H\(1 − α_train ρ_H\)² = 0"):
        EasyHard(p_hard=1.0, m_train=math.inf, alpha_train=10.0)
    EasyHard(p_hard=1.0, m_train=100, alpha_train=10.0)  # finite m_train: never singular


def test_cli_json_keys(capsys):
    argv = ["landscape", "--alpha", "1.5", "--rho-hard", "0.4", "--m", "20", "--alpha-train", "-1", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alpha_train"] == -1.0 and out["inner_steps"] == 1
    assert out["optimal_alpha_train_negative"] is True
    assert out["optimal_alpha_train"][0] < 0 < out["optimal_alpha_train"][1]
    assert out["gain_at_optimal_alpha_train"] >= out["gain"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--inner-steps", "0"], "--inner-steps must be an integer >= 1 (got '0')"),
        (["--inner-steps", "2.5"], "--inner-steps must be an integer >= 1 (got '2.5')"),
        (["--inner-steps", "2", "--mc", "100"], "--mc must be left out with --inner-steps above 1"),
        (["--m-train", "inf", "--p-hard", "1", "--alpha-train", "10"], "ρ_H(1 − α_train ρ_H)² = 0"),
        (["--alpha-train", "inf"], "--alpha-train must be finite"),
    ],
)
def test_cli_bad_input_one_line_exit_2(capsys, argv, message):
    assert main(["landscape", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_no_dependence_on_alpha_train_gives_no_optimum():
    assert closed_form.optimal_alpha_train(EasyHard(R=0.0)) is None
    assert closed_form.optimal_alpha_train(EasyHard(rho_hard=1.0, rho_easy=1.0)) is None


def test_a_double_root_is_reported_once():
    # m = ∞, αρ_H = 1 at test: Γ_H = 0, so P₁ ∝ γ_H(α_train) = (1 − α_train ρ_H)², a double root at 10.
    best = closed_form.optimal_alpha_train(EasyHard(m=math.inf, alpha=10.0, inner_steps=100))
    assert best.alpha_train == pytest.approx((10.0,), rel=1e-12)


def test_test_factors_beyond_float64_still_give_the_optimum():
    # g_E = 4: Γ_E = 4^400 ≈ 1e241 would square past float64 in the discriminant without the scaling.
    inst = EasyHard(alpha=2.0, rho_easy=1.5, inner_steps=400)
    best = closed_form.optimal_alpha_train(inst)
    assert len(best.alpha_train) == 1 and not best.reaches_test_optimum
    assert max(_gain(inst, a) for a in np.linspace(0.0, 20.0, 2001)) <= best.gain * (1 + 1e-12)


def _simulated_excess(inst: EasyHard, w: np.ndarray, n: int, rng: np.random.Generator) -> tuple[float, float]:
    """Mean and standard error of f(w_S) − f(w*) over n tasks, each adapted by S steps of size α on fresh
    batches of m samples (x ~ N(0, ρI), y = xᵀw* + z, z ~ N(0, σ²)), the type drawn with p_H: a direct
    simulation, no closed form."""
    hard = rng.random(n) < inst.p_hard
    rho = np.where(hard, inst.rho_hard, inst.rho_easy)[:, None]
    nu = np.where(hard, inst.nu_hard, inst.nu_easy)[:, None]
    centre = np.zeros((n, inst.d))
    centre[hard, 0] = inst.R
    e = w[None, :] - (centre + np.sqrt(nu) * rng.standard_normal((n, inst.d)))
    m = int(inst.m)
    for _ in range(inst.inner_steps):
        X = np.sqrt(rho)[:, :, None] * rng.standard_normal((n, m, inst.d))
        residual = np.einsum("nmd,nd->nm", X, e) - inst.sigma * rng.standard_normal((n, m))
        e = e - inst.alpha / m * np.einsum("nmd,nm->nd", X, residual)
    excess = 0.5 * rho[:, 0] * np.sum(e * e, axis=1)
    return float(excess.mean()), float(excess.std(ddof=1) / np.sqrt(n))


@pytest.mark.parametrize(("steps", "sigma"), [(2, 0.1), (3, 0.1), (2, 2.0), (3, 2.0)])
def test_several_test_steps_match_a_direct_simulation(steps, sigma):
    # σ = 2: the noise excess η₁ Σ_{j<S} g^j is most of E_m, so its geometric sum is tested too.
    inst = EasyHard(**NEGATIVE, sigma=sigma, alpha_train=-2.0, inner_steps=steps)
    forms = closed_form.easy_hard(inst)
    rng = np.random.default_rng(11)
    for weight, exact in (
        (forms.weight_hard_maml, forms.excess_maml),
        (forms.weight_hard_nal, forms.excess_nal),
    ):
        w = np.zeros(inst.d)
        w[0] = weight * inst.R
        mean, se = _simulated_excess(inst, w, 40_000, rng)
        assert abs(mean - exact) <= Z * se, (weight, mean, exact, se)
