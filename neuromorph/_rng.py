"""Random keys for the counter-based noise of the kernels (shared leaf).

Kernels draw their noise from a counter-based hash of ``(key, counter)``; each call takes one
64-bit key from an explicit :class:`numpy.random.Generator`, so a seed reproduces every draw
on any thread count.
"""

from __future__ import annotations

import numpy as np

from neuromorph import _validate as check


def noise_key(rng, *, needed: bool, name: str) -> np.uint64:
    """Draw a 64-bit key for the counter-based noise of one call from ``rng``."""
    if rng is None:
        if needed:
            raise TypeError(f"{name} must be a numpy.random.Generator when noise is on; got None.")
        return np.uint64(0)
    check.generator(name, rng)
    return np.uint64(rng.integers(0, 2**63, dtype=np.int64))
