"""Pure lineage traversal over an in-memory networkx graph (no ORM; unit-tested alone).

Shape of the graph (``nx.DiGraph``):
- nodes are canonical dataset ids (ints: compact, and no id mapping to keep);
- an edge ``u → v`` means data flows from dataset u to dataset v; its data dict
  maps each job id that moves it to a tuple of column mappings
  ``(source column, target column, transformation)`` (``()`` when none are known).

Jobs are not nodes: they ride on edges, so traversals only walk datasets.
Every traversal keeps a visited set, so cycles end (and ``has_cycle`` reports them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import networkx as nx

DIRECTIONS = ("upstream", "downstream", "both")
ColumnMapping = tuple[str, str, str]
NO_COLUMNS: tuple[ColumnMapping, ...] = ()


@dataclass
class Subgraph:
    """A traversal result: node → distance from the start, and edges among those nodes."""

    distances: dict[int, int]
    edges: list[tuple[int, int, int, tuple[ColumnMapping, ...]]]
    truncated: bool = False
    cycle: bool = False


@dataclass(frozen=True)
class Impact:
    node: int
    column: str | None
    distance: int


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


def _steps(g: nx.DiGraph, direction: str) -> Callable[[int], Iterable[int]]:
    return g.successors if direction == "downstream" else g.predecessors


def _walk(g: nx.DiGraph, start: int, direction: str, depth: int | None, max_nodes: int, seen: dict[int, int]) -> bool:
    """Breadth-first from ``start`` into ``seen`` (node → distance); True when the node cap cut it short."""
    frontier = [start]
    distance = 0
    step = _steps(g, direction)
    while frontier and (depth is None or distance < depth):
        distance += 1
        following: list[int] = []
        for node in frontier:
            for neighbour in step(node):
                if neighbour in seen:
                    continue
                if len(seen) >= max_nodes:
                    return True
                seen[neighbour] = distance
                following.append(neighbour)
        frontier = following
    return False


def _directions(direction: str) -> tuple[str, ...]:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
    return ("upstream", "downstream") if direction == "both" else (direction,)


def has_cycle(g: nx.DiGraph, nodes: Iterable[int]) -> bool:
    """True when the graph restricted to ``nodes`` contains a cycle (self-loops included)."""
    return not nx.is_directed_acyclic_graph(g.subgraph(nodes))


def neighbourhood(g: nx.DiGraph, start: int, *, direction: str = "both", depth: int = 2, max_nodes: int = 1000) -> Subgraph:
    """Datasets within ``depth`` hops of ``start`` (at most ``max_nodes``), with the edges among them."""
    seen: dict[int, int] = {start: 0}
    truncated = False
    if start in g:
        for way in _directions(direction):
            # Each way walks on its own, so a node both up- and downstream keeps its shortest distance.
            reached: dict[int, int] = {start: 0}
            truncated = _walk(g, start, way, depth, max_nodes, reached) or truncated
            for node, distance in reached.items():
                seen[node] = min(distance, seen.get(node, distance))
        if len(seen) > max_nodes:
            truncated = True
            seen = dict(sorted(seen.items(), key=lambda item: item[1])[:max_nodes])
    edges = [
        (u, v, job, columns)
        for u in seen if u in g
        for v, jobs in g.succ[u].items() if v in seen
        for job, columns in jobs.items()
    ]
    return Subgraph(seen, edges, truncated, has_cycle(g, seen) if start in g else False)


def _column_steps(g: nx.DiGraph, node: int, column: str, direction: str) -> Iterator[tuple[int, int, int, ColumnMapping]]:
    """(neighbour, edge source, job, mapping) for every column edge touching ``node.column``."""
    wanted = column.casefold()
    if direction == "downstream":
        for target, jobs in g.succ[node].items():
            for job, columns in jobs.items():
                for mapping in columns:
                    if mapping[0].casefold() == wanted:
                        yield target, node, job, mapping
    else:
        for source, jobs in g.pred[node].items():
            for job, columns in jobs.items():
                for mapping in columns:
                    if mapping[1].casefold() == wanted:
                        yield source, source, job, mapping


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
    edges = [(s, t, j, tuple(m)) for (s, t, j), m in picked.items()]
    cycle = has_cycle(nx.DiGraph([(s, t) for s, t, _, _ in edges]), distances) if edges else False
    return Subgraph(distances, edges, truncated, cycle)


def impact(g: nx.DiGraph, start: int, column: str | None = None) -> list[Impact]:
    """Everything downstream of ``start`` (or of its ``column``) with its shortest distance.

    Sorted by distance, then node, then column; cycles end at already-seen nodes.
    """
    if start not in g:
        return []
    if column is None:
        seen: dict[int, int] = {start: 0}
        _walk(g, start, "downstream", None, len(g) + 1, seen)
        del seen[start]
        return [Impact(n, None, d) for n, d in sorted(seen.items(), key=lambda item: (item[1], item[0]))]
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
