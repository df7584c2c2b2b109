"""The house rules that a machine can check: layers, lint, formatting and size.

* The import contracts in ``pyproject.toml`` (``lint-imports``): each layer of
  ``docs/architecture.md`` imports only the layers below it; algorithms never import the
  ``Chip``; nothing below the faces imports matplotlib.
* ``ruff check`` and ``ruff format --check`` over the repository.
* No module over :data:`MAX_MODULE_LINES` lines and no function (Numba kernels aside) over
  :data:`MAX_FUNCTION_LINES` lines of code, unless its docstring has a line starting with
  ``Length:`` that says why.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "neuromorph"
#: A module past this many lines is two modules (STYLE: "a module past ~700 lines ... is two").
MAX_MODULE_LINES = 700
#: Lines of code (docstring excluded) past which a function wants named steps.
MAX_FUNCTION_LINES = 80
#: Decorators that mark a Numba kernel, exempt from the function limit.
KERNEL_DECORATORS = {"njit", "njit_parallel", "jit", "vectorize"}


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    if exe.exists():
        return str(exe)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; `pip install -e '.[test]'` installs it.")
    return found


def _run(*cmd: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)


def test_import_contracts_hold():
    r = _run(_tool("lint-imports"), "--no-cache")
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_check_is_clean():
    r = _run(_tool("ruff"), "check", ".")
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format_is_clean():
    r = _run(_tool("ruff"), "format", "--check", ".")
    assert r.returncode == 0, r.stdout + r.stderr


def _says_why(node: ast.AST) -> bool:
    doc = ast.get_docstring(node) or ""
    return any(line.strip().startswith("Length:") for line in doc.splitlines())


def _is_kernel(fn: ast.FunctionDef) -> bool:
    for dec in fn.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in KERNEL_DECORATORS:
            return True
    return False


def _code_lines(fn: ast.FunctionDef) -> int:
    lines = fn.end_lineno - fn.lineno + 1
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            lines -= body[0].end_lineno - body[0].lineno + 1
    return lines


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_modules_are_short_or_say_why():
    long = []
    for path in _modules():
        n = len(path.read_text().splitlines())
        if n > MAX_MODULE_LINES and not _says_why(ast.parse(path.read_text())):
            long.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert not long, "modules over the limit without a 'Length:' reason:\n" + "\n".join(long)


def test_functions_are_short_or_say_why():
    long = []
    for path in _modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or _is_kernel(node):
                continue
            n = _code_lines(node)
            if n > MAX_FUNCTION_LINES and not _says_why(node):
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {n} lines")
    assert not long, "functions over the limit without a 'Length:' reason:\n" + "\n".join(long)


def test_the_size_rules_can_fail(tmp_path):
    src = "def f():\n" + "    x = 1\n" * (MAX_FUNCTION_LINES + 1)
    fn = ast.parse(src).body[0]
    assert _code_lines(fn) > MAX_FUNCTION_LINES and not _says_why(fn)
    why = 'def f():\n    """Do it.\n\n    Length: one pass over the rows, kept whole.\n    """\n'
    assert _says_why(ast.parse(why).body[0])


#: How a pointer to the developers' folder would be spelt (built so this file doesn't match).
_OUTSIDE = tuple(
    prefix + "shared" + suffix
    for prefix, suffix in (("../", ""), ("", "/REFERENCES"), ("", "/ARCHITECTURE"), ("", "/STYLE"))
)


def test_nothing_points_outside_the_repository():
    """Users never see the developers' shared folder: no file may point at it."""
    hits = []
    for path in ROOT.rglob("*"):
        if not path.is_file() or {".git", ".venv", "__pycache__"} & set(path.parts):
            continue
        if path.suffix not in {".py", ".md", ".toml", ".ipynb", ".sh", ".cfg", ".txt", ".cir"}:
            continue
        text = path.read_text(errors="replace")
        if any(marker in text for marker in _OUTSIDE):
            hits.append(str(path.relative_to(ROOT)))
    assert not hits, hits
