"""Safe files: ``.npz`` arrays + JSON metadata for chips and networks, JSON reports; never pickles.

Layer 0 (a shared leaf): imports only NumPy, the standard library and
:mod:`neuromorph.errors`.

One file holds named float/int arrays and a ``__meta__`` entry (UTF-8 JSON as uint8 bytes)
with the format name, version, and a SHA-256 of every array.  Writes go to a temporary file
in the same folder and are moved into place with ``os.replace`` (atomic on POSIX), so a
crash never leaves a half-written file under the target name.  Reads use
``allow_pickle=False`` and check format, version and every checksum, so a truncated or
altered file fails with :class:`~neuromorph.errors.ChipFileError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from neuromorph.errors import ChipFileError

_META = "__meta__"


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs):
    """Open a temporary file beside ``path``; on success move it onto ``path`` atomically.

    On any error the temporary file is removed and ``path`` is left as it was.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike, data: Mapping) -> None:
    """Write ``data`` as indented JSON with sorted keys, atomically (temp file + rename)."""
    with atomic_open(path, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)


def _digest(a: NDArray) -> str:
    a = np.ascontiguousarray(a)
    h = hashlib.sha256()
    h.update(str(a.dtype).encode())
    h.update(str(a.shape).encode())
    h.update(a.tobytes())
    return h.hexdigest()


def save(path: str | os.PathLike, *, kind: str, version: int, meta: dict, arrays: dict[str, NDArray]) -> str:
    """Write ``arrays`` and ``meta`` to ``path`` atomically; return the path written."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"folder for {path!r} does not exist: {directory!r}.")
    full_meta = dict(meta, format=kind, version=version, checksums={k: _digest(v) for k, v in arrays.items()})
    payload = np.frombuffer(json.dumps(full_meta).encode("utf-8"), dtype=np.uint8)
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **{_META: payload}, **arrays)
    return path


def load(path: str | os.PathLike, *, kind: str, version: int) -> tuple[dict, dict[str, NDArray]]:
    """Read a file written by :func:`save`, checking kind, version and checksums."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{kind} file not found: {path!r}.")
    try:
        with open(path, "rb") as fh:
            f = np.load(fh, allow_pickle=False)
            if not isinstance(f, np.lib.npyio.NpzFile):
                raise ChipFileError(f"{path!r} is not a neuromorph file: it is not an .npz archive.")
            if _META not in f.files:
                raise ChipFileError(f"{path!r} is not a neuromorph file: it has no {_META} entry.")
            meta = json.loads(bytes(f[_META]).decode("utf-8"))
            arrays = {k: f[k] for k in f.files if k != _META}
    except ChipFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, json.JSONDecodeError) as exc:
        raise ChipFileError(
            f"{path!r} is truncated or corrupted and cannot be read ({type(exc).__name__}: {exc})."
        ) from exc
    if meta.get("format") != kind:
        raise ChipFileError(f"{path!r} must be a {kind!r} file; got format {meta.get('format')!r}.")
    if meta.get("version") != version:
        raise ChipFileError(
            f"{path!r} has {kind} format version {meta.get('version')!r}; this neuromorph reads "
            f"version {version}."
        )
    sums = meta.get("checksums", {})
    if set(sums) != set(arrays):
        raise ChipFileError(
            f"{path!r} was altered: arrays {sorted(set(sums) ^ set(arrays))} do not match its metadata."
        )
    for name, a in arrays.items():
        if _digest(a) != sums[name]:
            raise ChipFileError(f"{path!r} was altered: array {name!r} fails its checksum.")
    return meta, arrays
