"""Access requests: a consumer role asks for a dataset, a steward of its hub decides, Lake Formation grants.

A request remembers exactly what was granted (``principal_arn`` and ``resource``), so revocation
removes that and nothing else, and ``state`` is only ``granted`` once Lake Formation lists it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.models import Table
from identity.roles import Role


class AccessRequest(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        GRANTING = "granting"
        GRANTED = "granted"
        REFUSED = "refused"
        FAILED = "failed"
        REVOKING = "revoking"
        REVOKED = "revoked"
        EXPIRED = "expired"

    class Scope(models.TextChoices):
        TABLE = "table"  # SELECT on the whole table
        COLUMNS = "columns"  # SELECT on named columns
        TAGS = "tags"  # SELECT on the tables an LF-tag expression matches

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests")
    # The role asked for (Role.key), listed in that role only; its IAM role is the grant's principal.
    role_key = models.CharField(max_length=150, db_index=True)
    role = models.JSONField(help_text="Role.as_dict() of the role asked for.")
    table = models.ForeignKey(Table, on_delete=models.SET_NULL, null=True, related_name="access_requests")
    dataset = models.CharField(max_length=511, db_index=True)
    hub = models.CharField(max_length=64, db_index=True, help_text="The dataset's owning hub: whose stewards decide.")
    columns = models.JSONField(default=list, blank=True, help_text="Asked-for columns; empty: the whole table.")
    purpose = models.TextField()
    until = models.DateField(help_text="The grant ends (is revoked) at the end of this day.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    reason = models.TextField(blank=True, help_text="Why it was refused, or what failed.")
    # What the steward approved and what was sent to Lake Formation.
    scope = models.CharField(max_length=8, choices=Scope.choices, blank=True)
    tag_expression = models.JSONField(default=dict, blank=True)
    principal_arn = models.CharField(max_length=2048, blank=True)
    resource = models.JSONField(default=dict, blank=True)
    # The action a failure happened in ("grant" or "revoke"): what a retry does again.
    failed_action = models.CharField(max_length=8, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="access_decisions")
    decided_at = models.DateTimeField(null=True, blank=True)
    granted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(help_text="An undecided request expires then.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["hub", "state"], name="access_request_queue")]

    def __str__(self) -> str:
        return f"{self.dataset} for {self.role_key} ({self.state})"

    @property
    def portal_role(self) -> Role:
        return Role.from_dict(self.role)

    @property
    def is_open(self) -> bool:
        """Pending, granted or on its way: a second request for the same dataset and role would repeat it."""
        return self.state in OPEN_STATES


OPEN_STATES = (AccessRequest.State.PENDING, AccessRequest.State.GRANTING, AccessRequest.State.GRANTED,
               AccessRequest.State.REVOKING, AccessRequest.State.FAILED)
