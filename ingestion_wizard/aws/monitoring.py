"""Monitoring per pipeline: a CloudWatch log group, alarms, the run metrics they watch, and the log
lines of a Glue job run.

The portal records every run's end (local or Glue) as metrics in ``DataHub/Ingestion`` per pipeline
(``RunsFailed``, ``RowsLoaded``), so one set of alarms serves both executors:
- ``…-failed``: a run failed (RunsFailed > 0 within 5 minutes);
- ``…-no-new-data``: a scheduled pipeline loaded no row within its schedule's period (missing data
  counts as breaching: a schedule that stopped firing alarms too);
- ``…-delivery-errors`` (streams): Firehose's ``DeliveryToS3.Success`` fell below 1.
The alarms notify the hub's ops topic when ``INGESTION_ALARM_TOPIC_ARN`` names one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from ingestion_wizard.aws.errors import classify, describe, error_code
from ingestion_wizard.models import Pipeline, PipelineRun
from portal import aws

log = logging.getLogger(__name__)
NAMESPACE = "DataHub/Ingestion"
LOG_RETENTION_DAYS = 30
# CloudWatch evaluates a standard alarm over at most a day per period and 7 days in all.
MAX_PERIOD_SECONDS = 86_400
MAX_RANGE_SECONDS = 7 * 86_400
# Where Glue writes a job run's driver output and errors (one stream per JobRunId).
GLUE_LOG_GROUPS = ("/aws-glue/jobs/output", "/aws-glue/jobs/error")
GLUE_LOG_LINES = 500


def log_group(p: Pipeline) -> str:
    return f"/datahub/ingestion/{p.target_database}"


def alarm_prefix(p: Pipeline) -> str:
    return f"datahub-ingest-{p.target_database}"


def schedule_period_seconds(cron: str) -> int:
    """The longest gap between two firings of ``cron`` over its next runs (what "no new data within the
    schedule's period" waits for), in whole minutes."""
    from ingestion_wizard.validation import schedule_gaps

    return max(60, int(max(schedule_gaps(cron)) // 60) * 60)


def _dimensions(p: Pipeline) -> list[dict[str, str]]:
    return [{"Name": "Pipeline", "Value": p.target_database}]


def alarms(p: Pipeline) -> list[dict[str, Any]]:
    """The put_metric_alarm arguments of the pipeline's alarms."""
    actions = {"AlarmActions": [settings.INGESTION_ALARM_TOPIC_ARN]} if settings.INGESTION_ALARM_TOPIC_ARN else {}
    out = [{"AlarmName": f"{alarm_prefix(p)}-failed", "AlarmDescription": f"A run of pipeline {p.name} failed.",
            "Namespace": NAMESPACE, "MetricName": "RunsFailed", "Dimensions": _dimensions(p), "Statistic": "Sum",
            "Period": 300, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching", **actions}]
    if p.schedule:
        period = schedule_period_seconds(p.schedule)
        # A long period is split into day-long ones, evaluated together (CloudWatch's limits).
        periods = max(1, -(-period // MAX_PERIOD_SECONDS))
        out.append({"AlarmName": f"{alarm_prefix(p)}-no-new-data",
                    "AlarmDescription": f"Pipeline {p.name} loaded no new rows within its schedule's period.",
                    "Namespace": NAMESPACE, "MetricName": "RowsLoaded", "Dimensions": _dimensions(p),
                    "Statistic": "Sum", "Period": min(period, MAX_PERIOD_SECONDS),
                    "EvaluationPeriods": min(periods, MAX_RANGE_SECONDS // MAX_PERIOD_SECONDS),
                    "DatapointsToAlarm": min(periods, MAX_RANGE_SECONDS // MAX_PERIOD_SECONDS),
                    "Threshold": 0, "ComparisonOperator": "LessThanOrEqualToThreshold",
                    "TreatMissingData": "breaching", **actions})
    if p.is_stream:
        from ingestion_wizard.aws.provisioning import firehose_name

        out.append({"AlarmName": f"{alarm_prefix(p)}-delivery-errors",
                    "AlarmDescription": f"Firehose of pipeline {p.name} failed to deliver to S3.",
                    "Namespace": "AWS/Firehose", "MetricName": "DeliveryToS3.Success",
                    "Dimensions": [{"Name": "DeliveryStreamName", "Value": firehose_name(p)}],
                    "Statistic": "Average", "Period": 300, "EvaluationPeriods": 1, "Threshold": 1,
                    "ComparisonOperator": "LessThanThreshold", "TreatMissingData": "notBreaching", **actions})
    return out


def ensure_monitoring(p: Pipeline) -> str:
    """Creates the log group and (re)writes the alarms (they follow the schedule). Returns the group."""
    logs, cloudwatch = aws.client("logs"), aws.client("cloudwatch")
    try:
        try:
            logs.create_log_group(logGroupName=log_group(p), tags={"datahub:hub": p.hub, "datahub:pipeline": p.name})
        except ClientError as exc:
            if error_code(exc) != "ResourceAlreadyExistsException":
                raise
        logs.put_retention_policy(logGroupName=log_group(p), retentionInDays=LOG_RETENTION_DAYS)
        wanted = alarms(p)
        for alarm in wanted:
            cloudwatch.put_metric_alarm(**alarm)
        stale = {f"{alarm_prefix(p)}-{kind}" for kind in ("failed", "no-new-data", "delivery-errors")} - {
            a["AlarmName"] for a in wanted}
        if stale:
            cloudwatch.delete_alarms(AlarmNames=sorted(stale))
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from None
    return log_group(p)


def remove_monitoring(p: Pipeline, resource: str) -> None:
    try:
        aws.client("cloudwatch").delete_alarms(
            AlarmNames=[f"{alarm_prefix(p)}-{kind}" for kind in ("failed", "no-new-data", "delivery-errors")])
        try:
            aws.client("logs").delete_log_group(logGroupName=log_group(p))
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from None


def record_run(p: Pipeline, *, rows: int, failed: bool) -> None:
    """The run's end as metrics the alarms watch. Best effort: a run's outcome never depends on it."""
    try:
        aws.client("cloudwatch").put_metric_data(Namespace=NAMESPACE, MetricData=[
            {"MetricName": "RunsFailed", "Dimensions": _dimensions(p), "Value": 1.0 if failed else 0.0,
             "Unit": "Count", "Timestamp": datetime.now(timezone.utc)},
            {"MetricName": "RowsLoaded", "Dimensions": _dimensions(p), "Value": float(rows), "Unit": "Count",
             "Timestamp": datetime.now(timezone.utc)}])
    except (ClientError, BotoCoreError) as exc:
        log.warning("pipeline %s: run metrics not recorded: %s", p.pk, describe(exc))


def run_log_lines(run: PipelineRun) -> list[str]:
    """What the run page shows: the worker's own log of the run, then for a Glue run its driver's
    output and errors from CloudWatch Logs (a line saying so when CloudWatch does not answer)."""
    lines = run.log.splitlines()
    if not run.glue_run_id:
        return lines
    logs = aws.client("logs")
    for group in GLUE_LOG_GROUPS:
        try:
            events = logs.get_log_events(logGroupName=group, logStreamName=run.glue_run_id, startFromHead=True,
                                         limit=GLUE_LOG_LINES)["events"]
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                continue  # the job wrote nothing there (yet)
            lines.append(f"[{group}] not readable: {describe(exc)}")
            continue
        except BotoCoreError as exc:
            lines.append(f"[{group}] CloudWatch Logs did not answer: {describe(exc)}")
            continue
        for event in events:
            at = datetime.fromtimestamp(event["timestamp"] / 1000, timezone.utc).strftime("%H:%M:%S")
            lines.append(f"{at} [{group.rsplit('/', 1)[1]}] {event['message'].rstrip()}")
    return lines
