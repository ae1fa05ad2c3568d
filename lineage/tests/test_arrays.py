"""lineage.arrays (the CSR snapshot) answers exactly as lineage.graph (the networkx walk), no database.

Random graphs with cycles, self-loops, several jobs on one pair and column mappings; every start,
direction, depth and node cap; the array walk alone and the hand-over from the dict walk.
"""

from __future__ import annotations

import random

import pytest

from lineage import graph
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
def test_a_walk_handed_over_to_the_arrays_gives_the_same_answer(seed, monkeypatch):
    g, ids = random_graph(seed, nodes=200, edges=600)
    arrays = ArrayGraph(g)
    expected = {start: (graph.neighbourhood(g, start, depth=3, max_nodes=50), list(graph.impact(g, start))) for start in ids[:30]}
    for threshold in (0, 5, 40):  # from the first level, or part-way through the walk
        monkeypatch.setattr(graph, "ARRAYS_FROM", threshold)
        for start, (around, closure) in expected.items():
            assert same(graph.neighbourhood(g, start, depth=3, max_nodes=50, arrays=arrays), around)
            assert list(graph.impact(g, start, arrays=arrays)) == closure


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
