"""Django admin views of identity state: read-mostly (writes go through the portal's services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from identity.models import AccessToken, AuditEvent, UserGroups


@admin.register(UserGroups)
class UserGroupsAdmin(admin.ModelAdmin):
    list_display = ("user", "source", "provider", "refreshed_at")
    search_fields = ("user__username",)
    readonly_fields = ("user", "source", "provider", "groups", "refreshed_at")


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "persona", "hub", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("persona", "hub")
    search_fields = ("user__username", "name", "prefix")
    # The hash is useless to show and must never be edited; revoke from the portal's token page or API.
    exclude = ("token_hash",)
    readonly_fields = ("user", "name", "persona", "hub", "prefix", "created_at", "expires_at", "last_used_at",
                       "last_used_ip", "revoked_at")

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "username", "role", "action", "target", "ip")
    list_filter = ("action",)
    search_fields = ("username", "target", "action")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
