"""Nested-dissection ordering and symbolic analysis of the wired crossbar (layer 1 support).

Layer 1 support (hardware).  May import NumPy and the standard library only; used by
:mod:`neuromorph.hardware.wires._multifrontal` (the numeric phase) and
:mod:`neuromorph.hardware.wires.solve`.

Contract
--------
For a crossbar whose row and column wires both have positive resistance, the nodes of
:mod:`neuromorph.hardware.wires.solve`' model -- a row-wire and a column-wire node per cell,
plus one source node per row when there is a driver resistance -- are split into *ports*
and *interior* nodes.  The ports are the row sources (the source node, or the first row
node when the driver resistance is zero), which sit at the input voltages, and the column
outputs, which sit at 0 V: the bottom column nodes under a virtual ground, or, with a sense
resistor, one ground node per column behind its resistor (the bottom column nodes are then
interior).  :func:`symbolic` orders the interior for a multifrontal Cholesky elimination
(I. S. Duff and J. K. Reid, ACM Trans. Math. Softw. 9, 302 (1983)) that leaves the port
matrix (:mod:`neuromorph.hardware.wires._multifrontal`), and computes every index map that
elimination needs.

Method
------
A geometric nested-dissection order of the cell grid (A. George, SIAM J. Numer. Anal. 10,
345 (1973)).  A vertical cut at cell column ``j`` separates left from right by the
row-wire nodes of that column alone (its column-wire nodes join the left part); a
horizontal cut at row ``i`` by the column-wire nodes of that row.  Every separator is one
wire-line segment; the ports are never eliminated, so they stay on the boundary of every
front that touches the left or bottom edge.  The ordering, the elimination tree and every
index map depend only on the shape, on whether there is a driver resistance and on the
sense; :func:`symbolic` computes them once per layout, step by step (node ids, branches,
fronts, orders, boundaries, entries, parallel schedule), and caches the result.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

#: Largest number of nodes in a leaf region of the dissection.
LEAF_NODES = 12
#: Fronts with ``s * b**2`` at least this large are eliminated in panels with BLAS updates.
BLAS_WORK = 300_000
#: Update matrices whose boundary maps in runs this long on average are added run by run.
MIN_RUN = 16
#: Levels of the elimination tree above the subtrees that are the parallel tasks.
TOP_LEVELS = 2
#: Wire branches whose conductances follow the devices' in the branch vector ``y``
#: (:func:`neuromorph.hardware.wires._multifrontal.branch_conductances`), in this order.
WIRE_BRANCHES = ("row", "col", "driver", "sense")
#: Number of wire entries at the end of ``y``.
N_WIRE_BRANCHES = len(WIRE_BRANCHES)

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


# --------------------------------------------------------------------------- symbolic steps
class _Nodes(NamedTuple):
    """Node ids of one layout: row wire ``0 .. NM-1``, column wire ``NM .. 2NM-1``, then the
    driver sources and the sense grounds when present."""

    row_id: NDArray[np.int64]  # (N, M)
    col_id: NDArray[np.int64]  # (N, M)
    src: NDArray[np.int64]  # (N,) row sources: port
    sense: NDArray[np.int64]  # (M,) bottom column nodes
    out: NDArray[np.int64]  # (M,) column outputs: port
    n_nodes: int


def _node_ids(N: int, M: int, driver: bool, resistor: bool) -> _Nodes:
    """Ids of every node; a driver adds a source node per row, a sense resistor an output
    node per column."""
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
    return _Nodes(row_id, col_id, src, sense, out, n_nodes)


def _branches(nodes: _Nodes, driver: bool, resistor: bool):
    """Branches ``(a, b, index into y)``: devices, row and column wires, driver, sense.

    ``y`` holds ``g.ravel()`` and then one conductance per kind of wire branch, in the order
    of :data:`WIRE_BRANCHES`.
    """
    row_id, col_id = nodes.row_id, nodes.col_id
    N, M = row_id.shape
    NM = N * M
    slot = {name: NM + k for k, name in enumerate(WIRE_BRANCHES)}
    ea, eb, ey = [row_id.ravel()], [col_id.ravel()], [np.arange(NM, dtype=I64)]
    if M > 1:
        ea.append(row_id[:, :-1].ravel())
        eb.append(row_id[:, 1:].ravel())
        ey.append(np.full(N * (M - 1), slot["row"], dtype=I64))
    if N > 1:
        ea.append(col_id[:-1, :].ravel())
        eb.append(col_id[1:, :].ravel())
        ey.append(np.full((N - 1) * M, slot["col"], dtype=I64))
    if driver:
        ea.append(nodes.src)
        eb.append(row_id[:, 0].copy())
        ey.append(np.full(N, slot["driver"], dtype=I64))
    if resistor:
        ea.append(nodes.sense)
        eb.append(nodes.out)
        ey.append(np.full(M, slot["sense"], dtype=I64))
    return tuple(np.concatenate(x) for x in (ea, eb, ey))


def _adjacency(ea: NDArray[np.int64], eb: NDArray[np.int64], n_nodes: int):
    """Neighbours of every node, CSR ``(adj_ptr, adj)``."""
    both_a = np.concatenate([ea, eb])
    adj = np.concatenate([eb, ea])[np.argsort(both_a, kind="stable")]
    adj_ptr = np.zeros(n_nodes + 1, dtype=I64)
    np.cumsum(np.bincount(both_a, minlength=n_nodes), out=adj_ptr[1:])
    return adj_ptr, adj


def _fronts(N: int, M: int, driver: bool, resistor: bool, sense: NDArray[np.int64]):
    """Fronts ``(pivot node ids, children)`` in postorder and the root's children."""
    fronts, top = _dissect(N, M, driver, LEAF_NODES)
    if resistor:  # the bottom column nodes are eliminated last, behind their resistors
        fronts.append((sense, top))
        top = [len(fronts) - 1]
    return fronts, top


def _orders(fronts, nodes: _Nodes):
    """Elimination order of every node: pivots front by front, then sources, then outputs.

    Returns ``s, piv0, n_int, order`` (pivots per front, first order of each front, interior
    size, order of each node id).
    """
    n_front = len(fronts)
    s = np.array([f[0].size for f in fronts], dtype=I64)
    piv0 = np.concatenate(([0], np.cumsum(s)[:-1])).astype(I64) if n_front else s.copy()
    n_int = int(s.sum())
    order = np.full(nodes.n_nodes, -1, dtype=I64)
    for t, (piv, _) in enumerate(fronts):
        order[piv] = piv0[t] + np.arange(piv.size)
    order[nodes.src] = n_int + np.arange(nodes.src.size)
    order[nodes.out] = n_int + nodes.src.size + np.arange(nodes.out.size)
    if (order < 0).any():  # pragma: no cover - a bug in the dissection, not in the input
        raise AssertionError("the nested dissection left nodes unordered")
    return s, piv0, n_int, order


def _boundaries(fronts, order, adj_ptr, adj, piv0, s):
    """Parent of each front and its boundary: the later-ordered neighbours of its pivots
    and of its children's boundaries (ascending orders), one array per front."""
    n_front = len(fronts)
    parent = np.full(n_front, n_front, dtype=I64)
    structs: list[NDArray[np.int64]] = []
    for t, (piv, kids) in enumerate(fronts):
        cand = [order[_gather(adj_ptr, adj, piv)]]
        for c in kids:
            parent[c] = t
            cand.append(structs[c])
        cand = np.concatenate(cand)
        structs.append(np.unique(cand[cand >= piv0[t] + s[t]]))
    return parent, structs


def _boundary_arrays(structs: list[NDArray[np.int64]], n_int: int, n_rows: int):
    """Boundaries as CSR: sizes ``b``, ``struct_ptr``, ``struct``, and per front how many
    boundary orders are interior (``bi``) and row sources (``bs``)."""
    n_front = len(structs)
    b = np.array([x.size for x in structs], dtype=I64)
    struct_ptr = np.zeros(n_front + 1, dtype=I64)
    np.cumsum(b, out=struct_ptr[1:])
    struct = np.concatenate(structs).astype(I64) if n_front else np.zeros(0, dtype=I64)
    bi = np.array([int(np.searchsorted(x, n_int)) for x in structs], dtype=I64)
    bs = np.array([int(np.searchsorted(x, n_int + n_rows)) for x in structs], dtype=I64) - bi
    return b, struct_ptr, struct, bi, bs


def _children(fronts, top):
    """Children of every front and of the root (last), as lists and as CSR."""
    children = [list(f[1]) for f in fronts] + [list(top)]
    child_ptr = np.zeros(len(fronts) + 2, dtype=I64)
    np.cumsum([len(c) for c in children], out=child_ptr[1:])
    child_idx = np.array([c for cs in children for c in cs], dtype=I64)
    return children, child_ptr, child_idx


class _Positions:
    """Position of an order inside a front: its pivot index, ``s + `` its boundary index,
    or, in the root (front ``n_front``), its port index."""

    def __init__(self, n_int, p, piv0, s, b, struct_ptr, struct) -> None:
        self.n_int, self.piv0, self.s, self.struct_ptr = n_int, piv0, s, struct_ptr
        self.n_front = s.size
        self.key_base = n_int + p + 1
        self.keys = np.repeat(np.arange(self.n_front, dtype=I64), b) * self.key_base + struct

    def __call__(self, f: NDArray[np.int64], o: NDArray[np.int64]) -> NDArray[np.int64]:
        out_pos = o - self.n_int
        fr = f < self.n_front
        ff, oo = f[fr], o[fr]
        k = np.searchsorted(self.keys, ff * self.key_base + oo)
        pivot = oo < self.piv0[ff] + self.s[ff]
        out_pos[fr] = np.where(pivot, oo - self.piv0[ff], self.s[ff] + k - self.struct_ptr[ff])
        return out_pos


def _entries(ea, eb, ey, order, front_of, nf, local: _Positions):
    """Original matrix entries per front: each goes to the front that eliminates its
    earlier-ordered node.  Returns CSR ``ent_ptr`` and per entry its flat position in the
    front, its index into ``y`` and its sign (+1 diagonal, -1 off-diagonal)."""
    n_front = local.n_front
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
    return ent_ptr, ent_pos, ent_y, ent_sgn


def _root_paths(parent, s) -> tuple[int, int]:
    """Most fronts and most pivots on the two root paths of one cell (an upper bound: twice
    the deepest path)."""
    n_front = s.size
    depth = np.zeros(n_front + 1, dtype=I64)
    piv_above = np.zeros(n_front + 1, dtype=I64)
    for t in range(n_front - 1, -1, -1):
        depth[t] = depth[parent[t]] + 1
        piv_above[t] = piv_above[parent[t]] + s[t]
    return 2 * int(depth.max()), 2 * int(piv_above.max())


# --------------------------------------------------------------------------- symbolic
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
    p = N + M
    nodes = _node_ids(N, M, driver, resistor)
    ea, eb, ey = _branches(nodes, driver, resistor)
    adj_ptr, adj = _adjacency(ea, eb, nodes.n_nodes)
    fronts, top = _fronts(N, M, driver, resistor, nodes.sense)
    n_front = len(fronts)
    s, piv0, n_int, order = _orders(fronts, nodes)

    parent, structs = _boundaries(fronts, order, adj_ptr, adj, piv0, s)
    b, struct_ptr, struct, bi, bs = _boundary_arrays(structs, n_int, N)
    children, child_ptr, child_idx = _children(fronts, top)

    front_of = np.full(n_int + p, n_front, dtype=I64)
    front_of[:n_int] = np.repeat(np.arange(n_front, dtype=I64), s)
    nf = np.append(s + b, p)  # variables per front; the root holds the ports
    local = _Positions(n_int, p, piv0, s, b, struct_ptr, struct)
    rel = local(np.repeat(parent, b), struct)
    run_ptr, run_q, run_len = _runs(rel, struct_ptr)
    ent_ptr, ent_pos, ent_y, ent_sgn = _entries(ea, eb, ey, order, front_of, nf, local)
    task_first, task_root, pending, u_off, stack_size = _schedule(s, b, parent, children)
    fac_ptr = np.zeros(n_front + 1, dtype=I64)
    np.cumsum(s * (s + b), out=fac_ptr[1:])
    max_path, max_path_pivots = _root_paths(parent, s)
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
        max_path=max_path,
        max_path_pivots=max_path_pivots,
    )
