"""Firehose record transformation, one template per pipeline (``DATAHUB_TRANSFORM``):

- ``json_lines``: each record becomes one compact JSON object on its own line (the Glue table's JSON
  SerDe reads one object per line);
- ``arrival_time``: the same, and each object gets ``_arrival_time``, the UTC time (ISO 8601) Kinesis
  received the record, for queries over late events.

A record that is not JSON is handed back as ProcessingFailed: Firehose writes it under the error
prefix instead of the lake.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Callable
from typing import Any


def _as_is(document: Any, record: dict[str, Any]) -> Any:
    return document


def _with_arrival_time(document: Any, record: dict[str, Any]) -> Any:
    if not isinstance(document, dict):
        return document
    arrived = dt.datetime.fromtimestamp(record["approximateArrivalTimestamp"] / 1000, dt.timezone.utc)
    return {**document, "_arrival_time": arrived.isoformat()}


TEMPLATES: dict[str, Callable[[Any, dict[str, Any]], Any]] = {"json_lines": _as_is, "arrival_time": _with_arrival_time}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    transform = TEMPLATES[os.environ.get("DATAHUB_TRANSFORM", "json_lines")]
    out = []
    for record in event["records"]:
        try:
            document = json.loads(base64.b64decode(record["data"]))
        except ValueError:
            out.append({"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]})
            continue
        line = json.dumps(transform(document, record), separators=(",", ":")) + "\n"
        out.append({"recordId": record["recordId"], "result": "Ok",
                    "data": base64.b64encode(line.encode()).decode()})
    return {"records": out}
