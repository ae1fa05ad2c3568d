"""Builders for search tests: catalog rows made directly in the database, then indexed.

Who sees what in these tests (see portal.testing.personas): datasets of hub
"finance" are visible to finance roles and admins; "public" visibility to everyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from catalog.models import Column, Database, GlueCatalog, Table

ColumnSpec = tuple[str, str, str] | tuple[str, str, str, bool]


def catalog() -> GlueCatalog:
    return GlueCatalog.objects.get_or_create(account_id="123456789012", region="eu-central-1")[0]


def database(name: str, *, hub: str = "finance", layer: str = "prepared", visibility: str = "hub") -> Database:
    db, _ = Database.objects.get_or_create(
        catalog=catalog(), name=name, defaults={"hub": hub, "layer": layer, "visibility": visibility}
    )
    return db


def make_table(qualified_name: str, columns: Sequence[ColumnSpec] = (), *, hub: str = "finance", layer: str = "prepared",
               visibility: str = "hub", description: str = "", table_type: str = "EXTERNAL_TABLE",
               format: str = "parquet", owner: str = "", classification: str = "internal",
               updated_at: datetime | None = None, usage_count: int = 0, **extra: Any) -> Table:
    db_name, name = qualified_name.split(".", 1)
    db = database(db_name, hub=hub, layer=layer, visibility=visibility)
    table = Table.objects.create(
        catalog=db.catalog, database=db, database_name=db_name, name=name, description=description, hub=hub,
        layer=layer, visibility=visibility, table_type=table_type, format=format, owner=owner,
        classification=classification, location=f"s3://lake/{db_name}/{name}/",
        updated_at=updated_at or timezone.now() - timedelta(days=30), usage_count=usage_count,
        column_count=len(columns), **extra,
    )
    add_columns(table, columns)
    return table


def add_columns(table: Table, columns: Iterable[ColumnSpec]) -> None:
    Column.objects.bulk_create(
        Column(table=table, name=spec[0], type=spec[1], comment=spec[2], position=i,
               is_partition_key=bool(spec[3]) if len(spec) > 3 else False)
        for i, spec in enumerate(columns)
    )


RELEVANCE_DIR = __import__("pathlib").Path(__file__).resolve().parent.parent / "fixtures" / "search_relevance"
_LAYERS = {"input_layer": "source", "data_marts": "semantic"}


def guess_type(column: str) -> str:
    """A plausible Glue type from a Tuva column name (the fixture has names, not types)."""
    if column.endswith(("_date", "_dt")):
        return "date"
    if column.endswith(("_amount", "_paid", "_allowed", "_charge", "_rate", "_score", "_factor")):
        return "decimal(18,4)"
    if column.endswith(("_count", "_days", "_number", "_age", "_year")):
        return "int"
    if column.endswith(("_flag", "_ind")):
        return "boolean"
    return "string"


def split_model_name(name: str, area: str) -> tuple[str, str]:
    """``core__patient`` → (``core``, ``patient``): dbt's folder prefix is the database."""
    prefix, sep, rest = name.partition("__")
    return (prefix, rest) if sep else (area, name)


def load_relevance_catalog() -> list[int]:
    """The Tuva subset plus our camelCase/kebab extras as live public tables of hub "health"; returns ids."""
    import json

    models = json.loads((RELEVANCE_DIR / "tuva_models.json").read_text())["models"]
    extras = json.loads((RELEVANCE_DIR / "extra_tables.json").read_text())["tables"]
    now = timezone.now()
    specs: list[tuple[str, str, str, str, str, list[ColumnSpec]]] = []
    for m in models:
        database_name, name = split_model_name(m["name"], m["area"])
        columns: list[ColumnSpec] = [(c["name"], guess_type(c["name"]), c["description"]) for c in m["columns"]]
        table_type = "VIRTUAL_VIEW" if m["materialized"] == "view" else "EXTERNAL_TABLE"
        specs.append((database_name, name, m["description"], _LAYERS.get(m["area"], "prepared"), table_type, columns))
    for e in extras:
        specs.append((e["database"], e["name"], e["description"], e["layer"], "EXTERNAL_TABLE",
                      [tuple(c) for c in e["columns"]]))  # type: ignore[misc]
    dbs = {name: database(name, hub="health", layer=layer, visibility="public") for name, _, _, layer, _, _ in specs}
    tables = Table.objects.bulk_create(
        Table(catalog=dbs[db].catalog, database=dbs[db], database_name=db, name=name, description=description,
              hub="health", layer=layer, visibility="public", table_type=table_type, format="parquet",
              location=f"s3://lake/{db}/{name}/", updated_at=now - timedelta(days=i % 90), column_count=len(cols))
        for i, (db, name, description, layer, table_type, cols) in enumerate(specs)
    )
    Column.objects.bulk_create(
        Column(table=table, name=spec[0], type=spec[1], comment=spec[2], position=i,
               is_partition_key=bool(spec[3]) if len(spec) > 3 else False)
        for table, (*_, cols) in zip(tables, specs)
        for i, spec in enumerate(cols)
    )
    return [t.id for t in tables]
