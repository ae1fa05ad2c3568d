"""The queries' queue: services call these to have a worker run a query once their transaction
commits. The one module that knows the task names; it imports the tasks only when called."""

from __future__ import annotations

from django.db import transaction


def run_query(query_id: int) -> None:
    """Run a queued query on a worker."""
    from queries import tasks

    transaction.on_commit(lambda: tasks.run_query.delay(query_id))
