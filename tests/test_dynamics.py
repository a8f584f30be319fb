"""``maml-theory dynamics``: the spec's qualitative picture, the JSON contract, --init, one-line errors."""

import json
import time

import numpy as np
import pytest

from maml_theory.numerics.representation.dynamics import check_cost
from maml_theory.numerics.representation.instances import Instance, draw_problem
from maml_theory.numerics.validation import ParameterError
from maml_theory.reports.cli import main
from maml_theory.reports.dynamics_command import IMPLIED_FIXED_TASKS
from maml_theory.reports.dynamics_command import dynamics as run_dynamics

META = ("anil", "fo-anil", "maml", "fo-maml")


def dynamics(capsys, *argv):
    code = main(["dynamics", *argv, "--json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else None), out.err


@pytest.mark.parametrize("method", [*META, "nal"])
def test_meta_learners_fall_exponentially_and_nal_stays_put(capsys, method):
    # Spec R §4.3–4.4 and Figure 1: with θ̄_t = 0 (sign-symmetric task sets) and w_0 = 0 every meta-learner
    # keeps w ≡ 0 and contracts the wrong subspace at rate ≈ 1 − βα (Λ ≈ I); NAL never moves.
    code, r, _ = dynamics(capsys, "--method", method, "--sign-symmetric", "--runs", "4")
    assert code == 0
    median = np.array(r["dist"]["median"])
    assert len(median) == 301 and r["runs"] == 4
    assert r["diverged"] == [False] * 4
    assert max(r["w_norm"]["p90"]) == 0.0
    if method == "nal":
        np.testing.assert_allclose(median, median[0], rtol=1e-12)
        assert r["rate"] == pytest.approx(1.0, abs=1e-12)
    else:
        assert median[-1] < 1e-10 * median[0]
        # Fresh heads: the slowest direction v shrinks by 1 − βα vᵀΛ_t v per step, E[Λ_t] = I, so log dist
        # falls by βα per step up to a bias ≈ (βα)² Var(vᵀΛ_t v)/2 ≤ (βα)²/n; the per-step log factor has
        # sd ≈ βα √(2/n); the fit averages T/2 steps. Tolerance: 6 standard errors plus the bias bound.
        beta_alpha, n, half = 0.1, 20, 150
        tolerance = 6 * beta_alpha * np.sqrt(2 / n) / np.sqrt(half) + beta_alpha**2 / n
        assert r["rate"] == pytest.approx(1 - beta_alpha, abs=tolerance)


def test_fixed_task_set_rate_is_predicted(capsys):
    # Spec R §4.6: with a fixed task set, dist_{t+1}/dist_t → 1 − βαλ_min(Λ). By T = 800 the fit over the
    # last half is past the faster modes' transient (it agrees to 4e-13; to 1e-7 at T = 400).
    code, r, _ = dynamics(capsys, "--method", "fo-anil", "--fixed-tasks", "--T", "800")
    assert code == 0
    assert r["predicted_rate"] is not None
    assert r["rate"] == pytest.approx(r["predicted_rate"], rel=1e-9)


def test_fo_maml_divergence_is_reported_not_printed_as_numbers(capsys):
    # Spec R §4.8: at the defaults with fresh N(0, I) heads FO-MAML diverges where FO-ANIL converges.
    code, r, _ = dynamics(capsys, "--method", "fo-maml")
    assert code == 0
    assert r["diverged"] is True and isinstance(r["diverged_at"], int)
    t = r["diverged_at"]
    assert all(x is None for x in r["dist"][t:]) and r["rate"] is None
    code, r, _ = dynamics(capsys, "--method", "fo-anil")
    assert r["diverged"] is False and r["diverged_at"] is None
    main(["dynamics", "--method", "fo-maml"])
    assert "DIVERGED: 1 of 1 run(s), at step(s) " in capsys.readouterr().out


def test_a_partial_divergence_is_reported_with_its_count(capsys):
    # β = 1: three of FO-MAML's eight runs diverge; the text says so even though the others converge.
    code, r, _ = dynamics(capsys, "--method", "fo-maml", "--runs", "8", "--beta", "1")
    assert code == 0 and 0 < sum(r["diverged"]) < 8
    main(["dynamics", "--method", "fo-maml", "--runs", "8", "--beta", "1"])
    assert f"DIVERGED: {sum(r['diverged'])} of 8 run(s), at step(s) " in capsys.readouterr().out


def test_same_seed_same_bits(capsys):
    argv = ("--method", "anil", "--m-in", "5", "--m-out", "5", "--T", "20", "--runs", "3")
    _, a, _ = dynamics(capsys, *argv, "--seed", "3")
    _, b, _ = dynamics(capsys, *argv, "--seed", "3")
    _, c, _ = dynamics(capsys, *argv, "--seed", "4")
    assert a == b and a != c


def test_init_file_round_trip(capsys, tmp_path):
    inst = Instance(d=6, k=2, n=4, fixed_tasks=True)
    p = draw_problem(inst, np.random.default_rng(1))
    path = tmp_path / "start.npz"
    np.savez(path, B0=p.B0, w0=p.w0 + 0.1, B_star=p.B_star, heads=p.heads)
    code, r, _ = dynamics(capsys, "--method", "anil", "--init", str(path), "--T", "30")
    assert code == 0
    assert np.array(r["B_final"]).shape == (6, 2) and np.array(r["w_final"]).shape == (2,)
    # The Python function behind the command, given the same arrays, reproduces it bit for bit.
    arrays = dict(np.load(path))
    again = run_dynamics("anil", Instance(d=6, k=2, n=4, T=30, init="given", fixed_tasks=True), arrays=arrays)
    # Without --fixed-tasks the file's heads still fix the task set, and the output says so.
    assert r.pop("note") == IMPLIED_FIXED_TASKS and r["fixed_tasks"] is True
    assert json.loads(json.dumps(again)) == r
    assert r["dist"][0] == pytest.approx(
        float(np.linalg.norm((np.eye(6) - p.B_star @ p.B_star.T) @ np.linalg.qr(p.B0)[0], 2))
    )


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--k", "30"], "--k"),
        (["--alpha", "0"], "--alpha"),
        (["--beta", "-1"], "--beta"),
        (["--n", "0"], "--n"),
        (["--T", "-1"], "--T"),
        (["--mu", "-0.5"], "--mu"),
        (["--m-in", "5"], "--m-out"),
        (["--m-in", "0"], "--m-in"),
        (["--m-out", "2.5"], "--m-out"),
        (["--runs", "0"], "--runs"),
        (["--d", "x"], "--d"),
    ],
)
def test_bad_values_are_one_line(capsys, argv, flag):
    code, _, err = dynamics(capsys, "--method", "anil", *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"maml-theory: error: {flag} must be "), err


def test_bad_init_file_is_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, B0=np.ones((3, 2)))
    for path in (bad, tmp_path / "missing.npz"):
        code, _, err = dynamics(capsys, "--method", "anil", "--init", str(path))
        assert code == 2 and len(err.strip().splitlines()) == 1 and "--init must be" in err
    not_orthonormal = tmp_path / "skew.npz"
    np.savez(
        not_orthonormal, B0=np.eye(3)[:, :2], w0=np.zeros(2), B_star=np.ones((3, 2)), heads=np.ones((2, 2))
    )
    code, _, err = dynamics(capsys, "--method", "anil", "--init", str(not_orthonormal))
    assert code == 2 and "--init array B_star must be" in err


def _init_file(tmp_path, name, **change):
    """A valid --init file (d = 3, k = 2, n = 2) with some arrays replaced."""
    arrays = {"B0": np.eye(3)[:, :2], "w0": np.zeros(2), "B_star": np.eye(3)[:, :2], "heads": np.eye(2)}
    path = tmp_path / name
    np.savez(path, **{**arrays, **change})
    return str(path)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"B0": np.eye(3)[:, :2] + 1j},
            "--init array B0 must be a finite array of shape 3x2 (got 'an array of dtype complex128",
        ),
        (
            {"B0": np.full((3, 2), "a")},
            "--init array B0 must be a finite array of shape 3x2 (got 'an array of dtype <U1",
        ),
        (
            {"B0": np.ones((3, 2), dtype=bool)},
            "--init array B0 must be a finite array of shape 3x2 (got 'an array of dtype bool",
        ),
        ({"B0": np.ones(3)}, "--init array B0 must be a d×H array (got 'an array of shape (3,)')"),
        ({"extra": np.ones(2)}, "with arrays ['B0', 'B_star', 'extra', 'heads', 'w0']"),
    ],
)
def test_a_bad_init_array_is_named_in_one_line(capsys, tmp_path, change, expected):
    code, _, err = dynamics(capsys, "--method", "anil", "--init", _init_file(tmp_path, "bad.npz", **change))
    assert code == 2 and len(err.strip().splitlines()) == 1 and expected in err, err


def test_init_rejects_a_npy_file_and_a_head_law(capsys, tmp_path):
    plain = tmp_path / "plain.npy"
    np.save(plain, np.ones(3))
    code, _, err = dynamics(capsys, "--method", "anil", "--init", str(plain))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not an .npz archive" in err
    # The file's heads are the task set: a head law (µ) would be silently ignored, so it is refused.
    good = _init_file(tmp_path, "good.npz")
    code, _, err = dynamics(capsys, "--method", "anil", "--T", "2", "--init", good, "--mu", "0.5")
    assert code == 2 and "--mu must be left out with --init FILE.npz" in err
    code, r, _ = dynamics(capsys, "--method", "anil", "--T", "2", "--init", good)
    assert code == 0 and len(r["dist"]) == 3


def test_json_stays_json_and_seeds_keep_every_digit(capsys):
    # β = 1e308 overflows 1 − βαλ_min(Λ): the JSON carries "-inf" (as everywhere in this tool), not -Infinity.
    argv = ("--method", "anil", "--alpha", "100", "--beta", "1e308", "--T", "2", "--fixed-tasks")
    code = main(["dynamics", *argv, "--json"])
    out = capsys.readouterr().out
    assert code == 0 and "Infinity" not in out and json.loads(out)["predicted_rate"] == "-inf"
    # Seeds beyond 2⁵³ are parsed as integers, not floats that would round them together.
    _, a, _ = dynamics(
        capsys, "--method", "anil", "--T", "2", "--init", "random", "--seed", "9007199254740993"
    )
    _, b, _ = dynamics(
        capsys, "--method", "anil", "--T", "2", "--init", "random", "--seed", "9007199254740992"
    )
    assert a["dist"] != b["dist"]


@pytest.mark.parametrize(
    ("argv", "flag", "limit"),
    [
        (["--n", "1000000"], "--n", "GiB of memory, over the limit of 20 GiB"),
        (["--T", "1e9"], "--T", "to run, over the limit of 1 hour"),
        (["--T", "1e11"], "--T", "GiB of memory, over the limit of 20 GiB"),
        (["--d", "1000000", "--init", "random"], "--d", "GiB of memory, over the limit of 20 GiB"),
        (["--runs", "10", "--n", "100000"], "--n", "GiB of memory"),
    ],
)
def test_sizes_beyond_memory_or_time_are_refused_before_allocating(capsys, argv, flag, limit):
    # The estimate comes from the sizes alone: the refusal is immediate (--n 1000000 used to grow to 7.1 GB
    # before numpy's MemoryError; --T 1e9 to allocate 1e9-long records and run for hours).
    start = time.perf_counter()
    code, _, err = dynamics(capsys, "--method", "anil", *argv)
    assert time.perf_counter() - start < 2.0
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"maml-theory: error: {flag} must be at most ") and limit in lines[0], err
    assert f"(got {argv[argv.index(flag) + 1]!r})" in lines[0]


def test_the_largest_size_named_fits(capsys):
    # The bound in the message is the largest value that passes, the other sizes as given.
    _, _, err = dynamics(capsys, "--method", "anil", "--T", "1e9")
    largest = int(err.split("--T must be at most ")[1].split()[0])
    assert largest > 1_000_000
    check_cost(Instance(T=largest), 1)
    with pytest.raises(ParameterError, match="T must be at most"):
        check_cost(Instance(T=largest + 1), 1)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "(an empty file)"), (None, "BadZipFile"), (b"PK\x03\x04 not really", "BadZipFile")],
)
def test_an_empty_or_truncated_init_file_is_one_line(capsys, tmp_path, content, reason):
    path = tmp_path / "start.npz"
    if content is None:  # a valid archive cut short
        good = _init_file(tmp_path, "good.npz")
        content = open(good, "rb").read()[:-40]
    path.write_bytes(content)
    code, _, err = dynamics(capsys, "--method", "anil", "--init", str(path))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("maml-theory: error: --init must be a readable .npz file") and str(path) in err
    assert reason in lines[0]


def test_an_init_file_without_fixed_tasks_says_the_task_set_is_fixed(capsys, tmp_path):
    good = _init_file(tmp_path, "good.npz")
    code, r, _ = dynamics(capsys, "--method", "anil", "--T", "2", "--init", good)
    assert code == 0 and r["fixed_tasks"] is True and r["note"] == IMPLIED_FIXED_TASKS
    code, r, _ = dynamics(capsys, "--method", "anil", "--T", "2", "--init", good, "--fixed-tasks")
    assert code == 0 and r["fixed_tasks"] is True and "note" not in r
    assert main(["dynamics", "--method", "anil", "--T", "2", "--init", good]) == 0
    assert f"  note: {IMPLIED_FIXED_TASKS}" in capsys.readouterr().out.splitlines()
    code, r, _ = dynamics(capsys, "--method", "anil", "--T", "2", "--init", "random")
    assert code == 0 and r["fixed_tasks"] is False and "note" not in r


def test_random_init_where_the_theory_init_is_out_of_reach(capsys):
    code, _, err = dynamics(capsys, "--method", "anil", "--d", "80", "--k", "5", "--T", "5")
    assert code == 2 and len(err.strip().splitlines()) == 1
    # Not just "must be random (got 'theory')": which start is out of reach, why, and what to pass instead.
    assert "the theory's start (w_0 = 0, αB_0ᵀB_0 = I with dist(B_0, B_*)² < 0.9, drawn by rejection)" in err
    assert "is out of reach: no uniformly random frame among the 100000 drawn met" in err
    assert "--init random or --init FILE.npz" in err and "at d = 80, k = 5" in err
    code, _, err = dynamics(capsys, "--method", "anil", "--d", "400")  # refused before drawing
    assert (
        code == 2 and "out of reach: a uniformly random frame meets dist² < 0.9 with probability below" in err
    )
    code, r, _ = dynamics(capsys, "--method", "anil", "--d", "80", "--k", "5", "--T", "5", "--init", "random")
    assert code == 0 and len(r["dist"]) == 6
