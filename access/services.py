"""Every write of access requests, called alike by the HTML views, the API, MCP and the tasks.

pending ─approve→ granting ─(Lake Formation grant, read back)→ granted ─revoke / end date / role lost→
revoking ─(revoke, read back)→ revoked. A grant or revoke Lake Formation refuses, or does not list
afterwards, leaves the request ``failed`` with the reason (``retry`` does it again); ``refuse`` ends a
pending request, and one nobody decides ``expired``. Lake Formation is called by the tasks only
(``dispatch``), so no request waits on AWS; every step is audited and notifies.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from access import dispatch
from access.models import OPEN_STATES, AccessRequest
from catalog.models import Column, Table
from identity import audit, roles
from identity.roles import Role
from portal import aws, lake_permissions

log = logging.getLogger(__name__)

State = AccessRequest.State
ACCESS_TOPIC_PREFIX = "datahub-access-"
MAX_PURPOSE = 2000


class AccessError(Exception):
    """Bad input or a forbidden step; the message is shown to the user."""

    status_code = 400


class DatasetNotFound(AccessError):
    """Unknown dataset, or one outside the role (indistinguishable on purpose)."""

    status_code = 404


class NotAllowed(AccessError):
    status_code = 403


class WrongState(AccessError):
    """The step does not fit the request's current state (or repeats an open request)."""

    status_code = 409


class LakeFormationUnavailable(AccessError):
    """Lake Formation could not be reached; the task tries again shortly."""

    status_code = 503


# --- Asking ------------------------------------------------------------------------------------

def _dataset(role: Role, name: str) -> Table:
    database, dot, table_name = str(name or "").strip().partition(".")
    if not dot or not database or not table_name:
        raise AccessError(f"Dataset {name!r} is not a 'database.table' name.")
    table = Table.objects.visible_to(role).filter(database_name=database, name=table_name).first()
    if table is None:
        raise DatasetNotFound(f"Dataset {name} not found.")
    return table


def _columns(table: Table, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return []
    if not isinstance(columns, (list, tuple)) or not all(isinstance(c, str) and c for c in columns):
        raise AccessError("columns must be a list of column names.")
    known = set(Column.objects.filter(table=table).values_list("name", flat=True))
    unknown = sorted(set(columns) - known)
    if unknown:
        raise AccessError(f"{table.qualified_name} has no column {', '.join(unknown)}.")
    return sorted(set(columns))


def _until(value: Any) -> date:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise AccessError(f"until must be a date (YYYY-MM-DD), not {value!r}.") from None
    if not isinstance(value, date):
        raise AccessError("until must be a date (YYYY-MM-DD).")
    today = timezone.localdate()
    if value < today:
        raise AccessError("until must not be in the past.")
    if value > today + timedelta(days=settings.ACCESS_MAX_DAYS):
        raise AccessError(f"until may be at most {settings.ACCESS_MAX_DAYS} days ahead.")
    return value


def principal_for(role: Role) -> str:
    """The IAM role Lake Formation grants to for ``role``. Raises AccessError when none is mapped."""
    arn = aws.mapped_role_arn(role)
    if not arn:
        raise AccessError(f"Your role {role.key} has no IAM role in AWS_ROLE_ARNS, and Lake Formation grants go to "
                          "an IAM role: ask an admin to map one.")
    return arn


def request_access(*, user: Any, role: Role, dataset: str, purpose: str, until: Any,
                   columns: Sequence[str] | None = None, ip: str | None = None, via: str = "") -> AccessRequest:
    """Record a pending request of ``role`` for ``dataset`` (whole table, or ``columns``).

    Raises NotAllowed (403) for a role that may not ask, DatasetNotFound (404), AccessError (400) for bad
    input or a role without an IAM role, WrongState (409) when an open request already asks for it.
    ``via`` names the caller in the audit trail (an MCP tool's name).
    """
    table = _dataset(role, dataset)
    if not roles.may_request_access(role, table):
        raise NotAllowed(f"Your role ({role.label}) may not request access; switch to a consumer role.")
    purpose = str(purpose or "").strip()
    if not purpose:
        raise AccessError("Say what the access is for (purpose).")
    if len(purpose) > MAX_PURPOSE:
        raise AccessError(f"The purpose may be at most {MAX_PURPOSE} characters.")
    end = _until(until)
    chosen = _columns(table, columns)
    principal = principal_for(role)
    with transaction.atomic():
        if AccessRequest.objects.select_for_update().filter(
                role_key=role.key, dataset=table.qualified_name, state__in=OPEN_STATES).exists():
            raise WrongState(f"An open request of {role.key} for {table.qualified_name} exists already.")
        request = AccessRequest.objects.create(
            requester=user, role_key=role.key, role=role.as_dict(), table=table, dataset=table.qualified_name,
            hub=table.hub, columns=chosen, purpose=purpose, until=end, principal_arn=principal,
            expires_at=timezone.now() + timedelta(days=settings.ACCESS_REQUEST_PENDING_DAYS),
        )
        details = {"columns": chosen, "until": end.isoformat(), "purpose": purpose}
        if via:
            details["via"] = via
        audit.record(user, "access.requested", role=role, target=_target(request), ip=ip, details=details)
        _notify(request, "requested")
    return request


def _target(request: AccessRequest) -> str:
    return f"access-request:{request.pk} dataset:{request.dataset}"


# --- Deciding ----------------------------------------------------------------------------------

def _check_decider(request: AccessRequest, role: Role | None) -> None:
    if not roles.may_decide_access(role, request):
        raise NotAllowed(f"Only the stewards of hub {request.hub} (or an admin) decide this request.")


def _move(request: AccessRequest, from_states: Sequence[str], **fields: Any) -> bool:
    """Compare-and-set the request's state: True when it was in ``from_states`` and now has ``fields``."""
    moved = AccessRequest.objects.filter(pk=request.pk, state__in=list(from_states)).update(
        updated_at=timezone.now(), **fields)
    request.refresh_from_db()
    return bool(moved)


def _scope_resource(request: AccessRequest, scope: str, columns: Sequence[str] | None,
                    tag_expression: dict[str, Any] | None) -> tuple[str, list[str], dict[str, list[str]], dict[str, Any]]:
    database, _, table_name = request.dataset.partition(".")
    if scope == AccessRequest.Scope.TAGS:
        if not isinstance(tag_expression, dict) or not tag_expression or not all(
                isinstance(k, str) and k and isinstance(v, list) and v and all(isinstance(x, str) for x in v)
                for k, v in tag_expression.items()):
            raise AccessError('A tag grant needs tag_expression: {"TAG_KEY": ["value", ...], ...}.')
        expression = {k: sorted(set(v)) for k, v in tag_expression.items()}
        return scope, [], expression, lake_permissions.tag_policy_resource(expression)
    if scope == AccessRequest.Scope.TABLE:
        return scope, [], {}, lake_permissions.table_resource(database, table_name)
    if scope == AccessRequest.Scope.COLUMNS:
        chosen = _columns(request.table, columns if columns is not None else request.columns) if request.table \
            else list(request.columns)
        if not chosen:
            raise AccessError("A column grant needs at least one column.")
        return scope, chosen, {}, lake_permissions.table_resource(database, table_name, chosen)
    raise AccessError("scope must be one of table, columns, tags.")


def approve(request: AccessRequest, *, actor: Any, role: Role | None, scope: str | None = None,
            columns: Sequence[str] | None = None, tag_expression: dict[str, Any] | None = None,
            ip: str | None = None) -> AccessRequest:
    """Approve a pending request with the chosen scope (default: what was asked) and enqueue the grant.

    Raises NotAllowed (403) for anyone but the hub's stewards and admins, AccessError (400) for a bad
    scope, WrongState (409) when the request is not pending.
    """
    _check_decider(request, role)
    if request.state != State.PENDING:
        raise WrongState(f"Only a pending request can be approved (it is {request.state}).")
    scope = scope or (AccessRequest.Scope.COLUMNS if request.columns else AccessRequest.Scope.TABLE)
    scope, chosen, expression, resource = _scope_resource(request, scope, columns, tag_expression)
    with transaction.atomic():
        if not _move(request, [State.PENDING], state=State.GRANTING, scope=scope, columns=chosen or request.columns,
                     tag_expression=expression, resource=resource, decided_by=actor, decided_at=timezone.now(),
                     reason=""):
            raise WrongState(f"Only a pending request can be approved (it is {request.state}).")
        audit.record(actor, "access.approved", role=role, target=_target(request), ip=ip,
                     details={"scope": scope, "columns": chosen, "tag_expression": expression})
        _notify(request, "approved")
        dispatch.grant(request.pk)
    return request


def refuse(request: AccessRequest, *, actor: Any, role: Role | None, reason: str, ip: str | None = None) -> AccessRequest:
    """Refuse a pending request with a reason. Raises NotAllowed (403), AccessError (400), WrongState (409)."""
    _check_decider(request, role)
    reason = str(reason or "").strip()
    if not reason:
        raise AccessError("Say why the request is refused (reason).")
    with transaction.atomic():
        if not _move(request, [State.PENDING], state=State.REFUSED, reason=reason[:MAX_PURPOSE], decided_by=actor,
                     decided_at=timezone.now()):
            raise WrongState(f"Only a pending request can be refused (it is {request.state}).")
        audit.record(actor, "access.refused", role=role, target=_target(request), ip=ip, details={"reason": reason})
        _notify(request, "refused")
    return request


def revoke(request: AccessRequest, *, actor: Any, role: Role | None, ip: str | None = None,
           reason: str = "") -> AccessRequest:
    """Take back a granted request (by a steward of its hub or an admin; ``role`` None: the system, for
    the end date or a role lost) and enqueue the revocation. Raises NotAllowed (403), WrongState (409)."""
    if actor is not None or role is not None:
        _check_decider(request, role)
    reason = reason or "revoked by a steward"
    with transaction.atomic():
        if not _move(request, [State.GRANTED], state=State.REVOKING, reason=reason):
            raise WrongState(f"Only a granted request can be revoked (it is {request.state}).")
        audit.record(actor, "access.revoking", role=role, target=_target(request), ip=ip, details={"reason": reason})
        _notify(request, "revoking")
        dispatch.revoke(request.pk)
    return request


def retry(request: AccessRequest, *, actor: Any, role: Role | None, ip: str | None = None) -> AccessRequest:
    """Run a failed grant or revocation again. Raises NotAllowed (403), WrongState (409)."""
    _check_decider(request, role)
    again = State.REVOKING if request.failed_action == "revoke" else State.GRANTING
    with transaction.atomic():
        if not _move(request, [State.FAILED], state=again):
            raise WrongState(f"Only a failed request can be retried (it is {request.state}).")
        audit.record(actor, "access.retried", role=role, target=_target(request), ip=ip,
                     details={"action": request.failed_action or "grant"})
        (dispatch.revoke if again == State.REVOKING else dispatch.grant)(request.pk)
    return request


# --- Lake Formation (run by the tasks) -------------------------------------------------------------

def _refusal(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"


def fail(request: AccessRequest, action: str, reason: str) -> None:
    """Leave the request failed with the reason (a retry does ``action`` again)."""
    with transaction.atomic():
        if _move(request, [State.GRANTING, State.REVOKING], state=State.FAILED, failed_action=action,
                 reason=reason[:4000]):
            audit.record(None, "access.failed", role=request.role_key, target=_target(request),
                         details={"action": action, "reason": reason})
            _notify(request, "failed")


def grant_now(request_id: int) -> AccessRequest:
    """Grant what was approved, then read it back: ``granted`` only when Lake Formation lists it.

    A refusal or a grant not listed afterwards ends in ``failed`` with the reason; a no-op unless
    ``granting``. Raises LakeFormationUnavailable when Lake Formation cannot be reached (the task retries).
    """
    request = AccessRequest.objects.get(pk=request_id)
    if request.state != State.GRANTING:
        return request
    try:
        client = aws.client("lakeformation")
        lake_permissions.grant(request.principal_arn, request.resource, client=client)
        listed = lake_permissions.is_granted(request.principal_arn, request.resource, client=client)
    except ClientError as exc:
        fail(request, "grant", f"Lake Formation refused the grant: {_refusal(exc)}")
        return request
    except BotoCoreError as exc:
        raise LakeFormationUnavailable(f"Lake Formation is unavailable: {exc}") from exc
    if not listed:
        fail(request, "grant", "Lake Formation accepted the grant but does not list it (ListPermissions); retry.")
        return request
    with transaction.atomic():
        if _move(request, [State.GRANTING], state=State.GRANTED, granted_at=timezone.now(), reason="",
                 failed_action=""):
            audit.record(None, "access.granted", role=request.role_key, target=_target(request),
                         details={"principal": request.principal_arn, "resource": request.resource})
            _notify(request, "granted")
    return request


def _still_needed(request: AccessRequest) -> bool:
    """Another granted request of the same IAM role holds the very same grant: revoking it would take
    that one's access too (Lake Formation keeps one grant per principal and resource)."""
    return AccessRequest.objects.filter(principal_arn=request.principal_arn, resource=request.resource,
                                        state=State.GRANTED).exclude(pk=request.pk).exists()


def revoke_now(request_id: int) -> AccessRequest:
    """Revoke exactly what was granted, then check Lake Formation no longer lists it.

    A no-op unless ``revoking``; failures end in ``failed`` with the reason. Raises
    LakeFormationUnavailable when Lake Formation cannot be reached (the task retries).
    """
    request = AccessRequest.objects.get(pk=request_id)
    if request.state != State.REVOKING:
        return request
    shared = _still_needed(request)
    try:
        client = aws.client("lakeformation")
        if request.resource and not shared:
            lake_permissions.revoke(request.principal_arn, request.resource, client=client)
        still_listed = bool(request.resource) and not shared and lake_permissions.is_granted(
            request.principal_arn, request.resource, client=client)
    except ClientError as exc:
        fail(request, "revoke", f"Lake Formation refused the revocation: {_refusal(exc)}")
        return request
    except BotoCoreError as exc:
        raise LakeFormationUnavailable(f"Lake Formation is unavailable: {exc}") from exc
    if still_listed:
        fail(request, "revoke", "Lake Formation still lists the grant after RevokePermissions; retry.")
        return request
    with transaction.atomic():
        if _move(request, [State.REVOKING], state=State.REVOKED, revoked_at=timezone.now(), failed_action=""):
            audit.record(None, "access.revoked", role=request.role_key, target=_target(request),
                         details={"reason": request.reason, "kept_for_another_request": shared})
            _notify(request, "revoked")
    return request


# --- Time and roles ----------------------------------------------------------------------------

def expire(now: datetime | None = None) -> dict[str, list[int]]:
    """Beat: undecided requests past their expiry become ``expired``; grants past their end date are revoked."""
    now = now or timezone.now()
    done: dict[str, list[int]] = {"expired": [], "revoking": []}
    for request in AccessRequest.objects.filter(state=State.PENDING, expires_at__lte=now):
        with transaction.atomic():
            if _move(request, [State.PENDING], state=State.EXPIRED, reason="Nobody decided in time."):
                audit.record(None, "access.expired", role=request.role_key, target=_target(request))
                _notify(request, "expired")
                done["expired"].append(request.pk)
    for request in AccessRequest.objects.filter(state=State.GRANTED, until__lt=timezone.localdate(now)):
        try:
            revoke(request, actor=None, role=None, reason=f"the end date {request.until.isoformat()} has passed")
        except WrongState:
            continue
        done["revoking"].append(request.pk)
    return done


def revoke_for_lost_roles(user_id: int) -> list[int]:
    """Revoke what was granted to roles the user no longer holds (identity.services.grants_changed)."""
    from django.contrib.auth import get_user_model

    from identity import queries

    user = get_user_model().objects.select_related("portal_groups").filter(pk=user_id).first()
    if user is None:
        return []
    granted = queries.granted_roles(user)
    revoked = []
    for request in AccessRequest.objects.filter(requester=user, state=State.GRANTED):
        if roles.role_lost(request.role_key, granted):
            try:
                revoke(request, actor=None, role=None, reason=f"the role {request.role_key} is no longer granted")
            except WrongState:
                continue
            revoked.append(request.pk)
    return revoked


def on_grants_changed(sender: Any, user_id: int, **kwargs: Any) -> None:
    """identity.services.grants_changed → revoke the lost roles' grants on a worker."""
    dispatch.revoke_for_lost_roles(user_id)


# --- Telling --------------------------------------------------------------------------------------

def _notify(request: AccessRequest, event: str) -> None:
    """A row in the requester's portal feed now, and a message on the dataset's access topic (SNS) once
    the step commits. Never raises for an SNS outage: the step is done and audited, the feed has it."""
    from workspaces.models import Notification

    row = Notification.objects.create(user_id=request.requester_id, role_key=request.role_key,
                                      dataset=request.dataset, at=timezone.now(),
                                      source=f"access request {request.pk}: {event}")
    message = {"event": f"access.{event}", "id": request.pk, "dataset": request.dataset, "role": request.role_key,
               "state": request.state, "reason": request.reason}
    transaction.on_commit(lambda: _publish(row.pk, request.dataset, event, message))


def _publish(notification_id: int, dataset: str, event: str, message: dict[str, Any]) -> None:
    from workspaces.models import Notification
    from workspaces.notifications import ensure_dataset_topic

    try:
        sns = aws.client("sns")
        message_id = sns.publish(
            TopicArn=ensure_dataset_topic(dataset, ACCESS_TOPIC_PREFIX, client=sns),
            Subject=f"Access to {dataset}: {event}"[:100], Message=json.dumps(message),
            MessageAttributes={"dataset": {"DataType": "String", "StringValue": dataset},
                               "event": {"DataType": "String", "StringValue": f"access.{event}"}},
        )["MessageId"]
    except (ClientError, BotoCoreError):
        log.exception("Publishing access.%s on %s to SNS failed; the portal feed has it", event, dataset)
        return
    Notification.objects.filter(pk=notification_id).update(message_id=message_id)
