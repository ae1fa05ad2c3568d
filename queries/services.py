"""Every write of the queries app: previews (which record usage), submitting, running and cancelling
queries. Called alike by the HTML views, the API and the task."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from catalog.models import Table
from identity.roles import Role
from queries import dispatch, usage
from queries.engines import Limits, Outcome, QueryCancelled
from queries.models import Query
from queries.sql import QueryError, QueryRefused, read_statement, tables_read


class TooManyRunning(QueryError):
    """The user already runs as many queries as QUERY_MAX_RUNNING_PER_USER allows."""

    status_code = 429


def engine_for(role: Role, username: str, limits: Limits, should_stop: Any = None) -> Any:
    """The engine QUERY_ENGINE names, acting as ``role``."""
    if settings.QUERY_ENGINE == "athena":
        from queries.engines.athena import AthenaEngine

        return AthenaEngine(role, username, limits, should_stop=should_stop)
    from queries.engines.local import LocalEngine

    return LocalEngine(role, limits, should_stop=should_stop)


def parse_partition(text: str, keys: list[str]) -> dict[str, str]:
    """``k=v/k2=v2`` or ``v/v2`` (Glue's values in key order) → {key: value}; raises QueryRefused."""
    if not text:
        return {}
    parts = [p for p in text.strip("/").split("/") if p]
    if all("=" in p for p in parts):
        chosen = dict(p.split("=", 1) for p in parts)
    else:
        chosen = dict(zip(keys, parts))
        if len(parts) > len(keys):
            chosen = {"": ""}
    unknown = set(chosen) - set(keys)
    if unknown or not chosen:
        raise QueryRefused(f"partition: give key=value pairs of the partition keys ({', '.join(keys) or 'none'}), "
                           "joined by '/'.")
    return chosen


def preview(table: Table, *, role: Role, user: Any, limit: int | None = None, partition: str = "") -> dict[str, Any]:
    """The first rows of a table the role sees (``catalog.queries.visible_table``), masked columns as
    None and listed in ``masked``; at most QUERY_PREVIEW_MAX_ROWS rows. Raises QueryError."""
    rows = min(limit or settings.QUERY_PREVIEW_MAX_ROWS, settings.QUERY_PREVIEW_MAX_ROWS)
    keys = list(table.columns.filter(is_partition_key=True).order_by("position").values_list("name", flat=True))
    chosen = parse_partition(partition, keys)
    engine = engine_for(role, user.get_username(), Limits.for_previews(rows))
    outcome, masked = engine.preview(table, rows, chosen)
    usage.record(outcome.reads, user=user, role_key=role.key, kind="preview")
    return {"columns": outcome.columns, "rows": outcome.rows, "masked": masked}


def submit_query(user: Any, role: Role, sql: str) -> Query:
    """Queue a query (run by a worker after commit). Raises QueryRefused for anything but one
    SELECT/WITH statement over DATABASE.TABLE names, TooManyRunning past QUERY_MAX_RUNNING_PER_USER
    active queries."""
    tables_read(read_statement(sql))
    with transaction.atomic():
        # The user's row is the lock: two submits at once cannot both pass the count.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        active = Query.objects.filter(user=user, state__in=Query.ACTIVE).count()
        if active >= settings.QUERY_MAX_RUNNING_PER_USER:
            raise TooManyRunning(f"You already have {active} query running (at most "
                                 f"{settings.QUERY_MAX_RUNNING_PER_USER} at once): wait for it or cancel it.")
        query = Query.objects.create(user=user, role=role.as_dict(), role_key=role.key, sql=sql,
                                     engine=settings.QUERY_ENGINE)
        dispatch.run_query(query.pk)
    return query


def _finish(query: Query, state: str, **fields: Any) -> Query:
    """Record the end of a running query, unless it was cancelled meanwhile (cancel wins)."""
    fields.update(state=state, finished_at=timezone.now())
    Query.objects.filter(pk=query.pk, state=Query.State.RUNNING).update(**fields)
    query.refresh_from_db()
    return query


def run_query(query_id: int) -> Query:
    """Claim a queued query, run it and record its outcome (results, bytes scanned, usage, or the error).
    A query that is not queued any more (cancelled, claimed by another worker, done) is returned as is."""
    claimed = Query.objects.filter(pk=query_id, state=Query.State.QUEUED).update(
        state=Query.State.RUNNING, started_at=timezone.now())
    query = Query.objects.select_related("user").get(pk=query_id)
    if not claimed:
        return query
    role = Role.from_dict(query.role)

    def cancelled() -> bool:
        return Query.objects.filter(pk=query_id, state=Query.State.CANCELLED).exists()

    try:
        outcome: Outcome = engine_for(role, query.user.get_username(), Limits.for_queries(), cancelled).run(query.sql)
    except QueryCancelled:
        query.refresh_from_db()
        return query
    except QueryError as exc:
        return _finish(query, Query.State.FAILED, error=str(exc))
    query = _finish(query, Query.State.SUCCEEDED, columns=outcome.columns, rows=outcome.rows,
                    row_count=len(outcome.rows), truncated=outcome.truncated, bytes_scanned=outcome.bytes_scanned,
                    athena_execution_id=getattr(outcome, "execution_id", ""))
    if query.state == Query.State.SUCCEEDED:
        usage.record(outcome.reads, user=query.user, role_key=query.role_key, kind="query", query=query)
    return query


def cancel_query(query: Query) -> Query:
    """Cancel a queued or running query (the engine stops it within a moment); a finished one is left as is."""
    Query.objects.filter(pk=query.pk, state__in=Query.ACTIVE).update(state=Query.State.CANCELLED,
                                                                     finished_at=timezone.now())
    query.refresh_from_db()
    return query
