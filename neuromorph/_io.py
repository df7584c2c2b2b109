"""Safe files: ``.npz`` arrays + JSON metadata for chips and networks, JSON reports; never pickles.

Layer 0 (a shared leaf): imports only NumPy, the standard library and
:mod:`neuromorph.errors`.

Format (version 2 of chip and network files)
--------------------------------------------
An uncompressed zip of ``.npy`` members: the named bool/int/float arrays, ``__meta__`` (the
metadata as UTF-8 JSON in a uint8 array: format name, version, the SHA-256 of every array
and whatever the caller adds) and ``__digest__`` (the hex SHA-256 of ``__meta__``'s bytes).
The digest covers the metadata and, through the array checksums it lists, every array:
one checksum over everything that defines the file.  Version-1 files (no ``__digest__``,
metadata not covered) are still read, with a :class:`~neuromorph.errors.LegacyFileWarning`.

Reading trusts nothing: every member's declared size and ``.npy`` header are checked
against the bytes the file really holds *before* anything is allocated, only plain
bool/int/float dtypes are accepted, and every way a file can be malformed ends in a
:class:`~neuromorph.errors.ChipFileError` that names the file and what is wrong.

Writing is atomic: a temporary file beside the target, moved into place with
``os.replace``.  Temporary files are named ``.<target>.neuromorph-tmp-<host>-<pid>-<token>``
and created with mode ``0o666`` so the process umask applies, as for any file.  A
process killed mid-save leaves its temporary file behind; the next save into that folder
removes the ones whose process (on this host) no longer runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import secrets
import struct
import warnings
import zipfile
from collections.abc import Iterator, Mapping

import numpy as np
from numpy.typing import NDArray

from neuromorph.errors import ChipFileError, LegacyFileWarning

_META, _DIGEST = "__meta__", "__digest__"
#: Marks neuromorph's temporary files, so that orphans can be recognised and removed.
TEMP_MARKER = "neuromorph-tmp"
#: Longest ``.npy`` header read: NumPy's own limit for untrusted files (``max_header_size``).
MAX_NPY_HEADER_BYTES = 10_000
#: NumPy's readers of a ``.npy`` header after its magic, by format major version.
_NPY_READERS = {1: np.lib.format.read_array_header_1_0, 2: np.lib.format.read_array_header_2_0}
#: Permissions of a new file before the umask (what ``open(path, "w")`` uses).
_NEW_FILE_MODE = 0o666
#: dtype kinds a neuromorph file may hold: bool, signed and unsigned integers, floats.
_ARRAY_KINDS = "biuf"
_HOST = os.uname().nodename if hasattr(os, "uname") else "localhost"


# ------------------------------------------------------------------ paths and atomic writes
def check_file_path(path: object, *, name: str = "path") -> str:
    """Return ``path`` as a str naming a file; reject what cannot name one.

    Raises
    ------
    TypeError
        If ``path`` is not a str or :class:`os.PathLike` of str.
    ValueError
        If it is empty, contains a NUL byte, ends with a path separator, has no file name
        before its ``.npz`` suffix, or is an existing directory.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"{name} must be a str or os.PathLike; got {type(path).__name__} {path!r}.")
    path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"{name} must be a str or os.PathLike of str; got {type(path).__name__}.")
    if "\0" in path:
        raise ValueError(f"{name} must not contain a NUL byte; got {path!r}.")
    base = os.path.basename(path)
    if base in ("", ".", "..", ".npz") or path.endswith((os.sep, "/")):
        raise ValueError(f"{name} must name a file (e.g. 'chip.npz'); got {path!r}.")
    if os.path.isdir(path):
        raise ValueError(f"{name} must name a file; got {path!r}, which is a directory.")
    return path


def _pid_alive(pid: int) -> bool:
    """True if process ``pid`` runs on this host (or might: when we cannot tell)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or no way to ask: leave its file alone
    return True


def remove_orphans(directory: str | os.PathLike) -> list[str]:
    """Remove temporary files left in ``directory`` by killed saves; return their paths.

    Only files named by :func:`atomic_open` on this host whose process no longer runs are
    removed: a save in flight in another live process is never touched.
    """
    directory = os.fspath(directory)
    tag = f".{TEMP_MARKER}-{_HOST}-"
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for entry in names:
        if not entry.startswith(".") or tag not in entry:
            continue
        try:
            pid = int(entry.rsplit("-", 2)[1])
        except (IndexError, ValueError):
            continue
        if _pid_alive(pid):
            continue
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, entry))
            removed.append(os.path.join(directory, entry))
    return removed


def _create_temp(path: str) -> tuple[int, str]:
    """A new temporary file beside ``path``: (descriptor, name), mode 0o666 less the umask."""
    directory, base = os.path.split(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(directory, f".{base}.{TEMP_MARKER}-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            return os.open(tmp, flags, _NEW_FILE_MODE), tmp
        except FileExistsError:
            continue


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator:
    """Open a temporary file beside ``path``; on success move it onto ``path`` atomically.

    On any error (KeyboardInterrupt included) the temporary file is removed and ``path`` is
    left as it was.  The new file's permissions follow the umask.  Orphans of killed saves
    in the same folder are removed first (:func:`remove_orphans`).
    """
    path = check_file_path(path)
    remove_orphans(os.path.dirname(os.path.abspath(path)))
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike, data: Mapping) -> None:
    """Write ``data`` as indented JSON with sorted keys, atomically (temp file + rename)."""
    with atomic_open(path, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)


# ------------------------------------------------------------------ save
def _digest(a: NDArray) -> str:
    a = np.ascontiguousarray(a)
    h = hashlib.sha256()
    h.update(str(a.dtype).encode())
    h.update(str(a.shape).encode())
    h.update(a.tobytes())
    return h.hexdigest()


def save(path: str | os.PathLike, *, kind: str, version: int, meta: dict, arrays: dict[str, NDArray]) -> str:
    """Write ``arrays`` and ``meta`` to ``path`` atomically; return the path written.

    ``.npz`` is appended when missing.  ``meta`` must be JSON-serialisable; its keys
    ``format``, ``version`` and ``checksums`` are set here.

    Raises
    ------
    TypeError, ValueError
        For a path that cannot name a file (:func:`check_file_path`).
    FileNotFoundError
        If the folder does not exist.
    """
    path = check_file_path(path)
    if not path.endswith(".npz"):
        path = check_file_path(path + ".npz")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"folder for {path!r} does not exist: {directory!r}.")
    for name in arrays:
        if name in (_META, _DIGEST):
            raise ValueError(f"array names must not be {_META!r} or {_DIGEST!r}; got {name!r}.")
    full_meta = dict(meta, format=kind, version=version, checksums={k: _digest(v) for k, v in arrays.items()})
    meta_bytes = json.dumps(full_meta).encode("utf-8")
    digest = hashlib.sha256(meta_bytes).hexdigest().encode("ascii")
    with atomic_open(path, "wb") as fh:
        np.savez(
            fh,
            **{_META: np.frombuffer(meta_bytes, np.uint8), _DIGEST: np.frombuffer(digest, np.uint8)},
            **arrays,
        )
    return path


# ------------------------------------------------------------------ load
def load(
    path: str | os.PathLike, *, kind: str, version: int, legacy_versions: tuple[int, ...] = ()
) -> tuple[dict, dict[str, NDArray]]:
    """Read a file written by :func:`save`: check its digest, kind, version and checksums.

    Parameters
    ----------
    path : str or os.PathLike
    kind, version : str, int
        The format name and the current version this reader expects.
    legacy_versions : tuple of int
        Older versions still read.  They have no ``__digest__`` (their metadata is not
        covered) and load with a :class:`~neuromorph.errors.LegacyFileWarning`.

    Returns
    -------
    meta : dict
    arrays : dict of str to ndarray

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``path``.
    ChipFileError
        For anything else: a directory, an unreadable file, a file that is not an archive,
        is truncated, damaged, altered, forged, of another kind or of an unknown version.
    """
    path = os.fspath(path)
    if not os.path.lexists(path):
        raise FileNotFoundError(f"{kind} file not found: {path!r}.")
    if os.path.isdir(path):
        raise ChipFileError(f"{path!r} is a directory, not a {kind} file.")
    members = _read_archive(path)
    if _META not in members:
        raise ChipFileError(f"{path!r} is not a neuromorph file: it has no {_META} entry.")
    meta_raw = _bytes_member(members.pop(_META), _META, path)
    digest = members.pop(_DIGEST, None)
    if digest is not None:
        want = _bytes_member(digest, _DIGEST, path)
        if want != hashlib.sha256(meta_raw).hexdigest().encode("ascii"):
            raise ChipFileError(f"{path!r} was altered: its metadata fails its digest ({_DIGEST}).")
    meta = _parse_meta(meta_raw, path)
    _check_kind_and_version(meta, path, kind, version, legacy_versions, has_digest=digest is not None)
    _check_checksums(meta, members, path)
    return meta, members


def _bytes_member(a: NDArray, name: str, path: str) -> bytes:
    if a.dtype != np.uint8 or a.ndim != 1:
        raise ChipFileError(f"{path!r}: {name} must be a 1-d uint8 array; got {a.dtype} of shape {a.shape}.")
    return a.tobytes()


def _parse_meta(raw: bytes, path: str) -> dict:
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError too
        raise ChipFileError(f"{path!r} has unreadable metadata ({type(exc).__name__}).") from exc
    if not isinstance(meta, dict):
        raise ChipFileError(f"{path!r}: its metadata must be a JSON object; got {type(meta).__name__}.")
    return meta


def _check_kind_and_version(
    meta: dict, path: str, kind: str, version: int, legacy: tuple[int, ...], *, has_digest: bool
) -> None:
    got_kind, got = meta.get("format"), meta.get("version")
    if got_kind != kind:
        raise ChipFileError(f"{path!r} must be a {kind!r} file; got format {got_kind!r}.")
    if type(got) is not int:
        raise ChipFileError(f"{path!r}: its format version must be an integer; got {got!r}.")
    if got in legacy:
        if has_digest:
            raise ChipFileError(
                f"{path!r} claims version {got} but holds a {_DIGEST} (added in version {version}): "
                "it was altered."
            )
        warnings.warn(
            f"{path!r} is a version-{got} {kind} file: its arrays are checksummed but its metadata "
            "is not covered by any checksum. Save it again to cover everything.",
            LegacyFileWarning,
            stacklevel=4,
        )
    elif got != version:
        raise ChipFileError(
            f"{path!r} has {kind} format version {got!r}; this neuromorph reads version {version}"
            + (f" (and {', '.join(map(str, legacy))})." if legacy else ".")
        )
    elif not has_digest:
        raise ChipFileError(
            f"{path!r} has no {_DIGEST}: a version-{version} {kind} file carries one; it was "
            "altered or damaged."
        )


def _check_checksums(meta: dict, arrays: dict[str, NDArray], path: str) -> None:
    sums = meta.get("checksums")
    if not isinstance(sums, dict) or not all(isinstance(v, str) for v in sums.values()):
        raise ChipFileError(
            f"{path!r}: its checksums must be a JSON object of hex digests; got {sums!r:.80}."
        )
    if set(sums) != set(arrays):
        raise ChipFileError(
            f"{path!r} was altered: arrays {sorted(set(sums) ^ set(arrays))} do not match its metadata."
        )
    for name, a in arrays.items():
        if _digest(a) != sums[name]:
            raise ChipFileError(f"{path!r} was altered: array {name!r} fails its checksum.")


def _read_archive(path: str) -> dict[str, NDArray]:
    """Every member of the archive at ``path``, checked against the bytes the file holds."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise ChipFileError(f"{path!r} cannot be read: {exc.strerror or exc}.") from exc
    with fh:
        size = os.fstat(fh.fileno()).st_size
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error, NotImplementedError) as exc:
            raise ChipFileError(
                f"{path!r} is truncated or corrupted: it is not an .npz archive ({exc})."
            ) from exc
        try:
            with zf:
                infos = _check_directory(zf.infolist(), size, path)
                return {name[: -len(".npy")]: _read_member(zf, info, path) for name, info in infos}
        except ChipFileError:
            raise
        except (
            zipfile.BadZipFile,
            OSError,
            ValueError,
            EOFError,
            struct.error,
            RuntimeError,
            NotImplementedError,
        ) as exc:  # zipfile's words for damage: bad headers, CRC, "zip file version 24.4"...
            raise ChipFileError(
                f"{path!r} is truncated or corrupted and cannot be read ({type(exc).__name__}: {exc})."
            ) from exc


def _check_directory(infos: list[zipfile.ZipInfo], size: int, path: str) -> list[tuple[str, zipfile.ZipInfo]]:
    """The archive's members by name, refused unless every one is a plausible stored ``.npy``."""
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if name in seen:
            raise ChipFileError(f"{path!r} holds the member {name!r} twice.")
        seen.add(name)
        if not name.endswith(".npy"):
            raise ChipFileError(f"{path!r}: member {name!r} is not an array (.npy).")
        if info.flag_bits & 0x1:
            raise ChipFileError(f"{path!r}: member {name!r} is encrypted; neuromorph files never are.")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ChipFileError(
                f"{path!r}: member {name!r} uses compression method {info.compress_type}; neuromorph "
                "files store members uncompressed (a damaged or foreign file)."
            )
        if info.file_size != info.compress_size:
            raise ChipFileError(f"{path!r}: member {name!r} has inconsistent sizes; the file is damaged.")
    declared = sum(info.file_size for info in infos)
    if declared > size:
        raise ChipFileError(f"{path!r}: its members declare {declared} bytes but the file holds {size}.")
    return [(info.filename, info) for info in infos]


def _npy_header(f, name: str, path: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Parse a ``.npy`` header (versions 1.0 and 2.0) from ``f``; ChipFileError if malformed."""
    magic = f.read(8)
    if len(magic) != 8 or magic[:6] != b"\x93NUMPY" or magic[6:] not in (b"\x01\x00", b"\x02\x00"):
        raise ChipFileError(f"{path!r}: member {name!r} is not a .npy array (bad magic {magic!r}).")
    length_format = "<H" if magic[6] == 1 else "<I"
    raw = f.read(struct.calcsize(length_format))
    if len(raw) != struct.calcsize(length_format):
        raise ChipFileError(f"{path!r}: member {name!r} ends inside its header.")
    (length,) = struct.unpack(length_format, raw)
    if length > MAX_NPY_HEADER_BYTES:
        raise ChipFileError(
            f"{path!r}: member {name!r} has a header of {length} bytes; at most {MAX_NPY_HEADER_BYTES}."
        )
    header = f.read(length)
    if len(header) != length:
        raise ChipFileError(f"{path!r}: member {name!r} ends inside its header.")
    try:
        # NumPy's own header reader (a literal parse, never code): shape, order and dtype.
        shape, fortran, dtype = _NPY_READERS[magic[6]](
            io.BytesIO(raw + header), max_header_size=MAX_NPY_HEADER_BYTES + 1
        )
        if not isinstance(fortran, bool):
            raise ValueError("fortran_order must be a bool")
        if not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
            raise ValueError(f"bad shape {shape!r}")
    except Exception as exc:  # NumPy's parser of untrusted text raises many kinds (tokenize too)
        raise ChipFileError(f"{path!r}: member {name!r} has a malformed .npy header ({exc}).") from exc
    if (
        dtype.hasobject
        or dtype.fields is not None
        or dtype.subdtype is not None
        or dtype.kind not in _ARRAY_KINDS
    ):
        raise ChipFileError(
            f"{path!r}: member {name!r} has dtype {dtype}; neuromorph files hold only bool, integer "
            "and float arrays."
        )
    return shape, fortran, dtype


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> NDArray:
    """One member as an array, its declared size checked before any allocation."""
    name = info.filename
    with zf.open(info) as f:
        shape, fortran, dtype = _npy_header(f, name, path)
        nbytes = math.prod(shape) * dtype.itemsize
        holds = info.file_size - f.tell()
        if nbytes != holds:
            raise ChipFileError(
                f"{path!r}: member {name!r} declares shape {shape} of {dtype} ({nbytes} bytes) but "
                f"holds {holds} bytes."
            )
        buf = bytearray(nbytes)
        got = f.readinto(buf)
        if got != nbytes or f.read(1):  # reading to the end also checks the member's CRC-32
            raise ChipFileError(f"{path!r}: member {name!r} is truncated.")
    a = np.frombuffer(buf, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return np.ascontiguousarray(a)
