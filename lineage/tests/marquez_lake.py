"""A small lake reported through the OpenLineage intake, and Marquez's OpenAPI schemas to check answers.

Who may see what (personas of portal.testing.personas):
- ``sales.orders`` is a public finance catalog table (every role sees it), curated with tag ``gold``;
- finance's job ``airflow/etl.daily_revenue`` reads it and ``postgres://crm:5432 crm.public.customers``
  (START) and writes ``s3://lake revenue/daily`` (COMPLETE) with DIRECT and INDIRECT column lineage:
  finance roles see all of it;
- marketing's job ``airflow/mkt.campaign_revenue`` (same namespace) reads ``sales.orders`` and writes
  ``s3://mkt-lake campaigns/revenue``, owned by marketing: finance roles must not see either, so
  lists, searches and counts leave them out and the lineage of ``sales.orders`` shows them nameless.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from catalog.models import Curation
from lineage.tests.conftest import make_table
from identity.roles import Role
from portal.testing.personas import bearer, token_for

OPENAPI = Path(__file__).resolve().parent / "fixtures" / "marquez" / "openapi.yml"  # Marquez's own: SOURCE.txt
GLUE_NS = "arn:aws:glue:eu-central-1:123456789012"
ORDERS = "table/sales/orders"
CRM_NS, CUSTOMERS = "postgres://crm:5432", "crm.public.customers"
LAKE_NS, REVENUE = "s3://lake", "revenue/daily"
MKT_NS, CAMPAIGNS = "s3://mkt-lake", "campaigns/revenue"
JOB_NS, FINANCE_JOB, MARKETING_JOB = "airflow", "etl.daily_revenue", "mkt.campaign_revenue"
FINANCE_RUN = "0d9f8f1e-0000-4000-8000-000000000001"
MARKETING_RUN = "0d9f8f1e-0000-4000-8000-000000000002"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"
SCHEMA_FACET = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json"


def _event(event_type: str, time: str, run_id: str, job: str, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eventType": event_type, "eventTime": time, "producer": PRODUCER,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": run_id, "facets": {"nominalTime": {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/NominalTimeRunFacet.json",
                                                               "nominalStartTime": "2024-05-01T00:00:00Z"}}},
            "job": {"namespace": JOB_NS, "name": job, "facets": {"sql": {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/SQLJobFacet.json",
                                                                        "query": f"-- {job}"}}},
            "inputs": inputs, "outputs": outputs}


def _revenue_output() -> dict[str, Any]:
    return {"namespace": LAKE_NS, "name": REVENUE, "facets": {
        "schema": {"_producer": PRODUCER, "_schemaURL": SCHEMA_FACET,
                   "fields": [{"name": "day", "type": "date"}, {"name": "total", "type": "double"}]},
        "columnLineage": {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                          "fields": {"total": {"inputFields": [{"namespace": GLUE_NS, "name": ORDERS, "field": "amount",
                                                                "transformations": [{"type": "DIRECT", "subtype": "AGGREGATION"}]}]}},
                          "dataset": [{"namespace": CRM_NS, "name": CUSTOMERS, "field": "region",
                                       "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}]}]},
    }}


def build_lake(client: Any) -> None:
    """Catalog table, curation and both jobs' runs, posted through ``POST /marquez/api/v1/lineage``."""
    orders = make_table("sales", "orders", hub="finance", visibility="public", columns=[("id", "bigint"), ("amount", "double")])
    Curation.objects.create(table=orders, tags=["gold"], description="Every order, one row each.", owner="sales-team")
    finance = bearer(token_for("finance_bot", Role("provider", "finance")))
    marketing = bearer(token_for("marketing_bot", Role("provider", "marketing")))
    posts = [
        (finance, _event("START", "2024-05-01T10:00:00Z", FINANCE_RUN, FINANCE_JOB,
                         [{"namespace": GLUE_NS, "name": ORDERS}, {"namespace": CRM_NS, "name": CUSTOMERS}], [])),
        (finance, _event("COMPLETE", "2024-05-01T10:05:00Z", FINANCE_RUN, FINANCE_JOB, [], [_revenue_output()])),
        (marketing, _event("COMPLETE", "2024-05-01T11:00:00Z", MARKETING_RUN, MARKETING_JOB,
                           [{"namespace": GLUE_NS, "name": ORDERS}], [{"namespace": MKT_NS, "name": CAMPAIGNS}])),
    ]
    for headers, event in posts:
        response = client.post("/marquez/api/v1/lineage", data=json.dumps(event), content_type="application/json", **headers)
        assert response.status_code == 201, response.content


# --- Marquez's OpenAPI schemas ------------------------------------------------------------------

# Where openapi.yml contradicts both Marquez's own answers and its own examples, the checks use
# the answer's real shape; each correction names why. Everything else is validated as written.
CORRECTIONS = {
    # Column lineage answers DATASET_FIELD nodes (openapi.yml's description of getColumnLineage and
    # its nodeId formats say so), which the NodeType enum of openapi.yml does not list.
    "NodeType": {"type": "string", "enum": ["JOB", "DATASET", "DATASET_FIELD"]},
    "ColumnLineageNodeData": {"type": "object", "properties": {
        "namespace": {"type": "string"}, "dataset": {"type": "string"}, "field": {"type": "string"},
        "fieldType": {"type": "string"}, "inputFields": {"type": "array", "items": {"type": "object", "properties": {
            "namespace": {"type": "string"}, "dataset": {"type": "string"}, "field": {"type": "string"},
            "transformationDescription": {"type": "string"}, "transformationType": {"type": "string"}},
            "required": ["namespace", "dataset", "field"]}}}},
    # FacetsResult.facets is written as one facet; Marquez answers a map of facets by name (RunFacets).
    "FacetsResult": {"type": "object", "properties": {"runId": {"type": "string"}, "facets": {"$ref": "#/components/schemas/RunFacets"}}},
}


@functools.cache
def _components() -> dict[str, Any]:
    spec = yaml.safe_load(OPENAPI.read_text())
    components = copy.deepcopy(spec["components"])
    components["schemas"].update(CORRECTIONS)
    mapping = components["schemas"]["GraphNode"]["properties"]["data"]
    mapping["discriminator"]["mapping"]["DATASET_FIELD"] = "#/components/schemas/ColumnLineageNodeData"
    mapping["oneOf"].append({"$ref": "#/components/schemas/ColumnLineageNodeData"})
    # DatasetVersion.tags is written as a string; its own example (and Dataset.tags) is a list.
    components["schemas"]["DatasetVersion"]["properties"]["tags"] = {"type": "array", "items": {"type": "string"}}
    # SearchResult.name and .updatedAt are written with an empty ``type:`` (no instance could pass);
    # their descriptions and examples are a name and an ISO 8601 time.
    search_result = components["schemas"]["SearchResult"]["properties"]
    search_result["name"]["type"] = "string"
    search_result["updatedAt"].update({"type": "string", "format": "date-time"})
    return components


def validate(body: Any, schema: str) -> Any:
    """Raise unless ``body`` is a valid ``#/components/schemas/<schema>`` of openapi.yml ($refs resolved, formats checked)."""
    OAS30Validator({"$ref": f"#/components/schemas/{schema}", "components": _components()},
                   format_checker=oas30_format_checker).validate(body)
    return body
