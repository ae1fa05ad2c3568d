"""Benchmark of curation (issue 24): propagation along a big lineage graph, and a column edit reaching search.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dh_curation_bench python bench/curation.py --edges 1000000

Builds the lineage bench graph of bench/lineage.py (COPY; layered lake, 30% of edges with DIRECT/IDENTITY
column mappings c0..c2, 5% of datasets catalog tables; ``--reuse`` keeps what is there), starts an
osmem-server (or uses ``--opensearch-url``) and indexes the catalog tables. Then prints:

- propagate:  (with the lineage graph loaded, as every web and worker process holds it) for the catalog columns with the most direct-copy column edges leaving them (the worst
              cases) and a few picked at random, a steward's new description, tags, classification and
              PII on one upstream column, then the time ``catalog.services.propagation`` takes to walk the
              direct-copy lineage downstream and write (or re-open, or withdraw) every proposal — the
              work that follows a column edit, re-indexing aside. Target: under 1 s each.
- searchable: a column edit through ``curate_column`` (the service the page and the API call) until a
              search for a word of its new description finds the table. Target: under 2 s.

Only runs against a database whose name ends in "_bench" (bench/lineage.py truncates its tables).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dh_curation_bench")
os.environ.setdefault("OPENSEARCH_INDEX_PREFIX", "bench-curation")
os.environ.setdefault("OPENSEARCH_TIMEOUT_SECONDS", "120")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench.lineage import build  # noqa: E402
from portal.testing.databases import ensure_database  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def origins(worst: int, randomly: int, seed: int) -> list[tuple[int, int]]:
    """(dataset id, table id) of catalog datasets with c0 copied downstream: the busiest ones, then random ones."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("""
            SELECT d.id, d.table_id, count(*) FROM lineage_dataset d
            JOIN lineage_edge e ON e.source_id = d.id JOIN lineage_columnedge ce ON ce.edge_id = e.id
            WHERE d.table_id IS NOT NULL AND ce.source_column = 'c0' GROUP BY d.id, d.table_id ORDER BY 3 DESC, 1""")
        rows = [(r[0], r[1]) for r in c.fetchall()]
    rng = random.Random(seed)
    rest = rows[worst:]
    return rows[:worst] + rng.sample(rest, min(randomly, len(rest)))


def bench_propagation(picked: list[tuple[int, int]]) -> None:
    from catalog.models import ColumnCuration, PropagationProposal
    from catalog.services.propagation import reconcile_column

    timings = []
    for n, (_dataset_id, table_id) in enumerate(picked):
        ColumnCuration.objects.update_or_create(table_id=table_id, column="c0", defaults={
            "description": f"Member name as written on the card, version {n}", "tags": ["identity"],
            "classification": "confidential", "pii_kind": "name", "pii_status": ColumnCuration.PiiStatus.CONFIRMED})
        started = time.perf_counter()
        outcomes = reconcile_column(table_id, "c0")
        seconds = time.perf_counter() - started
        timings.append(seconds)
        reached = PropagationProposal.objects.filter(origin_table_id=table_id, origin_column="c0", field="pii").count()
        print(f"propagate  table {table_id}.c0: {reached:,} downstream catalog columns, "
              f"{sum(o.proposed for o in outcomes):,} proposals written in {seconds * 1000:.0f} ms")
    print(f"propagate  p50 {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms over "
          f"{len(timings)} upstream column changes (target < 1000 ms)")


def bench_searchable(rounds: int) -> None:
    from django.db.models import Exists, OuterRef

    from catalog.models import Column, Table
    from catalog.search import searcher
    from catalog.search.query import SearchRequest
    from catalog.services.column_curation import ColumnCurationInput, curate_column
    from lineage.models import Edge
    from identity.roles import Role

    admin = Role("admin")
    # Leaf tables (nothing downstream): the edit's own indexing is what is timed, not its propagation.
    leaves = list(Table.objects.annotate(feeds=Exists(Edge.objects.filter(source__table_id=OuterRef("pk"))))
                  .filter(feeds=False).order_by("pk")[:rounds])
    timings = []
    for table in leaves:
        Column.objects.get_or_create(table=table, name="c0", is_partition_key=False, defaults={"type": "string", "position": 0})
        word = "quokka" + "".join(random.choice("bcdfghjklmnpqrstvwz") for _ in range(8))  # one word, no digits
        started = time.perf_counter()
        curate_column(table, "c0", ColumnCurationInput(description=f"Seen at the {word} counter"), actor=None, role=admin)
        while not searcher.search(SearchRequest(text=word), admin)["count"]:
            if time.perf_counter() - started > 30:
                sys.exit(f"searchable: {word} not found after 30 s")
            time.sleep(0.01)
        timings.append(time.perf_counter() - started)
    print(f"searchable p50 {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms from a column "
          f"edit to a search that finds it, over {len(timings)} edits (target < 2000 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--worst", type=int, default=5, help="origins with the most column edges leaving them")
    parser.add_argument("--random", type=int, default=10, help="origins picked at random")
    parser.add_argument("--edits", type=int, default=10, help="column edits timed until searchable")
    parser.add_argument("--reuse", action="store_true", help="skip the build, use the graph already there")
    parser.add_argument("--opensearch-url", default="", help="use this OpenSearch instead of starting osmem")
    args = parser.parse_args()

    server = None
    url = args.opensearch_url
    if not url:
        from osmem_server import OsmemServer

        server = OsmemServer.start(japanese=False)
        url = server.url
    os.environ["OPENSEARCH_URL"] = url
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        if not settings.DATABASES["default"]["NAME"].endswith("_bench"):
            sys.exit("Refusing to run: DATABASE_URL must name a database ending in _bench (it is truncated).")
        ensure_database(os.environ["DATABASE_URL"])
        call_command("migrate", verbosity=0)
        from catalog.models import ColumnCuration, PropagationProposal
        from catalog.search.indexer import rebuild

        if not args.reuse:
            build(args.edges, args.seed)
        ColumnCuration.objects.all().delete()
        PropagationProposal.objects.all().delete()
        started = time.perf_counter()
        rebuild()
        print(f"index   catalog tables indexed in {time.perf_counter() - started:.1f}s")
        from lineage.queries import current_graph

        started = time.perf_counter()
        current_graph()  # what every web and worker process already holds (lineage.queries)
        print(f"graph   lineage graph loaded in {time.perf_counter() - started:.1f}s (once per process, not timed below)")
        bench_propagation(origins(args.worst, args.random, args.seed))
        bench_searchable(args.edits)
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
