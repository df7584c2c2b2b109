"""Numba kernels that solve with a kept multifrontal factorisation (layer 1 support).

The elimination of :mod:`neuromorph.hardware.wires._factor_kernels` can keep every front's
pivot rows (``R`` with ``F11 = R^T R`` and ``W = R^-T F12``).  The kernels here use them:
:func:`multifrontal_back` recovers every node voltage by one top-down pass, and
:func:`forward_columns` / :func:`path_dots` eliminate device incidence columns along their
two root paths, which is what the low-rank (Woodbury) update of the transfer matrix needs
(:class:`neuromorph.hardware.wires._multifrontal.LowRank`).  All run serially, in a fixed
order.

Kernels take arrays and scalars, fill caller-allocated outputs and never validate.  May
import NumPy and :mod:`neuromorph._numba` only (no kernel of a sibling module: Numba's cache
does not notice when a function in another file changes).
"""

from __future__ import annotations

import numpy as np

from neuromorph._numba import njit


@njit
def multifrontal_back(front_s, front_b, piv0, struct_ptr, struct, fac_ptr, fac, x):
    """Interior voltages from the port voltages, top-down through the kept fronts.

    The interior carries no sources, so each front's pivots follow from its boundary alone:
    ``x_s = -F11^-1 F12 x_b = -R^-1 (W x_b)``.

    Parameters
    ----------
    front_s, front_b, piv0 : ndarray of shape (n_front,) int64   IN
    struct_ptr, struct : ndarray int64                IN  boundary orders of each front.
    fac_ptr, fac : ndarray                            IN  pivot rows kept by the factorisation.
    x : ndarray of shape (n_int + p, batch)           IN/OUT port rows in, interior rows out
        (volts).
    """
    n_front = front_s.shape[0]
    batch = x.shape[1]
    for t in range(n_front - 1, -1, -1):
        s = front_s[t]
        b = front_b[t]
        n = s + b
        fo = fac_ptr[t]
        p0 = piv0[t]
        sp = struct_ptr[t]
        for k in range(s - 1, -1, -1):
            row = fo + k * n
            for c in range(batch):
                x[p0 + k, c] = 0.0
            for q in range(b):
                w = fac[row + s + q]
                if w != 0.0:
                    o = struct[sp + q]
                    for c in range(batch):
                        x[p0 + k, c] -= w * x[o, c]
            for m in range(k + 1, s):
                r = fac[row + m]
                for c in range(batch):
                    x[p0 + k, c] -= r * x[p0 + m, c]
            d = fac[row + k]
            for c in range(batch):
                x[p0 + k, c] /= d


@njit
def forward_columns(
    dev_r,
    dev_c,
    n_int,
    front_of,
    parent,
    front_s,
    front_b,
    piv0,
    struct_ptr,
    struct,
    fac_ptr,
    fac,
    work,
    paths,
    plen,
    zval,
    yport,
):
    """Forward elimination of device incidence columns through the kept fronts.

    Device ``d`` joins the nodes of orders ``dev_r[d]`` (row wire) and ``dev_c[d]``
    (column wire); its column is ``u = e_r - e_c`` restricted to the interior.  Only the
    fronts on the two paths from those nodes to the root take part.  For each front ``t``
    on them, ``z_t = R_t^-T y_t`` and the boundary receives ``y_b -= W_t^T z_t``; what
    reaches the ports is ``-K_PI K_II^-1 u``, and ``u^T K_II^-1 u' = sum_t z_t . z'_t``.
    One kernel past the usual length, because the path merge and the elimination along it
    share the per-device state (``work``, ``z``) that a split would have to pass around.

    Parameters
    ----------
    dev_r, dev_c : ndarray of shape (k,) int64     IN  node orders of each device.
    n_int : int                                    IN  interior size.
    front_of, parent : ndarray int64               IN  front of each order; parent front.
    front_s, front_b, piv0, struct_ptr, struct : ndarray int64   IN  front structure.
    fac_ptr, fac : ndarray                         IN  kept pivot rows.
    work : ndarray of shape (n_int + p,)           IN/OUT zeros in, zeros out (scratch).
    paths : ndarray of shape (k, max_path) int64   OUT fronts on the paths, ascending.
    plen : ndarray of shape (k,) int64             OUT number of them.
    zval : ndarray of shape (k, max_path_pivots)   OUT ``z`` front by front along ``paths``.
    yport : ndarray of shape (k, p)                OUT port part of the eliminated column.
    """
    n_front = front_s.shape[0]
    for d in range(dev_r.shape[0]):
        # merge the two ascending chains of fronts
        ta = front_of[dev_r[d]]
        tb = front_of[dev_c[d]]
        m = 0
        while ta < n_front or tb < n_front:
            if ta < tb:
                t = ta
                ta = parent[ta]
            elif tb < ta:
                t = tb
                tb = parent[tb]
            else:
                t = ta
                ta = parent[ta]
                tb = parent[tb]
            paths[d, m] = t
            m += 1
        plen[d] = m
        if dev_r[d] < n_int:
            work[dev_r[d]] += 1.0
        if dev_c[d] < n_int:
            work[dev_c[d]] -= 1.0
        zo = 0
        for q in range(m):
            t = paths[d, q]
            s = front_s[t]
            b = front_b[t]
            n = s + b
            fo = fac_ptr[t]
            p0 = piv0[t]
            z = zval[d, zo : zo + s]
            for k in range(s):
                acc = work[p0 + k]
                work[p0 + k] = 0.0
                for mm in range(k):
                    acc -= fac[fo + mm * n + k] * z[mm]
                z[k] = acc / fac[fo + k * n + k]
            acc_b = np.zeros(b)
            for k in range(s):
                if z[k] != 0.0:
                    f = -z[k]
                    w_row = fac[fo + k * n + s : fo + k * n + n]
                    for j in range(b):
                        acc_b[j] -= f * w_row[j]
            sp = struct_ptr[t]
            for j in range(b):
                work[struct[sp + j]] -= acc_b[j]
            zo += s
        for j in range(yport.shape[1]):
            yport[d, j] = work[n_int + j]
            work[n_int + j] = 0.0


@njit
def path_dots(paths_a, plen_a, zval_a, paths_b, plen_b, zval_b, front_s, slot, out):
    """``out[a, c] = sum_t z_a,t . z_c,t`` over the fronts two device paths share.

    Parameters
    ----------
    paths_a, plen_a, zval_a : ndarray              IN  paths and ``z`` of the first set.
    paths_b, plen_b, zval_b : ndarray              IN  the same for the second set.
    front_s : ndarray of shape (n_front,) int64    IN  pivots per front.
    slot : ndarray of shape (n_front,) int64       IN/OUT all -1 in, all -1 out (scratch).
    out : ndarray of shape (ka, kb)                OUT
    """
    for a in range(plen_a.shape[0]):
        off = 0
        for q in range(plen_a[a]):
            t = paths_a[a, q]
            slot[t] = off
            off += front_s[t]
        for c in range(plen_b.shape[0]):
            acc = 0.0
            off_b = 0
            for q in range(plen_b[c]):
                t = paths_b[c, q]
                s = front_s[t]
                sa = slot[t]
                if sa >= 0:
                    for k in range(s):
                        acc += zval_a[a, sa + k] * zval_b[c, off_b + k]
                off_b += s
            out[a, c] = acc
        for q in range(plen_a[a]):
            slot[paths_a[a, q]] = -1
