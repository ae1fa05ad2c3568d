"""Glue change events from SQS (EventBridge "Glue Data Catalog … State Change"), turned into refreshes.

Events are best effort (the periodic reconcile stays the safety net), so a
message is deleted only after the refresh it asked for succeeded; a refresh
that cannot run yet (another sync holds the catalog) comes back within seconds.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from django.conf import settings

from catalog.models import GlueCatalog, SyncRun
from catalog.services.runs import SyncAlreadyRunning
from catalog.services.sync import ensure_catalogs, refresh_tables
from portal import aws

log = logging.getLogger(__name__)

TABLE_CHANGE = "Glue Data Catalog Table State Change"
DATABASE_CHANGE = "Glue Data Catalog Database State Change"
_WHOLE_DATABASE_CHANGES = {"CreateDatabase", "UpdateDatabase", "DeleteDatabase"}
# How long a received message stays hidden while we refresh; it comes back after that if we fail.
VISIBILITY_SECONDS = 60
RETRY_SOON_SECONDS = 2
DEFAULT_QUEUE_NAME = "datahub-catalog-events"


class MalformedEvent(ValueError):
    """The message is not a Glue catalog change event."""


@dataclass(frozen=True)
class CatalogChange:
    """What one event asks to refresh."""

    account_id: str
    region: str
    database: str
    tables: tuple[str, ...] = ()
    whole_database: bool = False


@dataclass
class PollReport:
    received: int = 0
    refreshed_tables: int = 0
    runs: list[int] = field(default_factory=list)
    deferred: int = 0
    discarded: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"received": self.received, "refreshed_tables": self.refreshed_tables, "runs": self.runs,
                "deferred": self.deferred, "discarded": self.discarded}


def parse_event(body: str) -> CatalogChange:
    """A change from an SQS message body (an EventBridge event, possibly wrapped by SNS).

    Raises MalformedEvent when it is not a Glue Data Catalog change.
    """
    try:
        event = json.loads(body)
        if isinstance(event, dict) and event.get("Type") == "Notification" and "Message" in event:
            event = json.loads(event["Message"])
    except (TypeError, ValueError) as exc:
        raise MalformedEvent(f"not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise MalformedEvent("not a JSON object")
    kind = event.get("detail-type")
    detail = event.get("detail")
    if kind not in (TABLE_CHANGE, DATABASE_CHANGE) or not isinstance(detail, dict):
        raise MalformedEvent(f"not a Glue Data Catalog change event (detail-type {kind!r})")
    database = detail.get("databaseName")
    if not isinstance(database, str) or not database:
        raise MalformedEvent("detail.databaseName missing")
    account = str(event.get("account") or settings.AWS_ACCOUNT_ID)
    region = str(event.get("region") or settings.AWS_DEFAULT_REGION)
    if kind == TABLE_CHANGE:
        table = detail.get("tableName")
        if not isinstance(table, str) or not table:
            raise MalformedEvent("detail.tableName missing")
        return CatalogChange(account, region, database, (table,))
    changed = detail.get("changedTables") or []
    if not isinstance(changed, list):
        raise MalformedEvent("detail.changedTables is not a list")
    tables = tuple(str(t) for t in changed if t)
    whole = not tables or detail.get("typeOfChange") in _WHOLE_DATABASE_CHANGES
    return CatalogChange(account, region, database, tables, whole)


def change_event(database: str, tables: list[str] | None = None, *, type_of_change: str = "UpdateTable",
                 account_id: str | None = None, region: str | None = None) -> dict[str, Any]:
    """An event shaped as EventBridge delivers Glue changes (for local use, tests and the bench)."""
    region = region or settings.AWS_DEFAULT_REGION
    account_id = account_id or settings.AWS_ACCOUNT_ID
    base: dict[str, Any] = {"version": "0", "source": "aws.glue", "account": account_id, "region": region,
            "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "resources": []}
    if tables and len(tables) == 1 and type_of_change not in ("CreateTable", "DeleteTable", "BatchDeleteTable"):
        return {**base, "detail-type": TABLE_CHANGE,
                "detail": {"databaseName": database, "tableName": tables[0], "typeOfChange": type_of_change}}
    return {**base, "detail-type": DATABASE_CHANGE,
            "detail": {"databaseName": database, "typeOfChange": type_of_change, "changedTables": tables or []}}


def send_change_event(queue_url: str, database: str, tables: list[str] | None = None, **kwargs: Any) -> None:
    """Put a Glue change event on the queue, as EventBridge would (moto's Glue emits none)."""
    aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(change_event(database, tables,
                                                                                           **kwargs)))


def setup_event_queue(name: str = DEFAULT_QUEUE_NAME) -> str:
    """Create the SQS queue and the EventBridge rule that feeds it Glue catalog changes; returns the queue URL.

    Idempotent: existing queue, rule and target are reused.
    """
    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(VISIBILITY_SECONDS)})[
        "QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = aws.client("events")
    rule_arn = events.put_rule(
        Name=f"{name}-glue", State="ENABLED", Description="Glue Data Catalog changes for the Data Hub Portal",
        EventPattern=json.dumps({"source": ["aws.glue"], "detail-type": [TABLE_CHANGE, DATABASE_CHANGE]}),
    )["RuleArn"]
    events.put_targets(Rule=f"{name}-glue", Targets=[{"Id": "portal-queue", "Arn": queue_arn}])
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]}
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    return queue_url


def _handle(sqs: Any, queue_url: str, messages: list[dict[str, Any]], report: PollReport) -> None:
    catalogs = {(c.account_id, c.region): c for c in ensure_catalogs()}
    pending: dict[GlueCatalog, dict[str, Any]] = defaultdict(lambda: {"tables": set(), "databases": set(),
                                                                      "receipts": []})
    done: list[str] = []
    for message in messages:
        try:
            change = parse_event(message.get("Body", ""))
        except MalformedEvent as exc:
            # A message that can never be handled would come back forever: drop it, loudly.
            log.warning("discarding SQS message %s: %s", message.get("MessageId"), exc)
            report.discarded.append(f"{message.get('MessageId')}: {exc}")
            done.append(message["ReceiptHandle"])
            continue
        catalog = catalogs.get((change.account_id, change.region))
        if catalog is None:
            report.discarded.append(f"{message.get('MessageId')}: catalog {change.account_id}:{change.region} "
                                    "is not in GLUE_CATALOGS")
            done.append(message["ReceiptHandle"])
            continue
        work = pending[catalog]
        if change.whole_database:
            work["databases"].add(change.database)
        work["tables"].update((change.database, t) for t in change.tables)
        work["receipts"].append(message["ReceiptHandle"])
    for catalog, work in pending.items():
        tables = sorted(t for t in work["tables"] if t[0] not in work["databases"])
        try:
            run = refresh_tables(catalog, tables, databases=work["databases"], kind=SyncRun.Kind.EVENTS)
        except SyncAlreadyRunning:
            # The running sync may not have seen this change yet: look again in a moment.
            report.deferred += len(work["receipts"])
            for receipt in work["receipts"]:
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt,
                                              VisibilityTimeout=RETRY_SOON_SECONDS)
            continue
        report.runs.append(run.pk)
        if run.status == SyncRun.Status.FAILED:
            continue  # Glue unreachable: the messages come back after their visibility timeout
        report.refreshed_tables += len(tables)
        done.extend(work["receipts"])
    for start in range(0, len(done), 10):
        entries = [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(done[start:start + 10])]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)


def poll_events(queue_url: str, *, seconds: float, max_messages: int = 10) -> PollReport:
    """Receive change events for about ``seconds`` (SQS long polling) and refresh what they name.

    Returns what was received, refreshed, deferred and discarded.
    """
    sqs = aws.client("sqs")
    report = PollReport()
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=max_messages,
                                       WaitTimeSeconds=max(0, min(20, int(remaining))),
                                       VisibilityTimeout=VISIBILITY_SECONDS)
        messages = response.get("Messages", [])
        if messages:
            report.received += len(messages)
            _handle(sqs, queue_url, messages, report)
    return report
