"""Validation shared by the wizard forms and the API: one set of rules for both.

Pure rules (names, cron, table references) raise ``ValueError`` with a message
meant for the person typing; ``PipelineSpec`` is the pydantic model an API body
or a finished wizard is turned into before ``services.create_pipeline``.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ingestion_wizard.models import SOURCE_KINDS

LAYERS = ("source", "prepared", "semantic")
CLASSIFICATIONS = ("public", "internal", "confidential", "strictly-confidential")
PARTITIONINGS = ("load_date", "none")
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "oracle": 1521, "sqlserver": 1433}

# Glue accepts more, but Athena (the lake's query engine) only reads lower-case
# letters, digits and underscores; names are limited to 255 characters.
_GLUE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,254}$")
_PIPELINE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,99}$")
_TABLE_REF_RE = re.compile(r"^[A-Za-z0-9_$]+(\.[A-Za-z0-9_$]+)?$")
_STREAM_NAME_RE = re.compile(r"^[a-zA-Z0-9_.-]{1,128}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[?[0-9a-fA-F:]+\]?$")
_COLUMN_TYPES = ("string", "bigint", "int", "double", "boolean", "timestamp", "date", "decimal(18,2)")


def validate_glue_name(value: str, what: str = "Database name") -> str:
    """Raises ValueError unless ``value`` is a valid Glue/Athena name; returns it."""
    value = (value or "").strip()
    if not _GLUE_NAME_RE.match(value):
        raise ValueError(
            f"{what} must start with a lower-case letter and use only lower-case letters, digits and "
            "underscores (at most 255 characters), e.g. finance_orders_raw."
        )
    return value


def validate_pipeline_name(value: str) -> str:
    value = (value or "").strip()
    if not _PIPELINE_NAME_RE.match(value):
        raise ValueError("Name must be 2–100 lower-case letters, digits or hyphens, e.g. erp-orders.")
    return value


def validate_cron(value: str) -> str:
    """A five-field cron expression (UTC) croniter accepts; raises ValueError with the reason."""
    from croniter import croniter

    value = " ".join((value or "").split())
    if len(value.split(" ")) != 5:
        raise ValueError("Cron must have five fields: minute hour day-of-month month day-of-week, e.g. 0 2 * * *.")
    if not croniter.is_valid(value):
        raise ValueError(f"'{value}' is not a valid cron expression.")
    return value


def describe_cron(value: str) -> str:
    """Plain-language reading of a valid cron expression, e.g. 'At 02:00 AM'."""
    from cron_descriptor import ExpressionDescriptor, Options

    options = Options()
    options.use_24hour_time_format = True
    return str(ExpressionDescriptor(value, options).get_description()) + " (UTC)"


def next_runs(value: str, count: int = 5, start: datetime | None = None) -> list[datetime]:
    from croniter import croniter

    it = croniter(value, start or datetime.now(timezone.utc))
    return [it.get_next(datetime) for _ in range(count)]


def parse_table_ref(value: str) -> tuple[str, str]:
    """``schema.table`` (or ``table``) → (schema, table); raises ValueError."""
    value = (value or "").strip()
    if not _TABLE_REF_RE.match(value):
        raise ValueError(f"'{value}' is not a table reference like schema.table.")
    schema, _, name = value.rpartition(".")
    return schema, name


def validate_stream_name(value: str) -> str:
    value = (value or "").strip()
    if not _STREAM_NAME_RE.match(value):
        raise ValueError("Stream name must be 1–128 letters, digits, '_', '.' or '-'.")
    return value


def parse_stream_columns(text: str) -> list[dict[str, str]]:
    """Lines ``name type`` → [{"name", "type"}]; raises ValueError naming the bad line."""
    columns = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"Line {number}: write 'name type', e.g. 'order_id bigint'.")
        name, type_ = parts[0], parts[1].lower()
        validate_glue_name(name, f"Line {number}: column name")
        if type_ not in _COLUMN_TYPES:
            raise ValueError(f"Line {number}: type must be one of {', '.join(_COLUMN_TYPES)}.")
        columns.append({"name": name, "type": type_})
    return columns


class TableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_: str = Field("", alias="schema", description="Source schema (PostgreSQL) or empty")
    name: str = Field(description="Source table name")
    incremental_column: str = Field("", description="Column whose growth marks new rows; empty = full load")

    def as_dict(self) -> dict[str, str]:
        return {"schema": self.schema_, "name": self.name, "incremental_column": self.incremental_column}


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["postgresql", "mysql", "oracle", "sqlserver", "kinesis"] = Field(description="Source kind")
    host: str = Field("", description="Database host name")
    port: int | None = Field(None, ge=1, le=65535, description="Database port")
    database: str = Field("", description="Database (or service) name")
    user: str = Field("", description="Database user")
    password: SecretStr | None = Field(None, description="Password; goes straight to Secrets Manager")
    secret_arn: str = Field("", description="ARN of an existing secret holding the password")
    tables: list[str | TableSpec] = Field(default_factory=list, description="Tables as schema.table")
    stream_name: str = Field("", description="Kinesis stream name")
    stream_mode: Literal["new", "existing"] = Field("new", description="Create the stream or use an existing one")
    shards: int = Field(1, ge=1, le=50, description="Shards of a new stream")
    columns: list[dict[str, str]] = Field(default_factory=list, description="Stream record columns")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip()
        if value and not _HOST_RE.match(value):
            raise ValueError("Host must be a host name or an IP address.")
        return value

    @field_validator("tables")
    @classmethod
    def _tables(cls, value: list[str | TableSpec]) -> list[str | TableSpec]:
        for table in value:
            if isinstance(table, str):
                parse_table_ref(table)
            else:
                parse_table_ref(f"{table.schema_}.{table.name}" if table.schema_ else table.name)
        return value

    @model_validator(mode="after")
    def _by_kind(self) -> "SourceSpec":
        if self.kind == "kinesis":
            self.stream_name = validate_stream_name(self.stream_name)
            return self
        missing = [f for f in ("host", "database", "user") if not getattr(self, f)]
        if missing:
            raise ValueError(f"A {SOURCE_KINDS[self.kind]} source needs {', '.join(missing)}.")
        if self.port is None:
            self.port = DEFAULT_PORTS[self.kind]
        if self.password is None and not self.secret_arn:
            raise ValueError("Give the password (it is stored in AWS Secrets Manager, never in the portal).")
        if not self.tables:
            raise ValueError("Pick at least one table.")
        return self

    def table_specs(self) -> list[dict[str, str]]:
        out = []
        for table in self.tables:
            if isinstance(table, TableSpec):
                out.append(table.as_dict())
            else:
                schema, name = parse_table_ref(table)
                out.append({"schema": schema, "name": name, "incremental_column": ""})
        return out


class TargetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database: str = Field(description="Glue database to create")
    layer: Literal["source", "prepared", "semantic"] = Field("source", description="Lake layer")
    owner: str = Field("", description="Owner shown in the catalog")
    classification: Literal["public", "internal", "confidential", "strictly-confidential"] = Field("internal")
    partitioning: Literal["load_date", "none"] = Field("load_date", description="Partition raw data by load date")

    @field_validator("database")
    @classmethod
    def _database(cls, value: str) -> str:
        return validate_glue_name(value)


class PipelineSpec(BaseModel):
    """What the wizard collects and the API accepts for a new pipeline."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Pipeline name")
    hub: str = Field(description="Data hub the data lands in")
    source: SourceSpec
    target: TargetSpec
    schedule: Annotated[str | None, Field(description="Cron (UTC) or null for on demand")] = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_pipeline_name(value)

    @field_validator("hub")
    @classmethod
    def _hub(cls, value: str) -> str:
        value = (value or "").strip()
        if not re.match(r"^[a-z0-9-]{1,64}$", value):
            raise ValueError("Hub must be a hub name like finance.")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return validate_cron(value)


def pydantic_errors(exc: Exception) -> dict[str, list[str]]:
    """A pydantic ValidationError as {"field.path": [messages]} for the API's ``detail``."""
    out: dict[str, list[str]] = {}
    for err in getattr(exc, "errors", lambda: [])():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "schema_") or "body"
        # Never echo input back: it could be the password.
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        out.setdefault(loc, []).append(message)
    return out
