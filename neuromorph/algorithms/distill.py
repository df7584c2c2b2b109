"""Distil a chip into a digital student from its answers, and copy a network onto a chip (layer 3).

Contract: :func:`distill` and :func:`copy_in` receive ports only
(:class:`~neuromorph.chip.ports.Ports`: a chip's, metered, or a
:class:`~neuromorph.chip.digital.DigitalNetwork`'s twin; a Chip raises TypeError), and every
query goes through them.

**Distillation** (Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network",
2015).  The chip answers a transfer set (held-out real inputs, possibly grown by
:func:`mixup_inputs`): for every input and every label ``c`` it runs the label-embedded input
(one query each, ``n_classes`` per input, as ``ff.goodness_table`` does) and returns every
layer's activity.  Two targets, usable together:

* ``"soft"``: the chip's per-label goodness ``G_c`` (sum over layers of mean squared
  activity) softened at temperature ``T`` into ``p = softmax(G / T)``; the student minimises
  the cross-entropy ``-sum_c p_c log softmax(G_student / T)_c`` (gradients scaled by ``T^2``
  as in the paper).  Only the output distribution is used: the black-box view.
* ``"activities"``: each student layer matches the chip's activity of the same layer on the
  chip's own input to that layer (teacher forcing: layer-local least squares on
  ``relu(a)``), which the same queries return at no extra cost.

The student is a :class:`~neuromorph.chip.digital.DigitalNetwork` of the chip's input and output
widths and any hidden widths, trained by Adam in NumPy through its own forward (ReLU and RMS
normalisation, differentiated by hand).

**Copy in**: :func:`copy_in` writes a network onto another chip by program-and-verify, one
layer at a time, clipping to the weight range (and counting what it clipped), optionally
fine-tuned in place with Forward-Forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from tqdm.auto import tqdm

from neuromorph import _validate as check
from neuromorph.algorithms import ff
from neuromorph.algorithms.optim import Adam
from neuromorph.chip.digital import RMS_EPS, DigitalNetwork, rms_normalize
from neuromorph.chip.ports import Meter, Ports, check_ports
from neuromorph.datasets import Dataset, check_features

Target = Literal["soft", "activities", "both"]
_FF_DEFAULT = ff.FFConfig()


@dataclass
class Distillation:
    """A distilled student and what it cost.

    Attributes
    ----------
    network : DigitalNetwork
    queries : int
        Input vectors presented to the teacher (``n_transfer * n_classes``), metered or not.
    spent : Meter
    loss : list of float
        Training loss per epoch.
    """

    network: DigitalNetwork
    queries: int
    spent: Meter
    loss: list[float] = field(default_factory=list)


@dataclass
class ChipAnswers:
    """The chip's answers on a transfer set (label-embedded inputs, label-major).

    ``inputs`` (n * C, n_inputs); ``activities`` list per layer of (n * C, width);
    ``goodness`` (n, C).
    """

    inputs: NDArray
    activities: list[NDArray]
    goodness: NDArray
    spent: Meter


def query_chip(
    ports: Ports, x: ArrayLike, *, n_classes: int, config: ff.FFConfig = _FF_DEFAULT, chunk: int = 2000
) -> ChipAnswers:
    """Run every (input, label) of ``x`` (n, n_features) through the chip, metered.

    Costs ``n * n_classes`` queries, ``chunk`` rows per ``ports.run`` call.  Every input is
    checked before the first query.
    """
    check_ports(ports)
    x, n_classes = _transfer_inputs(ports, x, n_classes, "x")
    chunk = check.integer("chunk", chunk, minimum=1)
    before = ports.meter
    n = x.shape[0]
    inputs = np.vstack(
        [
            ff.embed(x, np.full(n, c), n_classes=n_classes, label_scale=config.label_scale)
            for c in range(n_classes)
        ]
    )
    parts = [ports.run(inputs[s : s + chunk]) for s in range(0, inputs.shape[0], chunk)]
    acts = [np.vstack([p[i] for p in parts]) for i in range(ports.n_layers)]
    first = 1 if config.skip_first_layer and ports.n_layers > 1 else 0
    g = sum(np.mean(h * h, axis=1) for h in acts[first:])
    return ChipAnswers(
        inputs=inputs, activities=acts, goodness=g.reshape(n_classes, n).T, spent=ports.meter.minus(before)
    )


def _transfer_inputs(ports: Ports, x: ArrayLike, n_classes: int, name: str) -> tuple[NDArray, int]:
    """Transfer inputs ``x`` (n >= 1, n_inputs - n_classes), finite and real, and
    ``n_classes`` >= 2, checked against the chip's input width; ``name`` names ``x``."""
    n_classes = check.integer("n_classes", n_classes, minimum=2)
    x = check.array(name, x, ndim=2, finite=False)
    if x.shape[1] + n_classes != ports.layer_sizes[0]:
        raise ValueError(
            f"{name} must have n_inputs - n_classes = {ports.layer_sizes[0] - n_classes} features for "
            f"this chip; got shape {x.shape}."
        )
    return check_features(name, x), n_classes


def _softmax(z: NDArray) -> NDArray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _forward_cache(net: DigitalNetwork, x: NDArray):
    """Forward keeping what backprop needs: per layer (input_aug, h, rms)."""
    cache = []
    for w in net.weights:
        xa = net.augment(x)
        h = np.maximum(xa @ w, 0.0)
        r = np.sqrt(np.mean(h * h, axis=1, keepdims=True) + RMS_EPS)
        cache.append((xa, h, r))
        x = h / r
    return cache


def _soft_grads(
    net: DigitalNetwork, inputs: NDArray, p: NDArray, *, n_classes: int, temperature: float, first: int
) -> tuple[float, list[NDArray]]:
    """Cross-entropy to soft targets ``p`` (n, C) and its weight gradients.

    ``inputs`` are the label-embedded rows, label-major (C blocks of n)."""
    n = p.shape[0]
    cache = _forward_cache(net, inputs)
    g = sum(np.mean(h * h, axis=1) for _, h, _ in cache[first:]).reshape(n_classes, n).T
    q = _softmax(g / temperature)
    loss = float(-np.mean(np.sum(p * np.log(q + 1e-300), axis=1)))
    # dL/dG, scaled by T^2 (Hinton et al.) so the gradient size does not depend on T.
    dg = ((q - p) / temperature * temperature**2 / n).T.reshape(-1)
    grads: list[NDArray] = [np.empty(0)] * len(cache)
    dx_next = None
    for i in range(len(cache) - 1, -1, -1):
        xa, h, r = cache[i]
        m = h.shape[1]
        dh = (dg[:, None] * (2.0 / m) * h) if i >= first else np.zeros_like(h)
        if dx_next is not None:
            # x = h / r, r = sqrt(mean(h^2) + eps): dx/dh = I / r - h h^T / (m r^3)
            dh = dh + dx_next / r - h * (np.sum(dx_next * h, axis=1, keepdims=True) / (m * r**3))
        da = dh * (h > 0.0)
        grads[i] = xa.T @ da
        dx_next = (da @ net.weights[i].T)[:, :-1]
    return loss, grads


def _activity_grads(
    net: DigitalNetwork, answers_in: list[NDArray], answers_h: list[NDArray]
) -> tuple[float, list[NDArray]]:
    """Layer-local squared error between the student's and the chip's activities, each layer
    fed the chip's own input to that layer."""
    loss, grads = 0.0, []
    for i, w in enumerate(net.weights):
        xa = net.augment(answers_in[i])
        a = xa @ w
        h = np.maximum(a, 0.0)
        d = h - answers_h[i]
        scale = 1.0 / (d.shape[0] * d.shape[1])
        loss += float(np.sum(d * d) * scale)
        grads.append(xa.T @ (2.0 * scale * d * (a > 0.0)))
    return loss, grads


def _batch_grads(
    net: DigitalNetwork,
    answers: ChipAnswers,
    layer_in: list[NDArray],
    p_all: NDArray,
    idx: NDArray,
    *,
    target: Target,
    n_classes: int,
    temperature: float,
    first: int,
) -> tuple[float, list[NDArray]]:
    """The student's loss and weight gradients on the transfer inputs ``idx`` (all their
    labels), summed over the chosen targets."""
    n = answers.goodness.shape[0]
    rows = (np.arange(n_classes)[:, None] * n + idx[None, :]).reshape(-1)
    total = [np.zeros_like(w) for w in net.weights]
    loss = 0.0
    if target in ("soft", "both"):
        ls, gs = _soft_grads(
            net, answers.inputs[rows], p_all[idx], n_classes=n_classes, temperature=temperature, first=first
        )
        loss += ls
        total = [t + g for t, g in zip(total, gs, strict=True)]
    if target in ("activities", "both"):
        la, ga = _activity_grads(net, [xi[rows] for xi in layer_in], [h[rows] for h in answers.activities])
        loss += la
        total = [t + g for t, g in zip(total, ga, strict=True)]
    return loss, total


def mixup_inputs(x: ArrayLike, n: int, *, rng: np.random.Generator) -> NDArray[np.float64]:
    """A transfer set of ``n`` inputs grown from the real inputs ``x`` (n_real, n_features).

    The first ``min(n, n_real)`` rows are the real inputs; the rest are convex mixes
    ``lam x_a + (1 - lam) x_b`` of random pairs, ``lam ~ U(0, 1)`` (mixup: Zhang, Cisse,
    Dauphin & Lopez-Paz, "mixup: Beyond Empirical Risk Minimization", ICLR 2018).  Mixed
    inputs lie between the data, where the chip's answers carry the most about its decision
    boundaries; they cost queries like any other input.
    """
    check.generator("rng", rng)
    x = check_features("x", x)
    n = check.integer("n", n, minimum=1)
    if n <= x.shape[0]:
        return x[:n].copy()
    extra = n - x.shape[0]
    a, b = rng.integers(0, x.shape[0], extra), rng.integers(0, x.shape[0], extra)
    lam = rng.random((extra, 1))
    return np.vstack([x, lam * x[a] + (1.0 - lam) * x[b]])


def _student_sizes(sizes: tuple[int, ...], hidden, target) -> tuple[int, ...]:
    """The student's widths: the teacher's inputs and outputs around ``hidden`` (default the
    teacher's); matching activities needs the teacher's hidden widths."""
    if target not in ("soft", "activities", "both"):
        raise ValueError(f"target must be 'soft', 'activities' or 'both'; got {target!r}.")
    hidden = sizes[1:-1] if hidden is None else tuple(hidden)
    if target != "soft" and hidden != sizes[1:-1]:
        raise ValueError(
            f"hidden must equal the chip's hidden widths {sizes[1:-1]} when matching activities; "
            f"got {hidden}. Use target='soft' for a smaller student."
        )
    return (sizes[0], *hidden, sizes[-1])


def distill(
    ports: Ports,
    x_transfer: ArrayLike,
    *,
    n_classes: int,
    hidden: tuple[int, ...] | None = None,
    target: Target = "soft",
    temperature: float = 2.0,
    epochs: int = 60,
    batch_size: int = 32,
    learning_rate: float = 3e-3,
    config: ff.FFConfig = _FF_DEFAULT,
    rng: np.random.Generator,
    progress: bool = True,
) -> Distillation:
    """Train a digital student on the chip's answers for ``x_transfer``.

    Parameters
    ----------
    ports : Ports
        The teacher's ports (``chip.ports()``; a DigitalNetwork's twin works too).
    x_transfer : array_like of shape (n, n_features)
        Transfer inputs (at least one; finite, real); costs ``n * n_classes`` queries.
    n_classes : int
    hidden : tuple of int, optional
        Student hidden widths (default the chip's).
    target : {"soft", "activities", "both"}
    temperature : float > 0
    epochs, batch_size : int
    learning_rate : float > 0
        Adam step size.
    config : FFConfig
        Label embedding and goodness convention (``label_scale``, ``skip_first_layer``).
    rng : numpy.random.Generator
        Student initialisation and batch order.

    Returns
    -------
    Distillation

    Every argument is checked before the first query.
    """
    check_ports(ports)
    check.generator("rng", rng)
    if not isinstance(config, ff.FFConfig):
        raise TypeError(f"config must be an FFConfig; got {type(config).__name__}.")
    x_transfer, n_classes = _transfer_inputs(ports, x_transfer, n_classes, "x_transfer")
    student_sizes = _student_sizes(ports.layer_sizes, hidden, target)
    temperature = check.positive("temperature", temperature)
    epochs = check.integer("epochs", epochs, minimum=1)
    batch_size = check.integer("batch_size", batch_size, minimum=1)
    learning_rate = check.positive("learning_rate", learning_rate)
    answers = query_chip(ports, x_transfer, n_classes=n_classes, config=config)
    n = answers.goodness.shape[0]
    p_all = _softmax(answers.goodness / temperature)
    first = 1 if config.skip_first_layer and len(student_sizes) > 2 else 0
    net = DigitalNetwork.initialize(
        student_sizes, rng=rng, scale=config.init_scale, bias_input=ports.bias_input
    )
    layer_in = [answers.inputs] + [rms_normalize(h) for h in answers.activities[:-1]]
    opt = Adam([w.shape for w in net.weights])
    losses = []
    for _ in tqdm(range(epochs), desc=f"distill {target}", disable=not progress, leave=False):
        order = rng.permutation(n)
        ep = []
        for s in range(0, n, batch_size):
            idx = order[s : s + batch_size]
            loss, grads = _batch_grads(
                net,
                answers,
                layer_in,
                p_all,
                idx,
                target=target,
                n_classes=n_classes,
                temperature=temperature,
                first=first,
            )
            for i, g in enumerate(grads):
                net.weights[i] += opt.step(i, g, learning_rate)
            ep.append(loss)
        losses.append(float(np.mean(ep)))
    return Distillation(network=net, queries=answers.inputs.shape[0], spent=answers.spent, loss=losses)


@dataclass
class CopyIn:
    """What writing a network onto a chip did.

    Attributes
    ----------
    clipped : int
        Weights beyond the chip's weight range, clipped before programming.
    reports : list of dict
        Each layer's program-and-verify report.
    spent : Meter
        Programming (and fine-tuning) cost.
    history : ff.History or None
        Fine-tuning history, if any.
    """

    clipped: int
    reports: list[dict]
    spent: Meter
    history: ff.History | None = None


def copy_in(
    network: DigitalNetwork,
    ports: Ports,
    *,
    fine_tune: Dataset | None = None,
    fine_tune_config: ff.FFConfig | None = None,
    rng: np.random.Generator | None = None,
    progress: bool = True,
    **program_options: Any,
) -> CopyIn:
    """Program ``network`` onto a chip by program-and-verify, layer by layer.

    Parameters
    ----------
    network : DigitalNetwork
        Same layer widths as the chip.
    ports : Ports
        The target chip's ports.
    fine_tune : Dataset, optional
        If given, train in place with Forward-Forward afterwards (``fine_tune_config``,
        default 3 epochs at a third of the default learning rate; needs ``rng``).
    **program_options
        Passed to ``ports.program`` (``method``, ``tolerance``...).

    The network's weights and the fine-tuning data are checked before the first pulse.
    """
    check_ports(ports)
    if not isinstance(network, DigitalNetwork):
        raise TypeError(f"network must be a DigitalNetwork; got {type(network).__name__}.")
    if tuple(network.layer_sizes) != tuple(ports.layer_sizes):
        raise ValueError(
            f"network.layer_sizes must match the chip's {ports.layer_sizes}; got {network.layer_sizes}."
        )
    if network.bias_input != ports.bias_input:
        raise ValueError(
            f"network.bias_input must equal the chip's bias input {ports.bias_input:g}; got "
            f"{network.bias_input:g}."
        )
    for i, w in enumerate(network.weights):
        check.array(f"network.weights[{i}]", w)
    if fine_tune is not None:
        check.generator("rng", rng)
        ff.check_dataset(fine_tune, ports.layer_sizes, name="fine_tune")
        if fine_tune_config is not None and not isinstance(fine_tune_config, ff.FFConfig):
            raise TypeError(
                f"fine_tune_config must be an FFConfig or None; got {type(fine_tune_config).__name__}."
            )
    before = ports.meter
    w_max = ports.weight_range
    clipped, reports = 0, []
    for layer, w in enumerate(network.weights):
        clipped += int(np.count_nonzero(np.abs(w) > w_max))
        reports.append(ports.program(layer, np.clip(w, -w_max, w_max), **program_options))
    history = None
    if fine_tune is not None:
        cfg = fine_tune_config or ff.FFConfig(epochs=3, learning_rate=ff.FFConfig().learning_rate / 3)
        history = ff.train(ports, fine_tune, cfg, rng=rng, progress=progress, desc="FF fine-tune")
    return CopyIn(clipped=clipped, reports=reports, spent=ports.meter.minus(before), history=history)
