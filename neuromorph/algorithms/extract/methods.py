"""Copy a chip's weights out through its taps: finite differences and designed probes (layer 3).

Contract: every function here receives a chip's :class:`~neuromorph.chip.ChipPorts` (never the
:class:`~neuromorph.chip.Chip`) and, optionally, the chip's public :class:`ChipDesign` (layer
widths, converter resolutions and full scales, tile shape; no conductances).  It drives
inputs, reads taps, and returns a :class:`~neuromorph.chip.digital.DigitalNetwork` with what it
spent (a :class:`~neuromorph.chip.Meter` difference per layer and in total).

Layer ``l`` is linear before its ReLU: the tap reads ``y = [x, b] @ W_l`` (weight units, one
ADC per row tile, partial sums added digitally) plus read noise and quantisation.  Three ways
to find ``W_l`` of shape ``(N + 1, M)``:

``"fd"`` -- finite differences, the method as proposed
    Read a base point ``x0`` and ``x0 + h e_i`` for each input ``i``: ``N + 1`` queries
    (times ``repeats``); ``w_i = (y_i - y_0) / h``.  Each estimate is a difference of two
    reads, so ``var(w_i) = 2 sigma^2 / (r h^2)`` after ``r`` repeats, *if* the noise is
    random; without dither the quantisation error of a repeated read is the same every time
    and does not average away.
``"designed"`` -- balanced +/-a probes solved by least squares
    ``K >= N + 1`` probes whose input columns are +/-a (columns of a Sylvester Hadamard matrix
    with the all-ones column left to the bias, random signs for the rows beyond whole
    Hadamard blocks), each snapped to the DAC grid, plus a random dither of a few DAC steps
    so that the ADC's quantisation error becomes a random, zero-mean error of variance
    ``LSB^2 / 12`` per tile.  Every probe informs every weight, so
    ``var(w_i) ~ sigma^2 / (K a^2)`` with ``sigma^2 = sigma_read^2 + n_tiles LSB^2 / 12``:
    about ``2 (N + 1)`` times less than one-hot differences at the same amplitude and budget.
    The amplitude is chosen from a short pilot (a few probes per row tile at a conservative
    amplitude derived from the public design) so that most columns' tap readings stay inside
    the ADC's full scale; the pilot's readings join the least squares.  What the digits chip
    taught us (measured, ``benchmarks/copyout.py``):

    * Read noise is per device and relative (``G (1 + s eps)``), so its share of a reading
      does not fall as the amplitude grows; it differs between columns (a column of large
      weights has large conductances and is noisier) and between probe groups.  The fit is
      therefore weighted least squares, each probe group (tile x amplitude) weighted by its
      measured noise, and columns whose noise differs markedly get their own weights.
    * A few columns (a few percent of the hidden units) have weights several times wider
      than the rest and clip at the working amplitude.  Readings that could be clipped are
      dropped (selected on the predicted sum, not on the reading, which would bias the fit),
      a share of the probes runs at a *safe* amplitude, and, where the budget allows, the
      probes come in two rounds: the second drives the wide columns' weight directions
      (found by the first) at an amplitude they tolerate and every other direction at the
      working amplitude.
    * With several row tiles each probe drives one tile; the idle bias tile then reads a
      constant whose ADC rounding is the same every time, which gets its own offset.
``"run"`` -- through the layers below (when ``inputs_drivable`` is False)
    ``ports.run`` returns every layer's post-ReLU activity; the input of layer ``l`` is the
    RMS-normalised activity of layer ``l - 1``, which the chip computes from exactly the
    digitised values it returns, so the extractor knows it (and replicates the DAC's
    clipping and quantisation from the public design).  Each output unit is fitted by least
    squares on the queries where it is active (``h > 0``; a zero reading hides a negative
    pre-activation).  The inputs of deep layers all lie in the positive orthant with unit RMS
    and are correlated: the fit is worse conditioned and needs several times ``N + 1``
    queries, and a unit that is never active cannot be identified (ValueError naming it).

Scorers compare the result with ``chip.effective_weights()``; this module never reads them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.linalg
from numpy.typing import NDArray
from tqdm.auto import tqdm

from neuromorph import _validate as check
from neuromorph.chip import Chip, ChipDesign, ChipPorts, Meter
from neuromorph.chip.digital import DigitalNetwork, rms_normalize
from neuromorph.errors import PortAccessError
from neuromorph.hardware.periphery import max_code

Method = Literal["fd", "designed"]
METHODS = ("fd", "designed")
#: Redraws of a rank-deficient random probe design before giving up (checked before any read).
_MAX_REDRAWS = 50
#: Headroom (standard deviations, widest column) of the safe share of designed probes.
_SAFE_HEADROOM = 2.0
#: Noise groups per tile: pilot, safe, working and second-round probes.
_GROUPS = 4
#: Share of a tile's probes in the first of two rounds.
_FIRST_SHARE = 1.0 / 3.0
#: Readings of a probe group in a column from which that column's own noise is estimated.
_MIN_GROUP = 30


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


# ---------------------------------------------------------------------------- public design
def check_ports(ports, name: str = "ports") -> ChipPorts:
    """Return ``ports`` if it is a ChipPorts; TypeError for a Chip or anything else."""
    if isinstance(ports, Chip):
        raise TypeError(
            f"{name} must be a chip's ports (chip.ports()); got a Chip. Only ports are allowed: "
            "an algorithm that claims to run on hardware may not hold the chip's hidden state."
        )
    if not isinstance(ports, ChipPorts):
        raise TypeError(f"{name} must be a ChipPorts (chip.ports()); got {type(ports).__name__}.")
    return ports


def public_design(ports: ChipPorts, design: ChipDesign | None = None) -> ChipDesign:
    """The public design to plan probes with, checked against what the ports report.

    ``design=None`` takes the chip's datasheet from ``ports.design`` (public: widths,
    converters, ranges, tiles; no conductances).
    """
    check_ports(ports)
    if design is None:
        return ports.design
    if not isinstance(design, ChipDesign):
        raise TypeError(f"design must be a ChipDesign or None; got {type(design).__name__}.")
    pairs = (
        ("layer_sizes", design.layer_sizes, ports.layer_sizes),
        ("w_max", design.w_max, ports.weight_range),
        ("bias_input", design.bias_input, ports.bias_input),
        ("inputs_drivable", design.inputs_drivable, ports.inputs_drivable),
    )
    for name, mine, theirs in pairs:
        if mine != theirs:
            raise ValueError(
                f"design.{name} must match the chip's ports; got design.{name}={mine!r}, "
                f"ports report {theirs!r}. Pass the design this chip was fabricated from."
            )
    return design


def dac_quantize(x: NDArray, design: ChipDesign) -> NDArray:
    """Inputs as the design's DAC applies them: clipped to +/-input_full_scale and rounded
    to its grid (DAC input units, same shape)."""
    dac = design.periphery.dac
    fs = dac.input_full_scale
    t = np.clip(x / fs, -1.0, 1.0)
    levels = max_code(dac.bits)
    if levels > 0:
        t = np.round(t * levels) / levels
    return t * fs


def driven_bias(design: ChipDesign) -> float:
    """The bias input as the chip drives it: ``bias_input`` through the DAC (clipped and on
    its grid), so extracted bias weights are the chip's own, not scaled by the rounding."""
    return float(dac_quantize(np.array([design.bias_input]), design)[0])


def dac_step(design: ChipDesign) -> float:
    """One DAC input step (0 for an ideal DAC), input units."""
    levels = max_code(design.periphery.dac.bits)
    return 0.0 if levels == 0 else design.periphery.dac.input_full_scale / levels


def adc_lsb(design: ChipDesign) -> float:
    """One ADC code of a tap, weight x input units (0 for an ideal ADC)."""
    levels = max_code(design.periphery.adc.bits)
    return 0.0 if levels == 0 else design.adc_full_scale / levels


def row_tiles(design: ChipDesign, layer: int) -> list[tuple[int, int]]:
    """Row ranges ``(r0, r1)`` of the physical tiles of ``layer`` (bias row = the last row)."""
    n = design.layer_sizes[layer] + 1
    rows = design.tile_shape[0]
    return [(r0, min(n, r0 + rows)) for r0 in range(0, n, rows)]


def noise_floor(sigma: float, probes: int, amplitude: float) -> float:
    """The variance floor ``sigma^2 / (K a^2)`` of a weight after ``K`` probes of amplitude
    ``a`` with per-reading noise ``sigma`` (weight units)."""
    check.non_negative("sigma", sigma)
    check.integer("probes", probes, minimum=1)
    check.positive("amplitude", amplitude)
    return sigma**2 / (probes * amplitude**2)


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

    def layer(self, index: int, x) -> NDArray:
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


# ---------------------------------------------------------------------------- probe designs
def hadamard(n: int) -> NDArray:
    """Sylvester Hadamard matrix of order ``n`` (a power of two), entries +/-1."""
    n = check.integer("n", n, minimum=1)
    if n & (n - 1):
        raise ValueError(f"n must be a power of two; got n={n}.")
    h = np.ones((1, 1))
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h


def sign_design(n_probes: int, n_inputs: int, *, rng: np.random.Generator) -> NDArray:
    """Balanced +/-1 patterns, shape (n_probes, n_inputs).

    Whole blocks of a Sylvester Hadamard matrix of order ``H = 2**ceil(log2(n_inputs + 1))``
    (columns 1..n_inputs: orthogonal to each other and to the constant bias column), each
    block with random column signs and row order; the remaining ``n_probes mod H`` rows are
    random signs.
    """
    check.generator("rng", rng)
    order = 1 << math.ceil(math.log2(n_inputs + 1))
    blocks = []
    if n_probes >= order:
        h = hadamard(order)[:, 1 : n_inputs + 1]
        for _ in range(n_probes // order):
            flip = rng.choice([-1.0, 1.0], size=n_inputs)
            blocks.append(h[rng.permutation(order)] * flip)
    rest = n_probes - order * len(blocks)
    if rest:
        blocks.append(rng.choice([-1.0, 1.0], size=(rest, n_inputs)))
    return np.vstack(blocks)


# ---------------------------------------------------------------------------- helpers
def _check_layer(ports: ChipPorts, layer) -> int:
    layer = check.integer("layer", layer)
    if not 0 <= layer < ports.n_layers:
        raise ValueError(f"layer must be in 0..{ports.n_layers - 1}; got layer={layer}.")
    return layer


def _drivable(ports: ChipPorts, layer: int) -> bool:
    return layer == 0 or ports.inputs_drivable


def _require_drive(ports: ChipPorts, layer: int, method: str) -> None:
    if not _drivable(ports, layer):
        raise PortAccessError(
            f"layer {layer} is unreachable by {method!r}: its inputs cannot be driven "
            "(inputs_drivable=False). Use reach='run' (regression through the layers below)."
        )


def _saturated(y: NDArray, design: ChipDesign, n_tiles: int) -> NDArray:
    """Readings at a tap's full scale (boolean, same shape as ``y``); exact for one tile."""
    lsb = adc_lsb(design)
    if lsb == 0.0:
        return np.zeros(y.shape, dtype=bool)
    return np.abs(y) >= design.adc_full_scale * n_tiles - 0.5 * lsb


def _lstsq_columns(x_aug: NDArray, y: NDArray, keep: NDArray | None) -> NDArray:
    """Least squares per column over its kept rows: one shared solve where nothing is
    dropped; for the others a Woodbury downdate of the shared inverse Gram matrix (a few
    rows dropped) or the downdated Gram matrix solved afresh (many rows dropped, where the
    Woodbury form would cancel badly)."""
    p = x_aug.shape[1]
    gram = x_aug.T @ x_aug
    gram_inv = np.linalg.inv(gram)
    w = gram_inv @ (x_aug.T @ y)
    if keep is None or keep.all():
        return w
    cols = np.flatnonzero(~keep.all(axis=0))
    xty = x_aug.T @ y[:, cols]
    for c, j in enumerate(cols):
        drop = ~keep[:, j]
        if x_aug.shape[0] - np.count_nonzero(drop) < p:
            raise ValueError(
                f"column {j} keeps only {x_aug.shape[0] - np.count_nonzero(drop)} unsaturated "
                f"readings; it needs {p}. Lower the amplitude or add probes."
            )
        xd = x_aug[drop]
        rhs = xty[:, c] - xd.T @ y[drop, j]
        if xd.shape[0] > p // 4:
            w[:, j] = _solve_normal(gram - xd.T @ xd, rhs, lambda j=j, drop=drop: (x_aug[~drop], y[~drop, j]))
            continue
        # (G - Xd^T Xd)^-1 = G^-1 + G^-1 Xd^T (I - Xd G^-1 Xd^T)^-1 Xd G^-1
        u = xd @ gram_inv
        core = np.eye(xd.shape[0]) - u @ xd.T
        try:
            w[:, j] = gram_inv @ rhs + u.T @ np.linalg.solve(core, u @ rhs)
        except np.linalg.LinAlgError:
            w[:, j] = np.linalg.lstsq(x_aug[~drop], y[~drop, j], rcond=None)[0]
    return w


def _gls_columns(
    x_fit: NDArray, y: NDArray, keep: NDArray, group: NDArray, var_gj: NDArray, cols: NDArray, out: NDArray
) -> None:
    """Weighted least squares of the columns ``cols``, each with its own group variances
    ``var_gj[:, j]`` over its kept rows, written into ``out[:, j]``.  The Gram matrix of a
    column is a weighted sum of the groups' Gram matrices (computed once) less its dropped
    rows."""
    if cols.size == 0:
        return
    n_groups = var_gj.shape[0]
    grams = np.stack([x_fit[group == g].T @ x_fit[group == g] for g in range(n_groups)])
    for j in cols:
        inv_v = 1.0 / var_gj[:, j]
        drop = ~keep[:, j]
        xd = x_fit[drop]
        gram = np.tensordot(inv_v, grams, axes=1) - (xd * inv_v[group[drop], None]).T @ xd
        rhs = x_fit.T @ np.where(keep[:, j], y[:, j] * inv_v[group], 0.0)

        def fallback(j=j, drop=drop, inv_v=inv_v):
            sw = np.sqrt(inv_v[group[~drop]])
            return x_fit[~drop] * sw[:, None], y[~drop, j] * sw

        out[:, j] = _solve_normal(gram, rhs, fallback)


def _solve_normal(gram: NDArray, rhs: NDArray, fallback) -> NDArray:
    """Solve ``gram w = rhs`` by Cholesky; if the Gram matrix is too ill-conditioned for it,
    an orthogonal least-squares solve of ``x w = y`` with ``(x, y) = fallback()``."""
    try:
        c = scipy.linalg.cho_factor(gram, check_finite=False)
        return scipy.linalg.cho_solve(c, rhs, check_finite=False)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(*fallback(), rcond=None)[0]


def _full_rank(x_aug: NDArray) -> bool:
    """Whether the probes determine every weight (Gram matrix well conditioned)."""
    gram = x_aug.T @ x_aug
    scale = np.sqrt(np.diag(gram))
    if np.any(scale == 0.0):
        return False
    return bool(np.linalg.cond(gram / np.outer(scale, scale)) < 1e12)


# ---------------------------------------------------------------------------- one layer
def extract_layer_fd(
    ports: ChipPorts,
    layer: int,
    *,
    step: float | None = None,
    repeats: int = 1,
    base: NDArray | None = None,
    design: ChipDesign | None = None,
) -> tuple[NDArray, LayerRecord]:
    """One-hot finite differences on one layer: ``repeats * (N + 1)`` queries.

    Parameters
    ----------
    ports : ChipPorts
    layer : int
    step : float > 0, optional
        Step ``h`` in DAC input units; default the largest step the design allows without
        saturating a tap for any weight within the weight range:
        ``min(input_full_scale, adc_full_scale / (2 w_max))``, on the DAC grid.
    repeats : int >= 1
        Reads of every point, averaged.
    base : ndarray of shape (N,), optional
        The base point ``x0`` (default zeros).
    design : ChipDesign, optional
        Public design (see :func:`public_design`).

    Returns
    -------
    weights : ndarray of shape (N + 1, M)
    record : LayerRecord
    """
    check_ports(ports)
    design = public_design(ports, design)
    layer = _check_layer(ports, layer)
    _require_drive(ports, layer, "fd")
    repeats = check.integer("repeats", repeats, minimum=1)
    n = design.layer_sizes[layer]
    fs_in = design.periphery.dac.input_full_scale
    if step is None:
        step = min(fs_in, design.adc_full_scale / (2.0 * design.w_max))
    step = check.positive("step", step)
    x0 = np.zeros(n) if base is None else check.array("base", base, shape=(n,))
    x0 = dac_quantize(x0, design)
    pts = np.tile(x0, (n + 1, 1))
    pts[np.arange(1, n + 1), np.arange(n)] += step
    pts = dac_quantize(pts, design)
    h_eff = np.diag(pts[1:] - x0)
    if np.any(h_eff == 0.0):
        raise ValueError(
            f"step must move every input on the DAC grid; got step={step:g} with base values "
            "at the clipping limit. Use a smaller step or a base point inside the full scale."
        )
    before = ports.meter
    reads = ports.drive(layer, np.tile(pts, (repeats, 1)))
    y = reads.reshape(repeats, n + 1, -1).mean(axis=0)
    w = np.empty((n + 1, y.shape[1]))
    w[:n] = (y[1:] - y[0]) / h_eff[:, None]
    w[n] = (y[0] - x0 @ w[:n]) / driven_bias(design)
    spent = ports.meter.minus(before)
    sat = int(np.count_nonzero(_saturated(reads, design, len(row_tiles(design, layer)))))
    rec = LayerRecord(
        layer=layer,
        method="fd",
        queries=spent.queries,
        amplitude=float(step),
        dithered=False,
        saturated_readings=sat,
        residual_sigma=None,
        spent=spent,
    )
    return w, rec


def _pilot_amplitude(
    ports: ChipPorts,
    layer: int,
    design: ChipDesign,
    *,
    per_tile: int,
    headroom: float,
    column_quantile: float,
    dither_steps: int,
    safe_headroom: float,
    rng: np.random.Generator,
) -> tuple[NDArray, ...]:
    """Probe each row tile alone at a conservative amplitude; return the working and the
    safe amplitude of every tile and the pilot's inputs, readings and driven tiles."""
    n = design.layer_sizes[layer]
    fs_in = design.periphery.dac.input_full_scale
    fs_out = design.adc_full_scale
    tiles = row_tiles(design, layer)
    rows_max = max(r1 - r0 for r0, r1 in tiles)
    # The amplitude at which a tile of uniformly random weights over the full range would
    # reach full scale at 4 standard deviations: safe for any trained chip.
    a0 = min(fs_in, fs_out * math.sqrt(3.0) / (4.0 * math.sqrt(rows_max) * design.w_max))
    xs, scales = [], []
    for r0, r1 in tiles:
        r1 = min(r1, n)  # the bias row (index n) is always driven by the port
        x = np.zeros((per_tile, n))
        if r1 > r0:
            x[:, r0:r1] = a0 * rng.choice([-1.0, 1.0], size=(per_tile, r1 - r0))
        xs.append(dac_quantize(x, design))
    x = np.vstack(xs)
    y = ports.drive(layer, x)
    bias_part = np.zeros(y.shape[1])
    # Each tile's readings: spread from its own rows, plus the bias (last tile only).
    for t, (_, r1) in enumerate(tiles):
        yt = y[t * per_tile : (t + 1) * per_tile]
        if r1 > n:  # the bias tile: the mean is (mostly) the bias
            bias_part = np.abs(yt.mean(axis=0))
        scales.append(np.sqrt(np.mean((yt - yt.mean(axis=0)) ** 2, axis=0)) + adc_lsb(design))
    # At amplitude a a tile's reading has spread ~ spread * a / a0 (+ the bias offset).  The
    # widest columns may saturate now and then: their readings at full scale are dropped
    # from their own fits (see _solve), which costs them little since their weights are large.
    limit = fs_in - (dither_steps + 1) * dac_step(design)
    amps, safes = [], []
    for t, (_, r1) in enumerate(tiles):
        room = fs_out - (bias_part if r1 > n else 0.0)
        room = np.maximum(room, 0.25 * fs_out)
        ratio = np.quantile(room / (headroom * scales[t]), 1.0 - column_quantile) * a0
        amps.append(float(min(limit, max(ratio, dac_step(design), 1e-12))))
        safe = np.min(room / (safe_headroom * scales[t])) * a0
        safes.append(float(min(amps[-1], max(safe, dac_step(design), 1e-12))))
    tile_of = np.repeat(np.arange(len(tiles)), per_tile)
    return np.array(amps), np.array(safes), x, y, tile_of


def extract_layer_designed(
    ports: ChipPorts,
    layer: int,
    *,
    probes: int,
    amplitude: float | None = None,
    dither: bool | None = None,
    dither_steps: int = 3,
    pilot: int = 8,
    headroom: float = 2.5,
    column_quantile: float = 0.9,
    safe_fraction: float = 0.25,
    safe_headroom: float = _SAFE_HEADROOM,
    two_rounds: bool = True,
    design: ChipDesign | None = None,
    rng: np.random.Generator,
) -> tuple[NDArray, LayerRecord]:
    """Designed +/-a probes on one layer, solved by least squares.

    Parameters
    ----------
    ports : ChipPorts
    layer : int
    probes : int >= N + 1
        Total queries for this layer, pilot included (the budget ``K``).
    amplitude : float > 0, optional
        Probe amplitude ``a`` (DAC input units).  Default: measured by a pilot of ``pilot``
        probes per row tile so that ``headroom`` standard deviations of the tap readings of
        ``column_quantile`` of the columns fit in the ADC full scale.
    dither : bool, optional
        Add a random offset of up to ``dither_steps`` DAC steps to every input of every
        probe.  Default: on whenever the design's ADC quantises (the extractor cannot know
        the read noise in advance; dither costs nothing but a few percent of amplitude).
    dither_steps : int >= 1
    pilot : int >= 2
        Pilot probes per row tile (only when ``amplitude`` is None).
    headroom : float > 0
        Standard deviations of a tap reading that the amplitude keeps inside full scale...
    column_quantile : float in (0, 1]
        ...for this fraction of the columns (1: every column; the rest may saturate at
        times, and their saturated readings are dropped from their fits).
    safe_fraction : float in [0, 1]
        Share of the probes driven at the *safe* amplitude instead (``safe_headroom``
        standard deviations of the widest column; at least ``N_t + 8`` of a tile's probes
        when the budget allows), so that columns whose readings saturate keep unclipped
        probes in every direction.
    safe_headroom : float > 0
    two_rounds : bool
        Probe in two rounds when the budget allows (see the module docstring): about a third
        of each tile's probes (at least ``N_t + 32``) first, the rest steered around the wide
        columns' weight directions.
    design : ChipDesign, optional
    rng : numpy.random.Generator
        Probe signs, order and dither.

    Returns
    -------
    weights : ndarray of shape (N + 1, M)
    record : LayerRecord
    """
    check_ports(ports)
    design = public_design(ports, design)
    layer = _check_layer(ports, layer)
    check.generator("rng", rng)
    _require_drive(ports, layer, "designed")
    n = design.layer_sizes[layer]
    probes = check.integer("probes", probes)
    if probes < n + 1:
        raise ValueError(
            f"probes must be >= N + 1 = {n + 1} for layer {layer} (N = {n} inputs plus the "
            f"bias); got probes={probes}."
        )
    dither_steps = check.integer("dither_steps", dither_steps, minimum=1)
    pilot = check.integer("pilot", pilot, minimum=2)
    headroom = check.positive("headroom", headroom)
    safe_fraction = check.fraction("safe_fraction", safe_fraction)
    safe_headroom = check.positive("safe_headroom", safe_headroom)
    if not isinstance(two_rounds, (bool, np.bool_)):
        raise TypeError(f"two_rounds must be a bool; got {type(two_rounds).__name__}.")
    column_quantile = check.fraction("column_quantile", column_quantile)
    if column_quantile == 0.0:
        raise ValueError(f"column_quantile must be in (0, 1]; got column_quantile={column_quantile:g}.")
    if dither is None:
        dither = adc_lsb(design) > 0.0
    tiles = row_tiles(design, layer)
    n_out = design.layer_sizes[layer + 1]
    before = ports.meter
    # Several row tiles: each probe drives one tile only (blocks in proportion to the tiles'
    # rows), so every reading holds one tile's analog sum and its saturation is visible;
    # with one tile this is the plain all-inputs design.
    n_zero = 2 if len(tiles) > 1 else 0
    if amplitude is None:
        n_pilot = pilot * len(tiles)
        if probes - n_pilot - n_zero < n + 1:
            raise ValueError(
                f"probes must be >= N + 1 + pilot probes = {n + 1 + n_pilot + n_zero} for layer "
                f"{layer} when the amplitude is measured; got probes={probes}. Pass amplitude= "
                "or a larger budget."
            )
        amps, safes, x_pilot, y_pilot, t_pilot = _pilot_amplitude(
            ports,
            layer,
            design,
            per_tile=pilot,
            headroom=headroom,
            column_quantile=column_quantile,
            dither_steps=dither_steps,
            safe_headroom=safe_headroom,
            rng=rng,
        )
    else:
        amplitude = check.positive("amplitude", amplitude)
        if probes - n_zero < n + 1:
            raise ValueError(
                f"probes must be >= {n + 1 + n_zero} for layer {layer} (N + 1 plus "
                f"{n_zero} zero probes); got probes={probes}."
            )
        amps = safes = np.full(len(tiles), amplitude)
        x_pilot, y_pilot = np.zeros((0, n)), np.zeros((0, n_out))
        t_pilot = np.zeros(0, dtype=np.int64)
    step = dac_step(design)
    n_tiles = len(tiles)
    k = probes - x_pilot.shape[0] - n_zero
    sizes = [min(r1, n + 1) - r0 for r0, r1 in tiles]
    counts = [int(k * sz // (n + 1)) for sz in sizes]
    counts[-1] += k - sum(counts)
    # Two rounds where the budget allows: the first (a third of each tile's probes, at least
    # N_t + 32) finds the columns too wide for the working amplitude; the second keeps them
    # inside the ADC's range by driving their weight vectors' directions at a lower amplitude.
    first = list(counts)
    if two_rounds:
        for t in range(n_tiles):
            a_cnt = max(sizes[t] + 32, round(counts[t] * _FIRST_SHARE))
            if counts[t] - a_cnt >= counts[t] // 4:
                first[t] = a_cnt
    dith = (dither_steps if dither and step > 0.0 else 0), step
    g_pilot = _GROUPS * np.repeat(np.arange(n_tiles), pilot) if x_pilot.shape[0] else np.zeros(0, np.int64)
    xa, ta, ga = _round_probes(
        first,
        tiles,
        n,
        design,
        amps,
        safes,
        safe_fraction,
        dith,
        rng,
        x_pilot=x_pilot,
        t_pilot=t_pilot,
        n_zero=n_zero,
        layer=layer,
        probes=probes,
    )
    xs, ys = np.vstack([x_pilot, xa]), np.vstack([y_pilot, ports.drive(layer, xa)])
    tile_of, group = np.concatenate([t_pilot, ta]), np.concatenate([g_pilot, ga])
    second = [c - f for c, f in zip(counts, first, strict=True)]
    if sum(second):
        w_fit, _, _, _ = _designed_fit(
            _fit_inputs(xs, tile_of, design, n_tiles), ys, tile_of, group, design, layer, per_column=False
        )
        xb, tb, gb = _projected_probes(second, tiles, n, design, amps, w_fit[: n + 1], headroom, dith, rng)
        xs, ys = np.vstack([xs, xb]), np.vstack([ys, ports.drive(layer, xb)])
        tile_of, group = np.concatenate([tile_of, tb]), np.concatenate([group, gb])
    x_fit = _fit_inputs(xs, tile_of, design, n_tiles)
    w_fit, keep, var_g, var_gj = _designed_fit(x_fit, ys, tile_of, group, design, layer)
    w = w_fit[: n + 1]
    x = xs[x_pilot.shape[0] :]
    sigma, dropped = _residual_sigma(x_fit, ys, w_fit, keep), int(np.count_nonzero(~keep))
    # Fisher information sum_k a_k^2 / sigma_kj^2 of an input weight of tile t, column j, over
    # every probe driving the tile (kept or not): its floor is the inverse, sigma^2 / (K a^2)
    # when all probes share one amplitude and noise.  Read noise is per device and relative,
    # so sigma differs between columns (wide columns are noisier): each group's noise is
    # measured per column where it has enough readings, pooled over columns otherwise.
    n_groups = var_g.size
    info = []
    for t, (r0, r1) in enumerate(tiles):
        r1 = min(r1, n)
        rows = tile_of == t
        a2 = np.mean(xs[rows, r0:r1] ** 2, axis=1) if r1 > r0 else np.zeros(int(rows.sum()))
        a2_g = np.bincount(group[rows], a2, minlength=n_groups)  # (groups,)
        info.append((a2_g @ (1.0 / var_gj)).tolist())
    spent = ports.meter.minus(before)
    rec = LayerRecord(
        layer=layer,
        method="designed",
        queries=spent.queries,
        amplitude=float(np.min(amps)),
        dithered=bool(dither and step > 0.0),
        saturated_readings=dropped,
        residual_sigma=sigma,
        spent=spent,
        tile_probes=[int(c) for c in counts],
        tile_amplitudes=[
            float(np.sqrt(np.mean(x[tile_of[x_pilot.shape[0] :] == t][:, r0 : min(r1, n)] ** 2)))
            if min(r1, n) > r0
            else 0.0
            for t, (r0, r1) in enumerate(tiles)
        ],
        tile_information=info,
    )
    return w, rec


def _round_probes(
    counts,
    tiles,
    n,
    design,
    amps,
    safes,
    safe_fraction,
    dith,
    rng,
    *,
    x_pilot,
    t_pilot,
    n_zero,
    layer,
    probes,
):
    """One round of balanced sign probes (each drives one tile; a share at the safe amplitude)
    after ``n_zero`` zero probes; redrawn until, with the pilot, they determine every weight."""
    n_tiles = len(tiles)
    dither_steps, step = dith
    for _ in range(_MAX_REDRAWS):
        blocks, t_rows = [np.zeros((n_zero, n))], [np.full(n_zero, -1)]
        g_rows = [np.full(n_zero, _GROUPS * n_tiles)]
        for t, (r0, r1) in enumerate(tiles):
            r1 = min(r1, n)
            xb = np.zeros((counts[t], n))
            n_safe = 0
            if r1 > r0:
                # A share of the probes at the safe amplitude keeps the widest columns (whose
                # readings at the working amplitude saturate at times) well determined.
                # At least N_t + 8 safe probes (when the budget allows): every column then
                # keeps enough unsaturated readings to be determined, however wide.
                if safes[t] < amps[t]:
                    n_safe = max(int(round(safe_fraction * counts[t])), min(counts[t], r1 - r0 + 9))
                scale = np.r_[np.full(n_safe, safes[t]), np.full(counts[t] - n_safe, amps[t])]
                xb[:, r0:r1] = scale[:, None] * sign_design(counts[t], r1 - r0, rng=rng)
                if dither_steps:
                    xb[:, r0:r1] += step * rng.integers(
                        -dither_steps, dither_steps + 1, size=(counts[t], r1 - r0)
                    )
            blocks.append(xb)
            t_rows.append(np.full(counts[t], t))
            g_rows.append(
                np.r_[np.full(n_safe, _GROUPS * t + 1), np.full(counts[t] - n_safe, _GROUPS * t + 2)]
            )
        x = dac_quantize(np.vstack(blocks), design)
        tile_of = np.concatenate([t_pilot, *t_rows])
        if _full_rank(_fit_inputs(np.vstack([x_pilot, x]), tile_of, design, n_tiles)):
            return x, np.concatenate(t_rows), np.concatenate(g_rows)
    raise ValueError(
        f"probes must determine all {n + 1} weights of a column of layer {layer}; got a "
        f"singular design {_MAX_REDRAWS} times at probes={probes}. Use more probes."
    )


def _projected_probes(counts, tiles, n, design, amps, w_hat, headroom, dith, rng):
    """Second-round probes: signs at the working amplitude outside the span of the columns
    too wide for it (from the first round's fit ``w_hat``), at an amplitude they tolerate
    inside it, so those columns' readings stay unclipped while every other direction keeps
    the working amplitude.  Tiles with no wide column (or too many: more than a quarter of
    their rows) get plain sign probes."""
    fs = design.adc_full_scale
    dither_steps, step = dith
    blocks, t_rows, g_rows = [], [], []
    for t, (r0, r1) in enumerate(tiles):
        r1n = min(r1, n)
        xb = np.zeros((counts[t], n))
        if r1n > r0 and counts[t]:
            h = sign_design(counts[t], r1n - r0, rng=rng)
            wt = w_hat[r0:r1n]
            # The bias tile's constant (the bias weight times the driven bias) eats room.
            room = fs - (np.abs(w_hat[n]) * driven_bias(design) if r1 > n else np.zeros(w_hat.shape[1]))
            room = np.maximum(room, 0.25 * fs)
            norm = np.sqrt(np.sum(wt * wt, axis=0))
            wide = np.flatnonzero(amps[t] * norm * headroom > room)
            if 0 < wide.size <= (r1n - r0) // 4:
                # The fewest leading directions of the wide columns' weights that leave each
                # of them a remainder the working amplitude tolerates (1.2x margin).
                u, sv, _ = np.linalg.svd(wt[:, wide], full_matrices=False)
                limit = room[wide] / (1.2 * headroom * amps[t])
                coef = u.T @ wt[:, wide]  # (rank, wide)
                rest = np.sqrt(np.maximum(norm[wide] ** 2 - np.cumsum(coef**2, axis=0), 0.0))
                ok = np.flatnonzero(np.all(rest <= limit, axis=1))
                r = int(ok[0]) + 1 if ok.size else int(np.count_nonzero(sv > sv[0] * 1e-6))
                q = u[:, :r]
                inside = (h @ q) @ q.T
                # Amplitude inside the span: each wide column's reading spread
                # a^2 |rest|^2 + a_in^2 |inside part|^2 stays within room / headroom.
                budget = (room[wide] / headroom) ** 2 - (amps[t] * rest[r - 1]) ** 2
                part = np.sqrt(np.maximum(norm[wide] ** 2 - rest[r - 1] ** 2, 1e-300))
                a_in = float(np.min(np.sqrt(np.maximum(budget, 0.0)) / part))
                a_in = min(amps[t], max(a_in, step))
                xb[:, r0:r1n] = amps[t] * (h - inside) + a_in * inside
            else:
                xb[:, r0:r1n] = amps[t] * h
            if dither_steps:
                xb[:, r0:r1n] += step * rng.integers(
                    -dither_steps, dither_steps + 1, size=(counts[t], r1n - r0)
                )
        blocks.append(xb)
        t_rows.append(np.full(counts[t], t))
        g_rows.append(np.full(counts[t], _GROUPS * t + 3))
    return dac_quantize(np.vstack(blocks), design), np.concatenate(t_rows), np.concatenate(g_rows)


def _designed_fit(x_fit, ys, tile_of, group, design, layer, *, per_column: bool = True):
    """The designed probes' fit: weighted least squares over the unclipped readings.

    Returns the fitted coefficients (inputs, bias, offsets), the kept readings, and the noise
    variance of every probe group, typical (groups,) and per column (groups, M).
    """
    n = design.layer_sizes[layer]
    n_tiles = len(row_tiles(design, layer))
    x_aug = x_fit[:, : n + 1]
    observed = _unsaturated(ys, tile_of, design, n_tiles)
    w_fit, var_g = _weighted_fit(x_fit, ys, observed, group)
    keep = observed
    if not observed.all():
        # Dropping readings because they *read* at full scale selects on the noise (a reading
        # just below full scale is kept only when its noise pulled it down): a bias.  Select
        # on the inputs instead: drop every reading whose predicted tile sum (first fit) comes
        # within three noise sigmas of full scale, then refit.  Read noise is relative, so a
        # wide column's readings are noisier than the typical column's: each column's margin
        # uses its own noisiest group, measured on the readings whose predicted sum stays
        # within half the full scale (no clipping there to bias it).
        fs = design.adc_full_scale
        for _ in range(2):
            inner = observed & _predicted_unsaturated(x_aug, w_fit[: n + 1], tile_of, design, layer, 0.5 * fs)
            var_gj = _column_group_var(x_fit, ys, w_fit, inner, group, var_g)
            margin = np.minimum(3.0 * np.sqrt(var_gj.max(axis=0)) + adc_lsb(design), 0.25 * fs)
            keep = observed & _predicted_unsaturated(x_aug, w_fit[: n + 1], tile_of, design, layer, margin)
            w_fit, var_g = _weighted_fit(x_fit, ys, keep, group, var_g)
    var_gj = _column_group_var(x_fit, ys, w_fit, keep, group, var_g)
    if per_column:
        # Columns whose groups' noise differs from the typical column's *in proportion*
        # (wide columns: relative read noise grows with the amplitude and their conductances,
        # quantisation does not) get their own weights: per-column GLS.  Only the ratios
        # between groups matter to the fit, not a column's overall noise level; weights off
        # by less than 2x cost under 13 % of variance, so only columns beyond that refit.
        dev = np.log(var_gj / var_g[:, None])
        dev -= np.median(dev, axis=0)
        odd = np.flatnonzero(np.max(np.abs(dev), axis=0) > math.log(2.0))
        _gls_columns(x_fit, ys, keep, group, var_gj, odd, w_fit)
    return w_fit, keep, var_g, var_gj


def designed_floor(record: LayerRecord, design: ChipDesign, sigma: float | None = None) -> NDArray:
    """Variance floor of every input weight of a designed-probe layer, shape (N, M).

    Default: ``1 / sum_k (a_k^2 / sigma_kj^2)`` over the probes of the weight's tile, with
    each probe group's noise measured in the weight's column (``record.tile_information``);
    this is ``sigma^2 / (K_t a_t^2)`` when every probe has the same amplitude and noise.
    With ``sigma`` given: ``sigma^2 / (K_t a_t^2)`` with the main design's probes and
    amplitude, the same for every column.
    """
    if record.method != "designed":
        raise ValueError(f"record must be a 'designed' layer; got method={record.method!r}.")
    n, m = design.layer_sizes[record.layer], design.layer_sizes[record.layer + 1]
    tiles = row_tiles(design, record.layer)
    out = np.empty((n, m))
    if sigma is None and record.tile_information:
        for (r0, r1), info in zip(tiles, record.tile_information, strict=True):
            info = np.asarray(info, dtype=np.float64)
            out[r0 : min(r1, n)] = np.where(info > 0, 1.0 / np.where(info > 0, info, 1.0), np.inf)
        return out
    sigma = record.residual_sigma if sigma is None else sigma
    if sigma is None:
        raise ValueError(f"record must be an over-determined 'designed' layer; got residual_sigma={sigma}.")
    for (r0, r1), k, a in zip(tiles, record.tile_probes, record.tile_amplitudes, strict=True):
        out[r0 : min(r1, n)] = noise_floor(sigma, k, a)
    return out


def _unsaturated(y: NDArray, tile_of: NDArray, design: ChipDesign, n_tiles: int) -> NDArray:
    """Readings with no tile at full scale (boolean (K, M)), for probes that drive one tile.

    ``tile_of[k]`` is the tile probe ``k`` drives (-1: none).  Undriven tiles read zero,
    except the bias tile, which reads the bias alone: measured by the zero probes (-1) and
    subtracted before comparing with a tile's full scale.
    """
    lsb = adc_lsb(design)
    if lsb == 0.0:
        return np.ones(y.shape, dtype=bool)
    edge = design.adc_full_scale - 0.5 * lsb
    zero = tile_of < 0
    base = np.median(y[zero], axis=0) if zero.any() else np.zeros(y.shape[1])
    keep = np.ones(y.shape, dtype=bool)
    for t in range(n_tiles):
        rows = tile_of == t
        if t == n_tiles - 1:
            keep[rows] = np.abs(y[rows]) < edge
        else:
            # The bias tile's reading under this probe may round one code away from the zero
            # probes' (noise): allow for it, so that no clipped reading passes as unclipped.
            keep[rows] = np.abs(y[rows] - base) < edge - lsb
    return keep


def _predicted_unsaturated(
    x_aug: NDArray, w: NDArray, tile_of: NDArray, design: ChipDesign, layer: int, margin: float
) -> NDArray:
    """Readings whose driven tile's predicted sum stays ``margin`` inside full scale."""
    keep = np.ones((x_aug.shape[0], w.shape[1]), dtype=bool)
    fs = design.adc_full_scale
    tiles = row_tiles(design, layer)
    for t, (r0, r1) in enumerate(tiles):
        rows = tile_of == t
        if len(tiles) == 1:
            rows = np.ones(x_aug.shape[0], dtype=bool)
        keep[rows] = np.abs(x_aug[rows, r0:r1] @ w[r0:r1]) < fs - margin
    return keep


def _residual_sigma(x_aug: NDArray, y: NDArray, w: NDArray, keep: NDArray) -> float | None:
    """Noise of one reading from the residuals of the kept readings (None if exactly
    determined)."""
    dof = int(keep.sum()) - x_aug.shape[1] * y.shape[1]
    if dof <= 0:
        return None
    r = np.where(keep, y - x_aug @ w, 0.0)
    return float(np.sqrt(np.sum(r * r) / dof))


def _fit_inputs(xs: NDArray, tile_of: NDArray, design: ChipDesign, n_tiles: int) -> NDArray:
    """Regressors of the designed fit: the inputs, the driven bias and, with several row
    tiles, an indicator of the probes that leave the bias tile undriven.

    An undriven bias tile reads the bias alone: the same analog value on every such probe,
    so the same ADC rounding error (no dither reaches that tile), a per-column offset of up
    to half an LSB.  Its own coefficient keeps that offset out of the bias weight, which is
    then fitted from the bias tile's own dithered probes.
    """
    cols = [xs, np.full((xs.shape[0], 1), driven_bias(design))]
    if n_tiles > 1:
        cols.append((tile_of != n_tiles - 1).astype(np.float64)[:, None])
    return np.hstack(cols)


def _residual_group_var(
    x_fit: NDArray, y: NDArray, w: NDArray, keep: NDArray, group: NDArray, n_groups: int
) -> tuple[NDArray, NDArray]:
    """Per group and column (groups, M): the kept readings' residual variance (corrected for
    the fitted degrees of freedom) and their count."""
    r2 = np.where(keep, (y - x_fit @ w) ** 2, 0.0)
    onehot = np.eye(n_groups)[group]  # (K, groups)
    cnt = onehot.T @ keep.astype(np.float64)
    var = (onehot.T @ r2) * (keep.sum() / max(keep.sum() - w.size, 1)) / np.maximum(cnt, 1.0)
    return var, cnt


def _column_group_var(
    x_fit: NDArray, y: NDArray, w: NDArray, keep: NDArray, group: NDArray, var_g: NDArray
) -> NDArray:
    """Noise variance of every probe group in every column (groups, M), from the residuals of
    the kept readings; the typical ``var_g`` where a column has fewer than ``_MIN_GROUP``."""
    var, cnt = _residual_group_var(x_fit, y, w, keep, group, var_g.size)
    return np.where(cnt >= _MIN_GROUP, np.maximum(var, 1e-4 * var_g.max()), var_g[:, None])


def _weighted_fit(
    x_fit: NDArray, y: NDArray, keep: NDArray, group: NDArray, var_g: NDArray | None = None
) -> tuple[NDArray, NDArray]:
    """Least squares weighted by each noise group's measured noise.

    Read noise grows with a probe's amplitude and with the conductances of the tile it
    drives, while quantisation noise does not, so probes of different tiles and amplitudes
    differ in noise; weighting each reading by ``1 / sigma_group^2`` (estimated from the
    first, unweighted fit's residuals, typical over columns) is the efficient (generalised)
    least squares.  Returns the weights and the variance of every group (indexed by group),
    measured from the weighted fit's residuals.  With ``var_g`` (from an earlier fit) the
    unweighted pass is skipped.
    """
    if var_g is not None:
        sw = 1.0 / np.sqrt(var_g[group])
        w = _lstsq_columns(x_fit * sw[:, None], y * sw[:, None], keep)
        return w, _group_var(x_fit, y, w, keep, group)
    w = _lstsq_columns(x_fit, y, keep)
    var = _group_var(x_fit, y, w, keep, group)
    sw = 1.0 / np.sqrt(var[group])
    return _lstsq_columns(x_fit * sw[:, None], y * sw[:, None], keep), var


def _group_var(x_fit: NDArray, y: NDArray, w: NDArray, keep: NDArray, group: NDArray) -> NDArray:
    """Typical noise variance of every probe group, from the kept readings' residuals."""
    var_j, cnt = _residual_group_var(x_fit, y, w, keep, group, int(group.max()) + 1)
    # The typical column's noise: the median over columns where a group has enough readings
    # per column (a few wide, noisy columns must not set every column's weights; they get
    # their own in the caller), the mean over columns otherwise.
    many = cnt.min(axis=1) >= _MIN_GROUP
    tot = cnt.sum(axis=1)
    var = np.where(many, np.median(var_j, axis=1), (var_j * cnt).sum(axis=1) / np.maximum(tot, 1.0))
    var = np.where(tot > 0, var, np.nan)
    top = np.nanmax(var) if np.any(var > 0) else 1.0
    # A group with (almost) no residual, e.g. zero probes reading a constant, must not get an
    # unbounded weight: floor the variance at 1e-4 of the noisiest group's.
    return np.where(np.isfinite(var), np.maximum(var, 1e-4 * top), top)


def extract_layer_run(
    ports: ChipPorts,
    layer: int,
    *,
    probes: int,
    amplitude: float | None = None,
    design: ChipDesign | None = None,
    rng: np.random.Generator,
) -> tuple[NDArray, LayerRecord]:
    """Fit one layer from whole-chip runs (for layers whose inputs cannot be driven).

    Drives ``probes`` random inputs into the first layer (uniform on +/-``amplitude``, default
    the DAC's full scale / 4), reads every layer's activity, forms layer ``layer``'s inputs as
    the chip does (RMS normalisation, then the DAC's clipping and grid) and fits each output
    unit by least squares on the queries where it is active.

    Raises
    ------
    ValueError
        When a unit is active on fewer than ``N + 1`` independent queries (never active
        units cannot be identified through a ReLU): the layer is unreachable at this budget.
    """
    check_ports(ports)
    design = public_design(ports, design)
    layer = _check_layer(ports, layer)
    check.generator("rng", rng)
    n = design.layer_sizes[layer]
    probes = check.integer("probes", probes)
    if probes < n + 1:
        raise ValueError(f"probes must be >= N + 1 = {n + 1} for layer {layer}; got probes={probes}.")
    fs_in = design.periphery.dac.input_full_scale
    amplitude = fs_in / 4.0 if amplitude is None else check.positive("amplitude", amplitude)
    before = ports.meter
    x0 = dac_quantize(rng.uniform(-amplitude, amplitude, (probes, design.layer_sizes[0])), design)
    hs = ports.run(x0)
    x = x0 if layer == 0 else dac_quantize(rms_normalize(hs[layer - 1]), design)
    h = hs[layer]
    x_aug = np.hstack([x, np.full((probes, 1), driven_bias(design))])
    active = h > 0.0
    sat = _saturated(h, design, len(row_tiles(design, layer)))
    keep = active & ~sat
    w = np.zeros((n + 1, h.shape[1]))
    resid, dof = 0.0, 0
    for j in range(h.shape[1]):
        rows = keep[:, j]
        rank = np.linalg.matrix_rank(x_aug[rows]) if rows.any() else 0
        if rank < n + 1:
            raise ValueError(
                f"layer {layer} is unreachable through the layers below at this budget: unit {j} "
                f"is active on {int(rows.sum())} of {probes} queries (rank {rank}); it needs "
                f"{n + 1} independent ones. Add probes (a unit that is never active cannot be "
                "identified through its ReLU)."
            )
        w[:, j] = np.linalg.lstsq(x_aug[rows], h[rows, j], rcond=None)[0]
        r = h[rows, j] - x_aug[rows] @ w[:, j]
        resid += float(r @ r)
        dof += int(rows.sum()) - (n + 1)
    spent = ports.meter.minus(before)
    rec = LayerRecord(
        layer=layer,
        method="run",
        queries=spent.queries,
        amplitude=float(amplitude),
        dithered=False,
        saturated_readings=int(sat.sum()),
        residual_sigma=float(np.sqrt(resid / dof)) if dof > 0 else None,
        spent=spent,
    )
    return w, rec


# ---------------------------------------------------------------------------- whole chip
def extract(
    ports,
    *,
    method: Method = "designed",
    budget: float = 4.0,
    design: ChipDesign | None = None,
    reach: Literal["auto", "drive", "run"] = "auto",
    run_budget: float = 8.0,
    rng: np.random.Generator,
    progress: bool = True,
    **options,
) -> Extraction:
    """Extract every layer, lowest tap first, through the ports only.

    Parameters
    ----------
    ports : ChipPorts
        ``chip.ports()``; a Chip raises TypeError.
    method : {"designed", "fd"}
    budget : float
        Queries per layer as a multiple of ``N + 1`` (``N`` the layer's inputs).  For
        ``"fd"`` it must be a whole number (the repeats); for ``"designed"`` it must be >= 1
        (``ceil(budget (N + 1))`` probes, the pilot included: at ``budget = 1`` pass
        ``amplitude=``).
    design : ChipDesign, optional
        The chip's public design (default: the default design of the ports' widths).
    reach : {"auto", "drive", "run"}
        How to reach layers above the first: ``"drive"`` their own DACs (PortAccessError if
        the design forbids it), ``"run"`` regression through the layers below, ``"auto"``
        drive when allowed, else run.
    run_budget : float
        Queries per undrivable layer as a multiple of ``N + 1`` when reached by ``"run"``.
    rng : numpy.random.Generator
    progress : bool
    **options
        Passed to :func:`extract_layer_designed` (``amplitude``, ``dither``, ``pilot``...)
        or :func:`extract_layer_fd` (``step``, ``base``).

    Returns
    -------
    Extraction
        Its ``network`` is a :class:`PeripheryNetwork` (the weights run through the public
        converters); ``network.plain()`` is the bare DigitalNetwork.
    """
    check_ports(ports)
    design = public_design(ports, design)
    check.generator("rng", rng)
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    if reach not in ("auto", "drive", "run"):
        raise ValueError(f"reach must be 'auto', 'drive' or 'run'; got {reach!r}.")
    budget = check.real("budget", budget)
    if method == "fd" and (budget < 1 or budget != int(budget)):
        raise ValueError(
            f"budget must be a whole number >= 1 for 'fd' (repeats of N + 1 queries); got budget={budget:g}."
        )
    if method == "designed" and budget < 1:
        raise ValueError(
            f"budget must be >= 1 (probes >= N + 1 per layer) for 'designed'; got budget={budget:g}."
        )
    run_budget = check.real("run_budget", run_budget)
    if run_budget < 1:
        raise ValueError(f"run_budget must be >= 1; got run_budget={run_budget:g}.")
    before = ports.meter
    weights, records = [], []
    for layer in tqdm(range(ports.n_layers), desc=f"extract {method}", disable=not progress, leave=False):
        n = design.layer_sizes[layer]
        via = reach
        if reach == "auto":
            via = "drive" if _drivable(ports, layer) else "run"
        if via == "drive":
            _require_drive(ports, layer, method)
            if method == "fd":
                w, rec = extract_layer_fd(ports, layer, repeats=int(budget), design=design, **options)
            else:
                w, rec = extract_layer_designed(
                    ports, layer, probes=math.ceil(budget * (n + 1)), design=design, rng=rng, **options
                )
        else:
            w, rec = extract_layer_run(
                ports, layer, probes=math.ceil(run_budget * (n + 1)), design=design, rng=rng
            )
        weights.append(w)
        records.append(rec)
    net = PeripheryNetwork(weights, design=design)
    return Extraction(network=net, method=method, layers=records, spent=ports.meter.minus(before))
