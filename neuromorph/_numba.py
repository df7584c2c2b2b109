"""Numba options in one place (layer 0 support).

Every kernel module decorates with :data:`njit` / :data:`njit_parallel` from here, so the
caching and floating-point policy is set once.  ``fastmath`` stays off: kernels must be
bit-for-bit reproducible and agree with their NumPy twins.
"""

from __future__ import annotations

import hashlib
import os
import re
from contextlib import AbstractContextManager
from pathlib import Path

import numba

# Measured on 2 cores: with Numba's default OpenMP layer, a parallel kernel run right after an
# OpenBLAS product waits ~8 ms for cores that OpenBLAS's spinning threads still hold (the kernel
# alone takes 0.1 ms).  The workqueue layer does not contend.  A user's explicit choice
# (NUMBA_THREADING_LAYER) wins.  Workqueue must not be entered from two Python threads at once;
# neuromorph parallelises across processes, never threads.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

#: The kernel modules, as globs under the package root.  With every package module they import,
#: directly or not, they hold all code and constants Numba can freeze into a compiled kernel
#: (``_kernels._FREE`` is ``int(StuckCode.NONE)`` from ``devices``, a module without kernels).
KERNEL_MODULES = ("hardware/_*kernels.py", "hardware/wires/_*kernels.py")
#: Digest of those sources for which the on-disk caches were last known fresh.
CACHE_STAMP = "__pycache__/numba-sources.sha256"
#: An import statement after a newline: the module and what follows ``import`` (a parenthesised
#: list may span lines).  Imports inside functions match too, harmlessly: more sources, never
#: fewer.  The leading newline, not ``^`` with MULTILINE, makes the scan 4x faster.
_IMPORT = re.compile(
    rb"\n[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)|import[ \t]+([\w.]+))"
)


def kernel_sources(root: str | os.PathLike, seeds: tuple[str, ...] = KERNEL_MODULES) -> dict:
    """Map each source a kernel can reach to its bytes: `seeds` and the package modules they import.

    Imports are read from the text, transitively; ``from package.a import b`` counts the
    submodule ``a/b.py`` when ``a`` is a package holding one, else ``a.py`` (or
    ``a/__init__.py``).  A name that is no file of the package (a docstring's prose) is skipped.
    """
    root = Path(root)
    todo = [p for g in seeds for p in root.glob(g)]
    found: dict[Path, bytes] = {}
    while todo:
        path = todo.pop()
        if path is None or path in found:
            continue
        found[path] = data = path.read_bytes()
        for match in _IMPORT.finditer(b"\n" + data):
            module = (match[1] or match[3]).decode().split(".")
            if module[0] != root.name:
                continue
            base = root.joinpath(*module[1:])
            names = re.sub(rb"#[^\n]*|\bas[ \t]+\w+", b"", match[2] or b"")
            subs = []
            if base.is_dir():  # names may be submodules
                subs = [_module_file(base / n.decode()) for n in re.findall(rb"\w+", names)]
            todo += subs if subs and all(subs) else [_module_file(base)]
    return found


def _module_file(base: Path) -> Path | None:
    """The file of module `base` (``base.py`` or ``base/__init__.py``), or None."""
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def clear_stale_caches(root: str | os.PathLike, seeds: tuple[str, ...] = KERNEL_MODULES) -> str:
    """Delete the package's Numba caches when any source a kernel can reach has changed.

    Numba checks a cached kernel only against its own file, so a kernel calling (or
    inlining) a helper of another module, or reading its constants, keeps the old helper's
    machine code after that module changes (a ``git pull`` on an editable install: stale
    physics, silently).  Here the sources of :func:`kernel_sources` are hashed (sha256 over
    sorted relative paths and bytes) and compared with the stamp :data:`CACHE_STAMP`; on
    a difference every ``*.nbi``/``*.nbc`` in the ``__pycache__`` folders under `root` is
    deleted, then the new stamp written atomically.  Run at import, before any kernel loads.

    Safe with several processes importing at once: Numba writes caches through a temporary
    file and ``os.replace`` (temporary files are never touched here), and reads a missing
    index or data file as a cache miss, so a concurrent deletion costs at most a recompile.
    Not guarded: a user's ``NUMBA_CACHE_DIR`` (the caches are elsewhere; nothing is done), a
    read-only package folder (Numba then caches in its user-wide folder; any ``OSError`` here
    is swallowed, the import never fails), and a process started before an edit that compiles
    a new signature after it.  By hand: delete the ``*.nbi``/``*.nbc`` files.

    Parameters
    ----------
    root : str or os.PathLike
        The package folder (``neuromorph/``).
    seeds : tuple of str
        Globs, relative to `root`, of the kernel modules.

    Returns
    -------
    str
        ``"fresh"`` (stamp matched), ``"cleared"``, ``"elsewhere"`` (``NUMBA_CACHE_DIR`` set)
        or ``"failed"`` (an ``OSError``: caches possibly cleared, stamp not written).
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return "elsewhere"
    root = Path(root)
    stamp = root / CACHE_STAMP
    try:
        sources = {p.relative_to(root).as_posix(): b for p, b in kernel_sources(root, seeds).items()}
        digest = hashlib.sha256()
        for name, data in sorted(sources.items()):
            digest.update(f"{name}\0{len(data)}\0".encode())
            digest.update(data)
        text = digest.hexdigest() + "\n"
        if stamp.is_file() and stamp.read_text() == text:
            return "fresh"
        for cache in root.glob("**/__pycache__/*.nb[ic]"):
            cache.unlink(missing_ok=True)
        stamp.parent.mkdir(exist_ok=True)
        temp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
        temp.write_text(text)
        os.replace(temp, stamp)
    except (OSError, ValueError):  # never fail the import
        return "failed"
    return "cleared"


#: What the guard did at this import (see :func:`clear_stale_caches`).
CACHE_STATUS = clear_stale_caches(Path(__file__).parent)

#: Options shared by every kernel. ``cache=True`` keeps compile time out of second runs.
NUMBA_OPTIONS: dict = {"cache": True, "fastmath": False, "nogil": True}

njit = numba.njit(**NUMBA_OPTIONS)
njit_parallel = numba.njit(parallel=True, **NUMBA_OPTIONS)
#: For a small device-level helper called from a parallel loop with many array arguments:
#: inlined in Numba's IR, so no call passes (and reference-counts) a dozen array structs per
#: device.  Measured on the pulse step: 100 ns per pulsed device as a call, 60 inlined, and
#: the two threads stop contending on the arrays' shared reference counts (2 threads 1.66 ms
#: against 0.61 ms for 16.5k pulsed devices).  Same bits: inlining changes no arithmetic.
njit_inline = numba.njit(inline="always", **NUMBA_OPTIONS)

#: Fixed chunk length for parallel loops.  Work is split by this size, never by the thread
#: count, so results are identical on any number of threads.
CHUNK = 4096

_BLAS = None


def one_blas_thread() -> AbstractContextManager:
    """Context holding BLAS to one thread around small products and factorisations.

    The same bits on any machine, no waiting for a core that another process holds
    (measured on a busy 2-core box: 100x slower panels in the wire elimination, a 301x301
    Cholesky 23.7 ms on two OpenBLAS threads against 2.5 ms on one), and no OpenBLAS worker
    left spinning to slow the Numba kernel that follows.
    """
    global _BLAS
    if _BLAS is None:
        import scipy.linalg  # noqa: F401  (loads the BLAS that Numba's np.dot calls)
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")
