"""Benchmark of search (issue 3): index build, and the portal's overhead over raw OpenSearch queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dh_search_bench python bench/search.py --tables 100000

1. catalog   generates TABLES tables with about 20 columns each (names, comments from the Tuva models
             in catalog/fixtures/search_relevance, scaled up with variants) straight into PostgreSQL
             (skipped when the database already holds that catalog; --fresh regenerates it)
2. index     ``catalog.search.indexer.rebuild()`` into an osmem-server started here (or OPENSEARCH_URL
             with --opensearch-url): seconds, documents/s, columns/s
3. queries   a mix of search and suggest queries, each sent through the portal (/api/v1/search and
             /api/v1/search/suggest via Django's test client: session auth, role, request parsing, query
             building, result shaping, JSON) and the same OpenSearch body sent raw with opensearch-py,
             interleaved; prints median and p95 of both and the ratio (target: portal p95 <= 1.3x raw).
4. relevance top-1, top-3 and MRR per kind of query of catalog/fixtures/search_relevance/queries.json (issue 15)
             with the demo glossary loaded; at this scale every model is filed under several hub/layer
             databases, so a hit is right when its table name is the expected one (queries about tables the
             generated catalog lacks are left out and counted).
5. glossary  p50/p95 of the same queries through ``catalog.search.searcher.search`` with the glossary
             expansion and without it (target: p95 under 100 ms at 100,000 tables, expansion under 1.2x).
6. import    a generated glossary CSV of --glossary-terms terms (default 10,000; a hierarchy five levels
             deep, synonyms, abbreviations, dataset and column links) imported into an empty glossary:
             the diff, the import (target: under 60 s), the export, and the diff of the unchanged export.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/mcp.py would shadow the mcp package the portal's URLs import: the script's folder leaves the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from portal.testing.databases import ensure_database  # noqa: E402
FIXTURE = ROOT / "catalog/fixtures/search_relevance/tuva_models.json"
HUBS = ("finance", "marketing", "sales", "clinical", "claims", "pharmacy", "provider", "member")
LAYERS = ("source", "prepared", "semantic")
SUFFIXES = ("", "_daily", "_monthly", "_history", "_snapshot", "_v2", "_agg", "_eu", "_us", "_clean", "_raw", "_latest")
FORMATS = ("parquet", "parquet", "parquet", "json", "csv")
CLASSIFICATIONS = ("public", "internal", "internal", "confidential", "strictly-confidential")
OWNERS = ("ana", "ben", "chen", "dora", "eli", "fatima", "gus", "hana", "ivo", "jon")

SEARCH_MIX = [
    {"q": "patient"}, {"q": "core.patient"}, {"q": "medical claim"}, {"q": "medical claims"},
    {"q": "pharmacy claim"}, {"q": "pharmcy claim"}, {"q": "immunizaton"}, {"q": "eligibilty"},
    {"q": "lab results"}, {"q": "member months"}, {"q": "risk scores"}, {"q": "chronic conditions wide"},
    {"q": "ms_drg_code"}, {"q": "discharge disposition"}, {"q": "facility npi"}, {"q": "prescription drugs"},
    {"q": "encounter grain"}, {"q": "CustomerOrders"}, {"q": "readmission"}, {"q": "hcc suspecting list"},
    {"q": "claim", "hub": "finance"}, {"q": "claim", "layer": "semantic", "format": "parquet"},
    {"q": "", "layer": "prepared"}, {"q": ""}, {"q": "patient", "page": "3"}, {"q": "quality measures"},
]
SUGGEST_MIX = ["pat", "med", "cla", "cust", "risk", "enc", "core.pa", "imm", "ph", "lab_r", "chronic con", "el"]


def setup_django(opensearch_url: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dh_search_bench")
    os.environ["OPENSEARCH_URL"] = opensearch_url
    os.environ.setdefault("OPENSEARCH_INDEX_PREFIX", "bench")
    os.environ.setdefault("OPENSEARCH_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # the in-process client speaks plain HTTP
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # lets the test client in (ALLOWED_HOSTS) and keeps DEBUG off
    call_command("migrate", verbosity=0)


def _vocabulary() -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(domain, table name, description) per Tuva model, and every documented (column, comment)."""
    models = json.loads(FIXTURE.read_text())["models"]
    tables, columns = [], {}
    for m in models:
        prefix, sep, rest = m["name"].partition("__")
        domain, name = (prefix, rest) if sep else (m["area"], m["name"])
        tables.append((domain, name, m["description"]))
        for c in m["columns"]:
            columns.setdefault(c["name"], c["description"])
    return tables, sorted(columns.items())


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part)


def generate_catalog(n_tables: int, seed: int = 7) -> tuple[int, int]:
    """Writes the catalog with COPY (fast, realistic shape); returns (tables, columns)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from catalog.models import Column, Database, GlueCatalog, Table
    from catalog.search.words import split_words

    rng = random.Random(seed)
    vocab_tables, vocab_columns = _vocabulary()
    now = timezone.now()
    with transaction.atomic():
        Column.objects.all().delete()
        Table.objects.all().delete()
        Database.objects.all().delete()
        catalog, _ = GlueCatalog.objects.get_or_create(account_id="123456789012", region="eu-central-1")
    domains = sorted({d for d, _, _ in vocab_tables})
    databases: dict[str, Database] = {}
    for hub in HUBS:
        for layer in LAYERS:
            for domain in domains:
                name = f"{hub}_{layer}_{domain}"
                databases[name] = Database(catalog=catalog, name=name, hub=hub, layer=layer,
                                           visibility="public" if rng.random() < 0.3 else "hub")
    Database.objects.bulk_create(databases.values(), batch_size=2000)
    databases = {d.name: d for d in Database.objects.all()}
    db_names = sorted(databases)
    seen: set[tuple[str, str]] = set()
    table_rows = []
    while len(table_rows) < n_tables:
        domain, base, description = rng.choice(vocab_tables)
        candidates = [d for d in db_names if d.endswith("_" + domain)]
        db = databases[rng.choice(candidates)]
        name = base + rng.choice(SUFFIXES)
        if rng.random() < 0.05:
            name = _camel(name)
        if (db.name, name) in seen:
            name = f"{name}_{len(table_rows)}"
        seen.add((db.name, name))
        table_rows.append((db, name, description))
    cols_per_table = [max(3, min(120, int(rng.gauss(20, 8)))) for _ in table_rows]
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY catalog_table (catalog_id, database_id, database_name, name, description, table_type, location, "
            "format, input_format, serde, view_sql, parameters, owner, classification, hub, layer, visibility, "
            "glue_version_id, fingerprint, column_count, partition_count, usage_count, created_at, updated_at, "
            "synced_at, partitions_pending) FROM STDIN"
        ) as copy:
            for (db, name, description), n_cols in zip(table_rows, cols_per_table):
                is_view = db.layer == "semantic" and rng.random() < 0.3
                copy.write_row((
                    catalog.id, db.id, db.name, name, description, "VIRTUAL_VIEW" if is_view else "EXTERNAL_TABLE",
                    "" if is_view else f"s3://lake/{db.name}/{name}/", "" if is_view else rng.choice(FORMATS), "", "",
                    "", "{}", rng.choice(OWNERS), rng.choice(CLASSIFICATIONS), db.hub, db.layer, db.visibility, "1", "",
                    n_cols, 0, int(rng.paretovariate(1.5)) - 1, now, now - timezone.timedelta(days=rng.randint(0, 900)),
                    now, False,
                ))
        cursor.execute("SELECT id FROM catalog_table ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
        total_columns = 0
        with cursor.copy("COPY catalog_column (table_id, name, type, comment, position, is_partition_key) FROM STDIN") as copy:
            for table_id, n_cols in zip(ids, cols_per_table):
                for position, (col, comment) in enumerate(rng.sample(vocab_columns, n_cols)):
                    words = split_words(col)
                    col_type = "date" if words[-1] == "date" else "bigint" if words[-1] in ("count", "id") else "string"
                    copy.write_row((table_id, col, col_type, comment, position, False))
                    total_columns += 1
    return len(ids), total_columns


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def measure(rounds: int) -> dict[str, Any]:
    from django.http import QueryDict
    from django.test import Client

    from catalog.search.indexer import alias_name
    from catalog.search.query import build_search, build_suggest, parse_request
    from portal.opensearch import get_client
    from identity.roles import Role
    from portal.testing.personas import login_as

    role = Role("steward", "finance")
    client = Client()
    login_as(client, "bench", role)
    os_client = get_client()
    alias = alias_name()
    cases = []
    for params in SEARCH_MIX:
        qd = QueryDict(mutable=True)
        for k, v in params.items():
            qd[k] = v
        body = build_search(parse_request(qd.lists()), role)
        cases.append(("search", "/api/v1/search", params, body))
    for prefix in SUGGEST_MIX:
        cases.append(("suggest", "/api/v1/search/suggest", {"q": prefix}, build_suggest(prefix, role)))
    timings: dict[str, dict[str, list[float]]] = {k: {"portal": [], "raw": []} for k in ("search", "suggest")}
    for _kind, path, params, body in cases:  # warm up caches on both paths
        warm = client.get(path, params)
        assert warm.status_code == 200, (path, params, warm.status_code, warm.content[:300])
        os_client.search(index=alias, body=body)
    for _ in range(rounds):
        for kind, path, params, body in cases:
            started = time.perf_counter()
            response = client.get(path, params)
            timings[kind]["portal"].append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[:300]
            started = time.perf_counter()
            os_client.search(index=alias, body=body)
            timings[kind]["raw"].append(time.perf_counter() - started)
    return timings


QUERIES = ROOT / "catalog/fixtures/search_relevance/queries.json"


def _judged_cases() -> tuple[dict[str, list[tuple[str, str]]], int]:
    """Per kind, (query, expected table name) whose table the generated catalog holds; and how many were left out."""
    from catalog.models import Table

    kinds = json.loads(QUERIES.read_text())["kinds"]
    names = set(Table.objects.values_list("name", flat=True).distinct())
    cases: dict[str, list[tuple[str, str]]] = {}
    left_out = 0
    for kind, pairs in kinds.items():
        for query, expected in pairs:
            name = expected.split(".", 1)[1]
            if name in names:
                cases.setdefault(kind, []).append((query, name))
            else:
                left_out += 1
    return cases, left_out


def relevance(cases: dict[str, list[tuple[str, str]]]) -> dict[str, tuple[float, float, float]]:
    from catalog.search.query import SearchRequest
    from catalog.search.searcher import search
    from identity.roles import Role

    admin = Role("admin")
    found = {}
    for kind, pairs in cases.items():
        top1 = top3 = mrr = 0.0
        for query, name in pairs:
            names = [r["name"] for r in search(SearchRequest(text=query, page_size=10), admin)["results"]]
            rank = names.index(name) + 1 if name in names else 0
            top1, top3, mrr = top1 + (rank == 1), top3 + (0 < rank <= 3), mrr + (1 / rank if rank else 0)
        found[kind] = (top1 / len(pairs), top3 / len(pairs), mrr / len(pairs))
    return found


def expansion_latency(queries: list[str], rounds: int) -> dict[str, list[float]]:
    """Seconds per search with and without the glossary expansion, interleaved (same requests, same role)."""
    from catalog.search.query import SearchRequest
    from catalog.search.searcher import search
    from identity.roles import Role

    role = Role("steward", "finance")
    timings: dict[str, list[float]] = {"with glossary": [], "without": []}
    for query in queries:  # warm up
        search(SearchRequest(text=query), role)
    for _ in range(rounds):
        for query in queries:
            for label, use in (("with glossary", True), ("without", False)):
                started = time.perf_counter()
                search(SearchRequest(text=query), role, use_glossary=use)
                timings[label].append(time.perf_counter() - started)
    return timings


def glossary_csv(n_terms: int) -> str:
    """A CSV of ``n_terms`` terms: every term after the first 10 has a parent five levels deep at most."""
    from glossary.csv_io import COLUMNS

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for i in range(n_terms):
        parent = f"Term {(i - 10) // 5:05d}" if i >= 10 else ""
        writer.writerow([
            f"Term {i:05d}", parent, f"Definition of term {i}, as a steward writes it.",
            f"synonym {i} a|synonym {i} b", f"t{i}", ("finance", "claims", "clinical")[i % 3],
            ("approved", "draft", "deprecated")[i % 3], f"db_{i % 50}.table_{i}",
            f"db_{i % 50}.table_{i}.column_a|db_{i % 50}.table_{i}.column_b",
        ])
    return out.getvalue()

def glossary_import(n_terms: int) -> None:
    from glossary.csv_io import apply_import, export_csv, plan_import
    from glossary.models import Term
    from identity.roles import Role

    admin = Role("admin")
    Term.objects.update(parent=None)
    Term.objects.all().delete()
    text = glossary_csv(n_terms)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    plan = plan_import(text, admin)
    seconds["diff"] = time.perf_counter() - started
    assert not plan.errors, plan.errors[:3]
    started = time.perf_counter()
    apply_import(text, actor=None, role=admin)
    seconds["import"] = time.perf_counter() - started
    started = time.perf_counter()
    exported = export_csv()
    seconds["export"] = time.perf_counter() - started
    started = time.perf_counter()
    again = plan_import(exported, admin)
    seconds["again"] = time.perf_counter() - started
    lossless = exported == text and not again.added and not again.changed
    print(f"glossary import: {n_terms:,} terms (hierarchy, synonyms, abbreviations, {2 * n_terms:,} column and "
          f"{n_terms:,} dataset links)")
    print(f"diff (plan_import) {seconds['diff']:.1f}s; import (apply_import) {seconds['import']:.1f}s (target < 60 s); "
          f"export {seconds['export']:.1f}s; diff of the unchanged export {seconds['again']:.1f}s; "
          f"round trip lossless: {'yes' if lossless else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="times each query of the mix is sent (default 5)")
    parser.add_argument("--fresh", action="store_true", help="regenerate the catalog even if it is there")
    parser.add_argument("--opensearch-url", default="", help="use this OpenSearch instead of starting osmem")
    parser.add_argument("--glossary-terms", type=int, default=10_000, help="terms of the import benchmark (0: skip)")
    parser.add_argument("--only-glossary-import", action="store_true", help="run the glossary import benchmark alone")
    args = parser.parse_args()

    server = None
    url = args.opensearch_url
    if not url:
        from osmem_server import OsmemServer

        server = OsmemServer.start(japanese=False)
        url = server.url
    try:
        setup_django(url)
        if args.only_glossary_import:
            glossary_import(args.glossary_terms)
            return
        from catalog.models import Column, Table

        started = time.perf_counter()
        have = Table.objects.count()
        if args.fresh or have != args.tables:
            n_tables, n_columns = generate_catalog(args.tables)
            print(f"catalog: generated {n_tables:,} tables, {n_columns:,} columns in {time.perf_counter() - started:.1f}s")
        else:
            n_tables, n_columns = have, Column.objects.count()
            print(f"catalog: reusing {n_tables:,} tables, {n_columns:,} columns")

        from catalog.search.indexer import rebuild

        started = time.perf_counter()
        name = rebuild()
        seconds = time.perf_counter() - started
        print(f"index:   {name}: {n_tables:,} documents in {seconds:.1f}s = {n_tables / seconds:,.0f} docs/s "
              f"({n_columns / seconds:,.0f} columns/s)")

        timings = measure(args.rounds)
        print(f"queries: {len(SEARCH_MIX)} search + {len(SUGGEST_MIX)} suggest queries x {args.rounds} rounds, "
              "portal (Django test client, session auth) vs the same body sent raw (opensearch-py)")
        print(f"{'endpoint':<22}{'portal median':>14}{'portal p95':>12}{'raw median':>12}{'raw p95':>10}{'p95 ratio':>11}")
        for kind, path in (("search", "/api/v1/search"), ("suggest", "/api/v1/search/suggest")):
            p_med, p_95 = _stats(timings[kind]["portal"])
            r_med, r_95 = _stats(timings[kind]["raw"])
            print(f"{path:<22}{p_med * 1000:>12.1f}ms{p_95 * 1000:>10.1f}ms{r_med * 1000:>10.1f}ms{r_95 * 1000:>8.1f}ms"
                  f"{p_95 / r_95:>10.2f}x")

        from glossary.demo import load_demo_glossary

        load_demo_glossary()
        cases, left_out = _judged_cases()
        print(f"relevance: {sum(len(c) for c in cases.values())} queries of {QUERIES.name} with the demo glossary "
              f"({left_out} about tables the generated catalog lacks left out); a hit is right by table name")
        print(f"{'kind':<20}{'queries':>8}{'top-1':>8}{'top-3':>8}{'MRR':>8}")
        for kind, (top1, top3, mrr) in relevance(cases).items():
            print(f"{kind:<20}{len(cases[kind]):>8}{top1:>8.2f}{top3:>8.2f}{mrr:>8.2f}")
        queries = [q for pairs in cases.values() for q, _ in pairs]
        latency = expansion_latency(queries, args.rounds)
        w_med, w_95 = _stats(latency["with glossary"])
        o_med, o_95 = _stats(latency["without"])
        print(f"glossary expansion: {len(queries)} queries x {args.rounds} rounds through catalog.search.searcher.search")
        print(f"search p50/p95 without glossary: {o_med * 1000:.1f} / {o_95 * 1000:.1f} ms; "
              f"with glossary: {w_med * 1000:.1f} / {w_95 * 1000:.1f} ms; p95 ratio {w_95 / o_95:.2f}x "
              f"(targets: p95 < 100 ms at 100,000 tables, ratio < 1.2x)")
        if args.glossary_terms:
            glossary_import(args.glossary_terms)
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
