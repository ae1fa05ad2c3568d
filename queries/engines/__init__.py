"""Where SQL runs: ``athena`` (AWS, the role's STS credentials) or ``local`` (DuckDB over the lake's
S3 objects). Both take the same limits and answer with an ``Outcome``; QUERY_ENGINE picks one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class Limits:
    max_rows: int
    time_limit_seconds: float
    max_bytes_scanned: int

    @classmethod
    def for_queries(cls) -> "Limits":
        return cls(settings.QUERY_MAX_RESULT_ROWS, settings.QUERY_TIME_LIMIT_SECONDS, settings.QUERY_MAX_BYTES_SCANNED)

    @classmethod
    def for_previews(cls, rows: int) -> "Limits":
        return cls(rows, settings.QUERY_TIME_LIMIT_SECONDS, settings.QUERY_MAX_BYTES_SCANNED)


@dataclass
class Outcome:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False
    bytes_scanned: int = 0
    # catalog table id → the columns the query read of it (for usage records)
    reads: dict[int, list[str]] = field(default_factory=dict)
    execution_id: str = ""  # Athena's QueryExecutionId


class QueryCancelled(Exception):
    """The user cancelled the query while it ran."""


ShouldStop = Callable[[], bool]


def table_for(role: Any, ref: Any) -> Any:
    """The catalog table a query names, if the role may see it; raises QueryError (the same words on
    both engines, which never tell a hidden table from a missing one)."""
    from catalog.models import Table
    from queries.sql import QueryError

    table = (Table.objects.visible_to(role).filter(database_name__iexact=ref.database, name__iexact=ref.name)
             .order_by("catalog_id").first())
    if table is None:
        raise QueryError(f"Table {ref.qualified_name} does not exist or your role may not read it.")
    return table
