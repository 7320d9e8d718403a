"""evalkit's folders are layers: no folder-level import cycle (README, "Layout").

Runtime imports only (inside `if TYPE_CHECKING:` they are annotations); lazy imports inside
functions count, since they run. `evalkit/__init__.py` and `__main__.py` are the package's
facade and may import any layer."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "evalkit"
FACADE = {PACKAGE / "__init__.py", PACKAGE / "__main__.py"}


def _group(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "evalkit":
        return None
    if len(parts) > 1 and (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return "<top-level>"


def _runtime_imports(node: ast.AST) -> list[str]:
    found: list[str] = []
    if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
        for child in node.orelse:
            found += _runtime_imports(child)
        return found
    if isinstance(node, ast.Import):
        found += [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        found.append(node.module)
        found += [f"{node.module}.{alias.name}" for alias in node.names]
    for child in ast.iter_child_nodes(node):
        found += _runtime_imports(child)
    return found


def folder_edges(package: Path = PACKAGE) -> dict[tuple[str, str], str]:
    """(importing folder, imported folder) -> one place it happens, for every crossing import."""
    edges: dict[tuple[str, str], str] = {}
    for path in sorted(package.rglob("*.py")):
        if path in FACADE:
            continue
        parts = path.relative_to(package.parent).with_suffix("").parts
        source = _group(".".join(parts).removesuffix(".__init__"))
        assert source is not None
        for target in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            group = _group(target)
            if group is not None and group != source:
                edges.setdefault((source, group), f"{path.relative_to(REPO)} imports {target}")
    return edges


def cycles(edges: dict[tuple[str, str], str]) -> list[list[str]]:
    """Folders that reach each other (strongly connected components larger than one)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reachable = {node: reach(node) for node in graph}
    components = {
        frozenset({n for n in graph if n in reachable[node] and node in reachable[n]})
        for node in graph
    }
    return sorted(sorted(c) for c in components if len(c) > 1)


def test_no_folder_level_import_cycle():
    edges = folder_edges()
    found = cycles(edges)
    where = [f"{a} -> {b}: {edges[(a, b)]}" for c in found for a in c for b in c if (a, b) in edges]
    assert not found, "folder-level import cycles:\n" + "\n".join(where)


def test_a_cycle_is_found():
    edges = {("a", "b"): "x", ("b", "c"): "y", ("c", "a"): "z", ("c", "d"): "w"}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({("a", "b"): "x"}) == []


def test_type_checking_imports_do_not_count():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from evalkit.stats import x\n"
        "def f():\n    from evalkit.store import y\n"
    )
    found = _runtime_imports(tree)
    assert "evalkit.store" in found and "evalkit.stats" not in found
