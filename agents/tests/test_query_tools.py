"""The MCP tools ``preview`` and ``run_query`` through the SDK's client: the small demo lake's real objects in moto
S3 (``queries.testing``), the live server behind ``/mcp``, Celery eager (the real task runs in the server's
thread once the submit commits). Each answer is held to the REST API's answer for the same role."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from agents import tools
from agents.tests.conftest import converse, http_client, stdio_client
from agents.tests.conversation import call
from catalog.demo_lake import LakePlan
from portal.testing.personas import PERSONAS
from queries.models import Query
from queries.testing import mirrored_small_lake
from queries.tests.conftest import client_of, grant_columns

RISK = "finance_prepared.cms_hcc__patient_risk_scores"  # Parquet, finance hub-only


@pytest.fixture
def query_lake(aws_endpoint: str, search: str, transactional_db: None) -> LakePlan:
    """The demo lake in moto, mirrored into a committed catalog (the live server's threads read it)."""
    return mirrored_small_lake()


def mcp_url(live_server: Any) -> str:
    return f"{live_server.url}/mcp"


def test_a_consumer_previews_a_visible_dataset_with_the_apis_rows_and_masked_columns(
        query_lake: LakePlan, tokens: dict[str, str], live_server: Any) -> None:
    grant_columns(PERSONAS["finance_consumer"], "finance_prepared", "cms_hcc__patient_risk_scores",
                  ["person_id", "v24_risk_score"])

    answer = converse(http_client(mcp_url(live_server), tokens["finance_consumer"]),
                      lambda client: call(client, "preview", {"dataset": RISK, "limit": 3}))

    api = client_of("finance_consumer").get(f"/api/v1/datasets/{RISK}/preview?limit=3").json()
    assert {k: answer[k] for k in ("columns", "rows", "masked")} == api
    assert answer["dataset"] == RISK and answer["row_count"] == len(answer["rows"]) == 3
    assert "blended_risk_score" in answer["masked"] and "person_id" not in answer["masked"]
    person, blended = answer["columns"].index("person_id"), answer["columns"].index("blended_risk_score")
    assert all(row[person].startswith("PER") and row[blended] is None for row in answer["rows"])
    assert answer["summary"].startswith(f"preview: {RISK}, 3 rows (masked: ")


def test_a_dataset_the_role_may_not_see_is_the_apis_404_and_bad_limits_its_400(
        query_lake: LakePlan, tokens: dict[str, str], live_server: Any) -> None:
    async def talk(client: Client) -> list[dict[str, Any]]:
        return [await call(client, "preview", {"dataset": RISK}),
                await call(client, "preview", {"dataset": "marketing_semantic.marketing__campaign_summary",
                                               "limit": 100_000}),
                await call(client, "preview", {"dataset": "marketing_semantic.marketing__campaign_summary",
                                               "partition": "no_such_key=1"})]

    hidden, too_many, bad_partition = converse(http_client(mcp_url(live_server), tokens["marketing_consumer"]), talk)

    api = client_of("marketing_consumer").get(f"/api/v1/datasets/{RISK}/preview")
    assert api.status_code == 404
    assert hidden["error"] == tools.NOT_FOUND and hidden["data"] == {"status": 404}
    assert hidden["message"] == api.json()["detail"] and "cms_hcc__patient_risk_scores" in hidden["message"]
    assert (too_many["error"], too_many["message"]) == (tools.INVALID_PARAMS, "limit must be between 1 and 100.")
    assert bad_partition["error"] == tools.INVALID_PARAMS and bad_partition["message"].startswith("partition:")


def test_run_query_answers_the_first_page_of_the_result(query_lake: LakePlan, tokens: dict[str, str],
                                                       live_server: Any, celery_eager: None) -> None:
    sql = f"SELECT count(*) AS n, max(v24_risk_score) AS top FROM {RISK}"

    answer = converse(http_client(mcp_url(live_server), tokens["finance_consumer"]),
                      lambda client: call(client, "run_query", {"sql": sql}))

    assert answer["state"] == "succeeded" and answer["columns"] == ["n", "top"] and answer["rows"][0][0] == 5
    assert answer["next"] is None and answer["complete"] is True and answer["bytes_scanned"] > 0
    query = Query.objects.get(pk=answer["query_id"])  # the API's query, in the token's role
    assert (query.sql, query.role_key, query.user.username) == (sql, PERSONAS["finance_consumer"].key,
                                                                "finance_consumer")
    api = client_of("finance_consumer").get(f"/api/v1/queries/{query.pk}/results").json()
    assert api == {k: answer[k] for k in ("columns", "rows", "next")}
    assert answer["summary"] == f"run_query: query {query.pk} (succeeded), 1 rows (complete)."


def test_a_drop_is_refused_with_the_apis_reason_and_a_failed_query_is_an_error(
        query_lake: LakePlan, tokens: dict[str, str], live_server: Any, celery_eager: None) -> None:
    drop = f"DROP TABLE {RISK}"

    async def talk(client: Client) -> list[dict[str, Any]]:
        return [await call(client, "run_query", {"sql": drop}),
                await call(client, "run_query", {"sql": f"SELECT count(*) FROM {RISK}"})]

    refused, failed = converse(http_client(mcp_url(live_server), tokens["marketing_consumer"]), talk)

    api = client_of("marketing_consumer").post("/api/v1/queries", {"sql": drop}, format="json")
    assert api.status_code == 400
    assert (refused["error"], refused["message"], refused["data"]) == (tools.INVALID_PARAMS, api.json()["error"],
                                                                       {"status": 400})
    assert not Query.objects.filter(sql=drop).exists()
    assert failed["error"] == tools.INVALID_PARAMS
    assert "failed" in failed["message"] and "does not exist or your role may not read it" in failed["message"]


def test_preview_over_stdio_is_the_same_answer(query_lake: LakePlan, tokens: dict[str, str]) -> None:
    answer = converse(stdio_client(tokens["finance_consumer"]),
                      lambda client: call(client, "preview", {"dataset": RISK, "limit": 2}))

    api = client_of("finance_consumer").get(f"/api/v1/datasets/{RISK}/preview?limit=2").json()
    assert {k: answer.get(k) for k in ("columns", "rows", "masked")} == api, answer


def test_a_query_still_queued_after_the_wait_answers_its_id_and_state(query_lake: LakePlan, tokens: dict[str, str],
                                                                      live_server: Any, settings: Any) -> None:
    # No worker runs here: the query stays queued, so the wait ends at the time cap (1 s) and the caller's one
    # running query blocks a second one, with the API's 429 reason.
    settings.QUERY_TIME_LIMIT_SECONDS = 1
    sql = f"SELECT count(*) FROM {RISK}"

    async def talk(client: Client) -> list[dict[str, Any]]:
        return [await call(client, "run_query", {"sql": sql}), await call(client, "run_query", {"sql": sql})]

    pending, second = converse(http_client(mcp_url(live_server), tokens["finance_consumer"]), talk)

    assert pending["state"] == "queued" and pending["complete"] is False and pending["rows"] == []
    assert Query.objects.get(pk=pending["query_id"]).state == "queued"
    assert pending["summary"] == f"run_query: query {pending['query_id']} (queued), 0 rows (not complete)."
    assert (second["error"], second["data"]) == (tools.RATE_LIMITED, {"status": 429})
    assert second["message"].startswith("You already have 1 query running")
