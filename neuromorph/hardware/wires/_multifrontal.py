"""Numeric phase of the nested-dissection solver: port matrix, node voltages, low rank.

Layer 1 support (hardware).  May import the shared leaves, its Numba kernels
(:mod:`neuromorph.hardware.wires._factor_kernels`, :mod:`neuromorph.hardware.wires._solve_kernels`)
and the symbolic analysis of :mod:`neuromorph.hardware.wires._nested`; used by
:mod:`neuromorph.hardware.wires.solve` and :mod:`neuromorph.hardware.wires.array`.

Contract
--------
For a layout analysed by :func:`neuromorph.hardware.wires._nested.symbolic`,
:func:`factorize` eliminates the interior nodes from the nodal matrix ``K`` and leaves the
port matrix

    ``Y = K_PP - K_PI K_II^-1 K_IP``   (siemens),

the Kron reduction of the network onto its terminals (F. Dorfler and F. Bullo, IEEE Trans.
Circuits Syst. I 60, 150 (2013)).  The current into column ``j``'s sense for inputs ``v``
is ``-sum_i Y[out_j, src_i] v_i``: the transfer matrix is ``T = -Y[src, out]``
(:func:`transfer`), with no further solve.  Blocks of ``Y`` nothing reads (source x
source, output x output) are not formed.

The elimination is one Numba kernel,
:func:`neuromorph.hardware.wires._factor_kernels.multifrontal_factor`.  Pivots are taken from
row sums (every row of a Schur complement of this matrix sums to zero on the interior), so
nothing cancels and each entry of ``T`` has a relative error of a few ulps -- measured
about 100 times closer to a long-double reference than a sparse LU of the same system.
Every front is computed by one thread in a fixed order, so the bits do not depend on the
thread count.

On request the pivot rows of every front are kept (``R`` with ``F11 = R^T R`` and
``W = R^-T F12``): they give every node voltage by one top-down pass
(:func:`node_values`) and, for a few changed conductances, the exact low-rank update of
``T`` (:class:`LowRank`, used by :class:`neuromorph.hardware.wires.array.WiredArray`).

Units: conductances in siemens, voltages in volts, currents in amperes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from neuromorph._numba import one_blas_thread
from neuromorph.hardware.wires import _factor_kernels, _solve_kernels
from neuromorph.hardware.wires._nested import I64, N_WIRE_BRANCHES, Symbolic

#: Pivots per panel in the fronts eliminated with BLAS updates (``Symbolic.big``).
PANEL = 32


@dataclass(eq=False)
class Numeric:
    """Port matrix of one conductance state and, if kept, every front's pivot rows."""

    sym: Symbolic
    y: NDArray[np.float64]  # branch conductances (see branch_conductances)
    Y: NDArray[np.float64]  # (p, p) upper triangle; the source x output block is complete
    fac: NDArray[np.float64] | None
    stack: NDArray[np.float64]  # update matrices; the leaves' stay valid for y


def branch_conductances(
    g: NDArray[np.float64], g_row: float, g_col: float, g_driver: float, g_sense: float
) -> NDArray[np.float64]:
    """Conductances the symbolic entries index, siemens: ``g.ravel()``, then the wire ones.

    The wire branches follow the devices in the order of
    :data:`neuromorph.hardware.wires._nested.WIRE_BRANCHES` (row, column, driver, sense).
    """
    y = np.empty(g.size + N_WIRE_BRANCHES)
    y[: g.size] = g.ravel()
    y[g.size :] = (g_row, g_col, g_driver, g_sense)
    return y


def _workspace(
    sym: Symbolic, y: NDArray[np.float64], keep: bool, reuse: Numeric | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Update-matrix stack, pivot-row store and fronts to skip for one elimination.

    Taken over from ``reuse`` when it is an elimination of the same layout with the same
    wires (and kept rows if ``keep``): then the leaves no changed device touches are
    skipped.  Otherwise fresh buffers and nothing skipped.
    """
    n_dev = y.size - N_WIRE_BRANCHES
    if (
        reuse is not None
        and reuse.sym is sym
        and np.array_equal(reuse.y[n_dev:], y[n_dev:])
        and (reuse.fac is not None or not keep)
    ):
        changed = np.flatnonzero(reuse.y[:n_dev] != y[:n_dev])
        ro, co = sym.cell_orders()
        touched = np.zeros(sym.n_front + 1, dtype=bool)
        touched[sym.front_of[ro.ravel()[changed]]] = True
        touched[sym.front_of[co.ravel()[changed]]] = True
        fac = reuse.fac if keep else np.empty(0)
        return reuse.stack, fac, sym.leaf & ~touched[:-1]
    fac = np.empty(int(sym.fac_ptr[-1]) if keep else 0)
    return np.empty(sym.stack_size), fac, np.zeros(sym.n_front, dtype=bool)


def factorize(sym: Symbolic, y: NDArray[np.float64], *, keep: bool, reuse: Numeric | None = None) -> Numeric:
    """Eliminate the interior for branch conductances ``y`` (see :func:`branch_conductances`).

    Parameters
    ----------
    sym : Symbolic
    y : ndarray, siemens
    keep : bool
        Keep every front's pivot rows (for :func:`node_values` and :class:`LowRank`).
    reuse : Numeric, optional
        An earlier elimination of the same layout, taken over: the leaf fronts that no
        changed conductance touches are not eliminated again, their update matrices being
        reused (the same bits as recomputing them).  ``reuse`` must not be used afterwards.
    """
    p = sym.n_ports
    stack, fac, skip = _workspace(sym, y, keep, reuse)
    Y = np.empty((p, p))
    workers = max(1, min(numba.get_num_threads(), sym.task_root.size))
    bad = np.empty(workers, dtype=I64)
    with one_blas_thread():
        _factor_kernels.multifrontal_factor(
            front_s=sym.s,
            front_b=sym.b,
            front_bi=sym.bi,
            front_bs=sym.bs,
            child_ptr=sym.child_ptr,
            child_idx=sym.child_idx,
            rel=sym.rel,
            struct_ptr=sym.struct_ptr,
            run_ptr=sym.run_ptr,
            run_q=sym.run_q,
            run_len=sym.run_len,
            ent_ptr=sym.ent_ptr,
            ent_pos=sym.ent_pos,
            ent_y=sym.ent_y,
            ent_sgn=sym.ent_sgn,
            y=y,
            u_off=sym.u_off,
            big=sym.big,
            skip=skip,
            panel=PANEL,
            keep=keep,
            fac_ptr=sym.fac_ptr,
            parent=sym.parent,
            task_first=sym.task_first,
            task_root=sym.task_root,
            pending=sym.pending.copy(),
            counter=np.zeros(1, dtype=I64),
            fb_off=np.arange(workers + 1) * sym.fbuf_size,
            stack=stack,
            fbuf=np.empty(workers * sym.fbuf_size),
            fac_out=fac,
            root_out=Y,
            bad=bad,
        )
    if (bad >= 0).any():  # pragma: no cover - the interior block is SPD for valid inputs
        raise ArithmeticError(f"the nodal matrix lost positive definiteness at front {bad.max()}")
    return Numeric(sym=sym, y=y, Y=Y, fac=fac if keep else None, stack=stack)


def transfer(num: Numeric) -> NDArray[np.float64]:
    """Transfer matrix ``T`` (n_rows, n_cols), siemens, with ``I = v @ T``."""
    N = num.sym.n_rows
    return -num.Y[:N, N:]


def node_values(num: Numeric, v: NDArray[np.float64]) -> NDArray[np.float64]:
    """Voltage of every order for inputs ``v`` (batch, n_rows): (batch, n_int + p), volts."""
    sym = num.sym
    if num.fac is None:
        raise ValueError("num must be a factorisation made with keep=True; got keep=False.")
    x = np.zeros((sym.n_int + sym.n_ports, v.shape[0]))
    x[sym.n_int : sym.n_int + sym.n_rows] = v.T
    _solve_kernels.multifrontal_back(
        front_s=sym.s,
        front_b=sym.b,
        piv0=sym.piv0,
        struct_ptr=sym.struct_ptr,
        struct=sym.struct,
        fac_ptr=sym.fac_ptr,
        fac=num.fac,
        x=x,
    )
    return x.T


# --------------------------------------------------------------------------- low rank
class LowRank:
    """Exact transfer matrices for conductances that differ from a kept factorisation in a
    few devices (Woodbury identity on the port matrix).

    For changed devices with incidence ``U = [U_I; U_P]`` (interior and port rows) and
    conductance changes ``w``, with ``G = K_II^-1``, ``R = K_PI G U_I`` and
    ``Q = U_I^T G U_I``, the new port matrix is

        ``Y' = Y + U_P w U_P^T - R w U_P^T - U_P w R^T - U_P w Q w U_P^T
               + Z (1 + w Q)^-1 w Z^T``,   ``Z = R + U_P w Q``,

    of which only the source x output block is formed.  ``R`` and ``Q`` come from one
    forward elimination per device along its two root paths
    (:func:`neuromorph.hardware.wires._solve_kernels.forward_columns`), cached per device until the next
    factorisation.
    """

    def __init__(self, num: Numeric) -> None:
        if num.fac is None:
            raise ValueError("num must be a factorisation made with keep=True; got keep=False.")
        self.num = num
        sym = num.sym
        self._ro, self._co = (x.ravel() for x in sym.cell_orders())
        self._index: dict[int, int] = {}
        self._paths = np.zeros((0, sym.max_path), dtype=I64)
        self._plen = np.zeros(0, dtype=I64)
        self._z = np.zeros((0, sym.max_path_pivots))
        self._r = np.zeros((0, sym.n_ports))  # rows: R columns (K_PI G u) of cached devices
        self._q = np.zeros((0, 0))

    def _add(self, devices: NDArray[np.int64]) -> None:
        sym = self.num.sym
        k = devices.size
        paths = np.empty((k, sym.max_path), dtype=I64)
        plen = np.empty(k, dtype=I64)
        z = np.zeros((k, sym.max_path_pivots))
        yport = np.empty((k, sym.n_ports))
        _solve_kernels.forward_columns(
            dev_r=self._ro[devices],
            dev_c=self._co[devices],
            n_int=sym.n_int,
            front_of=sym.front_of,
            parent=sym.parent,
            front_s=sym.s,
            front_b=sym.b,
            piv0=sym.piv0,
            struct_ptr=sym.struct_ptr,
            struct=sym.struct,
            fac_ptr=sym.fac_ptr,
            fac=self.num.fac,
            work=np.zeros(sym.n_int + sym.n_ports),
            paths=paths,
            plen=plen,
            zval=z,
            yport=yport,
        )
        old = self._plen.size
        paths_all = np.concatenate([self._paths, paths])
        plen_all = np.concatenate([self._plen, plen])
        z_all = np.concatenate([self._z, z])
        cross = np.empty((k, old + k))
        _solve_kernels.path_dots(
            paths_a=paths,
            plen_a=plen,
            zval_a=z,
            paths_b=paths_all,
            plen_b=plen_all,
            zval_b=z_all,
            front_s=sym.s,
            slot=np.full(sym.n_front, -1, dtype=I64),
            out=cross,
        )
        q = np.empty((old + k, old + k))
        q[:old, :old] = self._q
        q[old:, :] = cross
        q[:old, old:] = cross[:, :old].T
        self._paths, self._plen, self._z, self._q = paths_all, plen_all, z_all, q
        self._r = np.concatenate([self._r, -yport])
        for i, d in enumerate(devices):
            self._index[int(d)] = old + i

    def transfer(self, devices: NDArray[np.int64], dg: NDArray[np.float64]) -> NDArray[np.float64]:
        """``T`` (n_rows, n_cols) with conductances changed by ``dg`` at flat ``devices``."""
        new = np.array([d for d in devices.tolist() if d not in self._index], dtype=I64)
        if new.size:
            self._add(new)
        sym = self.num.sym
        N, n_int = sym.n_rows, sym.n_int
        idx = np.array([self._index[d] for d in devices.tolist()], dtype=I64)
        k = idx.size
        R = self._r[idx].T  # (p, k)
        Q = self._q[np.ix_(idx, idx)]
        up = np.zeros((sym.n_ports, k))
        o_r, o_c = self._ro[devices], self._co[devices]
        cols = np.arange(k)
        at_r, at_c = o_r >= n_int, o_c >= n_int
        up[o_r[at_r] - n_int, cols[at_r]] += 1.0
        up[o_c[at_c] - n_int, cols[at_c]] -= 1.0
        S, G = slice(0, N), slice(N, None)
        with one_blas_thread():
            wq = dg[:, None] * Q
            Z = R + up @ wq if at_r.any() or at_c.any() else R
            inner = np.linalg.solve(np.eye(k) + wq, np.diag(dg))  # (1 + w Q)^-1 w
            left, right = [Z[S] @ inner], [Z[G]]
            if at_r.any() or at_c.any():
                aw = up[S] * dg
                left += [aw - R[S] * dg - aw @ (Q * dg), -aw]
                right += [up[G], R[G]]
            y_sg = self.num.Y[S, G] + np.hstack(left) @ np.hstack(right).T
        return -y_sg
