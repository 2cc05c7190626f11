"""Rules of the tree: the benchmarks and the harness run without the test suite."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("tree", ["bench", "harness"])
def test_the_benchmarks_and_the_harness_import_nothing_from_the_tests_or_pytest(tree: str):
    offenders = {
        f"{path.relative_to(REPO_ROOT)}: {name}"
        for path in sorted((REPO_ROOT / tree).rglob("*.py"))
        for name in imported_modules(path)
        if name == "tests" or name.startswith(("tests.", "pytest", "_pytest"))
    }
    assert offenders == set()
