"""Helpers for tests that need Glue content (use with the ``aws_endpoint`` fixture: a clean moto server).

- ``seed_small_lake()``: the demo lake cut small (finance and marketing, five tables each) — a realistic
  catalog in about a second; returns the plan so a test can name what it expects.
- ``make_glue_database(...)`` / ``make_glue_table(...)``: one database or table with exactly the
  portal's parameters, for tests about a specific case.
All go through ``portal.aws.client``, so they write wherever the settings point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings

from catalog.demo_lake import (
    FORMATS,
    ColumnSpec,
    DatabaseSpec,
    LakePlan,
    TableSpec,
    database_input,
    partition_inputs,
    plan_lake,
    seed_lake,
    table_input,
)

ColumnLike = tuple[str, str] | tuple[str, str, str]


def seed_small_lake(databases: int = 6, tables_per_database: int = 5, seed: int = 7) -> LakePlan:
    """Seed the demo lake cut small into the configured endpoint; returns the plan that was written.

    Default: finance and marketing, each with source, prepared and semantic (public Athena views
    over the prepared tables) — the hubs of ``portal.testing.personas``.
    """
    plan = plan_lake(databases, tables_per_database, seed)
    seed_lake(plan, seed=seed, workers=4)
    return plan


def _glue() -> Any:
    from portal import aws

    return aws.client("glue")


def _columns(columns: Sequence[ColumnLike]) -> list[ColumnSpec]:
    return [ColumnSpec(c[0], c[1], c[2] if len(c) > 2 else "") for c in columns]  # type: ignore[misc]


def make_glue_database(name: str, hub: str = "finance", layer: str = "prepared", visibility: str = "hub",
                       bucket: str | None = None, **extra_parameters: str) -> dict[str, Any]:
    """Create a Glue database with the portal's ``hub``/``layer``/``visibility`` parameters; returns its input."""
    payload = database_input(DatabaseSpec(name, hub, layer, visibility, hub), bucket or settings.LAKE_BUCKET)
    payload["Parameters"].update(extra_parameters)
    _glue().create_database(DatabaseInput=payload)
    return payload


def make_glue_table(database: str, name: str, columns: Sequence[ColumnLike] = (("id", "string", "Identifier."),),
                    *, hub: str = "finance", layer: str = "prepared", owner: str = "owner@example.com",
                    classification: str = "internal", fmt: str = "parquet",
                    partition_keys: Sequence[ColumnLike] = (), partitions: Sequence[Sequence[str]] = (),
                    view_sql: str = "", view_dialect: str = "athena", description: str = "", visibility: str = "",
                    parameters: dict[str, str] | None = None, bucket: str | None = None) -> dict[str, Any]:
    """Create one Glue table (or a view when ``view_sql`` is given) with its partitions.

    ``columns`` are ``(name, type[, comment])``; ``fmt`` one of parquet/json/csv; a view is stored
    as Athena does (``view_dialect="athena"``, base64 Presto view text) or as plain SQL (``"hive"``).
    Returns the TableInput.
    """
    if not view_sql and fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {sorted(FORMATS)}")
    spec = TableSpec(
        database=database, name=name, hub=hub, layer=layer, description=description, columns=_columns(columns),
        owner=owner, classification=classification, format="" if view_sql else fmt,
        partition_keys=_columns(partition_keys), partitions=[list(p) for p in partitions], view_sql=view_sql,
        visibility=visibility, view_dialect=view_dialect,
    )
    bucket = bucket or settings.LAKE_BUCKET
    payload = table_input(spec, bucket)
    if parameters:
        payload["Parameters"].update(parameters)
    glue = _glue()
    glue.create_table(DatabaseName=database, TableInput=payload)
    if spec.partitions:
        glue.batch_create_partition(DatabaseName=database, TableName=name,
                                    PartitionInputList=partition_inputs(spec, bucket))
    return payload
