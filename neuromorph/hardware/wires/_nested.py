"""Nested-dissection multifrontal solver for the wired crossbar (layer 1 support).

Contract
--------
For a crossbar whose row and column wires both have positive resistance, this module
computes the exact *port matrix* of the network (a direct elimination, no iteration).  The
nodes of :mod:`neuromorph.hardware.wires.solve`' model -- a row-wire and a column-wire node per cell,
plus one source node per row when there is a driver resistance -- are split into *ports*
and *interior* nodes.  The ports are the row sources (the source node, or the first row
node when the driver resistance is zero), which sit at the input voltages, and the column
outputs, which sit at 0 V: the bottom column nodes under a virtual ground, or, with a sense
resistor, one ground node per column behind its resistor (the bottom column nodes are then
interior).  Eliminating the interior from the nodal matrix ``K`` leaves

    ``Y = K_PP - K_PI K_II^-1 K_IP``   (siemens),

and the current into column ``j``'s sense for inputs ``v`` is ``-sum_i Y[out_j, src_i] v_i``:
the transfer matrix is ``T = -Y[src, out]`` (:func:`transfer`), with no further solve.
``Y`` is the Kron reduction of the network onto its terminals (F. Dorfler and F. Bullo,
IEEE Trans. Circuits Syst. I 60, 150 (2013)).

Method
------
A multifrontal Cholesky elimination (I. S. Duff and J. K. Reid, ACM Trans. Math. Softw. 9,
302 (1983)) in a geometric nested-dissection order of the cell grid (A. George, SIAM J.
Numer. Anal. 10, 345 (1973)).  A vertical cut at cell column ``j`` separates left from
right by the row-wire nodes of that column alone (its column-wire nodes join the left
part); a horizontal cut at row ``i`` by the column-wire nodes of that row.  Every separator
is one wire-line segment; the ports are never eliminated, so they stay on the boundary of
every front that touches the left or bottom edge.  The ordering, the elimination tree and
every index map depend only on the shape, on whether there is a driver resistance and on
the sense; they are computed once and cached (:func:`symbolic`).  The numeric phase
(:func:`factorize`) is one Numba kernel,
:func:`neuromorph.hardware.wires._kernels.multifrontal_factor`: dense frontal matrices, small ones
by loops, large ones in panels whose trailing updates go to BLAS (held to one thread);
independent subtrees are shared between threads as they come free, but every front is
computed by one thread in a fixed order, so the bits do not depend on the thread count.

Pivots are taken from row sums (every row of a Schur complement of this matrix sums to
zero on the interior), so nothing cancels and each entry of ``T`` has a relative error of
a few ulps -- measured about 100 times closer to a long-double reference than a sparse LU
of the same system.  Blocks of ``Y`` nothing reads (source x source, output x output) are
not formed.

On request the pivot rows of every front are kept (``R`` with ``F11 = R^T R`` and
``W = R^-T F12``): they give every node voltage by one top-down pass
(:func:`node_values`) and, for a few changed conductances, the exact low-rank update of
``T`` (:class:`LowRank`, used by :class:`neuromorph.hardware.wires.solve.WiredArray`).

Units: conductances in siemens, voltages in volts, currents in amperes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from neuromorph.hardware.wires import _kernels as wk

#: Largest number of nodes in a leaf region of the dissection.
LEAF_NODES = 12
#: Fronts with ``s * b**2`` at least this large are eliminated in panels with BLAS updates.
BLAS_WORK = 300_000
#: Pivots per panel in those fronts.
PANEL = 32
#: Update matrices whose boundary maps in runs this long on average are added run by run.
MIN_RUN = 16
#: Levels of the elimination tree above the subtrees that are the parallel tasks.
TOP_LEVELS = 2

I64 = np.int64


@dataclass(frozen=True, eq=False)
class Symbolic:
    """Ordering, elimination tree and index maps of one layout (read-only, cached).

    Orders: interior nodes take ``0 .. n_int - 1`` front by front in postorder; ports take
    ``n_int .. n_int + n_rows + n_cols - 1``, the row sources first, then the column
    outputs.  Front ``t`` eliminates orders ``piv0[t] .. piv0[t] + s[t] - 1``; its boundary
    (``b[t]`` orders, ascending) is ``struct[struct_ptr[t]:struct_ptr[t + 1]]``, of which
    the first ``bi[t]`` are interior and the next ``bs[t]`` row sources.  Index ``n_front``
    stands for the root, the port block.
    """

    n_rows: int
    n_cols: int
    driver: bool
    resistor: bool
    n_int: int
    order: NDArray[np.int64]  # (n_nodes,) elimination order of each node id
    piv0: NDArray[np.int64]
    s: NDArray[np.int64]
    b: NDArray[np.int64]
    bi: NDArray[np.int64]
    bs: NDArray[np.int64]
    parent: NDArray[np.int64]
    struct_ptr: NDArray[np.int64]
    struct: NDArray[np.int64]
    child_ptr: NDArray[np.int64]
    child_idx: NDArray[np.int64]
    rel: NDArray[np.int64]  # struct positions in the parent front, laid out like struct
    run_ptr: NDArray[np.int64]  # runs of consecutive rel positions (fronts with long runs)
    run_q: NDArray[np.int64]
    run_len: NDArray[np.int64]
    ent_ptr: NDArray[np.int64]
    ent_pos: NDArray[np.int64]
    ent_y: NDArray[np.int64]
    ent_sgn: NDArray[np.float64]
    u_off: NDArray[np.int64]  # stack offset of each front's update matrix
    stack_size: int
    task_first: NDArray[np.int64]  # parallel tasks: subtrees task_first[q] .. task_root[q]
    task_root: NDArray[np.int64]
    pending: NDArray[np.int64]  # children count of the fronts above the tasks
    fbuf_size: int  # frontal workspace of one worker
    big: NDArray[np.bool_]
    leaf: NDArray[np.bool_]  # fronts without children
    fac_ptr: NDArray[np.int64]
    front_of: NDArray[np.int64]  # (n_int + p,) front eliminating each order (root: n_front)
    max_path: int  # most fronts on the two root paths of one cell
    max_path_pivots: int  # most pivots on them

    @property
    def n_front(self) -> int:
        return int(self.s.shape[0])

    @property
    def n_ports(self) -> int:
        return self.n_rows + self.n_cols

    def cell_orders(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Orders of the row-wire and column-wire node of every cell, (n_rows, n_cols) each."""
        N, M = self.n_rows, self.n_cols
        ids = np.arange(N * M).reshape(N, M)
        return self.order[ids], self.order[N * M + ids]


def _gather(ptr: NDArray[np.int64], data: NDArray[np.int64], rows: NDArray[np.int64]):
    """Concatenation of the CSR rows ``rows`` of ``(ptr, data)``."""
    start = ptr[rows]
    count = ptr[rows + 1] - start
    if count.sum() == 0:
        return data[:0]
    shift = np.repeat(start - np.concatenate(([0], np.cumsum(count)[:-1])), count)
    return data[np.arange(int(count.sum())) + shift]


def _dissect(N: int, M: int, driver: bool, leaf: int):
    """Fronts ``(pivot node ids, children)`` of the nested dissection, in postorder."""
    NM = N * M
    fronts: list[tuple[NDArray[np.int64], list[int]]] = []

    def nodes(rr0, rr1, rc0, rc1, cr0, cr1, cc0, cc1):
        ii, jj = np.mgrid[rr0:rr1, rc0:rc1]
        kk, ll = np.mgrid[cr0:cr1, cc0:cc1]
        return np.concatenate([(ii * M + jj).ravel(), NM + (kk * M + ll).ravel()]).astype(I64)

    def rec(rr0, rr1, rc0, rc1, cr0, cr1, cc0, cc1) -> list[int]:
        # Row-wire nodes of rows [rr0, rr1) x columns [rc0, rc1) and column-wire nodes of
        # rows [cr0, cr1) x columns [cc0, cc1).
        n_r = max(rr1 - rr0, 0) * max(rc1 - rc0, 0)
        n_c = max(cr1 - cr0, 0) * max(cc1 - cc0, 0)
        if n_r + n_c == 0:
            return []
        width = rc1 - rc0 if n_r else 0
        height = cr1 - cr0 if n_c else 0
        if n_r + n_c <= leaf or (width <= 1 and height <= 1):
            rr1, rc1 = max(rr1, rr0), max(rc1, rc0)
            cr1, cc1 = max(cr1, cr0), max(cc1, cc0)
            fronts.append((nodes(rr0, rr1, rc0, rc1, cr0, cr1, cc0, cc1), []))
            return [len(fronts) - 1]
        if width >= height:
            jm = (rc0 + rc1) // 2  # separator: the row-wire nodes of column jm
            sep = np.arange(rr0, rr1, dtype=I64) * M + jm
            kids = rec(rr0, rr1, rc0, jm, cr0, cr1, cc0, min(cc1, jm + 1))
            kids += rec(rr0, rr1, jm + 1, rc1, cr0, cr1, max(cc0, jm + 1), cc1)
        else:
            im = (cr0 + cr1) // 2  # separator: the column-wire nodes of row im
            sep = NM + im * M + np.arange(cc0, cc1, dtype=I64)
            kids = rec(rr0, min(rr1, im + 1), rc0, rc1, cr0, im, cc0, cc1)
            kids += rec(max(rr0, im + 1), rr1, rc0, rc1, im + 1, cr1, cc0, cc1)
        if sep.size == 0:
            return kids
        fronts.append((sep, kids))
        return [len(fronts) - 1]

    # Row sources (column 0 when there is no driver resistance) and the bottom column
    # nodes are not in the dissection.
    top = rec(0, N, 0 if driver else 1, M, 0, N - 1, 0, M)
    return fronts, top


def _runs(rel, struct_ptr):
    """Stretches of consecutive parent positions in each front's ``rel`` map.

    Only fronts whose runs average at least ``MIN_RUN`` entries get them (their update is
    then added run by run, vectorised); the others are added entry by entry.  Returns
    ``run_ptr, run_q, run_len`` with ``run_q`` the start inside the front's boundary.
    """
    n_front = struct_ptr.size - 1
    counts, qs, lens = np.zeros(n_front, dtype=I64), [], []
    for t in range(n_front):
        r = rel[struct_ptr[t] : struct_ptr[t + 1]]
        if r.size == 0:
            continue
        starts = np.flatnonzero(np.diff(r, prepend=r[0] - 2) != 1)
        if r.size < MIN_RUN * starts.size:
            continue
        counts[t] = starts.size
        qs.append(starts)
        lens.append(np.diff(np.append(starts, r.size)))
    run_ptr = np.zeros(n_front + 1, dtype=I64)
    np.cumsum(counts, out=run_ptr[1:])
    if not qs:
        return run_ptr, np.zeros(0, dtype=I64), np.zeros(0, dtype=I64)
    return run_ptr, np.concatenate(qs).astype(I64), np.concatenate(lens).astype(I64)


def _schedule(s, b, parent, children):
    """Tasks for the parallel elimination and where every update matrix lives.

    The top ``TOP_LEVELS`` levels of the elimination tree are split off; the subtrees below
    them are the tasks, each a postorder range ``first .. root``.  Leaves keep their update
    matrices in slots of their own (so an unchanged leaf's can be reused by the next
    elimination); every task keeps the others on a stack region of its own (postorder makes
    that a stack); each front above the tasks has a slot of its own.  Returns
    ``task_first, task_root, pending, u_off, stack_size``, ``pending`` holding the children
    count of the fronts above the tasks.
    """
    n_front = s.size
    first = np.arange(n_front)
    for t in range(n_front):
        if parent[t] < n_front:
            first[parent[t]] = min(first[parent[t]], first[t])
    tasks = list(children[n_front])
    top: list[int] = []
    for _ in range(TOP_LEVELS):
        split = [t for t in tasks if children[t]]
        for t in split:
            tasks.remove(t)
            top.append(t)
            tasks += children[t]
    tasks.sort()
    # Big subtrees first, so the last tasks to be taken are small.
    size = np.array([t + 1 - first[t] for t in tasks])
    tasks = [tasks[i] for i in np.argsort(-size, kind="stable")]
    u_off = np.zeros(n_front, dtype=I64)
    leaf = np.array([not c for c in children[:n_front]], dtype=bool)
    sizes = b.astype(I64) ** 2
    u_off[leaf] = np.concatenate(([0], np.cumsum(sizes[leaf])[:-1])) if leaf.any() else 0
    base = int(sizes[leaf].sum())  # leaves: slots of their own, reusable across calls
    for root in tasks:
        ptr = peak = base
        for t in range(first[root], root + 1):
            if leaf[t]:
                continue
            inner = [c for c in children[t] if not leaf[c]]
            if inner:
                ptr = int(u_off[inner[0]])
            u_off[t] = ptr
            ptr += int(sizes[t])
            peak = max(peak, ptr)
        base = peak
    pending = np.zeros(n_front, dtype=I64)
    for t in sorted(top):
        u_off[t] = base
        base += int(b[t]) ** 2
        pending[t] = len(children[t])
    task_root = np.array(tasks, dtype=I64)
    return first[task_root].astype(I64), task_root, pending, u_off, max(base, 1)


@functools.lru_cache(maxsize=8)
def symbolic(n_rows: int, n_cols: int, driver: bool, resistor: bool) -> Symbolic:
    """Symbolic analysis of one layout (cached): see :class:`Symbolic`.

    Parameters
    ----------
    n_rows, n_cols : int
        Array shape (>= 1 each).
    driver : bool
        Whether the row drivers have a (positive) output resistance.
    resistor : bool
        Whether the columns end in a sense resistor (else a virtual ground).
    """
    N, M = n_rows, n_cols
    NM = N * M
    row_id = np.arange(NM, dtype=I64).reshape(N, M)
    col_id = NM + row_id
    n_nodes = 2 * NM
    src = row_id[:, 0].copy()
    if driver:
        src = n_nodes + np.arange(N, dtype=I64)
        n_nodes += N
    sense = col_id[N - 1, :].copy()
    out = sense
    if resistor:
        out = n_nodes + np.arange(M, dtype=I64)
        n_nodes += M
    p = N + M

    # Branches (a, b, index into the conductance vector g.ravel(), g_row, g_col, g_driver,
    # g_sense); see branch_conductances.
    ea, eb, ey = [row_id.ravel()], [col_id.ravel()], [np.arange(NM, dtype=I64)]
    if M > 1:
        ea.append(row_id[:, :-1].ravel())
        eb.append(row_id[:, 1:].ravel())
        ey.append(np.full(N * (M - 1), NM, dtype=I64))
    if N > 1:
        ea.append(col_id[:-1, :].ravel())
        eb.append(col_id[1:, :].ravel())
        ey.append(np.full((N - 1) * M, NM + 1, dtype=I64))
    if driver:
        ea.append(src)
        eb.append(row_id[:, 0].copy())
        ey.append(np.full(N, NM + 2, dtype=I64))
    if resistor:
        ea.append(sense)
        eb.append(out)
        ey.append(np.full(M, NM + 3, dtype=I64))
    ea, eb, ey = (np.concatenate(x) for x in (ea, eb, ey))

    both_a = np.concatenate([ea, eb])
    adj = np.concatenate([eb, ea])[np.argsort(both_a, kind="stable")]
    adj_ptr = np.zeros(n_nodes + 1, dtype=I64)
    np.cumsum(np.bincount(both_a, minlength=n_nodes), out=adj_ptr[1:])

    fronts, top = _dissect(N, M, driver, LEAF_NODES)
    if resistor:  # the bottom column nodes are eliminated last, behind their resistors
        fronts.append((sense, top))
        top = [len(fronts) - 1]
    n_front = len(fronts)
    s = np.array([f[0].size for f in fronts], dtype=I64)
    piv0 = np.concatenate(([0], np.cumsum(s)[:-1])).astype(I64) if n_front else s.copy()
    n_int = int(s.sum())
    order = np.full(n_nodes, -1, dtype=I64)
    for t, (piv, _) in enumerate(fronts):
        order[piv] = piv0[t] + np.arange(piv.size)
    order[src] = n_int + np.arange(N)
    order[out] = n_int + N + np.arange(M)
    if (order < 0).any():  # pragma: no cover - a bug in the dissection, not in the input
        raise AssertionError("the nested dissection left nodes unordered")

    # Boundary of each front: the later-ordered neighbours of its pivots and of its
    # children's boundaries.
    parent = np.full(n_front, n_front, dtype=I64)
    structs: list[NDArray[np.int64]] = []
    for t, (piv, kids) in enumerate(fronts):
        cand = [order[_gather(adj_ptr, adj, piv)]]
        for c in kids:
            parent[c] = t
            cand.append(structs[c])
        cand = np.concatenate(cand)
        structs.append(np.unique(cand[cand >= piv0[t] + s[t]]))
    b = np.array([x.size for x in structs], dtype=I64)
    struct_ptr = np.zeros(n_front + 1, dtype=I64)
    np.cumsum(b, out=struct_ptr[1:])
    struct = np.concatenate(structs).astype(I64) if n_front else np.zeros(0, dtype=I64)
    bi = np.array([int(np.searchsorted(x, n_int)) for x in structs], dtype=I64)
    bs = np.array([int(np.searchsorted(x, n_int + N)) for x in structs], dtype=I64) - bi

    children = [list(f[1]) for f in fronts] + [list(top)]
    child_ptr = np.zeros(n_front + 2, dtype=I64)
    np.cumsum([len(c) for c in children], out=child_ptr[1:])
    child_idx = np.array([c for cs in children for c in cs], dtype=I64)

    front_of = np.full(n_int + p, n_front, dtype=I64)
    front_of[:n_int] = np.repeat(np.arange(n_front, dtype=I64), s)
    nf = np.append(s + b, p)
    key_base = n_int + p + 1
    keys = np.repeat(np.arange(n_front, dtype=I64), b) * key_base + struct

    def local(f: NDArray[np.int64], o: NDArray[np.int64]) -> NDArray[np.int64]:
        """Position of order ``o`` inside front ``f`` (the root: the port index)."""
        out_pos = o - n_int
        fr = f < n_front
        ff, oo = f[fr], o[fr]
        k = np.searchsorted(keys, ff * key_base + oo)
        pivot = oo < piv0[ff] + s[ff]
        out_pos[fr] = np.where(pivot, oo - piv0[ff], s[ff] + k - struct_ptr[ff])
        return out_pos

    rel = local(np.repeat(parent, b), struct)
    run_ptr, run_q, run_len = _runs(rel, struct_ptr)

    # Original entries: each goes to the front that eliminates its earlier-ordered node.
    oa, ob = order[ea], order[eb]
    lo, hi = np.minimum(oa, ob), np.maximum(oa, ob)
    f_off = front_of[lo]
    pos_off = local(f_off, lo) * nf[f_off] + local(f_off, hi)
    d_nodes = np.concatenate([oa, ob])
    f_diag = front_of[d_nodes]
    li = local(f_diag, d_nodes)
    ent_f = np.concatenate([f_off, f_diag])
    srt = np.argsort(ent_f, kind="stable")
    ent_pos = np.concatenate([pos_off, li * nf[f_diag] + li])[srt]
    ent_y = np.concatenate([ey, ey, ey])[srt]
    ent_sgn = np.concatenate([-np.ones(lo.size), np.ones(d_nodes.size)])[srt]
    ent_ptr = np.zeros(n_front + 2, dtype=I64)
    np.cumsum(np.bincount(ent_f, minlength=n_front + 1), out=ent_ptr[1:])

    task_first, task_root, pending, u_off, stack_size = _schedule(s, b, parent, children)

    fac_ptr = np.zeros(n_front + 1, dtype=I64)
    np.cumsum(s * (s + b), out=fac_ptr[1:])
    # Fronts and pivots on the way from each front to the root.
    depth = np.zeros(n_front + 1, dtype=I64)
    piv_above = np.zeros(n_front + 1, dtype=I64)
    for t in range(n_front - 1, -1, -1):
        depth[t] = depth[parent[t]] + 1
        piv_above[t] = piv_above[parent[t]] + s[t]
    return Symbolic(
        n_rows=N,
        n_cols=M,
        driver=driver,
        resistor=resistor,
        n_int=n_int,
        order=order,
        piv0=piv0,
        s=s,
        b=b,
        bi=bi,
        bs=bs,
        parent=parent,
        struct_ptr=struct_ptr,
        struct=struct,
        child_ptr=child_ptr,
        child_idx=child_idx,
        rel=rel,
        run_ptr=run_ptr,
        run_q=run_q,
        run_len=run_len,
        ent_ptr=ent_ptr,
        ent_pos=ent_pos,
        ent_y=ent_y,
        ent_sgn=ent_sgn,
        u_off=u_off,
        stack_size=stack_size,
        task_first=task_first,
        task_root=task_root,
        pending=pending,
        fbuf_size=int(nf.max() ** 2),
        big=s * b * b >= BLAS_WORK,
        leaf=np.diff(child_ptr[:-1]) == 0,
        fac_ptr=fac_ptr,
        front_of=front_of,
        max_path=2 * int(depth.max()),
        max_path_pivots=2 * int(piv_above.max()),
    )


# --------------------------------------------------------------------------- numeric
_BLAS = None


def one_blas_thread():
    """Context holding BLAS to one thread: the same bits on any machine, no waiting for a
    core that another process holds (measured: 100x slower panels on a busy 2-core box), and
    no OpenBLAS worker left spinning to slow the parallel elimination that follows.
    """
    global _BLAS
    if _BLAS is None:
        import scipy.linalg  # noqa: F401  (loads the BLAS that Numba's np.dot calls)
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


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
    """Conductances the symbolic entries index: ``g.ravel()``, then the wire ones, siemens."""
    y = np.empty(g.size + 4)
    y[: g.size] = g.ravel()
    y[g.size :] = (g_row, g_col, g_driver, g_sense)
    return y


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
    skip = np.zeros(sym.n_front, dtype=bool)
    if (
        reuse is not None
        and reuse.sym is sym
        and np.array_equal(reuse.y[-4:], y[-4:])
        and (reuse.fac is not None or not keep)
    ):
        stack = reuse.stack
        fac = reuse.fac if keep else np.empty(0)
        changed = np.flatnonzero(reuse.y[:-4] != y[:-4])
        ro, co = sym.cell_orders()
        touched = np.zeros(sym.n_front + 1, dtype=bool)
        touched[sym.front_of[ro.ravel()[changed]]] = True
        touched[sym.front_of[co.ravel()[changed]]] = True
        skip = sym.leaf & ~touched[:-1]
    else:
        stack = np.empty(sym.stack_size)
        fac = np.empty(int(sym.fac_ptr[-1]) if keep else 0)
    Y = np.empty((p, p))
    workers = max(1, min(numba.get_num_threads(), sym.task_root.size))
    bad = np.empty(workers, dtype=I64)
    with one_blas_thread():
        wk.multifrontal_factor(
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
        raise ValueError("node_values needs a factorisation made with keep=True")
    x = np.zeros((sym.n_int + sym.n_ports, v.shape[0]))
    x[sym.n_int : sym.n_int + sym.n_rows] = v.T
    wk.multifrontal_back(
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
    (:func:`neuromorph.hardware.wires._kernels.forward_columns`), cached per device until the next
    factorisation.
    """

    def __init__(self, num: Numeric) -> None:
        if num.fac is None:
            raise ValueError("LowRank needs a factorisation made with keep=True")
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
        wk.forward_columns(
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
        wk.path_dots(
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
