"""Read helpers of queries: a user's own queries in the selected role, and result pages."""

from __future__ import annotations

import time
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from identity.roles import Role, made_in_role_q
from queries.models import Query


def queries_for(user: Any, role: Role | None) -> QuerySet[Query]:
    """The user's queries made in this role (a token bound to one role sees no others)."""
    return Query.objects.filter(made_in_role_q(role), user=user)


def get_query(user: Any, role: Role | None, query_id: int) -> Query:
    """One of the user's queries; Http404 otherwise (never another user's)."""
    try:
        return queries_for(user, role).get(pk=query_id)
    except Query.DoesNotExist:
        raise Http404("No such query.") from None


def result_page(query: Query, page: int, page_size: int) -> dict[str, Any]:
    """Rows of one page (1-based) of a finished query's result and the next page number (None at the end)."""
    start = (page - 1) * page_size
    rows = query.rows[start:start + page_size]
    more = start + page_size < len(query.rows)
    return {"columns": query.columns, "rows": rows, "next": page + 1 if more else None}


def wait_until_done(query: Query, seconds: float, poll_seconds: float = 0.2) -> Query:
    """The query once it left the queue and ran (succeeded, failed, cancelled), or as it is after ``seconds``
    (still queued or running): for callers that answer in one call (the MCP ``run_query`` tool)."""
    deadline = time.monotonic() + seconds
    query.refresh_from_db()
    while query.is_active and time.monotonic() < deadline:
        time.sleep(min(poll_seconds, max(deadline - time.monotonic(), 0)))
        query.refresh_from_db()
    return query
