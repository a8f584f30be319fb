"""The architecture's layers, read from the import statements of the source (no module is imported).

theory (sympy, plus numpy for evaluating a claim at numbers) → numerics → reports: a layer imports only the
ones before it. Inside numerics the independent routes (simulators, samplers, Monte Carlo, autograd oracles)
reach their numbers from the model definitions alone: they import nothing from theory and no closed form,
directly or through another module, so that comparing them with the closed forms checks something. And the
installed package, maml_theory, carries every source folder (pyproject's explicit package list).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("theory", "numerics", "reports")
PREFIX = "maml_theory."

# The independent numeric routes: their (transitive) imports must stay clear of theory and closed forms.
ROUTES = (
    "numerics.landscape.instances",
    "numerics.landscape.oracle",
    "numerics.landscape.montecarlo",
    "numerics.landscape.minimisers",
    "numerics.representation.instances",
    "numerics.representation.simulate",
    "numerics.representation.sampling",
    "numerics.representation.oracle",
    "numerics.representation.distance",
    "numerics.representation.dynamics",
    "numerics.representation.floor",
    "numerics.representation.baselines",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The project modules ``path`` imports (names without the maml_theory. prefix), at any depth of the
    file (imports inside functions count: a lazy import is still a dependency)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n.removeprefix(PREFIX) for n in names if n.startswith(PREFIX)}
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for layer in LAYERS for p in (ROOT / layer).rglob("*.py")}
    # "from maml_theory.x import y" names y, which is a module only sometimes: keep the names that are.
    return {name: {m for m in _imports(p) if m in modules} for name, p in modules.items()}


GRAPH = _graph()


def _closure(name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        for dep in GRAPH[todo.pop()]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_the_graph_is_read():
    # The test must see real imports, or it passes vacuously.
    assert "numerics.landscape.closed_form" in GRAPH
    assert "theory.landscape.adaptation" in GRAPH["numerics.landscape.closed_form"]
    assert set(ROUTES) <= set(GRAPH)


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_layers(name: str):
    layer = LAYERS.index(name.split(".")[0])
    above = {dep for dep in GRAPH[name] if LAYERS.index(dep.split(".")[0]) > layer}
    assert not above, f"{name} imports from a later layer: {sorted(above)}"


# The one theory module a route may import: a Method is a value (which blocks adapt, first order or not, how
# many inner steps) with no mathematics in it: a route that takes one still derives nothing from the theory.
ROUTE_ALLOWED = {"theory.method"}


@pytest.mark.parametrize("name", ROUTES)
def test_routes_are_independent_of_the_theory(name: str):
    reached = _closure(name) - ROUTE_ALLOWED
    bad = sorted(m for m in reached if m.startswith("theory") or m.endswith("closed_form"))
    assert not bad, f"{name} reaches {bad}"


def test_the_method_value_imports_only_the_standard_library():
    # What makes theory.method safe for the routes: it reaches no project module and no third-party library.
    path = ROOT / "theory" / "method.py"
    assert GRAPH["theory.method"] == set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for n in names:
                assert n.split(".")[0] in sys.stdlib_module_names | {"__future__"}, n


def test_the_routes_do_take_the_method_value():
    # Without this the allowance above could outlive its use unnoticed.
    assert "theory.method" in _closure("numerics.representation.simulate")


def test_the_theory_uses_no_numeric_library_but_numpy():
    for path in (ROOT / "theory").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for n in names:
                    assert n.split(".")[0] not in {"scipy", "autograd", "matplotlib", "jax"}, (path, n)


def test_the_installed_package_lists_every_source_folder():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = {PREFIX + _module_name(p) for layer in LAYERS for p in (ROOT / layer).rglob("__init__.py")}
    assert set(config["packages"]) == folders
    assert {k.removeprefix(PREFIX) for k in config["package-dir"]} == set(LAYERS)
