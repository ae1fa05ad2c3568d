"""Usage of tables by previews and queries: the records, the dataset page's 30-day figures, and the
popularity signal search ranks by (``popularity``)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from django.db.models import Count, F
from django.utils import timezone

from catalog.models import Table
from queries.models import Query, TableUsage

WINDOW_DAYS = 30


def record(reads: dict[int, list[str]], *, user: Any, role_key: str, kind: str, query: Query | None = None) -> None:
    """One usage row per table read; the tables' ``usage_count`` (what search sorts by) follows."""
    if not reads:
        return
    TableUsage.objects.bulk_create([
        TableUsage(table_id=table_id, user=user, role_key=role_key, kind=kind, columns=sorted(columns), query=query)
        for table_id, columns in reads.items()
    ])
    Table.objects.filter(pk__in=list(reads)).update(usage_count=F("usage_count") + 1)


def _recent(days: int = WINDOW_DAYS) -> Any:
    return TableUsage.objects.filter(read_at__gte=timezone.now() - timedelta(days=days))


def popularity(table_ids: list[int], days: int = WINDOW_DAYS) -> dict[int, int]:
    """Reads per table in the last ``days`` days (tables never read are absent): the ranking signal."""
    rows = _recent(days).filter(table_id__in=table_ids).values("table_id").annotate(n=Count("id"))
    return {row["table_id"]: row["n"] for row in rows}


def figures(table_id: int, days: int = WINDOW_DAYS, top: int = 5) -> dict[str, Any]:
    """The dataset page's usage: reads, distinct users and the most read columns over ``days`` days."""
    recent = _recent(days).filter(table_id=table_id)
    columns: Counter[str] = Counter()
    for names in recent.values_list("columns", flat=True):
        columns.update(names)
    return {
        "days": days,
        "queries": recent.count(),
        "users": recent.exclude(user=None).values("user").distinct().count(),
        "top_columns": [name for name, _ in columns.most_common(top)],
    }


def popular(table_ids: Any, limit: int = 5, days: int = WINDOW_DAYS) -> list[tuple[int, int]]:
    """(table id, reads) of the most read of ``table_ids`` (a queryset of ids works) in ``days`` days."""
    rows = (_recent(days).filter(table_id__in=table_ids).values("table_id").annotate(n=Count("id"))
            .order_by("-n", "table_id")[:limit])
    return [(row["table_id"], row["n"]) for row in rows]
