"""Are a ready pipeline's AWS resources still there?

The embedded mode's local AWS (moto) keeps nothing across restarts, while the portal's database
keeps every pipeline: after a restart a pipeline would still say "ready" though its Glue job is
gone. ``mark_missing`` (run at each embedded start once the local AWS is up, and callable on AWS
when someone deletes resources behind the portal's back) says so honestly: the pipeline becomes
"resources missing", with the names of what is gone, and "Retry" re-provisions it (every step
runs again; each finds what still exists and creates what does not).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ingestion_wizard import services
from ingestion_wizard.aws import provisioning
from ingestion_wizard.aws.errors import error_code
from ingestion_wizard.models import Pipeline
from portal import aws
from identity import audit

log = logging.getLogger(__name__)
# States whose resources should all exist. Failed and provisioning pipelines are already
# being (or waiting to be) provisioned; deleting ones are on their way out.
CHECKED = (Pipeline.Status.READY, Pipeline.Status.PAUSED)


def _probes(p: Pipeline) -> list[tuple[str, Callable[[], Any]]]:
    """(what, call that raises a not-found ClientError when it is gone) for the resources the
    pipeline's runs need."""
    glue = aws.client("glue")
    probes: list[tuple[str, Callable[[], Any]]] = [
        (f"Glue database {p.target_database}", lambda: glue.get_database(Name=p.target_database))]
    if p.is_stream:
        kinesis, firehose = aws.client("kinesis"), aws.client("firehose")
        name = provisioning.firehose_name(p)
        probes += [(f"Kinesis stream {p.stream_name}", lambda: kinesis.describe_stream_summary(StreamName=p.stream_name)),
                   (f"Firehose delivery stream {name}", lambda: firehose.describe_delivery_stream(DeliveryStreamName=name))]
    else:
        job, connection = provisioning.job_name(p), provisioning.connection_name(p)
        probes += [(f"Glue connection {connection}", lambda: glue.get_connection(Name=connection)),
                   (f"Glue job {job}", lambda: glue.get_job(JobName=job))]
    return probes


def missing_resources(p: Pipeline) -> list[str]:
    """What of the pipeline's resources AWS no longer has (empty when all are there). Raises
    BotoCoreError/ClientError when AWS cannot answer: unknown is not missing."""
    gone = []
    for what, probe in _probes(p):
        try:
            probe()
        except ClientError as exc:
            if error_code(exc) not in provisioning.NOT_FOUND:
                raise
            gone.append(what)
    return gone


def mark_missing() -> list[int]:
    """Mark every ready or paused pipeline whose resources are gone; returns their ids. A pipeline
    AWS cannot be asked about is left as it is (and logged)."""
    marked = []
    for pipeline in Pipeline.objects.filter(status__in=CHECKED):
        try:
            gone = missing_resources(pipeline)
        except (BotoCoreError, ClientError):
            log.warning("Cannot check the AWS resources of pipeline %s", pipeline.pk, exc_info=True)
            continue
        if not gone:
            continue
        pipeline.status = Pipeline.Status.RESOURCES_MISSING
        pipeline.error = (f"Its AWS resources are gone ({', '.join(gone)}). The local AWS keeps nothing across "
                          "restarts; on AWS someone deleted them. Retry re-creates them.")
        pipeline.save(update_fields=["status", "error", "updated_at"])
        services.sync_schedule(pipeline)  # no scheduled run against a job that is not there
        audit.record(None, "ingestion.resources_missing", target=f"pipeline:{pipeline.pk}", details={"gone": gone})
        marked.append(pipeline.pk)
    return marked
