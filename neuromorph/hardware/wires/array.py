"""A wired crossbar tile as an exact linear map kept current under programming (layer 1).

Contract
--------
:class:`WiredArray` holds one tile's conductances and its exact transfer matrix ``T``
(``I = v @ T``, siemens) for given :class:`~neuromorph.hardware.wires.params.WireParams` and
temperature; reads are one matrix product, and :meth:`WiredArray.update` keeps ``T`` exact
when conductances change (a low-rank Woodbury correction for a few changed devices, a fresh
elimination otherwise).  The circuit and its solvers are those of
:mod:`neuromorph.hardware.wires.solve`; the crossbar (:mod:`neuromorph.hardware.crossbar`)
holds one WiredArray per tile.

Layer 1 (hardware).  May import the shared leaves and its sibling modules in
:mod:`neuromorph.hardware.wires` only.  SI units: siemens, volts, amperes, kelvin.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neuromorph import _validate as val
from neuromorph.hardware.wires import _multifrontal
from neuromorph.hardware.wires.params import WireParams, check_wires
from neuromorph.hardware.wires.solve import (
    Layout,
    cell_solution,
    check_conductances,
    check_inputs,
    factorize_lu,
    layout_transfer,
    lu_solve_blocks,
    nested_applies,
    nested_factor,
)

__all__ = ["WiredArray"]

#: Reads with at most this many multiply-adds run BLAS on one thread.  Measured on 2 cores:
#: a multi-threaded OpenBLAS product leaves its worker spinning for ~0.1 s, and a parallel
#: elimination started meanwhile runs at one core's speed; a small product loses nothing.
_ONE_THREAD_PRODUCT = 1 << 22


class WiredArray:
    """A crossbar with wires as the exact linear map ``I = v @ T``.

    Built once per conductance state: one nested-dissection elimination of the nodal
    equations gives the transfer matrix ``T`` (n_rows, n_cols), siemens (with a zero wire
    resistance: one sparse LU factorisation and ``min(n_rows, n_cols)`` solves).  Reads are
    then one matrix product.  :meth:`update` keeps ``T`` exact when conductances change:
    for a few changed devices it applies the Woodbury identity to the stored elimination
    (one pass along the device's two root paths per newly changed device, plus dense
    products of the array's size times the number of changed devices); when many devices
    changed since the last elimination it eliminates afresh, which reuses the cached
    ordering and structure of the layout.

    Memory: between updates a tile holds its conductances and ``T`` (a few MB).  The
    elimination that low-rank updates start from is kept only from the first small update on
    (made then, from the state of the last full build: ~90 MB for a 256 x 512 tile); a
    fresh elimination no longer takes over the previous one's leaves.  Measured cost on a
    256 x 512 tile: one extra elimination (~0.13 s) at the first small update after each
    full build, and ~12 % more work per full rebuild (dense training steps).

    Parameters
    ----------
    g : array_like of shape (n_rows, n_cols), siemens
    wires : WireParams
    temperature_k : float, default 300.0
        Chip temperature, kelvin (wire resistances follow ``wires.at_temperature``).
    max_low_rank : int, optional
        Largest number of devices changed since the last elimination that is handled by a
        low-rank update.  Default ``min(n_rows, n_cols)`` when both wires are resistive
        (measured on a 128 x 256 tile: each newly changed device costs ~0.1 ms and 128 of
        them ~1 ms of dense products, against ~10 ms for a fresh elimination), else
        ``max(1, min(n_rows, n_cols) // 4)`` (each changed device costs a sparse LU solve).
    """

    def __init__(
        self,
        g: ArrayLike,
        wires: WireParams,
        *,
        temperature_k: float = 300.0,
        max_low_rank: int | None = None,
    ) -> None:
        g = check_conductances(g)
        self._wires = check_wires(wires)
        self._temperature_k = val.temperature("temperature_k", temperature_k)
        if max_low_rank is None:
            max_low_rank = min(g.shape) if nested_applies(self._wires) else max(1, min(g.shape) // 4)
        self.max_low_rank = val.integer("max_low_rank", max_low_rank, minimum=0)
        self._rebuild(g)

    # -- state
    @property
    def shape(self) -> tuple[int, int]:
        """``(n_rows, n_cols)``."""
        return self._g.shape

    @property
    def wires(self) -> WireParams:
        """Wire, driver and sense resistances, referenced to ``wires.t_ref_k``."""
        return self._wires

    @property
    def temperature_k(self) -> float:
        """Chip temperature, kelvin; setting it rebuilds ``T`` with new wire resistances."""
        return self._temperature_k

    @temperature_k.setter
    def temperature_k(self, value: float) -> None:
        value = val.temperature("temperature_k", value)
        if value != self._temperature_k:
            self._temperature_k = value
            self._rebuild(self._g)

    @property
    def g(self) -> NDArray[np.float64]:
        """Current conductances (n_rows, n_cols), siemens (a read-only view)."""
        out = self._g.view()
        out.flags.writeable = False
        return out

    @property
    def transfer(self) -> NDArray[np.float64]:
        """Transfer matrix ``T`` (n_rows, n_cols), siemens (a read-only view).

        With nonlinear cells (``wires.cell``), the small-signal map at zero input (each cell
        at :meth:`~neuromorph.hardware.wires.cells.CellModel.small_signal`); reads then
        solve the nonlinear network instead.
        """
        out = self._T.view()
        out.flags.writeable = False
        return out

    #: How the last :meth:`update` was done: "rebuild", "low_rank" or "unchanged".
    last_update: str = "rebuild"

    def _rebuild(self, g: NDArray[np.float64], keep: bool = True) -> None:
        N, M = g.shape
        w = self._wires.at_temperature(self._temperature_k)
        self._g = g.copy()
        self._g_base = g.copy()
        g = w.cell.small_signal(g, self._temperature_k)  # the device itself for resistive cells
        self.last_update = "rebuild"
        self._use_nested = nested_applies(w)
        self._lowrank: _multifrontal.LowRank | None = None
        self._deferred = False
        if self._use_nested:
            # Memory: a tile keeps T only.  The pivot rows low-rank updates need (85 MB for a
            # 256 x 512 tile, plus a 43 MB update stack) are made on demand, by the first small
            # update, from this same state (the same bits as keeping them now).
            self._T_base = _multifrontal.transfer(nested_factor(g, w, keep=False))
            self._deferred = keep
            self._T = self._T_base.copy()
            return
        self._layout = Layout(N, M, w)
        A, B, C, D = self._layout.assemble(g)
        self._B, self._C, self._D = B, C, D
        self._lu = factorize_lu(A) if self._layout.n else None
        self._T_base = layout_transfer(self._layout, self._lu, B, C, D)
        self._T = self._T_base.copy()
        self._chb = self._T_base.T - D  # C H B at the base state, (n_cols, n_rows)
        self._cache_idx: dict[int, int] = {}
        self._P = np.zeros((self._layout.n, 0))

    # -- reads
    def currents(self, v: ArrayLike) -> NDArray[np.float64]:
        """Column currents for inputs ``v`` (n_rows,) or (batch, n_rows), volts -> amperes.

        One product ``v @ T``; the dtype of ``v`` is kept when it is float32.  Small products
        run BLAS on one thread (see ``_ONE_THREAD_PRODUCT``).  With nonlinear cells
        (``wires.cell``), Newton's method on the nodal equations for each input vector
        (:func:`~neuromorph.hardware.wires.solve.cell_solution`; a few sparse LU solves per
        vector instead of one product).
        """
        arr = np.asarray(v)
        dtype = np.float32 if arr.dtype == np.float32 else np.float64
        vb, squeeze = check_inputs(arr, self._g.shape[0])
        if not self._wires.cell.is_linear:
            w = self._wires.at_temperature(self._temperature_k)
            out = cell_solution(self._g, vb.astype(np.float64), w)[0].astype(dtype, copy=False)
            return out[0] if squeeze else out
        T = self._T if dtype == np.float64 else self._T.astype(np.float32)
        if vb.shape[0] * T.size <= _ONE_THREAD_PRODUCT:
            with _multifrontal.one_blas_thread():
                out = vb.astype(dtype, copy=False) @ T
        else:
            out = vb.astype(dtype, copy=False) @ T
        return out[0] if squeeze else out

    # -- writes
    def update(self, g_new: ArrayLike) -> None:
        """Set new conductances and keep ``T`` exact.

        Devices whose conductance differs from the last factorised state are handled by a
        Woodbury correction while there are at most ``max_low_rank`` of them; beyond that
        the nodal equations are eliminated afresh.  After a step that changed more than
        ``max_low_rank`` devices the fresh elimination is not kept for later low-rank
        updates (dense training steps come in runs); the next small step then eliminates
        afresh once more and keeps it.
        """
        g_new = check_conductances(g_new, "g_new")
        if g_new.shape != self._g.shape:
            raise ValueError(f"g_new must have shape {self._g.shape}; got shape {g_new.shape}.")
        if not self._wires.cell.is_linear:  # the small-signal map is not linear in g
            self._rebuild(g_new)
            return
        delta = (g_new - self._g_base).ravel()
        changed = np.flatnonzero(delta != 0.0)
        if changed.size == 0:
            self._g = g_new.copy()
            self._T = self._T_base.copy()
            self.last_update = "unchanged"
            return
        if self._use_nested:
            if self._deferred and changed.size <= self.max_low_rank:
                self._keep_elimination()
            if changed.size > self.max_low_rank or self._lowrank is None:
                # Keep the elimination for low-rank updates only when this step was small
                # (sparse training); after a dense step the next one is likely dense too.
                step = np.count_nonzero(g_new != self._g)
                self._rebuild(g_new, keep=step <= self.max_low_rank)
                return
            self._T = self._lowrank.transfer(changed, delta[changed])
        elif changed.size > self.max_low_rank or self._layout.n == 0:  # n == 0: T is g
            self._rebuild(g_new)
            return
        else:
            self._T = self._woodbury(changed, delta[changed])
        self._g = g_new.copy()
        self.last_update = "low_rank"

    def _keep_elimination(self) -> None:
        """Eliminate the base state again, keeping its pivot rows for low-rank updates (its
        update stack, needed only to reuse leaves in a later elimination, is dropped)."""
        w = self._wires.at_temperature(self._temperature_k)
        g = w.cell.small_signal(self._g_base, self._temperature_k)
        num = nested_factor(g, w, keep=True)
        self._lowrank = _multifrontal.LowRank(dataclasses.replace(num, stack=np.empty(0)))
        self._deferred = False

    def _columns(self, changed: NDArray[np.int64]):
        """``U`` (n, k) incidence columns, ``S`` (n_rows, k), ``E`` (n_cols, k) of devices."""
        r_u, r_i, c_u, c_j = self._layout.device_terms()
        n, N, M = self._layout.n, *self._g.shape
        k = changed.size
        U = np.zeros((n, k))
        S = np.zeros((N, k))
        E = np.zeros((M, k))
        ar = np.arange(k)
        ru, cu = r_u[changed], c_u[changed]
        U[ru[ru >= 0], ar[ru >= 0]] += 1.0
        U[cu[cu >= 0], ar[cu >= 0]] -= 1.0
        S[r_i[changed][ru < 0], ar[ru < 0]] = 1.0
        E[c_j[changed], ar] = 1.0
        return U, S, E

    def _woodbury(self, changed: NDArray[np.int64], dg: NDArray[np.float64]):
        new = [int(d) for d in changed if int(d) not in self._cache_idx]
        if new:
            U_new, _, _ = self._columns(np.asarray(new, dtype=np.int64))
            P_new = lu_solve_blocks(self._lu, U_new)
            start = self._P.shape[1]
            self._P = np.concatenate([self._P, P_new], axis=1)
            for t, d in enumerate(new):
                self._cache_idx[d] = start + t
        P = self._P[:, [self._cache_idx[int(d)] for d in changed]]
        U, S, E = self._columns(changed)
        W = dg
        CP = np.asarray(self._C @ P)  # (M, k)
        PB = np.asarray((self._B.T @ P).T)  # (k, N)
        Q = U.T @ P  # (k, k)
        WSt = W[:, None] * S.T  # (k, N)
        EW = E * W[None, :]  # (M, k)
        a = CP + EW @ Q
        K = np.eye(W.size) + W[:, None] * Q
        rhs = W[:, None] * (PB - Q @ WSt)
        X = self._chb - CP @ WSt + EW @ PB - EW @ (Q @ WSt) - a @ np.linalg.solve(K, rhs)
        return (X + self._D + EW @ S.T).T

    def __repr__(self) -> str:
        N, M = self._g.shape
        return f"WiredArray(shape=({N}, {M}), temperature_k={self._temperature_k:g}, wires={self._wires!r})"
