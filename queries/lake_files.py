"""A table's real data objects in S3, read into Arrow (Parquet, CSV and JSON lines), with its
partitions from Glue (``GetPartitions``) and its partition values as columns.

Used by the local engine; everything goes through ``portal.aws`` (moto locally, S3 elsewhere).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from portal import aws
from queries.sql import QueryError

READ_WORKERS = 8


@dataclass(frozen=True)
class TableFiles:
    """What the reader needs to know of a catalog table."""

    qualified_name: str
    location: str
    format: str
    columns: list[str]  # data columns, in schema order
    partition_keys: list[str]
    has_header: bool = False


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` → ``("bucket", "prefix/")``; raises QueryError for anything else."""
    if not url.startswith(("s3://", "s3a://")):
        raise QueryError(f"The data of this table is not in S3 ({url or 'no location'}).")
    bucket, _, prefix = url.split("://", 1)[1].partition("/")
    return bucket, prefix


def partitions(database: str, table: str) -> list[tuple[list[str], str]]:
    """(values, location) of every Glue partition of a table."""
    paginator = aws.client("glue").get_paginator("get_partitions")
    return [(p["Values"], p.get("StorageDescriptor", {}).get("Location", ""))
            for page in paginator.paginate(DatabaseName=database, TableName=table)
            for p in page.get("Partitions", [])]


def pick_partitions(found: Iterable[tuple[list[str], str]], keys: list[str],
                    pinned: dict[str, set[str]]) -> list[tuple[list[str], str]]:
    """The partitions whose values match what a query pins (all of them when it pins none)."""
    wanted = [(i, pinned[k.lower()]) for i, k in enumerate(keys) if k.lower() in pinned]
    return [(values, location) for values, location in found
            if all(i < len(values) and values[i] in allowed for i, allowed in wanted)]


def _objects(s3: Any, url: str) -> list[tuple[str, str, int]]:
    bucket, prefix = split_s3_url(url)
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            name = item["Key"].rsplit("/", 1)[-1]
            # Hive and Spark leave markers (_SUCCESS, .crc, folder placeholders) beside the data.
            if name and not name.startswith(("_", ".")):
                found.append((bucket, item["Key"], int(item.get("Size", 0))))
    return found


def _parse(body: bytes, spec: TableFiles, wanted: list[str]) -> pa.Table:
    try:
        if spec.format == "parquet":
            present = set(pq.read_schema(io.BytesIO(body)).names)
            return pq.read_table(io.BytesIO(body), columns=[c for c in wanted if c in present])
        if spec.format == "csv":
            options = pacsv.ReadOptions(column_names=None if spec.has_header else spec.columns,
                                        autogenerate_column_names=False)
            return pacsv.read_csv(io.BytesIO(body), read_options=options)
        if spec.format == "json":
            return pajson.read_json(io.BytesIO(body))
    except pa.ArrowException as exc:
        raise QueryError(f"A data file of {spec.qualified_name} cannot be read as {spec.format}: {exc}") from None
    raise QueryError(f"The local engine reads Parquet, CSV and JSON; {spec.qualified_name} is {spec.format or 'of no known format'}.")


def _shape(data: pa.Table, wanted: list[str], values: dict[str, str]) -> pa.Table:
    """Exactly the wanted columns in order: missing ones as nulls, partition keys from their values."""
    by_lower = {name.lower(): name for name in data.column_names}
    arrays = []
    for column in wanted:
        if column in values:
            arrays.append(pa.array([values[column]] * data.num_rows, type=pa.string()))
        elif column.lower() in by_lower:
            arrays.append(data.column(by_lower[column.lower()]))
        else:
            arrays.append(pa.nulls(data.num_rows, type=pa.string()))
    return pa.table(arrays, names=wanted)


def read_table(spec: TableFiles, wanted: list[str], parts: list[tuple[list[str], str]] | None, *,
               max_bytes: int, check: Callable[[], None], row_limit: int | None = None) -> tuple[pa.Table, int]:
    """The table's rows (columns ``wanted``) from its objects, or from ``parts`` when partitioned;
    returns the table and the bytes read. Raises QueryError past ``max_bytes``; ``check`` is called
    between objects (it raises when the query must stop). With ``row_limit`` (a preview) objects are
    read one by one until that many rows are in hand, so a preview of a large table reads one file."""
    s3 = aws.client("s3")
    places = [(dict(zip(spec.partition_keys, values)), location) for values, location in parts] \
        if parts is not None else [({}, spec.location)]
    objects = [(values, obj) for values, location in places for obj in _objects(s3, location)]
    if row_limit is not None:
        return _read_until(s3, spec, wanted, objects, row_limit, check)
    scanned = sum(size for _, (_, _, size) in objects)
    if scanned > max_bytes:
        raise QueryError(f"The query would scan {scanned:,} bytes of {spec.qualified_name}, more than the "
                         f"limit of {max_bytes:,} (QUERY_MAX_BYTES_SCANNED); pin partitions in WHERE.")

    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        pieces = list(pool.map(lambda item: _fetch(s3, spec, wanted, item, check), objects))
    return _combine(pieces, wanted), scanned


_Object = tuple[dict[str, str], tuple[str, str, int]]


def _fetch(s3: Any, spec: TableFiles, wanted: list[str], item: _Object, check: Callable[[], None]) -> pa.Table:
    check()
    values, (bucket, key, _) = item
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return _shape(_parse(body, spec, wanted), wanted, values)


def _read_until(s3: Any, spec: TableFiles, wanted: list[str], objects: list[_Object], row_limit: int,
                check: Callable[[], None]) -> tuple[pa.Table, int]:
    pieces: list[pa.Table] = []
    scanned = rows = 0
    for item in objects:
        if rows >= row_limit:
            break
        pieces.append(_fetch(s3, spec, wanted, item, check).slice(0, row_limit - rows))
        rows += pieces[-1].num_rows
        scanned += item[1][2]
    return _combine(pieces, wanted), scanned


def _combine(pieces: list[pa.Table], wanted: list[str]) -> pa.Table:
    if not pieces:
        return pa.table([pa.array([], type=pa.string()) for _ in wanted], names=wanted)
    return pa.concat_tables(pieces, promote_options="permissive")
