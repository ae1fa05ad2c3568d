"""Celery tasks of queries: thin (load by id, call the service)."""

from __future__ import annotations

from celery import shared_task

from queries import athena_history, services


@shared_task(name="queries.tasks.run_query", acks_late=True)
def run_query(query_id: int) -> str:
    """Run one queued query; a query already claimed or finished is left alone (a re-run is a no-op)."""
    return services.run_query(query_id).state


@shared_task(name="queries.tasks.import_athena_history")
def import_athena_history() -> int:
    """Count queries run outside the portal (Athena history of the hub workgroups) as usage."""
    return athena_history.import_athena_history()
