"""The graph load off PostgreSQL (an SQLite DATABASE_URL) attaches column mappings per job edge.

That path once called a helper that did not exist (a NameError only such a deployment met);
``bin/lint`` now catches undefined names, and this pins what the helper does.
"""

from __future__ import annotations

from lineage import graph as lineage_graph
from lineage.queries import _attach_columns


def test_it_attaches_each_rows_mapping_to_its_job_edge() -> None:
    g = lineage_graph.new_graph()
    lineage_graph.add_edge(g, 1, 2, 7)
    lineage_graph.add_edge(g, 1, 2, 8)
    rows = [
        (10, 1, 2, 7, "id", "id", "DIRECT/IDENTITY"),
        (10, 1, 2, 7, "amount", "total", "DIRECT/AGGREGATION"),
        (11, 2, 3, 9, "total", "total", "DIRECT/IDENTITY"),
    ]
    _attach_columns(g, rows)
    assert g[1][2] == {7: (("id", "id", "DIRECT/IDENTITY"), ("amount", "total", "DIRECT/AGGREGATION")), 8: ()}
    assert g[2][3] == {9: (("total", "total", "DIRECT/IDENTITY"),)}
