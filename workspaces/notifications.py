"""New-data notifications per dataset over SNS (owned by the workspaces/subscriptions feature).

Contract: ``publish_new_data`` sends one message per dataset per event to the
dataset's SNS topic and records it for the in-portal feed; ``ensure_dataset_topic``
returns the topic ARN (creating it idempotently).

Each dataset has one topic, named from its ``database.table`` name. A
subscription is an SNS subscription of the user's SQS queue or e-mail address on
that topic; every subscribing user also gets a row in their portal feed. The
portal acts with its own credentials here (it owns the topics).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal import aws

from identity import audit
from identity.roles import Role
from workspaces.models import Notification, Subscription

log = logging.getLogger(__name__)

TOPIC_PREFIX = "datahub-new-data-"
MAX_TOPIC_NAME = 256
_SQS_ARN_RE = re.compile(r"^arn:aws[a-zA-Z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$")


class SubscriptionError(Exception):
    """Bad subscription input; the message is shown to the user."""

    status_code = 400


class SubscriptionUnavailable(SubscriptionError):
    status_code = 503


def topic_name(qualified_name: str, prefix: str = TOPIC_PREFIX) -> str:
    """``datahub-new-data-<db>--<table>`` (``prefix`` names other topics of a dataset, e.g. its access
    topic), limited to SNS's ``[A-Za-z0-9_-]{1,256}``.

    Over-long names keep a hash of the full name, so two long names never share a topic.
    """
    database, _, table = qualified_name.partition(".")
    name = re.sub(r"[^A-Za-z0-9_-]", "-", f"{prefix}{database}--{table}")
    if len(name) > MAX_TOPIC_NAME:
        digest = hashlib.sha256(qualified_name.encode()).hexdigest()[:16]
        name = f"{name[:MAX_TOPIC_NAME - 17]}-{digest}"
    return name


def ensure_dataset_topic(qualified_name: str, prefix: str = TOPIC_PREFIX, *, client: Any = None) -> str:
    """The SNS topic ARN for ``database.table`` (created if missing; CreateTopic is idempotent); ``client``:
    an SNS client to reuse."""
    return (client or aws.client("sns")).create_topic(
        Name=topic_name(qualified_name, prefix), Tags=[{"Key": "datahub:dataset", "Value": qualified_name[:256]}]
    )["TopicArn"]


def new_data_message(qualified_name: str, partition: str | None, rows: int | None, at: datetime,
                     source: str) -> dict[str, Any]:
    return {"dataset": qualified_name, "partition": partition, "rows": rows, "time": at.isoformat(),
            "source": source}


def publish_new_data(qualified_name: str, *, partition: str | None = None, rows: int | None = None,
                     at: datetime | None = None, source: str = "") -> None:
    """Announce new data in ``database.table``: one SNS message, one feed row per subscribing user.

    Never raises for an SNS outage (the caller's run or sync must not fail for it): the
    feed rows are stored anyway, without a message id, and the failure is logged.
    """
    at = at or timezone.now()
    message = new_data_message(qualified_name, partition, rows, at, source)
    message_id = ""
    try:
        message_id = aws.client("sns").publish(
            TopicArn=ensure_dataset_topic(qualified_name),
            Subject=f"New data in {qualified_name}"[:100],
            Message=json.dumps(message),
            MessageAttributes={"dataset": {"DataType": "String", "StringValue": qualified_name}},
        )["MessageId"]
    except (ClientError, BotoCoreError):
        log.exception("Publishing new data in %s to SNS failed; the portal feed still gets it", qualified_name)
    # One feed row per subscriber and role the subscription was made in; paused subscriptions get none.
    subscribers = set(Subscription.objects.filter(dataset=qualified_name, paused_at__isnull=True)
                      .values_list("user_id", "role_key"))
    Notification.objects.bulk_create(
        Notification(user_id=user_id, role_key=role_key, dataset=qualified_name, partition=partition or "",
                     rows=rows, at=at, source=source, message_id=message_id)
        for user_id, role_key in sorted(subscribers)
    )


def on_partitions_added(sender: Any, table_id: int, partitions: list[dict[str, Any]], **kwargs: Any) -> None:
    """catalog.signals.partitions_added → one message for all partitions of the event.

    Never raises: the sync sends this after its commit, and a failing announcement must not
    stop the sync's other receivers (search index, lineage).
    """
    try:
        _announce_partitions(table_id, partitions)
    except Exception:  # noqa: BLE001 - logged with traceback; the catalog is already committed
        log.exception("Announcing new partitions of table %s failed", table_id)


def _announce_partitions(table_id: int, partitions: list[dict[str, Any]]) -> None:
    from catalog.models import Column, Table

    table = Table.objects.filter(pk=table_id).first()
    if table is None or not partitions:
        return
    keys = list(Column.objects.filter(table=table, is_partition_key=True).order_by("position")
                .values_list("name", flat=True))
    names = [partition_label(keys, p.get("values") or []) for p in partitions]
    publish_new_data(table.qualified_name, partition=", ".join(names), at=timezone.now(), source="catalog-sync")


def partition_label(keys: list[str], values: list[Any]) -> str:
    """``year=2024/month=01`` (Hive style), or the bare values when the keys are unknown."""
    if len(keys) == len(values):
        return "/".join(f"{k}={v}" for k, v in zip(keys, values))
    return "/".join(str(v) for v in values)


# --- Subscriptions -------------------------------------------------------------------

def subscribe(*, user: Any, role: Role, dataset: str, protocol: str, endpoint: str,
              ip: str | None = None) -> Subscription:
    """Subscribe ``endpoint`` (an SQS queue ARN or an e-mail address) to new data in ``dataset``.

    Raises workspaces.services.DatasetNotFound (404) for an unknown or hidden dataset,
    SubscriptionError (400) for a bad protocol/endpoint or a duplicate, SubscriptionUnavailable (503).
    """
    from workspaces.services import resolve_datasets

    endpoint = (endpoint or "").strip()
    if protocol == Subscription.Protocol.SQS:
        if not _SQS_ARN_RE.match(endpoint):
            raise SubscriptionError("For protocol sqs the endpoint must be an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME).")
    elif protocol == Subscription.Protocol.EMAIL:
        try:
            validate_email(endpoint)
        except ValidationError:
            raise SubscriptionError(f"{endpoint!r} is not an e-mail address.") from None
    else:
        raise SubscriptionError("Protocol must be 'sqs' or 'email'.")
    (table,) = resolve_datasets(role, [dataset])
    if Subscription.objects.filter(user=user, dataset=table.qualified_name, protocol=protocol,
                                   endpoint=endpoint).exists():
        raise SubscriptionError(f"{endpoint} is already subscribed to {table.qualified_name}.")
    try:
        topic_arn = ensure_dataset_topic(table.qualified_name)
        subscription_arn = aws.client("sns").subscribe(
            TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint, ReturnSubscriptionArn=True
        )["SubscriptionArn"]
    except ClientError as exc:
        raise SubscriptionError(f"SNS refused the subscription: {exc.response.get('Error', {}).get('Message', exc)}")
    except BotoCoreError as exc:
        raise SubscriptionUnavailable(f"SNS is unavailable; try again shortly ({exc}).") from exc
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(
                user=user, table=table, dataset=table.qualified_name, protocol=protocol, endpoint=endpoint,
                topic_arn=topic_arn, subscription_arn=subscription_arn, role_key=role.key,
            )
    except IntegrityError:
        raise SubscriptionError(f"{endpoint} is already subscribed to {table.qualified_name}.") from None
    audit.record(user, "subscription.create", role=role, target=f"dataset:{table.qualified_name}", ip=ip,
                 details={"protocol": protocol, "endpoint": endpoint})
    return subscription


def unsubscribe(subscription: Subscription, *, user: Any, role: Role | None, ip: str | None = None) -> None:
    """Remove the SNS subscription and its record. Raises SubscriptionUnavailable when SNS is down."""
    if subscription.subscription_arn.startswith("arn:"):  # "pending confirmation" has nothing to remove yet
        try:
            aws.client("sns").unsubscribe(SubscriptionArn=subscription.subscription_arn)
        except ClientError as exc:
            # NotFound: already gone; InvalidParameter: AWS will not remove an unconfirmed e-mail subscription
            # (it expires by itself after three days).
            if exc.response.get("Error", {}).get("Code") not in ("NotFound", "InvalidParameter"):
                raise SubscriptionError(f"SNS refused to unsubscribe: {exc}") from exc
        except BotoCoreError as exc:
            raise SubscriptionUnavailable(f"SNS is unavailable; try again shortly ({exc}).") from exc
    audit.record(user, "subscription.delete", role=role, target=f"dataset:{subscription.dataset}", ip=ip,
                 details={"protocol": subscription.protocol, "endpoint": subscription.endpoint})
    subscription.delete()
