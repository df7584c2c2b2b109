"""Chip and network files: one digest over everything, clear errors, clean temporary files.

Every malformed file must raise :class:`~neuromorph.errors.ChipFileError` naming the file
(never MemoryError, AttributeError, NotImplementedError...), and a property-based fuzz of
the loader allows exactly two outcomes: the saved chip, or a ChipFileError.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuromorph as nm
from neuromorph import _io
from neuromorph.chip import Chip, ChipDesign
from neuromorph.chip.digital import DigitalNetwork
from neuromorph.errors import ChipFileError, LegacyFileWarning

DATA = Path(__file__).parent / "data"
META, DIGEST = "__meta__.npy", "__digest__.npy"


def _chip() -> Chip:
    chip = Chip.fabricate(ChipDesign(layer_sizes=(3, 2), device=nm.PCM_GST), seed=1)
    chip.ports().program(0, np.full((4, 2), 0.3))
    chip.environment.set_temperature(320.0)
    chip.environment.advance(hours=1)
    return chip


def _assert_same_chip(a: Chip, b: Chip) -> None:
    assert a.design == b.design and a.meter == b.meter and a.seed == b.seed
    assert a.environment.to_dict() == b.environment.to_dict()
    for xa, xb in zip(a.crossbars, b.crossbars, strict=True):
        assert xa.generator_states() == xb.generator_states()
        assert xa.output_full_scale == xb.output_full_scale
        for k, v in xa.device_state().arrays().items():
            w = xb.device_state().arrays()[k]
            assert v.dtype == w.dtype
            np.testing.assert_array_equal(v, w, err_msg=k)


def _members(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _zip(members: list[tuple[str, bytes]] | dict[str, bytes]) -> bytes:
    items = members.items() if isinstance(members, dict) else members
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns on duplicate names
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
            for name, data in items:
                z.writestr(name, data)
    return buf.getvalue()


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _meta(members: dict[str, bytes]) -> dict:
    return json.loads(np.load(io.BytesIO(members[META])).tobytes())


def _forged(members: dict[str, bytes], meta_bytes: bytes) -> dict[str, bytes]:
    """``members`` with new metadata and a digest recomputed over it (a careful forger)."""
    digest = hashlib.sha256(meta_bytes).hexdigest().encode()
    return dict(
        members,
        **{META: _npy(np.frombuffer(meta_bytes, np.uint8)), DIGEST: _npy(np.frombuffer(digest, np.uint8))},
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Chip, bytes]:
    chip = _chip()
    path = chip.save(tmp_path_factory.mktemp("saved") / "chip.npz")
    return chip, Path(path).read_bytes()


def test_round_trip_is_identical(saved, tmp_path):
    chip, raw = saved
    (tmp_path / "c.npz").write_bytes(raw)
    _assert_same_chip(chip, Chip.load(tmp_path / "c.npz"))
    assert set(_members(raw)) >= {META, DIGEST}


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["meter"].update(pulses=0),
        lambda m: m["environment"].update(temps_k=[400.0]),
        lambda m: m["design"]["device"]["conductance"].update(g_max_s=3e-5),
        lambda m: m.update(seed=7),
    ],
    ids=["meter", "temperature", "g_max", "seed"],
)
def test_edited_metadata_fails_the_digest(saved, tmp_path, edit):
    _, raw = saved
    members = _members(raw)
    meta = _meta(members)
    edit(meta)
    members[META] = _npy(np.frombuffer(json.dumps(meta).encode(), np.uint8))
    (tmp_path / "c.npz").write_bytes(_zip(members))
    with pytest.raises(ChipFileError, match=r"c\.npz.*metadata fails its digest"):
        Chip.load(tmp_path / "c.npz")


@pytest.mark.parametrize("text", ["[]", "null", "3", '"chip"', "[" * 100_000])
def test_metadata_that_is_not_an_object(saved, tmp_path, text):
    _, raw = saved
    (tmp_path / "c.npz").write_bytes(_zip(_forged(_members(raw), text.encode())))
    with pytest.raises(ChipFileError, match=r"c\.npz.*metadata"):
        Chip.load(tmp_path / "c.npz")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda m: m.update(checksums=[]), "checksums"),
        (lambda m: m.update(version="2"), "version"),
        (lambda m: m.update(rng_states=[[]]), "chip metadata"),
        (lambda m: m.update(meter={"pulses": "many"}), "chip metadata"),
        (lambda m: m["environment"].update(temps_k=[1e6]), "chip metadata"),
        (lambda m: m.update(output_full_scale=None), "chip metadata"),
    ],
)
def test_forged_metadata_with_a_valid_digest_is_still_checked(saved, tmp_path, edit, match):
    _, raw = saved
    members = _members(raw)
    meta = _meta(members)
    edit(meta)
    (tmp_path / "c.npz").write_bytes(_zip(_forged(members, json.dumps(meta).encode())))
    with pytest.raises(ChipFileError, match=match):
        Chip.load(tmp_path / "c.npz")


def test_a_forged_member_header_is_refused_before_allocating(saved, tmp_path):
    _, raw = saved
    members = _members(raw)
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (10000000000000,), }"
    header += b" " * (118 - len(header)) + b"\n"
    members["layer0_g_prog.npy"] = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header
    (tmp_path / "c.npz").write_bytes(_zip(members))
    with pytest.raises(ChipFileError, match=r"layer0_g_prog.*declares shape \(10000000000000,\)"):
        Chip.load(tmp_path / "c.npz")


def test_object_arrays_and_strange_members_are_refused(saved, tmp_path):
    _, raw = saved
    for name, data, match in [
        ("layer0_nu.npy", _npy(np.array(["a"], dtype=object)), "dtype"),
        ("layer0_nu.npy", _npy(np.zeros(3, dtype=[("a", "<f8")])), "dtype"),
        ("notes.txt", b"hello", "not an array"),
    ]:
        members = _members(raw)
        members[name] = data
        (tmp_path / "c.npz").write_bytes(_zip(members))
        with pytest.raises(ChipFileError, match=match):
            Chip.load(tmp_path / "c.npz")


def test_a_flipped_compression_byte_is_a_chip_file_error(saved, tmp_path):
    _, raw = saved
    central = raw.index(b"PK\x01\x02")  # first central-directory entry; method at +10
    bad = bytearray(raw)
    bad[central + 10] = 99
    (tmp_path / "c.npz").write_bytes(bytes(bad))
    with pytest.raises(ChipFileError, match=r"c\.npz.*compression"):
        Chip.load(tmp_path / "c.npz")


def test_directories_and_unreadable_files_have_their_own_words(saved, tmp_path, monkeypatch):
    _, raw = saved
    with pytest.raises(ChipFileError, match="is a directory, not a"):
        Chip.load(tmp_path)
    path = tmp_path / "c.npz"
    path.write_bytes(raw)
    real_open = open

    def deny(p, *a, **k):
        if os.fspath(p) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(p))
        return real_open(p, *a, **k)

    monkeypatch.setattr(_io, "open", deny, raising=False)
    with pytest.raises(ChipFileError, match=r"c\.npz.*cannot be read: Permission denied"):
        Chip.load(path)


@pytest.mark.parametrize(
    "path, exc, match",
    [
        ("", ValueError, "path must name a file"),
        (".npz", ValueError, "path must name a file"),
        ("folder/", ValueError, "path must name a file"),
        ("a\0b.npz", ValueError, "NUL"),
        (3, TypeError, "path must be a str or os.PathLike"),
    ],
)
def test_bad_save_paths_are_value_errors(tmp_path, monkeypatch, path, exc, match):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    with pytest.raises(exc, match=match):
        _chip().save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_saving_onto_a_directory_is_refused(tmp_path):
    (tmp_path / "x.npz").mkdir()
    for target in (tmp_path, tmp_path / "x.npz"):
        with pytest.raises(ValueError, match="is a directory"):
            _chip().save(target)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = _chip().save(tmp_path / "c.npz")
        _io.write_json(tmp_path / "m.json", {"a": 1})
    finally:
        os.umask(old)
    for p in (path, tmp_path / "m.json"):
        assert os.stat(p).st_mode & 0o777 == 0o666 & ~umask


_KILLED_SAVE = """
import os, signal, sys
import numpy as np
from neuromorph.chip import Chip, ChipDesign
chip = Chip.fabricate(ChipDesign(layer_sizes=(3, 2)), seed=0)
real = np.savez
def savez_then_die(fh, **arrays):
    real(fh, **arrays)
    fh.flush()
    os.kill(os.getpid(), signal.SIGKILL)
np.savez = savez_then_die
chip.save(sys.argv[1])
"""


def test_a_killed_save_leaves_a_named_orphan_that_the_next_save_removes(tmp_path):
    out = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(tmp_path / "c.npz")], timeout=120)
    assert out.returncode == -signal.SIGKILL
    orphans = [p.name for p in tmp_path.iterdir()]
    assert len(orphans) == 1 and _io.TEMP_MARKER in orphans[0] and orphans[0].startswith(".c.npz.")
    # A save in flight in a live process is left alone.
    live = tmp_path / f".d.npz.{_io.TEMP_MARKER}-{os.uname().nodename}-{os.getpid()}-abcd"
    live.write_bytes(b"partial")
    _chip().save(tmp_path / "other.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "other.npz"])


def test_a_failed_write_removes_its_temporary_file(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with _io.atomic_open(tmp_path / "r.json") as fh:
            fh.write("{")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_version_1_files_load_with_a_warning_and_cannot_be_faked(saved, tmp_path):
    with pytest.warns(LegacyFileWarning, match="metadata is not covered"):
        Chip.load(DATA / "chip_v1_small.npz")
    _, raw = saved
    members = _members(raw)
    meta = dict(_meta(members), version=1)
    # a version-1 claim beside a digest is a contradiction
    (tmp_path / "a.npz").write_bytes(_zip(_forged(members, json.dumps(meta).encode())))
    with pytest.raises(ChipFileError, match="claims version 1 .*digest"):
        Chip.load(tmp_path / "a.npz")
    # a current file without its digest is incomplete
    del members[DIGEST]
    (tmp_path / "b.npz").write_bytes(_zip(members))
    with pytest.raises(ChipFileError, match="no __digest__"):
        Chip.load(tmp_path / "b.npz")


def test_networks_carry_a_digest_too(tmp_path):
    net = DigitalNetwork.initialize((3, 2), rng=np.random.default_rng(0))
    raw = Path(net.save(tmp_path / "n.npz")).read_bytes()
    members = _members(raw)
    meta = dict(_meta(members), bias_input=2.0)
    members[META] = _npy(np.frombuffer(json.dumps(meta).encode(), np.uint8))
    (tmp_path / "n.npz").write_bytes(_zip(members))
    with pytest.raises(ChipFileError, match="metadata fails its digest"):
        DigitalNetwork.load(tmp_path / "n.npz")


# ------------------------------------------------------------------ fuzz
def _edit_member(members: dict[str, bytes], draw) -> list[tuple[str, bytes]] | dict[str, bytes]:
    """One structural edit of the archive's members, drawn by hypothesis."""
    name = draw(st.sampled_from(sorted(members)))
    op = draw(st.sampled_from(["delete", "junk", "scale", "retype", "reshape", "duplicate", "extra", "meta"]))
    out = dict(members)
    if op == "delete":
        del out[name]
    elif op == "junk":
        out[name] = draw(st.binary(max_size=300))
    elif op in ("scale", "retype", "reshape") and name not in (META, DIGEST):
        a = np.load(io.BytesIO(members[name]))
        with np.errstate(invalid="ignore", over="ignore"):  # inf * 0, casts out of range
            a = {
                "scale": lambda: a * draw(st.sampled_from([1.0, 1.01, 0.0])),
                "retype": lambda: a.astype(draw(st.sampled_from([np.float32, np.int64, np.uint8]))),
                "reshape": lambda: a.reshape(-1),
            }[op]()
        out[name] = _npy(a)
    elif op == "duplicate":
        return [*out.items(), (name, members[name])]
    elif op == "extra":
        out["layer9_g_prog.npy"] = _npy(np.zeros(3))
    elif op == "meta":
        meta = _meta(members)
        key = draw(st.sampled_from(sorted(meta)))
        meta[key] = draw(st.sampled_from([None, [], {}, 0, -1, "x", 1e308, meta[key]]))
        out[META] = _npy(np.frombuffer(json.dumps(meta).encode(), np.uint8))
    return out


@functools.cache
def _saved_once() -> tuple[Chip, bytes]:
    """The chip the fuzz mutates, saved once (not a fixture, so hypothesis does not print it)."""
    chip = _chip()
    with tempfile.TemporaryDirectory() as folder:
        return chip, Path(chip.save(Path(folder) / "chip.npz")).read_bytes()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_files_load_identically_or_fail_clearly(tmp_path, data):
    chip, raw = _saved_once()
    kind = data.draw(st.sampled_from(["truncate", "flip", "flip_directory", "edit"]))
    if kind == "truncate":
        bad = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif kind.startswith("flip"):
        # the zip directory (sizes, offsets, methods, versions) sits in the last bytes
        start = raw.index(b"PK\x01\x02") if kind == "flip_directory" else 0
        bad = bytearray(raw)
        for _ in range(data.draw(st.integers(1, 3))):
            bad[data.draw(st.integers(start, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
        bad = bytes(bad)
    else:
        bad = _zip(_edit_member(_members(raw), data.draw))
    path = tmp_path / "fuzzed.npz"
    path.write_bytes(bad)
    try:
        again = Chip.load(path)
    except ChipFileError as exc:
        assert "fuzzed.npz" in str(exc)
    else:
        _assert_same_chip(chip, again)
