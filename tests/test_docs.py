"""The repository documents itself: docs/ resolves every spec reference, and the claim catalogue is current.

(a) No file points outside the repository to the planning folder next to it (a clone has none).
(b) Every "spec L §N" / "spec R §N" in the sources, tests, figure configs, README and docs names a section
    heading of docs/landscape.md / docs/representation.md that carries the number N; lists ("§1, §3.2") and
    ranges ("§4.3–4.4", both ends) included. Inside those two documents a bare "§N" must name their own
    heading.
(c) docs/claims.md is exactly what ``python -m maml_theory.reports.catalogue`` prints now.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from maml_theory.reports import catalogue
from maml_theory.theory.claims import Claim, Provenance

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SPEC_DOCS = {"L": DOCS / "landscape.md", "R": DOCS / "representation.md"}

# The planning folder's relative path, assembled so that this file does not contain it.
OUTSIDE = "/".join(("..", "shared"))
SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", "build"}
"""Not the repository's content: version control, caches, and generated output (reports/build)."""

SECTION = r"\d+(?:\.\d+)?(?:[a-z](?![a-z]))?"
SPAN = rf"{SECTION}(?:\s*[–-]\s*{SECTION})?"
REFERENCE = re.compile(rf"\b[Ss]pec ([LR])(?:'s)? §({SPAN}(?:,\s*§{SPAN})*)")
BARE = re.compile(rf"§({SPAN})")
HEADING = re.compile(rf"^#{{1,6}} §({SECTION}) ", flags=re.M)
SCANNED = ("theory", "numerics", "reports", "tests", "benchmarks", "docs")
SUFFIXES = {".py", ".md", ".tex", ".toml"}


def _repository_files() -> list[Path]:
    out = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        out += [Path(folder) / f for f in files]
    return out


def test_no_file_points_outside_the_repository():
    files = _repository_files()
    assert len(files) > 50  # the walk saw the repository, not an empty folder
    offenders = [str(p.relative_to(ROOT)) for p in files if OUTSIDE.encode() in p.read_bytes()]
    assert not offenders, f"{OUTSIDE} is cited in: {offenders}"


def sections(span_list: str) -> list[str]:
    """The section numbers of "1, §3.2" or "4.3–4.4" (a range gives both ends)."""
    return re.findall(SECTION, span_list)


def references(text: str) -> list[tuple[str, str]]:
    """(spec, section) for every "spec L §N" / "spec R §N" in ``text``."""
    return [(spec, s) for spec, spans in REFERENCE.findall(text) for s in sections(spans)]


def headings(doc: Path) -> set[str]:
    return set(HEADING.findall(doc.read_text()))


def unresolved(text: str, known: dict[str, set[str]]) -> list[str]:
    return [f"spec {spec} §{s}" for spec, s in references(text) if s not in known[spec]]


@pytest.fixture(scope="module")
def known() -> dict[str, set[str]]:
    return {spec: headings(doc) for spec, doc in SPEC_DOCS.items()}


def _scanned_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in SCANNED:
        files += sorted(p for p in (ROOT / folder).rglob("*") if p.suffix in SUFFIXES and p.is_file())
    # This file holds deliberately bogus references to show that the check can fail.
    return [p for p in files if p != Path(__file__).resolve()]


def test_every_spec_reference_names_a_section_heading(known):
    found, missing = 0, []
    for path in _scanned_files():
        text = path.read_text()
        found += len(references(text))
        missing += [f"{path.relative_to(ROOT)}: {r}" for r in unresolved(text, known)]
    assert found > 100  # the scan reached the code's references (about 150 of them)
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("spec", sorted(SPEC_DOCS))
def test_a_spec_documents_own_section_references_resolve(spec, known):
    cited = {s for spans in BARE.findall(SPEC_DOCS[spec].read_text()) for s in sections(spans)}
    assert cited, "the document cites none of its own sections"
    assert cited <= known[spec], sorted(cited - known[spec])


def test_references_are_parsed_with_lists_and_ranges():
    text = "spec L §1, §3.2; Spec R §4.3–4.4 and spec R §4.1-4.2's C; spec L §3.6a; spec R §2–3"
    assert references(text) == [
        ("L", "1"),
        ("L", "3.2"),
        ("R", "4.3"),
        ("R", "4.4"),
        ("R", "4.1"),
        ("R", "4.2"),
        ("L", "3.6a"),
        ("R", "2"),
        ("R", "3"),
    ]


@pytest.mark.parametrize(
    "bogus",
    ["spec L §3.9", "spec L §3.6k", "Spec R §4.9", "spec R §4.3–4.9", "spec L §1, §3.8", "spec R §12"],
)
def test_a_bogus_reference_is_caught(bogus, known):
    assert unresolved(f"see {bogus} for the proof", known)


def test_the_real_sections_resolve(known):
    assert not unresolved("spec L §3.6e, spec L §1, §3.2, spec R §4.3–4.4, spec R §5", known)


def test_the_catalogue_is_what_the_registry_renders():
    done = subprocess.run(
        [sys.executable, "-m", "maml_theory.reports.catalogue"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (DOCS / "claims.md").read_text(), (
        "docs/claims.md is stale: python -m maml_theory.reports.catalogue > docs/claims.md"
    )


def test_catalogue_rows_escape_and_group_other_claims():
    x = sp.Symbol("x")
    mine = Claim("L.doc.test", "a row", "spec L §1", Provenance.DERIVED, "x | real", sp.Ge(x**2, x))
    user = Claim("U.doc.test", "a user's", "here", Provenance.ABSTRACT, "", sp.Le(x, x + 1))
    text = catalogue.render([mine, user])
    # The statement is printed from the relation; the note (setting) is escaped as it is.
    assert r"| `L.doc.test` | a row | x^2 ≥ x | x \| real | spec L §1 | derived | none |" in text
    assert text.index("## Spec L") < text.index("`L.doc.test`") < text.index("## Other claims")
    assert text.index("## Other claims") < text.index("`U.doc.test`")
    assert "## Spec R" not in text
