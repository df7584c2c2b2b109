"""Numba kernels of the iterative IR-drop solver (layer 1 support: arrays and scalars only).

The nodal system of a crossbar with wire resistance is symmetric positive definite and is
stored as CSR arrays (``indptr``, ``indices``, ``data``).  These kernels solve it with a
preconditioned conjugate gradient (PCG) whose preconditioner is the symmetric tridiagonal
part of the matrix.  With the unknown ordering of :class:`neuromorph.hardware.wires.solve.Layout`
(row-line nodes row by row, column-line nodes column by column) that tridiagonal part is
exactly the set of wire lines, so the preconditioner is a line (block) Jacobi method: every
row wire and every column wire is solved exactly at each step, and only the device
couplings between the two layers are left to the iteration.  Each right-hand side is
solved by one thread in serial order, so results do not depend on the number of threads.

Kernels take arrays and scalars, fill caller-allocated outputs and never validate.  May
import NumPy, Numba and :mod:`neuromorph._numba` only; called by
:mod:`neuromorph.hardware.wires.solve`.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from neuromorph._numba import njit, njit_parallel

#: Restarts from the true residual before giving up (the caller then raises): a recurrence
#: that keeps drifting from the true residual this often is stalled by rounding.
MAX_RESTARTS = 50


@njit
def tridiag_ldl(diag, off, l_out, d_out):
    """LDL^T factor of a symmetric tridiagonal matrix.

    Parameters
    ----------
    diag : ndarray of shape (n,)          IN  main diagonal.
    off : ndarray of shape (n - 1,)       IN  first off-diagonal ``A[k, k + 1]``.
    l_out : ndarray of shape (n - 1,)     OUT unit lower factor below the diagonal.
    d_out : ndarray of shape (n,)         OUT pivots ``D``.
    """
    n = diag.shape[0]
    d_out[0] = diag[0]
    for k in range(n - 1):
        l_out[k] = off[k] / d_out[k]
        d_out[k + 1] = diag[k + 1] - l_out[k] * off[k]


@njit
def _tridiag_solve(l_fac, d_fac, rhs, out):
    n = rhs.shape[0]
    out[0] = rhs[0]
    for k in range(1, n):
        out[k] = rhs[k] - l_fac[k - 1] * out[k - 1]
    for k in range(n):
        out[k] = out[k] / d_fac[k]
    for k in range(n - 2, -1, -1):
        out[k] = out[k] - l_fac[k] * out[k + 1]


@njit
def _matvec(indptr, indices, data, x, out):
    n = indptr.shape[0] - 1
    for r in range(n):
        acc = 0.0
        for p in range(indptr[r], indptr[r + 1]):
            acc += data[p] * x[indices[p]]
        out[r] = acc


@njit
def _dot(a, b):
    acc = 0.0
    for k in range(a.shape[0]):
        acc += a[k] * b[k]
    return acc


@njit
def _pcg_one(indptr, indices, data, l_fac, d_fac, b, x, tol, max_iter):
    """PCG on one right-hand side; ``x`` holds the start and receives the answer.

    Returns the number of iterations.  Convergence is declared only on the true residual
    ``||b - A x|| / ||b||``: when the recurrence residual says "done" the true
    one is recomputed, and if it is still too large the iteration restarts from it.
    """
    n = b.shape[0]
    r = np.empty(n)
    z = np.empty(n)
    p = np.empty(n)
    q = np.empty(n)
    bnorm = np.sqrt(_dot(b, b))
    if bnorm == 0.0:
        for k in range(n):
            x[k] = 0.0
        return 0
    target = tol * bnorm
    _matvec(indptr, indices, data, x, q)
    for k in range(n):
        r[k] = b[k] - q[k]
    it = 0
    if np.sqrt(_dot(r, r)) <= target:
        return 0
    restarts = 0
    while it < max_iter:
        _tridiag_solve(l_fac, d_fac, r, z)
        for k in range(n):
            p[k] = z[k]
        rz = _dot(r, z)
        while it < max_iter:
            _matvec(indptr, indices, data, p, q)
            pq = _dot(p, q)
            if not pq > 0.0:
                break
            alpha = rz / pq
            for k in range(n):
                x[k] += alpha * p[k]
                r[k] -= alpha * q[k]
            it += 1
            if np.sqrt(_dot(r, r)) <= target:
                break
            _tridiag_solve(l_fac, d_fac, r, z)
            rz_new = _dot(r, z)
            beta = rz_new / rz
            rz = rz_new
            for k in range(n):
                p[k] = z[k] + beta * p[k]
        # Check the true residual; restart from it if the recurrence has drifted.
        _matvec(indptr, indices, data, x, q)
        for k in range(n):
            r[k] = b[k] - q[k]
        if np.sqrt(_dot(r, r)) <= target:
            return it
        restarts += 1
        if restarts > MAX_RESTARTS:
            break
    return it


@njit_parallel
def pcg_batch(indptr, indices, data, l_fac, d_fac, b, x, tol, max_iter, iters_out):
    """Solve ``A x[k] = b[k]`` for every row ``k`` of ``b`` by line-preconditioned CG.

    Parameters
    ----------
    indptr, indices, data : ndarray                IN  CSR form of the SPD matrix ``A`` (n, n).
    l_fac, d_fac : ndarray of shape (n-1,), (n,)   IN  LDL^T factor of ``A``'s tridiagonal part.
    b : ndarray of shape (batch, n)                IN  right-hand sides (amperes).
    x : ndarray of shape (batch, n)                IN/OUT start / solution (volts).
    tol : float                                    IN  relative residual target.
    max_iter : int                                 IN  iteration budget per right-hand side.
    iters_out : ndarray of shape (batch,) int64    OUT iterations used.
    """
    batch = b.shape[0]
    for k in prange(batch):
        iters_out[k] = _pcg_one(indptr, indices, data, l_fac, d_fac, b[k], x[k], tol, max_iter)
