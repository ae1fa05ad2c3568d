"""The portal's mirror of the Glue Data Catalog, plus steward curation.

Natural keys carry unique constraints so a sync is a reconcile (diff known vs
seen). Hub, layer and visibility come from the Glue parameters ``hub``,
``layer``, ``visibility`` (database) and ``owner``, ``classification`` (table,
which may also override the database's keys).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q

from identity.roles import Role, table_filter_q

LAYERS = ("source", "prepared", "semantic")
VISIBILITIES = ("hub", "public")
CLASSIFICATIONS = ("public", "internal", "confidential", "strictly-confidential")


class GlueCatalog(models.Model):
    """One account's Glue Data Catalog in one region (the 'global' catalog spans several)."""

    account_id = models.CharField(max_length=12)
    region = models.CharField(max_length=32)
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    index_stale = models.BooleanField(default=False, help_text="Search index missed changes; next sync catches up.")
    allow_mass_delete = models.BooleanField(
        default=False, help_text="A full sync may soft-delete more than CATALOG_SYNC_MAX_DELETE_SHARE of the tables "
        "without an admin's confirmation (see catalog.services.guard).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account_id", "region"], name="uniq_glue_catalog")]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.region}"


class TableQuerySet(models.QuerySet):
    def live(self) -> "TableQuerySet":
        return self.filter(deleted_at__isnull=True)

    def visible_to(self, role: Role | None) -> "TableQuerySet":
        """Live tables the role may see (see identity.roles.table_filter_q)."""
        return self.live().filter(table_filter_q(role))


class Database(models.Model):
    catalog = models.ForeignKey(GlueCatalog, on_delete=models.CASCADE, related_name="databases")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    location_uri = models.CharField(max_length=1024, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    hub = models.CharField(max_length=64, blank=True, db_index=True)
    layer = models.CharField(max_length=16, blank=True, db_index=True)
    visibility = models.CharField(max_length=8, default="hub")
    # Lake Formation tags assigned to the database ({key: [values]}), read by the full sync.
    lf_tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["catalog", "name"], name="uniq_database")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Table(models.Model):
    catalog = models.ForeignKey(GlueCatalog, on_delete=models.CASCADE, related_name="tables")
    database = models.ForeignKey(Database, on_delete=models.CASCADE, related_name="tables")
    # Denormalised so lookups by "database.table" and role filters need no join.
    database_name = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    table_type = models.CharField(max_length=32, blank=True, db_index=True)
    location = models.CharField(max_length=1024, blank=True)
    format = models.CharField(max_length=32, blank=True, db_index=True)
    input_format = models.CharField(max_length=255, blank=True)
    serde = models.CharField(max_length=255, blank=True)
    view_sql = models.TextField(blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    owner = models.CharField(max_length=255, blank=True, db_index=True)
    classification = models.CharField(max_length=32, blank=True, db_index=True)
    hub = models.CharField(max_length=64, blank=True, db_index=True)
    layer = models.CharField(max_length=16, blank=True, db_index=True)
    visibility = models.CharField(max_length=8, default="hub", db_index=True)
    # Effective Lake Formation tags ({key: [values]}, the database's included unless the table overrides
    # a key), read by the full sync (catalog.services.lf_tags); not part of the Glue fingerprint.
    lf_tags = models.JSONField(default=dict, blank=True)
    glue_version_id = models.CharField(max_length=64, blank=True)
    # Hash of everything the mirror stores from Glue: unchanged tables cost no writes.
    fingerprint = models.CharField(max_length=64, blank=True)
    column_count = models.PositiveIntegerField(default=0)
    partition_count = models.PositiveIntegerField(default=0)
    # Partitions not read since the table was created or changed: the partition pass reads these
    # (one Glue call per table, kept out of the table sync so tables are mirrored without waiting).
    partitions_pending = models.BooleanField(default=False)
    # Popularity signal for ranking (views, queries, workspaces launched on it).
    usage_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    synced_at = models.DateTimeField(auto_now=True)

    objects = TableQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["catalog", "database_name", "name"], name="uniq_table"),
        ]
        indexes = [
            models.Index(fields=["database_name", "name"], name="table_qualified_name"),
            models.Index(fields=["catalog", "id"], condition=Q(partitions_pending=True), name="table_partitions_pending"),
        ]
        ordering = ["database_name", "name"]

    def __str__(self) -> str:
        return self.qualified_name

    @property
    def qualified_name(self) -> str:
        return f"{self.database_name}.{self.name}"

    @property
    def is_view(self) -> bool:
        return self.table_type == "VIRTUAL_VIEW"


class Column(models.Model):
    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="columns")
    name = models.CharField(max_length=255)
    type = models.TextField()
    comment = models.TextField(blank=True)
    position = models.PositiveIntegerField()
    is_partition_key = models.BooleanField(default=False)
    # Effective Lake Formation tags of the column where they differ from its table's ({key: [values]}).
    lf_tags = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["table", "name", "is_partition_key"], name="uniq_column")]
        ordering = ["is_partition_key", "position"]

    def __str__(self) -> str:
        return f"{self.table_id}.{self.name}"


class Partition(models.Model):
    """A Glue partition: its key values and location."""

    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="partitions")
    values = models.JSONField()
    values_key = models.CharField(max_length=1024, help_text="Values joined by '/', for uniqueness.")
    location = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["table", "values_key"], name="uniq_partition")]
        ordering = ["-values_key"]


class TableVersion(models.Model):
    """One Glue table version as the mirror saw it, with the diff against the previous one."""

    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="versions")
    version_id = models.CharField(max_length=64)
    columns = models.JSONField(default=list, help_text="[{name, type, comment, partition_key}]")
    diff = models.JSONField(default=dict, help_text="{added: [...], removed: [...], type_changed: [...]}")
    updated_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["table", "version_id"], name="uniq_table_version")]
        ordering = ["-recorded_at", "-id"]


class SyncRun(models.Model):
    """One catalog sync (full or incremental) with its outcome."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        PARTIAL = "partial", "succeeded with warnings"
        FAILED = "failed"
        # The mass-deletion guard stopped it (catalog.services.guard); an admin confirms or ignores it.
        NEEDS_CONFIRMATION = "needs_confirm", "stopped: deletions need confirmation"
        CONFIRMED = "confirmed", "deletions confirmed"

    class Kind(models.TextChoices):
        FULL = "full"
        INCREMENTAL = "incremental"
        EVENTS = "events"
        PARTITIONS = "partitions"

    catalog = models.ForeignKey(GlueCatalog, on_delete=models.CASCADE, related_name="sync_runs", null=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    # Held by the worker doing the sync, renewed while it works (portal.leases); null while queued.
    # A lapsed lease means that worker was lost: the next sync of the catalog takes the claim over.
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # Two syncs never run at once on the same catalog. The partition pass has a claim of its
            # own: it may run beside a table sync, never beside another partition pass.
            models.UniqueConstraint(
                fields=["catalog"], condition=Q(status="running") & ~Q(kind="partitions"),
                name="one_running_sync_per_catalog",
            ),
            models.UniqueConstraint(
                fields=["catalog"], condition=Q(status="running", kind="partitions"),
                name="one_running_partition_pass_per_catalog",
            ),
        ]

    @property
    def label(self) -> str:
        """What the run is called in messages: "full sync", "events sync", "partition pass"."""
        return "partition pass" if self.kind == self.Kind.PARTITIONS else f"{self.kind} sync"

    @property
    def seconds(self) -> float | None:
        if not self.finished_at:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class Curation(models.Model):
    """What stewards add in the portal on top of Glue; one row per table, latest values."""

    table = models.OneToOneField(Table, on_delete=models.CASCADE, related_name="curation")
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    owner = models.CharField(max_length=255, blank=True)
    classification = models.CharField(max_length=32, blank=True)
    pii_columns = models.JSONField(default=list, blank=True)
    # Deprecation: a steward's notice that the dataset is going away (search demotes and labels it).
    deprecated = models.BooleanField(default=False)
    deprecation_reason = models.TextField(blank=True)
    deprecation_date = models.DateField(null=True, blank=True, help_text="when it stops being maintained")
    replacement = models.CharField(max_length=511, blank=True, help_text="database.table to use instead")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(auto_now=True)


class CurationChange(models.Model):
    """History of curation edits: who changed which field, from what to what, when."""

    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="curation_changes")
    # Blank for the table's own fields; the column's name for column curation.
    column = models.CharField(max_length=255, blank=True)
    field = models.CharField(max_length=64)
    old_value = models.JSONField(null=True)
    new_value = models.JSONField(null=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-id"]


PII_KINDS = ("name", "email", "phone", "address", "national-id", "health", "financial", "birth-date", "other")


class ColumnCuration(models.Model):
    """A steward's curation of one column (keyed by name: a Glue re-sync may recreate the Column rows).

    Blank values mean "not set by a steward": the Glue comment or an accepted propagation shows
    instead (see ``catalog.queries.column_states``). ``pii_status`` is ``confirmed`` (``pii_kind``
    says what), ``cleared`` (a steward says it is not PII, whatever lineage suggests) or blank.
    """

    class PiiStatus(models.TextChoices):
        NONE = "", "not decided"
        CONFIRMED = "confirmed"
        CLEARED = "cleared"

    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="column_curations")
    column = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    classification = models.CharField(max_length=32, blank=True)
    pii_kind = models.CharField(max_length=32, blank=True)
    pii_status = models.CharField(max_length=16, blank=True, choices=PiiStatus.choices)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["table", "column"], name="uniq_column_curation")]


class PropagationProposal(models.Model):
    """An upstream column's curated value offered to a downstream column that lineage says is a direct copy.

    One row per (target column, field, origin column): re-proposing updates it, so a rejected
    proposal stays rejected. ``path`` holds the lineage dataset pairs ``[[source, target], …]`` the
    value travelled along; when one of them changes, the origin is re-checked and the row is
    withdrawn if no direct-copy path is left. PII proposals apply at once (``applied``: the
    target shows "suspected PII") until a steward confirms or clears the column.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        APPLIED = "applied", "applied at once (suspected PII)"
        WITHDRAWN = "withdrawn", "withdrawn (lineage or origin changed)"

    FIELDS = ("description", "tags", "classification", "pii")

    target_table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="incoming_proposals")
    target_column = models.CharField(max_length=255)
    field = models.CharField(max_length=16)
    value = models.JSONField(null=True)
    origin_table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="outgoing_proposals")
    origin_column = models.CharField(max_length=255)
    via_jobs = models.JSONField(default=list, help_text="Job names along the path, upstream first")
    path = models.JSONField(default=list, help_text="[[source dataset id, target dataset id], …]")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["target_table", "target_column", "field", "origin_table", "origin_column"],
                                    name="uniq_propagation_proposal"),
        ]
        indexes = [
            models.Index(fields=["origin_table", "origin_column", "field"], name="proposal_origin"),
            GinIndex(fields=["path"], name="proposal_path", opclasses=["jsonb_path_ops"]),
        ]
        ordering = ["target_table_id", "target_column", "field", "id"]

    @property
    def origin_label(self) -> str:
        return f"{self.origin_table.qualified_name}.{self.origin_column}"

    @property
    def explanation(self) -> str:
        """What the column page says: "from db.table.column via job y"."""
        via = f" via job {' → '.join(self.via_jobs)}" if self.via_jobs else ""
        return f"from {self.origin_label}{via}"


class DatasetOwner(models.Model):
    """An owner of a dataset: a portal user or a team (a Django group), with the kind of ownership.

    Exactly one of ``user`` and ``team`` is set. Written by ``catalog.services.owners``.
    """

    class Kind(models.TextChoices):
        TECHNICAL = "technical", "technical owner"
        BUSINESS = "business", "business owner"
        STEWARD = "steward"

    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="owners")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=(Q(user__isnull=False) & Q(team__isnull=True))
                                   | (Q(user__isnull=True) & Q(team__isnull=False)), name="owner_is_user_or_team"),
            models.UniqueConstraint(fields=["table", "kind", "user"], condition=Q(user__isnull=False), name="uniq_owner_user"),
            models.UniqueConstraint(fields=["table", "kind", "team"], condition=Q(team__isnull=False), name="uniq_owner_team"),
        ]
        ordering = ["kind", "id"]

    @property
    def name(self) -> str:
        """``ana`` for a user, ``team:finance-analysts`` for a team: how search's owner facet names them."""
        return self.user.get_username() if self.user is not None else f"team:{self.team.name if self.team else ''}"
