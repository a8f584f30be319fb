"""The finite-sample floor (spec R §8): the simulator's side of the claims
R.floor.unbiased.* (which sympy proves from the expected updates)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tolerances import Z

from maml_theory.numerics.representation import floor as floor_module
from maml_theory.numerics.representation import simulate
from maml_theory.numerics.representation.floor import Floor, fit, measure
from maml_theory.numerics.representation.instances import Instance, draw_round, haar_frame
from maml_theory.reports.cli import main

METHODS = ("anil", "fo-anil", "maml", "fo-maml")


def perpendicular_z(method: str, on_span: bool, N: int) -> float:
    """Max |z| over the entries of the mean of B_⊥ᵀG_B against 0, over N independent rounds (fixed heads) at
    w = 0 and B = B_*A (``on_span``) or B with a component outside span(B_*)."""
    d, k, n, alpha, m_in, m_out, sigma = 5, 2, 3, 0.3, 2, 1, 0.5
    rng = np.random.default_rng(20261208)
    frame = haar_frame(rng, d, d)
    B_star, B_perp = frame[:, :k], frame[:, k:]
    A = rng.standard_normal((k, k))
    B = B_star @ A + (0.0 if on_span else 0.5 * B_perp @ rng.standard_normal((d - k, k)))
    heads = rng.standard_normal((n, k))
    inst = Instance(d=d, k=k, n=n, alpha=alpha, sigma=sigma, m_in=m_in, m_out=m_out, fixed_tasks=True)
    # The naive sampler draws the batches themselves: no projection argument is assumed.
    _, data = draw_round(inst, rng.spawn(N), B_star, heads)
    G_B, _ = simulate.meta_gradient(method, B, np.zeros(k), B_star, heads, alpha, data)
    off = (B_perp.T @ G_B).reshape(N, -1)
    # The N rounds are iid: the mean is asymptotically normal with SE = sample sd / √N.
    return float(np.max(np.abs(off.mean(axis=0)) / (off.std(axis=0, ddof=1) / np.sqrt(N))))


@pytest.mark.parametrize("method", METHODS)
def test_no_bias_out_of_the_span_at_a_point_of_the_span(method):
    assert perpendicular_z(method, True, 20_000) <= Z
    # The same test sees the B_⊥ part where there is one: off the span, E[B_⊥ᵀG_B] = B_⊥ᵀB·E[C] ≠ 0.
    assert perpendicular_z(method, False, 20_000) > Z


# --- the measured floor ---------------------------------------------------------------------------------


def _floor(d: int, m_in: int, rng: np.random.Generator, runs: int = 40) -> Floor:
    """A synthetic grid point whose per-run floors follow 0.1·√(d/m_in) with 5 % lognormal noise."""
    inst = Instance(d=d, k=1, m_in=m_in, m_out=4, sigma=1.0)
    last = 0.1 * np.sqrt(d / m_in) * np.exp(0.05 * rng.standard_normal(runs))
    return Floor("fo-anil", inst, last, last.copy(), 0, None)


def test_the_fit_recovers_known_exponents_within_its_intervals():
    rng = np.random.default_rng(3)
    grid = [_floor(d, m, rng) for d in (10, 20, 40) for m in (5, 20)]
    result = fit(grid, np.random.default_rng(4))
    assert set(result.exponents) == {"d", "m_in"}  # n·m_out and σ do not vary
    for name, true in (("d", 0.5), ("m_in", -0.5)):
        low, high = result.intervals[name]
        assert low <= true <= high, (name, result.intervals[name])
        assert high - low < 0.1  # 40 runs of 5 % noise pin an exponent to a few hundredths
    # The intervals are not vacuous: a law 0.1 off is outside them.
    assert not result.intervals["d"][0] <= 0.6 <= result.intervals["d"][1]


def test_a_point_with_a_diverged_run_has_no_floor_and_is_left_out_of_the_fit():
    rng = np.random.default_rng(3)
    grid = [_floor(d, 5, rng) for d in (10, 20, 40)]
    diverged = Floor("fo-anil", grid[0].inst, grid[0].last[1:], grid[0].third[1:], 1, 17)
    assert diverged.value is None and diverged.interval(rng) is None and diverged.settled is None
    assert fit([diverged, *grid[1:]], rng).points == 2
    assert fit([diverged, grid[1]], rng) is None  # one point left: no slope to fit


def test_measure_reads_a_settled_floor_and_the_same_seed_gives_the_same_bits():
    inst = Instance(d=8, k=2, n=10, alpha=0.5, beta=0.2, T=200, sigma=1.0, m_in=10, m_out=10)
    a = measure("fo-anil", inst, seed=5, runs=6)
    b = measure("fo-anil", inst, seed=5, runs=6)
    assert a.diverged == 0 and a.settled
    assert 0 < a.value < 1
    np.testing.assert_array_equal(a.last, b.last)


def test_a_larger_step_lifts_the_floor():
    # The linearised recursion's stationary variance grows with β: the floor is not a function of the
    # samples alone. Measured: 0.115 at β = 0.1, 0.175 at β = 0.2 (d = 20, n = 20, m = 10).
    small, large = (
        measure("fo-anil", Instance(alpha=0.5, beta=b, T=300, sigma=1.0, m_in=10, m_out=10), seed=1, runs=8)
        for b in (0.1, 0.2)
    )
    low, high = small.interval(np.random.default_rng(0)), large.interval(np.random.default_rng(0))
    assert low[1] < high[0]


def test_the_command_prints_json_and_refuses_bad_grids(capsys):
    argv = ["floor", "--methods", "fo-anil", "--d", "6,12", "--T", "60", "--runs", "3", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["d"] for p in out["points"]] == [6, 12]
    assert set(out["points"][0]) >= {"method", "floor", "ci", "settled", "diverged", "diverged_at"}
    assert set(out["fits"]["fo-anil"]["exponents"]) == {"d"}
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == out  # same seed, same bits
    for bad, name in ((["--d", "6,0"], "--d"), (["--m-in", "2.5"], "--m-in"), (["--runs", "1"], "--runs")):
        assert main(["floor", *bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"maml-theory: error: {name} must be")


def test_an_interrupted_grid_keeps_its_finished_points(monkeypatch, capsys):
    calls = []

    def measure_then_interrupt(method, inst, *, seed, runs):
        if calls:
            raise KeyboardInterrupt
        calls.append(inst.d)
        return measure(method, inst, seed=seed, runs=runs)

    monkeypatch.setattr(floor_module, "measure", measure_then_interrupt)
    assert main(["floor", "--methods", "anil", "--d", "6,12", "--T", "40", "--runs", "2", "--json"]) == 130
    out = json.loads(capsys.readouterr().out)
    assert out["interrupted"] is True and [p["d"] for p in out["points"]] == [6]
