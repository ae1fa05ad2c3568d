"""Queries run on the lake (their state, limits and results) and the usage they record.

A query's result is kept in the row (at most QUERY_MAX_RESULT_ROWS rows) so pages and the CSV
download read the database, never the lake again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Query(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (State.QUEUED, State.RUNNING)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lake_queries")
    role = models.JSONField(help_text="Role.as_dict() the query runs under.")
    role_key = models.CharField(max_length=128, db_index=True)
    sql = models.TextField()
    engine = models.CharField(max_length=16)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED, db_index=True)
    error = models.TextField(blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    bytes_scanned = models.BigIntegerField(default=0)
    row_count = models.PositiveIntegerField(default=0)
    truncated = models.BooleanField(default=False, help_text="More rows than QUERY_MAX_RESULT_ROWS were found.")
    columns = models.JSONField(default=list, blank=True)
    rows = models.JSONField(default=list, blank=True)
    athena_execution_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["user", "state"], name="query_user_state",
                                condition=Q(state__in=["queued", "running"]))]

    def __str__(self) -> str:
        return f"query {self.pk} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE

    @property
    def seconds(self) -> float | None:
        if not self.started_at or not self.finished_at:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class TableUsage(models.Model):
    """One read of a table by a preview or a query: who, under which role, which columns."""

    class Kind(models.TextChoices):
        PREVIEW = "preview"
        QUERY = "query"
        ATHENA = "athena", "Athena history"

    table = models.ForeignKey("catalog.Table", on_delete=models.CASCADE, related_name="usage_records")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    role_key = models.CharField(max_length=128, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    columns = models.JSONField(default=list, blank=True)
    query = models.ForeignKey(Query, null=True, blank=True, on_delete=models.SET_NULL)
    # Athena's QueryExecutionId of a query read from a workgroup's history (one import per execution).
    execution_id = models.CharField(max_length=64, blank=True)
    read_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["table", "read_at"], name="usage_table_read_at"),
                   models.Index(fields=["execution_id"], name="usage_execution_id", condition=~Q(execution_id=""))]
