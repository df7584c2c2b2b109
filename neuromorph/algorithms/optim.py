"""First-order optimisers that turn gradients into weight changes (layer 3).

They live in the trainer's digital memory (on a chip: its controller), one state slot per
weight matrix.  ``step(index, grad, learning_rate)`` returns the change to apply (through
``ports.apply_delta`` on a chip, or added to a :class:`~neuromorph.chip.digital.DigitalNetwork`'s
weights); it never touches the weights itself.  Used by Forward-Forward training
(:mod:`neuromorph.algorithms.ff`) and by distillation (:mod:`neuromorph.algorithms.distill`).

:class:`MixedPrecisionAccumulator` sits between an optimiser and the ports: it accumulates
the changes in the same digital memory and lets through only whole device steps
(mixed-precision updates, Nandakumar et al. 2020), counting its operations and memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from neuromorph import _validate as check

#: Adam's defaults, from Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015
#: (Algorithm 1: "Good default settings ... are alpha = 0.001, beta1 = 0.9, beta2 = 0.999 and
#: epsilon = 1e-8").
ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8


class Optimizer(Protocol):
    """What the trainers need of an optimiser."""

    def step(self, index: int, grad: NDArray[np.float64], learning_rate: float) -> NDArray[np.float64]:
        """The weight change for matrix ``index`` given its loss gradient ``grad``."""
        ...


def _zeros(shapes: Sequence[tuple[int, ...]]) -> list[NDArray[np.float64]]:
    if isinstance(shapes, str) or not isinstance(shapes, Sequence):
        raise TypeError(f"shapes must be a sequence of array shapes; got {type(shapes).__name__}.")
    return [np.zeros(s) for s in shapes]


class Adam:
    """Adam (Kingma & Ba, ICLR 2015) with bias-corrected moments, one slot per matrix.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``, and the step is
    ``-lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - b1^t)``,
    ``v_hat = v / (1 - b2^t)``; ``t`` counts the steps of each matrix separately.

    Parameters
    ----------
    shapes : sequence of tuple of int
        Shape of each weight matrix (its gradient has the same shape).
    beta1, beta2 : float in [0, 1)
        Decay rates of the first and second moment estimates.
    eps : float > 0
        Added to ``sqrt(v_hat)`` so the step stays finite.
    """

    def __init__(
        self,
        shapes: Sequence[tuple[int, ...]],
        *,
        beta1: float = ADAM_BETA1,
        beta2: float = ADAM_BETA2,
        eps: float = ADAM_EPS,
    ) -> None:
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= check.real(name, beta) < 1.0:
                raise ValueError(f"{name} must be in [0, 1); got {name}={beta!r}.")
        self.m = _zeros(shapes)
        self.v = _zeros(shapes)
        self.t = [0] * len(self.m)
        self.b1, self.b2 = float(beta1), float(beta2)
        self.eps = check.positive("eps", eps)

    def step(self, index: int, grad: NDArray[np.float64], learning_rate: float) -> NDArray[np.float64]:
        """Update matrix ``index``'s moments with ``grad``; return its weight change."""
        i = index
        self.t[i] += 1
        self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * grad
        self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * grad * grad
        mh = self.m[i] / (1 - self.b1 ** self.t[i])
        vh = self.v[i] / (1 - self.b2 ** self.t[i])
        return -learning_rate * mh / (np.sqrt(vh) + self.eps)


class Sgd:
    """Stochastic gradient descent with heavy-ball momentum, one velocity per matrix.

    ``v <- mu v + g`` and the step is ``-lr * v`` (PyTorch's convention, no dampening).

    Parameters
    ----------
    shapes : sequence of tuple of int
        Shape of each weight matrix.
    momentum : float in [0, 1]
        ``mu``; 0 is plain SGD.
    """

    def __init__(self, shapes: Sequence[tuple[int, ...]], *, momentum: float) -> None:
        self.mu = check.fraction("momentum", momentum)
        self.v = _zeros(shapes)

    def step(self, index: int, grad: NDArray[np.float64], learning_rate: float) -> NDArray[np.float64]:
        """Update matrix ``index``'s velocity with ``grad``; return its weight change."""
        self.v[index] = self.mu * self.v[index] + grad
        return -learning_rate * self.v[index]


#: Bytes of one accumulator entry as this simulation holds it (float64).  Nandakumar et al.
#: 2020 keep chi "in high precision" in the digital unit without fixing a width; the meter
#: counts what is held here, so a 32-bit unit would need half.
ACCUMULATOR_BYTES_PER_ENTRY = 8

#: Digital operations per accumulator entry on every step: the add of the desired update
#: into chi and its scaled truncation to a pulse count (Nandakumar et al. 2020, update rule).
OPS_PER_ENTRY = 2

#: Further digital operations per entry that sends pulses: the multiply ``p * epsilon`` and
#: its subtraction from chi (the rule's last step).
OPS_PER_FIRING = 2


class MixedPrecisionAccumulator:
    """Mixed-precision weight updates: a digital accumulator that sends whole device steps.

    Nandakumar et al., "Mixed-precision deep learning based on computational memory",
    Front. Neurosci. 14, 406 (2020): the desired update is added to a high-precision
    accumulator ``chi``; where ``|chi| >= epsilon`` (the device's programming granularity)
    ``p = floor(|chi| / epsilon)`` pulses of the sign of ``chi`` are sent and ``p * epsilon``
    is subtracted, the remainder waiting for later updates.  Here ``p`` is also capped at
    ``max_pulses`` (what the programmer sends in one call); the excess stays in ``chi`` too,
    so no update mass is lost: after any steps, the sum of what was sent plus ``chi`` equals
    the sum of the desired updates (to float rounding).

    The accumulator is digital memory beside the chip (the trainer's controller, like the
    optimiser's moments); it is counted, not billed to the chip's meter: :attr:`ops` digital
    operations (:data:`OPS_PER_ENTRY` per entry and step, :data:`OPS_PER_FIRING` more per
    entry that fires) and :attr:`memory_bytes` (:data:`ACCUMULATOR_BYTES_PER_ENTRY` per entry).

    Parameters
    ----------
    shapes : sequence of tuple of int
        Shape of each weight matrix (one accumulator per matrix).
    granularity : float > 0
        ``epsilon``, weight units: the nominal weight change of one pulse.
    max_pulses : int >= 1
        Largest pulse count sent to one pair in one step.
    """

    def __init__(self, shapes: Sequence[tuple[int, ...]], *, granularity: float, max_pulses: int) -> None:
        self.granularity = check.positive("granularity", granularity)
        self.max_pulses = check.integer("max_pulses", max_pulses, minimum=1)
        self._chi = _zeros(shapes)
        self.ops = 0
        self.pulses = 0

    @property
    def memory_bytes(self) -> int:
        """Digital memory the accumulators hold, bytes."""
        return ACCUMULATOR_BYTES_PER_ENTRY * sum(c.size for c in self._chi)

    def remainder(self, index: int) -> NDArray[np.float64]:
        """A copy of matrix ``index``'s accumulator ``chi`` (weight units, not yet sent)."""
        return self._chi[index].copy()

    def step(self, index: int, delta: NDArray[np.float64]) -> NDArray[np.float64]:
        """Accumulate the desired change ``delta`` of matrix ``index``; return the change to
        send now: a whole number of steps ``p * granularity`` per entry, ``|p| <= max_pulses``."""
        chi = self._chi[index]
        delta = check.array("delta", delta, shape=chi.shape)
        chi += delta
        count = np.clip(np.trunc(chi / self.granularity), -self.max_pulses, self.max_pulses)
        send = count * self.granularity
        chi -= send
        fired = int(np.count_nonzero(count))
        self.ops += OPS_PER_ENTRY * chi.size + OPS_PER_FIRING * fired
        self.pulses += int(np.abs(count).sum())
        return send
