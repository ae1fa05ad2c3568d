"""Benchmark of the Glue catalog sync (issue 2): prints each figure and its ratio to a bare boto3 walk.

    python bench/catalog_sync.py --tables 100000

What it does, all against one moto Glue server seeded with wide tables whose
names, columns and comments come from the Tuva models (catalog/fixtures/tuva):

1. walk      a bare boto3 paginator walk (get_databases, get_tables per database), nothing else
2. sync      a full sync into an empty database (DATABASE_URL, default the bench's own PostgreSQL db)
3. pass      the partition pass that follows it (one get_partitions call per partitioned table: work the
             walk does not do, so it is reported on its own, with a bare walk of the same calls beside it)
4. resync    a full reconcile after 1% of the tables changed in Glue (the "incremental reconcile")
5. indexed   a full sync into an empty database with the search index built along (osmem started here)
6. lag       event path: Glue update + change event on SQS -> poller -> mirror -> search index, seconds

Each phase runs in its own process so its peak memory (ru_maxrss) is its own.
Targets (issue 2): sync <= 1.5x walk, indexed <= 2.3x walk, peak < 300 MB at 100k tables,
resync < 10% of sync, lag < 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.testing.databases import ensure_database  # noqa: E402
ACCOUNT = "123456789012"
REGION = "eu-central-1"
HUBS = ("finance", "marketing", "sales", "clinical", "claims", "pharmacy", "provider", "member")
LAYERS = ("source", "prepared", "semantic")
TYPES = ("string", "bigint", "int", "double", "decimal(18,2)", "date", "timestamp", "boolean", "varchar(64)")
FORMATS = {
    "parquet": ("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
    "json": ("org.apache.hadoop.mapred.TextInputFormat", "org.openx.data.jsonserde.JsonSerDe"),
    "csv": ("org.apache.hadoop.mapred.TextInputFormat", "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"),
}


def _load_models() -> list[dict[str, Any]]:
    for path in (ROOT / "catalog/fixtures/tuva/models.json", Path("/work/shared/data/schemas/tuva-models.json")):
        if path.exists():
            return json.loads(path.read_text())["models"]
    raise SystemExit("no Tuva models found (catalog/fixtures/tuva/models.json)")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_ACCOUNT_ID": ACCOUNT,
                "LOG_LEVEL": "WARNING", "PORTAL_EMBEDDED": "1"})
    env.update(extra)
    return env


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc), for the per-phase split."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the moto server process: seeds its Glue backend in-process (fast), then serves ---------------


def table_input(rng: random.Random, models: list[dict[str, Any]], name: str, partitioned: bool) -> dict[str, Any]:
    """A wide table: columns of a few related Tuva models, 10-70 columns, realistic names and comments."""
    width = rng.randint(10, 70)
    columns: list[dict[str, str]] = []
    seen: set[str] = set()
    while len(columns) < width:
        model = rng.choice(models)
        for col in model["columns"]:
            if col["name"] not in seen and len(columns) < width:
                seen.add(col["name"])
                columns.append({"Name": col["name"], "Type": rng.choice(TYPES),
                                "Comment": (col.get("description") or "")[:250]})
        if len(seen) < width and rng.random() < 0.05:  # a few synthetic columns keep very wide tables possible
            extra = f"attr_{len(columns):03d}"
            seen.add(extra)
            columns.append({"Name": extra, "Type": "string", "Comment": ""})
    fmt = rng.choice(("parquet", "parquet", "parquet", "json", "csv"))
    return {
        "Name": name,
        "Description": rng.choice(models)["description"][:500] if rng.random() < 0.7 else "",
        "TableType": "EXTERNAL_TABLE",
        "Owner": "hadoop",
        "Parameters": {"classification": rng.choice(("internal", "confidential", "public")),
                       "owner": f"team-{rng.randint(1, 40)}@example.com", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": "dt", "Type": "string"}] if partitioned else [],
        "StorageDescriptor": {"Columns": columns, "Location": f"s3://datahub-lake/{name}/",
                              "InputFormat": FORMATS[fmt][0], "SerdeInfo": {"SerializationLibrary": FORMATS[fmt][1]}},
    }


def serve_moto(port: int, tables: int, databases: int, partitioned_share: float, seed: int) -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per Glue request
    from moto.glue.models import glue_backends
    from moto.server import ThreadedMotoServer

    rng = random.Random(seed)
    models = [m for m in _load_models() if m["columns"]]
    backend = glue_backends[ACCOUNT][REGION]
    per_db = -(-tables // databases)
    made = 0
    for d in range(databases):
        hub, layer = HUBS[d % len(HUBS)], LAYERS[(d // len(HUBS)) % len(LAYERS)]
        db = f"{hub}_{layer}_{d:04d}"
        backend.create_database(db, {"Name": db, "Parameters": {"hub": hub, "layer": layer,
                                                                 "visibility": rng.choice(("hub", "public"))}})
        for t in range(min(per_db, tables - made)):
            model = rng.choice(models)
            name = f"{model['name']}_{t:05d}"
            partitioned = rng.random() < partitioned_share
            table = backend.create_table(db, name, table_input(rng, models, name, partitioned))
            if partitioned:
                for day in ("2026-11-25", "2026-11-26", "2026-11-27"):
                    table.create_partition({"Values": [day], "StorageDescriptor": {
                        "Location": f"s3://datahub-lake/{name}/dt={day}/"}})
            made += 1
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print("READY", made, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


# --- phases (each in its own process) ----------------------------------------------------------------


def _django() -> None:
    import django

    django.setup()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _only_search_receiver(keep_search: bool) -> None:
    """Measure the sync itself: other features' receivers (lineage) are not part of these figures."""
    from catalog import signals
    from catalog.search.sync_hook import index_changed_tables

    signals.tables_changed.receivers.clear()
    signals.tables_changed.sender_receivers_cache.clear()
    signals.partitions_added.receivers.clear()
    if keep_search:
        signals.tables_changed.connect(index_changed_tables, dispatch_uid="catalog.search.sync_hook")


def phase_walk() -> dict[str, Any]:
    from portal import aws

    glue = aws.client("glue", region=REGION)
    base = _rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    tables = columns = 0
    for page in glue.get_paginator("get_databases").paginate(CatalogId=ACCOUNT):
        for db in page["DatabaseList"]:
            for tpage in glue.get_paginator("get_tables").paginate(CatalogId=ACCOUNT, DatabaseName=db["Name"]):
                tables += len(tpage["TableList"])
                columns += sum(len(t.get("StorageDescriptor", {}).get("Columns", [])) for t in tpage["TableList"])
    return {"seconds": time.perf_counter() - started, "tables": tables, "columns": columns,
            "peak_mb": _rss_mb(), "base_mb": base, "cpu": time.process_time() - cpu}


def phase_sync(keep_search: bool) -> dict[str, Any]:
    _django()
    _only_search_receiver(keep_search)
    from catalog.models import GlueCatalog
    from catalog.services.sync import ensure_catalogs, full_sync

    catalog = ensure_catalogs()[0]
    base = _rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    run = full_sync(catalog)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "status": run.status, "counts": run.counts, "warnings": len(run.warnings),
            "error": run.error, "peak_mb": _rss_mb(), "base_mb": base, "cpu": time.process_time() - cpu,
            "index_stale": GlueCatalog.objects.get(pk=catalog.pk).index_stale}


def phase_partitions() -> dict[str, Any]:
    """The partition pass after the full sync (sync_partitions), then a bare walk of the same Glue calls."""
    _django()
    _only_search_receiver(False)
    from catalog.models import Table
    from catalog.services.partitions import sync_partitions
    from catalog.services.sync import ensure_catalogs
    from portal import aws

    catalog = ensure_catalogs()[0]
    tables = list(Table.objects.filter(partitions_pending=True).values_list("database_name", "name"))
    started = time.perf_counter()
    run = sync_partitions(catalog)
    seconds = time.perf_counter() - started
    glue = aws.client("glue", region=REGION)
    started = time.perf_counter()
    for database, name in tables:
        for _page in glue.get_paginator("get_partitions").paginate(CatalogId=ACCOUNT, DatabaseName=database,
                                                                   TableName=name):
            pass
    return {"seconds": seconds, "walk_seconds": time.perf_counter() - started, "tables": len(tables),
            "status": run.status, "counts": run.counts, "peak_mb": _rss_mb()}


def phase_refresh(tables_file: str) -> dict[str, Any]:
    """The incremental path: refresh just the tables change events named (refresh_tables)."""
    _django()
    _only_search_receiver(False)
    from catalog.services.sync import ensure_catalogs, refresh_tables

    pairs = [tuple(p) for p in json.loads(Path(tables_file).read_text())]
    catalog = ensure_catalogs()[0]
    started = time.perf_counter()
    run = refresh_tables(catalog, pairs)
    return {"seconds": time.perf_counter() - started, "status": run.status, "counts": run.counts,
            "peak_mb": _rss_mb()}


def phase_reset() -> dict[str, Any]:
    _django()
    from django.db import connection

    from catalog.models import Column, Database, GlueCatalog, Partition, SyncRun, Table, TableVersion

    names = [m._meta.db_table for m in (Column, Partition, TableVersion, Table, Database, SyncRun, GlueCatalog)]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
    return {}


def phase_poller(seconds: float) -> dict[str, Any]:
    _django()
    _only_search_receiver(True)
    from django.conf import settings

    from catalog.services.events import poll_events

    report = poll_events(settings.CATALOG_EVENTS_QUEUE_URL, seconds=seconds)
    return report.as_dict()


# Processes whose CPU each phase reports beside its own (moto, osmem): set once they are started.
SERVERS: dict[str, int] = {}


def _run_phase(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    before = {name: _cpu_seconds(pid) for name, pid in SERVERS.items()}
    out = subprocess.run([sys.executable, __file__, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"phase {args} failed:\n{out.stderr[-4000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["server_cpu"] = {name: _cpu_seconds(pid) - before[name] for name, pid in SERVERS.items()}
    return result


def _cpu_note(phase: dict[str, Any]) -> str:
    """Where the CPU went: the phase's own process and each server (2 cores: what can overlap)."""
    parts = [f"own {phase['cpu']:.0f}"] if "cpu" in phase else []
    parts += [f"{name} {seconds:.0f}" for name, seconds in phase.get("server_cpu", {}).items()]
    return f"CPU s: {', '.join(parts)}"


# --- orchestration -------------------------------------------------------------------------------------


def _change_tables(endpoint: str, share: float, seed: int) -> list[tuple[str, str]]:
    """Change ``share`` of the tables in Glue (a column added) through the API, like a producer would."""
    import boto3

    glue = boto3.client("glue", region_name=REGION, endpoint_url=endpoint)
    rng = random.Random(seed)
    changed: list[tuple[str, str]] = []
    for page in glue.get_paginator("get_databases").paginate(CatalogId=ACCOUNT):
        for db in page["DatabaseList"]:
            for tpage in glue.get_paginator("get_tables").paginate(CatalogId=ACCOUNT, DatabaseName=db["Name"]):
                for table in tpage["TableList"]:
                    if rng.random() >= share:
                        continue
                    glue.update_table(CatalogId=ACCOUNT, DatabaseName=db["Name"],
                                      TableInput=_with_new_column(table, f"bench_col_{seed}_{len(changed)}"))
                    changed.append((db["Name"], table["Name"]))
    return changed


def _with_new_column(table: dict[str, Any], column: str) -> dict[str, Any]:
    keep = ("Name", "Description", "Owner", "TableType", "Parameters", "PartitionKeys", "StorageDescriptor")
    data = {k: table[k] for k in keep if k in table}
    data["StorageDescriptor"] = {**data.get("StorageDescriptor", {})}
    data["StorageDescriptor"]["Columns"] = [*data["StorageDescriptor"].get("Columns", []),
                                            {"Name": column, "Type": "string"}]
    return data


def _measure_lag(endpoint: str, env: dict[str, str], samples: int) -> list[float]:
    """Glue update + event on SQS -> poller process -> search index; seconds per sample."""
    import boto3
    from opensearchpy import OpenSearch

    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    queue = sqs.create_queue(QueueName="bench-catalog-events")["QueueUrl"]
    glue = boto3.client("glue", region_name=REGION, endpoint_url=endpoint)
    search = OpenSearch(hosts=[env["OPENSEARCH_URL"]], timeout=60)
    alias = f"{env.get('OPENSEARCH_INDEX_PREFIX', 'datahub')}-tables"
    db = glue.get_databases(CatalogId=ACCOUNT)["DatabaseList"][0]["Name"]
    tables = glue.get_tables(CatalogId=ACCOUNT, DatabaseName=db)["TableList"][:samples]
    poller_env = {**env, "CATALOG_EVENTS_QUEUE_URL": queue}
    poller = subprocess.Popen([sys.executable, __file__, "--phase", "poller", "--seconds", str(15 + 4 * samples)],
                              env=poller_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(6)  # the poller process is up and long-polling, as the beat-driven task is in steady state
    lags: list[float] = []
    for i, table in enumerate(tables):
        column = f"lag_probe_{i}"
        started = time.perf_counter()
        glue.update_table(CatalogId=ACCOUNT, DatabaseName=db, TableInput=_with_new_column(table, column))
        event = {"version": "0", "detail-type": "Glue Data Catalog Table State Change", "source": "aws.glue",
                 "account": ACCOUNT, "region": REGION,
                 "detail": {"databaseName": db, "tableName": table["Name"], "typeOfChange": "UpdateTable"}}
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event))
        while time.perf_counter() - started < 30:
            hits = search.search(index=alias, body={"query": {"term": {"column_names": column}}, "size": 1})
            if hits["hits"]["hits"]:
                break
            time.sleep(0.05)
        lags.append(time.perf_counter() - started)
        time.sleep(0.5)
    poller.terminate()
    poller.communicate(timeout=30)
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=100_000)
    parser.add_argument("--databases", type=int, default=0, help="default: one per 500 tables")
    parser.add_argument("--partitioned", type=float, default=0.2, help="share of tables with partitions")
    parser.add_argument("--changed", type=float, default=0.01, help="share of tables changed before the resync")
    parser.add_argument("--lag-samples", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--walk-and-sync-only", action="store_true",
                        help="only the walk and the full sync (with its peak memory): the quick check at 100k")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=30, help=argparse.SUPPRESS)
    parser.add_argument("--tables-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    databases = args.databases or max(1, args.tables // 500)

    if args.phase == "moto":
        return serve_moto(args.port, args.tables, databases, args.partitioned, args.seed)
    if args.phase:
        result = {"walk": phase_walk, "sync": lambda: phase_sync(False), "indexed": lambda: phase_sync(True),
                  "reset": phase_reset, "poller": lambda: phase_poller(args.seconds), "partitions": phase_partitions,
                  "refresh": lambda: phase_refresh(args.tables_file)}[args.phase]()
        print(json.dumps(result, default=str))
        return

    from portal.testing.services import free_port

    os.environ.update({k: v for k, v in _env().items() if k.startswith("AWS_")})

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dh_sync_bench")
    print(f"Seeding moto with {args.tables:,} tables in {databases:,} databases "
          f"({args.partitioned:.0%} partitioned)…", flush=True)
    seeded_at = time.perf_counter()
    moto = subprocess.Popen([sys.executable, __file__, "--phase", "moto", "--port", str(port),
                             "--tables", str(args.tables), "--databases", str(databases),
                             "--partitioned", str(args.partitioned), "--seed", str(args.seed)],
                            env=_env(), cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert moto.stdout is not None and moto.stdin is not None
    ready = moto.stdout.readline()
    if not ready.startswith("READY"):
        raise SystemExit("moto server did not start")
    SERVERS["moto"] = moto.pid
    print(f"  seeded in {time.perf_counter() - seeded_at:.0f} s", flush=True)
    env = _env(AWS_ENDPOINT_URL=endpoint, DATABASE_URL=database_url, OPENSEARCH_URL="http://127.0.0.1:1",
               AWS_MAX_ATTEMPTS="3", CELERY_BROKER_URL="memory://")
    _prepare_database(database_url, env)
    osmem = None
    try:
        walk = _run_phase(["--phase", "walk"], env)
        print(f"walk: {walk['tables']:,} tables, {walk['columns']:,} columns in {walk['seconds']:.1f} s", flush=True)
        _run_phase(["--phase", "reset"], env)
        sync = _run_phase(["--phase", "sync"], env)
        print(f"sync: {sync['seconds']:.1f} s {sync['status']} {sync['counts']}", flush=True)
        passed = _run_phase(["--phase", "partitions"], env)
        print(f"partition pass: {passed['seconds']:.1f} s for {passed['tables']:,} tables "
              f"(bare get_partitions walk {passed['walk_seconds']:.1f} s) {passed['status']} {passed['counts']}",
              flush=True)
        if args.walk_and_sync_only:
            w = walk["seconds"]
            print(f"\nfull sync {sync['seconds']:.1f} s = {sync['seconds'] / w:.2f}x the walk ({w:.1f} s); "
                  f"{walk['tables'] / sync['seconds']:,.0f} tables/s; peak RSS {sync['peak_mb']:.0f} MB "
                  f"({sync['peak_mb'] - sync['base_mb']:.0f} MB above Django at rest)\n"
                  f"sync {_cpu_note(sync)}; walk {_cpu_note(walk)}")
            return
        changed = len(_change_tables(endpoint, args.changed, args.seed + 1))
        resync = _run_phase(["--phase", "sync"], env)
        print(f"resync after {changed} changed: {resync['seconds']:.1f} s {resync['counts']}", flush=True)
        tables_file = Path(tempfile.mkstemp(suffix=".json")[1])
        tables_file.write_text(json.dumps(_change_tables(endpoint, args.changed, args.seed + 2)))
        refresh = _run_phase(["--phase", "refresh", "--tables-file", str(tables_file)], env)
        tables_file.unlink()
        print(f"refresh of the changed tables: {refresh['seconds']:.1f} s {refresh['counts']}", flush=True)

        from osmem_server import OsmemServer

        osmem = OsmemServer.start(japanese=False)
        env["OPENSEARCH_URL"] = osmem.url
        SERVERS["osmem"] = _osmem_pid(osmem.url)
        _run_phase(["--phase", "reset"], env)
        indexed = _run_phase(["--phase", "indexed"], env)
        print(f"sync + index: {indexed['seconds']:.1f} s {indexed['status']} stale={indexed['index_stale']}",
              flush=True)
        lags = _measure_lag(endpoint, env, args.lag_samples)
        # The machine is shared: a second walk at the end, and the ratios use the mean of both.
        walk_again = _run_phase(["--phase", "walk"], env)
        print(f"walk again: {walk_again['seconds']:.1f} s", flush=True)
        walk["first_seconds"], walk["last_seconds"] = walk["seconds"], walk_again["seconds"]
        walk["seconds"] = (walk["seconds"] + walk_again["seconds"]) / 2
    finally:
        moto.stdin.close()
        moto.wait(timeout=60)
        if osmem is not None:
            osmem.close()
    _report(args, walk, sync, passed, resync, changed, refresh, indexed, lags)


def _osmem_pid(url: str) -> int:
    """The osmem-server process listening on ``url``'s port (a child of this process)."""
    port = int(url.rsplit(":", 1)[1].strip("/"))
    inodes = {line.split()[9] for name in ("/proc/net/tcp", "/proc/net/tcp6") if Path(name).exists()
              for line in Path(name).read_text().splitlines()[1:]
              if int(line.split()[1].rsplit(":", 1)[1], 16) == port and line.split()[3] == "0A"}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if any(os.readlink(fd).strip("socket:[]") in inodes for fd in (proc / "fd").iterdir()):
                    return int(proc.name)
            except OSError:
                continue
    raise SystemExit(f"no process listens on {url}")


def _prepare_database(database_url: str, env: dict[str, str]) -> None:
    ensure_database(database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)


def _report(args: argparse.Namespace, walk: dict, sync: dict, passed: dict, resync: dict, changed: int,
            refresh: dict, indexed: dict, lags: list[float]) -> None:
    w = walk["seconds"]
    tables = walk["tables"]
    print()
    print(f"Catalog sync benchmark: {tables:,} tables, {walk['columns']:,} columns "
          f"({walk['columns'] / max(tables, 1):.0f} per table), {args.partitioned:.0%} partitioned")
    print(f"{'figure':44} {'value':>14} {'x walk':>8}  target")
    rows = [
        ("bare boto3 walk (get_databases/get_tables)", f"{w:.1f} s", 1.0,
         f"mean of {walk['first_seconds']:.1f} s (first) and {walk['last_seconds']:.1f} s (last)"),
        ("full sync into the database", f"{sync['seconds']:.1f} s", sync["seconds"] / w, "<= 1.5x"),
        ("  " + _cpu_note(sync), "", None, f"(walk: {_cpu_note(walk)})"),
        ("  tables/s", f"{tables / sync['seconds']:,.0f}", None, ""),
        ("  peak memory (process RSS)", f"{sync['peak_mb']:.0f} MB", None, "< 300 MB"),
        ("  of which above Django at rest", f"{sync['peak_mb'] - sync['base_mb']:.0f} MB", None, ""),
        (f"partition pass after it ({passed['tables']:,} tables)", f"{passed['seconds']:.1f} s",
         passed["seconds"] / w, f"bare get_partitions walk {passed['walk_seconds']:.1f} s "
                                f"({passed['seconds'] / passed['walk_seconds']:.2f}x)"),
        ("  sync and pass together", f"{sync['seconds'] + passed['seconds']:.1f} s",
         (sync["seconds"] + passed["seconds"]) / w, "(the walk does no partition calls)"),
        (f"incremental refresh of {refresh['counts']['tables_updated']:,} changed ({args.changed:.0%}, events)",
         f"{refresh['seconds']:.1f} s", refresh["seconds"] / w,
         f"< 10% of sync ({refresh['seconds'] / sync['seconds']:.1%})"),
        (f"full reconcile with {changed:,} changed ({args.changed:.0%})", f"{resync['seconds']:.1f} s",
         resync["seconds"] / w, f"({resync['seconds'] / sync['seconds']:.0%} of sync)"),
        ("  peak memory (process RSS)", f"{resync['peak_mb']:.0f} MB", None, ""),
        ("full sync + search index built", f"{indexed['seconds']:.1f} s", indexed["seconds"] / w, "<= 2.3x"),
        ("  " + _cpu_note(indexed), "", None, ""),
        ("  peak memory (process RSS)", f"{indexed['peak_mb']:.0f} MB", None, ""),
        ("event lag Glue update -> search (median)", f"{statistics.median(lags):.2f} s",
         statistics.median(lags) / w, "< 5 s"),
        ("event lag (max)", f"{max(lags):.2f} s", None, ""),
    ]
    for label, value, ratio, target in rows:
        print(f"{label:44} {value:>14} {'' if ratio is None else f'{ratio:.2f}x':>8}  {target}")
    if indexed.get("index_stale"):
        print("NOTE: the search index was marked stale during the indexed sync (OpenSearch refused writes).")


if __name__ == "__main__":
    main()
