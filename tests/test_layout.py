"""The shape of the code base, as DESIGN.md draws it: dependencies point one way
(``veille -> {crawlers, enrich, index, alerts} -> ingest``), no stage package imports another,
and no two modules import each other, directly or around a circle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ingest", "crawlers", "enrich", "index", "alerts", "veille")
ALLOWED = {
    "ingest": {"ingest"},
    "crawlers": {"crawlers", "ingest"},
    "enrich": {"enrich", "ingest"},
    "index": {"index", "ingest"},
    "alerts": {"alerts", "ingest"},
    "veille": set(PACKAGES),
}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(path: Path, *, typing: bool) -> Iterator[str]:
    """The first-party modules ``path`` imports, wherever (in functions too: a cycle through a
    function-level import is still a cycle); with ``typing``, also those imported only under
    ``if TYPE_CHECKING``."""

    def walk(node: ast.AST) -> Iterator[str]:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            if (
                isinstance(child, ast.If)
                and "TYPE_CHECKING" in ast.unparse(child.test)
                and not typing
            ):
                for other in child.orelse:
                    yield from walk(other)
            else:
                yield from walk(child)

    tree = ast.parse(path.read_text(encoding="utf-8"))
    yield from (name for name in walk(tree) if name.split(".")[0] in PACKAGES)


def graph(*, typing: bool) -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for imported in imports(path, typing=typing):
            # `from a.b import c` names module a.b.c when there is one, else a name in a.b.
            target = imported
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges[name].add(target)
    return edges


def test_packages_depend_one_way() -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in graph(typing=True).items()
        for target in targets
        if target.split(".")[0] not in ALLOWED[name.split(".")[0]]
    )
    assert wrong == []


def test_no_module_imports_itself_around_a_circle() -> None:
    edges = graph(typing=False)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges[node]):
            # A package's __init__ that imports its own modules is how packages are written, not
            # a cycle between files: ``index.sqlite`` re-exporting ``index.sqlite.store``.
            if target.startswith(node + "."):
                continue
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_says_what_it_owns(package: str) -> None:
    silent = [
        str(path.relative_to(ROOT))
        for name, path in modules().items()
        if name.split(".")[0] == package
        and path.stat().st_size
        and ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None
    ]
    assert silent == []
