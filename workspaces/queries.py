"""Read helpers of workspaces and subscriptions, always through the role layer."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from identity.roles import Role, launched_in_role_q, made_in_role_q
from workspaces.models import Notification, Subscription, Workspace


def workspaces_for(user: Any, role: Role | None, include_deleted: bool = False) -> QuerySet[Workspace]:
    """The workspaces this user may see in this role (own ones launched in it; all for admins)."""
    qs = Workspace.objects.visible_to(user, role).filter(launched_in_role_q(role)).select_related("owner")
    return qs if include_deleted else qs.live()


def get_workspace(user: Any, role: Role | None, workspace_id: int) -> Workspace:
    """One workspace the user may see, deleted ones included. Raises Http404 otherwise."""
    try:
        return workspaces_for(user, role, include_deleted=True).get(pk=workspace_id)
    except Workspace.DoesNotExist:
        raise Http404("No such workspace.") from None


def subscriptions_for(user: Any, role: Role | None) -> QuerySet[Subscription]:
    """The user's subscriptions made in this role (a token bound to one role sees no others)."""
    return Subscription.objects.filter(made_in_role_q(role), user=user)


def get_subscription(user: Any, role: Role | None, subscription_id: int) -> Subscription:
    try:
        return subscriptions_for(user, role).get(pk=subscription_id)
    except Subscription.DoesNotExist:
        raise Http404("No such subscription.") from None


def notification_feed(user: Any, role: Role | None) -> QuerySet[Notification]:
    return Notification.objects.filter(made_in_role_q(role), user=user)


def subscribed_datasets(user: Any, role: Role | None) -> set[str]:
    return set(subscriptions_for(user, role).values_list("dataset", flat=True))
