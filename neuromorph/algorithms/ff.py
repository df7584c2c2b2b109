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

One loop, two targets: a :class:`~neuromorph.chip.digital.DigitalNetwork` (float weights, the
ideal reference) or a chip's :class:`~neuromorph.chip.ChipPorts`, touched only through
``run`` (DAC -> arrays -> ADC taps -> digital ReLU and normalisation) and ``apply_delta``
(programming pulses), so device nonlinearity, asymmetry, cycle-to-cycle noise, stuck devices
and quantisation all act on learning.  The optimiser state (Adam moments) lives in the
trainer's digital memory, as it would in a chip's controller.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from tqdm.auto import tqdm

from neuromorph import _validate as check
from neuromorph.chip import Chip, ChipPorts
from neuromorph.chip.digital import DigitalNetwork, rms_normalize
from neuromorph.datasets import Dataset


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


@dataclass
class History:
    """What training did, epoch by epoch."""

    loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    test_epochs: list[int] = field(default_factory=list)
    wall_seconds: list[float] = field(default_factory=list)
    pulses: list[int] = field(default_factory=list)
    energy_j: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def embed(x: NDArray, labels: NDArray, *, n_classes: int, label_scale: float) -> NDArray:
    """RMS-normalised inputs with the one-hot label (times ``label_scale``) appended."""
    onehot = np.zeros((x.shape[0], n_classes))
    onehot[np.arange(x.shape[0]), labels] = label_scale
    return np.hstack([rms_normalize(x), onehot])


class _Software:
    """Adapter giving a DigitalNetwork the port interface the trainer uses."""

    def __init__(self, net: DigitalNetwork) -> None:
        self.net = net
        self.layer_sizes = net.layer_sizes
        self.bias_input = net.bias_input

    def run(self, x):
        return self.net.forward(x)

    def apply_delta(self, layer, delta):
        self.net.weights[layer] += delta
        return 0


def _target(model):
    if isinstance(model, Chip):
        raise TypeError(
            "model must be a DigitalNetwork or a chip's ports (chip.ports()); got a Chip. "
            "Algorithms that run on hardware may only hold its ports."
        )
    if isinstance(model, DigitalNetwork):
        return _Software(model)
    if isinstance(model, ChipPorts | _Software):
        return model
    raise TypeError(f"model must be a DigitalNetwork or ChipPorts; got {type(model).__name__}.")


def _check_data(data: Dataset, layer_sizes: tuple[int, ...]) -> None:
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a neuromorph Dataset; got {type(data).__name__}.")
    want = data.n_features + data.n_classes
    if layer_sizes[0] != want:
        raise ValueError(
            f"the network's input width must be n_features + n_classes = {data.n_features} + "
            f"{data.n_classes} = {want}; got {layer_sizes[0]}."
        )
    for name, y in (("y_train", data.y_train), ("y_test", data.y_test)):
        if y.size and (y.min() < 0 or y.max() >= data.n_classes):
            raise ValueError(f"{name} must hold labels in 0..{data.n_classes - 1}; got {y.min()}..{y.max()}.")


def goodness_table(model, x: NDArray, *, n_classes: int, config: FFConfig, chunk: int = 2000) -> NDArray:
    """Goodness summed over layers for every (input, label): shape (n, n_classes)."""
    target = _target(model)
    x = check.array("x", x, ndim=2)
    first = 1 if config.skip_first_layer and len(target.layer_sizes) > 2 else 0
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
        hs = target.run(stacked)
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


def neutral_features(model, x: NDArray, *, n_classes: int, config: FFConfig) -> NDArray:
    """Concatenated RMS-normalised activities of every layer for neutral-label inputs."""
    target = _target(model)
    x = check.array("x", x, ndim=2)
    onehot = np.full((x.shape[0], n_classes), config.label_scale / n_classes)
    hs = target.run(np.hstack([rms_normalize(x), onehot]))
    return np.hstack([rms_normalize(h) for h in hs])


def fit_head(model, data: Dataset, *, config: FFConfig, l2: float = 1e-3, max_iter: int = 500) -> SoftmaxHead:
    """Fit a :class:`SoftmaxHead` on the training set's neutral-label activities (L-BFGS).

    Costs one pass of the training set through the model (metered on a chip).
    """
    from scipy.optimize import minimize

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
    model, x, *, n_classes: int, config: FFConfig = FFConfig(), head: SoftmaxHead | None = None
) -> NDArray:
    """Labels with the largest goodness summed over layers, shape (n,); or, given a
    ``head``, the head's choice from one neutral-label pass."""
    if head is not None:
        return head.logits(neutral_features(model, x, n_classes=n_classes, config=config)).argmax(1)
    return goodness_table(model, x, n_classes=n_classes, config=config).argmax(axis=1)


def accuracy(
    model, x, y, *, n_classes: int, config: FFConfig = FFConfig(), head: SoftmaxHead | None = None
) -> float:
    return float(np.mean(predict(model, x, n_classes=n_classes, config=config, head=head) == y))


def negative_labels(
    y: NDArray, n_classes: int, rng: np.random.Generator, goodness: NDArray | None = None
) -> NDArray:
    """Wrong labels: uniform over the other classes, or (given ``goodness``) drawn in
    proportion to softmax(goodness) over the wrong classes.  Never equal to ``y``."""
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


class _Adam:
    def __init__(self, shapes, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.m = [np.zeros(s) for s in shapes]
        self.v = [np.zeros(s) for s in shapes]
        self.t = [0] * len(shapes)
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps

    def step(self, i, grad, lr):
        self.t[i] += 1
        self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * grad
        self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * grad * grad
        mh = self.m[i] / (1 - self.b1 ** self.t[i])
        vh = self.v[i] / (1 - self.b2 ** self.t[i])
        return -lr * mh / (np.sqrt(vh) + self.eps)


class _Sgd:
    def __init__(self, shapes, momentum):
        self.v = [np.zeros(s) for s in shapes]
        self.mu = momentum

    def step(self, i, grad, lr):
        self.v[i] = self.mu * self.v[i] + grad
        return -lr * self.v[i]


def train(
    model,
    data: Dataset,
    config: FFConfig = FFConfig(),
    *,
    rng: np.random.Generator,
    eval_every: int = 0,
    progress: bool = True,
    desc: str = "FF",
) -> History:
    """Train ``model`` (a DigitalNetwork, or a chip's ports) with Forward-Forward.

    The learning rate is flat for the first half of the epochs, then falls linearly to zero
    (Hinton's recipe).  ``eval_every > 0`` records test accuracy every that many epochs
    (through the same ports: it costs chip queries).
    """
    target = _target(model)
    _check_data(data, target.layer_sizes)
    check.generator("rng", rng)
    sizes = target.layer_sizes
    shapes = [(a + 1, b) for a, b in zip(sizes[:-1], sizes[1:], strict=False)]
    opt = _Adam(shapes, config.learning_rate) if config.optimizer == "adam" else _Sgd(shapes, config.momentum)
    hist = History()
    n, c = data.x_train.shape[0], data.n_classes
    meter0 = target.meter if isinstance(target, ChipPorts) else None
    bar = tqdm(range(config.epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        lr = config.learning_rate * (
            1.0 if epoch < config.epochs / 2 else 2.0 * (1.0 - epoch / config.epochs)
        )
        order = rng.permutation(n)
        losses = []
        for s in range(0, n, config.batch_size):
            idx = order[s : s + config.batch_size]
            xb, yb = data.x_train[idx], data.y_train[idx]
            hard = None
            if config.hard_negatives and epoch > 0:
                # Fresh for this batch: costs the same as one table per epoch, and is current.
                hard = goodness_table(target, xb, n_classes=c, config=config)
            neg = negative_labels(yb, c, rng, hard)
            xp = embed(xb, yb, n_classes=c, label_scale=config.label_scale)
            xn = embed(xb, neg, n_classes=c, label_scale=config.label_scale)
            both = target.run(np.vstack([xp, xn]))
            m = xb.shape[0]
            inputs = np.vstack([xp, xn])
            for layer, h in enumerate(both):
                goodness = np.mean(h * h, axis=1)
                z = goodness - config.threshold
                sign = np.concatenate([np.ones(m), -np.ones(m)])
                # loss = softplus(-sign * z); dloss/dz = -sign * sigmoid(-sign * z)
                dz = -sign / (1.0 + np.exp(sign * z))
                losses.append(float(np.mean(np.logaddexp(0.0, -sign * z))))
                dh = (dz / (2 * m))[:, None] * (2.0 / h.shape[1]) * h
                xa = np.hstack([inputs, np.full((inputs.shape[0], 1), target.bias_input)])
                grad = xa.T @ dh
                target.apply_delta(layer, opt.step(layer, grad, lr))
                inputs = rms_normalize(h)
        if (
            config.refresh_every
            and isinstance(target, ChipPorts)
            and ((epoch + 1) % config.refresh_every == 0)
        ):
            for layer in range(len(sizes) - 1):
                target.refresh(layer)
        hist.loss.append(float(np.mean(losses)))
        hist.wall_seconds.append(time.perf_counter() - t0)
        if meter0 is not None:
            spent = target.meter.minus(meter0)
            hist.pulses.append(spent.pulses)
            hist.energy_j.append(spent.energy_j)
        if eval_every and ((epoch + 1) % eval_every == 0 or epoch + 1 == config.epochs):
            acc = accuracy(target, data.x_test, data.y_test, n_classes=c, config=config)
            hist.test_accuracy.append(acc)
            hist.test_epochs.append(epoch + 1)
            bar.set_postfix(loss=f"{hist.loss[-1]:.3f}", test=f"{acc:.3f}")
        else:
            bar.set_postfix(loss=f"{hist.loss[-1]:.3f}")
    return hist


def initial_weights(
    layer_sizes, *, config: FFConfig, rng: np.random.Generator, w_max: float | None = None
) -> list[NDArray]:
    """Initial weights, Gaussian of std ``init_scale / sqrt(n_in + 1)``, clipped to ±w_max."""
    net = DigitalNetwork.initialize(layer_sizes, rng=rng, scale=config.init_scale)
    if w_max is not None:
        return [np.clip(w, -w_max, w_max) for w in net.weights]
    return net.weights
