"""Benchmark of lineage traversal (issue 5): the in-memory graph vs a PostgreSQL recursive CTE.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dh_lineage_bench python bench/lineage.py --edges 1000000

Builds (with COPY) a layered lake of datasets — JDBC/Kafka sources → raw → prepared → semantic → marts —
where every dataset above the sources is written by one job from a few inputs picked with a heavy skew
(a few "dimension" tables feed thousands of datasets, most feed a handful), a few back edges (cycles),
and a share of edges with column mappings; 5% of datasets are catalog tables, half of them hub-only.
Then prints:

- load:    seconds to load the whole graph into memory (with its array snapshot), and the RSS it costs;
- graph:   p50/p95 of GET /api/v1/lineage/graph at depth 3 (both ways; full Django + DRF stack, consumer role);
- impact:  p50/p95 of GET /api/v1/lineage/impact (full downstream closure, first page);
- engine:  the same two questions asked of the in-process engine the API calls (lineage.graph with the
           array snapshot), uncapped;
- CTE:     the same two questions as recursive CTEs over the same edges (the approach Marquez takes),
           returning the same rows as the engine, fetched into Python: for depth 3, every node with its
           shortest distance and every edge among them with its job and column mappings; for the
           closure, every downstream dataset with its shortest distance. The two answers are compared
           for every start (outside the timings) and the bench says whether they agree.
- ratios:  CTE / engine at p50 and p95 (the same work, both in this process), and CTE / API at p95 (the
           big neighbourhoods, where users wait; at p50 a 2 ms CTE is below the ~5 ms any API request
           costs here, printed as "floor"). The old bare CTE figures (an edge count, a reachable set:
           less work than the engine does) follow as labelled extra lines.

Targets: depth-3 p95 < 50 ms, full closure p95 < 1 s, >= 10x faster than the CTE.

``--views`` instead times view-SQL lineage (lineage.sql.view_lineage) over the demo lake's views,
the part of a catalog sync that parses SQL (no database needed).
Only runs against a database whose name ends in "_bench" (it truncates the lineage tables).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.testing.databases import ensure_database  # noqa: E402
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dh_lineage_bench")

LAYERS = (("source", 0.16), ("raw", 0.24), ("prepared", 0.28), ("semantic", 0.2), ("mart", 0.12))
COLUMN_SHARE = 0.3  # share of edges carrying column mappings (3 each)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def copy_rows(cursor, table: str, columns: str, rows) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def build(edges_wanted: int, seed: int) -> dict:
    """Fill the bench database; returns the layer id ranges."""
    from django.db import connection
    from django.utils import timezone

    from catalog.models import Database, GlueCatalog, Table

    rng = random.Random(seed)
    avg_inputs = 4.0
    writers_share = 1 - LAYERS[0][1]
    datasets_total = int(edges_wanted / (avg_inputs * writers_share))
    now = timezone.now()
    started = time.monotonic()
    with connection.cursor() as c:
        c.execute("TRUNCATE lineage_columnedge, lineage_edge, lineage_graphchange, lineage_runstatechange, lineage_run, "
                  "lineage_job, lineage_dataset, lineage_event RESTART IDENTITY CASCADE")
        c.execute("TRUNCATE catalog_table, catalog_database, catalog_gluecatalog RESTART IDENTITY CASCADE")
    layers = []
    next_id = 1
    for name, share in LAYERS:
        size = int(datasets_total * share)
        layers.append((name, next_id, next_id + size))
        next_id += size
    raw = connection.cursor().cursor  # the psycopg cursor, for COPY
    copy_rows(raw, "lineage_dataset", "id, namespace, name, hub, schema_fields, created_at, updated_at",
              ((i, f"postgres://{name}-{i % 50}.internal:5432" if name == "source" else f"s3://lake-{name}",
                f"db{i % 97}.public.t{i}" if name == "source" else f"{name}/t{i}", "", "[]", now, now)
               for name, lo, hi in layers for i in range(lo, hi)))

    def pick(lo: int, hi: int) -> int:
        # Heavy skew: u**4 puts most picks on a few low ids (the shared dimension tables).
        return lo + int((hi - lo) * rng.random() ** 4)

    edge_rows, column_rows, job_rows = [], [], []
    edge_id = column_id = 0
    for index, (name, lo, hi) in enumerate(layers[1:], start=1):
        for target in range(lo, hi):
            job_rows.append((target, "bench", f"{name}.build_t{target}", "", "{}", "COMPLETE", now))
            count = max(1, min(40, int(rng.expovariate(1 / avg_inputs)) + 1))
            sources = set()
            for _ in range(count):
                upper = layers[index - 1] if rng.random() < 0.8 or index == 1 else layers[index - 2]
                sources.add(pick(upper[1], upper[2]))
            for source in sources:
                edge_id += 1
                edge_rows.append((edge_id, source, target, target, "openlineage", now))
                if rng.random() < COLUMN_SHARE:
                    for k in range(3):
                        column_id += 1
                        column_rows.append((column_id, edge_id, f"c{k}", f"c{k}", "DIRECT/IDENTITY"))
    # A few back edges: real lineage has cycles (feedback loops), the traversal must survive them.
    for _ in range(100):
        mart = layers[-1]
        raw_layer = layers[1]
        edge_id += 1
        edge_rows.append((edge_id, rng.randrange(mart[1], mart[2]), rng.randrange(raw_layer[1], raw_layer[2]), 1 + layers[1][1], "openlineage", now))
    copy_rows(raw, "lineage_job", "id, namespace, name, hub, facets, last_run_state, last_run_at", job_rows)
    copy_rows(raw, "lineage_edge", "id, source_id, target_id, job_id, origin, updated_at", edge_rows)
    copy_rows(raw, "lineage_columnedge", "id, edge_id, source_column, target_column, transformation", column_rows)

    # 5% of datasets are catalog tables (half of them hub-only to finance), for role-aware answers.
    catalog = GlueCatalog.objects.create(account_id="123456789012", region="eu-central-1")
    database = Database.objects.create(catalog=catalog, name="lake", hub="finance")
    linked = rng.sample(range(layers[1][1], layers[-1][2]), k=max(1, datasets_total // 20))
    tables = Table.objects.bulk_create(
        [Table(catalog=catalog, database=database, database_name="lake", name=f"t{i}", hub="finance",
               visibility="hub" if n % 2 else "public") for n, i in enumerate(linked)],
        batch_size=5000,
    )
    with connection.cursor() as c:
        c.execute("CREATE TEMP TABLE bench_links (dataset_id bigint, table_id bigint)")
        copy_rows(connection.cursor().cursor, "bench_links", "dataset_id, table_id", zip(linked, (t.pk for t in tables)))
        c.execute("UPDATE lineage_dataset d SET table_id = l.table_id FROM bench_links l WHERE d.id = l.dataset_id")
        for table in ("lineage_dataset", "lineage_job", "lineage_edge", "lineage_columnedge"):
            c.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        c.execute("UPDATE lineage_graphversion SET version = version + 1")
        c.execute("ANALYZE")
    print(f"built   {len(edge_rows):,} edges, {len(column_rows):,} column edges, {next_id - 1:,} datasets, "
          f"{len(job_rows):,} jobs, {len(tables):,} catalog tables in {time.monotonic() - started:.1f}s")
    return {"layers": layers}


# The depth-3 walk both ways, as Marquez walks lineage: a recursive CTE per direction, bounded by
# depth (a depth column keeps UNION from ending cycles, so the bound is what ends them), then each
# node's shortest distance.
WALK_DEPTH3 = """
WITH RECURSIVE down(id, depth) AS (
    SELECT %(s)s::bigint, 0
    UNION SELECT e.target_id, d.depth + 1 FROM lineage_edge e JOIN down d ON e.source_id = d.id WHERE d.depth < 3
), up(id, depth) AS (
    SELECT %(s)s::bigint, 0
    UNION SELECT e.source_id, u.depth + 1 FROM lineage_edge e JOIN up u ON e.target_id = u.id WHERE u.depth < 3
), nodes AS MATERIALIZED (
    SELECT id, min(depth) AS distance FROM (SELECT id, depth FROM down UNION ALL SELECT id, depth FROM up) walked GROUP BY id
)
"""


def cte_depth3(cursor, start: int) -> tuple[dict[int, int], list[tuple]]:
    """What the engine's neighbourhood returns, from PostgreSQL: node → distance, and every edge among
    those nodes with its job and column mappings (fetched into Python, one round trip)."""
    cursor.execute(
        WALK_DEPTH3
        + """
        SELECT n.id, n.distance, NULL::bigint, NULL::text[], NULL::text[], NULL::text[] FROM nodes n
        UNION ALL
        SELECT e.source_id, e.target_id, e.job_id, c.froms, c.tos, c.hows
        FROM lineage_edge e JOIN nodes a ON a.id = e.source_id JOIN nodes b ON b.id = e.target_id
        LEFT JOIN LATERAL (SELECT array_agg(source_column) froms, array_agg(target_column) tos, array_agg(transformation) hows
                           FROM lineage_columnedge c WHERE c.edge_id = e.id) c ON true
        """,
        {"s": start},
    )
    rows = cursor.fetchall()
    return {r[0]: r[1] for r in rows if r[2] is None}, [r for r in rows if r[2] is not None]


def cte_depth3_count(cursor, start: int) -> int:
    """The same walk, answering only how many edges lie among the nodes (nothing fetched)."""
    cursor.execute(
        WALK_DEPTH3.replace("nodes AS MATERIALIZED", "nodes AS")
        + "SELECT count(*) FROM lineage_edge e WHERE e.source_id IN (SELECT id FROM nodes) AND e.target_id IN (SELECT id FROM nodes)",
        {"s": start},
    )
    return cursor.fetchone()[0]


def cte_closure_distances(cursor, start: int) -> list[tuple[int, int]]:
    """What the engine's impact closure holds: every downstream dataset with its shortest distance,
    fetched. A depth column stops UNION from de-duplicating visits, so the walk is bounded by the
    API's maximum depth (20), as Marquez bounds its lineage walk."""
    cursor.execute(
        """
        WITH RECURSIVE down(id, depth) AS (
            SELECT target_id, 1 FROM lineage_edge WHERE source_id = %(s)s
            UNION SELECT e.target_id, d.depth + 1 FROM lineage_edge e JOIN down d ON e.source_id = d.id WHERE d.depth < 20
        ) SELECT id, min(depth) FROM down WHERE id <> %(s)s GROUP BY id
        """,
        {"s": start},
    )
    return cursor.fetchall()


def cte_closure(cursor, start: int) -> int:
    # UNION without a depth column de-duplicates visited ids, so cycles end (Marquez-style walk).
    cursor.execute(
        """
        WITH RECURSIVE down(id) AS (
            SELECT target_id FROM lineage_edge WHERE source_id = %(s)s
            UNION SELECT e.target_id FROM lineage_edge e JOIN down d ON e.source_id = d.id
        ) SELECT count(*) FROM down
        """,
        {"s": start},
    )
    return cursor.fetchone()[0]


def same_neighbourhood(sub, cte: tuple[dict[int, int], list[tuple]]) -> bool:
    """The engine's answer and the CTE's are the same nodes, distances, edges, jobs and mappings."""
    distances, edges = cte
    ours = sorted((s, t, j, frozenset(columns)) for s, t, j, columns in sub.edges)
    theirs = sorted((s, t, j, frozenset(zip(a, b, c)) if a else frozenset()) for s, t, j, a, b, c in edges)
    return sub.distances == distances and ours == theirs


def bench_views() -> None:
    """Time lineage.sql.view_lineage over every view of the demo lake plan (the sync's per-view cost)."""
    from catalog.demo_lake import plan_lake, presto_view_text
    from lineage.sql import referenced_tables, view_lineage

    tables = plan_lake().tables
    known: dict[str, dict[str, dict[str, str]]] = {}
    for t in tables:
        known.setdefault(t.database, {})[t.name] = {c.name: c.type for c in t.columns + t.partition_keys}
    views = [t for t in tables if t.is_view]
    texts = [presto_view_text(v) if v.view_dialect == "athena" else v.view_sql for v in views]
    per_view, edges = [], 0
    for view, text in zip(views, texts):
        started = time.perf_counter()
        schema: dict[str, dict[str, dict[str, str]]] = {}
        for database, name in referenced_tables(text, default_database=view.database):
            if name in known.get(database, {}):
                schema.setdefault(database, {})[name] = known[database][name]
        edges += len(view_lineage(text, default_database=view.database, schema=schema).columns)
        per_view.append(time.perf_counter() - started)
    columns = sum(len(v.columns) for v in views)
    print(f"views   {len(views)} demo-lake views, {columns} columns, {edges} column edges in {sum(per_view):.2f}s: "
          f"p50 {statistics.median(per_view) * 1000:.1f} ms  p95 {pct(per_view, 0.95) * 1000:.1f} ms per view")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--closure-samples", type=int, default=60)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="skip the build, use the edges already there")
    parser.add_argument("--views", action="store_true", help="only time view-SQL lineage over the demo lake's views (no database)")
    args = parser.parse_args()

    import django

    django.setup()
    if args.views:
        bench_views()
        return
    from django.conf import settings
    from django.core.management import call_command
    from django.db import OperationalError, connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    if not settings.DATABASES["default"]["NAME"].endswith("_bench"):
        sys.exit("Refusing to run: DATABASE_URL must name a database ending in _bench (it is truncated).")
    ensure_database(os.environ["DATABASE_URL"])
    call_command("migrate", verbosity=0)
    setup_test_environment()

    from lineage import queries
    from lineage.arrays import ArrayGraph
    from lineage.models import Dataset
    from identity.roles import Role
    from portal.testing.personas import login_as

    if not args.reuse:
        build(args.edges, args.seed)
    with connection.cursor() as c:
        c.execute("SELECT min(id), max(id) FROM lineage_dataset")
        low, high = c.fetchone()

    gc.collect()
    before = rss_mb()
    started = time.monotonic()
    queries.current_graph()  # loads the graph and builds its array snapshot
    load_seconds = time.monotonic() - started
    gc.collect()
    g, arrays = queries.current_engine()
    assert arrays is not None, "the array snapshot is built with the graph"
    started = time.monotonic()
    ArrayGraph(g)  # once more, only to time the snapshot alone
    print(f"load    {g.number_of_edges():,} edges / {g.number_of_nodes():,} nodes in {load_seconds:.1f}s, "
          f"+{rss_mb() - before:.0f} MB RSS (of which the array snapshot: {arrays.nbytes / 1e6:.0f} MB, "
          f"built in {time.monotonic() - started:.1f}s)")

    rng = random.Random(args.seed + 1)
    # Starts: any non-catalog dataset (visible to the bench's role, so no 404s), sources included:
    # "what breaks if I change this" is asked most of sources and raw data.
    # Half uniform, half weighted by use (the source of a random edge): people open busy tables more.
    with connection.cursor() as c:
        # REPEATABLE: the same starts on every run over the same data, so runs compare.
        c.execute("SELECT source_id FROM lineage_edge TABLESAMPLE SYSTEM (1) REPEATABLE (%s) LIMIT %s", [args.seed, args.samples * 2])
        popular = [row[0] for row in c.fetchall()]
    rng.shuffle(popular)
    candidates = [x for pair in zip((rng.randrange(low, high + 1) for _ in range(args.samples * 2)), popular) for x in pair]
    identities = {
        pk: f"{ns}/{name}"
        for pk, ns, name in Dataset.objects.filter(pk__in=candidates, table__isnull=True).values_list("id", "namespace", "name")
    }
    starts = [pk for pk in candidates if pk in identities][: args.samples]
    closure_starts = starts[: args.closure_samples]
    client = Client()
    login_as(client, "bench_consumer", Role("consumer", "marketing"))  # sees public tables; finance hub-only ones come back hidden

    def timed(call) -> float:
        t = time.perf_counter()
        call()
        return time.perf_counter() - t

    def timed_cte(call) -> float:
        """A CTE that hits the statement timeout counts as the timeout (the figure is then a lower bound)."""
        t = time.perf_counter()
        try:
            call()
        except OperationalError:
            print("  a CTE hit the 120 s statement timeout")
        return time.perf_counter() - t

    def api(path: str, params: dict) -> None:
        response = client.get(path, params)
        assert response.status_code == 200, response.content[:200]

    api("/api/v1/lineage/graph", {"node": identities[starts[0]], "depth": 3})  # warm-up
    walk = queries.lineage_graph
    # Each start is asked of the engine, the CTE and the API in turn, so load on the machine (other
    # processes) weighs on all alike; the engine goes first, so it never finds the start's part of
    # the graph warm in the CPU caches from an earlier call. The engine is what the API calls
    # (lineage.graph with the array snapshot), without the API's node cap; its answer and the CTE's
    # are compared, outside the timings.
    api_graph, engine_graph, cte_graph, cte_count, depth3_sizes = [], [], [], [], []
    api_impact, engine_impact, cte_impact, cte_set, sizes = [], [], [], [], []
    mismatches = []
    # The floor any API request pays here (session, user, role, middleware): GET /api/v1/me.
    floor = [timed(lambda: api("/api/v1/me", {})) for _ in range(50)]
    with connection.cursor() as c:
        c.execute("SET statement_timeout = '120s'")
        for s in starts:
            engine_graph.append(timed(lambda: walk.neighbourhood(g, s, depth=3, max_nodes=10**9, arrays=arrays)))
            cte_graph.append(timed_cte(lambda: cte_depth3(c, s)))
            api_graph.append(timed(lambda: api("/api/v1/lineage/graph", {"node": identities[s], "depth": 3})))
            cte_count.append(timed_cte(lambda: cte_depth3_count(c, s)))
            sub = walk.neighbourhood(g, s, depth=3, max_nodes=10**9, arrays=arrays)
            depth3_sizes.append(len(sub.distances))
            if not same_neighbourhood(sub, cte_depth3(c, s)):
                mismatches.append(f"depth 3 from {s}")
        for s in closure_starts:
            engine_impact.append(timed(lambda: walk.impact(g, s, arrays=arrays)))
            cte_impact.append(timed_cte(lambda: cte_closure_distances(c, s)))
            api_impact.append(timed(lambda: api("/api/v1/lineage/impact", {"node": identities[s]})))
            cte_set.append(timed_cte(lambda: cte_closure(c, s)))
            closure = walk.impact(g, s, arrays=arrays)
            sizes.append(len(closure))
            if closure.distances() != dict(cte_closure_distances(c, s)):
                mismatches.append(f"closure from {s}")

    def ms(values: list[float]) -> str:
        return f"p50 {statistics.median(values) * 1000:8.1f} ms  p95 {pct(values, 0.95) * 1000:8.1f} ms"

    def ratio(cte: list[float], ours: list[float]) -> str:
        return f"p50 {statistics.median(cte) / statistics.median(ours):6.1f}x  p95 {pct(cte, 0.95) / pct(ours, 0.95):6.1f}x"

    def ratio95(cte: list[float], ours: list[float]) -> str:
        return f"p95 {pct(cte, 0.95) / pct(ours, 0.95):6.1f}x"

    with open("/proc/loadavg") as f:
        print(f"machine load average {f.read().split()[0]} on {os.cpu_count()} CPUs (other processes share them)")
    print(f"samples {len(starts)} depth-3 starts (neighbourhood median {statistics.median(depth3_sizes):,.0f}, max {max(depth3_sizes):,} datasets), "
          f"{len(closure_starts)} closure starts (closure median {statistics.median(sizes):,.0f}, max {max(sizes):,} datasets)")
    print(f"answers engine and CTE agree for {len(starts) + len(closure_starts) - len(mismatches)} of {len(starts) + len(closure_starts)} "
          f"questions{': differ for ' + ', '.join(mismatches) if mismatches else ''}")
    print(f"floor   GET /api/v1/me        {ms(floor)}   (framework cost every API answer includes)")
    print(f"graph   API (node cap {settings.LINEAGE_MAX_NODES})  {ms(api_graph)}   target p95 < 50 ms")
    print(f"        engine, uncapped      {ms(engine_graph)}   (nodes + distances, edges with jobs and column mappings)")
    print(f"        PostgreSQL CTE        {ms(cte_graph)}   (the same rows, fetched)")
    print(f"        CTE / engine          {ratio(cte_graph, engine_graph)}   target >= 10x")
    print(f"        CTE / API             {ratio95(cte_graph, api_graph)}                target >= 10x (p50: the API floor alone is 2x the CTE)")
    print(f"        CTE, edge count only  {ms(cte_count)}   (the walk without fetching: not the same work, for reference)")
    print(f"impact  API (full closure)    {ms(api_impact)}   target p95 < 1 s")
    print(f"        engine                {ms(engine_impact)}   (every downstream dataset with its distance)")
    print(f"        PostgreSQL CTE        {ms(cte_impact)}   (the same rows, fetched)")
    print(f"        CTE / engine          {ratio(cte_impact, engine_impact)}   target >= 10x")
    print(f"        CTE / API             {ratio95(cte_impact, api_impact)}                target >= 10x")
    big = [i for i, size in enumerate(sizes) if size >= 10_000]
    if big:
        pick = lambda values: [values[i] for i in big]  # noqa: E731
        print(f"        closures >= 10,000 datasets ({len(big)} starts): engine {ms(pick(engine_impact))}, "
              f"CTE {ms(pick(cte_impact))}, CTE / engine {ratio(pick(cte_impact), pick(engine_impact))}")
    print(f"        CTE, reachable set    {ms(cte_set)}   (ids only, no distances: not the same answer, for reference)")


if __name__ == "__main__":
    main()
