"""The guard against stale Numba caches (`neuromorph._numba.clear_stale_caches`).

Numba checks a cached kernel against its own source file only: a kernel calling a helper of
another module keeps the old helper's machine code after that module is edited.  The guard
hashes every source a kernel can reach and clears the package's caches when the hash moves.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import neuromorph
from neuromorph import _numba
from neuromorph._numba import CACHE_STAMP, clear_stale_caches, kernel_sources

#: A fake package in the project's layout: two kernel modules, the modules they reach, and
#: modules no kernel reaches.
FAKE = {
    "__init__.py": "from pkg.hardware import crossbar\n",
    "_numba.py": "njit = None\n",
    "consts.py": "K = 2\n",
    "unrelated.py": "from pkg import consts\n",
    "hardware/__init__.py": "from pkg.hardware import crossbar\n",
    "hardware/devices.py": '"""Devices.\n\nimport nothing here\n"""\n\nSTUCK = 1\n',
    "hardware/_kernels.py": "from pkg._numba import njit\nfrom pkg.hardware.devices import STUCK\n",
    "hardware/_pulse_kernels.py": (
        "from pkg.hardware._kernels import (\n    njit,  # the helper\n    STUCK,\n)\n"
        "from pkg import consts as c\n"
    ),
    "hardware/crossbar.py": "from pkg.hardware import _pulse_kernels\nfrom pkg import unrelated\n",
    "hardware/wires/__init__.py": "",
    "hardware/wires/_solve_kernels.py": "import pkg._numba\n",
}
#: The files a kernel of FAKE can reach.
REACHED = {
    "_numba.py",
    "consts.py",
    "hardware/devices.py",
    "hardware/_kernels.py",
    "hardware/_pulse_kernels.py",
    "hardware/wires/_solve_kernels.py",
}
#: Cache files as Numba names them, beside their modules.
CACHES = (
    "hardware/__pycache__/_pulse_kernels.apply_counts-150.py311.nbi",
    "hardware/__pycache__/_pulse_kernels.apply_counts-150.py311.1.nbc",
    "hardware/wires/__pycache__/_solve_kernels.path_dots-66.py311.nbi",
    "__pycache__/_kernels.normal-68.py311.2.nbc",
)
#: Files the guard must never delete: bytecode, and a cache Numba is writing right now.
KEPT = (
    "hardware/__pycache__/_kernels.cpython-311.pyc",
    "hardware/__pycache__/_pulse_kernels.apply_counts-150.py311.nbi.tmp.0123abcd",
)


def _fake_package(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    for name, text in FAKE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    _put_caches(root)
    for name in KEPT:
        (root / name).write_bytes(b"keep")
    return root


def _put_caches(root: Path) -> None:
    for name in CACHES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"compiled")


def _caches_left(root: Path) -> list[str]:
    return [name for name in CACHES if (root / name).exists()]


@pytest.fixture(autouse=True)
def _in_tree_caches(monkeypatch):
    """Numba caches beside the sources, as for every user without NUMBA_CACHE_DIR."""
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)


def test_kernel_sources_follow_imports_and_nothing_else(tmp_path):
    root = _fake_package(tmp_path)
    found = {p.relative_to(root).as_posix() for p in kernel_sources(root)}
    assert found == REACHED


def test_first_call_clears_and_stamps(tmp_path):
    root = _fake_package(tmp_path)
    assert clear_stale_caches(root) == "cleared"
    assert _caches_left(root) == []
    assert all((root / name).exists() for name in KEPT)
    assert re.fullmatch(r"[0-9a-f]{64}\n", (root / CACHE_STAMP).read_text())


def test_unchanged_sources_keep_the_caches(tmp_path):
    root = _fake_package(tmp_path)
    clear_stale_caches(root)
    _put_caches(root)
    assert clear_stale_caches(root) == "fresh"
    assert _caches_left(root) == list(CACHES)
    # An edit no kernel can reach keeps them too.
    (root / "hardware/crossbar.py").write_text("X = 3\n")
    assert clear_stale_caches(root) == "fresh"
    assert _caches_left(root) == list(CACHES)


@pytest.mark.parametrize("edited", sorted(REACHED))
def test_editing_a_reached_source_clears(tmp_path, edited):
    root = _fake_package(tmp_path)
    clear_stale_caches(root)
    _put_caches(root)
    with open(root / edited, "a") as f:
        f.write("# edited\n")
    assert clear_stale_caches(root) == "cleared"
    assert _caches_left(root) == []
    assert clear_stale_caches(root) == "fresh"


def test_a_renamed_source_clears(tmp_path):
    root = _fake_package(tmp_path)
    clear_stale_caches(root)
    _put_caches(root)
    (root / "consts.py").rename(root / "constants.py")
    (root / "constants.py").write_text("K = 2\n")
    (root / "hardware/_pulse_kernels.py").write_text("from pkg import constants\n")
    assert clear_stale_caches(root) == "cleared"


def test_text_moved_between_sources_clears(tmp_path):
    root = _fake_package(tmp_path)
    clear_stale_caches(root)
    _put_caches(root)
    # The same bytes in the same order, split differently between two files.
    (root / "_numba.py").write_text("")
    (root / "consts.py").write_text(FAKE["_numba.py"] + FAKE["consts.py"])
    assert clear_stale_caches(root) == "cleared"


def test_unwritable_stamp_never_raises(tmp_path, monkeypatch):
    root = _fake_package(tmp_path)

    def refuse(*args):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(os, "replace", refuse)
    assert clear_stale_caches(root) == "failed"
    assert not (root / CACHE_STAMP).exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores chmod")
def test_read_only_package_never_raises(tmp_path):
    root = _fake_package(tmp_path)
    folders = [root / "__pycache__", root / "hardware/__pycache__"]
    for folder in folders:
        folder.chmod(0o555)
    try:
        assert clear_stale_caches(root) == "failed"
    finally:
        for folder in folders:
            folder.chmod(0o755)


def test_user_cache_dir_is_left_alone(tmp_path, monkeypatch):
    root = _fake_package(tmp_path)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert clear_stale_caches(root) == "elsewhere"
    assert _caches_left(root) == list(CACHES)


def test_package_kernels_and_what_they_reach_are_hashed():
    """Every module of the package that compiles a kernel is a seed; their imports count."""
    root = Path(neuromorph.__file__).parent
    found = {p.relative_to(root).as_posix() for p in kernel_sources(root)}
    compiling = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*.py")
        if re.search(r"@(njit|numba\.njit|numba\.jit|jit)\b", p.read_text())
    }
    assert compiling, "no kernel found: the search above is broken"
    assert compiling <= found
    # Constants frozen into kernels come from modules without kernels.
    assert {"_numba.py", "_rng.py", "hardware/devices.py"} <= found
    assert "hardware/crossbar.py" not in found
    assert _numba.CACHE_STATUS in {"fresh", "cleared", "elsewhere", "failed"}


HELPER = "from numba import njit\n\n\n@njit(cache=True)\ndef f():\n    return {value}\n"
CALLER = (
    "from numba import njit\n\nfrom stalepkg.helper import f\n\n\n"
    "@njit(cache=True)\ndef g():\n    return f()\n"
)
GUARD = (
    "from neuromorph._numba import clear_stale_caches\n\n"
    'clear_stale_caches(__path__[0], seeds=("caller.py",))\n'
)


def _run_caller(folder: Path) -> int:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = os.pathsep.join([str(folder), env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, "-B", "-c", "import stalepkg.caller as c; print(c.g())"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(out.stdout)


def _edit_helper(package: Path) -> None:
    helper = package / "helper.py"
    before = helper.stat().st_mtime
    helper.write_text(HELPER.format(value=2))
    os.utime(helper, (before + 2, before + 2))  # a stamp by mtime sees the edit too


@pytest.mark.parametrize("guarded", [False, True])
def test_edited_helper_reaches_a_cached_caller(tmp_path, guarded):
    """The bug, end to end: without the guard the cached caller still runs the old helper."""
    package = tmp_path / "stalepkg"
    package.mkdir()
    (package / "__init__.py").write_text(GUARD if guarded else "")
    (package / "helper.py").write_text(HELPER.format(value=1))
    (package / "caller.py").write_text(CALLER)
    assert _run_caller(tmp_path) == 1
    assert list(package.glob("__pycache__/caller.g-*.nbi")), "Numba cached nothing"
    _edit_helper(package)
    assert _run_caller(tmp_path) == (2 if guarded else 1)
