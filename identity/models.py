"""Identity state: the groups a user held at last login, personal access tokens, the audit trail.

The tables keep the names they were created with when this state lived in the ``portal`` app
(``db_table``); the move was a change of Django's model state only (portal 0004, identity 0001)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from identity.roles import Role


class UserGroups(models.Model):
    """The group names an SSO user's IdP sent at the last login.

    Roles are derived from these at every request that needs them (role selection,
    switching, token use), so losing a group at the IdP loses the role at the next
    login. Local accounts have ``source="local"``: their Django groups are read live.
    """

    SOURCE_SSO = "sso"
    SOURCE_LOCAL = "local"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_groups")
    source = models.CharField(max_length=20, choices=[(SOURCE_SSO, "SSO"), (SOURCE_LOCAL, "Local account")])
    provider = models.CharField(max_length=50, blank=True, help_text="allauth provider id for SSO users")
    groups = models.JSONField(default=list)
    refreshed_at = models.DateTimeField(default=timezone.now)
    # Bumped whenever what the user may act as changes (groups, admin edits, back-channel logout):
    # every open session re-checks its role at its next request (identity.middleware.LiveGrantsMiddleware).
    grants_version = models.PositiveIntegerField(default=0)
    # Bumped to end every open session of the user (IdP back-channel logout).
    sessions_epoch = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "portal_usergroups"

    def __str__(self) -> str:
        return f"{self.user} ({self.source}): {', '.join(self.groups)}"


class AccessTokenQuerySet(models.QuerySet):
    def active(self) -> "AccessTokenQuerySet":
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class AccessToken(models.Model):
    """A personal access token bound to one role. Only the sha256 of the secret is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100)
    persona = models.CharField(max_length=20)
    hub = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    # First characters of the secret, shown in lists so a user can tell tokens apart.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Granted by the owner at creation only: a token's write permission never grows afterwards.
    # Today the one scope is "write" (the MCP write tools); reads need no scope.
    scopes = models.JSONField(default=list, blank=True)

    objects = AccessTokenQuerySet.as_manager()

    class Meta:
        db_table = "portal_accesstoken"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @property
    def role(self) -> Role:
        """The role as issued (use-case scopes are re-derived at each use)."""
        return Role(self.persona, self.hub or None)

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    def status(self, now: datetime | None = None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"


class AuditEvent(models.Model):
    """One audited action: who (and in which role) did what, to what, when and from where."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    # Kept as text so the trail survives the user's deletion; empty for the system.
    username = models.CharField(max_length=150, blank=True, db_index=True)
    role = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    target = models.CharField(max_length=500, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "portal_auditevent"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.username or 'system'} {self.action} {self.target}"
