"""Figures: every one builds from its config, carries that config in both files, draws the project's numbers
(closed forms exactly, Monte Carlo within 6 SE), and the contraction matrix C̄_t agrees with the simulator."""

import io
import math
import re
import tomllib
from importlib import resources

import numpy as np
import pytest
from PIL import Image

from maml_theory.numerics.landscape.closed_form import easy_hard
from maml_theory.numerics.representation.instances import Instance
from maml_theory.numerics.representation.simulate import simulate
from maml_theory.reports import figures
from maml_theory.reports.cli import main
from maml_theory.reports.figures import common, config, contraction, gain_vs_alpha_train, gain_vs_separation
from maml_theory.reports.figures.progress import Progress

LATEX_SPECIAL = set("\\{}$&#^_%~<>|")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    return out, figures.build(None, out, quick=True, progress=False)


def pdf_info(data: bytes, key: str) -> str:
    """The literal string stored under /key in a PDF's info dictionary (as matplotlib escapes it)."""
    i = data.index(b"/" + key.encode() + b" (") + len(key) + 3
    unescape = {ord("n"): b"\n", ord("r"): b"\r", ord("("): b"(", ord(")"): b")", ord("\\"): b"\\"}
    out = bytearray()
    while data[i] != ord(")"):
        if data[i] == ord("\\"):
            i += 1
            out += unescape[data[i]]
        else:
            out.append(data[i])
        i += 1
    return out.decode("latin-1")


def test_every_figure_is_written_with_its_config_in_the_metadata(built):
    out, results = built
    assert [r.name for r in results] == list(figures.NAMES)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{name}.{ext}" for name in figures.NAMES for ext in ("pdf", "png")
    )
    for r in results:
        expected = config.load(r.name, quick=True)
        assert r.config == expected and expected["variant"] == "quick"
        assert r.pdf.stat().st_size > 1000 and r.png.stat().st_size > 1000
        with Image.open(r.png) as png:
            assert tomllib.loads(png.text["Description"]) == expected
            assert png.text["Comment"] == r.caption
        pdf = r.pdf.read_bytes()
        assert pdf.startswith(b"%PDF")
        assert tomllib.loads(pdf_info(pdf, "Keywords")) == expected
        assert pdf_info(pdf, "Subject") == r.caption


def test_captions_are_latex_safe_sentences_naming_the_seed(built):
    _, results = built
    for r in results:
        assert r.caption.isascii() and not LATEX_SPECIAL & set(r.caption), r.caption
        assert r.caption.endswith(".") and re.search(rf"seeds? {r.config['seed']}\b", r.caption.lower()), (
            r.caption
        )
    # Spec R §4.8: FO-MAML diverges at the defaults; the figure says so rather than plotting garbage.
    (figure1,) = (r for r in results if r.name == "r-figure1")
    assert "FO-MAML diverged in" in figure1.caption


def test_every_config_round_trips_through_toml_and_its_quick_keys_exist():
    shipped = sorted(
        p.name.removesuffix(".toml")
        for p in (resources.files("maml_theory.reports.figures") / "configs").iterdir()
    )
    assert shipped == sorted(figures.NAMES)
    for name in figures.NAMES:
        for quick in (False, True):
            c = config.load(name, quick)
            assert tomllib.loads(config.dumps(c)) == c
            assert "seed" in c and "quick" not in c
    odd = {"x": math.inf, "y": [1, 2.5, "a\nb"], "t": {"u": {"v": False}}, "key with space": -0.0}
    assert tomllib.loads(config.dumps(odd)) == odd


def test_a_table_missing_a_parameter_is_refused():
    table = {"d": 20, "k": 3, "n": 20, "alpha": 0.1, "beta": 1.0, "T": 10, "sigma": 0.0, "mu": 1.0}
    with pytest.raises(ValueError, match="fixed_tasks"):
        common.representation_instance(table)


def test_same_config_gives_the_same_bytes(built, tmp_path):
    (first,) = (r for r in built[1] if r.name == "l-clusters")
    (again,) = figures.build(["l-clusters"], tmp_path, quick=True, progress=False)
    assert first.png.read_bytes() == again.png.read_bytes()
    assert first.pdf.read_bytes() == again.pdf.read_bytes()


@pytest.mark.parametrize(("method", "beta"), [("anil", 1.0), ("nal", 0.1)])
def test_contraction_trace_runs_the_simulator(method, beta):
    # The same draws; the simulator steps in span(B_0, B_*) coordinates, so round-off differs (about 1e-15
    # relative per step over 40 steps of a contracting map).
    inst = Instance(T=40, beta=beta)
    trace = contraction.trace(method, inst, seed=3, runs=3)
    traj = simulate(method, inst, np.random.default_rng(3), runs=3)
    np.testing.assert_allclose(trace.B_final, traj.B_final, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(trace.w_final, traj.w_final, rtol=1e-10, atol=1e-12)
    if method == "nal":  # C = wwᵀ: one eigenvalue β‖w‖², the others exact zeros
        assert np.allclose(trace.eigenvalues[..., :-1], 0.0, atol=1e-15)


def test_gain_vs_r_draws_the_closed_form_and_monte_carlo_agrees():
    cfg = config.load("l-gain-vs-r", quick=True)
    data = gain_vs_separation.compute(cfg, Progress("test", enabled=False))
    fig = gain_vs_separation.draw(data, cfg)
    for ax, m in zip(fig.axes, cfg["m"], strict=True):
        lines = {line.get_label(): line for line in ax.get_lines()}
        for nu in cfg["nu_hard"]:
            line = lines[f"$\\nu_H$ = {nu:g}"]
            x, y = line.get_xdata(), line.get_ydata()
            for i in (0, len(x) // 3, len(x) - 1):
                inst = common.landscape_instance(cfg["instance"], m=m, nu_hard=nu, R=float(x[i]))
                assert y[i] == easy_hard(inst).gain
    # G hat = mean_NAL/mean_MAML over iid tasks: asymptotically normal with the delta-method SE.
    for panel in data["panels"]:
        for nu, points in panel["mc"].items():
            for R, gain, se in points:
                exact = easy_hard(
                    common.landscape_instance(cfg["instance"], m=panel["m"], nu_hard=nu, R=R)
                ).gain
                assert abs(gain - exact) <= 6 * se, (panel["m"], nu, R, gain, exact, se)


def test_gain_vs_alpha_train_draws_the_closed_form_and_marks_an_optimum_no_grid_point_beats():
    cfg = config.load("l-gain-vs-alpha-train", quick=True)
    data = gain_vs_alpha_train.compute(cfg, Progress("test", enabled=False))
    fig = gain_vs_alpha_train.draw(data, cfg)
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    for curve in data["curves"]:
        line = lines[f"m = {curve['m']:g}"]
        x, y = line.get_xdata(), line.get_ydata()
        for i in (0, len(x) // 2, len(x) - 1):
            inst = common.landscape_instance(cfg["instance"], m=curve["m"], alpha_train=float(x[i]))
            assert y[i] == easy_hard(inst).gain
        # The closed-form optimum is the maximum: the grid reaches it to within its own spacing, never above.
        assert np.max(y) <= curve["best"] * (1 + 1e-12)
    # The instance's optimum includes a negative α_train at every m drawn, inside the plotted range.
    assert all(c["optimum"].min() < 0 for c in data["curves"])
    assert all(cfg["alpha_train_min"] <= c["optimum"].min() for c in data["curves"])


def test_progress_bar_only_when_asked():
    stream = io.StringIO()
    assert list(Progress("x", enabled=True, stream=stream).iterate([1, 2])) == [1, 2]
    assert stream.getvalue().endswith("2/2\n") and "\r" in stream.getvalue()
    quiet = io.StringIO()
    assert list(Progress("x", enabled=None, stream=quiet).iterate([1, 2])) == [
        1,
        2,
    ]  # StringIO is no terminal
    assert quiet.getvalue() == ""


def test_cli_unknown_figure_is_one_line_exit_2(capsys):
    code = main(["figures", "--only", "bogus"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("maml-theory: error: --only must be one of ")
    assert all(name in lines[0] for name in figures.NAMES) and "'bogus'" in lines[0]


def test_cli_only_writes_just_that_figure(capsys, tmp_path):
    code = main(["figures", "--only", "l-clusters", "--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l-clusters.pdf", "l-clusters.png"]
    assert len(out.strip().splitlines()) == 1 and "l-clusters" in out
