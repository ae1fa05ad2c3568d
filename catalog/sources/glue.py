"""Reads one AWS Glue Data Catalog (account + region) and yields typed records.

The source streams: databases and tables come page by page from boto3
paginators, so a 100k-table catalog is never held in memory at once. Retries
with backoff against throttling come from the client factory (``portal.aws``,
botocore standard mode). Failures are split in two:

- ``SourceUnavailable``: Glue cannot be reached or refuses the catalog as a whole
  (no connection, bad credentials); the caller fails the run and keeps its mirror.
- ``ItemFailed``: one database or table cannot be read (access denied,
  malformed definition); the caller records a warning and goes on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import botocore.exceptions
from pydantic import BaseModel, ConfigDict, Field

from catalog.models import CLASSIFICATIONS, LAYERS, VISIBILITIES

FORMATS = ("parquet", "json", "csv", "orc", "avro", "iceberg", "delta", "hudi")
# Glue errors that concern the whole catalog, not one item: fail the run.
_FATAL_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "ServiceUnavailableException",
    "InternalServiceException",
    "ThrottlingException",  # only after botocore's retries gave up
}
_NOT_FOUND = "EntityNotFoundException"
_PRESTO_VIEW_PREFIX = "/* Presto View: "
_PRESTO_VIEW_SUFFIX = " */"
# Field sizes of catalog.models.Table; longer values are clipped with a warning.
_LIMITS = {"name": 255, "location": 1024, "input_format": 255, "serde": 255, "owner": 255, "table_type": 32,
           "hub": 64, "layer": 16, "glue_version_id": 64, "column_name": 255}


class SourceUnavailable(RuntimeError):
    """The catalog as a whole cannot be read (unreachable, credentials, retries exhausted)."""


class ItemFailed(RuntimeError):
    """One database or table cannot be read; the sync records it as a warning and goes on."""


class GlueSourceConfig(BaseModel):
    """Which Glue Data Catalog to read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str = Field(description="AWS account id that owns the catalog (Glue CatalogId).")
    region: str = Field(description="AWS region of the catalog, e.g. eu-central-1.")
    page_size: int = Field(default=100, ge=1, le=1000, description="Items per Glue API page (Glue allows up to 100 tables).")


class ColumnRecord(NamedTuple):
    # A tuple, not a frozen dataclass: a first sync builds millions of these, and a tuple is
    # several times cheaper to create.
    name: str
    type: str
    comment: str
    position: int
    is_partition_key: bool

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "comment": self.comment, "partition_key": self.is_partition_key}


@dataclass(frozen=True, slots=True)
class DatabaseRecord:
    name: str
    description: str
    location_uri: str
    parameters: dict[str, str]
    hub: str
    layer: str
    visibility: str
    owner: str
    classification: str
    created_at: datetime | None


@dataclass(slots=True)
class TableRecord:
    """A Glue table as the mirror stores it (database parameters already applied)."""

    database_name: str
    name: str
    description: str
    table_type: str
    location: str
    format: str
    input_format: str
    serde: str
    view_sql: str
    parameters: dict[str, str]
    owner: str
    classification: str
    hub: str
    layer: str
    visibility: str
    glue_version_id: str
    created_at: datetime | None
    updated_at: datetime | None
    columns: list[ColumnRecord]
    warnings: list[str] = field(default_factory=list)
    _fingerprint: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.database_name}.{self.name}"

    @property
    def fingerprint(self) -> str:
        """Hash of everything the mirror stores for the table: equal hash, no write."""
        if not self._fingerprint:
            parts = (
                self.description, self.table_type, self.location, self.format, self.input_format, self.serde,
                self.view_sql, tuple(sorted(self.parameters.items())), self.owner, self.classification, self.hub,
                self.layer, self.visibility, self.glue_version_id,
                self.created_at.isoformat() if self.created_at else "",
                self.updated_at.isoformat() if self.updated_at else "",
                tuple(map(tuple, self.columns)),  # (name, type, comment, position, is_partition_key) each
            )
            self._fingerprint = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
        return self._fingerprint

    @property
    def schema_key(self) -> str:
        """Hash of the columns only, naming a version when Glue gives none."""
        cols = repr(tuple((c.name, c.type, c.is_partition_key) for c in self.columns))
        return hashlib.blake2b(cols.encode(), digest_size=8).hexdigest()


@dataclass(slots=True)
class TablePage:
    """One Glue page: the tables read, and the names of those that could not be (kept as they are)."""

    records: list[TableRecord]
    failed: list[str]


@dataclass(frozen=True, slots=True)
class PartitionRecord:
    values: list[str]
    location: str
    created_at: datetime | None

    @property
    def values_key(self) -> str:
        return "/".join(self.values)[:1024]


@dataclass(frozen=True, slots=True)
class TableVersionRecord:
    version_id: str
    columns: list[ColumnRecord]
    updated_at: datetime | None


# --- normalisation (pure: Glue dict in, record out) --------------------------------


def _clip(value: Any, limit_key: str, what: str, warnings: list[str]) -> str:
    text = "" if value is None else str(value)
    limit = _LIMITS[limit_key]
    if len(text) > limit:
        warnings.append(f"{what}: {limit_key.replace('_', ' ')} longer than {limit} characters, clipped")
        return text[:limit]
    return text


def _str_params(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in raw.items()}


def _split_classification(value: str) -> tuple[str, str]:
    """Glue's ``classification`` parameter is a data format for crawlers and a data class for the portal."""
    lowered = value.strip().lower()
    if lowered in CLASSIFICATIONS:
        return "", lowered
    if lowered in FORMATS:
        return lowered, ""
    return "", ""


def normalize_database(raw: dict[str, Any]) -> DatabaseRecord:
    """A Glue database dict as a record; raises ItemFailed when it has no name."""
    name = raw.get("Name")
    if not isinstance(name, str) or not name:
        raise ItemFailed(f"database without a name: {str(raw)[:200]}")
    params = _str_params(raw.get("Parameters"))
    _, data_class = _split_classification(params.get("classification", ""))
    return DatabaseRecord(
        name=name,
        description=str(raw.get("Description") or ""),
        location_uri=str(raw.get("LocationUri") or "")[:1024],
        parameters=params,
        hub=params.get("hub", "").strip().lower(),
        layer=params.get("layer", "").strip().lower(),
        visibility=params.get("visibility", "").strip().lower(),
        owner=params.get("owner", "").strip(),
        classification=data_class,
        created_at=raw.get("CreateTime"),
    )


def detect_format(params: dict[str, str], storage: dict[str, Any]) -> str:
    """parquet/json/csv/orc/avro (or an open table format) from parameters, InputFormat and SerDe."""
    table_type = params.get("table_type", "").lower()
    if table_type in ("iceberg", "delta", "hudi"):
        return table_type
    for source in (params, _str_params(storage.get("Parameters"))):
        fmt, _ = _split_classification(source.get("classification", ""))
        if fmt:
            return fmt
    input_format = str(storage.get("InputFormat") or "").lower()
    serde = str((storage.get("SerdeInfo") or {}).get("SerializationLibrary") or "").lower()
    if "parquet" in input_format or "parquet" in serde:
        return "parquet"
    if "orc" in input_format or "orc" in serde:
        return "orc"
    if "avro" in input_format or "avro" in serde:
        return "avro"
    if "json" in serde:
        return "json"
    if "csv" in serde or "lazysimpleserde" in serde or "textinputformat" in input_format:
        return "csv"
    return ""


def decode_view_sql(original: str, expanded: str) -> str:
    """The view's SQL: Athena stores base64 JSON in "/* Presto View: … */"; others store SQL as is."""
    text = (original or "").strip()
    if text.startswith(_PRESTO_VIEW_PREFIX) and text.endswith(_PRESTO_VIEW_SUFFIX):
        blob = text[len(_PRESTO_VIEW_PREFIX):-len(_PRESTO_VIEW_SUFFIX)].strip()
        try:
            payload = json.loads(base64.b64decode(blob + "=" * (-len(blob) % 4)))
            sql = payload.get("originalSql") if isinstance(payload, dict) else None
            if isinstance(sql, str) and sql.strip():
                return sql.strip()
        except (binascii.Error, ValueError, UnicodeDecodeError):
            pass
        if expanded and expanded.strip() != "/* Presto View */":
            return expanded.strip()
        raise ItemFailed("Athena view definition is not valid base64 JSON")
    if text:
        return text
    return (expanded or "").strip()


def _columns(raw_columns: Any, partition: bool, start: int, what: str, warnings: list[str],
             seen: set[tuple[str, bool]]) -> list[ColumnRecord]:
    if raw_columns is None:
        return []
    if not isinstance(raw_columns, list):
        raise ItemFailed(f"{'partition keys' if partition else 'columns'} are not a list")
    result: list[ColumnRecord] = []
    longest = _LIMITS["column_name"]
    for index, col in enumerate(raw_columns):
        name = col.get("Name") if isinstance(col, dict) else None
        if not isinstance(name, str) or not name:
            raise ItemFailed(f"column {index + 1} has no name")
        if len(name) > longest:
            name = _clip(name, "column_name", what, warnings)
        if (name, partition) in seen:
            warnings.append(f"{what}: duplicate column {name!r} ignored")
            continue
        seen.add((name, partition))
        type_, comment = col.get("Type"), col.get("Comment")
        result.append(ColumnRecord(name, type_ if type(type_) is str else str(type_ or ""),
                                   comment if type(comment) is str else str(comment or ""),
                                   start + len(result), partition))
    return result


def normalize_table(raw: dict[str, Any], database: DatabaseRecord) -> TableRecord:
    """A Glue table dict as a record; table parameters override the database's portal keys.

    Tables without a StorageDescriptor or with thousands of columns are stored with
    what they have. Raises ItemFailed when the definition cannot be read at all.
    """
    name = raw.get("Name")
    if not isinstance(name, str) or not name:
        raise ItemFailed(f"table without a name in {database.name}")
    what = f"{database.name}.{name}"
    warnings: list[str] = []
    try:
        params = _str_params(raw.get("Parameters"))
        storage = raw.get("StorageDescriptor") or {}
        if not isinstance(storage, dict):
            raise ItemFailed("StorageDescriptor is not an object")
        seen: set[tuple[str, bool]] = set()
        columns = _columns(storage.get("Columns"), False, 0, what, warnings, seen)
        columns += _columns(raw.get("PartitionKeys"), True, 0, what, warnings, seen)
        table_type = str(raw.get("TableType") or "")
        view_sql = ""
        if table_type == "VIRTUAL_VIEW" or raw.get("ViewOriginalText") or raw.get("ViewExpandedText"):
            view_sql = decode_view_sql(str(raw.get("ViewOriginalText") or ""), str(raw.get("ViewExpandedText") or ""))
        _, data_class = _split_classification(params.get("classification", ""))
        visibility = (params.get("visibility") or database.visibility or "hub").strip().lower()
        if visibility not in VISIBILITIES:
            warnings.append(f"{what}: unknown visibility {visibility!r}, treated as 'hub'")
            visibility = "hub"
        layer = (params.get("layer") or database.layer).strip().lower()
        if layer and layer not in LAYERS:
            warnings.append(f"{what}: unknown layer {layer!r}")
        return TableRecord(
            database_name=database.name,
            name=_clip(name, "name", what, warnings),
            description=str(raw.get("Description") or ""),
            table_type=_clip(table_type, "table_type", what, warnings),
            location=_clip(storage.get("Location"), "location", what, warnings),
            format="" if view_sql else detect_format(params, storage),
            input_format=_clip(storage.get("InputFormat"), "input_format", what, warnings),
            serde=_clip((storage.get("SerdeInfo") or {}).get("SerializationLibrary"), "serde", what, warnings),
            view_sql=view_sql,
            parameters=params,
            owner=_clip(params.get("owner") or raw.get("Owner") or database.owner, "owner", what, warnings),
            classification=data_class or database.classification,
            hub=_clip((params.get("hub") or database.hub).strip().lower(), "hub", what, warnings),
            layer=_clip(layer, "layer", what, warnings),
            visibility=visibility,
            glue_version_id=_clip(raw.get("VersionId"), "glue_version_id", what, warnings),
            created_at=raw.get("CreateTime"),
            updated_at=raw.get("UpdateTime") or raw.get("CreateTime"),
            columns=columns,
            warnings=warnings,
        )
    except ItemFailed as exc:
        raise ItemFailed(f"{what}: malformed definition: {exc}") from None
    except (AttributeError, TypeError, ValueError) as exc:
        raise ItemFailed(f"{what}: malformed definition: {exc}") from None


# --- the source ----------------------------------------------------------------------


_AWS_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)


def _error_code(exc: Exception) -> str:
    if not isinstance(exc, botocore.exceptions.ClientError):
        return ""
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_fatal(exc: Exception) -> bool:
    if isinstance(exc, botocore.exceptions.ClientError):
        return _error_code(exc) in _FATAL_CODES
    return isinstance(exc, botocore.exceptions.BotoCoreError)


def _describe(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


class GlueSource:
    """One Glue Data Catalog. Pass ``client`` to inject one (tests use botocore Stubber)."""

    def __init__(self, config: GlueSourceConfig, client: Any = None) -> None:
        self.config = config
        if client is None:
            from portal import aws

            client = aws.client("glue", region=config.region)
        self.client = client
        self.warnings: list[str] = []

    # Every call names the catalog; the "global" catalog may span several regions.
    def _call_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        return {"CatalogId": self.config.account_id, **kwargs}

    def _unavailable(self, exc: Exception, doing: str) -> SourceUnavailable:
        return SourceUnavailable(
            f"Glue catalog {self.config.account_id} in {self.config.region} unreachable while {doing}: {_describe(exc)}"
        )

    def _failure(self, exc: Exception, doing: str, item: str) -> Exception:
        """ItemFailed for an error about one item, SourceUnavailable for one about the catalog."""
        if isinstance(exc, botocore.exceptions.ClientError) and not _is_fatal(exc):
            return ItemFailed(f"{item}: {_describe(exc)}")
        return self._unavailable(exc, doing)

    def test_connection(self) -> None:
        """Raises SourceUnavailable when the catalog cannot be read; returns None when it can."""
        try:
            self.client.get_databases(**self._call_kwargs(MaxResults=1))
        except _AWS_ERRORS as exc:
            raise self._unavailable(exc, "testing the connection") from exc

    def databases(self) -> Iterator[DatabaseRecord]:
        """Every database, page by page. Raises SourceUnavailable if the listing cannot be completed."""
        paginator = self.client.get_paginator("get_databases")
        try:
            for page in paginator.paginate(**self._call_kwargs(PaginationConfig={"PageSize": self.config.page_size})):
                for raw in page.get("DatabaseList", []):
                    try:
                        yield normalize_database(raw)
                    except ItemFailed as exc:
                        self.warnings.append(str(exc))
        except _AWS_ERRORS as exc:
            # A partial database list must not look like deleted databases: the whole run fails.
            raise self._unavailable(exc, "listing databases") from exc

    def get_database(self, name: str) -> DatabaseRecord | None:
        """One database, or None when Glue no longer has it."""
        try:
            raw = self.client.get_database(**self._call_kwargs(Name=name))["Database"]
        except _AWS_ERRORS as exc:
            if _error_code(exc) == _NOT_FOUND:
                return None
            raise self._failure(exc, f"reading database {name}", name) from exc
        return normalize_database(raw)

    def table_pages(self, database: DatabaseRecord) -> Iterator[TablePage]:
        """The database's tables one Glue page at a time; malformed tables become warnings.

        Raises ItemFailed when the database's tables cannot be listed (access denied),
        SourceUnavailable when Glue cannot be reached.
        """
        paginator = self.client.get_paginator("get_tables")
        pages = paginator.paginate(
            **self._call_kwargs(DatabaseName=database.name, PaginationConfig={"PageSize": self.config.page_size})
        )
        try:
            for page in pages:
                result = TablePage([], [])
                for raw in page.get("TableList", []):
                    try:
                        result.records.append(normalize_table(raw, database))
                    except ItemFailed as exc:
                        self.warnings.append(str(exc))
                        result.failed.append(str(raw.get("Name") or "")[:255])
                yield result
        except _AWS_ERRORS as exc:
            raise self._failure(exc, f"listing tables of {database.name}",
                                f"{database.name}: tables not readable") from exc

    def get_table(self, database: DatabaseRecord, name: str) -> TableRecord | None:
        """One table, or None when Glue no longer has it; raises ItemFailed when unreadable."""
        try:
            raw = self.client.get_table(**self._call_kwargs(DatabaseName=database.name, Name=name))["Table"]
        except _AWS_ERRORS as exc:
            if _error_code(exc) == _NOT_FOUND:
                return None
            raise self._failure(exc, f"reading {database.name}.{name}", f"{database.name}.{name}") from exc
        return normalize_table(raw, database)

    def partitions(self, database_name: str, table_name: str) -> Iterator[PartitionRecord]:
        """The table's partitions, streamed; raises ItemFailed when they cannot be listed."""
        paginator = self.client.get_paginator("get_partitions")
        try:
            for page in paginator.paginate(
                **self._call_kwargs(DatabaseName=database_name, TableName=table_name,
                                    PaginationConfig={"PageSize": self.config.page_size})
            ):
                for raw in page.get("Partitions", []):
                    values = [str(v) for v in raw.get("Values") or []]
                    location = str((raw.get("StorageDescriptor") or {}).get("Location") or "")[:1024]
                    yield PartitionRecord(values, location, raw.get("CreationTime"))
        except _AWS_ERRORS as exc:
            raise self._failure(exc, f"listing partitions of {database_name}.{table_name}",
                                f"{database_name}.{table_name}: partitions not readable") from exc

    def table_versions(self, database: DatabaseRecord, table_name: str) -> list[TableVersionRecord]:
        """The table's Glue versions, oldest first (used to fill gaps in the version history)."""
        paginator = self.client.get_paginator("get_table_versions")
        versions: list[TableVersionRecord] = []
        try:
            for page in paginator.paginate(**self._call_kwargs(DatabaseName=database.name, TableName=table_name)):
                for item in page.get("TableVersions", []):
                    raw = item.get("Table") or {}
                    try:
                        record = normalize_table({**raw, "Name": raw.get("Name") or table_name}, database)
                    except ItemFailed:
                        continue
                    versions.append(TableVersionRecord(str(item.get("VersionId") or ""), record.columns,
                                                       record.updated_at))
        except _AWS_ERRORS as exc:
            raise self._failure(exc, f"listing versions of {database.name}.{table_name}",
                                f"{database.name}.{table_name}: versions not readable") from exc
        return sorted(versions, key=_version_sort_key)

    def close(self) -> None:
        """Nothing to release: the boto3 client is pooled by the factory."""


def _version_sort_key(version: TableVersionRecord) -> tuple[int, str]:
    return (int(version.version_id), "") if version.version_id.isdigit() else (1 << 62, version.version_id)
