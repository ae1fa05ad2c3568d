"""The AWS resources of a pipeline, one idempotent step each: ``ensure`` and ``remove``.

``ensure(pipeline) -> resource`` creates the resource when missing (a re-run finds
it and returns its ARN/name) and raises ``StepFailed`` / ``TransientAWSError``
(from ``aws_errors.classify``) on failure. ``remove(pipeline, resource)`` deletes
it, a missing resource being success. Names derive from the target database so
a re-run after a crash finds what the first run created.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from ingestion_wizard.aws import glue_script
from ingestion_wizard.aws.errors import StepFailed, TransientAWSError, classify, error_code
from ingestion_wizard.models import Pipeline
from portal import aws
from identity.roles import Role

log = logging.getLogger(__name__)
JDBC_URLS = {
    "postgresql": "jdbc:postgresql://{host}:{port}/{database}",
    "mysql": "jdbc:mysql://{host}:{port}/{database}",
    "oracle": "jdbc:oracle:thin://@{host}:{port}/{database}",
    "sqlserver": "jdbc:sqlserver://{host}:{port};databaseName={database}",
}
NOT_FOUND = {"EntityNotFoundException", "ResourceNotFoundException", "NoSuchKey", "NoSuchBucket",
              "NotFound", "NoSuchBucketPolicy", "404"}


# --- Names shared with the Terraform export --------------------------------
def bucket() -> str:
    return settings.LAKE_BUCKET


def connection_name(p: Pipeline) -> str:
    return f"datahub-{p.target_database}"


def job_name(p: Pipeline) -> str:
    return f"datahub-ingest-{p.target_database}"


def script_key(p: Pipeline) -> str:
    return f"{p.scripts_prefix}job.py"


def firehose_name(p: Pipeline) -> str:
    return f"datahub-{p.target_database}"


def policy_sid(p: Pipeline) -> str:
    return "datahubIngest" + "".join(part.capitalize() for part in p.target_database.split("_"))


def glue_role_arn(p: Pipeline) -> str:
    return settings.INGESTION_GLUE_ROLE_ARN or f"arn:aws:iam::{aws.account_id()}:role/datahub-glue-{p.hub}"


def jdbc_url(p: Pipeline) -> str:
    return JDBC_URLS[p.source_kind].format(host=p.host, port=p.port, database=p.source_database)


def database_parameters(p: Pipeline) -> dict[str, str]:
    return {
        "hub": p.hub, "layer": p.layer, "visibility": "hub", "owner": p.owner or "",
        "classification": p.classification, "datahub_pipeline": p.name,
    }


def stream_table_name(p: Pipeline) -> str:
    return p.target_table_name({"name": p.stream_name})


# --- Steps -----------------------------------------------------------------
def _call(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Calls one AWS API, turning its failure into StepFailed or TransientAWSError."""
    try:
        return fn(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from None


def _missing(exc: ClientError) -> bool:
    return error_code(exc) in NOT_FOUND


def _delete_if_present(delete: Callable[..., Any], **kwargs: Any) -> None:
    """Calls one AWS delete API; a resource already gone is fine (a re-run of a removal is a no-op)."""
    try:
        delete(**kwargs)
    except ClientError as exc:
        if not _missing(exc):
            raise classify(exc) from None


def ensure_secret(p: Pipeline) -> str:
    """Checks the pipeline may still use its secret (secret_services: the portal's own for it, or
    the provider's, read with the provider role's credentials)."""
    from ingestion_wizard.secret_services import pipeline_password
    from ingestion_wizard.aws.secrets import SecretUnavailable

    if not p.secret_arn:
        raise StepFailed("The pipeline has no source secret; create it again with the password.")
    try:
        pipeline_password(p)
    except SecretUnavailable as exc:
        raise StepFailed(str(exc)) from None
    return p.secret_arn


def remove_secret(p: Pipeline, resource: str) -> None:
    """Deletes only the secrets the portal created for this pipeline; a provider's own stays."""
    from ingestion_wizard.secret_services import release

    try:
        release(p)
    except ClientError as exc:
        raise classify(exc) from None


def _policy_statements(p: Pipeline) -> list[dict[str, Any]]:
    provider = aws.role_arn_for(Role("provider", p.hub))
    consumer = aws.role_arn_for(Role("consumer", p.hub))
    prefix_arn = f"arn:aws:s3:::{bucket()}/{p.raw_prefix}*"
    return [
        {"Sid": policy_sid(p) + "Write", "Effect": "Allow", "Principal": {"AWS": [provider, glue_role_arn(p)]},
         "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], "Resource": prefix_arn},
        {"Sid": policy_sid(p) + "Read", "Effect": "Allow", "Principal": {"AWS": consumer},
         "Action": ["s3:GetObject"], "Resource": prefix_arn},
    ]


def _read_policy(s3: Any) -> dict[str, Any]:
    try:
        return json.loads(s3.get_bucket_policy(Bucket=bucket())["Policy"])
    except ClientError as exc:
        if _missing(exc):
            return {"Version": "2012-10-17", "Statement": []}
        raise classify(exc) from None


def ensure_s3_prefix(p: Pipeline) -> str:
    s3 = aws.client("s3")
    try:
        s3.head_bucket(Bucket=bucket())
    except ClientError as exc:
        if not _missing(exc):
            raise classify(exc) from None
        # Only the embedded mode lacks the lake bucket; in AWS it is part of the landing zone.
        _call(s3.create_bucket, Bucket=bucket(),
              CreateBucketConfiguration={"LocationConstraint": settings.AWS_DEFAULT_REGION})
    _call(s3.put_object, Bucket=bucket(), Key=p.raw_prefix, Body=b"")
    policy = _read_policy(s3)
    ours = {s["Sid"] for s in _policy_statements(p)}
    policy["Statement"] = [s for s in policy.get("Statement", []) if s.get("Sid") not in ours]
    policy["Statement"].extend(_policy_statements(p))
    _call(s3.put_bucket_policy, Bucket=bucket(), Policy=json.dumps(policy))
    return f"arn:aws:s3:::{bucket()}/{p.raw_prefix}"


def remove_s3_prefix(p: Pipeline, resource: str) -> None:
    s3 = aws.client("s3")
    try:
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket(), Prefix=p.raw_prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket(), Delete={"Objects": keys, "Quiet": True})
    except ClientError as exc:
        if not _missing(exc):
            raise classify(exc) from None
        return
    policy = _read_policy(s3)
    ours = {s["Sid"] for s in _policy_statements(p)}
    remaining = [s for s in policy.get("Statement", []) if s.get("Sid") not in ours]
    if remaining:
        _call(s3.put_bucket_policy, Bucket=bucket(), Policy=json.dumps({**policy, "Statement": remaining}))
    else:
        _call(s3.delete_bucket_policy, Bucket=bucket())


def ensure_glue_database(p: Pipeline) -> str:
    glue = aws.client("glue")
    arn = f"arn:aws:glue:{settings.AWS_DEFAULT_REGION}:{aws.account_id()}:database/{p.target_database}"
    try:
        existing = glue.get_database(Name=p.target_database)["Database"]
    except ClientError as exc:
        if not _missing(exc):
            raise classify(exc) from None
    else:
        if existing.get("Parameters", {}).get("datahub_pipeline") != p.name:
            raise StepFailed(f"Glue database {p.target_database} already exists and belongs to something else.")
        return arn
    _call(glue.create_database, DatabaseInput={
        "Name": p.target_database,
        "Description": f"Ingested from {p.get_source_kind_display()} by pipeline {p.name}",
        "LocationUri": f"s3://{bucket()}/{p.raw_prefix}",
        "Parameters": database_parameters(p),
    })
    return arn


def remove_glue_database(p: Pipeline, resource: str) -> None:
    _delete_if_present(aws.client("glue").delete_database, Name=p.target_database)


def ensure_glue_connection(p: Pipeline) -> str:
    glue = aws.client("glue")
    name = connection_name(p)
    try:
        glue.get_connection(Name=name, HidePassword=True)
        return name
    except ClientError as exc:
        if not _missing(exc):
            raise classify(exc) from None
    _call(glue.create_connection, ConnectionInput={
        "Name": name,
        "Description": f"Source of pipeline {p.name}",
        "ConnectionType": "JDBC",
        "ConnectionProperties": {"JDBC_CONNECTION_URL": jdbc_url(p), "SECRET_ID": p.secret_arn,
                                 "JDBC_ENFORCE_SSL": "false"},
    })
    return name


def remove_glue_connection(p: Pipeline, resource: str) -> None:
    _delete_if_present(aws.client("glue").delete_connection, ConnectionName=connection_name(p))


def ensure_glue_job(p: Pipeline) -> str:
    s3 = aws.client("s3")
    glue = aws.client("glue")
    script = glue_script.render(p, bucket(), connection_name(p))
    # The script is rewritten every time: it follows the pipeline's current table list.
    _call(s3.put_object, Bucket=bucket(), Key=script_key(p), Body=script.encode(), ContentType="text/x-python")
    name = job_name(p)
    try:
        glue.get_job(JobName=name)
        return name
    except ClientError as exc:
        if not _missing(exc):
            raise classify(exc) from None
    _call(glue.create_job,
          Name=name, Role=glue_role_arn(p), GlueVersion="4.0", WorkerType="G.1X", NumberOfWorkers=2,
          Command={"Name": "glueetl", "ScriptLocation": f"s3://{bucket()}/{script_key(p)}", "PythonVersion": "3"},
          Connections={"Connections": [connection_name(p)]},
          DefaultArguments={"--job-language": "python", "--enable-glue-datacatalog": "true"},
          Tags={"datahub:hub": p.hub, "datahub:pipeline": p.name})
    return name


def remove_glue_job(p: Pipeline, resource: str) -> None:
    glue = aws.client("glue")
    s3 = aws.client("s3")
    try:
        glue.delete_job(JobName=job_name(p))
        s3.delete_object(Bucket=bucket(), Key=script_key(p))
    except ClientError as exc:
        if not _missing(exc):
            raise classify(exc) from None


def dataset_names(p: Pipeline) -> list[str]:
    if p.is_stream:
        return [f"{p.target_database}.{stream_table_name(p)}"]
    return [f"{p.target_database}.{p.target_table_name(t)}" for t in p.tables]


def ensure_sns_topics(p: Pipeline) -> str:
    """One new-data topic per dataset, created by the subscriptions feature (same names everywhere)."""
    from workspaces.notifications import ensure_dataset_topic

    try:
        return " ".join(ensure_dataset_topic(name) for name in dataset_names(p))
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from None


def remove_sns_topics(p: Pipeline, resource: str) -> None:
    """Kept on purpose: a topic belongs to its dataset and its subscribers (the workspaces
    feature), who may keep subscriptions and history after the pipeline is gone."""


def ensure_kinesis_stream(p: Pipeline) -> str:
    kinesis = aws.client("kinesis")
    try:
        summary = kinesis.describe_stream_summary(StreamName=p.stream_name)["StreamDescriptionSummary"]
    except ClientError as exc:
        if not _missing(exc):
            raise classify(exc) from None
        if p.stream_mode == "existing":
            raise StepFailed(f"Kinesis stream {p.stream_name} does not exist.") from None
        _call(kinesis.create_stream, StreamName=p.stream_name, ShardCount=p.stream_shards)
        summary = kinesis.describe_stream_summary(StreamName=p.stream_name)["StreamDescriptionSummary"]
    if summary["StreamStatus"] != "ACTIVE":
        raise TransientAWSError(f"Kinesis stream {p.stream_name} is {summary['StreamStatus']}; waiting.")
    return summary["StreamARN"]


def remove_kinesis_stream(p: Pipeline, resource: str) -> None:
    if p.stream_mode == "existing":
        return  # not ours: producers keep writing to it
    kinesis = aws.client("kinesis")
    try:
        kinesis.delete_stream(StreamName=p.stream_name, EnforceConsumerDeletion=True)
    except ClientError as exc:
        if not _missing(exc):
            raise classify(exc) from None


def firehose_prefix(p: Pipeline) -> str:
    return f"{p.raw_prefix}{stream_table_name(p)}/load_date=!{{timestamp:yyyy-MM-dd}}/"


def ensure_firehose(p: Pipeline) -> str:
    firehose = aws.client("firehose")
    name = firehose_name(p)
    try:
        return firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"][
            "DeliveryStreamARN"]
    except ClientError as exc:
        if not _missing(exc):
            raise classify(exc) from None
    stream_arn = ensure_kinesis_stream(p)
    role = glue_role_arn(p)
    return _call(
        firehose.create_delivery_stream,
        DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role},
        ExtendedS3DestinationConfiguration={
            "RoleARN": role, "BucketARN": f"arn:aws:s3:::{bucket()}", "Prefix": firehose_prefix(p),
            "ErrorOutputPrefix": f"_errors/{p.raw_prefix}!{{firehose:error-output-type}}/",
            "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 300}, "CompressionFormat": "GZIP",
        },
        Tags=[{"Key": "datahub:hub", "Value": p.hub}],
    )["DeliveryStreamARN"]


def remove_firehose(p: Pipeline, resource: str) -> None:
    _delete_if_present(aws.client("firehose").delete_delivery_stream, DeliveryStreamName=firehose_name(p))


def stream_table_input(p: Pipeline) -> dict[str, Any]:
    columns = [{"Name": c["name"], "Type": c["type"]} for c in p.stream_columns] or [
        {"Name": "data", "Type": "string"}]
    return {
        "Name": stream_table_name(p),
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json", "compressionType": "gzip", "hub": p.hub, "layer": p.layer,
                       "owner": p.owner, "data_classification": p.classification},
        "PartitionKeys": [{"Name": "load_date", "Type": "string"}],
        "StorageDescriptor": {
            "Columns": columns,
            "Location": f"s3://{bucket()}/{p.raw_prefix}{stream_table_name(p)}/",
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
        },
    }


def ensure_stream_table(p: Pipeline) -> str:
    glue = aws.client("glue")
    table = stream_table_name(p)
    try:
        glue.get_table(DatabaseName=p.target_database, Name=table)
    except ClientError as exc:
        if not _missing(exc):
            raise classify(exc) from None
        _call(glue.create_table, DatabaseName=p.target_database, TableInput=stream_table_input(p))
    return f"arn:aws:glue:{settings.AWS_DEFAULT_REGION}:{aws.account_id()}:table/{p.target_database}/{table}"


def remove_stream_table(p: Pipeline, resource: str) -> None:
    _delete_if_present(aws.client("glue").delete_table, DatabaseName=p.target_database, Name=stream_table_name(p))


@dataclass(frozen=True)
class StepDef:
    key: str
    label: str
    ensure: Callable[[Pipeline], str]
    remove: Callable[[Pipeline, str], None]
    for_jdbc: bool = True
    for_stream: bool = True


STEPS: tuple[StepDef, ...] = (
    StepDef("secret", "Source secret in Secrets Manager", ensure_secret, remove_secret, for_stream=False),
    StepDef("s3_prefix", "S3 prefix and bucket policy", ensure_s3_prefix, remove_s3_prefix),
    StepDef("glue_database", "Glue database", ensure_glue_database, remove_glue_database),
    StepDef("glue_connection", "Glue JDBC connection", ensure_glue_connection, remove_glue_connection,
            for_stream=False),
    StepDef("glue_job", "Glue ETL script and job", ensure_glue_job, remove_glue_job, for_stream=False),
    StepDef("kinesis_stream", "Kinesis stream", ensure_kinesis_stream, remove_kinesis_stream, for_jdbc=False),
    StepDef("firehose", "Firehose delivery stream into the raw prefix", ensure_firehose, remove_firehose,
            for_jdbc=False),
    StepDef("glue_table", "Glue table over the stream data", ensure_stream_table, remove_stream_table,
            for_jdbc=False),
    StepDef("sns_topic", "SNS topic for new-data notifications", ensure_sns_topics, remove_sns_topics),
)
STEPS_BY_KEY = {s.key: s for s in STEPS}


def steps_for(p: Pipeline) -> list[StepDef]:
    return [s for s in STEPS if (s.for_stream if p.is_stream else s.for_jdbc)]
