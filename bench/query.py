"""Benchmark of queries (issue 18): previews and a grouped aggregate on the local engine over a 1M-row
Parquet table in moto S3, against DuckDB reading the same files directly.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dh_query_bench python bench/query.py --rows 1000000

1. lake        a moto server started here; ROWS rows (id, customer, amount, day) written as FILES Parquet
               objects to s3://datahub-lake/bench/orders/, a Glue table over them, mirrored by the sync
2. preview     the portal's preview (``queries.services.preview``: role, Lake Formation grants, S3, DuckDB)
               ROUNDS times: p50 and p95
3. aggregate   ``SELECT customer, count(*), sum(amount) … GROUP BY customer`` through the local engine
               (Glue, Lake Formation, S3 reads, sqlglot, DuckDB) against bare DuckDB reading the same Parquet
               files from local disk (``read_parquet``), interleaved: medians and the ratio (target ≤ 1.5×)
4. popularity  ``queries.usage.popularity`` for a page of 20 tables (what search would add per page): p95
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.testing.databases import ensure_database  # noqa: E402

AGGREGATE = "SELECT customer, count(*) AS orders, sum(amount) AS total FROM bench_lake.orders GROUP BY customer"


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def start_moto() -> str:
    from moto.server import ThreadedMotoServer

    from portal.aws_emulator import teach_moto
    from portal.testing.services import free_port

    teach_moto()
    port = free_port()
    ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False).start()
    return f"http://127.0.0.1:{port}"


def setup_django(endpoint: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dh_query_bench")
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      QUERY_ENGINE="local", OPENSEARCH_URL="http://127.0.0.1:1")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def write_lake(rows: int, files: int, folder: Path) -> None:
    """ROWS rows in FILES Parquet objects in moto S3 (a copy of each in ``folder`` for bare DuckDB)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.conf import settings

    from catalog.testing import make_glue_database, make_glue_table
    from portal import aws

    s3 = aws.client("s3")
    s3.create_bucket(Bucket=settings.LAKE_BUCKET,
                     CreateBucketConfiguration={"LocationConstraint": settings.AWS_DEFAULT_REGION})
    rng = np.random.default_rng(7)
    per_file = rows // files
    for n in range(files):
        start = n * per_file
        table = pa.table({
            "id": pa.array(np.arange(start, start + per_file, dtype=np.int64)),
            "customer": pa.array([f"C{c:05d}" for c in rng.integers(0, 10_000, per_file)]),
            "amount": pa.array(rng.uniform(1, 500, per_file).round(2)),
            "day": pa.array(np.datetime64("2026-01-01") + rng.integers(0, 300, per_file).astype("timedelta64[D]")),
        })
        path = folder / f"part-{n:05d}.parquet"
        pq.write_table(table, path)
        s3.put_object(Bucket=settings.LAKE_BUCKET, Key=f"bench/orders/{path.name}", Body=path.read_bytes())
    make_glue_database("bench_lake", hub="finance", layer="prepared", visibility="public")
    make_glue_table("bench_lake", "orders", [("id", "bigint"), ("customer", "string"), ("amount", "double"),
                                             ("day", "date")], hub="finance")
    from catalog.services.sync import ensure_catalogs, full_sync

    for catalog in ensure_catalogs():
        full_sync(catalog)
    from catalog.models import Table

    Table.objects.filter(database_name="bench_lake", name="orders").update(
        location=f"s3://{settings.LAKE_BUCKET}/bench/orders/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    setup_django(start_moto())
    import duckdb

    from catalog.models import Table
    from identity.roles import Role
    from portal.testing.personas import make_user
    from queries import services, usage
    from queries.engines import Limits
    from queries.engines.local import LocalEngine

    with tempfile.TemporaryDirectory(prefix="query-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        write_lake(args.rows, args.files, folder)
        print(f"lake:      {args.rows:,} rows in {args.files} Parquet objects in moto S3 "
              f"({sum(p.stat().st_size for p in folder.iterdir()) / 1e6:.1f} MB), mirrored in "
              f"{time.perf_counter() - started:.1f}s")
        table = Table.objects.get(database_name="bench_lake", name="orders")
        role = Role("consumer", "finance")
        user = make_user("bench-consumer", ["dh-finance-consumer"])

        previews = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            body = services.preview(table, role=role, user=user, limit=100)
            previews.append(time.perf_counter() - started)
        assert len(body["rows"]) == 100
        p50, p95 = _stats(previews)
        print(f"preview:   100 rows x {args.rounds}: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")

        engine_times, bare_times = [], []
        bare = duckdb.connect()
        bare_sql = AGGREGATE.replace("bench_lake.orders", f"read_parquet('{folder}/*.parquet')")
        for _ in range(args.rounds):
            started = time.perf_counter()
            outcome = LocalEngine(role, Limits.for_queries()).run(AGGREGATE)
            engine_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            expected = bare.execute(bare_sql).fetchall()
            bare_times.append(time.perf_counter() - started)
        assert len(outcome.rows) == min(len(expected), Limits.for_queries().max_rows)
        engine, bare_median = statistics.median(engine_times), statistics.median(bare_times)
        print(f"aggregate: GROUP BY over {args.rows:,} rows x {args.rounds}: local engine median {engine * 1000:.0f} ms, "
              f"bare DuckDB median {bare_median * 1000:.0f} ms, ratio {engine / bare_median:.2f}x (target <= 1.5x)")

        ids = list(Table.objects.values_list("pk", flat=True)[:20])
        lookups = []
        for _ in range(args.rounds * 10):
            started = time.perf_counter()
            usage.popularity(ids)
            lookups.append(time.perf_counter() - started)
        p50, p95 = _stats(lookups)
        print(f"popularity: 30-day reads of a page of {len(ids)} tables: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
