"""Benchmark of ingestion (issue 6): prints each figure.

    python bench/ingestion.py --rows 1000000

1. provision  time to create + provision one JDBC pipeline (secret, S3 prefix and bucket policy,
              Glue database, connection, ETL script + job, SNS topic) against a moto server,
              median of --pipelines runs (tasks run inline: the figure is the work, not queueing)
2. load       the local executor on a --rows row PostgreSQL table (server-side cursor in batches
              -> Parquet -> S3 upload -> Glue table + partition): seconds, rows/s, MB/s of Parquet
              written and MB/s of source table read, peak RSS of the process

Needs PostgreSQL on 127.0.0.1:5432 (source database dh_ingestion_src, the portal's
own bench database dh_ingestion_bench, both created here).
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _env(moto_url: str, database_url: str) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DATABASE_URL": database_url, "PORTAL_EMBEDDED": "1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ACCOUNT_ID": "123456789012", "AWS_ENDPOINT_URL": moto_url, "INGESTION_EXECUTOR": "local",
        "CELERY_TASK_ALWAYS_EAGER": "1", "LOG_LEVEL": "WARNING",
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pipelines", type=int, default=5)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/dh_ingestion_bench")
    args = parser.parse_args()

    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    _env(f"http://127.0.0.1:{port}", args.database_url)

    from ingestion_wizard.tests import sources

    sources.ensure_pg_database(args.database_url.rsplit("/", 1)[1])
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True, env=dict(os.environ))

    import django

    django.setup()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from ingestion_wizard import executor, services
    from ingestion_wizard.models import Pipeline
    from ingestion_wizard.validation import PipelineSpec
    from identity.roles import Role

    Pipeline.objects.all().delete()
    t0 = time.perf_counter()
    sources.reset_pg_orders(args.rows, schema="bench", table="events")
    print(f"source      {args.rows:,} rows in bench.events built in {time.perf_counter() - t0:.1f} s")

    role = Role("provider", "finance")
    timings = []
    pipeline = None
    for i in range(args.pipelines):
        spec = PipelineSpec.model_validate({
            "name": f"bench-{i}", "hub": "finance", "schedule": "0 2 * * *",
            "source": {"kind": "postgresql", "host": sources.PG_HOST, "port": sources.PG_PORT,
                       "database": sources.SOURCE_DB, "user": "postgres", "password": "bench",
                       "tables": ["bench.events"]},
            "target": {"database": f"bench_{os.getpid()}_{i}", "layer": "source"},
        })
        t0 = time.perf_counter()
        pipeline = services.create_pipeline(spec, user=None, role=role)
        timings.append(time.perf_counter() - t0)
        pipeline.refresh_from_db()
        assert pipeline.status == "ready", (pipeline.status, pipeline.error)
    print(f"provision   median {statistics.median(timings) * 1000:.0f} ms, min {min(timings) * 1000:.0f} ms, "
          f"max {max(timings) * 1000:.0f} ms over {len(timings)} pipelines (6 steps each, moto)")

    with sources.pg_admin(sources.SOURCE_DB) as conn:
        source_bytes = conn.execute("select pg_relation_size('bench.events')").fetchone()[0]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    result = executor.run_local(pipeline, run_id=1, log=lambda line: None, batch_size=args.batch)
    seconds = time.perf_counter() - t0
    assert result.rows == args.rows, result.rows
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"load        {result.rows:,} rows in {seconds:.2f} s = {result.rows / seconds:,.0f} rows/s; "
          f"Parquet {result.bytes / 1e6:.1f} MB = {result.bytes / 1e6 / seconds:.1f} MB/s; "
          f"source table {source_bytes / 1e6:.1f} MB = {source_bytes / 1e6 / seconds:.1f} MB/s read; "
          f"peak RSS {rss:.0f} MB, {rss_before:.0f} MB before the load (moto runs in this process and keeps "
          f"the uploaded file; batch {args.batch:,})")
    Pipeline.objects.all().delete()
    moto.stop()


if __name__ == "__main__":
    main()
