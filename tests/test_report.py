"""The LaTeX report: the quick report compiles with no LaTeX error or undefined reference, and its PDF, read
back with poppler's pdftotext, holds every section, every claim id and every figure. TeX is required: CI
installs it (.ci/run), and a missing latexmk fails here rather than skipping the check."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp

from maml_theory.reports import figures, report
from maml_theory.reports.cli import main
from maml_theory.theory import tex
from maml_theory.theory.claims import registered
from maml_theory.theory.derivation import Derivation
from maml_theory.theory.relations import definition

SECTIONS = (
    "Provenance",
    "Spec L: the task landscape",
    "Spec R: representation learning",
    "Derivations",
    "Finite samples: the floor",
    "Finite samples: the baselines",
)


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert shutil.which("latexmk"), "latexmk is needed (Debian: " + report.TEX_PACKAGES + ")"
    tex_path = report.write(out, quick=True, progress=lambda _: None)
    return report.compile_pdf(tex_path)


def test_quick_report_compiles_and_reads_back(quick_report) -> None:
    assert quick_report.pdf is not None and quick_report.pdf.stat().st_size > 0
    text = subprocess.run(["pdftotext", str(quick_report.pdf), "-"], capture_output=True, text=True).stdout
    for section in (*SECTIONS, "Claims", "Figures"):
        assert section in text, section
    ids = text.replace(".\n", ".")  # the claims table wraps a long id at its dots
    missing = [c.id for c in registered("L.") + registered("R.") if c.id not in ids]
    assert not missing
    for name in figures.NAMES:
        assert name in text, name
    assert "✓" in text or "\u2713" in text  # the machine-checked rewrites are marked
    assert "Result checked by claim R.perp.anil: proved" in text


def overfull(log: str, limit_pt: float = 1.0) -> list[str]:
    """The overfull-box warnings of a LaTeX log that exceed ``limit_pt``."""
    found = re.findall(r"^(Overfull \\[hv]box \((\d+(?:\.\d+)?)pt too \w+\).*)$", log, re.M)
    return [line for line, pt in found if float(pt) > limit_pt]


def test_overfull_is_read_from_the_log() -> None:
    log = "Overfull \\hbox (60.2pt too wide) in paragraph at lines 3--4\nOverfull \\hbox (0.5pt too wide) x\n"
    assert overfull(log) == ["Overfull \\hbox (60.2pt too wide) in paragraph at lines 3--4"]


def assert_typesets_cleanly(done: report.Report) -> None:
    """Nothing sticks out of the page by more than 1 pt, every reference resolves, no placeholder stands in
    for an expression, and no character prints as another (OT1's < > as ¡ ¿)."""
    log = done.tex.with_suffix(".log").read_text(errors="replace")
    assert not overfull(log), overfull(log)[:5]
    assert "undefined" not in log.lower()
    text = subprocess.run(["pdftotext", str(done.pdf), "-"], capture_output=True, text=True).stdout
    for bad in ("¡", "¿", "character expression", "maml-theory derive prints it"):
        assert bad not in text, bad
    assert "resizebox" not in done.tex.read_text()


def test_quick_report_typesets_cleanly(quick_report) -> None:
    assert_typesets_cleanly(quick_report)


@pytest.mark.slow
def test_full_report_typesets_cleanly(tmp_path) -> None:
    # The main job itself (every claim with its search, the slow proofs, the full figures): a few minutes.
    assert_typesets_cleanly(report.compile_pdf(report.write(tmp_path, progress=lambda _: None)))


def test_the_tex_packages_are_named_alike_everywhere() -> None:
    # The report's message, the README and CI's install line name the same Debian packages.
    root = Path(__file__).resolve().parents[1]
    ci = (root / ".ci" / "run").read_text()
    installed = set(re.search(r"apt-get install[^\n]*\\\n\s*([^>]*)>", ci).group(1).split())
    assert installed == set(report.TEX_PACKAGES.split()) | {"poppler-utils"}
    assert report.TEX_PACKAGES in " ".join((root / "README.md").read_text().split())


def test_without_latexmk_the_tex_is_written_and_the_packages_named(tmp_path, monkeypatch) -> None:
    (tmp_path / "report.tex").write_text("\\documentclass{article}\\begin{document}x\\end{document}\n")
    monkeypatch.setattr(shutil, "which", lambda _: None)
    done = report.compile_pdf(tmp_path / "report.tex")
    assert done.pdf is None and "texlive-latex-recommended" in done.message and "latexmk" in done.message


def test_a_latex_error_is_reported(tmp_path, capsys) -> None:
    (tmp_path / "report.tex").write_text(
        "\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}\n"
    )
    with pytest.raises(report.LatexError, match="Undefined control sequence"):
        report.compile_pdf(tmp_path / "report.tex")


def test_unicode_becomes_ascii_tex() -> None:
    assert tex.text("B_⊥ᵀθ̄ ≤ ½") == (
        r"B\_\ensuremath{\perp}\ensuremath{^{\top}}\ensuremath{\bar{\theta}} "
        r"\ensuremath{\le} \ensuremath{\tfrac{1}{2}}"
    )
    with pytest.raises(ValueError, match="U\\+2603"):
        tex.text("☃")


def test_rewrites_are_checked_and_a_wrong_one_is_flagged() -> None:
    a, b = sp.symbols("a b", positive=True)
    X = sp.MatrixSymbol("X", 3, 3)
    dv = Derivation("T.d", "t", "tests")
    dv.step("define", (a + b) ** 2, "s", by=definition())
    dv.step("expand", a**2 + 2 * a * b + b**2, "s")
    dv.step("wrong", a**2 + b**2, "s")
    dv.step("a matrix", X * (X + X.T), "M")
    dv.step("expand", X * X + X * X.T, "M")
    dv.step("not symmetric", X * X + X * X, "M")
    kinds = [(c.kind, c.ok) for c in dv.checks()]
    assert kinds[0] == ("definition", True) and kinds[3] == ("unchecked", False)
    assert [ok for _, ok in kinds[1:3]] == [True, False] and [ok for _, ok in kinds[4:]] == [True, False]
    assert dv.checks((X,))[5].ok  # with X symmetric, XXᵀ = XX
    latex = dv.latex()
    assert "CHECK FAILED" in latex and r"\checkmark" in latex and "NOT CHECKED" in latex


def test_long_sums_break_between_summands() -> None:
    x = sp.symbols("x0:40")
    rows = tex.lines(sp.Add(*x))
    assert len(rows) > 1 and all(tex.width(r) <= tex.LINE for r in rows)
    assert sp.sympify(" + ".join(r.replace("_{", "").replace("}", "") for r in rows)) == sp.Add(*x)


def test_long_summands_are_named_once_each_and_put_back_exactly() -> None:
    # A product of long sums: every summand of the result and of each definition fits a line, each name is
    # defined once, and putting the definitions back gives the expression itself.
    a, b = sp.symbols("a b")
    long_sum = sp.Add(*sp.symbols("y0:45"))
    # The same long sum in two summands: naming it in the first must rename it in the second too.
    expr = a * long_sum * (b + long_sum**2) + b * long_sum + sp.Add(*sp.symbols("x0:30"))
    short, definitions = tex.named(expr)
    names = [n for n, _ in definitions]
    assert names and len(set(names)) == len(names)
    assert not any(d in names for _, d in definitions)  # no name merely renames another
    for e in (short, *(d for _, d in definitions)):
        assert all(tex.width(tex.latex(t)) <= tex.WIDE for t in tex._terms(e))
    back = short
    for _ in names:
        back = back.xreplace(dict(definitions))
    assert sp.expand(back - expr) == 0
    assert tex.named(sp.Add(*sp.symbols("x0:30"))) == (sp.Add(*sp.symbols("x0:30")), [])  # nothing to name


def test_report_command_without_tex_says_what_to_install(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(report, "write", lambda out, **_: _stub(out))
    monkeypatch.setattr(shutil, "which", lambda _: None)
    assert main(["report", "--out", str(tmp_path)]) == 0
    assert "install texlive-latex-recommended" in capsys.readouterr().out


def _stub(out):
    path = out / "report.tex"
    path.write_text("x")
    return path


def test_the_floor_section_shows_a_saved_result_and_says_which(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # results are saved under reports/build/results of the working directory
    argv = ["floor", "--methods", "fo-anil", "--d", "6,8", "--T", "40", "--runs", "2", "--save"]
    assert main(argv) == 0
    section = report._floor_section(quick=False)
    assert "saved by maml-theory floor --methods fo-anil --d 6,8" in section
    assert "on 20" in section  # the date it was saved
    # The quick report never reads a saved result: it runs its own grid and says so.
    assert "the quick configuration, computed for this report" in report._floor_section(quick=True)


def test_the_baselines_section_shows_a_saved_result_and_says_which(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["baselines", "--m-in", "2", "--m-out", "2", "--n", "2", "--T", "3", "--budgets", "8,24", "--save"]
    assert main(argv) == 0
    section = report._baselines_section(quick=False)
    assert "saved by maml-theory baselines --d None" not in section  # defaults are written as values
    assert "saved by maml-theory baselines" in section and "--budgets 8,24" in section
    assert section.count(r"\\") >= 8  # a row per method (seven) and the header
