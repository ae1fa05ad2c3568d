"""Doing a run's work: locally (embedded mode, tests) or by starting the Glue job.

The local executor does what the generated Glue job does: streams each chosen
table out of the source in batches (server-side cursors), writes Parquet into
``s3://LAKE_BUCKET/<raw prefix>/<table>/load_date=YYYY-MM-DD/`` and creates or
updates the Glue table and its partition.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from ingestion_wizard.aws import glue_script, provisioning
from ingestion_wizard.aws.errors import classify
from ingestion_wizard.models import Pipeline
from ingestion_wizard.sources import ConnectionSpec, TableInfo, open_source
from portal import aws

BATCH_SIZE = 50_000
GLUE_TYPES = {"int64": "bigint", "float64": "double", "bool": "boolean", "string": "string",
              "timestamp": "timestamp", "date": "date", "decimal": "decimal(38,9)", "binary": "binary"}


@dataclass
class TableLoad:
    source: str
    target: str  # database.table
    rows: int = 0
    bytes: int = 0
    watermark: str | None = None


@dataclass
class RunResult:
    partition: str
    loads: list[TableLoad] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.loads)

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.loads)


def connection_spec(p: Pipeline) -> ConnectionSpec:
    """The source connection of a run; its host is vetted again when the source connects (hosts)."""
    from ingestion_wizard.secret_services import pipeline_password

    return ConnectionSpec(p.source_kind, p.host, int(p.port or 0), p.source_database, p.source_user,
                          pipeline_password(p))


def arrow_schema(info: TableInfo) -> Any:
    import pyarrow as pa

    types = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "string": pa.string(),
             "timestamp": pa.timestamp("us", tz="UTC"), "date": pa.date32(), "decimal": pa.decimal128(38, 9),
             "binary": pa.binary()}
    return pa.schema([(c.name, types[c.arrow_type]) for c in info.columns])


def _to_arrow_column(values: Sequence[Any], arrow_type: Any, kind: str, wire: str = "native") -> Any:
    """One column of a batch as an Arrow array; Python-level fixes only where Arrow needs them
    (the hot path of a load: most columns go straight to Arrow's C conversion)."""
    import pyarrow as pa

    if wire == "epoch_us":
        return pa.array(values, type=pa.int64()).cast(arrow_type)
    if wire == "text":
        try:
            return pa.array(values, type=pa.string()).cast(arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # more than 9 decimals: round to the column's scale
            values = [None if v is None else Decimal(v) for v in values]
    sample = next((v for v in values if v is not None), None)
    if kind == "string" and sample is not None and not isinstance(sample, str):
        values = [None if v is None else str(v) for v in values]
    elif kind == "bool" and sample is not None and not isinstance(sample, bool):
        values = [None if v is None else bool(v) for v in values]
    elif kind == "decimal":
        try:
            return pa.array(values, type=arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            values = [None if v is None else Decimal(v).quantize(Decimal("1e-9")) for v in values]
    # Naive datetimes (MySQL DATETIME) are taken as UTC by Arrow.
    return pa.array(values, type=arrow_type)


def _wire_type(arrow_type: Any, wire: str) -> Any:
    import pyarrow as pa

    return {"epoch_us": pa.int64(), "text": pa.string()}.get(wire, arrow_type)


def _batch_to_arrow(batch: list[tuple], schema: Any, info: TableInfo) -> Any:
    """Rows → RecordBatch. Fast path: Arrow reads the row tuples as one struct array in C (no
    per-column Python transposition), then casts the encoded columns; rows Arrow cannot take as
    they are (UUIDs, JSON, ints in boolean columns) go column by column through _to_arrow_column."""
    import pyarrow as pa

    wire_struct = pa.struct([(c.name, _wire_type(schema.field(i).type, c.wire)) for i, c in enumerate(info.columns)])
    try:
        columns = pa.array(batch, type=wire_struct).flatten()
        arrays = [col if col.type == schema.field(i).type else col.cast(schema.field(i).type)
                  for i, col in enumerate(columns)]
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        values = list(zip(*batch))
        arrays = [_to_arrow_column(values[i], schema.field(i).type, c.arrow_type, c.wire)
                  for i, c in enumerate(info.columns)]
    return pa.record_batch(arrays, schema=schema)


def glue_table_input(p: Pipeline, info: TableInfo, name: str, location: str) -> dict[str, Any]:
    partition_keys = [{"Name": key, "Type": "string"} for key in glue_script.partition_keys(p)]
    table: dict[str, Any] = {
        "Name": name,
        "Description": f"{info.ref} from {p.get_source_kind_display()} {p.host}/{p.source_database}",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "hub": p.hub, "layer": p.layer, "owner": p.owner,
                       "data_classification": p.classification, "datahub_pipeline": p.name,
                       "source": f"{p.source_kind}://{p.host}:{p.port}/{p.source_database}/{info.ref}"},
        "PartitionKeys": partition_keys,
        "StorageDescriptor": {
            "Columns": [{"Name": c.name.lower(), "Type": GLUE_TYPES[c.arrow_type]} for c in info.columns],
            "Location": location,
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
        },
    }
    if p.owner:
        table["Owner"] = p.owner
    return table


def _upsert_glue_table(p: Pipeline, info: TableInfo, name: str, location: str, load_date: str) -> None:
    glue = aws.client("glue")
    table_input = glue_table_input(p, info, name, location)
    try:
        try:
            glue.get_table(DatabaseName=p.target_database, Name=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "EntityNotFoundException":
                raise
            glue.create_table(DatabaseName=p.target_database, TableInput=table_input)
        else:
            glue.update_table(DatabaseName=p.target_database, TableInput=table_input)
        if not glue_script.partition_keys(p):
            return
        sd = {**table_input["StorageDescriptor"], "Location": f"{location}load_date={load_date}/"}
        try:
            glue.get_partition(DatabaseName=p.target_database, TableName=name, PartitionValues=[load_date])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "EntityNotFoundException":
                raise
            glue.create_partition(DatabaseName=p.target_database, TableName=name,
                                  PartitionInput={"Values": [load_date], "StorageDescriptor": sd})
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from None


def _clear_prefix(prefix: str) -> None:
    s3 = aws.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=provisioning.bucket(), Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=provisioning.bucket(), Delete={"Objects": keys, "Quiet": True})


def run_local(p: Pipeline, run_id: int, log: Callable[[str], None], *, today: dt.date | None = None,
              batch_size: int = BATCH_SIZE) -> RunResult:
    """Loads every chosen table once. Raises SourceError/TableMissing, StepFailed/TransientAWSError."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    load_date = (today or dt.datetime.now(dt.timezone.utc).date()).isoformat()
    result = RunResult(partition=f"load_date={load_date}")
    s3 = aws.client("s3")
    with open_source(connection_spec(p)) as source, tempfile.TemporaryDirectory(prefix="ingest-") as tmp:
        for spec in p.tables:
            info = source.describe(spec.get("schema", ""), spec["name"])
            name = p.target_table_name(spec)
            load = TableLoad(info.ref, f"{p.target_database}.{name}")
            incremental = spec.get("incremental_column") or ""
            after = p.watermarks.get(info.ref) if incremental else None
            location = f"s3://{provisioning.bucket()}/{p.raw_prefix}{name}/"
            part_prefix = f"{p.raw_prefix}{name}/" + (f"load_date={load_date}/" if glue_script.partition_keys(p) else "")
            key = f"{part_prefix}run-{run_id}.parquet"
            if not incremental:
                # A full load replaces what an earlier run of the same day wrote.
                _clear_prefix(part_prefix)
            log(f"Reading {info.ref} ({len(info.columns)} columns)"
                + (f" where {incremental} > {after}" if after is not None else ""))
            schema = arrow_schema(info)
            path = Path(tmp) / f"{name}.parquet"
            inc_index = next((i for i, c in enumerate(info.columns) if c.name == incremental), None)
            with pq.ParquetWriter(path, schema, compression="snappy") as writer:
                top: Any = None
                for batch in source.read_batches(info, batch_size, incremental, after):
                    record_batch = _batch_to_arrow(batch, schema, info)
                    writer.write_batch(record_batch)
                    load.rows += len(batch)
                    if inc_index is not None:
                        batch_top = pc.max(record_batch.column(inc_index)).as_py()
                        if batch_top is not None and (top is None or batch_top > top):
                            top = batch_top
                if top is not None:
                    load.watermark = top.isoformat() if isinstance(top, (dt.datetime, dt.date)) else str(top)
            load.bytes = path.stat().st_size
            if load.rows or not incremental:
                try:
                    s3.upload_file(str(path), provisioning.bucket(), key)
                except (ClientError, BotoCoreError) as exc:
                    raise classify(exc) from None
                except Exception as exc:  # boto3's S3UploadFailedError wraps the ClientError
                    raise classify(exc.__cause__ or exc) from None
            _upsert_glue_table(p, info, name, location, load_date)
            log(f"Wrote {load.rows} rows ({load.bytes} bytes) to s3://{provisioning.bucket()}/{key}")
            result.loads.append(load)
    return result


# Seconds between two looks at a running Glue job run.
GLUE_POLL_SECONDS = 30
# The portal run a Glue job run was started for, as a job argument: a worker that resumes a run
# (the one before it died after starting the job, before recording it) finds it instead of starting twice.
RUN_ARGUMENT = "--datahub_run_id"


def start_glue_run(p: Pipeline, portal_run_id: int) -> str:
    """The JobRunId of the pipeline's Glue job run for ``portal_run_id``: the one already started
    for it, else a new one."""
    glue = aws.client("glue")
    try:
        for page in glue.get_paginator("get_job_runs").paginate(JobName=provisioning.job_name(p)):
            for job_run in page.get("JobRuns", []):
                if (job_run.get("Arguments") or {}).get(RUN_ARGUMENT) == str(portal_run_id):
                    return job_run["Id"]
        return glue.start_job_run(JobName=provisioning.job_name(p),
                                  Arguments={RUN_ARGUMENT: str(portal_run_id)})["JobRunId"]
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from None


def glue_run_state(p: Pipeline, run_id: str) -> tuple[str, str]:
    """(JobRunState, ErrorMessage) of a Glue job run."""
    glue = aws.client("glue")
    try:
        job_run = glue.get_job_run(JobName=provisioning.job_name(p), RunId=run_id)["JobRun"]
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from None
    return job_run.get("JobRunState", ""), job_run.get("ErrorMessage", "")


def executor_kind() -> str:
    return settings.INGESTION_EXECUTOR
