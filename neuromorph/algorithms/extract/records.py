"""What an extraction did and spent: one record per layer and the whole copy (layer 3).

Plain dataclasses, JSON-ready through ``as_dict``; they hold the extracted network and the
:class:`~neuromorph.chip.ports.Meter` differences, never anything read from a chip's hidden
state.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from neuromorph.chip.digital import DigitalNetwork
from neuromorph.chip.ports import Meter

__all__ = ["Extraction", "LayerRecord"]


@dataclass
class LayerRecord:
    """What extracting one layer did and cost.

    Attributes
    ----------
    layer : int
    method : str
        ``"fd"``, ``"designed"`` or ``"run"`` (regression through the layers below).
    queries : int
        Input vectors presented for this layer (pilot included).
    amplitude : float
        Probe amplitude ``a`` (or finite-difference step ``h``), DAC input units.
    dithered : bool
    saturated_readings : int
        Tap readings at full scale, dropped from their column's fit.
    residual_sigma : float or None
        Noise of one reading estimated from the fit's residuals (weight units), when the fit
        is over-determined; None otherwise.
    spent : Meter
        Meter difference over this layer.
    tile_probes, tile_amplitudes : list
        Designed probing: main-design probes and amplitude of every row tile (each probe
        drives one tile when the layer has several).
    tile_information : list of lists, (n_tiles, M)
        Designed probing: ``sum_k a_k^2 / sigma_kj^2`` over the probes driving each tile
        (``a_k`` the probe's RMS input, ``sigma_kj`` the measured noise of its group of
        probes in column ``j``); the variance floor of the tile's weights in column ``j`` is
        its inverse, which is ``sigma^2 / (K a^2)`` when all probes share one amplitude and
        noise.
    """

    layer: int
    method: str
    queries: int
    amplitude: float
    dithered: bool
    saturated_readings: int
    residual_sigma: float | None
    spent: Meter
    tile_probes: list[int] = field(default_factory=list)
    tile_amplitudes: list[float] = field(default_factory=list)
    tile_information: list[list[float]] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["spent"] = self.spent.as_dict()
        return d


@dataclass
class Extraction:
    """An extracted copy and its cost.

    Attributes
    ----------
    network : DigitalNetwork
    method : str
    layers : list of LayerRecord
    spent : Meter
        Everything the extraction spent (sum over layers).
    """

    network: DigitalNetwork
    method: str
    layers: list[LayerRecord] = field(default_factory=list)
    spent: Meter = field(default_factory=Meter)

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "layer_sizes": list(self.network.layer_sizes),
            "spent": self.spent.as_dict(),
            "layers": [r.as_dict() for r in self.layers],
        }
