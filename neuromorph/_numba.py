"""Numba options in one place (layer 0 support).

Every kernel module decorates with :data:`njit` / :data:`njit_parallel` from here, so the
caching and floating-point policy is set once.  ``fastmath`` stays off: kernels must be
bit-for-bit reproducible and agree with their NumPy twins.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager

import numba

# Measured on 2 cores: with Numba's default OpenMP layer, a parallel kernel run right after an
# OpenBLAS product waits ~8 ms for cores that OpenBLAS's spinning threads still hold (the kernel
# alone takes 0.1 ms).  The workqueue layer does not contend.  A user's explicit choice
# (NUMBA_THREADING_LAYER) wins.  Workqueue must not be entered from two Python threads at once;
# neuromorph parallelises across processes, never threads.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

#: Options shared by every kernel. ``cache=True`` keeps compile time out of second runs.
NUMBA_OPTIONS: dict = {"cache": True, "fastmath": False, "nogil": True}

njit = numba.njit(**NUMBA_OPTIONS)
njit_parallel = numba.njit(parallel=True, **NUMBA_OPTIONS)
#: For a small device-level helper called from a parallel loop with many array arguments:
#: inlined in Numba's IR, so no call passes (and reference-counts) a dozen array structs per
#: device.  Measured on the pulse step: 100 ns per pulsed device as a call, 60 inlined, and
#: the two threads stop contending on the arrays' shared reference counts (2 threads 1.66 ms
#: against 0.61 ms for 16.5k pulsed devices).  Same bits: inlining changes no arithmetic.
njit_inline = numba.njit(inline="always", **NUMBA_OPTIONS)

#: Fixed chunk length for parallel loops.  Work is split by this size, never by the thread
#: count, so results are identical on any number of threads.
CHUNK = 4096

_BLAS = None


def one_blas_thread() -> AbstractContextManager:
    """Context holding BLAS to one thread around small products and factorisations.

    The same bits on any machine, no waiting for a core that another process holds
    (measured on a busy 2-core box: 100x slower panels in the wire elimination, a 301x301
    Cholesky 23.7 ms on two OpenBLAS threads against 2.5 ms on one), and no OpenBLAS worker
    left spinning to slow the Numba kernel that follows.
    """
    global _BLAS
    if _BLAS is None:
        import scipy.linalg  # noqa: F401  (loads the BLAS that Numba's np.dot calls)
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")
