"""The package's shape, read from its sources with `ast` (nothing is imported):

- no import cycle anywhere in ganbench;
- core/ imports nothing from runs/, report/, cli/, stability/ or the variant registry;
- runs/ is never imported by core/, report/ never by runs/ or core/;
- the registry (`ganbench.variants`) is imported in one module: runs/plan.py;
- neither core/ nor runs/ names a variant.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ganbench.variants import VARIANTS

PACKAGE = Path(__file__).resolve().parent.parent / "ganbench"
REGISTRY = "ganbench.variants"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every ganbench module `name` imports, at the top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # `from . import x` may import a submodule x; `from .m import f` imports m.
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in known else stem for a in node.names]
        else:
            continue
        for target in targets:
            if target == REGISTRY or target.startswith(REGISTRY + "."):
                found.add(REGISTRY)
            elif target in known:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) - {name} for name, path in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            # A package imports its own submodules to register them; that is not a cycle back.
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def without_parent_package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """A module `a.b` importing its package `a` (for a registry function defined in
    a/__init__.py) while `a/__init__.py` imports `a.b` to register it is the standard
    registry shape, not a design cycle: drop the package -> own-submodule edges."""
    return {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in edges.items()}


def test_the_graph_reader_sees_relative_and_function_local_imports(tmp_path):
    edges = graph()
    assert "ganbench.core.step" in edges["ganbench.core.loop"]  # from .step import Trainer
    assert "ganbench.config" in edges["ganbench.core.loop"]  # from ..config import ...
    assert REGISTRY in edges["ganbench.runs.plan"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles_in_the_package():
    cycle = find_cycle(without_parent_package_edges(graph()))
    assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        ("ganbench.core", ("ganbench.runs", "ganbench.report", "ganbench.cli", "ganbench.stability", REGISTRY)),
        ("ganbench.runs", ("ganbench.report", "ganbench.cli", "ganbench.stability")),
        ("ganbench.report", ("ganbench.cli", "ganbench.stability", "ganbench.core.loop", "ganbench.runs.schedule")),
        ("ganbench.metrics", ("ganbench.runs", "ganbench.report", "ganbench.cli", "ganbench.core.loop", REGISTRY)),
        ("ganbench.data", ("ganbench.core", "ganbench.runs", "ganbench.report", "ganbench.cli", REGISTRY)),
    ],
)
def test_imports_go_one_way(layer, forbidden):
    bad = [
        f"{m} imports {t}"
        for m, targets in graph().items()
        if m == layer or m.startswith(layer + ".")
        for t in targets
        if any(t == f or t.startswith(f + ".") for f in forbidden)
    ]
    assert not bad, bad


def test_the_registry_is_imported_in_one_place():
    importers = sorted(m for m, targets in graph().items() if REGISTRY in targets)
    assert importers == ["ganbench.runs.plan"]


def test_neither_the_core_nor_the_runs_name_a_variant():
    """n_critic, losses, penalty and norms come from the Variant object, never a name."""
    files = [p for folder in ("core", "runs") for p in sorted((PACKAGE / folder).rglob("*.py"))]
    assert len(files) >= 10
    for path in files:
        source = path.read_text()
        for name in VARIANTS:
            assert not re.search(rf"\b{re.escape(name)}\b", source, re.IGNORECASE), f"{path.name} names {name}"


def test_the_training_loop_stays_a_short_read():
    assert len((PACKAGE / "core" / "loop.py").read_text().splitlines()) <= 200


def test_every_package_folder_is_installed():
    """pyproject.toml lists the packages: a new folder missing there is missing from a wheel."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {module_name(p.parent / "__init__.py") for p in PACKAGE.rglob("__init__.py")}
    assert folders | {"ganbench.variants"} == listed
