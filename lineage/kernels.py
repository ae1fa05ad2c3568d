"""Compiled breadth-first walks over ``lineage.arrays``' buffer (numba; pure, no ORM).

Why compiled, and why this layout: a typical question (a depth-3 neighbourhood of about 100
datasets, a closure of a few hundred) is small, and between two questions the process serves other
requests that push the graph out of the CPU caches. A small walk is then bound by memory misses and
per-call overhead: every numpy call costs 15-50 µs cold, every networkx node several scattered dict
reads. One compiled call per question, over a layout where all a walk needs of a node sits in one
cache line, reads little more than a line per node and a line per row of neighbours; Python unpacks
the answer with a single ``tolist``.

The buffer (``build``) is one int64 array, 64-byte aligned:
- the node table, one 64-byte row per node (index = rank of the node's id): where its upstream and
  downstream neighbour rows start and end, its three stamps (seen upstream, seen downstream, kept in
  the answer) and its id;
- upstream neighbours, downstream neighbours (each row in index order), and the job id of each
  downstream edge position;
- for big closures, which touch a good share of all nodes, compact copies of the downstream row
  starts and the ids (8 bytes per node: streamed, where scattered 64-byte rows are not);
- two bytes per node, zero between walks: a mark, to sort a big level without sorting, and a
  compact "seen" for big closures (a byte per node stays in the CPU caches where a row does not).

A node is stamped when its stamp holds the walk's ``epoch``, so no walk clears or allocates per-node
memory. Epochs must be unique per walk, and walks on one buffer must not overlap: the kernels hold
the GIL (no ``nogil``), and callers draw epochs from an ``itertools.count``.

Compiled on first use and cached on disk (``cache=True``): only a process's first walk waits for
the compiler (seconds, once per machine), later processes load the cached code.
"""

from __future__ import annotations

import numpy as np
from numba import njit

UPSTREAM, DOWNSTREAM, BOTH = 0, 1, 2
WAYS = {"upstream": UPSTREAM, "downstream": DOWNSTREAM, "both": BOTH}  # lineage.graph.DIRECTIONS → ``ways``
# Columns of the node table.
UP_START, UP_END, DOWN_START, DOWN_END, UP_SEEN, DOWN_SEEN, KEPT, ID = range(8)
ROW = 8  # int64s per node: one cache line
# A closure past this many nodes keeps "seen" in bytes rather than table rows (see closure).
COMPACT_FROM = 2048


@njit(cache=True)
def _byte_words(nodes):  # type: ignore[no-untyped-def]
    """int64 words holding the two bytes per node (marks, seen)."""
    return (2 * nodes + 7) // 8


def build(ids: np.ndarray, up_start: np.ndarray, up_targets: np.ndarray, down_start: np.ndarray, down_targets: np.ndarray, edge_jobs: np.ndarray) -> np.ndarray:
    """The buffer for ``len(ids)`` nodes and ``len(up_targets)`` edges (CSR row starts have one
    more entry than there are nodes; stamps and bytes start at zero)."""
    nodes, edges = len(ids), len(up_targets)
    size = ROW * nodes + 3 * edges + 2 * nodes + 1 + _byte_words(nodes)
    raw = np.zeros(size + ROW, dtype=np.int64)
    skip = (-raw.ctypes.data % 64) // 8  # start on a cache line, so each node row is one line
    buffer = raw[skip: skip + size]
    table, up, down, jobs, starts, compact_ids, _, _ = sections.py_func(buffer, nodes, edges)  # the same views, from Python
    table[:, UP_START], table[:, UP_END] = up_start[:-1], up_start[1:]
    table[:, DOWN_START], table[:, DOWN_END] = down_start[:-1], down_start[1:]
    table[:, ID] = ids
    up[:], down[:], jobs[:], starts[:], compact_ids[:] = up_targets, down_targets, edge_jobs, down_start, ids
    return buffer


@njit(cache=True)
def sections(buffer, nodes, edges):  # type: ignore[no-untyped-def]
    """(node table, upstream neighbours, downstream neighbours, edge jobs, compact downstream row
    starts, compact ids, mark bytes, seen bytes): views of ``buffer``."""
    at = ROW * nodes
    table = buffer[:at].reshape((nodes, ROW))
    up = buffer[at: at + edges]
    down = buffer[at + edges: at + 2 * edges]
    jobs = buffer[at + 2 * edges: at + 3 * edges]
    at += 3 * edges
    starts = buffer[at: at + nodes + 1]
    ids = buffer[at + nodes + 1: at + 2 * nodes + 1]
    at += 2 * nodes + 1
    data = buffer[at: at + _byte_words(nodes)].view(np.uint8)
    return table, up, down, jobs, starts, ids, data[:nodes], data[nodes: 2 * nodes]


@njit(cache=True)
def _index(table, node):  # type: ignore[no-untyped-def]
    """The index of the node with id ``node`` (ids ascend with the index), or -1."""
    i = np.searchsorted(table[:, ID], node)
    return i if i < len(table) and table[i, ID] == node else -1


@njit(cache=True)
def _next_level(begin, end, neighbours, frontier, seen, stamp, marks):  # type: ignore[no-untyped-def]
    """Sorted indices one hop from ``frontier`` whose ``seen`` is not ``stamp`` (and now is).

    Node u's row is ``neighbours[begin[u]:end[u]]``. ``begin``, ``end`` and ``seen`` are columns of
    the node table (strided views) or compact arrays: numba compiles a version for each.

    A small level is sorted; a big one (more than 1/64 of the graph) is marked and read back in
    index order, one pass over a byte per node instead of an n·log n sort.
    """
    found = []
    for u in frontier:
        for p in range(begin[u], end[u]):
            v = neighbours[p]
            if seen[v] != stamp:
                seen[v] = stamp
                found.append(v)
    level = np.empty(len(found), np.int64)
    if len(found) * 64 > len(seen):
        for v in found:
            marks[v] = 1
        k = 0
        for i in range(len(seen)):
            if marks[i]:
                marks[i] = 0
                level[k] = i
                k += 1
    else:
        for i in range(len(found)):
            level[i] = found[i]
        level.sort()
    return level


@njit(cache=True)
def neighbourhood(buffer, nodes, edges, epoch, node, ways, depth, max_nodes):  # type: ignore[no-untyped-def]
    """``lineage.graph.neighbourhood`` (same nodes, distances, edges and cap) as one int64 array:

    ``[truncated, k, m, k node ids, k distances, m edge positions, m source ids, m target ids, m job ids]``
    with the nodes in the order they were reached and every job edge between two of them (its
    position finds the edge's column mappings). An unknown ``node`` answers itself alone.
    """
    table, up, down, jobs, _, _, marks, _ = sections(buffer, nodes, edges)
    origin = _index(table, node)
    if origin < 0:
        return np.array([0, 1, 0, node, 0], np.int64)
    reached = [origin]
    distances = [0]
    table[origin, KEPT] = epoch
    up_frontier = np.empty(0, np.int64)
    down_frontier = np.empty(0, np.int64)
    if ways != DOWNSTREAM:
        up_frontier = np.array([origin], np.int64)
        table[origin, UP_SEEN] = epoch
    if ways != UPSTREAM:
        down_frontier = np.array([origin], np.int64)
        table[origin, DOWN_SEEN] = epoch
    truncated = False
    distance = 0
    while distance < depth and (len(up_frontier) or len(down_frontier)) and not truncated:
        distance += 1
        # Upstream first, each level in id order: when the cap falls inside a level, the nodes
        # kept are the upstream ones, lowest ids first (as lineage.graph keeps them).
        for way in (UPSTREAM, DOWNSTREAM):
            if way == UPSTREAM:
                if not len(up_frontier):
                    continue
                up_frontier = _next_level(table[:, UP_START], table[:, UP_END], up, up_frontier, table[:, UP_SEEN], epoch, marks)
                level = up_frontier
            else:
                if not len(down_frontier):
                    continue
                down_frontier = _next_level(table[:, DOWN_START], table[:, DOWN_END], down, down_frontier, table[:, DOWN_SEEN], epoch, marks)
                level = down_frontier
            for v in level:
                if table[v, KEPT] != epoch:
                    if len(reached) >= max_nodes:
                        truncated = True
                        break
                    table[v, KEPT] = epoch
                    reached.append(v)
                    distances.append(distance)
            if truncated:
                break
    positions = []
    sources = []
    for u in reached:
        begin, end = table[u, DOWN_START], table[u, DOWN_END]
        if end - begin <= len(reached):
            for p in range(begin, end):
                if table[down[p], KEPT] == epoch:
                    positions.append(p)
                    sources.append(u)
        else:
            # A dimension table with 50,000 successors in a 100-node neighbourhood: look each
            # member up in its (sorted) row rather than read the row.
            for v in reached:
                p = begin + np.searchsorted(down[begin:end], v)
                while p < end and down[p] == v:  # one position per job on the pair
                    positions.append(p)
                    sources.append(u)
                    p += 1
    k, m = len(reached), len(positions)
    out = np.empty(3 + 2 * k + 4 * m, np.int64)
    out[0], out[1], out[2] = truncated, k, m
    for i in range(k):
        out[3 + i] = table[reached[i], ID]
        out[3 + k + i] = distances[i]
    at = 3 + 2 * k
    for i in range(m):
        p = positions[i]
        out[at + i] = p
        out[at + m + i] = table[sources[i], ID]
        out[at + 2 * m + i] = table[down[p], ID]
        out[at + 3 * m + i] = jobs[p]
    return out


@njit(cache=True)
def closure(buffer, nodes, edges, epoch, node):  # type: ignore[no-untyped-def]
    """Every node downstream of ``node``, level by level, as one int64 array:

    ``[L, L level ends, the ids of level 1, of level 2, …]``, each level in id order, ends counted
    from the first id. An unknown ``node`` has an empty closure.
    """
    table, _, down, _, starts, ids, marks, seen_bytes = sections(buffer, nodes, edges)
    origin = _index(table, node)
    if origin < 0:
        return np.zeros(1, np.int64)
    table[origin, DOWN_SEEN] = epoch
    frontier = np.array([origin], np.int64)
    levels = []
    total = 0
    compact = False
    while True:
        if not compact and total > COMPACT_FROM:
            # A big closure: from here on every edge read checks its target's byte, which stays in
            # the CPU caches, and rows are found through the compact starts.
            compact = True
            seen_bytes[origin] = 1
            for level in levels:
                for v in level:
                    seen_bytes[v] = 1
        if compact:
            frontier = _next_level(starts[:-1], starts[1:], down, frontier, seen_bytes, 1, marks)
        else:
            frontier = _next_level(table[:, DOWN_START], table[:, DOWN_END], down, frontier, table[:, DOWN_SEEN], epoch, marks)
        if not len(frontier):
            break
        levels.append(frontier)
        total += len(frontier)
    if compact:  # leave the bytes zero for the next walk
        seen_bytes[origin] = 0
        for level in levels:
            for v in level:
                seen_bytes[v] = 0
    out = np.empty(1 + len(levels) + total, np.int64)
    out[0] = len(levels)
    at = 1 + len(levels)
    for j in range(len(levels)):
        for v in levels[j]:
            out[at] = ids[v] if compact else table[v, ID]  # big closures: read streamed, not rows
            at += 1
        out[1 + j] = at - 1 - len(levels)
    return out


def warm() -> None:
    """Compile both walks (or load them from the disk cache) on a two-node graph, so that a
    process's first question does not wait for the compiler."""
    # Nodes 1 and 2 (indices 0 and 1), one edge 1 → 2 by job 7.
    buffer = build(np.array([1, 2]), np.array([0, 0, 1]), np.array([0]), np.array([0, 1, 1]), np.array([1]), np.array([7]))
    neighbourhood(buffer, 2, 1, 1, 1, BOTH, 2, 10)
    closure(buffer, 2, 1, 2, 1)
