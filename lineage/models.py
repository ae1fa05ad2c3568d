"""Lineage state: datasets, jobs and runs from OpenLineage, the edges between datasets, and a change log.

The database is the source of truth; ``lineage.graph`` keeps a derived
in-memory copy that follows ``GraphChange`` (its max id is the graph version).

Identity: a dataset is ``(namespace, name)`` per the OpenLineage naming
conventions. Several identities can name one catalog table (its Glue name, its
S3 location, its Athena name); exactly one of them is *canonical* (it carries
``table``) and the others point at it through ``canonical``. Edges only ever
join canonical datasets, so one table is one node in the graph.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Dataset(models.Model):
    namespace = models.CharField(max_length=512)
    name = models.CharField(max_length=1024)
    table = models.OneToOneField(
        "catalog.Table", null=True, blank=True, on_delete=models.SET_NULL, related_name="lineage_dataset"
    )
    canonical = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="aliases",
        help_text="Set on alias identities of a catalog table; edges use the canonical dataset.",
    )
    # Non-catalog datasets: hub of the job that writes them, their producer ("" = nobody wrote it
    # yet: visible to every role). Readers never claim a dataset (see lineage.services).
    hub = models.CharField(max_length=64, blank=True, db_index=True)
    schema_fields = models.JSONField(default=list, blank=True, help_text="[{name, type, description}] from the schema facet")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="uniq_lineage_dataset")]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class Job(models.Model):
    namespace = models.CharField(max_length=512)
    name = models.CharField(max_length=1024)
    hub = models.CharField(max_length=64, blank=True)
    facets = models.JSONField(default=dict, blank=True)
    last_run_state = models.CharField(max_length=16, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    # The run whose datasets make the job's edges in the current graph (its latest COMPLETE run,
    # or while it has none its latest run that did not fail); see lineage.services.
    current_run = models.ForeignKey("Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, null=True)
    updated_at = models.DateTimeField(auto_now=True, null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="uniq_lineage_job")]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class Run(models.Model):
    run_id = models.UUIDField(unique=True)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="runs")
    state = models.CharField(max_length=16, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    parent_run_id = models.UUIDField(null=True, blank=True)
    state_at = models.DateTimeField(null=True, blank=True, help_text="eventTime of the latest state change")
    facets = models.JSONField(default=dict, blank=True, help_text="Run facets merged over its events (a later facet replaces one of the same name)")
    created_at = models.DateTimeField(auto_now_add=True, null=True)

    class Meta:
        ordering = ["-state_at", "-id"]


class RunDataset(models.Model):
    """A dataset a run read (``in``) or wrote (``out``): the union over all of the run's events.

    History: the runs of a job say which datasets each read and wrote, after the job's current
    edges moved on. ``columns`` (outputs only) holds the column lineage the run declared as
    ``[source dataset id, source column, target column ("" = the whole dataset: INDIRECT), transformation]``.
    """

    class Direction(models.TextChoices):
        INPUT = "in"
        OUTPUT = "out"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="datasets")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="runs")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    facets = models.JSONField(default=dict, blank=True)
    columns = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "dataset", "direction"], name="uniq_lineage_run_dataset")]


class RunStateChange(models.Model):
    """One state a run went through (START, RUNNING, COMPLETE, FAIL, ABORT, OTHER), in event time."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="states")
    state = models.CharField(max_length=16)
    event_time = models.DateTimeField()

    class Meta:
        ordering = ["event_time", "id"]


class Event(models.Model):
    """Every accepted OpenLineage event, verbatim; ``dedupe_key`` (a hash of its content) makes a
    re-sent event a no-op. The intake stores events ``queued``; ``lineage.event_queue`` applies
    them in batches, in id order, and marks each ``done`` or ``failed`` (with its reason)."""

    class Status(models.TextChoices):
        DONE = "done"
        QUEUED = "queued"
        FAILED = "failed"

    class Kind(models.TextChoices):
        RUN = "run"
        DATASET = "dataset"
        JOB = "job"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    dedupe_key = models.CharField(max_length=64, unique=True)
    run_id = models.UUIDField(null=True, blank=True, db_index=True)
    event_type = models.CharField(max_length=16, blank=True)
    event_time = models.DateTimeField()
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    received_by = models.CharField(max_length=150, blank=True)
    hub = models.CharField(max_length=64, blank=True, help_text="Hub the event was posted for (what a queued event is applied with)")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DONE)
    error = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True, help_text="When the event was applied (or failed)")

    class Meta:
        # The applier's queue: the pending events in id order, however many applied ones there are.
        indexes = [models.Index(fields=["id"], condition=Q(status="queued"), name="lineage_event_pending")]


class Edge(models.Model):
    """Data flows from ``source`` to ``target`` through ``job`` (both canonical datasets)."""

    class Origin(models.TextChoices):
        OPENLINEAGE = "openlineage"
        VIEW_SQL = "view_sql"

    source = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="out_edges")
    target = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="in_edges")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="edges")
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.OPENLINEAGE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "target", "job"], name="uniq_lineage_edge")]
        indexes = [models.Index(fields=["target", "source"], name="lineage_edge_target")]


class ColumnEdge(models.Model):
    """A column mapping on an edge. ``target_column`` "" is a dataset-level (INDIRECT) dependency from the
    columnLineage facet's ``dataset`` array: the source column filters, joins or groups the whole target."""

    edge = models.ForeignKey(Edge, on_delete=models.CASCADE, related_name="columns")
    source_column = models.CharField(max_length=255)
    target_column = models.CharField(max_length=255)
    transformation = models.CharField(max_length=255, blank=True, help_text='e.g. "DIRECT/IDENTITY"')

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["edge", "source_column", "target_column"], name="uniq_lineage_column_edge")
        ]


class GraphVersion(models.Model):
    """One row: the lineage graph version, bumped (row-locked) by every edge write.

    The row lock is held until the writer commits, so versions become visible in
    order: a process that has applied every change up to N misses none below N.
    """

    version = models.BigIntegerField(default=0)


class GraphChange(models.Model):
    """Log of edge writes, tagged with the version that made them.

    A row names the (source, target) pair whose edges changed, so a process
    refreshes just that pair; ``reload`` asks for a full reload (identity merges).
    """

    version = models.BigIntegerField(db_index=True)
    source_id = models.BigIntegerField(null=True)
    target_id = models.BigIntegerField(null=True)
    reload = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reload=True) | (Q(source_id__isnull=False) & Q(target_id__isnull=False)),
                name="lineage_change_names_a_pair",
            )
        ]
