"""The real OpenLineage events under fixtures/openlineage/, made postable (see the README there).

``load_events(filename)`` returns the file's events with what the expected-event
templates leave open filled in deterministically, the rest untouched:
- missing ``producer`` / ``eventTime`` / ``run.runId`` / ``job`` / ``schemaURL``, and dataset
  ``namespace``/``name`` some templates leave to the test (JDBC → ``postgres://postgres:5432``);
- ``{{ any(result) }}`` and ``${json-unit.any-string}`` (a run id where a run id is expected),
  ``{{ is_datetime(result) }}``, ``${json-unit.regex}…`` (a value the pattern matches),
  ``{{ env_var('X') | filter }}`` (fixed values below).
Events of one file keep their order in time (one second apart), and events of one job
share a run id, so START … COMPLETE pairs stay one run.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

FIXTURES = Path(__file__).parent / "fixtures" / "openlineage"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/main/integration (test fixture)"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
BASE_TIME = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
ENV = {
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_ATHENA_OUTPUT_LOCATION": "s3://athena-results-fixture/output/",
    "AWS_ATHENA_SUFFIX": "ci",
    "BIGQUERY_PREFIX": "ci",
}
_JINJA = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_ENV_VAR = re.compile(r"env_var\('([A-Z_]+)'\)")


def event_files() -> list[str]:
    return sorted(p.name for p in FIXTURES.glob("*.json"))


def _jinja(expression: str) -> str:
    value_part, _, filter_part = expression.partition("|")
    value = "".join(ENV.get(name, "x") for name in _ENV_VAR.findall(value_part))
    parts = urlsplit(value)
    if filter_part.strip() == "url_scheme_authority":
        return f"{parts.scheme}://{parts.netloc}"
    if filter_part.strip() == "url_path":
        return parts.path
    return value


def _regex_sample(pattern: str) -> str:
    sample = pattern.replace(".*", "").replace("\\d{1,3}", "10").replace("\\d+", "1").replace("\\.", ".")
    return sample.replace("\\", "")


def _fill_string(value: str, key: str, seed: str) -> str:
    if value in ("{{ any(result) }}", "${json-unit.any-string}"):
        return str(uuid.uuid5(uuid.NAMESPACE_URL, seed)) if key == "runId" else "any"
    if value == "{{ is_datetime(result) }}":
        return BASE_TIME.isoformat()
    if value.startswith("${json-unit.regex}"):
        return _regex_sample(value[len("${json-unit.regex}"):])
    return _JINJA.sub(lambda m: _jinja(m.group(1)) if "env_var" in m.group(1) else "any", value)


def _fill(obj: Any, seed: str, key: str = "") -> Any:
    if isinstance(obj, dict):
        # A parent facet's run id must name the parent job's run, the same in every event.
        parent_seed = f"{seed}|{obj.get('job', {}).get('namespace')}|{obj.get('job', {}).get('name')}" if key == "parent" else seed
        return {k: _fill(v, parent_seed if k == "run" else seed, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_fill(v, seed, key) for v in obj]
    if isinstance(obj, str):
        return _fill_string(obj, key, seed)
    return obj


def _fill_identities(event: dict[str, Any], filename: str) -> None:
    """Templates leave some dataset identities open (a JDBC URL, a temp path): name them."""
    namespace = "postgres://postgres:5432" if "JDBC" in filename else "file"
    for key in ("inputs", "outputs"):
        for i, dataset in enumerate(event.get(key) or []):
            dataset.setdefault("namespace", namespace)
            dataset.setdefault("name", f"/tmp/{Path(filename).stem}/{key}{i}")
            lineage = (dataset.get("facets") or {}).get("columnLineage") or {}
            for spec in (lineage.get("fields") or {}).values():
                for item in spec.get("inputFields") or []:
                    item.setdefault("namespace", namespace)


def _complete(event: dict[str, Any], filename: str, index: int) -> dict[str, Any]:
    event = copy.deepcopy(event)
    if "columnLineage" in event and "eventTime" not in event and "job" not in event:
        # A bare ColumnLineageDatasetFacet (spec example): post it as a DatasetEvent.
        event = {"dataset": {"namespace": "snowflake://fixture-account", "name": "PUBLIC.DISCOUNTED_CUSTOMERS", "facets": event}}
    if "eventType" in event and "job" not in event:
        event["job"] = {}
    _fill_identities(event, filename)
    job = event.get("job")
    if isinstance(job, dict):
        job.setdefault("namespace", "fixtures")
        job.setdefault("name", Path(filename).stem)
    if isinstance(event.get("eventTime"), str) and ("{{" in event["eventTime"] or "${" in event["eventTime"]):
        del event["eventTime"]  # keep the file's events in order instead of one fixed time
    job_key = f"{filename}|{(job or {}).get('namespace')}|{(job or {}).get('name')}"
    event = _fill(event, job_key)
    event.setdefault("eventTime", (BASE_TIME + timedelta(seconds=index)).isoformat())
    event.setdefault("producer", PRODUCER)
    event.setdefault("schemaURL", SCHEMA_URL)
    if "job" in event and ("eventType" in event or "run" in event):
        run = event.setdefault("run", {})
        run.setdefault("runId", str(uuid.uuid5(uuid.NAMESPACE_URL, job_key)))
    return event


def load_events(filename: str) -> list[dict[str, Any]]:
    data = json.loads((FIXTURES / filename).read_text())
    events = data if isinstance(data, list) else [data]
    return [_complete(event, filename, i) for i, event in enumerate(events)]
