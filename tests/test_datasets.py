"""Data loaders: the bundled digits and MNIST from files the test writes."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from neuromorph import datasets


def test_digits_split_is_stratified_and_seeded():
    a, b, c = (datasets.load_digits(seed=s) for s in (0, 0, 1))
    assert a.x_train.shape == (1437, 64) and a.x_test.shape == (360, 64)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)
    counts = np.bincount(a.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37
    assert a.x_train.min() >= 0 and a.x_train.max() <= 1


def _idx(path, array, gz=False):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    with (gzip.open if gz else open)(path, "wb") as fh:
        fh.write(data)


def test_mnist_from_idx_and_npz(tmp_path):
    rng = np.random.default_rng(0)
    xtr, ytr = rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 10, 20)
    xte, yte = rng.integers(0, 256, (5, 28, 28)), rng.integers(0, 10, 5)
    _idx(tmp_path / "tr-img.gz", xtr, gz=True)
    _idx(tmp_path / "tr-lab", ytr)
    _idx(tmp_path / "te-img", xte)
    _idx(tmp_path / "te-lab.gz", yte, gz=True)
    d = datasets.load_mnist(
        train_images=str(tmp_path / "tr-img.gz"),
        train_labels=str(tmp_path / "tr-lab"),
        test_images=str(tmp_path / "te-img"),
        test_labels=str(tmp_path / "te-lab.gz"),
    )
    assert d.x_train.shape == (20, 784) and d.n_features == 784
    np.testing.assert_allclose(d.x_test * 255, xte.reshape(5, -1))
    np.testing.assert_array_equal(d.y_train, ytr)
    np.savez(tmp_path / "m.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    e = datasets.load_mnist(npz=str(tmp_path / "m.npz"))
    np.testing.assert_array_equal(e.x_train, d.x_train)


def test_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST file not found"):
        datasets.load_mnist(npz=str(tmp_path / "none.npz"))
    with pytest.raises(ValueError, match="missing train_labels"):
        datasets.load_mnist(train_images="a", test_images="b", test_labels="c")
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01abcd")
    with pytest.raises(ValueError, match="must be an IDX file of unsigned bytes"):
        datasets._read_idx(str(tmp_path / "bad"))
    _idx(tmp_path / "short", np.zeros(10))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
    with pytest.raises(ValueError, match="must hold 10 data bytes"):
        datasets._read_idx(str(tmp_path / "short"))
    np.savez(tmp_path / "partial.npz", x_train=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="must contain x_train, y_train, x_test, y_test"):
        datasets.load_mnist(npz=str(tmp_path / "partial.npz"))
    np.savez(
        tmp_path / "labels.npz",
        x_train=np.zeros((2, 4)),
        y_train=np.array([0, 12]),
        x_test=np.zeros((1, 4)),
        y_test=np.array([1]),
    )
    with pytest.raises(ValueError, match="labels must be in 0..9"):
        datasets.load_mnist(npz=str(tmp_path / "labels.npz"))
