"""A role lost reaches what was made with it; a role that returns can resume it.

When a user no longer holds the role a subscription or workspace was made in (a group removed at
the IdP, an admin edit, deactivation), its subscriptions are paused (the SNS subscription removed,
so nothing is delivered) and its workspaces stopped with their Lake Formation grants revoked; all
audited, and the user is told at the next sign-in. When the role returns, subscriptions are
subscribed again and workspaces get their grants back (the owner starts them again).

Runs in a task (``workspaces.tasks.reconcile_role_holdings``) after ``identity.services.grants_changed``.
Idempotent: ``reconcile`` compares the stored state with the live grants and only acts on differences.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from portal import aws, lake_permissions

from identity import audit, queries
from identity.roles import role_lost
from workspaces import dispatch, services
from workspaces.models import Subscription, Workspace
from workspaces.notifications import SubscriptionUnavailable, ensure_dataset_topic

log = logging.getLogger(__name__)


@dataclass
class Reconciled:
    paused: list[int] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)
    suspended: list[int] = field(default_factory=list)
    reinstated: list[int] = field(default_factory=list)


def reconcile(user_id: int) -> Reconciled:
    """Pause/suspend what the user made in roles they lost, resume what their regained roles hold.

    Raises SubscriptionUnavailable / services.AwsUnavailable when AWS cannot be reached (the task
    retries; what was done so far stays done).
    """
    done = Reconciled()
    user = get_user_model().objects.select_related("portal_groups").filter(pk=user_id).first()
    if user is None:
        return done
    granted = queries.granted_roles(user)
    for subscription in Subscription.objects.filter(user=user).exclude(role_key=""):
        lost = role_lost(subscription.role_key, granted)
        if lost and subscription.paused_at is None:
            _pause(subscription)
            done.paused.append(subscription.pk)
        elif not lost and subscription.paused_at is not None:
            _resume(subscription)
            done.resumed.append(subscription.pk)
    for workspace in Workspace.objects.filter(owner=user).live().select_related("owner"):
        lost = role_lost(workspace.portal_role.key, granted)
        if lost and workspace.suspended_at is None:
            _suspend(workspace)
            done.suspended.append(workspace.pk)
        elif not lost and workspace.suspended_at is not None:
            _reinstate(workspace)
            done.reinstated.append(workspace.pk)
    return done


def _sns_call(call: Any, **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except BotoCoreError as exc:
        raise SubscriptionUnavailable(f"SNS is unavailable; retried shortly ({exc}).") from exc


def _pause(subscription: Subscription) -> None:
    if subscription.subscription_arn.startswith("arn:"):
        try:
            _sns_call(aws.client("sns").unsubscribe, SubscriptionArn=subscription.subscription_arn)
        except ClientError as exc:  # already gone, or an unconfirmed e-mail one AWS expires by itself
            log.info("Pausing subscription %s: %s", subscription.pk, exc)
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(paused_at=timezone.now(), subscription_arn="")
        audit.record(subscription.user, "subscription.paused", role=subscription.role_key,
                     target=f"dataset:{subscription.dataset}",
                     details={"reason": f"role {subscription.role_key} no longer granted",
                              "protocol": subscription.protocol, "endpoint": subscription.endpoint})


def _resume(subscription: Subscription) -> None:
    topic_arn = subscription.topic_arn or ensure_dataset_topic(subscription.dataset)
    try:
        arn = _sns_call(aws.client("sns").subscribe, TopicArn=topic_arn, Protocol=subscription.protocol,
                        Endpoint=subscription.endpoint, ReturnSubscriptionArn=True)["SubscriptionArn"]
    except ClientError as exc:
        log.warning("Resuming subscription %s refused by SNS: %s", subscription.pk, exc)
        return  # stays paused; the next grants change tries again
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(paused_at=None, subscription_arn=arn,
                                                               topic_arn=topic_arn)
        audit.record(subscription.user, "subscription.resumed", role=subscription.role_key,
                     target=f"dataset:{subscription.dataset}", details={"reason": "role granted again"})


def _suspend(workspace: Workspace) -> None:
    role_key = workspace.portal_role.key
    if workspace.can_stop:
        try:
            services.stop_workspace(workspace, actor=None, role=None)
        except services.ActionConflict as exc:  # e.g. still starting: without grants it reads nothing anyway
            log.warning("Suspending workspace %s: %s", workspace.pk, exc)
    still_needed = services._grants_in_use(workspace)  # noqa: SLF001 - the same rule as teardown
    revoked = []
    for database, table in workspace.grants:
        if (database, table) in still_needed:
            continue  # another live workspace of the same IAM role still reads it
        try:
            lake_permissions.revoke(workspace.role_arn, lake_permissions.table_resource(database, table))
        except ClientError as exc:
            log.warning("Suspending workspace %s: revoking %s.%s refused: %s", workspace.pk, database, table, exc)
            continue
        except BotoCoreError as exc:
            raise services.AwsUnavailable(f"Lake Formation is unavailable: {exc}") from exc
        revoked.append(f"{database}.{table}")
    reason = f"Suspended: its role {role_key} is no longer granted to its owner; it resumes when the role returns."
    with transaction.atomic():
        Workspace.objects.filter(pk=workspace.pk).update(suspended_at=timezone.now(), status_reason=reason,
                                                         updated_at=timezone.now())
        audit.record(None, "workspace.suspended", role=role_key, target=f"workspace:{workspace.pk}",
                     details={"owner": workspace.owner.get_username(), "revoked": revoked, "reason": reason})


def _reinstate(workspace: Workspace) -> None:
    for database, table in workspace.grants:
        try:
            lake_permissions.grant(workspace.role_arn, lake_permissions.table_resource(database, table))
        except ClientError as exc:
            log.warning("Resuming workspace %s: granting %s.%s refused: %s", workspace.pk, database, table, exc)
            return  # stays suspended; the next grants change tries again
        except BotoCoreError as exc:
            raise services.AwsUnavailable(f"Lake Formation is unavailable: {exc}") from exc
    with transaction.atomic():
        Workspace.objects.filter(pk=workspace.pk).update(suspended_at=None, status_reason="",
                                                         updated_at=timezone.now())
        audit.record(None, "workspace.resumed", role=workspace.portal_role.key, target=f"workspace:{workspace.pk}",
                     details={"owner": workspace.owner.get_username()})


# --- Receivers ----------------------------------------------------------------------------


def on_grants_changed(sender: Any, user_id: int, **kwargs: Any) -> None:
    """identity.services.grants_changed → reconcile in the worker (AWS calls do not belong in a request)."""
    dispatch.reconcile_role_holdings(user_id)


def tell_at_sign_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """At sign-in, tell the user what is paused because a role is gone (it resumes when the role returns)."""
    paused = Subscription.objects.filter(user=user, paused_at__isnull=False).count()
    suspended = Workspace.objects.filter(owner=user, suspended_at__isnull=False).live().count()
    if paused or suspended:
        messages.warning(request, f"Because a role of yours was removed, {paused} subscription(s) are paused and "
                                  f"{suspended} workspace(s) stopped with their data access revoked. They resume "
                                  "when the role is granted to you again.")
