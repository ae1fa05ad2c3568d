"""Ingestion pipelines: what a provider onboarded, how it was provisioned, and its runs.

Secrets never live here: a pipeline keeps only the ARN of the Secrets Manager
secret holding the source password (``secret_arn``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from identity.roles import Role
from django.db.models import Q

SOURCE_KINDS = {
    "postgresql": "PostgreSQL",
    "mysql": "MySQL / MariaDB",
    "oracle": "Oracle (Glue JDBC)",
    "sqlserver": "SQL Server (Glue JDBC)",
    "kinesis": "Kinesis stream",
}
JDBC_KINDS = ("postgresql", "mysql", "oracle", "sqlserver")
# Kinds the local executor (embedded mode, tests) can read; the others run only as a Glue job.
LOCAL_KINDS = ("postgresql", "mysql")


class PipelineQuerySet(models.QuerySet):
    def for_role(self, role: "Role | None") -> "PipelineQuerySet":
        """Pipelines the role may manage: its hub's as a provider, all as an admin, none otherwise."""
        from identity import roles

        if role is None or not roles.may_provide(role):
            return self.none()
        if role.is_admin:
            return self.all()
        return self.filter(hub=role.hub)


class Pipeline(models.Model):
    class Status(models.TextChoices):
        PROVISIONING = "provisioning"
        READY = "ready"
        FAILED = "failed"
        PAUSED = "paused"
        DELETING = "deleting"
        # Its AWS resources vanished (the embedded mode's local AWS after a restart): retry re-creates them.
        RESOURCES_MISSING = "missing", "resources missing"

    name = models.SlugField(max_length=100)
    hub = models.CharField(max_length=64, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROVISIONING)
    # Why the last provisioning/teardown stopped, shown next to the status.
    error = models.TextField(blank=True)

    # Source
    source_kind = models.CharField(max_length=16, choices=list(SOURCE_KINDS.items()))
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    source_database = models.CharField(max_length=255, blank=True)
    source_user = models.CharField(max_length=255, blank=True)
    secret_arn = models.CharField(max_length=2048, blank=True)
    stream_name = models.CharField(max_length=128, blank=True)
    stream_mode = models.CharField(max_length=8, blank=True, help_text="new | existing (streams only)")
    stream_shards = models.PositiveSmallIntegerField(default=1)
    # [{"schema": "public", "name": "orders", "incremental_column": "updated_at" | ""}]
    tables = models.JSONField(default=list)
    # Streams: [{"name": "id", "type": "bigint"}] for the Glue table over Firehose output.
    stream_columns = models.JSONField(default=list, blank=True)
    # Incremental loads: {"schema.table": last value of the incremental column seen}, as text.
    watermarks = models.JSONField(default=dict, blank=True)

    # Target
    target_database = models.CharField(max_length=255)
    layer = models.CharField(max_length=16, default="source")
    owner = models.CharField(max_length=255, blank=True)
    classification = models.CharField(max_length=32, default="internal")
    partitioning = models.CharField(max_length=16, default="load_date")

    # Schedule: a cron expression (UTC), blank = on demand.
    schedule = models.CharField(max_length=120, blank=True)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PipelineQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["target_database"], name="uniq_pipeline_target_database"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_stream(self) -> bool:
        return self.source_kind == "kinesis"

    @property
    def raw_prefix(self) -> str:
        """Key prefix of the pipeline's raw data in the lake bucket (no leading slash)."""
        return f"{self.hub}/{self.layer}/{self.target_database}/"

    @property
    def scripts_prefix(self) -> str:
        return f"_scripts/ingestion/{self.target_database}/"

    def target_table_name(self, table: dict) -> str:
        """Glue table name for a source table ``schema.name``: lower-case, ``schema_name``."""
        if self.is_stream:
            return _glue_safe(table.get("name") or self.stream_name)
        # The table's own name, prefixed by its schema only when two chosen tables share a name.
        same_name = [t for t in self.tables if t["name"].lower() == table["name"].lower()]
        if len(same_name) > 1 and table.get("schema"):
            return _glue_safe(f"{table['schema']}_{table['name']}")
        return _glue_safe(table["name"])

def _glue_safe(name: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


class Timed(models.Model):
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def seconds(self) -> float | None:
        if not (self.started_at and self.finished_at):
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ProvisioningStep(Timed):
    """One AWS resource of a pipeline; re-running a succeeded step is a no-op."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        REMOVED = "removed"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    key = models.CharField(max_length=32)
    label = models.CharField(max_length=120)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Text, not varchar: the SNS step lists one topic ARN per table (30 tables pass 2,048 characters).
    resource = models.TextField(blank=True, help_text="ARN(s) or name of the AWS resource")
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # While "running", the worker holding the step renews this; once it passes, the worker is
    # presumed lost (killed, machine gone) and the step may be claimed again (see leases.py).
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "key"], name="uniq_provisioning_step")]


class PipelineRun(Timed):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, default="manual", help_text="manual | schedule | api")
    triggered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    executor = models.CharField(max_length=8, blank=True)
    glue_run_id = models.CharField(max_length=255, blank=True)
    # Renewed by the worker executing a local run; an expired lease lets the next worker take it over.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    partition = models.CharField(max_length=64, blank=True)
    rows = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One active run per pipeline: a schedule firing during a run does not pile up.
            models.UniqueConstraint(
                fields=["pipeline"], condition=Q(status__in=["queued", "running"]), name="one_active_run_per_pipeline"
            ),
        ]


class ManagedSecret(models.Model):
    """A Secrets Manager secret the portal itself created, first for a wizard draft, then for
    the one pipeline built from it. Only these are ever deleted by the portal (draft discarded,
    pipeline torn down); any other secret a pipeline refers to belongs to its provider."""

    arn = models.CharField(max_length=2048, unique=True)
    hub = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    draft = models.ForeignKey("Draft", null=True, blank=True, on_delete=models.SET_NULL, related_name="secrets")
    pipeline = models.ForeignKey(Pipeline, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="managed_secrets")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.arn


class Draft(models.Model):
    """A wizard in progress, kept in the database so it survives leaving and coming back.

    ``data`` is the formtools storage (step data per step); passwords are never in it,
    only the ARN of the secret they were put into.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ingestion_drafts")
    hub = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    @property
    def current_step(self) -> str:
        return (self.data or {}).get("step") or ""

    @property
    def title(self) -> str:
        step_data = (self.data or {}).get("step_data", {})
        target = step_data.get("target", {}).get("target-database") or [""]
        return target[0] or f"Draft #{self.pk}"
