"""A pipeline as a Terraform configuration (HCL) creating the same AWS resources.

The seed design's other onboarding path: a provider can review the file, keep it in
their own repository and ``terraform apply`` it. The source password is never in
it: the secret is referenced by ARN (a ``data`` source), its value stays in AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from ingestion_wizard.aws import glue_script, network, provisioning
from ingestion_wizard.models import Pipeline
from workspaces.notifications import topic_name


@dataclass
class Expr:
    """A raw HCL expression (a reference), written without quotes."""

    text: str


@dataclass
class Block:
    kind: str
    labels: tuple[str, ...] = ()
    body: list[tuple[str, Any]] = field(default_factory=list)


def _literal(value: Any, indent: str) -> str:
    if isinstance(value, Expr):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        # JSON string escapes are valid HCL; template sequences must be doubled to stay literal.
        return json.dumps(value).replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v, indent) for v in value) + "]"
    if isinstance(value, dict):
        inner = indent + "  "
        lines = [f"{inner}{json.dumps(k)} = {_literal(v, inner)}" for k, v in value.items()]
        return "{\n" + "\n".join(lines) + f"\n{indent}}}"
    raise TypeError(f"cannot write {type(value).__name__} as HCL")


def _heredoc(text: str) -> Expr:
    safe = text.replace("${", "$${").replace("%{", "%%{")
    return Expr(f"<<-EOT\n{safe}\nEOT")


def _write(block: Block, indent: str = "") -> str:
    labels = "".join(f" {json.dumps(label)}" for label in block.labels)
    lines = [f"{indent}{block.kind}{labels} {{"]
    inner = indent + "  "
    for key, value in block.body:
        if isinstance(value, Block):
            lines.append(_write(value, inner))
        else:
            lines.append(f"{inner}{key} = {_literal(value, inner)}")
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def aws_cron(cron: str) -> str:
    """A five-field cron as EventBridge/Glue ``cron(...)``: six fields, '?' in one day field,
    day-of-week numbered 1 (Sunday) to 7."""
    minute, hour, dom, month, dow = cron.split()

    def shift(part: str) -> str:
        out = ""
        number = ""
        for ch in part + "\0":
            if ch.isdigit():
                number += ch
                continue
            if number:
                out += str(int(number) % 7 + 1)
                number = ""
            if ch != "\0":
                out += ch
        return out

    if dow == "*":
        dow = "?"
    else:
        dow = shift(dow) if "/" not in dow else dow
        if dom == "*":
            dom = "?"
    return f"cron({minute} {hour} {dom} {month} {dow} *)"


def _resource(type_: str, name: str, *body: tuple[str, Any]) -> Block:
    return Block("resource", (type_, name), list(body))


def _physical_connection_requirements(p: Pipeline) -> list[tuple[str, Any]]:
    requirements = network.connection_requirements(p)
    if not requirements:
        return []
    return [("physical_connection_requirements", Block("physical_connection_requirements", (), [
        ("availability_zone", requirements["AvailabilityZone"]),
        ("security_group_id_list", requirements["SecurityGroupIdList"]),
        ("subnet_id", requirements["SubnetId"])]))]


def _role_policies(p: Pipeline) -> list[Block]:
    """Each role's access to the pipeline's prefix as that role's own inline policy, named after the
    pipeline: the shared lake bucket's policy (and its ownership settings) belong to the landing zone,
    so applying several pipelines' exports never replaces one another's grants."""
    out = []
    for i, (arn, actions) in enumerate(provisioning.access_grants(p).items()):
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": provisioning.prefix_arn(p)},
            {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": f"arn:aws:s3:::{provisioning.bucket()}",
             "Condition": {"StringLike": {"s3:prefix": [f"{p.raw_prefix}*"]}}}]}
        out.append(_resource("aws_iam_role_policy", f"lake_access_{i}",
                             ("name", f"datahub-ingest-{p.target_database}"),
                             ("role", arn.rsplit("/", 1)[1]),
                             ("policy", Expr("jsonencode(" + _literal(policy, "  ") + ")"))))
    return out


def blocks(p: Pipeline) -> list[Block]:
    bucket = provisioning.bucket()
    tags = {"datahub:hub": p.hub, "datahub:pipeline": p.name}
    out = [
        Block("terraform", (), [("required_providers", Block("required_providers", (), [
            ("aws", {"source": "hashicorp/aws", "version": ">= 5.0"})]))]),
        Block("provider", ("aws",), [("region", settings.AWS_DEFAULT_REGION)]),
        _resource("aws_s3_object", "raw_prefix", ("bucket", bucket), ("key", p.raw_prefix), ("content", "")),
        *_role_policies(p),
        _resource("aws_glue_catalog_database", "target",
                  ("name", p.target_database), ("location_uri", f"s3://{bucket}/{p.raw_prefix}"),
                  ("parameters", provisioning.database_parameters(p))),
    ]
    if not p.is_stream:
        script = glue_script.render(p, bucket, provisioning.connection_name(p))
        out += [
            Block("data", ("aws_secretsmanager_secret", "source"), [("arn", p.secret_arn)]),
            _resource("aws_glue_connection", "source",
                      ("name", provisioning.connection_name(p)), ("connection_type", "JDBC"),
                      ("connection_properties", {"JDBC_CONNECTION_URL": provisioning.jdbc_url(p),
                                                 "SECRET_ID": Expr("data.aws_secretsmanager_secret.source.name")}),
                      *_physical_connection_requirements(p)),
            _resource("aws_s3_object", "etl_script", ("bucket", bucket), ("key", provisioning.script_key(p)),
                      ("content", _heredoc(script))),
            _resource("aws_glue_job", "ingest",
                      ("name", provisioning.job_name(p)), ("role_arn", provisioning.glue_role_arn(p)),
                      ("glue_version", provisioning.GLUE_VERSION), ("worker_type", "G.1X"), ("number_of_workers", 2),
                      ("connections", [Expr("aws_glue_connection.source.name")]),
                      ("command", Block("command", (), [
                          ("name", "glueetl"), ("python_version", "3"),
                          ("script_location", Expr(f'"s3://{bucket}/${{aws_s3_object.etl_script.key}}"'))])),
                      ("default_arguments", provisioning.job_default_arguments(p)),
                      ("tags", tags)),
        ]
        if p.schedule:
            out.append(_resource("aws_glue_trigger", "schedule",
                                 ("name", f"{provisioning.job_name(p)}-schedule"), ("type", "SCHEDULED"),
                                 ("schedule", aws_cron(p.schedule)), ("enabled", p.status != "paused"),
                                 ("actions", Block("actions", (), [("job_name", Expr("aws_glue_job.ingest.name"))]))))
    else:
        table = provisioning.stream_table_name(p)
        stream_ref = (Expr("aws_kinesis_stream.source.arn") if p.stream_mode != "existing"
                      else Expr("data.aws_kinesis_stream.source.arn"))
        if p.stream_mode == "existing":
            out.append(Block("data", ("aws_kinesis_stream", "source"), [("name", p.stream_name)]))
        else:
            out.append(_resource("aws_kinesis_stream", "source", ("name", p.stream_name),
                                 ("shard_count", p.stream_shards), ("tags", tags)))
        role = provisioning.glue_role_arn(p)
        out += [
            _resource("aws_kinesis_firehose_delivery_stream", "to_lake",
                      ("name", provisioning.firehose_name(p)), ("destination", "extended_s3"),
                      ("kinesis_source_configuration", Block("kinesis_source_configuration", (), [
                          ("kinesis_stream_arn", stream_ref), ("role_arn", role)])),
                      ("extended_s3_configuration", Block("extended_s3_configuration", (), [
                          ("role_arn", role), ("bucket_arn", f"arn:aws:s3:::{bucket}"),
                          ("prefix", provisioning.firehose_prefix(p)),
                          ("error_output_prefix", f"_errors/{p.raw_prefix}!{{firehose:error-output-type}}/"),
                          ("buffering_size", 64), ("buffering_interval", 300), ("compression_format", "GZIP")])),
                      ("tags", tags)),
            _resource("aws_glue_catalog_table", "stream", ("name", table),
                      ("database_name", Expr("aws_glue_catalog_database.target.name")),
                      ("table_type", "EXTERNAL_TABLE"),
                      ("parameters", {"classification": "json", "compressionType": "gzip",
                                      **provisioning.partition_projection(p)}),
                      ("partition_keys", Block("partition_keys", (), [("name", "load_date"), ("type", "string")])),
                      ("storage_descriptor", Block("storage_descriptor", (), [
                          ("location", f"s3://{bucket}/{p.raw_prefix}{table}/"),
                          ("input_format", "org.apache.hadoop.mapred.TextInputFormat"),
                          ("output_format", "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"),
                          ("ser_de_info", Block("ser_de_info", (), [
                              ("serialization_library", "org.openx.data.jsonserde.JsonSerDe")])),
                          *[("columns", Block("columns", (), [("name", c["name"]), ("type", c["type"])]))
                            for c in (p.stream_columns or [{"name": "data", "type": "string"}])],
                      ]))),
        ]
    for i, name in enumerate(provisioning.dataset_names(p)):
        out.append(_resource("aws_sns_topic", f"new_data_{i}", ("name", topic_name(name)),
                             ("tags", {"datahub:dataset": name})))
    return out


def render(p: Pipeline) -> str:
    header = (f"# Terraform for Data Hub pipeline {p.name!r} (hub {p.hub}), exported by the portal.\n"
              "# The source password is not here: the connection references the Secrets Manager secret.\n\n")
    return header + "\n\n".join(_write(b) for b in blocks(p)) + "\n"
