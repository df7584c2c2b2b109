"""Wire resistance and IR drop in a crossbar (layer 1: hardware).

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
:meth:`WireParams.at_temperature`; conductances are taken as given (the device's own
temperature law lives in :mod:`neuromorph.hardware.devices`).

Because the devices are ohmic, the wired array is an exact linear map ``I = v @ T``;
:class:`WiredArray` builds ``T`` once per conductance state and keeps it exact under
conductance updates by a low-rank (Woodbury) correction.

Solvers.  The exact ("direct") solution, when both wires are resistive, eliminates the
interior nodes in a nested-dissection order of the cell grid (:mod:`neuromorph.hardware.wires._nested`):
what remains is the network seen from its row sources and column outputs, from which ``T``
is read off, so one elimination serves a single input, a batch and a transfer matrix
alike.  Its pivots are formed from row sums, so nothing cancels and ``T`` is accurate to a
few units in the last place.  Layouts with a zero wire resistance (merged nodes) use a
sparse LU of the nodal matrix (SuperLU) instead.  ``method="iterative"`` is a
line-preconditioned conjugate gradient.

All quantities are SI: ohms, siemens, volts, amperes, kelvin.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from neuromorph import _validate as val
from neuromorph.errors import ConvergenceError
from neuromorph.hardware.wires import _kernels as wk
from neuromorph.hardware.wires import _nested

__all__ = ["WireParams", "WiredArray", "node_voltages", "solve", "nodal_system"]

SenseT = Literal["virtual_ground", "resistor"]
MethodT = Literal["direct", "iterative"]

_SENSES = ("virtual_ground", "resistor")
_METHODS = ("direct", "iterative")
#: Right-hand sides per SuperLU solve call when building a transfer matrix (memory bound).
_RHS_BLOCK = 64
#: Reads with at most this many multiply-adds run BLAS on one thread.  Measured on 2 cores:
#: a multi-threaded OpenBLAS product leaves its worker spinning for ~0.1 s, and a parallel
#: elimination started meanwhile runs at one core's speed; a small product loses nothing.
_ONE_THREAD_PRODUCT = 1 << 22


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class WireParams:
    """Wire, driver and sense resistances of one crossbar.

    Parameters
    ----------
    r_row_ohm : float
        Resistance of one row-wire segment between neighbouring cells, ohms, >= 0.
        NeuroSim's wire table gives about 1.5 ohm at 32 nm, 2.5 ohm at 22 nm and 5 ohm at
        14 nm per cell pitch.
    r_col_ohm : float
        Resistance of one column-wire segment, ohms, >= 0.
    r_driver_ohm : float, default 0.0
        Output resistance of each row driver (DAC), ohms, >= 0.
    sense : {"virtual_ground", "resistor"}, default "virtual_ground"
        Column termination: an ideal virtual ground (0 V) or a resistor to ground.
    r_sense_ohm : float, default 0.0
        Sense resistance, ohms; must be > 0 when ``sense="resistor"``, ignored otherwise.
    tcr_per_k : float, default 0.0039
        Linear temperature coefficient of the wire (and driver) resistance, 1/K, at
        ``t_ref_k``.  Copper: about 0.39 %/K near room temperature (CRC Handbook of
        Chemistry and Physics, "Electrical resistivity of pure metals", after R. A. Matula,
        J. Phys. Chem. Ref. Data 8, 1147 (1979): 1.725 uOhm cm at 293 K, 1.772 at 300 K,
        2.475 at 400 K, i.e. 0.0039-0.0040 /K).
    t_ref_k : float, default 300.0
        Temperature at which the resistances above hold, kelvin.
    """

    r_row_ohm: float
    r_col_ohm: float
    r_driver_ohm: float = 0.0
    sense: SenseT = "virtual_ground"
    r_sense_ohm: float = 0.0
    tcr_per_k: float = 0.0039
    t_ref_k: float = 300.0

    def __post_init__(self) -> None:
        for name in ("r_row_ohm", "r_col_ohm", "r_driver_ohm", "r_sense_ohm"):
            object.__setattr__(self, name, val.non_negative(name, getattr(self, name)))
        if not isinstance(self.sense, str):
            raise TypeError(f"sense must be a string; got {type(self.sense).__name__}.")
        if self.sense not in _SENSES:
            raise ValueError(f"sense must be one of {_SENSES}; got sense={self.sense!r}.")
        if self.sense == "resistor" and not self.r_sense_ohm > 0:
            raise ValueError(
                f"r_sense_ohm must be > 0 when sense='resistor'; got r_sense_ohm={self.r_sense_ohm!r}."
            )
        object.__setattr__(self, "tcr_per_k", val.real("tcr_per_k", self.tcr_per_k))
        object.__setattr__(self, "t_ref_k", val.temperature("t_ref_k", self.t_ref_k))

    def scale_at(self, temperature_k: float) -> float:
        """Resistance factor ``1 + tcr_per_k (T - t_ref_k)`` at ``temperature_k`` (> 0)."""
        temperature_k = val.temperature("temperature_k", temperature_k)
        scale = 1.0 + self.tcr_per_k * (temperature_k - self.t_ref_k)
        if not scale > 0:
            raise ValueError(
                "temperature_k must keep 1 + tcr_per_k (T - t_ref_k) > 0; "
                f"got temperature_k={temperature_k:.6g}, tcr_per_k={self.tcr_per_k:.6g}, "
                f"t_ref_k={self.t_ref_k:.6g}."
            )
        return scale

    def at_temperature(self, temperature_k: float) -> WireParams:
        """Wire and driver resistances at ``temperature_k`` (kelvin).

        ``R(T) = R(t_ref) (1 + tcr_per_k (T - t_ref))``; the sense resistor (a separate,
        typically temperature-compensated component) keeps its value.  The result is
        referenced to ``T`` (its ``t_ref_k`` is ``T`` and its coefficient is rescaled to
        ``tcr_per_k / (1 + tcr_per_k (T - t_ref))``), so chained calls compose exactly:
        ``w.at_temperature(a).at_temperature(b)`` equals ``w.at_temperature(b)``.
        """
        temperature_k = val.temperature("temperature_k", temperature_k)
        if temperature_k == self.t_ref_k:
            return self
        s = self.scale_at(temperature_k)
        return replace(
            self,
            r_row_ohm=self.r_row_ohm * s,
            r_col_ohm=self.r_col_ohm * s,
            r_driver_ohm=self.r_driver_ohm * s,
            tcr_per_k=self.tcr_per_k / s,
            t_ref_k=temperature_k,
        )


# --------------------------------------------------------------------------- checks
def _check_g(g, name: str = "g") -> NDArray[np.float64]:
    g = val.array(name, g, ndim=2)
    if g.shape[0] < 1 or g.shape[1] < 1:
        raise ValueError(f"{name} must have at least one row and one column; got shape {g.shape}.")
    if (g < 0).any():
        bad = tuple(int(i) for i in np.argwhere(g < 0)[0])
        raise ValueError(
            f"{name} must be >= 0 (conductances in siemens); got {name}[{bad[0]}, {bad[1]}]={g[bad]:.6g}."
        )
    return g


def _check_v(v, n_rows: int) -> tuple[NDArray[np.float64], bool]:
    v = val.array("v", v, ndim=(1, 2))
    if v.shape[-1] != n_rows:
        raise ValueError(
            f"v must have shape (n_rows,) or (batch, n_rows) with n_rows={n_rows}; got shape {v.shape}."
        )
    return (v[None, :], True) if v.ndim == 1 else (v, False)


def _check_wires(wires) -> WireParams:
    if not isinstance(wires, WireParams):
        raise TypeError(f"wires must be a WireParams; got {type(wires).__name__}.")
    return wires


def _check_method(method) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}; got method={method!r}.")
    return method


# --------------------------------------------------------------------------- nodal system
class _Layout:
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

    def device_terms(self):
        """Per device (flat index ``i * n_cols + j``): row unknown, its row, column unknown."""
        N, M = self.n_rows, self.n_cols
        return self.row.ravel(), np.repeat(np.arange(N), M), self.col.ravel(), np.tile(np.arange(M), N)

    def assemble(self, g: NDArray[np.float64]):
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

    def nodes(self, x: NDArray[np.float64], vb: NDArray[np.float64]):
        """Row and column node voltages (batch, n_rows, n_cols) from unknowns ``x`` (batch, n)."""
        row, col = self.row, self.col
        xr = x[:, np.maximum(row, 0)] if self.n else np.zeros((vb.shape[0],) + row.shape)
        xc = x[:, np.maximum(col, 0)] if self.n else np.zeros((vb.shape[0],) + col.shape)
        v_row = np.where(row[None] >= 0, xr, vb[:, :, None])
        v_col = np.where(col[None] >= 0, xc, 0.0)
        return v_row, v_col


def _factorize(A: sp.csr_matrix):
    """Sparse LU of the SPD nodal matrix: symmetric minimum-degree ordering, no pivoting."""
    return spla.splu(
        A.tocsc(),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )


def _lu_solve_blocks(lu, rhs: NDArray[np.float64]) -> NDArray[np.float64]:
    """``A^-1 rhs`` for a dense (n, k) right-hand side, in blocks to bound memory."""
    out = np.empty_like(rhs)
    for s in range(0, rhs.shape[1], _RHS_BLOCK):
        out[:, s : s + _RHS_BLOCK] = lu.solve(np.ascontiguousarray(rhs[:, s : s + _RHS_BLOCK]))
    return out


def _transfer(layout: _Layout, lu, B, C, D) -> NDArray[np.float64]:
    """Exact transfer matrix ``T`` (n_rows, n_cols), siemens, with ``I = v @ T``."""
    if layout.n == 0:
        return D.T.copy()
    N, M = layout.n_rows, layout.n_cols
    if N <= M:
        Z = _lu_solve_blocks(lu, B.toarray())
        return np.asarray((C @ Z).T) + D.T
    Y = _lu_solve_blocks(lu, C.T.toarray())
    return np.asarray(B.T @ Y) + D.T


def nodal_system(g, wires: WireParams, *, temperature_k: float = 300.0):
    """The nodal equations of a wired crossbar, for inspection and independent checks.

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
    g = _check_g(g)
    w = _check_wires(wires).at_temperature(val.temperature("temperature_k", temperature_k))
    layout = _Layout(g.shape[0], g.shape[1], w)
    A, B, C, D = layout.assemble(g)
    return {"A": A, "B": B, "C": C, "D": D, "row_index": layout.row.copy(), "col_index": layout.col.copy()}


# --------------------------------------------------------------------------- solvers
def _nested_applies(w: WireParams) -> bool:
    """Whether the nested-dissection solver applies: both wires resistive (no merged nodes)."""
    return w.r_row_ohm > 0 and w.r_col_ohm > 0


def _nested_factor(
    g: NDArray[np.float64], w: WireParams, *, keep: bool, reuse: _nested.Numeric | None = None
) -> _nested.Numeric:
    """Port matrix of conductances ``g`` with wires ``w`` (already at temperature).

    ``reuse``: an earlier elimination of the same array to take over (see
    :func:`neuromorph.hardware.wires._nested.factorize`).
    """
    resistor = w.sense == "resistor"
    sym = _nested.symbolic(g.shape[0], g.shape[1], w.r_driver_ohm > 0, resistor)
    y = _nested.branch_conductances(
        g,
        1.0 / w.r_row_ohm,
        1.0 / w.r_col_ohm,
        1.0 / w.r_driver_ohm if w.r_driver_ohm > 0 else 0.0,
        1.0 / w.r_sense_ohm if resistor else 0.0,
    )
    return _nested.factorize(sym, y, keep=keep, reuse=reuse)


def _iterative(A, rhs: NDArray[np.float64], tol: float, max_iter: int) -> NDArray[np.float64]:
    """PCG for every row of ``rhs`` (batch, n); raises ConvergenceError, never returns junk."""
    n = A.shape[0]
    diag = np.ascontiguousarray(A.diagonal())
    off = np.ascontiguousarray(A.diagonal(1)) if n > 1 else np.zeros(0)
    l_fac = np.empty(max(n - 1, 0))
    d_fac = np.empty(n)
    wk.tridiag_ldl(diag=diag, off=off, l_out=l_fac, d_out=d_fac)
    x = np.zeros_like(rhs)
    iters = np.zeros(rhs.shape[0], dtype=np.int64)
    resid = np.zeros(rhs.shape[0])
    wk.pcg_batch(
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
        resid_out=resid,
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
    g = _check_g(g)
    vb, squeeze = _check_v(v, g.shape[0])
    w = _check_wires(wires)
    temperature_k = val.temperature("temperature_k", temperature_k)
    method = _check_method(method)
    tol = val.positive("tol", tol)
    if max_iter is None:
        max_iter = 20 * (g.shape[0] + g.shape[1]) + 200
    max_iter = val.integer("max_iter", max_iter, minimum=1)
    return g, vb, squeeze, w.at_temperature(temperature_k), method, tol, max_iter


def _unknowns(layout, A, B, vb, method, tol, max_iter):
    rhs = np.ascontiguousarray((B @ vb.T).T)
    if layout.n == 0:
        return rhs
    if method == "direct":
        return np.ascontiguousarray(_lu_solve_blocks(_factorize(A), np.ascontiguousarray(rhs.T)).T)
    return _iterative(A, rhs, tol, max_iter)


def solve(
    g,
    v,
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
    if method == "direct" and _nested_applies(w):
        T = _nested.transfer(_nested_factor(g, w, keep=False))
        with _nested.one_blas_thread():
            out = vb @ T
        return out[0] if squeeze else out
    layout = _Layout(g.shape[0], g.shape[1], w)
    A, B, C, D = layout.assemble(g)
    if method == "direct" and layout.n and vb.shape[0] > min(g.shape):
        out = vb @ _transfer(layout, _factorize(A), B, C, D)
    else:
        x = _unknowns(layout, A, B, vb, method, tol, max_iter)
        out = (C @ x.T).T + vb @ D.T if layout.n else vb @ D.T
    return out[0] if squeeze else out


def node_voltages(
    g,
    v,
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
    if method == "direct" and _nested_applies(w):
        num = _nested_factor(g, w, keep=True)
        x = _nested.node_values(num, vb)
        ro, co = num.sym.cell_orders()
        v_row, v_col = x[:, ro], x[:, co]
    else:
        layout = _Layout(g.shape[0], g.shape[1], w)
        A, B, _, _ = layout.assemble(g)
        x = _unknowns(layout, A, B, vb, method, tol, max_iter)
        v_row, v_col = layout.nodes(x, vb)
    return (v_row[0], v_col[0]) if squeeze else (v_row, v_col)


# --------------------------------------------------------------------------- WiredArray
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
        self, g, wires: WireParams, *, temperature_k: float = 300.0, max_low_rank: int | None = None
    ) -> None:
        g = _check_g(g)
        self._wires = _check_wires(wires)
        self._temperature_k = val.temperature("temperature_k", temperature_k)
        if max_low_rank is None:
            max_low_rank = min(g.shape) if _nested_applies(self._wires) else max(1, min(g.shape) // 4)
        self.max_low_rank = val.integer("max_low_rank", max_low_rank, minimum=0)
        self._rebuild(g)

    # -- state
    @property
    def shape(self) -> tuple[int, int]:
        """``(n_rows, n_cols)``."""
        return self._g.shape

    @property
    def wires(self) -> WireParams:
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
        """Transfer matrix ``T`` (n_rows, n_cols), siemens (a read-only view)."""
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
        self.last_update = "rebuild"
        self._nested = _nested_applies(w)
        self._lowrank: _nested.LowRank | None = None
        if self._nested:
            # The previous elimination is taken over: leaves no changed device touches are
            # reused.  (Its low-rank state, built on it, is dropped with it.)
            num = _nested_factor(g, w, keep=keep, reuse=getattr(self, "_num", None))
            self._num = num
            self._lowrank = _nested.LowRank(num) if keep else None
            self._T_base = _nested.transfer(num)
            self._T = self._T_base.copy()
            return
        self._layout = _Layout(N, M, w)
        A, B, C, D = self._layout.assemble(g)
        self._B, self._C, self._D = B, C, D
        self._lu = _factorize(A) if self._layout.n else None
        self._T_base = _transfer(self._layout, self._lu, B, C, D)
        self._T = self._T_base.copy()
        self._chb = self._T_base.T - D  # C H B at the base state, (n_cols, n_rows)
        self._cache_idx: dict[int, int] = {}
        self._P = np.zeros((self._layout.n, 0))

    # -- reads
    def currents(self, v) -> NDArray[np.float64]:
        """Column currents for inputs ``v`` (n_rows,) or (batch, n_rows), volts -> amperes.

        One product ``v @ T``; the dtype of ``v`` is kept when it is float32.  Small products
        run BLAS on one thread (see ``_ONE_THREAD_PRODUCT``).
        """
        arr = np.asarray(v)
        dtype = np.float32 if arr.dtype == np.float32 else np.float64
        vb, squeeze = _check_v(arr, self._g.shape[0])
        T = self._T if dtype == np.float64 else self._T.astype(np.float32)
        if vb.shape[0] * T.size <= _ONE_THREAD_PRODUCT:
            with _nested.one_blas_thread():
                out = vb.astype(dtype, copy=False) @ T
        else:
            out = vb.astype(dtype, copy=False) @ T
        return out[0] if squeeze else out

    # -- writes
    def update(self, g_new) -> None:
        """Set new conductances and keep ``T`` exact.

        Devices whose conductance differs from the last factorised state are handled by a
        Woodbury correction while there are at most ``max_low_rank`` of them; beyond that
        the nodal equations are eliminated afresh.  After a step that changed more than
        ``max_low_rank`` devices the fresh elimination is not kept for later low-rank
        updates (dense training steps come in runs); the next small step then eliminates
        afresh once more and keeps it.
        """
        g_new = _check_g(g_new, "g_new")
        if g_new.shape != self._g.shape:
            raise ValueError(f"g_new must have shape {self._g.shape}; got shape {g_new.shape}.")
        delta = (g_new - self._g_base).ravel()
        changed = np.flatnonzero(delta != 0.0)
        if changed.size == 0:
            self._g = g_new.copy()
            self._T = self._T_base.copy()
            self.last_update = "unchanged"
            return
        if self._nested:
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
            P_new = _lu_solve_blocks(self._lu, U_new)
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
