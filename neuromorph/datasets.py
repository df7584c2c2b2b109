"""Data sets: scikit-learn's bundled 8x8 digits and MNIST from local files (beside the stack).

Every loader returns a :class:`Dataset` with a fixed, seeded, stratified train/test split.
Images are flattened to float64 rows scaled to [0, 1].  Nothing is downloaded: digits ship
with scikit-learn, and MNIST is read from IDX files (optionally gzipped) or an ``.npz`` that
the user supplies.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import struct
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as check


@dataclass(frozen=True)
class Dataset:
    """A classification data set with its split, checked when it is built.

    Attributes
    ----------
    x_train, x_test : ndarray of shape (n, n_features), float64
        Finite real features (the bundled loaders scale them to [0, 1]).  The training split
        has at least one row; the test split may be empty.
    y_train, y_test : ndarray of shape (n,), int64
        Integer labels in [0, n_classes), one per row of the matching features.
    n_classes : int >= 2
    name : str

    Construction raises ValueError / TypeError naming the split, the row and the label; the
    arrays are stored as float64 / int64 (copied only if they were not already).  The arrays
    stay writable, so an algorithm about to spend chip time calls :meth:`check` again.
    """

    x_train: NDArray[np.float64]
    y_train: NDArray[np.int64]
    x_test: NDArray[np.float64]
    y_test: NDArray[np.int64]
    n_classes: int
    name: str

    def __post_init__(self) -> None:
        n_classes = check.integer("n_classes", self.n_classes, minimum=2)
        x_train = check_features("x_train", self.x_train)
        x_test = check_features("x_test", self.x_test, n_features=x_train.shape[1], allow_empty=True)
        labels = {
            split: check_labels(
                f"y_{split}", y, n_rows=x.shape[0], n_classes=n_classes, rows_name=f"x_{split}"
            )
            for split, x, y in (("train", x_train, self.y_train), ("test", x_test, self.y_test))
        }
        for name, value in (("x_train", x_train), ("x_test", x_test), ("n_classes", n_classes)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "y_train", labels["train"])
        object.__setattr__(self, "y_test", labels["test"])

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    def check(self) -> Dataset:
        """Check again (the arrays may have been edited in place since construction); returns
        ``self``.  Costs one pass over the data, far less than one chip query per row."""
        dataclasses.replace(self)
        return self


def check_features(
    name: str, x: object, *, n_features: int | None = None, allow_empty: bool = False
) -> NDArray[np.float64]:
    """``x`` as a float64 array of shape (n, n_features), every value finite and real.

    Errors name ``name`` and, for a NaN or inf, its row and column: "x_train must be finite
    (no NaN or inf); got nan at row 37, column 2."  ``n_features`` (if given) is the width
    ``x`` must have; an empty ``x`` raises unless ``allow_empty``.
    """
    x = check.array(name, x, ndim=2, finite=False)
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(f"{name} must have {n_features} columns (as x_train); got shape {x.shape}.")
    if x.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} must have at least one row; got shape {x.shape}.")
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be finite (no NaN or inf); got {x[row, col]} at row {row}, column {col} "
            f"({int(bad.any(axis=1).sum())} row(s) affected)."
        )
    return x


def check_labels(name: str, y: object, *, n_rows: int, n_classes: int, rows_name: str) -> NDArray[np.int64]:
    """``y`` as int64 labels, one per row of ``rows_name`` (``n_rows``), in [0, n_classes).

    TypeError unless the labels are integers (float or bool labels are refused, not
    rounded); ValueError for a wrong length or a label out of range.
    """
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer labels; got {y.dtype}.")
    if y.ndim != 1 or y.shape[0] != n_rows:
        got = y.shape[0] if y.ndim == 1 else f"shape {y.shape}"
        raise ValueError(f"{name} must have one label per row of {rows_name} ({n_rows}); got {got}.")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} must hold labels in 0..{n_classes - 1}; got {y.min()}..{y.max()}.")
    return np.ascontiguousarray(y, dtype=np.int64)


def stratified_split(
    x: NDArray, y: NDArray, *, test_fraction: float, seed: int
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Split so every class keeps its proportion (scikit-learn's stratified shuffle split);
    the same seed gives the same split."""
    from sklearn.model_selection import train_test_split

    test_fraction = check.real("test_fraction", test_fraction)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1); got test_fraction={test_fraction}.")
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=seed)
    return xtr, ytr, xte, yte


def load_digits(*, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 handwritten digits (1,797 images, 64 features, 10 classes).

    The default 80/20 split leaves 360 test images (one image is 0.28 points of accuracy).
    """
    from sklearn.datasets import load_digits as _sk_digits

    bunch = _sk_digits()
    x = bunch.data.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    xtr, ytr, xte, yte = stratified_split(x, y, test_fraction=test_fraction, seed=seed)
    return Dataset(xtr, ytr, xte, yte, n_classes=10, name="digits")


def _read_idx(path: str) -> NDArray:
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"MNIST file not found: {path!r}.") from None
    except OSError as exc:
        raise ValueError(f"{path!r} is not a readable IDX file: {exc}.") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(
            f"{path!r} must be an IDX file of unsigned bytes (magic 0x0000 08 nd); "
            f"got first bytes {raw[:4].hex() or 'none'}."
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path!r} is truncated: its header needs {header} bytes.")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise ValueError(
            f"{path!r} must hold {expected} data bytes for shape {shape}; got {len(raw) - header}."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_mnist(
    *,
    train_images: str | None = None,
    train_labels: str | None = None,
    test_images: str | None = None,
    test_labels: str | None = None,
    npz: str | None = None,
) -> Dataset:
    """MNIST from local files: four IDX files (``.gz`` or raw), or one ``.npz``.

    The ``.npz`` must hold ``x_train, y_train, x_test, y_test`` (Keras's ``mnist.npz``
    layout); it is read with ``allow_pickle=False``.  MNIST's own train/test split is kept.
    """
    if npz is not None:
        if not os.path.exists(npz):
            raise FileNotFoundError(f"MNIST file not found: {npz!r}.")
        try:
            with np.load(npz, allow_pickle=False) as f:
                parts = [f[k] for k in ("x_train", "y_train", "x_test", "y_test")]
        except KeyError as exc:
            raise ValueError(
                f"{npz!r} must contain x_train, y_train, x_test, y_test; missing {exc}."
            ) from None
        except ValueError as exc:
            raise ValueError(f"{npz!r} is not a readable .npz file: {exc}") from exc
    else:
        paths = {
            "train_images": train_images,
            "train_labels": train_labels,
            "test_images": test_images,
            "test_labels": test_labels,
        }
        missing = [k for k, v in paths.items() if v is None]
        if missing:
            raise ValueError(f"load_mnist needs npz= or all four IDX paths; missing {', '.join(missing)}.")
        parts = [_read_idx(p) for p in paths.values()]
    xtr, ytr, xte, yte = parts
    for name, xs, ys in (("train", xtr, ytr), ("test", xte, yte)):
        if xs.shape[0] != ys.shape[0]:
            raise ValueError(
                f"MNIST {name} images and labels must be as many; got {xs.shape[0]} images and "
                f"{ys.shape[0]} labels."
            )
        if ys.size and (ys.min() < 0 or ys.max() > 9):
            raise ValueError(f"MNIST {name} labels must be in 0..9; got {ys.min()}..{ys.max()}.")
    return Dataset(
        xtr.reshape(len(xtr), -1).astype(np.float64) / 255.0,
        ytr.astype(np.int64),
        xte.reshape(len(xte), -1).astype(np.float64) / 255.0,
        yte.astype(np.int64),
        n_classes=10,
        name="mnist",
    )
