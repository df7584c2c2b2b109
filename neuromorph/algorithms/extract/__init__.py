"""Copy a chip's weights out through its taps: finite differences and designed probes (layer 3).

Contract: every function here receives a chip's ports (a
:class:`~neuromorph.chip.ports.Ports`, never the chip itself) and, optionally, the chip's
public :class:`~neuromorph.chip.ChipDesign` (layer widths, converter resolutions and full
scales, tile shape; no conductances).  It drives inputs, reads taps, and returns a
:class:`~neuromorph.chip.digital.DigitalNetwork` with what it spent (a
:class:`~neuromorph.chip.ports.Meter` difference per layer and in total).

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

Scorers compare the result with ``chip.effective_weights()``; this package never reads them.

Modules, by concern: :mod:`.drive` (the public design, its converters and tiles, which
layers can be driven), :mod:`.probes` (sign designs, pilot, the two rounds, variance floors),
:mod:`.fit` (per-column least squares, noise groups, the weighted fit), :mod:`.designed`
(designed probing in named steps), :mod:`.methods` (finite differences, regression through
the layers below, the whole-chip loop), :mod:`.network` (:class:`PeripheryNetwork`) and
:mod:`.records` (what each layer cost).  Every public name is re-exported here.
"""

from neuromorph.algorithms.extract.designed import (
    COLUMN_QUANTILE,
    DITHER_STEPS,
    HEADROOM,
    PILOT_PER_TILE,
    SAFE_FRACTION,
    SAFE_HEADROOM,
    extract_layer_designed,
    min_probes,
)
from neuromorph.algorithms.extract.drive import (
    MAX_HELD_VALUES,
    adc_lsb,
    check_layer,
    check_queries,
    clip_edge,
    dac_quantize,
    dac_step,
    drivable,
    driven_bias,
    public_design,
    require_drive,
    row_tiles,
    saturated,
)
from neuromorph.algorithms.extract.fit import designed_fit, gls_columns, lstsq_columns, residual_sigma
from neuromorph.algorithms.extract.methods import (
    METHODS,
    Method,
    extract,
    extract_layer_fd,
    extract_layer_run,
)
from neuromorph.algorithms.extract.network import PeripheryNetwork
from neuromorph.algorithms.extract.probes import (
    GROUPS_PER_TILE,
    PILOT_GROUP,
    SAFE_GROUP,
    SECOND_GROUP,
    WORKING_GROUP,
    ProbePlan,
    designed_floor,
    fit_inputs,
    hadamard,
    noise_floor,
    pilot_amplitudes,
    pilot_probes,
    projected_probes,
    round_probes,
    sign_design,
)
from neuromorph.algorithms.extract.records import Extraction, LayerRecord

__all__ = [
    "COLUMN_QUANTILE",
    "DITHER_STEPS",
    "GROUPS_PER_TILE",
    "HEADROOM",
    "MAX_HELD_VALUES",
    "METHODS",
    "PILOT_GROUP",
    "PILOT_PER_TILE",
    "SAFE_FRACTION",
    "SAFE_GROUP",
    "SAFE_HEADROOM",
    "SECOND_GROUP",
    "WORKING_GROUP",
    "Extraction",
    "LayerRecord",
    "Method",
    "PeripheryNetwork",
    "ProbePlan",
    "adc_lsb",
    "check_layer",
    "check_queries",
    "clip_edge",
    "dac_quantize",
    "dac_step",
    "designed_fit",
    "designed_floor",
    "drivable",
    "driven_bias",
    "extract",
    "extract_layer_designed",
    "extract_layer_fd",
    "extract_layer_run",
    "fit_inputs",
    "gls_columns",
    "hadamard",
    "lstsq_columns",
    "min_probes",
    "noise_floor",
    "pilot_amplitudes",
    "pilot_probes",
    "projected_probes",
    "public_design",
    "require_drive",
    "residual_sigma",
    "round_probes",
    "row_tiles",
    "saturated",
    "sign_design",
]
