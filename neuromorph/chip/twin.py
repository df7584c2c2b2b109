"""The software twin of a chip's ports: a :class:`~neuromorph.chip.digital.DigitalNetwork`
behind the :class:`~neuromorph.chip.ports.Ports` protocol (layer 2).

With it an on-chip algorithm runs unchanged on float weights: ``drive`` returns a layer's
exact pre-activations, ``run`` the network's forward, ``apply_delta`` and ``update`` add
to the weights, ``program`` writes them exactly, ``refresh`` does nothing, and
``set_output_correction`` corrects every later ``drive`` and ``run`` exactly as a chip's
digital periphery does (the correction belongs to these ports, not to the network, which
has no periphery; a new ``net.ports()`` starts from the identity).  Nothing is
metered: :attr:`DigitalPorts.meter` is always a zero :class:`~neuromorph.chip.ports.Meter`,
so an algorithm can subtract meter snapshots and call ``refresh`` without asking what it
holds.  A digital network has no datasheet, so :attr:`DigitalPorts.design` is None;
algorithms that plan from converter ranges and tiles (probe design) need a chip's ports.

The twin writes through: it holds the network, not a copy, so training ``net.ports()``
trains ``net``.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph import _validate as check
from neuromorph.chip.digital import DigitalNetwork, propagate
from neuromorph.chip.ports import Meter, apply_output_correction, check_output_correction, public_report
from neuromorph.hardware.crossbar import Crossbar


def _option_names(method) -> frozenset[str]:
    """Keyword options a chip's crossbar operation accepts (the twin accepts the same)."""
    return frozenset(
        name for name, p in inspect.signature(method).parameters.items() if p.kind is p.KEYWORD_ONLY
    )


_PROGRAM_OPTIONS = _option_names(Crossbar.program)
_REFRESH_OPTIONS = _option_names(Crossbar.refresh)


class DigitalPorts:
    """Ports over a :class:`DigitalNetwork`: same operations as a chip's, exact and free.

    Build with :meth:`DigitalNetwork.ports`.

    Parameters
    ----------
    network : DigitalNetwork
        The network read and written (not copied).
    weight_range : float, optional
        Largest ``|weight|`` a layer may hold, like a chip's ``w_max``.  Default ``inf``: no
        bound.  When finite, ``program`` refuses weights beyond it (as a chip does) and
        ``apply_delta`` / ``update`` clip to it (as a saturating device pair does).
    """

    __slots__ = ("_corrections", "_net", "_weight_range")

    def __init__(self, network: DigitalNetwork, *, weight_range: float = math.inf) -> None:
        if not isinstance(network, DigitalNetwork):
            raise TypeError(f"network must be a DigitalNetwork; got {type(network).__name__}.")
        weight_range = check.real("weight_range", weight_range, finite=False)
        if not weight_range > 0:
            raise ValueError(f"weight_range must be > 0; got weight_range={weight_range!r}.")
        if math.isfinite(weight_range):
            worst = max((float(np.max(np.abs(w))) for w in network.weights if w.size), default=0.0)
            if worst > weight_range:
                raise ValueError(
                    f"network weights must lie in [-weight_range, weight_range] = "
                    f"[-{weight_range:g}, {weight_range:g}]; got max |w| = {worst:.6g}."
                )
        self._net = network
        self._weight_range = weight_range
        self._corrections: list[tuple[NDArray[np.float64], NDArray[np.float64]] | None] = [
            None
        ] * network.n_layers

    # ------------------------------------------------------------------ public design
    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Layer widths of the network."""
        return self._net.layer_sizes

    @property
    def n_layers(self) -> int:
        """Number of weight layers."""
        return self._net.n_layers

    @property
    def bias_input(self) -> float:
        """The constant on every bias row."""
        return self._net.bias_input

    @property
    def weight_range(self) -> float:
        """Largest ``|weight|`` a layer may hold (``inf``: unbounded)."""
        return self._weight_range

    @property
    def inputs_drivable(self) -> bool:
        """Always True: every layer of a digital network can be driven."""
        return True

    @property
    def design(self) -> None:
        """None: a digital network has no datasheet (no converters, tiles or devices)."""
        return None

    @property
    def meter(self) -> Meter:
        """A zero meter: nothing on the twin costs chip time or energy."""
        return Meter()

    # ------------------------------------------------------------------ operations
    def drive(self, layer: int, x: ArrayLike) -> NDArray[np.float64]:
        """Exact pre-activations ``[x, b] @ W_layer`` (batch, n_out) for ``x`` (batch, n_in)."""
        layer = self._layer_index(layer)
        return apply_output_correction(
            self._net.layer(layer, self._inputs(layer, x)), self._corrections[layer]
        )

    def run(self, x: ArrayLike) -> list[NDArray[np.float64]]:
        """Activities of every layer for inputs ``x`` (batch, n_inputs): the network's forward
        (with each layer's output correction, if any was set)."""
        if all(c is None for c in self._corrections):
            return self._net.forward(x)
        x = self._inputs(0, x)
        return propagate(
            lambda i, xi: apply_output_correction(self._net.layer(i, xi), self._corrections[i]),
            x,
            self.n_layers,
        )

    def set_output_correction(self, layer: int, scale: ArrayLike, offset: ArrayLike) -> None:
        """Correct ``layer``'s outputs in every later read: ``y_out = (y - offset) * scale``
        per column (:func:`~neuromorph.chip.ports.check_output_correction`), as a chip does."""
        layer = self._layer_index(layer)
        scale, offset = check_output_correction(self.layer_sizes[layer + 1], scale, offset)
        identity = bool(np.all(scale == 1.0) and np.all(offset == 0.0))
        self._corrections[layer] = None if identity else (scale, offset)

    def output_correction(self, layer: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Copies of ``layer``'s ``(scale, offset)``, each (n_out,) (ones and zeros if none)."""
        layer = self._layer_index(layer)
        c = self._corrections[layer]
        if c is None:
            n_out = self.layer_sizes[layer + 1]
            return np.ones(n_out), np.zeros(n_out)
        return c[0].copy(), c[1].copy()

    def read_reference(self, layer: int, levels: ArrayLike) -> NDArray[np.float64]:
        """Reference ``levels`` (batch, n_out) through ideal converters: ``levels`` themselves,
        with the output correction, as a chip's test mux would give them (free)."""
        layer = self._layer_index(layer)
        levels = check.array("levels", levels, shape=(None, self.layer_sizes[layer + 1]))
        return apply_output_correction(levels, self._corrections[layer])

    def apply_delta(self, layer: int, delta: ArrayLike) -> int:
        """Add ``delta`` (n_in + 1, n_out) to the layer's weights; returns 0 pulses."""
        layer = self._layer_index(layer)
        w = self._net.weights[layer]
        w += check.array("delta", delta, shape=w.shape)
        self._saturate(w)
        return 0

    def update(self, layer: int, x: ArrayLike, d: ArrayLike, learning_rate: float) -> int:
        """Add ``learning_rate * [x, b].T @ d`` to the layer's weights; returns 0 pulses."""
        layer = self._layer_index(layer)
        x = self._inputs(layer, x)
        w = self._net.weights[layer]
        d = check.array("d", d, shape=(x.shape[0], w.shape[1]))
        learning_rate = check.real("learning_rate", learning_rate)
        w += learning_rate * (self._net.augment(x).T @ d)
        self._saturate(w)
        return 0

    def program(self, layer: int, weights: ArrayLike, **options: Any) -> dict:
        """Write ``weights`` (n_in + 1, n_out) exactly; returns a zero-cost public report
        (nothing sent, nothing read; the same keys as a chip's).

        ``options`` are a chip's programming options (``method``, ``tolerance``...): accepted
        so callers need not branch, and without effect on an exact write.  Weights beyond
        :attr:`weight_range` raise ValueError, as on a chip.
        """
        layer = self._layer_index(layer)
        self._check_options("program", options, _PROGRAM_OPTIONS)
        w = self._net.weights[layer]
        weights = check.array("weights", weights, shape=w.shape)
        worst = float(np.max(np.abs(weights))) if weights.size else 0.0
        if worst > self._weight_range:
            raise ValueError(
                f"weights must lie in [-weight_range, weight_range] = [-{self._weight_range:g}, "
                f"{self._weight_range:g}]; got max |w| = {worst:.6g}."
            )
        w[...] = weights
        return public_report(0, 0)

    def refresh(self, layer: int, **options: Any) -> dict:
        """Nothing to re-centre on float weights: a no-op returning a zero-cost report."""
        self._layer_index(layer)
        self._check_options("refresh", options, _REFRESH_OPTIONS)
        return public_report(0, 0)

    # ------------------------------------------------------------------ checks
    def _layer_index(self, layer) -> int:
        layer = check.integer("layer", layer)
        if not 0 <= layer < self.n_layers:
            raise ValueError(f"layer must be in 0..{self.n_layers - 1}; got layer={layer}.")
        return layer

    def _inputs(self, layer: int, x) -> NDArray[np.float64]:
        x = check.array("x", x, ndim=2)
        n_in = self.layer_sizes[layer]
        if x.shape[1] != n_in:
            raise ValueError(f"x must have {n_in} columns for layer {layer}; got shape {x.shape}.")
        return x

    @staticmethod
    def _check_options(op: str, options: dict, allowed: frozenset[str]) -> None:
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise TypeError(
                f"{op} options must be among {sorted(allowed)} (a chip's {op} options); got {unknown}."
            )

    def _saturate(self, w: NDArray[np.float64]) -> None:
        if math.isfinite(self._weight_range):
            np.clip(w, -self._weight_range, self._weight_range, out=w)

    def __repr__(self) -> str:
        return f"DigitalPorts(layer_sizes={self.layer_sizes}, weight_range={self._weight_range:g})"
