"""Nonlinear cells: the nodal equations of a wired crossbar solved by chord/Newton steps (layer 1).

Private to :mod:`neuromorph.hardware.wires` (called from
:func:`neuromorph.hardware.wires.solve.cell_solution`).  The unknowns are those of the
linear array (:class:`~neuromorph.hardware.wires.solve.Layout`: row-line and column-line
nodes that no zero resistance pins) plus, for 1T1R cells, one internal node per device
with ``g > 0`` (a device with ``g = 0`` is open and leaves its transistor floating, so both
are left out).  The residual is Kirchhoff's current law at every unknown node,

    F(X) = A_w X - B V + sum over branch sets of K i(Sa X + pa, Sb X + pb),

with ``A_w``, ``B`` the wire/driver/sense part of the linear nodal matrices, ``Sa``/``Sb``
picking each branch's terminals among the unknowns (``pa``/``pb``: pinned terminals at
their row input or at ground), ``K = Sa^T - Sb^T`` the incidence.  ``X`` holds a whole
batch of inputs as columns.

Two iterations, one sparsity:

* **chord** (whole batch at once): ``X <- X - J0^-1 F(X)`` with ``J0`` the Jacobian at zero
  bias, i.e. the small-signal linear array, factorised once (SuperLU) and reused for every
  step and every input.  It converges linearly at the rate of the cells' departure from
  their small-signal conductance (a few % for the default sinh cell at 0.2 V, ~15 % for the
  default 1T1R), which is cheap: one batched triangular solve per step.
* **Newton** (per input, for inputs where the chord stalls: strongly nonlinear cells): one
  sparse LU of the full Jacobian per step, steps halved while they raise the residual
  norm, stopping :data:`_NEWTON_EXTRA` step after the update falls below tolerance
  (quadratic convergence leaves rounding error only).

SI units: siemens, volts, amperes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from neuromorph.errors import ConvergenceError
from neuromorph.hardware.wires.cells import CellModel, mos_current, sinh_current

#: Newton iteration budget per input vector (quadratic convergence needs ~5-10 from 0 V).
MAX_ITER = 60
#: Chord iteration budget per batch; inputs not converged by then go to Newton.
CHORD_MAX_ITER = 80
#: A chord step that shrinks the update by less than this factor counts as stalling.
_CHORD_STALL = 0.7
#: Converged when max |dx| <= tol * max(|v|, 1 V): chord (linear rate r <~ 0.2, so the error
#: left is ~r tol) and Newton (one more step after it: error ~tol^2).
_CHORD_TOL = 1e-13
_NEWTON_TOL = 1e-10
_NEWTON_EXTRA = 1
#: Largest number of step halvings per Newton step (damping far from the solution).
_MAX_HALVINGS = 30


class Branches(NamedTuple):
    """One set of two-terminal branches: ``kind`` ("resistor", "sinh" or "mos").

    ``Sa``, ``Sb`` (n_br, n_tot) pick the unknown terminals, ``K`` (n_tot, n_br) is the
    incidence (current leaves ``a``, enters ``b``), ``Pa`` (n_br, n_rows) puts a pinned
    ``a`` at its row input (pinned ``b`` terminals are at ground), ``g`` (n_br,) siemens.
    """

    kind: str
    Sa: sp.csr_matrix
    Sb: sp.csr_matrix
    K: sp.csr_matrix
    Pa: sp.csr_matrix
    g: NDArray[np.float64]


class CellNetwork(NamedTuple):
    """The nonlinear nodal system of one array: wires, branch sets, column readout.

    ``A_w`` (n_tot, n_tot), ``B`` (n_tot, n_rows): wires, driver and sense only;
    ``branches``: the cell branch sets; ``readout`` (n_cols, n_br of the last set) sums the
    branch currents that enter each column; ``n``: unknowns of the linear layout.
    """

    A_w: sp.csr_matrix
    B: sp.csr_matrix
    branches: tuple[Branches, ...]
    readout: sp.csr_matrix
    n: int
    cell: CellModel
    k: float


def _select(u: NDArray[np.int64], n_tot: int) -> sp.csr_matrix:
    ok = np.flatnonzero(u >= 0)
    return sp.csr_matrix((np.ones(ok.size), (ok, u[ok])), shape=(u.size, n_tot))


def _branches(kind, a, b, a_row, g, n_tot, n_rows) -> Branches:
    Sa, Sb = _select(a, n_tot), _select(b, n_tot)
    pinned = np.flatnonzero((a < 0) & (a_row >= 0))
    Pa = sp.csr_matrix((np.ones(pinned.size), (pinned, a_row[pinned])), shape=(a.size, n_rows))
    return Branches(kind, Sa, Sb, (Sa.T - Sb.T).tocsr(), Pa, g)


def network(layout, g: NDArray[np.float64], cell: CellModel, k: float) -> CellNetwork:
    """The nonlinear system of ``layout`` (a ``Layout``) with devices ``g`` and ``cell``."""
    A, B, _, _ = layout.assemble(np.zeros_like(g))
    r_u, r_i, c_u, c_j = layout.device_terms()
    cells = np.flatnonzero(g.ravel() > 0)
    n, N, M = layout.n, layout.n_rows, layout.n_cols
    n_mid = cells.size if cell.kind == "one_t_one_r" else 0
    n_tot = n + n_mid
    A, B = A.tocoo(), B.tocoo()
    A_w = sp.csr_matrix((A.data, (A.row, A.col)), shape=(n_tot, n_tot))
    B_w = sp.csr_matrix((B.data, (B.row, B.col)), shape=(n_tot, N))
    ra, ri, cb, gc = r_u[cells], r_i[cells], c_u[cells], g.ravel()[cells]
    none = np.full(cells.size, -1)
    if cell.kind == "nonlinear":
        sets = (_branches("sinh", ra, cb, ri, gc, n_tot, N),)
    else:
        mid = n + np.arange(n_mid)
        sets = (
            _branches("resistor", ra, mid, ri, gc, n_tot, N),
            _branches("mos", mid, cb, none, gc, n_tot, N),
        )
    readout = sp.csr_matrix((np.ones(cells.size), (c_j[cells], np.arange(cells.size))), shape=(M, cells.size))
    return CellNetwork(A_w, B_w, sets, readout, n, cell, k)


def _branch(net: CellNetwork, br: Branches, X, V):
    """Currents (n_br, batch) of one branch set and their derivatives to ``va``, ``vb``."""
    va = br.Sa @ X + br.Pa @ V
    vb = br.Sb @ X
    g = br.g[:, None]
    if br.kind == "resistor":
        ones = np.broadcast_to(g, va.shape)
        return g * (va - vb), ones, -ones
    if br.kind == "sinh":
        i, d = sinh_current(va - vb, g, net.cell.v0_v)
        return i, d, -d
    return mos_current(va, vb, net.cell.v_gate_v, net.cell.v_th_v, net.k)


def residual(net: CellNetwork, X: NDArray[np.float64], V: NDArray[np.float64]) -> NDArray[np.float64]:
    """KCL residual (n_tot, batch), amperes, at node voltages ``X`` for inputs ``V`` (n_rows, batch)."""
    F = net.A_w @ X - net.B @ V
    for br in net.branches:
        F += br.K @ _branch(net, br, X, V)[0]
    return F


def jacobian(net: CellNetwork, x: NDArray[np.float64], v: NDArray[np.float64]) -> sp.csc_matrix:
    """Jacobian of :func:`residual` at one state ``x`` (n_tot,), input ``v`` (n_rows,)."""
    J = net.A_w.copy()
    for br in net.branches:
        _, ga, gb = _branch(net, br, x[:, None], v[:, None])
        J = J + br.K @ sp.diags(ga[:, 0]) @ br.Sa + br.K @ sp.diags(gb[:, 0]) @ br.Sb
    return J.tocsc()


def _factor(J: sp.csc_matrix, spd: bool = False):
    """SuperLU of ``J``; ``spd``: the symmetric positive definite small-signal matrix, so
    no pivoting and a symmetric ordering (far less fill than partial pivoting)."""
    if spd:
        return spla.splu(
            J, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True}
        )
    return spla.splu(J, permc_spec="MMD_AT_PLUS_A")


def _chord(net: CellNetwork, V: NDArray[np.float64], tol: NDArray[np.float64]):
    """Chord iterations for the whole batch; returns ``X`` and which inputs converged."""
    n_tot, batch = net.A_w.shape[0], V.shape[1]
    X = np.zeros((n_tot, batch))
    done = np.zeros(batch, dtype=bool)
    if n_tot == 0:
        return X, ~done
    lu0 = _factor(jacobian(net, np.zeros(n_tot), np.zeros(V.shape[0])), spd=True)
    live = np.ones(batch, dtype=bool)  # still iterating (neither converged nor stalled)
    last = np.full(batch, np.inf)
    for it in range(CHORD_MAX_ITER):
        cols = np.flatnonzero(live)
        if cols.size == 0:
            break
        dX = -lu0.solve(np.ascontiguousarray(residual(net, X[:, cols], V[:, cols])))
        X[:, cols] += dX
        step = np.max(np.abs(dX), axis=0)
        conv = step <= tol[cols]
        stall = ~np.isfinite(step) | ((it >= 2) & (step > _CHORD_STALL * last[cols]))
        done[cols[conv]] = True
        live[cols[conv | stall]] = False
        last[cols] = step
    return X, done


def _newton(net: CellNetwork, v: NDArray[np.float64], tol: float) -> NDArray[np.float64]:
    """Damped Newton iteration for one input ``v`` (n_rows,) from 0 V; node voltages (n_tot,)."""
    x = np.zeros(net.A_w.shape[0])
    V = v[:, None]
    f = residual(net, x[:, None], V)[:, 0]
    extra, step, dx = -1, 1.0, np.zeros_like(x)
    for _ in range(MAX_ITER):
        dx = -_factor(jacobian(net, x, v)).solve(f)
        norm, step = np.linalg.norm(f), 1.0
        f_new = residual(net, (x + dx)[:, None], V)[:, 0]
        for _ in range(_MAX_HALVINGS):
            if not np.linalg.norm(f_new) > norm or np.max(np.abs(dx)) * step <= tol:
                break
            step *= 0.5
            f_new = residual(net, (x + step * dx)[:, None], V)[:, 0]
        x, f = x + step * dx, f_new
        if not np.all(np.isfinite(x)):
            break
        if extra >= 0:
            extra += 1
        elif np.max(np.abs(step * dx)) <= tol:
            extra = 0
        if extra >= _NEWTON_EXTRA:
            return x
    raise ConvergenceError(
        f"Newton's method on the nonlinear cells must converge within {MAX_ITER} steps; got "
        f"max |dx| = {np.max(np.abs(step * dx)):.3g} V at the last step (tolerance {tol:.3g} V)."
    )


def solve_batch(net: CellNetwork, vb: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Node voltages (batch, n_tot) and column currents (batch, n_cols) for inputs ``vb`` (batch, n_rows).

    Raises ConvergenceError when an input that the chord iteration could not settle does
    not converge under Newton's method within :data:`MAX_ITER` steps either.
    """
    V = np.ascontiguousarray(vb.T)
    scale = np.maximum(np.max(np.abs(V), axis=0, initial=0.0), 1.0)
    X, done = _chord(net, V, _CHORD_TOL * scale)
    for b in np.flatnonzero(~done):
        X[:, b] = _newton(net, V[:, b], _NEWTON_TOL * scale[b])
    last = net.branches[-1]
    currents = net.readout @ _branch(net, last, X, V)[0]
    return X.T, np.asarray(currents).T
