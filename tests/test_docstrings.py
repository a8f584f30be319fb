"""The examples in the docstrings run: every ``>>>`` in the package is executed (doctest), and the user-facing
API this README points to carries at least one example."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import maml_theory.numerics
import maml_theory.reports
import maml_theory.theory

MODULES = sorted(
    info.name
    for package in (maml_theory.theory, maml_theory.numerics, maml_theory.reports)
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
)

PUBLIC = (
    "maml_theory.theory.claims.Claim",
    "maml_theory.theory.notation",
    "maml_theory.theory.tex.named",
    "maml_theory.numerics.landscape.closed_form.easy_hard",
    "maml_theory.numerics.landscape.montecarlo.adapted_excess",
    "maml_theory.numerics.representation.dynamics.run",
    "maml_theory.numerics.verification.engine.verify",
)
"""The entry points a user calls from Python: each documents itself with a runnable example."""


def _object(path: str) -> object:
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError:  # the path names a module itself
        return importlib.import_module(path)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(module):
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} failing example(s) in {name} (run: python -m doctest)"


@pytest.mark.parametrize("path", PUBLIC)
def test_public_api_has_an_example(path: str) -> None:
    tests = doctest.DocTestFinder(recurse=False).find(_object(path), path)
    assert sum(len(t.examples) for t in tests) > 0, f"{path} has no >>> example"
