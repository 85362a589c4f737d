"""The layout of SPEC.md holds: flows -> tasks -> receivables, one direction.  The library
never imports Prefect, the flows or the tasks, so it runs and is tested without them."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

FORBIDDEN = ("prefect", "prefect_dask", "flows", "tasks")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_the_library_imports_no_prefect_flows_or_tasks() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for path in sorted((REPO / "receivables").rglob("*.py"))
        for line, name in _imports(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert not offenders, "\n".join(offenders)


def test_tasks_never_import_flows() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for path in sorted((REPO / "tasks").rglob("*.py"))
        for line, name in _imports(path)
        if name.split(".")[0] == "flows"
    ]
    assert not offenders, "\n".join(offenders)
