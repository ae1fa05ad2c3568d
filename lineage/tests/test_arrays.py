"""lineage.arrays (the CSR snapshot) answers exactly as lineage.graph (the networkx walk), no database.

Random graphs with cycles, self-loops, several jobs on one pair and column mappings; every start,
direction, depth and node cap; the array walk alone and through lineage.graph.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import numba
import pytest

from lineage import graph, kernels
from lineage.arrays import ArrayGraph

MAPPINGS = ((), (("a", "b", "DIRECT/IDENTITY"),), (("a", "b", ""), ("c", "d", "INDIRECT/FILTER")))


def random_graph(seed: int, nodes: int = 60, edges: int = 150):
    rng = random.Random(seed)
    g = graph.new_graph()
    ids = rng.sample(range(1, 10_000), nodes)  # sparse, unordered ids: index ≠ id
    for _ in range(edges):
        source = rng.choice(ids)
        target = source if rng.random() < 0.03 else rng.choice(ids)  # some self-loops
        graph.add_edge(g, source, target, rng.randrange(1, 6), rng.choice(MAPPINGS))  # few jobs: pairs share them
    return g, ids


def same(a: graph.Subgraph, b: graph.Subgraph) -> bool:
    return (a.distances, sorted(a.edges), a.truncated, a.cycle) == (b.distances, sorted(b.edges), b.truncated, b.cycle)


@pytest.mark.parametrize("seed", range(8))
def test_neighbourhoods_are_the_same_over_arrays(seed):
    g, ids = random_graph(seed)
    arrays = ArrayGraph(g)
    for start in ids[:15]:
        for direction in graph.DIRECTIONS:
            for depth in (0, 1, 2, 3, 20):
                for cap in (1, 3, 10, 1000):
                    walked = graph.neighbourhood(g, start, direction=direction, depth=depth, max_nodes=cap)
                    assert same(walked, arrays.neighbourhood(start, direction=direction, depth=depth, max_nodes=cap)), (start, direction, depth, cap)


@pytest.mark.parametrize("seed", range(8))
def test_closures_are_the_same_over_arrays(seed):
    g, ids = random_graph(seed)
    arrays = ArrayGraph(g)
    for start in ids:
        assert list(arrays.impact(start)) == list(graph.impact(g, start)), start


@pytest.mark.parametrize("seed", range(4))
def test_walks_given_the_arrays_answer_as_the_dict_walks(seed):
    g, ids = random_graph(seed, nodes=200, edges=600)
    arrays = ArrayGraph(g)
    for start in ids[:30]:
        assert same(graph.neighbourhood(g, start, depth=3, max_nodes=50, arrays=arrays), graph.neighbourhood(g, start, depth=3, max_nodes=50))
        assert list(graph.impact(g, start, arrays=arrays)) == list(graph.impact(g, start))


def test_unknown_and_isolated_starts():
    g = graph.new_graph()
    graph.add_edge(g, 1, 2, 7)
    g.add_node(5)
    arrays = ArrayGraph(g)
    for start in (5, 99):
        assert same(arrays.neighbourhood(start, depth=3), graph.neighbourhood(g, start, depth=3))
        assert list(arrays.impact(start)) == []
    assert list(ArrayGraph(graph.new_graph()).impact(1)) == []


def test_the_arrays_refuse_an_unknown_direction():
    with pytest.raises(ValueError):
        ArrayGraph(graph.new_graph()).neighbourhood(1, direction="sideways")


def test_a_closure_pages_like_the_sorted_list_it_stands_for():
    g, ids = random_graph(3, nodes=120, edges=400)
    start = max(ids, key=lambda i: len(graph.impact(g, i)))
    for closure in (graph.impact(g, start), ArrayGraph(g).impact(start)):
        listed = list(closure)
        assert listed == sorted(listed, key=lambda i: (i.distance, i.node)) and len(closure) == len(listed) > 10
        assert all(type(i.node) is int for i in listed)  # numpy ints would not serialise
        for first, stop in ((0, 5), (3, 9), (len(listed) - 4, len(listed) + 10), (len(listed), len(listed) + 1)):
            assert closure[first:stop] == listed[first:stop]
        assert closure[-1] == listed[-1] and closure[4] == listed[4] and closure[::3] == listed[::3]
        assert closure.distances() == {i.node: i.distance for i in listed}
        with pytest.raises(IndexError):
            closure[len(listed)]


def skewed_graph(seed: int, nodes: int = 4000, edges: int = 12_000):
    """A lake-like graph: a few hub datasets feed a large share of the rest (long rows), with cycles."""
    rng = random.Random(seed)
    g = graph.new_graph()
    ids = rng.sample(range(1, 1_000_000), nodes)
    hubs = ids[:8]
    for _ in range(edges):
        source = rng.choice(hubs) if rng.random() < 0.4 else rng.choice(ids)
        graph.add_edge(g, source, rng.choice(ids), rng.randrange(1, 40), rng.choice(MAPPINGS))
    return g, ids


@pytest.mark.parametrize("seed", range(2))
def test_big_skewed_graphs_walk_the_same_over_arrays(seed):
    """Thousands of nodes: closures past COMPACT_FROM (bytes as "seen"), big and small levels (read
    back from marks, or sorted), hubs whose rows are longer than the neighbourhood (bisection)."""
    g, ids = skewed_graph(seed)
    arrays = ArrayGraph(g)
    starts = ids[:8] + ids[-12:]
    closures = {start: list(graph.impact(g, start)) for start in starts}
    assert max(map(len, closures.values())) > kernels.COMPACT_FROM and min(map(len, closures.values())) < kernels.COMPACT_FROM
    for start in starts:
        assert list(arrays.impact(start)) == closures[start], start
        for direction in graph.DIRECTIONS:
            for depth, cap in ((1, 5), (2, 40), (3, 10**6)):
                walked = graph.neighbourhood(g, start, direction=direction, depth=depth, max_nodes=cap)
                assert same(walked, arrays.neighbourhood(start, direction=direction, depth=depth, max_nodes=cap)), (start, direction, depth, cap)


def test_walks_leave_the_scratch_bytes_clean_and_answer_the_same_again():
    g, ids = skewed_graph(7, nodes=3000, edges=9000)
    arrays = ArrayGraph(g)
    first = {start: (arrays.neighbourhood(start, depth=3), list(arrays.impact(start))) for start in ids[:20]}
    for start in reversed(ids[:20]):  # other walks ran in between: stamps of old epochs must not count
        around, closure = first[start]
        assert same(arrays.neighbourhood(start, depth=3), around) and list(arrays.impact(start)) == closure
    *_, marks, seen = kernels.sections.py_func(arrays.buffer, arrays.nodes, arrays.edges)
    assert not marks.any() and not seen.any()


def test_walks_from_many_threads_at_once_answer_as_alone():
    g, ids = skewed_graph(3, nodes=2000, edges=6000)
    arrays = ArrayGraph(g)
    starts = ids[:40]
    expected = {start: (graph.neighbourhood(g, start, depth=2), list(graph.impact(g, start))) for start in starts}

    def ask(start: int) -> bool:
        around, closure = expected[start]
        return same(arrays.neighbourhood(start, depth=2), around) and list(arrays.impact(start)) == closure

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(ask, starts * 5))


def test_warm_runs_both_walks_on_the_buffer_types_a_snapshot_uses():
    kernels.warm()
    snapshot = ArrayGraph(random_graph(1)[0])
    assert {s[0] for s in kernels.neighbourhood.signatures} | {s[0] for s in kernels.closure.signatures} == {numba.typeof(snapshot.buffer)}
