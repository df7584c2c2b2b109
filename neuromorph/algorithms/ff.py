"""Forward-Forward training, in software and in place on a chip (layer 3).

Follows Hinton, "The Forward-Forward Algorithm: Some Preliminary Investigations" (2022):

* **positive data**: an input with its correct label embedded; **negative data**: the same
  input with a wrong label, drawn uniformly from the *other* labels (never the true one) or,
  with ``hard_negatives``, in proportion to the network's own softmax over wrong labels'
  goodness;
* **goodness** of layer ``l`` is the mean squared activity ``mean(h_l**2)``; each layer has
  its own logistic loss ``softplus(-(G - theta))`` on positives and ``softplus(G - theta)``
  on negatives, so the gradient stays local: ``dL/dW_l = [x_l, b]^T (dL/dG * 2 h_l / M)``;
* inputs to each layer are the previous layer's activities length-normalised by their RMS
  (no mean subtraction), which hides the previous goodness from the next layer;
* **prediction**: the label whose embedding gives the largest goodness summed over layers.

The input image is RMS-normalised and the one-hot label appended, scaled by ``label_scale``;
with a threshold on the *mean* squared activity (theta = 1) the input scale, the threshold and
the initialisation agree (unit-length inputs with theta = 2 on the sum did not train).

One loop, any :class:`~neuromorph.chip.ports.Ports`: a chip's ports, touched only through
``run`` (DAC -> arrays -> ADC taps -> digital ReLU and normalisation), ``apply_delta``
(programming pulses) and ``refresh``, so device nonlinearity, asymmetry, cycle-to-cycle
noise, stuck devices and quantisation all act on learning; or the software twin of a
:class:`~neuromorph.chip.digital.DigitalNetwork` (float weights, the ideal reference), whose
meter stays zero and whose refresh does nothing.  A DigitalNetwork passed directly is
wrapped as ``net.ports()``.  The optimiser state (Adam moments, :mod:`.optim`) lives in the
trainer's digital memory, as it would in a chip's controller.

``FFConfig(update="mixed")`` puts a mixed-precision accumulator (Nandakumar et al.,
Front. Neurosci. 14, 406 (2020)) between the optimiser and ``apply_delta``: the changes
accumulate digitally and only whole device steps (the granularity from the ports' public
design, :func:`design_granularity`) are sent; :class:`History` counts its digital
operations and memory beside the chip's pulses.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from tqdm.auto import tqdm

from neuromorph import _validate as check
from neuromorph.algorithms.optim import Adam, MixedPrecisionAccumulator, Optimizer, Sgd
from neuromorph.chip.design import ChipDesign
from neuromorph.chip.digital import DigitalNetwork, rms_normalize
from neuromorph.chip.ports import Ports, check_ports
from neuromorph.datasets import Dataset, check_features, check_labels
from neuromorph.hardware.programming import DEFAULT_MAX_PULSES

#: What the functions here accept: ports, or a DigitalNetwork (wrapped as ``net.ports()``).
Model = Ports | DigitalNetwork

#: The ways an optimiser step reaches the weights (:attr:`FFConfig.update`).
UPDATES = ("pulse", "mixed")


@dataclass(frozen=True)
class FFConfig:
    """Forward-Forward hyper-parameters.

    Defaults were chosen on the 8x8 digits (2 x 500 hidden, 60 epochs) by measured test
    accuracy: Adam with hard negatives; on seeds 2 and 3, label scale 2 / batch 100 / rate
    0.01 gave 96.4 and 96.1 %, batch 50 / rate 0.02 gave 97.8 and 97.2 %; rate 0.04 diverged
    early (90 %).  benchmarks/ff_digits.py measures the defaults over five seeds.
    """

    epochs: int = 60
    batch_size: int = 50
    learning_rate: float = 0.02
    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: float = 0.9
    threshold: float = 1.0
    label_scale: float = 2.0
    hard_negatives: bool = True
    init_scale: float = 1.0
    skip_first_layer: bool = False
    #: On a chip, refresh every layer's pairs every this many epochs (0: never); see
    #: :meth:`neuromorph.hardware.crossbar.Crossbar.refresh`.  A no-op in software.  Measured on the
    #: digits chip (seeds 0 and 4): 95.8 / 95.8 % without, 96.9 / 97.8 % every 5 epochs, for
    #: twice the programming pulses.
    refresh_every: int = 5
    #: How each optimiser step reaches the weights: ``"pulse"`` sends it through
    #: ``ports.apply_delta`` at once (stochastically rounded to pulses by the chip);
    #: ``"mixed"`` adds it to a digital accumulator and sends only whole device steps
    #: (:class:`~neuromorph.algorithms.optim.MixedPrecisionAccumulator`, Nandakumar et al.
    #: 2020).  On a twin, mixed approaches pulse as the granularity shrinks (a step of more
    #: than ``DEFAULT_MAX_PULSES`` granules waits for later calls).
    update: Literal["pulse", "mixed"] = "pulse"
    #: With ``update="mixed"``: the accumulator's threshold epsilon, weight units.  None takes
    #: the device's nominal weight step from the ports' public design
    #: (:func:`design_granularity`); ports without a design (a twin) need it given.
    granularity: float | None = None

    def __post_init__(self) -> None:
        check.integer("epochs", self.epochs, minimum=0)
        check.integer("batch_size", self.batch_size, minimum=1)
        check.positive("learning_rate", self.learning_rate)
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd'; got {self.optimizer!r}.")
        check.fraction("momentum", self.momentum)
        check.positive("threshold", self.threshold)
        check.positive("label_scale", self.label_scale)
        check.positive("init_scale", self.init_scale)
        check.integer("refresh_every", self.refresh_every, minimum=0)
        if self.update not in UPDATES:
            raise ValueError(f"update must be one of {list(UPDATES)}; got {self.update!r}.")
        if self.granularity is not None:
            if self.update != "mixed":
                raise ValueError(
                    f"granularity must be None unless update='mixed'; got granularity="
                    f"{self.granularity!r} with update={self.update!r}."
                )
            check.positive("granularity", self.granularity)


@dataclass
class History:
    """What training did, epoch by epoch.

    Attributes
    ----------
    loss : list of float
        Mean FF loss over layers and batches, per epoch.
    test_accuracy, test_epochs : list
        Test accuracy and the epoch (1-based) it was measured after, when ``eval_every``.
    wall_seconds : list of float
        Wall time of each epoch's training (not its evaluation).
    pulses, energy_j : list
        The ports' meter since training began, read after each epoch's training:
        programming pulses and joules (earlier epochs' evaluation reads included).  Zero on a
        DigitalNetwork's twin.
    accumulator_ops : list of int
        With ``update="mixed"``: the digital operations of the update accumulator since
        training began, after each epoch (zeros with ``update="pulse"``).  Counted, not
        billed to the chip's meter: the accumulator lives in the trainer's digital memory.
    accumulator_bytes : int
        Digital memory the update accumulator holds (0 with ``update="pulse"``).
    """

    loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    test_epochs: list[int] = field(default_factory=list)
    wall_seconds: list[float] = field(default_factory=list)
    pulses: list[int] = field(default_factory=list)
    energy_j: list[float] = field(default_factory=list)
    accumulator_ops: list[int] = field(default_factory=list)
    accumulator_bytes: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def embed(x: NDArray, labels: NDArray, *, n_classes: int, label_scale: float) -> NDArray:
    """RMS-normalised inputs with the one-hot label (times ``label_scale``) appended."""
    onehot = np.zeros((x.shape[0], n_classes))
    onehot[np.arange(x.shape[0]), labels] = label_scale
    return np.hstack([rms_normalize(x), onehot])


def _as_ports(model: Model, name: str = "model") -> Ports:
    """``model`` as ports: a DigitalNetwork becomes its twin ``model.ports()``; ports pass
    through :func:`~neuromorph.chip.ports.check_ports` (a Chip raises TypeError)."""
    if isinstance(model, DigitalNetwork):
        return model.ports()
    return check_ports(model, name)


def check_dataset(data: Dataset, layer_sizes: tuple[int, ...], *, name: str = "data") -> Dataset:
    """Check ``data`` (named ``name``) against a model's input width before anything touches
    the model: every pixel finite (the error names the split and row), labels integers in
    range, one per row (:meth:`Dataset.check <neuromorph.datasets.Dataset.check>`).  Returns
    ``data``."""
    if not isinstance(data, Dataset):
        raise TypeError(f"{name} must be a neuromorph Dataset; got {type(data).__name__}.")
    data.check()
    want = data.n_features + data.n_classes
    if layer_sizes[0] != want:
        raise ValueError(
            f"the network's input width must be n_features + n_classes = {data.n_features} + "
            f"{data.n_classes} = {want}; got {layer_sizes[0]}."
        )
    return data


def _check_inputs(ports: Ports, x: ArrayLike, n_classes: int) -> tuple[NDArray[np.float64], int]:
    """``x`` (n, n_inputs - n_classes) and ``n_classes`` checked against the model's input
    width before any query: at least two classes, one row or more, every value finite."""
    n_classes = check.integer("n_classes", n_classes, minimum=2)
    x = check.array("x", x, ndim=2, finite=False)
    want = ports.layer_sizes[0] - n_classes
    if x.shape[1] != want:
        raise ValueError(
            f"x must have n_inputs - n_classes = {ports.layer_sizes[0]} - {n_classes} = {want} columns "
            f"for this model; got shape {x.shape}."
        )
    return check_features("x", x), n_classes


def goodness_table(
    model: Model, x: ArrayLike, *, n_classes: int, config: FFConfig, chunk: int = 2000
) -> NDArray[np.float64]:
    """Goodness summed over layers for every (input, label): shape (n, n_classes).

    Runs ``n * n_classes`` label-embedded inputs through ``model``'s ports, ``chunk`` rows at
    a time (metered on a chip).
    """
    ports = _as_ports(model)
    x, n_classes = _check_inputs(ports, x, n_classes)
    chunk = check.integer("chunk", chunk, minimum=1)
    first = 1 if config.skip_first_layer and ports.n_layers > 1 else 0
    out = np.empty((x.shape[0], n_classes))
    per = max(1, chunk // n_classes)
    for s in range(0, x.shape[0], per):
        xs = x[s : s + per]
        n = xs.shape[0]
        stacked = np.vstack(
            [
                embed(xs, np.full(n, c), n_classes=n_classes, label_scale=config.label_scale)
                for c in range(n_classes)
            ]
        )
        hs = ports.run(stacked)
        g = sum(np.mean(h * h, axis=1) for h in hs[first:])
        out[s : s + n] = g.reshape(n_classes, n).T
    return out


@dataclass(frozen=True)
class SoftmaxHead:
    """A linear softmax classifier on the activities of a neutral-label pass (Hinton 2022).

    The input carries the neutral label (``label_scale / n_classes`` in every label slot);
    the features are every layer's RMS-normalised activities, concatenated.  One pass per
    input instead of one per label.  Lives in digital periphery: on a chip it is float.
    """

    weights: NDArray[np.float64]
    bias: NDArray[np.float64]

    def logits(self, features: NDArray) -> NDArray:
        return features @ self.weights + self.bias


def neutral_features(model: Model, x: ArrayLike, *, n_classes: int, config: FFConfig) -> NDArray[np.float64]:
    """Concatenated RMS-normalised activities of every layer for neutral-label inputs."""
    ports = _as_ports(model)
    x, n_classes = _check_inputs(ports, x, n_classes)
    onehot = np.full((x.shape[0], n_classes), config.label_scale / n_classes)
    hs = ports.run(np.hstack([rms_normalize(x), onehot]))
    return np.hstack([rms_normalize(h) for h in hs])


def fit_head(
    model: Model, data: Dataset, *, config: FFConfig, l2: float = 1e-3, max_iter: int = 500
) -> SoftmaxHead:
    """Fit a :class:`SoftmaxHead` on the training set's neutral-label activities (L-BFGS).

    Costs one pass of the training set through the model (metered on a chip).
    """
    from scipy.optimize import minimize

    check_dataset(data, _as_ports(model).layer_sizes)
    l2 = check.non_negative("l2", l2)
    max_iter = check.integer("max_iter", max_iter, minimum=1)
    feats = neutral_features(model, data.x_train, n_classes=data.n_classes, config=config)
    n, d = feats.shape
    c = data.n_classes
    onehot = np.zeros((n, c))
    onehot[np.arange(n), data.y_train] = 1.0

    def loss(theta):
        w = theta[: d * c].reshape(d, c)
        b = theta[d * c :]
        z = feats @ w + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        p = np.exp(logp)
        value = -np.mean(np.sum(onehot * logp, axis=1)) + 0.5 * l2 * np.sum(w * w)
        g = (p - onehot) / n
        return value, np.concatenate([(feats.T @ g + l2 * w).ravel(), g.sum(axis=0)])

    res = minimize(loss, np.zeros(d * c + c), jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return SoftmaxHead(res.x[: d * c].reshape(d, c), res.x[d * c :])


def predict(
    model: Model,
    x: ArrayLike,
    *,
    n_classes: int,
    config: FFConfig = FFConfig(),
    head: SoftmaxHead | None = None,
) -> NDArray[np.int64]:
    """Labels with the largest goodness summed over layers, shape (n,); or, given a
    ``head``, the head's choice from one neutral-label pass."""
    if head is not None:
        if not isinstance(head, SoftmaxHead):
            raise TypeError(f"head must be a SoftmaxHead or None; got {type(head).__name__}.")
        return head.logits(neutral_features(model, x, n_classes=n_classes, config=config)).argmax(1)
    return goodness_table(model, x, n_classes=n_classes, config=config).argmax(axis=1)


def accuracy(
    model: Model,
    x: ArrayLike,
    y: ArrayLike,
    *,
    n_classes: int,
    config: FFConfig = FFConfig(),
    head: SoftmaxHead | None = None,
) -> float:
    """Fraction of ``x`` whose :func:`predict` label equals ``y`` (integers in
    [0, n_classes), one per row of ``x``; checked before any query)."""
    ports = _as_ports(model)
    x, n_classes = _check_inputs(ports, x, n_classes)
    y = check_labels("y", y, n_rows=x.shape[0], n_classes=n_classes, rows_name="x")
    return float(np.mean(predict(ports, x, n_classes=n_classes, config=config, head=head) == y))


def negative_labels(
    y: NDArray, n_classes: int, rng: np.random.Generator, goodness: NDArray | None = None
) -> NDArray:
    """Wrong labels: uniform over the other classes, or (given ``goodness``) drawn in
    proportion to softmax(goodness) over the wrong classes.  Never equal to ``y``."""
    check.integer("n_classes", n_classes, minimum=2)
    if goodness is None:
        return (y + rng.integers(1, n_classes, size=y.size)) % n_classes
    g = goodness.copy()
    g[np.arange(y.size), y] = -np.inf
    p = np.exp(g - g.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random((y.size, 1))
    neg = np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), n_classes - 1)
    # Rounding in the cumulative sum could land on the true label; move it to the likeliest wrong.
    bad = neg == y
    neg[bad] = np.argmax(g[bad], axis=1)
    return neg


def design_granularity(design: ChipDesign) -> float:
    """The programming granularity epsilon of a chip, from its public datasheet: the nominal
    weight change of one pulse, the mean of the up and down steps of the design's device
    (``step_s``) over the siemens per unit weight of its pairs (window over ``w_max``).

    The same law as the crossbar's ``weight_per_pulse``, by which the chip turns a desired
    change into pulse counts; computed here from the design alone, not the chip.
    """
    if not isinstance(design, ChipDesign):
        raise TypeError(f"design must be a ChipDesign; got {type(design).__name__}.")
    device = design.device
    g_unit = (device.conductance.g_max_s - device.conductance.g_min_s) / design.w_max
    return 0.5 * (device.pulse.step_up_scale + device.pulse.step_down_scale) * device.step_s / g_unit


def _accumulator(config: FFConfig, ports: Ports) -> MixedPrecisionAccumulator | None:
    """The mixed-precision accumulator ``config.update`` asks for (None for pulse updates),
    its granularity from the config or else the ports' public design."""
    if config.update != "mixed":
        return None
    granularity = config.granularity
    if granularity is None:
        if ports.design is None:
            raise ValueError(
                "granularity must be given when the ports have no design (a twin): update='mixed' "
                "takes the device step from the datasheet; got granularity=None and design=None."
            )
        granularity = design_granularity(ports.design)
    return MixedPrecisionAccumulator(
        _weight_shapes(ports.layer_sizes), granularity=granularity, max_pulses=DEFAULT_MAX_PULSES
    )


def _weight_shapes(sizes: tuple[int, ...]) -> list[tuple[int, int]]:
    """Each layer's ``(n_in + 1, n_out)`` weight shape (the bias row included)."""
    return [(a + 1, b) for a, b in zip(sizes[:-1], sizes[1:], strict=False)]


def _optimizer(config: FFConfig, sizes: tuple[int, ...]) -> Optimizer:
    """The configured optimiser, one slot per layer's ``(n_in + 1, n_out)`` weights."""
    shapes = _weight_shapes(sizes)
    if config.optimizer == "adam":
        return Adam(shapes)
    return Sgd(shapes, momentum=config.momentum)


def _learning_rate(config: FFConfig, epoch: int) -> float:
    """Hinton's schedule: flat for the first half of the epochs, then linearly to zero."""
    return config.learning_rate * (1.0 if epoch < config.epochs / 2 else 2.0 * (1.0 - epoch / config.epochs))


def _layer_step(
    h: NDArray, inputs: NDArray, m: int, *, threshold: float, bias_input: float
) -> tuple[float, NDArray]:
    """One layer's FF loss and weight gradient on a batch of ``m`` positives then ``m``
    negatives: activities ``h`` (2m, n_out) for ``inputs`` (2m, n_in)."""
    goodness = np.mean(h * h, axis=1)
    z = goodness - threshold
    sign = np.concatenate([np.ones(m), -np.ones(m)])
    # loss = softplus(-sign * z); dloss/dz = -sign * sigmoid(-sign * z)
    dz = -sign / (1.0 + np.exp(sign * z))
    loss = float(np.mean(np.logaddexp(0.0, -sign * z)))
    dh = (dz / (2 * m))[:, None] * (2.0 / h.shape[1]) * h
    xa = np.hstack([inputs, np.full((inputs.shape[0], 1), bias_input)])
    return loss, xa.T @ dh


def _train_batch(
    ports: Ports,
    opt: Optimizer,
    xb: NDArray,
    yb: NDArray,
    *,
    n_classes: int,
    lr: float,
    hard_negatives: bool,
    config: FFConfig,
    rng: np.random.Generator,
    accumulator: MixedPrecisionAccumulator | None = None,
) -> list[float]:
    """One FF step on a batch: draw negatives, run positives and negatives, update every
    layer through ``ports.apply_delta`` (through the ``accumulator`` first, if any).  Returns
    each layer's loss."""
    c = n_classes
    hard = None
    if hard_negatives:
        # Fresh for this batch: costs the same as one table per epoch, and is current.
        hard = goodness_table(ports, xb, n_classes=c, config=config)
    neg = negative_labels(yb, c, rng, hard)
    xp = embed(xb, yb, n_classes=c, label_scale=config.label_scale)
    xn = embed(xb, neg, n_classes=c, label_scale=config.label_scale)
    both = ports.run(np.vstack([xp, xn]))
    inputs = np.vstack([xp, xn])
    losses = []
    for layer, h in enumerate(both):
        loss, grad = _layer_step(
            h, inputs, xb.shape[0], threshold=config.threshold, bias_input=ports.bias_input
        )
        losses.append(loss)
        delta = opt.step(layer, grad, lr)
        ports.apply_delta(layer, delta if accumulator is None else accumulator.step(layer, delta))
        inputs = rms_normalize(h)
    return losses


def _train_epoch(
    ports: Ports,
    opt: Optimizer,
    data: Dataset,
    epoch: int,
    *,
    config: FFConfig,
    rng: np.random.Generator,
    accumulator: MixedPrecisionAccumulator | None = None,
) -> float:
    """One pass over the shuffled training set, then the refresh due this epoch (a no-op on a
    DigitalNetwork's twin); returns the mean loss over layers and batches."""
    lr = _learning_rate(config, epoch)
    n = data.x_train.shape[0]
    order = rng.permutation(n)
    losses: list[float] = []
    for s in range(0, n, config.batch_size):
        idx = order[s : s + config.batch_size]
        losses += _train_batch(
            ports,
            opt,
            data.x_train[idx],
            data.y_train[idx],
            n_classes=data.n_classes,
            lr=lr,
            hard_negatives=config.hard_negatives and epoch > 0,
            config=config,
            rng=rng,
            accumulator=accumulator,
        )
    if config.refresh_every and (epoch + 1) % config.refresh_every == 0:
        for layer in range(ports.n_layers):
            ports.refresh(layer)
    return float(np.mean(losses))


def train(
    model: Model,
    data: Dataset,
    config: FFConfig = FFConfig(),
    *,
    rng: np.random.Generator,
    eval_every: int = 0,
    progress: bool = True,
    desc: str = "FF",
) -> History:
    """Train ``model`` (ports, or a DigitalNetwork through its twin) with Forward-Forward.

    The learning rate is flat for the first half of the epochs, then falls linearly to zero
    (Hinton's recipe).  ``eval_every > 0`` records test accuracy every that many epochs
    (through the same ports: it costs chip queries; one read of the test set per point, so
    on a noisy chip each point is one draw: the studies report a chip's accuracy as the mean
    of re-reads, :func:`neuromorph.studies.scoring.score_accuracy`).  Every input is checked before the
    first query or pulse (:meth:`Dataset.check <neuromorph.datasets.Dataset.check>`: a NaN
    pixel names its split and row).  The history's ``pulses`` and
    ``energy_j`` are the meter's totals since the start of training (zero on a twin).
    """
    ports = _as_ports(model)
    check_dataset(data, ports.layer_sizes)
    check.generator("rng", rng)
    if not isinstance(config, FFConfig):
        raise TypeError(f"config must be an FFConfig; got {type(config).__name__}.")
    eval_every = check.integer("eval_every", eval_every, minimum=0)
    if eval_every and data.x_test.shape[0] == 0:
        raise ValueError(
            f"x_test must have at least one row when eval_every > 0; got shape {data.x_test.shape}."
        )
    opt = _optimizer(config, ports.layer_sizes)
    accumulator = _accumulator(config, ports)
    hist = History(accumulator_bytes=0 if accumulator is None else accumulator.memory_bytes)
    meter0 = ports.meter
    bar = tqdm(range(config.epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        hist.loss.append(
            _train_epoch(ports, opt, data, epoch, config=config, rng=rng, accumulator=accumulator)
        )
        hist.wall_seconds.append(time.perf_counter() - t0)
        spent = ports.meter.minus(meter0)
        hist.pulses.append(spent.pulses)
        hist.energy_j.append(spent.energy_j)
        hist.accumulator_ops.append(0 if accumulator is None else accumulator.ops)
        if eval_every and ((epoch + 1) % eval_every == 0 or epoch + 1 == config.epochs):
            acc = accuracy(ports, data.x_test, data.y_test, n_classes=data.n_classes, config=config)
            hist.test_accuracy.append(acc)
            hist.test_epochs.append(epoch + 1)
            bar.set_postfix(loss=f"{hist.loss[-1]:.3f}", test=f"{acc:.3f}")
        else:
            bar.set_postfix(loss=f"{hist.loss[-1]:.3f}")
    return hist


def initial_weights(
    layer_sizes: tuple[int, ...], *, config: FFConfig, rng: np.random.Generator, w_max: float | None = None
) -> list[NDArray[np.float64]]:
    """Initial weights, Gaussian of std ``init_scale / sqrt(n_in + 1)``, clipped to ±w_max."""
    net = DigitalNetwork.initialize(layer_sizes, rng=rng, scale=config.init_scale)
    if w_max is not None:
        return [np.clip(w, -w_max, w_max) for w in net.weights]
    return net.weights
