"""Celery tasks of queries: thin (load by id, call the service)."""

from __future__ import annotations

from celery import shared_task

from queries import services


@shared_task(name="queries.tasks.run_query", acks_late=True)
def run_query(query_id: int) -> str:
    """Run one queued query; a query already claimed or finished is left alone (a re-run is a no-op)."""
    return services.run_query(query_id).state
