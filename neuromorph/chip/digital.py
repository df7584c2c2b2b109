"""The immortal copy: a network of plain float weights with a chip's forward (layer 2).

Forward of every neuromorph network, chip or digital: for each layer ``l``
``a_l = [x_l, b] @ W_l`` (the last row of ``W_l`` is the bias, driven by the constant ``b``),
``h_l = relu(a_l)``, and the next layer's input is ``x_{l+1} = h_l / rms(h_l)``: length
normalisation without mean subtraction, as Forward-Forward needs (Hinton 2022).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph import _io
from neuromorph import _validate as check
from neuromorph.errors import ChipFileError

if TYPE_CHECKING:
    from neuromorph.chip.twin import DigitalPorts

#: Version 2 added one digest over metadata and arrays; version 1 files load with a warning.
_KIND, _VERSION, _LEGACY_VERSIONS = "neuromorph.chip.digital", 2, (1,)
#: Added to the mean square before the square root, so an all-zero layer stays zero.
RMS_EPS = 1e-12


def rms_normalize(h: NDArray) -> NDArray:
    """Rows of ``h`` scaled to unit root-mean-square (no mean subtraction)."""
    return h / np.sqrt(np.mean(h * h, axis=1, keepdims=True) + RMS_EPS)


def propagate(layer: Callable[[int, NDArray], NDArray], x: NDArray, n_layers: int) -> list[NDArray]:
    """The shared forward: ``h_l = relu(layer(l, x_l))``, ``x_{l+1} = rms_normalize(h_l)``.

    ``layer(l, x)`` returns layer ``l``'s pre-activations (a float product here, a metered
    tap read on a chip).  Returns every layer's activities.
    """
    hs = []
    for i in range(n_layers):
        h = np.maximum(layer(i, x), 0.0)
        hs.append(h)
        x = rms_normalize(h)
    return hs


def check_layer_sizes(layer_sizes: Sequence[int]) -> tuple[int, ...]:
    if not isinstance(layer_sizes, tuple | list) or len(layer_sizes) < 2:
        raise ValueError(
            f"layer_sizes must list at least two widths (inputs, outputs...); got {layer_sizes!r}."
        )
    return tuple(check.integer(f"layer_sizes[{i}]", s, minimum=1) for i, s in enumerate(layer_sizes))


class DigitalNetwork:
    """Float weights, one ``(n_in + 1, n_out)`` matrix per layer (last row: bias).

    Parameters
    ----------
    weights : list of ndarray
    bias_input : float
        Constant driven on each layer's bias row.
    """

    def __init__(self, weights: list[NDArray], *, bias_input: float = 1.0) -> None:
        self.weights = weights
        self.bias_input = bias_input

    @classmethod
    def from_weights(cls, weights: Sequence[ArrayLike], *, bias_input: float = 1.0) -> DigitalNetwork:
        """Validate and copy a list of weight matrices into a network."""
        if not isinstance(weights, list | tuple) or not weights:
            raise TypeError(f"weights must be a non-empty list of arrays; got {type(weights).__name__}.")
        ws = [check.array(f"weights[{i}]", w, ndim=2).copy() for i, w in enumerate(weights)]
        for i in range(1, len(ws)):
            if ws[i].shape[0] != ws[i - 1].shape[1] + 1:
                raise ValueError(
                    f"weights[{i}] must have {ws[i - 1].shape[1] + 1} rows (layer {i - 1}'s "
                    f"{ws[i - 1].shape[1]} outputs + bias); got shape {ws[i].shape}."
                )
        return cls(ws, bias_input=check.real("bias_input", bias_input))

    @classmethod
    def initialize(
        cls,
        layer_sizes: Sequence[int],
        *,
        rng: np.random.Generator,
        scale: float = 1.0,
        bias_input: float = 1.0,
    ) -> DigitalNetwork:
        """Gaussian weights of std ``scale / sqrt(n_in + 1)``, zero-mean; biases included."""
        sizes = check_layer_sizes(layer_sizes)
        check.generator("rng", rng)
        ws = [
            rng.normal(0.0, scale / np.sqrt(a + 1), (a + 1, b))
            for a, b in zip(sizes[:-1], sizes[1:], strict=False)
        ]
        return cls(ws, bias_input=bias_input)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (self.weights[0].shape[0] - 1, *(w.shape[1] for w in self.weights))

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    def ports(self, *, weight_range: float = math.inf) -> DigitalPorts:
        """The network's software twin of a chip's ports (:class:`~neuromorph.chip.twin.DigitalPorts`).

        Mirrors :meth:`neuromorph.chip.Chip.ports`: algorithms written for a chip's ports run
        unchanged on it, exactly and unmetered.  The twin writes through to this network.
        ``weight_range`` bounds the weights as a chip's ``w_max`` does (default: unbounded).
        """
        from neuromorph.chip.twin import DigitalPorts  # twin imports this module

        return DigitalPorts(self, weight_range=weight_range)

    def augment(self, x: NDArray) -> NDArray:
        """``x`` with the bias column appended."""
        return np.hstack([x, np.full((x.shape[0], 1), self.bias_input)])

    def layer(self, index: int, x: ArrayLike) -> NDArray:
        """Pre-activations of layer ``index`` for inputs ``x`` of shape (batch, n_in)."""
        return self.augment(x) @ self.weights[index]

    def forward(self, x: ArrayLike) -> list[NDArray]:
        """Activities ``h_l`` of every layer for inputs ``x`` of shape (batch, n_inputs)."""
        x = check.array("x", x, ndim=2)
        if x.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"x must have {self.layer_sizes[0]} features; got shape {x.shape}.")
        return propagate(self.layer, x, self.n_layers)

    def save(self, path: str | os.PathLike) -> str:
        """Write the network atomically to ``path`` (``.npz`` + JSON metadata)."""
        arrays = {f"w{i}": w for i, w in enumerate(self.weights)}
        return _io.save(
            path,
            kind=_KIND,
            version=_VERSION,
            meta={"bias_input": self.bias_input, "n_layers": self.n_layers},
            arrays=arrays,
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> DigitalNetwork:
        """Read a network saved by :meth:`save`; a malformed file raises ChipFileError."""
        meta, arrays = _io.load(path, kind=_KIND, version=_VERSION, legacy_versions=_LEGACY_VERSIONS)
        try:
            n = check.integer("n_layers", meta["n_layers"], minimum=1)
            if set(arrays) != {f"w{i}" for i in range(n)}:
                raise ValueError(f"arrays must be w0..w{n - 1}; got {sorted(arrays)}.")
            return cls.from_weights([arrays[f"w{i}"] for i in range(n)], bias_input=meta["bias_input"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ChipFileError(f"{os.fspath(path)!r} has inconsistent network metadata: {exc}") from exc

    def __repr__(self) -> str:
        return f"DigitalNetwork(layer_sizes={self.layer_sizes})"
