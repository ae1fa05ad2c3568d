"""The Lambda functions of a stream pipeline, each with its own IAM role, one idempotent step each:

- the Firehose **record transformation** (a template the provider picked, ``lambda_handlers/
  firehose_transform.py``), which Firehose calls before writing to the raw prefix;
- the **prep stage** (``lambda_handlers/prep_enrich.py``), triggered by each object Firehose writes,
  enriching the events with a catalog table's reference data into the prepared layer.

``ensure_*`` returns the function's ARN (a re-run finds it), ``remove_*`` deletes function, trigger and
role (what is gone already is fine). Provisioning orders them so teardown runs in reverse: the
transformation before Firehose (which names it), the prep stage after the Glue table.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings

from ingestion_wizard.aws.errors import StepFailed, classify, error_code
from ingestion_wizard.models import Pipeline
from portal import aws

HANDLERS = Path(__file__).with_name("lambda_handlers")
RUNTIME = "python3.12"
GONE = {"ResourceNotFoundException", "NoSuchEntity", "EntityNotFoundException", "NoSuchBucket"}
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
LOGS = {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": "*"}


def transform_name(p: Pipeline) -> str:
    return f"datahub-transform-{p.target_database}"


def prep_name(p: Pipeline) -> str:
    return f"datahub-prep-{p.target_database}"


def prepared_prefix(p: Pipeline) -> str:
    from ingestion_wizard.aws.provisioning import stream_table_name

    return f"{p.hub}/prepared/{p.target_database}/{stream_table_name(p)}/"


def _call(fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except ClientError as exc:
        raise classify(exc) from None


def _zipped(handler_file: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(HANDLERS / handler_file, "handler.py")
    return buffer.getvalue()


def _ensure_role(name: str, statements: list[dict[str, Any]], p: Pipeline) -> str:
    iam = aws.client("iam")
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as exc:
        if error_code(exc) != "NoSuchEntity":
            raise classify(exc) from None
        arn = _call(iam.create_role, RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
                    Description=f"Lambda of Data Hub pipeline {p.name}",
                    Tags=[{"Key": "datahub:pipeline", "Value": p.name}])["Role"]["Arn"]
    # Rewritten every time: it follows the pipeline's prefixes and reference table.
    _call(iam.put_role_policy, RoleName=name, PolicyName="datahub",
          PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [LOGS, *statements]}))
    return str(arn)


def _remove_role(name: str) -> None:
    iam = aws.client("iam")
    try:
        iam.delete_role_policy(RoleName=name, PolicyName="datahub")
    except ClientError as exc:
        if error_code(exc) not in GONE:
            raise classify(exc) from None
    try:
        iam.delete_role(RoleName=name)
    except ClientError as exc:
        if error_code(exc) not in GONE:
            raise classify(exc) from None


def _ensure_function(name: str, role_arn: str, handler_file: str, environment: dict[str, str], p: Pipeline) -> str:
    lam = aws.client("lambda")
    try:
        return str(lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"])
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise classify(exc) from None
    return str(_call(lam.create_function, FunctionName=name, Runtime=RUNTIME, Role=role_arn,
                     Handler="handler.handler", Code={"ZipFile": _zipped(handler_file)}, Timeout=120,
                     MemorySize=256, Environment={"Variables": environment},
                     Tags={"datahub:hub": p.hub, "datahub:pipeline": p.name})["FunctionArn"])


def _remove_function(name: str) -> None:
    try:
        aws.client("lambda").delete_function(FunctionName=name)
    except ClientError as exc:
        if error_code(exc) not in GONE:
            raise classify(exc) from None


def ensure_transform(p: Pipeline) -> str:
    role = _ensure_role(transform_name(p), [], p)
    return _ensure_function(transform_name(p), role, "firehose_transform.py",
                            {"DATAHUB_TRANSFORM": p.transform_template}, p)


def remove_transform(p: Pipeline, resource: str) -> None:
    _remove_function(transform_name(p))
    _remove_role(transform_name(p))


def reference_location(p: Pipeline) -> str:
    """The S3 location of the prep stage's reference table (a Glue catalog table ``db.table``)."""
    database, _, table = p.prep_reference_table.partition(".")
    try:
        found = aws.client("glue").get_table(DatabaseName=database, Name=table)["Table"]
    except ClientError as exc:
        if error_code(exc) in GONE:
            raise StepFailed(f"Reference table {p.prep_reference_table} is not in the Glue catalog.") from None
        raise classify(exc) from None
    location = found.get("StorageDescriptor", {}).get("Location", "")
    if not location.startswith("s3://"):
        raise StepFailed(f"Reference table {p.prep_reference_table} has no S3 location to read.")
    return str(location if location.endswith("/") else location + "/")


def _notification_id(p: Pipeline) -> str:
    return prep_name(p)


def ensure_prep(p: Pipeline) -> str:
    from ingestion_wizard.aws.provisioning import bucket, stream_table_name

    raw = f"{p.raw_prefix}{stream_table_name(p)}/"
    location = reference_location(p)
    ref_bucket, _, ref_prefix = location.removeprefix("s3://").partition("/")
    role = _ensure_role(prep_name(p), [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"arn:aws:s3:::{bucket()}/{raw}*"},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"arn:aws:s3:::{ref_bucket}/{ref_prefix}*"},
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": f"arn:aws:s3:::{ref_bucket}"},
        {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": f"arn:aws:s3:::{bucket()}/{prepared_prefix(p)}*"},
    ], p)
    arn = _ensure_function(prep_name(p), role, "prep_enrich.py", {
        "JOIN_KEY": p.prep_join_key, "RAW_PREFIX": raw, "PREPARED_PREFIX": prepared_prefix(p),
        "REFERENCE_LOCATION": location}, p)
    lam = aws.client("lambda")
    try:
        lam.add_permission(FunctionName=prep_name(p), StatementId="s3-raw-objects", Action="lambda:InvokeFunction",
                           Principal="s3.amazonaws.com", SourceArn=f"arn:aws:s3:::{bucket()}",
                           SourceAccount=aws.account_id())
    except ClientError as exc:
        if error_code(exc) != "ResourceConflictException":  # granted by an earlier run
            raise classify(exc) from None
    # The bucket has one notification configuration: ours is merged in by its Id, others' are kept.
    s3 = aws.client("s3")
    config = _call(s3.get_bucket_notification_configuration, Bucket=bucket())
    config.pop("ResponseMetadata", None)
    ours = {"Id": _notification_id(p), "LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": raw}]}}}
    config["LambdaFunctionConfigurations"] = [
        c for c in config.get("LambdaFunctionConfigurations", []) if c.get("Id") != ours["Id"]] + [ours]
    _call(s3.put_bucket_notification_configuration, Bucket=bucket(), NotificationConfiguration=config)
    return arn


def remove_prep(p: Pipeline, resource: str) -> None:
    from ingestion_wizard.aws.provisioning import bucket

    s3 = aws.client("s3")
    try:
        config = s3.get_bucket_notification_configuration(Bucket=bucket())
    except ClientError as exc:
        if error_code(exc) not in GONE:
            raise classify(exc) from None
    else:
        config.pop("ResponseMetadata", None)
        kept = [c for c in config.get("LambdaFunctionConfigurations", []) if c.get("Id") != _notification_id(p)]
        if kept != config.get("LambdaFunctionConfigurations", []):
            _call(s3.put_bucket_notification_configuration, Bucket=bucket(),
                  NotificationConfiguration={**config, "LambdaFunctionConfigurations": kept})
    _remove_function(prep_name(p))
    _remove_role(prep_name(p))


def processing_configuration(p: Pipeline) -> dict[str, Any] | None:
    """Firehose's ProcessingConfiguration calling the transformation, None without one."""
    if not p.transform_template:
        return None
    arn = f"arn:aws:lambda:{settings.AWS_DEFAULT_REGION}:{aws.account_id()}:function:{transform_name(p)}"
    return {"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": [
        {"ParameterName": "LambdaArn", "ParameterValue": arn}]}]}
