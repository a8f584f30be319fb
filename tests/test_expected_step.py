"""``maml-theory dynamics --expected``: one expected finite-sample step from the derived closed form, checked
against the simulator's Monte Carlo mean of the same step (no closed form there) and against the population
step in the many-samples limit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tolerances import Z

from maml_theory.numerics.representation import simulate
from maml_theory.numerics.representation.instances import Instance, draw_round
from maml_theory.reports.cli import main

D, K, N_TASKS, ALPHA, BETA, SIGMA = 5, 2, 3, 0.3, 0.7, 0.5


@pytest.fixture(scope="module")
def point(tmp_path_factory):
    rng = np.random.default_rng(20261208)
    arrays = {
        "B0": rng.standard_normal((D, K)) / 2,
        "w0": rng.standard_normal(K),  # w ≠ 0: exact MAML's general-w expectation
        "B_star": np.linalg.qr(rng.standard_normal((D, K)))[0],
        "heads": rng.standard_normal((N_TASKS, K)),
    }
    path = tmp_path_factory.mktemp("expected") / "point.npz"
    np.savez(path, **arrays)
    return path, arrays


def expected(capsys, path, method: str, m_in: int, m_out: int) -> dict:
    argv = ["dynamics", "--method", method, "--expected", "--init", str(path), "--m-in", str(m_in)]
    argv += [
        "--m-out",
        str(m_out),
        "--alpha",
        str(ALPHA),
        "--beta",
        str(BETA),
        "--sigma",
        str(SIGMA),
        "--json",
    ]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("method", ["anil", "fo-anil", "maml", "fo-maml", "nal"])
def test_the_expected_step_is_the_simulators_mean_step(capsys, point, method):
    path, a = point
    m_in, m_out, draws = 3, 2, 40_000
    got = expected(capsys, path, method, m_in, m_out)
    inst = Instance(d=D, k=K, n=N_TASKS, alpha=ALPHA, sigma=SIGMA, m_in=m_in, m_out=m_out, fixed_tasks=True)
    _, data = draw_round(inst, np.random.default_rng(7).spawn(draws), a["B_star"], a["heads"])
    B, w = simulate.step(method, a["B0"], a["w0"], a["B_star"], a["heads"], ALPHA, BETA, data)
    # The draws are iid rounds: each entry's mean is asymptotically normal with SE = sd / √draws.
    for sampled, closed in ((B, got["B_next"]), (w, got["w_next"])):
        z = (sampled.mean(axis=0) - np.array(closed)) / (sampled.std(axis=0, ddof=1) / np.sqrt(draws))
        assert np.max(np.abs(z)) <= Z, (method, z)


def test_many_samples_give_the_population_step(capsys, point):
    path, a = point
    got = expected(capsys, path, "maml", 10**9, 10**9)
    B, w = simulate.step("maml", a["B0"], a["w0"], a["B_star"], a["heads"], ALPHA, BETA)
    # The expectation differs from the population step by O(1/m_in) (plus σ²/m_in terms): 1e-9 here.
    np.testing.assert_allclose(got["B_next"], B, rtol=0, atol=1e-7)
    np.testing.assert_allclose(got["w_next"], w, rtol=0, atol=1e-7)


@pytest.mark.parametrize(
    ("extra", "name"),
    [
        ([], "--init"),  # no file: no point to step from
        (["--init", "{path}"], "--m-in"),  # population: nothing to take the expectation over
        (["--init", "{path}", "--m-in", "3", "--m-out", "2", "--inner-steps", "2"], "--inner-steps"),
    ],
)
def test_what_the_expected_step_needs_is_asked_for_in_one_line(capsys, point, extra, name):
    argv = ["dynamics", "--method", "anil", "--expected", *(x.format(path=point[0]) for x in extra)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"maml-theory: error: {name} must be")
