"""Pure lineage traversal over an in-memory networkx graph (no ORM; unit-tested alone).

Shape of the graph (``nx.DiGraph``):
- nodes are canonical dataset ids (ints: compact, and no id mapping to keep);
- an edge ``u → v`` means data flows from dataset u to dataset v; its data dict
  maps each job id that moves it to a tuple of column mappings
  ``(source column, target column, transformation)`` (``()`` when none are known).

Jobs are not nodes: they ride on edges, so traversals only walk datasets.
Every traversal keeps a visited set, so cycles end (and ``has_cycle`` reports them).

Dataset walks go to ``lineage.arrays`` (a CSR snapshot of the same graph, walked by compiled code)
when the caller passes one: same answers, a fraction of the time. The dict walks here answer while
no snapshot matches the graph (it is rebuilt after changes), and column walks.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence, Set
from heapq import nsmallest
from itertools import accumulate
from typing import TYPE_CHECKING, Any, NamedTuple, overload

import networkx as nx

if TYPE_CHECKING:
    from lineage.arrays import ArrayGraph

DIRECTIONS = ("upstream", "downstream", "both")
ColumnMapping = tuple[str, str, str]
NO_COLUMNS: tuple[ColumnMapping, ...] = ()
# (source, target, job, column mappings): one job's edge.
Edge = tuple[int, int, int, tuple[ColumnMapping, ...]]


class Subgraph:
    """A traversal result: node → distance from the start, and edges among those nodes.

    ``cycle`` (whether those edges hold a cycle) is worked out on first use: a caller that
    renders the result asks for it, one that only counts or re-walks does not pay for it.
    """

    __slots__ = ("distances", "edges", "truncated", "_cycle")

    def __init__(self, distances: dict[int, int], edges: list[Edge], truncated: bool = False) -> None:
        self.distances = distances
        self.edges = edges
        self.truncated = truncated
        self._cycle: bool | None = None

    @property
    def cycle(self) -> bool:
        if self._cycle is None:
            self._cycle = _pairs_have_cycle(set(self.distances), {(s, t) for s, t, _, _ in self.edges})
        return self._cycle


class Impact(NamedTuple):
    """One downstream dataset (or column) and its shortest distance."""

    node: int
    column: str | None
    distance: int


class Closure(Sequence[Impact]):
    """Every dataset downstream of a start, as breadth-first levels (level k: the datasets k hops away).

    Read as a sequence of ``Impact`` sorted by distance then node id. Closures run to 150k+ datasets
    and a caller reads one page of them, so nothing per dataset is built up front: ``len`` is the sum
    of the level sizes, and a level is sorted (once) only when a read reaches into it. Levels may be
    sets, or already-sorted sequences (``levels_sorted``: lists or numpy arrays of ids).
    """

    __slots__ = ("_levels", "_ends", "_sorted")

    def __init__(self, levels: Sequence[Collection[int]], *, levels_sorted: bool = False) -> None:
        self._levels: list[Any] = list(levels)
        self._sorted = [levels_sorted] * len(self._levels)
        self._ends = list(accumulate(map(len, self._levels)))  # index just past each level

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def _nodes(self, level: int, first: int, stop: int) -> list[int]:
        """Nodes ``first:stop`` (positions within the level) of a level in id order, as Python ints."""
        if not self._sorted[level]:
            self._levels[level] = sorted(self._levels[level])  # a concurrent reader sorts the same
            self._sorted[level] = True
        part = self._levels[level][first:stop]
        return list(part.tolist()) if hasattr(part, "tolist") else part  # numpy arrays hold numpy ints

    @overload
    def __getitem__(self, index: int) -> Impact: ...

    @overload
    def __getitem__(self, index: slice) -> list[Impact]: ...

    def __getitem__(self, index: int | slice) -> Impact | list[Impact]:
        if isinstance(index, int):
            if index < 0:
                index += len(self)
            if not 0 <= index < len(self):
                raise IndexError("closure index out of range")
            return self[index: index + 1][0]
        first, stop, step = index.indices(len(self))
        if step != 1:
            return [self[i] for i in range(first, stop, step)]
        found: list[Impact] = []
        level = bisect_right(self._ends, first)
        while first < stop and level < len(self._ends):
            begin = self._ends[level - 1] if level else 0
            nodes = self._nodes(level, first - begin, stop - begin)
            found += [Impact(node, None, level + 1) for node in nodes]
            first += len(nodes)
            level += 1
        return found

    def __iter__(self) -> Iterator[Impact]:
        for level in range(len(self._levels)):
            for node in self._nodes(level, 0, len(self._levels[level])):
                yield Impact(node, None, level + 1)

    def distances(self) -> dict[int, int]:
        """Node → distance over the whole closure (for tests and comparisons; the API pages)."""
        return {item.node: item.distance for item in self}


def new_graph() -> nx.DiGraph:
    return nx.DiGraph()


def set_pair(g: nx.DiGraph, source: int, target: int, jobs: dict[int, tuple[ColumnMapping, ...]]) -> None:
    """Make the edge ``source → target`` carry exactly ``jobs`` (removing it when empty)."""
    if not jobs:
        if g.has_edge(source, target):
            g.remove_edge(source, target)
        return
    g.add_edge(source, target)
    data = g[source][target]
    data.clear()
    data.update(jobs)


def add_edge(g: nx.DiGraph, source: int, target: int, job: int, columns: tuple[ColumnMapping, ...] = NO_COLUMNS) -> None:
    """Add one job's edge, merging column mappings with what the pair already holds."""
    if g.has_edge(source, target):
        data = g[source][target]
        data[job] = tuple(dict.fromkeys(data.get(job, NO_COLUMNS) + columns))
    else:
        g.add_edge(source, target)
        g[source][target][job] = columns or NO_COLUMNS


def _adjacency(g: nx.DiGraph, direction: str) -> dict[int, dict[int, dict[int, tuple[ColumnMapping, ...]]]]:
    # networkx's own dict-of-dicts: read-only here, and 3-5x faster to walk than its views.
    return g._succ if direction == "downstream" else g._pred  # type: ignore[no-any-return]


def _next_level(adjacency: dict[int, dict[int, Any]], frontier: Iterable[int], seen: set[int]) -> set[int]:
    """The nodes one hop from ``frontier`` not in ``seen``: one C-level union over the frontier's
    adjacency dicts and one difference, no Python loop per node or edge."""
    return set().union(*map(adjacency.__getitem__, frontier)) - seen


def _directions(direction: str) -> tuple[str, ...]:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
    return ("upstream", "downstream") if direction == "both" else (direction,)


def has_cycle(g: nx.DiGraph, nodes: Iterable[int]) -> bool:
    """True when the graph restricted to ``nodes`` contains a cycle (self-loops included)."""
    keep = set(nodes)
    return _pairs_have_cycle(keep, {(u, v) for u, v, _, _ in _edges_among(g, keep)})


def _pairs_have_cycle(nodes: set[int], pairs: Iterable[tuple[int, int]]) -> bool:
    """Kahn's algorithm on plain dicts: a cycle leaves nodes that never reach in-degree 0."""
    indegree = dict.fromkeys(nodes, 0)
    successors: dict[int, list[int]] = {}
    for u, v in pairs:
        if u == v:
            return True
        successors.setdefault(u, []).append(v)
        indegree[v] += 1
    ready = [n for n, d in indegree.items() if d == 0]
    removed = 0
    while ready:
        node = ready.pop()
        removed += 1
        for nxt in successors.get(node, ()):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return removed < len(indegree)


def neighbourhood(
    g: nx.DiGraph, start: int, *, direction: str = "both", depth: int = 2, max_nodes: int = 1000, arrays: ArrayGraph | None = None
) -> Subgraph:
    """Datasets within ``depth`` hops of ``start`` (at most ``max_nodes``), with the edges among them.

    Each direction walks on its own (a node reached upstream still leads on downstream), level by
    level in step, so the first distance a node gets is its shortest. When the cap falls inside a
    level, the nodes kept are taken upstream first, lowest ids first: the answer does not depend
    on dict order, and nothing is sorted when the cap is not reached.

    ``arrays``, a snapshot of this very graph, answers instead (same answer, compiled walk).
    """
    ways = _directions(direction)
    if arrays is not None:
        return arrays.neighbourhood(start, direction=direction, depth=depth, max_nodes=max_nodes)
    distances: dict[int, int] = {start: 0}
    truncated = False
    if start in g:
        walks = [(_adjacency(g, way), {start}, [start]) for way in ways]  # (adjacency, seen, frontier)
        distance = 0
        while distance < depth and any(frontier for _, _, frontier in walks) and not truncated:
            distance += 1
            for index, (adjacency, seen, frontier) in enumerate(walks):
                level = _next_level(adjacency, frontier, seen)
                seen |= level
                walks[index] = (adjacency, seen, level)  # type: ignore[assignment]
                new = level - distances.keys()
                room = max_nodes - len(distances)
                if len(new) > room:
                    new = set(nsmallest(room, new))
                    truncated = True
                distances.update(dict.fromkeys(new, distance))
                if truncated:
                    break
    return Subgraph(distances, _edges_among(g, distances.keys()), truncated)


def _edges_among(g: nx.DiGraph, nodes: Set[int]) -> list[Edge]:
    """Every job's edge between two of ``nodes``.

    A node's successors are read one by one while they are few (most nodes: no set is built),
    and intersected with ``nodes`` in C once they are many: the intersection walks the smaller
    side, so a dimension table with 50k successors in a 70-node neighbourhood costs 70 lookups.
    """
    successors = _adjacency(g, "downstream")
    keep = nodes if isinstance(nodes, (set, frozenset)) else set(nodes)
    edges: list[Edge] = []
    append = edges.append
    for u in keep:
        targets = successors.get(u, _NO_TARGETS)  # a start the graph does not hold
        for v in targets if len(targets) <= _FEW_SUCCESSORS else targets.keys() & keep:
            if v in keep:
                for job, columns in targets[v].items():
                    append((u, v, job, columns))
    return edges


_FEW_SUCCESSORS = 32
_NO_TARGETS: dict[int, Any] = {}


def _column_steps(g: nx.DiGraph, node: int, column: str, direction: str) -> Iterator[tuple[int, int, int, ColumnMapping]]:
    """(neighbour, edge source, job, mapping) for every column edge touching ``node.column``."""
    wanted = column.casefold()
    # A mapping without a target column (a dataset-level INDIRECT dependency) links no column to a column.
    if direction == "downstream":
        for target, jobs in _adjacency(g, direction)[node].items():
            for job, columns in jobs.items():
                for mapping in columns:
                    if mapping[1] and mapping[0].casefold() == wanted:
                        yield target, node, job, mapping
    else:
        for source, jobs in _adjacency(g, direction)[node].items():
            for job, columns in jobs.items():
                for mapping in columns:
                    if mapping[1].casefold() == wanted:
                        yield source, source, job, mapping


def copy_tree(g: nx.DiGraph, start: int, column: str, *, copies: Callable[[str], bool],
              direction: str = "downstream") -> dict[tuple[int, str], tuple[tuple[int, str], int]]:
    """Column-level walk along the mappings whose transformation ``copies`` accepts (e.g. direct copies):
    ``(dataset, column) → ((dataset, column) it was reached from, job id)``, nearest first (a parent always
    comes before its children); the start is not in it. Cycles end; column names match case-insensitively."""
    tree: dict[tuple[int, str], tuple[tuple[int, str], int]] = {}
    if start not in g:
        return tree
    seen = {(start, column.casefold())}
    frontier = [(start, column)]
    while frontier:
        following = []
        for node, col in frontier:
            for neighbour, _source, job, mapping in _column_steps(g, node, col, direction):
                if not copies(mapping[2]):
                    continue
                reached = mapping[1] if direction == "downstream" else mapping[0]
                if (neighbour, reached.casefold()) in seen:
                    continue
                seen.add((neighbour, reached.casefold()))
                tree[(neighbour, reached)] = ((node, col), job)
                following.append((neighbour, reached))
        frontier = following
    return tree


def column_neighbourhood(
    g: nx.DiGraph, start: int, column: str, *, direction: str = "both", depth: int = 2, max_nodes: int = 1000
) -> Subgraph:
    """Column-level closure: datasets whose columns feed (or are fed by) ``start.column``.

    Edges carry only the column mappings walked; distance is in column hops.
    """
    distances: dict[int, int] = {start: 0}
    picked: dict[tuple[int, int, int], dict[ColumnMapping, None]] = {}
    truncated = False
    if start in g:
        for way in _directions(direction):
            seen = {(start, column.casefold())}
            frontier = [(start, column)]
            hops = 0
            while frontier and hops < depth and not truncated:
                hops += 1
                following = []
                for node, col in frontier:
                    for neighbour, source, job, mapping in _column_steps(g, node, col, way):
                        if neighbour not in distances:
                            if len(distances) >= max_nodes:
                                truncated = True
                                continue
                            distances[neighbour] = hops
                        target = node if way == "upstream" else neighbour
                        picked.setdefault((source, target, job), {})[mapping] = None
                        next_col = mapping[0] if way == "upstream" else mapping[1]
                        state = (neighbour, next_col.casefold())
                        if state not in seen:
                            seen.add(state)
                            following.append((neighbour, next_col))
                frontier = following
    return Subgraph(distances, [(s, t, j, tuple(m)) for (s, t, j), m in picked.items()], truncated)


def impact(g: nx.DiGraph, start: int, column: str | None = None, *, arrays: ArrayGraph | None = None) -> Sequence[Impact]:
    """Everything downstream of ``start`` (or of its ``column``) with its shortest distance.

    Sorted by distance, then node, then column; cycles end at already-seen nodes. Dataset closures
    come back as a ``Closure`` (levels, paged lazily); column closures are small and come as a list.
    ``arrays``, a snapshot of this very graph, answers dataset closures instead (see ``neighbourhood``).
    """
    if column is None and arrays is not None:
        return arrays.impact(start)
    if start not in g:
        return []
    if column is None:
        adjacency = _adjacency(g, "downstream")
        seen = {start}
        levels: list[set[int]] = []
        reached: set[int] = {start}
        while True:
            level = _next_level(adjacency, reached, seen)
            if not level:
                break
            seen |= level
            levels.append(level)
            reached = level
        return Closure(levels)
    found: dict[tuple[int, str], int] = {}
    visited = {(start, column.casefold())}
    frontier = [(start, column)]
    hops = 0
    while frontier:
        hops += 1
        following = []
        for node, col in frontier:
            for neighbour, _, _, mapping in _column_steps(g, node, col, "downstream"):
                key = (neighbour, mapping[1].casefold())
                if key in visited:
                    continue
                visited.add(key)
                found[(neighbour, mapping[1])] = hops
                following.append((neighbour, mapping[1]))
        frontier = following
    return [Impact(n, c, d) for (n, c), d in sorted(found.items(), key=lambda item: (item[1], item[0][0], item[0][1]))]
