"""Read helpers of workspaces and subscriptions, always through the role layer."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from portal.roles import Role
from workspaces.models import Notification, Subscription, Workspace


def workspaces_for(user: Any, role: Role | None, include_deleted: bool = False) -> QuerySet[Workspace]:
    """The workspaces this user may see in this role (own ones; all for admins)."""
    qs = Workspace.objects.visible_to(user, role).select_related("owner")
    return qs if include_deleted else qs.live()


def get_workspace(user: Any, role: Role | None, workspace_id: int) -> Workspace:
    """One workspace the user may see, deleted ones included. Raises Http404 otherwise."""
    try:
        return workspaces_for(user, role, include_deleted=True).get(pk=workspace_id)
    except Workspace.DoesNotExist:
        raise Http404("No such workspace.") from None


def subscriptions_for(user: Any) -> QuerySet[Subscription]:
    return Subscription.objects.filter(user=user)


def get_subscription(user: Any, subscription_id: int) -> Subscription:
    try:
        return subscriptions_for(user).get(pk=subscription_id)
    except Subscription.DoesNotExist:
        raise Http404("No such subscription.") from None


def notification_feed(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user)


def subscribed_datasets(user: Any) -> set[str]:
    return set(subscriptions_for(user).values_list("dataset", flat=True))
