"""lineage.graph alone: traversal over a plain networkx graph, no database."""

from __future__ import annotations

import pytest

from lineage import graph

JOB = 100


def chain(*nodes: int):
    g = graph.new_graph()
    for a, b in zip(nodes, nodes[1:]):
        graph.add_edge(g, a, b, JOB)
    return g


def test_depth_limits_how_far_the_walk_goes():
    g = chain(1, 2, 3, 4, 5)
    assert graph.neighbourhood(g, 1, direction="downstream", depth=2).distances == {1: 0, 2: 1, 3: 2}
    assert graph.neighbourhood(g, 5, direction="upstream", depth=1).distances == {5: 0, 4: 1}


def test_depth_zero_is_the_start_alone():
    sub = graph.neighbourhood(chain(1, 2), 1, depth=0)
    assert sub.distances == {1: 0} and sub.edges == []


def test_both_directions_walk_up_and_down_but_not_sideways():
    g = chain(1, 2, 3)
    graph.add_edge(g, 9, 3, JOB)  # a sibling input of 3: not upstream nor downstream of 2
    sub = graph.neighbourhood(g, 2, direction="both", depth=5)
    assert sub.distances == {2: 0, 1: 1, 3: 1}
    assert sorted((s, t) for s, t, _, _ in sub.edges) == [(1, 2), (2, 3)]


def test_the_node_cap_truncates():
    g = graph.new_graph()
    for leaf in range(10, 30):
        graph.add_edge(g, 1, leaf, JOB)
    sub = graph.neighbourhood(g, 1, direction="downstream", depth=1, max_nodes=5)
    assert len(sub.distances) == 5 and sub.truncated
    assert not graph.neighbourhood(g, 1, direction="downstream", depth=1, max_nodes=50).truncated


def test_cycles_end_and_are_flagged():
    g = chain(1, 2, 3, 1)
    sub = graph.neighbourhood(g, 1, direction="both", depth=20)
    assert sub.distances == {1: 0, 2: 1, 3: 1}  # 3 is one hop upstream of 1
    assert sub.cycle
    assert not graph.neighbourhood(chain(1, 2, 3), 1, depth=20).cycle
    assert [i.node for i in graph.impact(g, 1)] == [2, 3]


def test_a_self_loop_is_a_cycle():
    g = chain(1, 2)
    graph.add_edge(g, 2, 2, JOB)
    assert graph.neighbourhood(g, 1, depth=3).cycle


def test_several_jobs_on_one_pair_are_separate_edges():
    g = chain(1, 2)
    graph.add_edge(g, 1, 2, 200, (("a", "b", "DIRECT/IDENTITY"),))
    edges = sorted(graph.neighbourhood(g, 1, depth=1).edges)
    assert edges == [(1, 2, JOB, ()), (1, 2, 200, (("a", "b", "DIRECT/IDENTITY"),))]


def test_set_pair_replaces_and_removes_edges():
    g = chain(1, 2)
    graph.set_pair(g, 1, 2, {7: (("x", "y", ""),)})
    assert dict(g[1][2]) == {7: (("x", "y", ""),)}
    graph.set_pair(g, 1, 2, {})
    assert not g.has_edge(1, 2)


def column_graph():
    # orders.amount → daily.total → report.revenue ; orders.id → daily.id (another column)
    g = graph.new_graph()
    graph.add_edge(g, 1, 2, JOB, (("amount", "total", "DIRECT/AGGREGATION"), ("id", "id", "DIRECT/IDENTITY")))
    graph.add_edge(g, 2, 3, JOB, (("total", "revenue", "DIRECT/IDENTITY"),))
    graph.add_edge(g, 2, 4, JOB, (("id", "order_id", "DIRECT/IDENTITY"),))
    return g


def test_column_closure_follows_only_that_column():
    sub = graph.column_neighbourhood(column_graph(), 1, "amount", direction="downstream", depth=5)
    assert sub.distances == {1: 0, 2: 1, 3: 2}
    assert sorted(sub.edges) == [
        (1, 2, JOB, (("amount", "total", "DIRECT/AGGREGATION"),)),
        (2, 3, JOB, (("total", "revenue", "DIRECT/IDENTITY"),)),
    ]


def test_column_closure_upstream_and_case_insensitive():
    sub = graph.column_neighbourhood(column_graph(), 3, "REVENUE", direction="upstream", depth=5)
    assert sub.distances == {3: 0, 2: 1, 1: 2}


def test_impact_lists_every_downstream_dataset_with_its_shortest_distance():
    g = chain(1, 2, 3, 4)
    graph.add_edge(g, 1, 4, JOB)
    assert [(i.node, i.distance) for i in graph.impact(g, 1)] == [(2, 1), (4, 1), (3, 2)]
    assert list(graph.impact(g, 99)) == []


def test_column_impact_lists_columns_with_distances():
    found = graph.impact(column_graph(), 1, "id")
    assert [(i.node, i.column, i.distance) for i in found] == [(2, "id", 1), (4, "order_id", 2)]


def test_an_unknown_direction_is_refused():
    with pytest.raises(ValueError):
        graph.neighbourhood(chain(1, 2), 1, direction="sideways")


def test_copy_tree_follows_only_copies_renames_included_and_ends_cycles() -> None:
    from lineage.events import is_direct_copy
    from lineage.graph import add_edge, copy_tree, new_graph

    g = new_graph()
    add_edge(g, 1, 2, 10, (("name", "member_name", "DIRECT/IDENTITY"), ("zip", "zip3", "DIRECT/TRANSFORMATION")))
    add_edge(g, 2, 3, 11, (("member_name", "member_name", "DIRECT/IDENTITY"),))
    add_edge(g, 3, 1, 12, (("member_name", "name", "IDENTITY"),))  # a cycle back to the start
    assert copy_tree(g, 1, "name", copies=is_direct_copy) == {(2, "member_name"): ((1, "name"), 10),
                                                              (3, "member_name"): ((2, "member_name"), 11)}
    assert copy_tree(g, 1, "zip", copies=is_direct_copy) == {}
    assert copy_tree(g, 3, "member_name", copies=is_direct_copy, direction="upstream") == {
        (2, "member_name"): ((3, "member_name"), 11), (1, "name"): ((2, "member_name"), 10)}
