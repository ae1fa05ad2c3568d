"""Workspaces (a SageMaker notebook, optionally with EMR) and new-data subscriptions.

A workspace remembers everything it created in AWS (notebook, lifecycle
configuration, EMR cluster, Lake Formation grants) so delete can clean up from
any state, including a failed launch.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.models import Table
from identity.roles import Role


class WorkspaceQuerySet(models.QuerySet):
    def visible_to(self, user: object, role: Role | None) -> "WorkspaceQuerySet":
        """Only the owner sees a workspace; admins see all; nothing without a role."""
        if role is None or not getattr(user, "is_authenticated", False):
            return self.none()
        if role.is_admin:
            return self.all()
        return self.filter(owner=user)

    def live(self) -> "WorkspaceQuerySet":
        return self.exclude(status=Workspace.Status.DELETED)


class Workspace(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        IN_SERVICE = "in_service", "in service"
        STOPPING = "stopping"
        STOPPED = "stopped"
        FAILED = "failed"
        DELETING = "deleting"
        DELETED = "deleted"
        # Its notebook vanished (the embedded mode's local AWS after a restart): "Re-create" launches it again.
        RESOURCES_MISSING = "missing", "resources missing"

    # States that change by themselves in AWS: the follower keeps polling these.
    TRANSITIONAL = (Status.PENDING, Status.STOPPING, Status.DELETING)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workspaces")
    role = models.JSONField(help_text="The portal role the workspace was launched in (Role.as_dict()).")
    role_arn = models.CharField(max_length=2048, help_text="IAM role assumed for AWS calls and granted in Lake Formation.")
    assumed_identity = models.CharField(max_length=2048, blank=True, help_text="STS caller ARN seen at launch.")
    name = models.CharField(max_length=63, unique=True, help_text="SageMaker notebook instance name.")
    instance_type = models.CharField(max_length=64)
    volume_gb = models.PositiveIntegerField()
    emr = models.BooleanField(default=False)
    tables = models.ManyToManyField(Table, related_name="workspaces", blank=True)
    datasets = models.JSONField(default=list, help_text="Snapshot: [{name, database, table, location}].")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    status_reason = models.TextField(blank=True)
    hourly_cost = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    notebook_arn = models.CharField(max_length=2048, blank=True)
    notebook_url = models.CharField(max_length=2048, blank=True)
    lifecycle_config_name = models.CharField(max_length=63, blank=True)
    emr_cluster_id = models.CharField(max_length=64, blank=True)
    grants = models.JSONField(default=list, help_text="Lake Formation grants made: [[database, table], ...].")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(null=True, blank=True, help_text="Last open or start; idle stop counts from here.")
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Set while the owner no longer holds the workspace's role: stopped, Lake Formation grants revoked
    # (``grants`` keeps what to grant again); cleared when the role returns (workspaces.role_loss).
    suspended_at = models.DateTimeField(null=True, blank=True)
    # The worker working on a transition holds this in the future (renewed while it works); set to
    # the moment it was released otherwise. Free for too long while transitional: its worker was lost
    # and the next one resumes it (workspaces.leasing).
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def portal_role(self) -> Role:
        return Role.from_dict(self.role)

    @property
    def is_transitional(self) -> bool:
        return self.status in self.TRANSITIONAL

    @property
    def can_open(self) -> bool:
        return self.status == self.Status.IN_SERVICE

    @property
    def can_stop(self) -> bool:
        return self.status in (self.Status.IN_SERVICE, self.Status.PENDING) and bool(self.notebook_arn)

    @property
    def can_start(self) -> bool:
        return self.status == self.Status.STOPPED

    @property
    def can_recreate(self) -> bool:
        return self.status == self.Status.RESOURCES_MISSING and self.suspended_at is None

    @property
    def can_delete(self) -> bool:
        return self.status not in (self.Status.DELETING, self.Status.DELETED)

    @property
    def dataset_names(self) -> list[str]:
        return [d["name"] for d in self.datasets]


class Subscription(models.Model):
    """An SNS subscription of a user's endpoint (SQS queue ARN or e-mail) to a dataset's topic."""

    class Protocol(models.TextChoices):
        SQS = "sqs"
        EMAIL = "email", "e-mail"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dataset_subscriptions")
    table = models.ForeignKey(Table, on_delete=models.SET_NULL, null=True, related_name="subscriptions")
    # Matched against publish_new_data's name, so events still reach subscribers if the mirror lags.
    dataset = models.CharField(max_length=511, db_index=True)
    protocol = models.CharField(max_length=8, choices=Protocol.choices)
    endpoint = models.CharField(max_length=2048)
    topic_arn = models.CharField(max_length=2048)
    subscription_arn = models.CharField(max_length=2048, help_text="Or 'pending confirmation' for e-mail.")
    created_at = models.DateTimeField(auto_now_add=True)
    # The role (Role.key) it was made in: listed in that role only, paused while the user lacks it.
    # Blank for subscriptions made before roles were recorded (listed in every role of the user).
    role_key = models.CharField(max_length=150, blank=True, default="", db_index=True)
    # Set while paused (its role lost): the SNS subscription is removed, re-made on resume.
    paused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["dataset", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "dataset", "protocol", "endpoint"], name="uniq_dataset_subscription"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} → {self.protocol}:{self.endpoint}"


class Notification(models.Model):
    """One new-data event in one subscriber's in-portal feed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    dataset = models.CharField(max_length=511)
    partition = models.TextField(blank=True)
    rows = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField()
    source = models.CharField(max_length=255, blank=True)
    message_id = models.CharField(max_length=255, blank=True, help_text="SNS MessageId; blank if publishing failed.")
    created_at = models.DateTimeField(auto_now_add=True)
    # The role of the subscription that brought it (blank: before roles were recorded).
    role_key = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="notification_feed")]
