"""What each persona must get from the MCP server: the REST API's answer for the same token, and never a
name of another hub's hub-only data. Shared by the HTTP and stdio tests."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.test import APIClient

from agents import tools
from agents.tests.conftest import FINANCE_ONLY, FORBIDDEN_TO, MARKETING_ONLY
from agents.tests.conversation import DATASETS
from portal.testing.personas import PERSONAS, bearer

VISIBLE = {
    "admin": set(DATASETS),
    "finance_steward": {"raw.orders", "sales_semantic.revenue", FINANCE_ONLY},
    "finance_consumer": {"raw.orders", "sales_semantic.revenue", FINANCE_ONLY},
    "finance_provider": {"raw.orders", "sales_semantic.revenue", FINANCE_ONLY},
    "marketing_consumer": {"raw.orders", "sales_semantic.revenue", MARKETING_ONLY},
}
READ_TOOLS = ["get_dataset", "get_impact", "get_lineage", "get_pipeline_runs", "get_schema_history", "list_pipelines",
              "list_workspaces", "preview", "run_query", "search"]


def rest(token: str, path: str, **params: Any) -> tuple[int, Any]:
    response = APIClient().get(path, params, **bearer(token))
    return response.status_code, response.json()


def check_persona(persona: str, token: str, answers: dict[str, Any], pipelines: dict[str, int]) -> None:
    role = PERSONAS[persona]
    visible = VISIBLE[persona]
    assert answers["tools"] == sorted(READ_TOOLS)  # a read token: no write tools offered
    assert set(answers["resources"]) == visible
    assert answers["prompts"] == ["explain_dataset", "what_breaks"]

    # search: the API's results and counts for the same token.
    status, api = rest(token, "/api/v1/search")
    assert status == 200
    assert answers["search:"]["total"] == api["count"] == len(visible)
    assert [r["dataset"] for r in answers["search:"]["results"]] == [r["qualified_name"] for r in api["results"]]
    assert answers["search:"]["complete"] is True
    status, api = rest(token, "/api/v1/search", q="orders", layer=["prepared", "source"])
    assert [r["dataset"] for r in answers["search:orders"]["results"]] == [r["qualified_name"] for r in api["results"]]
    assert answers["search:orders"]["facets"]["hub"] == {f["value"]: f["count"] for f in api["facets"]["hub"]}

    for dataset in DATASETS:
        answer = answers[f"get_dataset:{dataset}"]
        status, api = rest(token, f"/api/v1/datasets/{dataset}")
        if dataset in visible:
            assert status == 200 and answer["dataset"] == dataset
            assert [c["name"] for c in answer["columns"]] == [c["name"] for c in api["columns"]]
            assert (answer["description"], answer["owner"], answer["tags"]) == (api["description"], api["owner"], api["tags"])
            assert answer["access"]["can_curate"] == role.can_curate(api["hub"])
            assert f"columns ({api['column_count']}):" in answers[f"resource:{dataset}"]
            assert answers[f"get_schema_history:{dataset}"]["complete"] is True
        else:
            # Exactly the API's 404, as a protocol error.
            assert status == 404
            assert answer == {"error": tools.NOT_FOUND, "message": api["error"], "data": {"status": 404}}
            assert answers[f"get_schema_history:{dataset}"]["error"] == tools.NOT_FOUND
            assert answers[f"resource:{dataset}"]["error"] == tools.NOT_FOUND

    # lineage: the API's nodes (hidden ones without names) and the hidden counts stated.
    lineage = answers["get_lineage"]
    status, api = rest(token, "/api/v1/lineage/graph", dataset="raw.orders", direction="both", depth=3)
    assert status == 200
    assert {(n["id"], n["hidden"]) for n in lineage["nodes"]} == {(n["id"], n["hidden"]) for n in api["nodes"]}
    assert lineage["total"] == {"nodes": len(api["nodes"]), "edges": len(api["edges"])}
    hidden = 0 if role.is_admin else 1  # the other hub's table and the job writing it
    assert lineage["hidden"] == {"datasets": hidden, "jobs": hidden}
    assert (lineage["truncated"], lineage["complete"]) == (False, True)
    assert answers["get_lineage:column"]["total"]["nodes"] >= 1

    impact = answers["get_impact"]
    status, api = rest(token, "/api/v1/lineage/impact", dataset="raw.orders")
    assert impact["total"] == api["count"] == 3
    assert [(r["id"], r["hidden"], r["distance"]) for r in impact["results"]] == \
        [(r["id"], r["hidden"], r["distance"]) for r in api["results"]]
    assert impact["hidden_on_page"] == hidden and impact["complete"] is True

    # pipelines: providers and admins; the same 403 message as the API for the others.
    status, api = rest(token, "/api/v1/pipelines")
    if status == 200:
        assert [p["name"] for p in answers["list_pipelines"]["results"]] == [p["name"] for p in api["results"]]
        for hub, pk in pipelines.items():
            run_status, runs = rest(token, f"/api/v1/pipelines/{pk}/runs")
            answer = answers[f"get_pipeline_runs:{hub}"]
            if run_status == 200:
                assert [r["id"] for r in answer["results"]] == [r["id"] for r in runs["results"]] and answer["complete"]
            else:
                assert run_status == 404 and answer["error"] == tools.NOT_FOUND
    else:
        assert status == 403
        assert answers["list_pipelines"] == {"error": tools.FORBIDDEN, "message": api["error"], "data": {"status": 403}}
    assert (status == 200) == (role.persona in ("provider", "admin"))

    status, api = rest(token, "/api/v1/workspaces")
    if status == 200:
        assert answers["list_workspaces"]["total"] == api["count"]
    else:
        assert answers["list_workspaces"]["error"] == tools.FORBIDDEN
    assert (status == 200) == (role.persona in ("consumer", "admin"))
    assert "get_impact" in answers["prompt:what_breaks"]

    # Nothing of another hub's hub-only data, anywhere: names, descriptions, counts. Calls that asked for
    # the dataset by name are left out (their "No dataset X." echoes the question; checked as 404s above).
    everything = json.dumps({k: v for k, v in answers.items() if not any(d in k for d in DATASETS[2:])})
    for name, personas in FORBIDDEN_TO.items():
        if persona in personas:
            assert name not in everything, f"{name} leaked to {persona}"
        elif persona == "admin":
            assert name in everything  # the check can fail: the name does show up where it may
