"""Seed derivation of a sweep point: training and copy-out streams (layer 4, studies).

Training randomness comes from ``numpy.random.SeedSequence(entropy=sweep_seed, spawn_key=K)``
where ``K`` is four 32-bit words of the SHA-256 digest of the point's canonical JSON *without*
its stress and copy-out parameters (:data:`~neuromorph.studies.sweep.spec.STRESS_PARAMETERS`),
so the points of one die that differ only in temperature or age are trained bit for bit alike
and differ only by their stress.  Copy-out draws from a stream keyed by the whole point.  The
die itself is ``Chip.fabricate(design, seed=point.seed)``, seeded apart from these.

Imports NumPy, the standard library and :mod:`neuromorph.studies.sweep.spec`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuromorph.studies.sweep.spec import STRESS_PARAMETERS, canonical_digest


def _spawn_key(obj: Any) -> tuple[int, ...]:
    """Four 32-bit words of ``obj``'s canonical digest: a ``SeedSequence`` spawn key."""
    return tuple(int(w) for w in np.frombuffer(canonical_digest(obj)[:16], dtype="<u4"))


def point_seeds(params: dict, *, sweep_seed: int) -> dict[str, np.random.SeedSequence]:
    """The seed sequences of a point's training (``"train"``) and copy-out (``"copyout"``).

    ``train`` is keyed by the parameters without :data:`STRESS_PARAMETERS` (points that
    differ only in stress train identically), ``copyout`` by all of them.
    """
    base = {k: v for k, v in params.items() if k not in STRESS_PARAMETERS}
    return {
        "train": np.random.SeedSequence(sweep_seed, spawn_key=_spawn_key(["train", base])),
        "copyout": np.random.SeedSequence(sweep_seed, spawn_key=_spawn_key(["copyout", params])),
    }
