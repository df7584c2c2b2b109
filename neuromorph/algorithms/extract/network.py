"""A digital copy that replays the chip's public converters (layer 3).

:class:`PeripheryNetwork` is what :func:`~neuromorph.algorithms.extract.extract` returns: the
extracted weights run through the design's DAC and each row tile's ADC, the noiseless mean of
what the chip computes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph.algorithms.extract.drive import adc_lsb, dac_quantize, row_tiles
from neuromorph.chip.design import ChipDesign
from neuromorph.chip.digital import DigitalNetwork

__all__ = ["PeripheryNetwork"]


class PeripheryNetwork(DigitalNetwork):
    """A digital copy that runs its weights through the chip's *public* periphery.

    The forward of :class:`DigitalNetwork` with, on every layer, the design's DAC (inputs
    clipped to ``+/-input_full_scale`` and rounded to its grid) and each row tile's ADC
    (partial sums clipped to ``+/-adc_full_scale`` and, with ``quantize``, rounded to its
    LSB) before the partial sums are added: the noiseless mean of what the chip computes.
    On the trained digits chip the plain float forward of the chip's *true* effective
    weights disagrees with the chip on ~3 % of test inputs (activities beyond the ADC's and
    DAC's full scales); this forward agrees on all of them.  ``save`` keeps only the weights.

    Parameters
    ----------
    weights : list of ndarray
    design : ChipDesign
        The public design whose converters are replayed.
    quantize : bool
    """

    def __init__(self, weights: list[NDArray], *, design: ChipDesign, quantize: bool = True) -> None:
        super().__init__(weights, bias_input=design.bias_input)
        self.design = design
        self.quantize = quantize

    def layer(self, index: int, x: ArrayLike) -> NDArray:
        """Tap readings of layer ``index`` (noiseless) for inputs ``x`` (batch, n_in)."""
        xa = dac_quantize(self.augment(np.asarray(x, dtype=np.float64)), self.design)
        w = self.weights[index]
        fs, lsb = self.design.adc_full_scale, adc_lsb(self.design)
        out = np.zeros((xa.shape[0], w.shape[1]))
        for r0, r1 in row_tiles(self.design, index):
            part = np.clip(xa[:, r0:r1] @ w[r0:r1], -fs, fs)
            if self.quantize and lsb > 0.0:
                part = np.round(part / lsb) * lsb
            out += part
        return out

    def plain(self) -> DigitalNetwork:
        """The same weights with the ideal float forward."""
        return DigitalNetwork([w.copy() for w in self.weights], bias_input=self.bias_input)

    def __repr__(self) -> str:
        return f"PeripheryNetwork(layer_sizes={self.layer_sizes})"
