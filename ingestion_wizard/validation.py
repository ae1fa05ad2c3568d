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


CRON_FIELDS = (  # (name in celery.schedules.crontab, how people call it, what it takes)
    ("minute", "minute", "0-59"),
    ("hour", "hour", "0-23"),
    ("day_of_month", "day-of-month", "1-31"),
    ("month_of_year", "month", "1-12 or jan-dec"),
    ("day_of_week", "day-of-week", "0-6 or sun-sat, 0 = Sunday"),
)
# A schedule must fire within this many years (29 February on a Monday does, every 28 years or so).
CRON_HORIZON_YEARS = 50


def validate_cron(value: str) -> str:
    """The one check of a schedule, used by the wizard, "Save schedule", the API and the pipeline spec.

    Returns the expression with its whitespace normalised. Raises ValueError with a message for
    people when it is not five fields, when Celery beat's own parser (``celery.schedules.crontab``,
    which django-celery-beat's CrontabSchedule feeds) refuses a field or the combination (Quartz
    extras such as ``?``, ``L``, ``W``, ``1#2``; 31 February), or when it never fires.
    """
    from celery.schedules import crontab

    value = " ".join((value or "").split())
    fields = value.split(" ") if value else []
    if len(fields) != 5:
        raise ValueError("Cron must have five fields: minute hour day-of-month month day-of-week, e.g. 0 2 * * *.")
    for (name, label, allowed), field in zip(CRON_FIELDS, fields):
        try:
            crontab(**{name: field})
        except Exception as exc:  # celery raises ValueError or its ParseException
            hint = " (Quartz-style ?, L, W and # are not supported)" if any(c in field for c in "?LW#") else ""
            raise ValueError(f"'{value}': the {label} field '{field}' is not valid: use {allowed}{hint}.") from exc
    try:
        crontab(**dict(zip((f[0] for f in CRON_FIELDS), fields)))
    except Exception as exc:  # e.g. "day_of_month '31' never occurs in month_of_year '2'"
        reason = str(exc).removeprefix("Invalid crontab: ").rstrip(".")
        reason = reason.replace("day_of_month", "day").replace("month_of_year", "month")
        raise ValueError(f"'{value}' never fires: {reason}.") from exc
    next_runs(value, 1)  # raises ValueError when no date matches
    return value


def describe_cron(value: str) -> str:
    """Plain-language reading of a valid cron expression, e.g. 'At 02:00 AM'."""
    from cron_descriptor import ExpressionDescriptor, Options

    options = Options()
    options.use_24hour_time_format = True
    return str(ExpressionDescriptor(value, options).get_description()) + " (UTC)"


def schedule_gaps(value: str, count: int = 8) -> list[float]:
    """Seconds between the next ``count`` firings of a valid cron expression (UTC)."""
    times = next_runs(value, count=count)
    return [(b - a).total_seconds() for a, b in zip(times, times[1:])]


def schedule_problem(value: str, last_run_seconds: float | None) -> str | None:
    """Why ``value`` cannot be a pipeline's schedule given how long its last run took, or None: a
    schedule firing again before a run of that length ends would find it still running (the next
    run is refused while one is active), so the pipeline would silently fall behind."""
    if not last_run_seconds:
        return None
    shortest = min(schedule_gaps(value))
    if shortest >= last_run_seconds:
        return None
    return (f"'{value}' fires every {_duration(shortest)}, but the last run took {_duration(last_run_seconds)}: "
            "choose a schedule with more time between runs.")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"


def next_runs(value: str, count: int = 5, start: datetime | None = None) -> list[datetime]:
    """The next ``count`` times (UTC) the schedule fires, as Celery beat reads it: day-of-month and
    day-of-week must both match (croniter's default is either). Raises ValueError when the
    expression is unreadable or fires not once within CRON_HORIZON_YEARS."""
    from croniter import CroniterBadDateError, CroniterError, croniter

    try:
        it = croniter(value, start or datetime.now(timezone.utc), day_or=False,
                      max_years_between_matches=CRON_HORIZON_YEARS)
        return [it.get_next(datetime) for _ in range(count)]
    except CroniterBadDateError:
        raise ValueError(f"'{value}' never fires: no date matches it in the next {CRON_HORIZON_YEARS} years.") from None
    except (CroniterError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"'{value}' is not a valid cron expression ({exc}).") from None


def safe_next_runs(value: str, count: int = 5) -> tuple[list[datetime], str]:
    """``(next runs, "")`` for a stored schedule, or ``([], why not)``: pages that show a schedule
    saved before a rule was added (a draft, a pipeline) show the reason instead of failing."""
    try:
        validate_cron(value)
        return next_runs(value, count), ""
    except ValueError as exc:
        return [], str(exc)


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


def _has_nul(value: object) -> bool:
    """A NUL in a string, or in the strings of a list or plain dict; nested models check their own."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, str) and "\x00" in v for v in value)
    return False


class _Body(BaseModel):
    """Base of the API bodies: unknown fields refused, no NUL character anywhere (PostgreSQL
    cannot store one: it would be a 500 at the insert instead of a 400 naming the field)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if _has_nul(value):
            raise ValueError("must not contain a NUL character")
        return value


# Field sizes match the columns they are stored in (ingestion_wizard.models), so an over-long
# value is a 400 naming the field, never a database error.
MAX_TABLES = 1000


class TableSpec(_Body):

    schema_: str = Field("", alias="schema", max_length=255, description="Source schema (PostgreSQL) or empty")
    name: str = Field(max_length=255, description="Source table name")
    incremental_column: str = Field("", max_length=255,
                                    description="Column whose growth marks new rows; empty = full load")

    def as_dict(self) -> dict[str, str]:
        return {"schema": self.schema_, "name": self.name, "incremental_column": self.incremental_column}


class NetworkSpec(_Body):
    """Where the Glue job's network interface sits to reach a source in a private network."""

    subnet_id: str = Field(pattern=r"^subnet-[0-9a-f]{8,17}$", description="Subnet that routes to the source")
    security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(
        min_length=1, max_length=5, description="Security groups of the job's network interface (same VPC)")


class SourceSpec(_Body):
    kind: Literal["postgresql", "mysql", "oracle", "sqlserver", "kinesis"] = Field(description="Source kind")
    host: str = Field("", max_length=255, description="Database host name")
    port: int | None = Field(None, ge=1, le=65535, description="Database port")
    database: str = Field("", max_length=255, description="Database (or service) name")
    user: str = Field("", max_length=255, description="Database user")
    password: SecretStr | None = Field(None, description="Password; goes straight to Secrets Manager")
    secret_arn: str = Field("", max_length=2048,
                            description="ARN of a secret of your provider role (datahub/ingestion/<hub>/…)")
    tables: list[Annotated[str, Field(max_length=511)] | TableSpec] = Field(
        default_factory=list, max_length=MAX_TABLES, description="Tables as schema.table")
    network: NetworkSpec | None = Field(None, description="Network placement (sources in a private network)")
    stream_name: str = Field("", max_length=128, description="Kinesis stream name")
    stream_mode: Literal["new", "existing"] = Field("new", description="Create the stream or use an existing one")
    shards: int = Field(1, ge=1, le=50, description="Shards of a new stream")
    columns: list[dict[str, str]] = Field(default_factory=list, max_length=1000, description="Stream record columns")
    transform: Literal["", "json_lines", "arrival_time"] = Field(
        "", description="Firehose record transformation template (streams): json_lines, arrival_time or none")
    prep_reference_table: str = Field("", max_length=511, description="Prep stage: catalog table db.table whose "
                                                                       "rows enrich the events (streams)")
    prep_join_key: str = Field("", max_length=255, description="Prep stage: field joining events to reference rows")

    @field_validator("columns", mode="before")
    @classmethod
    def _columns(cls, value: object) -> object:
        if isinstance(value, list) and any(isinstance(c, dict) and any(_has_nul(k) or _has_nul(v) for k, v in c.items())
                                           for c in value):
            raise ValueError("must not contain a NUL character")
        return value

    @field_validator("password")
    @classmethod
    def _password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) > 4096:  # Secrets Manager's own limit is 64 KB
            raise ValueError("Password must be at most 4096 characters.")
        return value

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
            if bool(self.prep_reference_table) != bool(self.prep_join_key):
                raise ValueError("The prep stage needs both the reference table and the join key.")
            if self.prep_reference_table and not re.match(r"^[a-z0-9_]+\.[a-z0-9_]+$", self.prep_reference_table):
                raise ValueError("The reference table must be a catalog table as database.table.")
            return self
        if self.transform or self.prep_reference_table:
            raise ValueError("Record transformation and prep stage are for stream sources only.")
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


class TargetSpec(_Body):
    database: str = Field(max_length=255, description="Glue database to create")
    layer: Literal["source", "prepared", "semantic"] = Field("source", description="Lake layer")
    owner: str = Field("", max_length=255, description="Owner shown in the catalog")
    classification: Literal["public", "internal", "confidential", "strictly-confidential"] = Field("internal")
    partitioning: Literal["load_date", "none"] = Field("load_date", description="Partition raw data by load date")

    @field_validator("database")
    @classmethod
    def _database(cls, value: str) -> str:
        return validate_glue_name(value)


class PipelineSpec(_Body):
    """What the wizard collects and the API accepts for a new pipeline."""

    name: str = Field(max_length=100, description="Pipeline name")
    hub: str = Field(max_length=64, description="Data hub the data lands in")
    source: SourceSpec
    target: TargetSpec
    schedule: Annotated[str | None, Field(max_length=120, description="Cron (UTC) or null for on demand")] = None

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
