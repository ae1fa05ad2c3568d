"""Prep stage: enriches the raw events Firehose delivered with reference data into the prepared layer.

Triggered by S3 ``ObjectCreated`` events on the stream table's raw prefix. The reference data is a
catalog table's objects under ``REFERENCE_LOCATION`` (JSON lines, or Parquet where pyarrow is there:
the AWS SDK for pandas layer), indexed by ``JOIN_KEY``; each event gets the fields of its reference
row it does not have itself. The result is written as gzip JSON lines under ``PREPARED_PREFIX`` with
the same partition path (``load_date=…/``) as its raw object, so the prepared table projects alike.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import urllib.parse
from typing import Any

import boto3


def _split(location: str) -> tuple[str, str]:
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    return bucket, prefix


def _lines(body: bytes) -> list[dict[str, Any]]:
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


def reference_rows(s3: Any, location: str) -> list[dict[str, Any]]:
    bucket, prefix = _split(location)
    rows: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            if obj["Key"].endswith(".parquet"):
                import pyarrow.parquet as pq

                rows += pq.read_table(io.BytesIO(body)).to_pylist()
            elif body.strip():
                rows += _lines(body)
    return rows


def enrich(events: list[dict[str, Any]], reference: dict[Any, dict[str, Any]], key: str) -> list[dict[str, Any]]:
    out = []
    for event in events:
        extra = reference.get(event.get(key), {})
        out.append({**{k: v for k, v in extra.items() if k not in event}, **event})
    return out


def handler(event: dict[str, Any], context: Any, s3: Any = None) -> dict[str, int]:
    s3 = s3 or boto3.client("s3")
    key_column = os.environ["JOIN_KEY"]
    raw_prefix, prepared_prefix = os.environ["RAW_PREFIX"], os.environ["PREPARED_PREFIX"]
    reference = {row.get(key_column): row for row in reference_rows(s3, os.environ["REFERENCE_LOCATION"])}
    written = 0
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        if not key.startswith(raw_prefix):
            continue
        events = _lines(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        lines = "".join(json.dumps(e, separators=(",", ":"), default=str) + "\n"
                        for e in enrich(events, reference, key_column))
        s3.put_object(Bucket=bucket, Key=prepared_prefix + key.removeprefix(raw_prefix),
                      Body=gzip.compress(lines.encode()))
        written += len(events)
    return {"events": written}
