"""Numba kernels of the multifrontal elimination (layer 1 support: arrays and scalars only).

The numeric phase of :mod:`neuromorph.hardware.wires._multifrontal`: dense frontal matrices
assembled along the nested-dissection tree of :mod:`neuromorph.hardware.wires._nested`,
pivots from row sums (no cancellation), loops for small fronts and BLAS (``np.dot``) for the
trailing updates of large ones.  What remains after the interior is eliminated is the port
matrix of the network.  Independent subtrees go to whichever thread is free, but each front
is computed by one thread in a fixed order, so results do not depend on the thread count.
The passes that reuse a kept factorisation live in
:mod:`neuromorph.hardware.wires._solve_kernels`.

Kernels take arrays and scalars, fill caller-allocated outputs and never validate.  May
import NumPy, Numba and :mod:`neuromorph._numba` only.
"""

from __future__ import annotations

import numpy as np
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from neuromorph._numba import njit, njit_parallel

#: Rows of the trailing matrix updated per BLAS product in :func:`_panel_blas` (bounds the
#: temporary product to ``BLAS_BAND x n``).
BLAS_BAND = 64
#: Pivots eliminated together in :func:`_eliminate`: trailing rows are read and written
#: once per this many rank-1 updates (the loop body is unrolled for exactly four).
PIVOT_GROUP = 4


@intrinsic
def _fetch_add(typingctx, arr, idx, val):
    """Atomically ``old = arr[idx]; arr[idx] += val; return old`` (int64, sequentially
    consistent: writes made before it are visible to whoever reads the count after)."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64 and arr.ndim == 1):
        return None
    sig = types.int64(arr, types.intp, types.int64)

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], ary, [args[1]])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

    return sig, codegen


# Frontal matrices are dense, row-major, upper triangle only.  A front of ``n = s + b``
# variables holds its ``s`` pivots first, then its boundary: ``bi`` interior variables,
# ``bs`` row sources, the rest column outputs.  Of the boundary-boundary update only the
# blocks anything reads are formed: interior rows (all columns) and source x output.


@njit
def _row_start(i, s, bi, bs, n):
    """First needed column of row ``i`` of a front's trailing matrix (``n``: none)."""
    if i < s + bi:
        return i
    if i < s + bi + bs:
        return s + bi + bs
    return n


@njit
def _row_sum(r):
    """``sum(r)`` with eight independent partial sums (fixed order, so the same bits on every
    run; the terms share one sign, so the order costs no accuracy)."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    m = r.shape[0]
    m8 = m - m % 8
    for j in range(0, m8, 8):
        a0 += r[j]
        a1 += r[j + 1]
        a2 += r[j + 2]
        a3 += r[j + 3]
        a4 += r[j + 4]
        a5 += r[j + 5]
        a6 += r[j + 6]
        a7 += r[j + 7]
    for j in range(m8, m):
        a0 += r[j]
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))


@njit
def _copy(dst, src):
    """``dst[:] = src`` for views known not to overlap (no temporary, vectorised)."""
    for j in range(dst.shape[0]):
        dst[j] = src[j]


@njit
def _zero(dst):
    for j in range(dst.shape[0]):
        dst[j] = 0.0


@njit
def _axpy(f, x, y):
    """``y -= f * x`` (loops from 0 over slices: the form LLVM vectorises)."""
    for j in range(y.shape[0]):
        y[j] -= f * x[j]


@njit
def _eliminate(F, k0, k1, r1, s, bi, bs, n):
    """Eliminate pivots ``k0 .. k1 - 1`` of front ``F``, updating rows ``< r1``.

    Right-looking Cholesky whose pivots come from row sums: every row of a Schur
    complement of this network's matrix sums to zero (the interior has no path to ground
    except through the ports, which are never eliminated), so the pivot of row ``k`` is
    ``-sum_{j > k} F[k, j]`` over its off-diagonal entries, all <= 0.  No cancellation
    occurs anywhere (Grassmann, Taksar and Heyman, Oper. Res. 33, 1107 (1985)), so every
    entry of the result keeps a relative accuracy of a few ulps.  Pivots are taken four at
    a time: trailing rows are read and written once per four rank-1 updates, applied in
    the same order.  Returns the index of a non-positive pivot, or -1.
    """
    for q0 in range(k0, k1, PIVOT_GROUP):
        q1 = min(q0 + PIVOT_GROUP, k1)
        for k in range(q0, q1):
            rk = F[k, k + 1 : n]
            d = -_row_sum(rk)
            if not d > 0.0:
                return k
            d = np.sqrt(d)
            F[k, k] = d
            inv = 1.0 / d
            for j in range(rk.shape[0]):
                rk[j] *= inv
            for i in range(k + 1, q1):
                f = F[k, i]
                if f != 0.0:
                    _axpy(f, F[k, i:n], F[i, i:n])
        if q1 - q0 == PIVOT_GROUP:
            for i in range(q1, r1):
                f0 = F[q0, i]
                f1 = F[q0 + 1, i]
                f2 = F[q0 + 2, i]
                f3 = F[q0 + 3, i]
                if f0 == 0.0 and f1 == 0.0 and f2 == 0.0 and f3 == 0.0:
                    continue
                j0 = _row_start(i, s, bi, bs, n)
                ri = F[i, j0:n]
                p0 = F[q0, j0:n]
                p1 = F[q0 + 1, j0:n]
                p2 = F[q0 + 2, j0:n]
                p3 = F[q0 + 3, j0:n]
                for j in range(ri.shape[0]):
                    x = ri[j]
                    x -= f0 * p0[j]
                    x -= f1 * p1[j]
                    x -= f2 * p2[j]
                    x -= f3 * p3[j]
                    ri[j] = x
        else:
            for k in range(q0, q1):
                for i in range(q1, r1):
                    f = F[k, i]
                    if f != 0.0:
                        j0 = _row_start(i, s, bi, bs, n)
                        _axpy(f, F[k, j0:n], F[i, j0:n])
    return -1


@njit
def _panel_blas(F, k0, k1, s, bi, bs, n):
    """Eliminate pivots ``k0 .. k1 - 1`` of ``F`` with BLAS, keeping the row-sum pivots.

    The off-block part of the panel rows (columns ``>= k1``) is never touched by loops:
    its row sums ``rs`` are carried through the block's elimination (each update subtracts
    ``R[m, i] * sigma_m``, both factors of one sign, so still nothing cancels); the block
    ``R11`` is factored by loops; the off-block rows become ``R11^-T F12`` through the
    inverse of ``R11^T``, which is entrywise >= 0 and computed without cancellation; the
    trailing matrix is updated by ``P^T P`` with BLAS.  Returns a bad pivot index or -1.
    """
    nb = k1 - k0
    m = n - k1
    rs = np.empty(nb)
    for a in range(nb):
        rs[a] = _row_sum(F[k0 + a, k1:n])
    for a in range(nb):
        k = k0 + a
        d = -(_row_sum(F[k, k + 1 : k1]) + rs[a])
        if not d > 0.0:
            return k
        d = np.sqrt(d)
        F[k, k] = d
        inv = 1.0 / d
        for j in range(k + 1, k1):
            F[k, j] *= inv
        sigma = rs[a] * inv
        for c in range(a + 1, nb):
            f = F[k, k0 + c]
            if f != 0.0:
                _axpy(f, F[k, k0 + c : k1], F[k0 + c, k0 + c : k1])
                rs[c] -= f * sigma
    if m == 0:
        return -1
    # Z = (R11^T)^-1 by forward substitution: Z[a] = (e_a - sum_c R11[c, a] Z[c]) / R11[a, a].
    Z = np.zeros((nb, nb))
    for a in range(nb):
        Z[a, a] = 1.0
        for c in range(a):
            f = F[k0 + c, k0 + a]
            if f != 0.0:
                _axpy(f, Z[c, :a], Z[a, :a])
        d = F[k0 + a, k0 + a]
        for c in range(a + 1):
            Z[a, c] /= d
    P = np.dot(Z, np.ascontiguousarray(F[k0:k1, k1:n]))
    for a in range(nb):
        _copy(F[k0 + a, k1:n], P[a])
    # trailing update, needed upper blocks only, in bands of rows
    e0 = s + bi + bs
    for a0 in range(k1, s + bi, BLAS_BAND):
        a1 = min(a0 + BLAS_BAND, s + bi)
        G = np.dot(np.ascontiguousarray(P[:, a0 - k1 : a1 - k1].T), np.ascontiguousarray(P[:, a0 - k1 :]))
        for a in range(a1 - a0):
            _axpy(1.0, G[a, a:], F[a0 + a, a0 + a : n])
    if bs > 0 and n > e0:
        G = np.dot(np.ascontiguousarray(P[:, s + bi - k1 : e0 - k1].T), np.ascontiguousarray(P[:, e0 - k1 :]))
        for a in range(bs):
            _axpy(1.0, G[a], F[s + bi + a, e0:n])
    return -1


@njit
def _extend_add(F, stack, off, bc, rel, rp, bi, bs, run_q, run_len, r0, r1):
    """Add a child's update matrix (``bc x bc`` at ``stack[off:]``) into front ``F``.

    ``rel[rp:rp + bc]`` maps the child's boundary to positions in ``F``.  When the child
    has runs ``run_q[r0:r1]`` / ``run_len`` (stretches where those positions are
    consecutive), rows are added run by run, vectorised; otherwise entry by entry.
    """
    for a in range(bc):
        q0 = _row_start(a, 0, bi, bs, bc)
        if q0 == bc:
            break
        ra = rel[rp + a]
        base = off + a * bc
        if r1 > r0:
            for r in range(r0, r1):
                qs = run_q[r]
                qe = qs + run_len[r]
                if qe <= q0:
                    continue
                if qs < q0:
                    qs = q0
                dst = F[ra, rel[rp + qs] : rel[rp + qs] + qe - qs]
                _axpy(-1.0, stack[base + qs : base + qe], dst)
        else:
            for q in range(q0, bc):
                F[ra, rel[rp + q]] += stack[base + q]


@njit
def _assemble(
    t,
    F,
    fb,
    front_b,
    front_bi,
    front_bs,
    child_ptr,
    child_idx,
    rel,
    struct_ptr,
    run_ptr,
    run_q,
    run_len,
    ent_ptr,
    ent_pos,
    ent_y,
    ent_sgn,
    y,
    u_off,
    stack,
):
    """Zero front ``t`` (``F``, a view of ``fb``) and add its entries and children's updates."""
    n = F.shape[0]
    for i in range(n):
        _zero(F[i, i:])
    for e in range(ent_ptr[t], ent_ptr[t + 1]):
        fb[ent_pos[e]] += ent_sgn[e] * y[ent_y[e]]
    for ci in range(child_ptr[t], child_ptr[t + 1]):
        c = child_idx[ci]
        _extend_add(
            F,
            stack,
            u_off[c],
            front_b[c],
            rel,
            struct_ptr[c],
            front_bi[c],
            front_bs[c],
            run_q,
            run_len,
            run_ptr[c],
            run_ptr[c + 1],
        )


@njit
def _front(
    t,
    fb,
    front_s,
    front_b,
    front_bi,
    front_bs,
    child_ptr,
    child_idx,
    rel,
    struct_ptr,
    run_ptr,
    run_q,
    run_len,
    ent_ptr,
    ent_pos,
    ent_y,
    ent_sgn,
    y,
    u_off,
    big,
    skip,
    panel,
    keep,
    fac_ptr,
    stack,
    fac_out,
):
    """Assemble and eliminate front ``t`` in workspace ``fb``; push its update matrix.

    Returns -1, or ``t`` when a pivot was not positive.  A front with ``skip[t]`` already
    has its update matrix (and kept rows) in place.
    """
    if skip[t]:
        return -1
    s = front_s[t]
    b = front_b[t]
    bi = front_bi[t]
    bs = front_bs[t]
    n = s + b
    F = fb[: n * n].reshape((n, n))
    _assemble(
        t,
        F,
        fb,
        front_b,
        front_bi,
        front_bs,
        child_ptr,
        child_idx,
        rel,
        struct_ptr,
        run_ptr,
        run_q,
        run_len,
        ent_ptr,
        ent_pos,
        ent_y,
        ent_sgn,
        y,
        u_off,
        stack,
    )
    if big[t]:
        for k0 in range(0, s, panel):
            if _panel_blas(F, k0, min(k0 + panel, s), s, bi, bs, n) >= 0:
                return t
    elif _eliminate(F, 0, s, n, s, bi, bs, n) >= 0:
        return t
    if keep:
        fo = fac_ptr[t]
        for k in range(s):
            _zero(fac_out[fo + k * n : fo + k * n + k])
            _copy(fac_out[fo + k * n + k : fo + (k + 1) * n], F[k, k:])
    off = u_off[t]
    for a in range(b):
        q0 = _row_start(a, 0, bi, bs, b)
        _copy(stack[off + a * b + q0 : off + a * b + b], F[s + a, s + q0 : n])
    return -1


@njit_parallel
def multifrontal_factor(
    front_s,
    front_b,
    front_bi,
    front_bs,
    child_ptr,
    child_idx,
    rel,
    struct_ptr,
    run_ptr,
    run_q,
    run_len,
    ent_ptr,
    ent_pos,
    ent_y,
    ent_sgn,
    y,
    u_off,
    big,
    skip,
    panel,
    keep,
    fac_ptr,
    parent,
    task_first,
    task_root,
    pending,
    counter,
    fb_off,
    stack,
    fbuf,
    fac_out,
    root_out,
    bad,
):
    """Multifrontal elimination of the interior nodes: the port matrix of the network.

    Front ``t`` is assembled from its original entries and its children's update matrices,
    its ``s`` pivots are eliminated (:func:`_eliminate`; where ``big[t]``, in panels of
    ``panel`` pivots with BLAS updates, :func:`_panel_blas`) and its update matrix is left
    in ``stack`` at ``u_off[t]``.

    Work is shared dynamically: each worker takes the next whole subtree (task) from an
    atomic counter and eliminates it in postorder; a front above the tasks is eliminated by
    whichever worker completes its last child (an atomic count of pending children).  Every
    front is computed by one worker in a fixed order into memory of its own, and assembled
    from its children in a fixed order, so the bits do not depend on the number of threads
    or on who did what.  The root, the port block, is assembled last.

    Long only in its argument lists: kernels take arrays, not objects, so the tree's two
    dozen index arrays are passed on to :func:`_front` at both of its call sites (the fronts
    of a task, and the fronts above the tasks); the loop itself is about thirty lines.

    Parameters
    ----------
    front_s, front_b, front_bi, front_bs : ndarray of shape (n_front,) int64   IN
        Pivots, boundary size, and the interior and row-source parts of the boundary.
    child_ptr, child_idx : ndarray int64       IN  children of each front and of the root.
    rel : ndarray int64                        IN  boundary positions in the parent front.
    struct_ptr : ndarray of shape (n_front + 1,) int64   IN  offsets into ``rel``.
    run_ptr, run_q, run_len : ndarray int64    IN  per front, the runs of consecutive
        positions in its ``rel`` (none: added entry by entry).
    ent_ptr, ent_pos, ent_y, ent_sgn : ndarray IN  original entries per front: flat
        position in the front, index into ``y``, sign (+1 diagonal, -1 off-diagonal).
    y : ndarray float64                        IN  branch conductances, siemens.
    u_off : ndarray of shape (n_front,) int64  IN  where each update matrix goes in ``stack``.
    big : ndarray of shape (n_front,) bool     IN  use BLAS for this front's trailing update.
    skip : ndarray of shape (n_front,) bool    IN  fronts (leaves) whose update matrix, and
        kept rows, are already in ``stack`` / ``fac_out`` from an earlier call.
    panel : int                                IN  pivots per BLAS panel.
    keep : bool                                IN  store each front's pivot rows.
    fac_ptr : ndarray of shape (n_front + 1,) int64   IN  offsets into ``fac_out``.
    parent : ndarray of shape (n_front,) int64 IN  parent front (``n_front``: the root).
    task_first, task_root : ndarray of shape (n_tasks,) int64   IN  the subtrees, each the
        postorder range ``task_first[q] .. task_root[q]``.
    pending : ndarray of shape (n_front,) int64    IN/OUT children not yet eliminated, of
        the fronts above the tasks.
    counter : ndarray of shape (1,) int64      IN/OUT zero: the next task.
    fb_off : ndarray of shape (n_workers + 1,) int64   IN  frontal workspace of each worker.
    stack, fbuf : ndarray float64              IN/OUT workspace.
    fac_out : ndarray float64                  OUT pivot rows ``F[:s, :]`` of every front
        (upper ``R`` with ``F11 = R^T R``, then ``W = R^-T F12``), row-major (s, s + b).
    root_out : ndarray of shape (p, p)         OUT port matrix (upper triangle, needed
        blocks), siemens.
    bad : ndarray of shape (n_workers,) int64  OUT -1, or a front where a pivot was not
        positive.
    """
    n_front = front_s.shape[0]
    n_tasks = task_root.shape[0]
    n_workers = fb_off.shape[0] - 1
    for w in prange(n_workers):
        bad[w] = -1
        fb = fbuf[fb_off[w] : fb_off[w + 1]]
        while True:
            q = _fetch_add(counter, 0, 1)
            if q >= n_tasks:
                break
            for t in range(task_first[q], task_root[q] + 1):
                failed = _front(t, fb, front_s, front_b, front_bi, front_bs, child_ptr, child_idx, rel,
                                struct_ptr, run_ptr, run_q, run_len, ent_ptr, ent_pos, ent_y, ent_sgn, y,
                                u_off, big, skip, panel, keep, fac_ptr, stack, fac_out)  # fmt: skip
                if failed >= 0:
                    bad[w] = t
            t = parent[task_root[q]]
            while t < n_front and _fetch_add(pending, t, -1) == 1:
                failed = _front(t, fb, front_s, front_b, front_bi, front_bs, child_ptr, child_idx, rel,
                                struct_ptr, run_ptr, run_q, run_len, ent_ptr, ent_pos, ent_y, ent_sgn, y,
                                u_off, big, skip, panel, keep, fac_ptr, stack, fac_out)  # fmt: skip
                if failed >= 0:
                    bad[w] = t
                t = parent[t]
    p = root_out.shape[0]
    fb = fbuf[fb_off[0] : fb_off[1]]
    F = fb[: p * p].reshape((p, p))
    _assemble(
        n_front,
        F,
        fb,
        front_b,
        front_bi,
        front_bs,
        child_ptr,
        child_idx,
        rel,
        struct_ptr,
        run_ptr,
        run_q,
        run_len,
        ent_ptr,
        ent_pos,
        ent_y,
        ent_sgn,
        y,
        u_off,
        stack,
    )
    root_out[:, :] = F
