"""Incremental loads: where a pipeline's next run starts reading, and starting over.

An incremental table (a column chosen in the wizard) is read past a high-water mark: on Glue the
job bookmark on that column (``jobBookmarkKeys``, see ``aws/glue_script.py``), in the local
executor ``Pipeline.watermarks``. A reset forgets both, so the next run loads every row again.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.db import transaction

from ingestion_wizard.aws import provisioning
from ingestion_wizard.aws.errors import describe, error_code
from ingestion_wizard.errors import Conflict, Unavailable
from ingestion_wizard.models import Pipeline, PipelineRun, ProvisioningStep
from portal import aws
from identity import audit
from identity.roles import Role


def incremental_tables(pipeline: Pipeline) -> list[str]:
    """The source tables read past a high-water mark."""
    if pipeline.is_stream:
        return []
    return [f"{t['schema']}.{t['name']}" if t.get("schema") else t["name"]
            for t in pipeline.tables if t.get("incremental_column")]


def _reset_job_bookmark(pipeline: Pipeline) -> None:
    """Resets the Glue job's bookmark when the job was provisioned (a job never made has none)."""
    if not ProvisioningStep.objects.filter(pipeline=pipeline, key="glue_job",
                                           status=ProvisioningStep.Status.SUCCEEDED).exists():
        return
    try:
        aws.client("glue").reset_job_bookmark(JobName=provisioning.job_name(pipeline))
    except ClientError as exc:
        if error_code(exc) == "EntityNotFoundException":
            return  # the job never ran: there is no bookmark to forget
        raise Unavailable(f"The Glue job bookmark could not be reset: {describe(exc)}") from None
    except BotoCoreError as exc:
        raise Unavailable(f"The Glue job bookmark could not be reset: {describe(exc)}") from None


def reset_incremental(pipeline: Pipeline, *, user: Any, role: Role | None = None) -> Pipeline:
    """Forgets the high-water marks: the next run loads every row of the incremental tables again.
    Raises Conflict (no incremental table, or a run is active: it would record its mark after the
    reset) and Unavailable (Glue did not answer; nothing was changed)."""
    tables = incremental_tables(pipeline)
    if not tables:
        raise Conflict("The pipeline has no incremental table: every run already loads all rows.")
    if PipelineRun.objects.filter(pipeline=pipeline, status__in=[PipelineRun.Status.QUEUED,
                                                                 PipelineRun.Status.RUNNING]).exists():
        raise Conflict("A run is active; reset the incremental loads once it has ended.")
    _reset_job_bookmark(pipeline)
    with transaction.atomic():
        Pipeline.objects.filter(pk=pipeline.pk).update(watermarks={})
        pipeline.watermarks = {}
        audit.record(user, "ingestion.pipeline.reset_incremental", role=role, target=f"pipeline:{pipeline.pk}",
                     details={"tables": tables})
    return pipeline
