"""The OpenAPI schema tells the truth: auth, every status an operation answers, bodies, nullable fields.

Read as a client reads it (GET /api/v1/schema as JSON) and checked against the API's own routes.
schemathesis then drives the live server with it (tests/test_schemathesis.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = Client().get("/api/v1/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()
            if method in METHODS]


def test_bearer_tokens_are_declared_and_required_with_the_session_as_alternative(schema: dict[str, Any]) -> None:
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": "A personal access token bound to one role (create one on /tokens/)."}
    for path, method, op in operations(schema):
        assert {"bearerAuth": []} in op["security"], (path, method)


def test_every_operation_lists_the_errors_the_shared_plumbing_answers(schema: dict[str, Any]) -> None:
    for path, method, op in operations(schema):
        codes = set(op["responses"])
        assert {"400", "401", "403", "429", "503"} <= codes, (path, method, codes)
        assert any(c.startswith("2") for c in codes), (path, method)
        if method in ("post", "put", "patch"):
            assert {"413", "415"} <= codes, (path, method)
        if "{" in path:
            assert "404" in codes, (path, method)
        assert op["responses"]["401"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"}
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]


def body_schema(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in body:
        return schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    return body


def test_pipelines_tokens_and_lineage_document_their_request_bodies(schema: dict[str, Any]) -> None:
    spec = body_schema(schema, "/api/v1/pipelines", "post")
    assert {"name", "hub", "source", "target"} <= set(spec["required"])
    change = body_schema(schema, "/api/v1/pipelines/{id}", "patch")
    assert set(change["properties"]) == {"schedule", "status"}
    token = body_schema(schema, "/api/v1/tokens", "post")
    assert set(token["properties"]) == {"name", "role", "days", "scopes"} and "name" in token["required"]
    assert body_schema(schema, "/api/v1/lineage", "post")["type"] == "object"
    created = schema["paths"]["/api/v1/tokens"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert "token" in schema["components"]["schemas"][created["$ref"].rsplit("/", 1)[1]]["properties"]


def test_fields_that_can_be_null_say_so(schema: dict[str, Any]) -> None:
    run = schema["components"]["schemas"]["SyncRun"]["properties"]
    assert "null" in run["seconds"]["type"] and "null" in run["finished_at"]["type"]


def test_operation_ids_are_unique(schema: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(schema)]
    assert len(ids) == len(set(ids))


def test_pipeline_create_documents_why_it_refuses(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/api/v1/pipelines"]["post"]["responses"]
    assert {"201", "400", "403", "409", "413", "429", "503"} <= set(responses)
    assert "secret" in responses["403"]["description"] and "audited" in responses["403"]["description"]
    assert "INGESTION_TEST_CONNECTION_PER_MINUTE" in responses["429"]["description"]
    assert "refused" in responses["400"]["description"]
