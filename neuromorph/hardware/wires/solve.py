"""The nodal system of a wired crossbar and its exact or iterative solution (layer 1: hardware).

Contract
--------
A crossbar of ``n_rows x n_cols`` ohmic devices with conductances ``g[i, j]`` (siemens)
has one row-line node and one column-line node per cell (``2 n_rows n_cols`` nodes; An
Chen, "A comprehensive crossbar array model with solutions for line resistance and
nonlinear device characteristics", IEEE Trans. Electron Devices 60(4), 1318-1326, 2013):

* row ``i`` is driven at its left end (column 0) by a voltage source ``v[i]`` through the
  driver resistance ``r_driver_ohm``; neighbouring cells of a row are joined by row-wire
  segments of ``r_row_ohm`` (``n_cols - 1`` segments per row);
* column ``j`` is sensed at its bottom end (row ``n_rows - 1``); neighbouring cells of a
  column are joined by column-wire segments of ``r_col_ohm`` (``n_rows - 1`` per column);
  the bottom node goes either straight into an ideal virtual ground (0 V) or through a
  sense resistor ``r_sense_ohm`` to ground;
* the column current returned is the current into the sense (amperes), which by
  Kirchhoff's current law equals the sum of the device currents of that column.

Zero resistances are allowed: the nodes they join are merged (or pinned to their source /
ground), never divided by zero, so with every resistance zero the currents are exactly
``v @ g``.  Wire resistances follow copper's linear temperature law through
:meth:`~neuromorph.hardware.wires.params.WireParams.at_temperature`; conductances are taken
as given (the device's own temperature law lives in :mod:`neuromorph.hardware.devices`).

Public: :func:`solve` (column currents), :func:`node_voltages`, :func:`nodal_system` (the
matrices, for independent checks).  Shared with :mod:`neuromorph.hardware.wires.array`,
which keeps a tile's transfer matrix current: the input checks
(:func:`check_conductances`, :func:`check_inputs`), the sparse layout (:class:`Layout`,
:func:`factorize_lu`, :func:`lu_solve_blocks`, :func:`layout_transfer`) and the
nested-dissection entry points (:func:`nested_applies`, :func:`nested_factor`).

Solvers.  The exact ("direct") solution, when both wires are resistive, eliminates the
interior nodes in a nested-dissection order of the cell grid
(:mod:`neuromorph.hardware.wires._nested`, :mod:`neuromorph.hardware.wires._multifrontal`):
what remains is the network seen from its row sources and column outputs, from which ``T``
is read off, so one elimination serves a single input, a batch and a transfer matrix
alike.  Its pivots are formed from row sums, so nothing cancels and ``T`` is accurate to a
few units in the last place.  Layouts with a zero wire resistance (merged nodes) use a
sparse LU of the nodal matrix (SuperLU) instead.  ``method="iterative"`` is a
line-preconditioned conjugate gradient (:mod:`neuromorph.hardware.wires._pcg_kernels`).

Layer 1 (hardware).  May import the shared leaves and its sibling modules in
:mod:`neuromorph.hardware.wires` only.  All quantities are SI: ohms, siemens, volts,
amperes, kelvin.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import ArrayLike, NDArray

from neuromorph import _validate as val
from neuromorph.errors import ConvergenceError
from neuromorph.hardware.wires import _multifrontal, _nested, _newton, _pcg_kernels
from neuromorph.hardware.wires.params import WireParams, check_wires

__all__ = ["MethodT", "cell_solution", "nodal_system", "node_voltages", "solve"]

MethodT = Literal["direct", "iterative"]

_METHODS = ("direct", "iterative")
#: Right-hand sides per SuperLU solve call when building a transfer matrix (memory bound).
_RHS_BLOCK = 64
#: Default iteration budget per input, ``_ITER_PER_LINE (n_rows + n_cols) + _ITER_BASE``:
#: generous, since a solve that runs out raises ConvergenceError rather than returning junk.
_ITER_PER_LINE = 20
_ITER_BASE = 200


# --------------------------------------------------------------------------- checks
def check_conductances(g: ArrayLike, name: str = "g") -> NDArray[np.float64]:
    """``g`` as a float64 array (n_rows, n_cols) of conductances >= 0, siemens; else raises."""
    g = val.array(name, g, ndim=2)
    if g.shape[0] < 1 or g.shape[1] < 1:
        raise ValueError(f"{name} must have at least one row and one column; got shape {g.shape}.")
    if (g < 0).any():
        bad = tuple(int(i) for i in np.argwhere(g < 0)[0])
        raise ValueError(
            f"{name} must be >= 0 (conductances in siemens); got {name}[{bad[0]}, {bad[1]}]={g[bad]:.6g}."
        )
    return g


def check_inputs(v: ArrayLike, n_rows: int) -> tuple[NDArray[np.float64], bool]:
    """``v`` as (batch, n_rows) volts, and whether it was one vector (n_rows,); else raises."""
    v = val.array("v", v, ndim=(1, 2))
    if v.shape[-1] != n_rows:
        raise ValueError(
            f"v must have shape (n_rows,) or (batch, n_rows) with n_rows={n_rows}; got shape {v.shape}."
        )
    return (v[None, :], True) if v.ndim == 1 else (v, False)


def _check_method(method: object) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}; got method={method!r}.")
    return method


# --------------------------------------------------------------------------- nodal system
class Layout:
    """Which nodes are unknowns (index >= 0) and which are pinned (-1), for given wires.

    Unknown row nodes come first, row by row; unknown column nodes follow, column by
    column, so every wire line is a contiguous run of indices (the iterative solver's
    preconditioner relies on this).  A pinned row node sits at its row's source voltage, a
    pinned column node at ground.
    """

    def __init__(self, n_rows: int, n_cols: int, w: WireParams) -> None:
        self.n_rows, self.n_cols, self.wires = n_rows, n_cols, w
        N, M = n_rows, n_cols
        row = np.full((N, M), -1, dtype=np.int64)
        if w.r_row_ohm > 0:
            j0 = 0 if w.r_driver_ohm > 0 else 1
            row[:, j0:] = np.arange(N * (M - j0)).reshape(N, M - j0)
            n_row = N * (M - j0)
        elif w.r_driver_ohm > 0:
            row[:, :] = np.arange(N)[:, None]
            n_row = N
        else:
            n_row = 0
        col = np.full((N, M), -1, dtype=np.int64)
        vg = w.sense == "virtual_ground"
        if w.r_col_ohm > 0:
            i1 = N - 1 if vg else N
            col[:i1, :] = n_row + np.arange(M * i1).reshape(M, i1).T
            n_col = M * i1
        elif not vg:
            col[:, :] = n_row + np.arange(M)[None, :]
            n_col = M
        else:
            n_col = 0
        self.row, self.col, self.n = row, col, n_row + n_col
        self._wire_edges = self._make_wire_edges()

    def _make_wire_edges(self):
        """Edges (a, source of a, b, conductance) of the wires, driver and sense.

        ``a``/``b`` are unknown indices or -1; a pinned ``a`` with source index >= 0 sits at
        that row's input voltage, with -1 at ground.  ``b`` is an unknown or ground.
        """
        w, N, M, row, col = self.wires, self.n_rows, self.n_cols, self.row, self.col
        parts = []
        ii = np.repeat(np.arange(N), M).reshape(N, M)
        if w.r_row_ohm > 0 and M > 1:
            a = row[:, :-1].ravel()
            parts.append(
                (
                    a,
                    np.where(a < 0, ii[:, :-1].ravel(), -1),
                    row[:, 1:].ravel(),
                    np.full(a.size, 1.0 / w.r_row_ohm),
                )
            )
        if w.r_driver_ohm > 0:
            b = row[:, 0]
            parts.append((np.full(N, -1), np.arange(N), b, np.full(N, 1.0 / w.r_driver_ohm)))
        if w.r_col_ohm > 0 and N > 1:
            a = col[:-1, :].ravel()
            parts.append((a, np.full(a.size, -1), col[1:, :].ravel(), np.full(a.size, 1.0 / w.r_col_ohm)))
        if w.sense == "resistor":
            b = col[N - 1, :]
            parts.append((np.full(M, -1), np.full(M, -1), b, np.full(M, 1.0 / w.r_sense_ohm)))
        if not parts:
            z = np.zeros(0, dtype=np.int64)
            return z, z, z, np.zeros(0)
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(4))

    def device_terms(
        self,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """Per device (flat index ``i * n_cols + j``): row unknown, its row, column unknown."""
        N, M = self.n_rows, self.n_cols
        return self.row.ravel(), np.repeat(np.arange(N), M), self.col.ravel(), np.tile(np.arange(M), N)

    def assemble(
        self, g: NDArray[np.float64]
    ) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix, NDArray[np.float64]]:
        """Nodal matrices for conductances ``g`` (n_rows, n_cols), siemens.

        Returns ``A`` (n, n) CSR, SPD, siemens; ``B`` (n, n_rows) CSR with ``A x = B v``;
        ``C`` (n_cols, n) CSR and ``D`` (n_cols, n_rows) dense with ``I = C x + D v``.
        """
        n, N, M = self.n, self.n_rows, self.n_cols
        r_u, r_i, c_u, c_j = self.device_terms()
        gf = g.ravel()
        wa, wsa, wb, wy = self._wire_edges
        a = np.concatenate([wa, r_u])
        sa = np.concatenate([wsa, np.where(r_u < 0, r_i, -1)])
        b = np.concatenate([wb, c_u])
        y = np.concatenate([wy, gf])
        both = (a >= 0) & (b >= 0)
        ia, ib = a >= 0, b >= 0
        diag = np.bincount(a[ia], y[ia], minlength=n) + np.bincount(b[ib], y[ib], minlength=n)
        rows = np.concatenate([a[both], b[both], np.arange(n)])
        cols = np.concatenate([b[both], a[both], np.arange(n)])
        vals = np.concatenate([-y[both], -y[both], diag])
        A = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
        A.sum_duplicates()
        A.sort_indices()
        src = ib & (a < 0) & (sa >= 0)
        B = sp.csr_matrix((y[src], (b[src], sa[src])), shape=(n, N))
        ru = r_u >= 0
        cu = c_u >= 0
        C = sp.csr_matrix(
            (
                np.concatenate([gf[ru], -gf[cu]]),
                (np.concatenate([c_j[ru], c_j[cu]]), np.concatenate([r_u[ru], c_u[cu]])),
            ),
            shape=(M, n),
        )
        D = np.zeros((M, N))
        np.add.at(D, (c_j[~ru], r_i[~ru]), gf[~ru])
        return A, B, C, D

    def nodes(
        self, x: NDArray[np.float64], vb: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Row and column node voltages (batch, n_rows, n_cols) from unknowns ``x`` (batch, n)."""
        row, col = self.row, self.col
        xr = x[:, np.maximum(row, 0)] if self.n else np.zeros((vb.shape[0],) + row.shape)
        xc = x[:, np.maximum(col, 0)] if self.n else np.zeros((vb.shape[0],) + col.shape)
        v_row = np.where(row[None] >= 0, xr, vb[:, :, None])
        v_col = np.where(col[None] >= 0, xc, 0.0)
        return v_row, v_col


def factorize_lu(A: sp.csr_matrix) -> spla.SuperLU:
    """Sparse LU of the SPD nodal matrix: symmetric minimum-degree ordering, no pivoting."""
    return spla.splu(
        A.tocsc(),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )


def lu_solve_blocks(lu: spla.SuperLU, rhs: NDArray[np.float64]) -> NDArray[np.float64]:
    """``A^-1 rhs`` for a dense (n, k) right-hand side, in blocks to bound memory."""
    out = np.empty_like(rhs)
    for s in range(0, rhs.shape[1], _RHS_BLOCK):
        out[:, s : s + _RHS_BLOCK] = lu.solve(np.ascontiguousarray(rhs[:, s : s + _RHS_BLOCK]))
    return out


def layout_transfer(
    layout: Layout, lu: spla.SuperLU | None, B: sp.csr_matrix, C: sp.csr_matrix, D: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Exact transfer matrix ``T`` (n_rows, n_cols), siemens, with ``I = v @ T``."""
    if layout.n == 0:
        return D.T.copy()
    N, M = layout.n_rows, layout.n_cols
    if N <= M:
        Z = lu_solve_blocks(lu, B.toarray())
        return np.asarray((C @ Z).T) + D.T
    Y = lu_solve_blocks(lu, C.T.toarray())
    return np.asarray(B.T @ Y) + D.T


def nodal_system(g: ArrayLike, wires: WireParams, *, temperature_k: float = 300.0) -> dict[str, Any]:
    """The nodal equations of a wired crossbar, for inspection and independent checks.

    The linear system of ohmic cells: ``wires.cell`` is not applied (nonlinear cells are
    solved by :func:`cell_solution`).

    Parameters
    ----------
    g : array_like of shape (n_rows, n_cols), siemens
    wires : WireParams
    temperature_k : float, kelvin

    Returns
    -------
    dict with ``A`` (n, n) sparse SPD, siemens; ``B`` (n, n_rows) sparse with ``A x = B v``;
    ``C`` (n_cols, n) sparse and ``D`` (n_cols, n_rows) with column currents
    ``I = C x + D v``; ``row_index`` / ``col_index`` (n_rows, n_cols) giving each node's
    unknown index or -1 when it is pinned (row nodes to their source, column nodes to 0 V).
    """
    g = check_conductances(g)
    w = check_wires(wires).at_temperature(val.temperature("temperature_k", temperature_k))
    layout = Layout(g.shape[0], g.shape[1], w)
    A, B, C, D = layout.assemble(g)
    return {"A": A, "B": B, "C": C, "D": D, "row_index": layout.row.copy(), "col_index": layout.col.copy()}


# --------------------------------------------------------------------------- solvers
def nested_applies(w: WireParams) -> bool:
    """Whether the nested-dissection solver applies: both wires resistive (no merged nodes)."""
    return w.r_row_ohm > 0 and w.r_col_ohm > 0


def nested_factor(
    g: NDArray[np.float64], w: WireParams, *, keep: bool, reuse: _multifrontal.Numeric | None = None
) -> _multifrontal.Numeric:
    """Port matrix of conductances ``g`` with wires ``w`` (already at temperature).

    ``reuse``: an earlier elimination of the same array to take over (see
    :func:`neuromorph.hardware.wires._multifrontal.factorize`).
    """
    resistor = w.sense == "resistor"
    sym = _nested.symbolic(g.shape[0], g.shape[1], w.r_driver_ohm > 0, resistor)
    y = _multifrontal.branch_conductances(
        g,
        1.0 / w.r_row_ohm,
        1.0 / w.r_col_ohm,
        1.0 / w.r_driver_ohm if w.r_driver_ohm > 0 else 0.0,
        1.0 / w.r_sense_ohm if resistor else 0.0,
    )
    return _multifrontal.factorize(sym, y, keep=keep, reuse=reuse)


def _iterative(A, rhs: NDArray[np.float64], tol: float, max_iter: int) -> NDArray[np.float64]:
    """PCG for every row of ``rhs`` (batch, n); raises ConvergenceError, never returns junk."""
    n = A.shape[0]
    diag = np.ascontiguousarray(A.diagonal())
    off = np.ascontiguousarray(A.diagonal(1)) if n > 1 else np.zeros(0)
    l_fac = np.empty(max(n - 1, 0))
    d_fac = np.empty(n)
    _pcg_kernels.tridiag_ldl(diag=diag, off=off, l_out=l_fac, d_out=d_fac)
    x = np.zeros_like(rhs)
    iters = np.zeros(rhs.shape[0], dtype=np.int64)
    _pcg_kernels.pcg_batch(
        indptr=A.indptr.astype(np.int64),
        indices=A.indices.astype(np.int64),
        data=A.data,
        l_fac=l_fac,
        d_fac=d_fac,
        b=rhs,
        x=x,
        tol=tol,
        max_iter=max_iter,
        iters_out=iters,
    )
    # Independent check of the final residual with scipy's own product.
    r = rhs - (A @ x.T).T
    bn = np.linalg.norm(rhs, axis=1)
    rel = np.where(bn > 0, np.linalg.norm(r, axis=1) / np.where(bn > 0, bn, 1.0), 0.0)
    bad = np.flatnonzero(~(rel <= tol))
    if bad.size:
        k = int(bad[0])
        raise ConvergenceError(
            f"iterative IR-drop solve must reach tol={tol:.3g}; got relative residual "
            f"{rel[k]:.3g} for input {k} after {int(iters[k])} iterations "
            f"(max_iter={max_iter}). Raise max_iter or tol, or use method='direct'."
        )
    return x


def _prepare(g, v, wires, temperature_k, method, tol, max_iter):
    g = check_conductances(g)
    vb, squeeze = check_inputs(v, g.shape[0])
    w = check_wires(wires)
    temperature_k = val.temperature("temperature_k", temperature_k)
    method = _check_method(method)
    if method != "direct" and not w.cell.is_linear:
        raise ValueError(
            f"method must be 'direct' for nonlinear cells (Newton's method); got method={method!r}, "
            f"cell kind {w.cell.kind!r}."
        )
    tol = val.positive("tol", tol)
    if max_iter is None:
        max_iter = _ITER_PER_LINE * (g.shape[0] + g.shape[1]) + _ITER_BASE
    max_iter = val.integer("max_iter", max_iter, minimum=1)
    return g, vb, squeeze, w.at_temperature(temperature_k), method, tol, max_iter


def _unknowns(layout, A, B, vb, method, tol, max_iter):
    rhs = np.ascontiguousarray((B @ vb.T).T)
    if layout.n == 0:
        return rhs
    if method == "direct":
        return np.ascontiguousarray(lu_solve_blocks(factorize_lu(A), np.ascontiguousarray(rhs.T)).T)
    return _iterative(A, rhs, tol, max_iter)


def cell_solution(
    g: NDArray[np.float64], vb: NDArray[np.float64], w: WireParams
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Column currents and node voltages of an array of nonlinear cells (Newton's method).

    Parameters
    ----------
    g : ndarray of shape (n_rows, n_cols), siemens (checked)
    vb : ndarray of shape (batch, n_rows), volts (checked)
    w : WireParams
        Already at temperature (``w.t_ref_k`` is the chip temperature, which also sets the
        1T1R transistor's ``k``); ``w.cell`` nonlinear.

    Returns
    -------
    currents : ndarray (batch, n_cols), amperes
        Current into each column's sense: the sum of that column's cell currents.
    v_row, v_col : ndarray (batch, n_rows, n_cols), volts

    Cost: one sparse LU of the small-signal nodal matrix (``2 n_rows n_cols`` unknowns,
    plus one per device for 1T1R), then chord steps for the whole batch at once (one
    batched triangular solve and one evaluation of the cells each; ~10-25 steps for the
    default cells at 0.2 V); inputs where the chord stalls (strongly nonlinear cells) get
    Newton's method, one sparse LU per step (~5-10 steps) per input.
    """
    layout = Layout(g.shape[0], g.shape[1], w)
    cell = w.cell
    k = cell.k_s(w.t_ref_k) if cell.kind == "one_t_one_r" else 0.0
    x, currents = _newton.solve_batch(_newton.network(layout, g, cell, k), vb)
    v_row, v_col = layout.nodes(np.ascontiguousarray(x[:, : layout.n]), vb)
    return currents, v_row, v_col


def solve(
    g: ArrayLike,
    v: ArrayLike,
    wires: WireParams,
    *,
    temperature_k: float = 300.0,
    method: MethodT = "direct",
    tol: float = 1e-12,
    max_iter: int | None = None,
) -> NDArray[np.float64]:
    """Column currents of a crossbar with wire resistance (IR drop).

    Parameters
    ----------
    g : array_like of shape (n_rows, n_cols), siemens
        Device conductances (>= 0) at ``temperature_k``.
    v : array_like of shape (n_rows,) or (batch, n_rows), volts
        Row input voltages (source side of the drivers).
    wires : WireParams
        Wire, driver and sense resistances, referenced to ``wires.t_ref_k``.
    temperature_k : float, default 300.0
        Chip temperature, kelvin; scales the wire and driver resistances.
    method : {"direct", "iterative"}, default "direct"
        ``"direct"``: exact elimination.  With both wires resistive, the nested-dissection
        elimination to the port matrix gives the transfer matrix, applied to the whole
        batch as one product; otherwise one sparse LU factorisation is shared by the batch
        (the transfer matrix is built from it when the batch is larger than
        ``min(n_rows, n_cols)``).  ``"iterative"``: line-preconditioned conjugate
        gradients in Numba, parallel over the batch.
    tol : float, default 1e-12
        Iterative only: required relative residual ``||b - A x|| / ||b||`` of the nodal
        equations (the true residual, checked after the iteration).
    max_iter : int, optional
        Iterative only: iteration budget per input (default ``20 (n_rows + n_cols) + 200``).

    Returns
    -------
    ndarray of shape (n_cols,) or (batch, n_cols), amperes
        Current into each column's sense.

    Raises
    ------
    ConvergenceError
        The iterative method did not reach ``tol`` within ``max_iter``.
    """
    g, vb, squeeze, w, method, tol, max_iter = _prepare(g, v, wires, temperature_k, method, tol, max_iter)
    if not w.cell.is_linear:
        out = cell_solution(g, vb, w)[0]
        return out[0] if squeeze else out
    if method == "direct" and nested_applies(w):
        T = _multifrontal.transfer(nested_factor(g, w, keep=False))
        with _multifrontal.one_blas_thread():
            out = vb @ T
        return out[0] if squeeze else out
    layout = Layout(g.shape[0], g.shape[1], w)
    A, B, C, D = layout.assemble(g)
    if method == "direct" and layout.n and vb.shape[0] > min(g.shape):
        out = vb @ layout_transfer(layout, factorize_lu(A), B, C, D)
    else:
        x = _unknowns(layout, A, B, vb, method, tol, max_iter)
        out = (C @ x.T).T + vb @ D.T if layout.n else vb @ D.T
    return out[0] if squeeze else out


def node_voltages(
    g: ArrayLike,
    v: ArrayLike,
    wires: WireParams,
    *,
    temperature_k: float = 300.0,
    method: MethodT = "direct",
    tol: float = 1e-12,
    max_iter: int | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Voltages of every row-line and column-line node (same arguments as :func:`solve`).

    Returns
    -------
    v_row, v_col : ndarray of shape (n_rows, n_cols) or (batch, n_rows, n_cols), volts
        ``v_row[..., i, j]`` is the row wire at cell ``(i, j)``, ``v_col[..., i, j]`` the
        column wire there; pinned nodes carry their source voltage or 0 V.
    """
    g, vb, squeeze, w, method, tol, max_iter = _prepare(g, v, wires, temperature_k, method, tol, max_iter)
    if not w.cell.is_linear:
        _, v_row, v_col = cell_solution(g, vb, w)
    elif method == "direct" and nested_applies(w):
        num = nested_factor(g, w, keep=True)
        x = _multifrontal.node_values(num, vb)
        ro, co = num.sym.cell_orders()
        v_row, v_col = x[:, ro], x[:, co]
    else:
        layout = Layout(g.shape[0], g.shape[1], w)
        A, B, _, _ = layout.assemble(g)
        x = _unknowns(layout, A, B, vb, method, tol, max_iter)
        v_row, v_col = layout.nodes(x, vb)
    return (v_row[0], v_col[0]) if squeeze else (v_row, v_col)
