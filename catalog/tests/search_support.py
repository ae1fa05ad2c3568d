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
