"""Benchmark of access requests and LF-tags (issue 17): prints each figure next to its target.

    python bench/governance.py --requests 50 --tables 10000

Against a moto server (started here, taught by portal.aws_emulator) and PostgreSQL (DATABASE_URL,
default the bench's own database):

1. grant    request → approve → Lake Formation grant → read back (ListPermissions) → ``granted``, through the
            services and the Celery task (run eagerly), seconds per request: p50 / p95
2. lf-tags  a full sync of T tables (unchanged since the last one) with and without reading the LF-tags
            (batched: per tag key, paged SearchTablesByLFTags / SearchDatabasesByLFTags), and the ratio

Target: LF-tag sync overhead < 1.3x at 10,000 tables. The grant figure is printed with the machine's load
average (the issue sets no target for it; most of it is boto3 client set-up and moto round trips).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASES = 20
COLUMNS = 12


def _setup(database_url: str) -> str:
    """bench/workspaces.py's moto server, database and Django, with moto taught the Lake Formation calls."""
    from bench.workspaces import _setup as workspaces_setup
    from portal.aws_emulator import teach_moto

    teach_moto()  # patches moto's classes in this process, so the server started next serves them
    os.environ.update({"ACCESS_DEFAULT_ROLE_ARNS": "1",
                       "OPENSEARCH_URL": "http://127.0.0.1:1"})  # no index: the search receiver is not measured
    endpoint = workspaces_setup(database_url)
    import logging

    for noisy in ("celery", "catalog", "access", "opensearch", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    return endpoint


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def bench_grants(requests: int) -> list[float]:
    from datetime import timedelta

    from django.utils import timezone

    from access import services
    from access.models import AccessRequest
    from catalog.models import Database, GlueCatalog, Table
    from identity.roles import Role
    from portal.celery import app
    from portal.testing.personas import make_user

    app.conf.task_always_eager = True  # the grant task runs at once, as a free worker would
    # A catalog of its own: the LF-tag syncs below must not find these tables missing from Glue.
    catalog, _ = GlueCatalog.objects.get_or_create(account_id="000000000000", region="eu-central-1")
    database = Database.objects.create(catalog=catalog, name="bench_grants", hub="finance")
    consumer, steward = make_user("bench-consumer", ["dh-finance-consumer"]), make_user("bench-steward")
    role, steward_role = Role("consumer", "finance"), Role("steward", "finance")
    until = timezone.localdate() + timedelta(days=30)
    seconds = []
    for n in range(requests):
        table = Table.objects.create(catalog=catalog, database=database, database_name="bench_grants",
                                     name=f"t{n:05d}", hub="finance", visibility="hub")
        started = time.perf_counter()
        request = services.request_access(user=consumer, role=role, dataset=table.qualified_name,
                                          purpose="bench", until=until)
        services.approve(request, actor=steward, role=steward_role)
        assert AccessRequest.objects.get(pk=request.pk).state == "granted"
        seconds.append(time.perf_counter() - started)
    return seconds


def _seed_lake(tables: int) -> None:
    """Glue databases and tables with LF-tags, written straight into the in-process moto server's backends
    (10,000 CreateTable calls over HTTP take minutes; what is measured is the sync reading them back)."""
    from moto.glue.models import glue_backends
    from moto.lakeformation.models import lakeformation_backends

    from portal import aws

    account, region = "123456789012", "eu-central-1"
    glue, lf = glue_backends[account][region], lakeformation_backends[account][region]
    client = aws.client("lakeformation")
    client.create_lf_tag(TagKey="domain", TagValues=["finance", "marketing", "treasury"])
    client.create_lf_tag(TagKey="pii", TagValues=["yes", "no"])

    def tag(key: str, value: str) -> list[dict[str, object]]:
        return [{"CatalogId": account, "TagKey": key, "TagValues": [value]}]

    per_database = -(-tables // DATABASES)
    for d in range(DATABASES):
        name = f"bench_db_{d:02d}"
        glue.create_database(name, {"Name": name, "Parameters": {"hub": "finance", "layer": "prepared"}})
        lf.lf_database_tags[(account, name)] = tag("domain", "finance" if d % 2 else "marketing")
    for n in range(tables):
        database, name = f"bench_db_{n // per_database:02d}", f"table_{n:06d}"
        glue.create_table(database, name, {
            "Name": name, "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": {"Columns": [{"Name": f"c{c}", "Type": "string"} for c in range(COLUMNS)],
                                  "Location": f"s3://lake/{database}/{name}/"}})
        if n % 10 == 0:  # a tenth override their database's domain, a tenth tag a column
            lf.lf_table_tags[(account, database, name)] = tag("domain", "treasury")
        if n % 10 == 5:
            lf.lf_columns_tags[(account, database, name, "c1")] = tag("pii", "yes")


def _timed_sync(with_tags: bool) -> float:
    from django.conf import settings

    from catalog.services.sync import ensure_catalogs, full_sync

    settings.CATALOG_SYNC_LF_TAGS = with_tags
    catalog = next(c for c in ensure_catalogs() if c.account_id == "123456789012")
    started = time.perf_counter()
    run = full_sync(catalog)
    seconds = time.perf_counter() - started
    assert run.status in ("succeeded", "partial"), (run.status, run.error, run.warnings[:3])
    return seconds


def bench_lf_tags(tables: int, rounds: int) -> dict[str, float]:
    from catalog.models import Table

    started = time.perf_counter()
    _seed_lake(tables)
    print(f"  seeded {tables:,} tables in {time.perf_counter() - started:.0f} s", flush=True)
    _timed_sync(False)  # creates the mirror
    _timed_sync(True)  # stores the tags once
    tagged = Table.objects.exclude(lf_tags={}).count()
    without = min(_timed_sync(False) for _ in range(rounds))
    with_tags = min(_timed_sync(True) for _ in range(rounds))
    return {"without": without, "with": with_tags, "tagged": tagged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--tables", type=int, default=10000, help="0: measure the grants only")
    parser.add_argument("--rounds", type=int, default=2, help="syncs per variant (the fastest counts)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 "postgres://postgres@127.0.0.1:5432/bench_governance"))
    args = parser.parse_args()
    _setup(args.database_url)

    grants = bench_grants(args.requests)
    print(f"grant: request → verified grant, {len(grants)} requests: p50 {statistics.median(grants) * 1000:.0f} ms, "
          f"p95 {_percentile(grants, 0.95) * 1000:.0f} ms (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs)", flush=True)
    if not args.tables:
        return
    sync = bench_lf_tags(args.tables, args.rounds)
    ratio = sync["with"] / sync["without"]
    print(f"lf-tags: full sync of {args.tables:,} unchanged tables ({sync['tagged']:,} tagged): "
          f"{sync['without']:.1f} s without LF-tags, {sync['with']:.1f} s with; ratio {ratio:.2f}x (target < 1.3x)",
          flush=True)


if __name__ == "__main__":
    main()
