"""The Marquez read API (/marquez/api/v1/): answers checked against the events posted, Marquez's
OpenAPI schemas, the role filter, 405 for Marquez's writes and 404 in Marquez's error shape.

Personas and the lake: see ``lineage.tests.marquez_lake`` (finance roles must not see marketing's job
and dataset; admins see everything).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest

from lineage.tests.conftest import apply_queued
from lineage.tests.marquez_lake import (
    CAMPAIGNS, CRM_NS, CUSTOMERS, FINANCE_JOB, FINANCE_RUN, GLUE_NS, JOB_NS, LAKE_NS, MARKETING_JOB, MARKETING_RUN, MKT_NS,
    ORDERS, REVENUE, _event, build_lake, validate,
)
from portal.testing.personas import PERSONAS, bearer, token_for

BASE = "/marquez/api/v1"


def q(text: str) -> str:
    return quote(text, safe="")


@pytest.fixture
def lake(client: Any, db: Any) -> None:
    build_lake(client)


@pytest.fixture
def as_finance(client: Any, lake: None) -> Any:
    headers = bearer(token_for("finance_consumer", PERSONAS["finance_consumer"]))
    return lambda path, **params: client.get(BASE + path, params, **headers)


@pytest.fixture
def as_admin(client: Any, lake: None) -> Any:
    headers = bearer(token_for("admin", PERSONAS["admin"]))
    return lambda path, **params: client.get(BASE + path, params, **headers)


def ok(response: Any, schema: str) -> Any:
    assert response.status_code == 200, response.content[:500]
    return validate(response.json(), schema)


def test_the_validator_refuses_an_answer_that_breaks_the_schema():
    with pytest.raises(jsonschema.ValidationError):
        validate({"namespaces": [{"name": "x", "createdAt": "yesterday"}]}, "NamespaceList")
    with pytest.raises(jsonschema.ValidationError):
        validate({"graph": [{"id": "dataset:a:b", "type": "DATASET", "data": {"type": "TABLE"}}]}, "LineageGraph")


def test_namespaces_list_what_the_role_may_see(as_finance, as_admin):
    finance = [n["name"] for n in ok(as_finance("/namespaces"), "NamespaceList")["namespaces"]]
    assert finance == sorted([JOB_NS, CRM_NS, GLUE_NS, LAKE_NS])
    admin = [n["name"] for n in ok(as_admin("/namespaces"), "NamespaceList")["namespaces"]]
    assert MKT_NS in admin
    assert ok(as_finance(f"/namespaces/{q(LAKE_NS)}"), "Namespace")["name"] == LAKE_NS
    hidden = as_finance(f"/namespaces/{q(MKT_NS)}")
    assert hidden.status_code == 404 and hidden.json()["code"] == 404 and hidden.json()["message"]


def test_datasets_carry_schema_facets_and_catalog_facts(as_finance):
    lake = ok(as_finance(f"/namespaces/{q(LAKE_NS)}/datasets"), "DatasetList")
    assert lake["totalCount"] == 1
    revenue = lake["datasets"][0]
    assert revenue["id"] == {"namespace": LAKE_NS, "name": REVENUE}
    assert [(f["name"], f["type"]) for f in revenue["fields"]] == [("day", "date"), ("total", "double")]
    assert revenue["facets"]["schema"]["fields"][1]["name"] == "total"
    assert revenue["currentVersion"]
    orders = ok(as_finance(f"/namespaces/{q(GLUE_NS)}/datasets/{q(ORDERS)}"), "Dataset")
    assert [f["name"] for f in orders["fields"]] == ["id", "amount"]
    assert orders["description"] == "Every order, one row each."
    assert orders["tags"] == ["gold"]
    assert orders["facets"]["ownership"]["owners"] == [{"name": "sales-team", "type": "OWNER"}]
    assert "currentVersion" not in orders  # never written by a run


def test_dataset_versions_name_the_run_that_wrote_them(as_finance):
    versions = ok(as_finance(f"/namespaces/{q(LAKE_NS)}/datasets/{q(REVENUE)}/versions"), "DatasetVersionList")
    assert versions["totalCount"] == 1
    version = versions["versions"][0]
    assert version["createdByRun"]["id"] == FINANCE_RUN
    assert [f["name"] for f in version["fields"]] == ["day", "total"]
    one = ok(as_finance(f"/namespaces/{q(LAKE_NS)}/datasets/{q(REVENUE)}/versions/{version['version']}"), "DatasetVersion")
    assert one["version"] == version["version"]
    missing = as_finance(f"/namespaces/{q(LAKE_NS)}/datasets/{q(REVENUE)}/versions/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["code"] == 404


def test_jobs_runs_and_versions_join_the_events_of_a_run(as_finance, as_admin):
    jobs = ok(as_finance(f"/namespaces/{JOB_NS}/jobs"), "JobList")
    assert jobs["totalCount"] == 1 and [j["name"] for j in jobs["jobs"]] == [FINANCE_JOB]
    assert ok(as_admin(f"/namespaces/{JOB_NS}/jobs"), "JobList")["totalCount"] == 2
    assert ok(as_finance("/jobs"), "JobList")["totalCount"] == 1
    job = ok(as_finance(f"/namespaces/{JOB_NS}/jobs/{q(FINANCE_JOB)}"), "Job")
    # Inputs came on START, outputs on COMPLETE: one run, joined.
    assert sorted(d["name"] for d in job["inputs"]) == [CUSTOMERS, ORDERS]
    assert job["outputs"] == [{"namespace": LAKE_NS, "name": REVENUE}]
    assert job["latestRun"]["state"] == "COMPLETED" and job["latestRun"]["id"] == FINANCE_RUN
    assert job["facets"]["sql"]["query"] == f"-- {FINANCE_JOB}"
    runs = ok(as_finance(f"/namespaces/{JOB_NS}/jobs/{q(FINANCE_JOB)}/runs"), "RunList")
    assert [r["id"] for r in runs["runs"]] == [FINANCE_RUN]
    run = ok(as_finance(f"/jobs/runs/{FINANCE_RUN}"), "Run")
    assert run["durationMs"] == 300_000 and run["nominalStartTime"] == "2024-05-01T00:00:00Z"
    assert [d["datasetVersionId"]["name"] for d in run["outputDatasetVersions"]] == [REVENUE]
    assert run["jobVersion"]["version"] == job["currentVersion"]
    versions = ok(as_finance(f"/namespaces/{JOB_NS}/jobs/{q(FINANCE_JOB)}/versions"), "JobVersionList")
    assert [v["version"] for v in versions["versions"]] == [job["currentVersion"]]
    ok(as_finance(f"/namespaces/{JOB_NS}/jobs/{q(FINANCE_JOB)}/versions/{job['currentVersion']}"), "JobVersion")


def test_run_lineage_upstream_names_the_run_that_wrote_each_input_and_follows_it(client, as_finance):
    # A finance report reads revenue/daily after etl.daily_revenue's COMPLETE run wrote it.
    report_run = "0d9f8f1e-0000-4000-8000-000000000021"
    event = _event("COMPLETE", "2024-05-01T12:00:00Z", report_run, "etl.revenue_report", [{"namespace": LAKE_NS, "name": REVENUE}],
                   [{"namespace": LAKE_NS, "name": "reports/revenue"}])
    provider = bearer(token_for("finance_bot", PERSONAS["finance_provider"]))
    assert client.post(BASE + "/lineage", data=json.dumps(event), content_type="application/json", **provider).status_code == 201
    apply_queued()

    body = ok(as_finance("/runlineage/upstream", runId=report_run), "UpstreamRunLineage")

    assert [(r["job"]["name"], r["run"]["id"], r["run"]["status"]) for r in body["runs"]] == [
        ("etl.revenue_report", report_run, "COMPLETED"), (FINANCE_JOB, FINANCE_RUN, "COMPLETED")]
    revenue = ok(as_finance(f"/namespaces/{q(LAKE_NS)}/datasets/{q(REVENUE)}"), "Dataset")
    assert body["runs"][0]["inputs"] == [{"namespace": LAKE_NS, "name": REVENUE, "version": revenue["currentVersion"],
                                          "producedByRunId": FINANCE_RUN}]
    # The finance run's own inputs were written by no run the portal knows: no producer named.
    assert sorted((i["name"], "producedByRunId" in i) for i in body["runs"][1]["inputs"]) == [(CUSTOMERS, False), (ORDERS, False)]
    assert body["runs"][1]["job"]["version"] == ok(as_finance(f"/namespaces/{JOB_NS}/jobs/{q(FINANCE_JOB)}"), "Job")["currentVersion"]
    assert [r["run"]["id"] for r in ok(as_finance("/runlineage/upstream", runId=report_run, depth=0), "UpstreamRunLineage")["runs"]] == [report_run]
    assert as_finance("/runlineage/upstream").status_code == 400
    assert as_finance("/runlineage/upstream", runId="0d9f8f1e-0000-4000-8000-00000000dead").status_code == 404
    # Marketing may not see finance's jobs: their runs are unknown to it.
    marketing = bearer(token_for("marketing_consumer", PERSONAS["marketing_consumer"]))
    assert client.get(BASE + "/runlineage/upstream", {"runId": report_run}, **marketing).status_code == 404


def test_run_facets_answer_run_or_job_facets(as_finance):
    run = ok(as_finance(f"/jobs/runs/{FINANCE_RUN}/facets", type="run"), "FacetsResult")
    assert run["runId"] == FINANCE_RUN and "nominalTime" in run["facets"]
    job = ok(as_finance(f"/jobs/runs/{FINANCE_RUN}/facets", type="job"), "FacetsResult")
    assert job["facets"]["sql"]["query"] == f"-- {FINANCE_JOB}"
    assert as_finance(f"/jobs/runs/{FINANCE_RUN}/facets", type="dataset").status_code == 400
    assert ok(as_finance(f"/runs/{FINANCE_RUN}"), "Run")["id"] == FINANCE_RUN


def test_another_hubs_job_and_run_are_unknown(as_finance):
    for path in (f"/namespaces/{JOB_NS}/jobs/{q(MARKETING_JOB)}", f"/jobs/runs/{MARKETING_RUN}",
                 f"/namespaces/{q(MKT_NS)}/datasets/{q(CAMPAIGNS)}", f"/namespaces/{JOB_NS}/jobs/nothing",
                 f"/namespaces/{q(LAKE_NS)}/datasets/nothing"):
        response = as_finance(path)
        assert response.status_code == 404, path
        assert set(response.json()) == {"code", "message"}
    # Hidden answers exactly as unknown: the message only echoes the name asked.
    assert as_finance(f"/namespaces/{JOB_NS}/jobs/{q(MARKETING_JOB)}").json()["message"].replace(MARKETING_JOB, "x") == \
        as_finance(f"/namespaces/{JOB_NS}/jobs/x").json()["message"]


def test_lineage_by_node_id_hides_other_hubs_nodes_without_names(as_finance, as_admin):
    graph = ok(as_finance("/lineage", nodeId=f"dataset:{GLUE_NS}:{ORDERS}", depth=2), "LineageGraph")["graph"]
    ids = {n["id"] for n in graph}
    assert {f"dataset:{GLUE_NS}:{ORDERS}", f"job:{JOB_NS}:{FINANCE_JOB}", f"dataset:{LAKE_NS}:{REVENUE}"} <= ids
    hidden = [n for n in graph if n["data"].get("hidden")]
    assert len(hidden) == 2 and {n["type"] for n in hidden} == {"DATASET", "JOB"}
    text = repr(graph)
    assert MARKETING_JOB not in text and CAMPAIGNS not in text and MKT_NS not in text
    job = next(n for n in graph if n["id"] == f"job:{JOB_NS}:{FINANCE_JOB}")
    assert {e["destination"] for e in job["outEdges"]} == {f"dataset:{LAKE_NS}:{REVENUE}"}
    assert f"dataset:{GLUE_NS}:{ORDERS}" in {e["origin"] for e in job["inEdges"]}
    admin = {n["id"] for n in ok(as_admin("/lineage", nodeId=f"dataset:{GLUE_NS}:{ORDERS}"), "LineageGraph")["graph"]}
    assert f"job:{JOB_NS}:{MARKETING_JOB}" in admin and f"dataset:{MKT_NS}:{CAMPAIGNS}" in admin
    by_job = {n["id"] for n in ok(as_finance("/lineage", nodeId=f"job:{JOB_NS}:{FINANCE_JOB}", depth=1), "LineageGraph")["graph"]}
    assert f"dataset:{CRM_NS}:{CUSTOMERS}" in by_job
    assert as_finance("/lineage", nodeId=f"job:{JOB_NS}:{MARKETING_JOB}").status_code == 404
    assert as_finance("/lineage", nodeId="table:x").status_code == 400


def test_column_lineage_has_direct_and_indirect_inputs(as_finance):
    graph = ok(as_finance("/column-lineage", nodeId=f"dataset:{LAKE_NS}:{REVENUE}", depth=5), "LineageGraph")["graph"]
    total = next(n for n in graph if n["id"] == f"datasetField:{LAKE_NS}:{REVENUE}:total")
    inputs = {(i["dataset"], i["field"], i["transformationType"]) for i in total["data"]["inputFields"]}
    assert inputs == {(ORDERS, "amount", "DIRECT"), (CUSTOMERS, "region", "INDIRECT")}
    field = ok(as_finance("/column-lineage", nodeId=f"datasetField:{GLUE_NS}:{ORDERS}:amount", withDownstream="true"), "LineageGraph")["graph"]
    assert f"datasetField:{LAKE_NS}:{REVENUE}:total" in {n["id"] for n in field}
    upstream_only = ok(as_finance("/column-lineage", nodeId=f"datasetField:{GLUE_NS}:{ORDERS}:amount"), "LineageGraph")["graph"]
    assert f"datasetField:{LAKE_NS}:{REVENUE}:total" not in {n["id"] for n in upstream_only}


def test_events_are_listed_with_before_after_and_sort_direction(as_finance, as_admin):
    finance = ok(as_finance("/events/lineage"), "LineageEventList")
    assert finance["totalCount"] == 2  # marketing's event names its hidden job and dataset
    assert [e["eventType"] for e in finance["events"]] == ["COMPLETE", "START"]  # newest first
    assert [e["eventType"] for e in ok(as_finance("/events/lineage", sortDirection="asc"), "LineageEventList")["events"]] == ["START", "COMPLETE"]
    assert ok(as_finance("/events/lineage", before="2024-05-01T10:01:00Z"), "LineageEventList")["totalCount"] == 1
    assert ok(as_finance("/events/lineage", after="2024-05-01T10:01:00Z"), "LineageEventList")["totalCount"] == 1
    paged = ok(as_finance("/events/lineage", limit=1, offset=1), "LineageEventList")
    assert paged["totalCount"] == 2 and paged["events"][0]["eventType"] == "START"
    assert ok(as_admin("/events/lineage"), "LineageEventList")["totalCount"] == 3


def test_search_finds_what_the_role_may_see(as_finance, as_admin):
    found = ok(as_finance("/search", q="revenue"), "SearchResultList")
    assert [(r["type"], r["nodeId"]) for r in found["results"]] == [("JOB", f"job:{JOB_NS}:{FINANCE_JOB}"), ("DATASET", f"dataset:{LAKE_NS}:{REVENUE}")] or \
        {r["nodeId"] for r in found["results"]} == {f"job:{JOB_NS}:{FINANCE_JOB}", f"dataset:{LAKE_NS}:{REVENUE}"}
    assert found["totalCount"] == 2
    assert ok(as_admin("/search", q="revenue"), "SearchResultList")["totalCount"] == 4
    assert ok(as_finance("/search", q="rev%daily", filter="DATASET"), "SearchResultList")["totalCount"] == 1
    assert ok(as_finance("/search", q="revenue", filter="JOB"), "SearchResultList")["results"][0]["name"] == FINANCE_JOB
    assert as_finance("/search").status_code == 400


def test_tags_and_sources(as_finance):
    assert ok(as_finance("/tags"), "TagList")["tags"] == [{"name": "gold", "description": ""}]
    sources = ok(as_finance("/sources"), "SourceList")["sources"]
    assert {s["name"] for s in sources} == {JOB_NS, CRM_NS, GLUE_NS, LAKE_NS}


@pytest.mark.parametrize("method,path", [
    ("put", f"/namespaces/{JOB_NS}"), ("put", f"/namespaces/{q(LAKE_NS)}/datasets/{q(REVENUE)}"),
    ("put", f"/namespaces/{JOB_NS}/jobs/{q(FINANCE_JOB)}"), ("post", f"/namespaces/{JOB_NS}/jobs/{q(FINANCE_JOB)}/runs"),
    ("post", f"/namespaces/{q(LAKE_NS)}/datasets/{q(REVENUE)}/tags/gold"), ("put", "/tags/gold"),
    ("post", f"/jobs/runs/{FINANCE_RUN}/complete"), ("delete", f"/namespaces/{JOB_NS}/jobs/{q(FINANCE_JOB)}"),
])
def test_marquez_writes_answer_405_pointing_at_the_intake(client, db, method, path):
    response = getattr(client, method)(BASE + path, data={}, content_type="application/json",
                                       **bearer(token_for("admin", PERSONAS["admin"])))
    assert response.status_code == 405
    assert response.json()["code"] == 405 and "/marquez/api/v1/lineage" in response.json()["message"]


def test_anonymous_and_roleless_callers_are_refused(client, db):
    assert client.get(BASE + "/namespaces").status_code == 401
    assert "error" in client.get(BASE + "/namespaces").json()


def test_a_catalog_table_named_by_its_s3_location_and_its_glue_name_is_one_dataset(client, db):
    from lineage.tests.conftest import make_table
    from lineage.tests.marquez_lake import _event

    make_table("raw", "clicks", hub="finance", visibility="public", location="s3://raw-bucket/clicks", columns=[("ts", "timestamp")])
    provider = bearer(token_for("finance_bot", PERSONAS["finance_provider"]))
    for event in (
        _event("COMPLETE", "2024-05-02T10:00:00Z", "0d9f8f1e-0000-4000-8000-000000000011", "load_clicks", [], [{"namespace": "s3://raw-bucket", "name": "clicks"}]),
        _event("COMPLETE", "2024-05-02T11:00:00Z", "0d9f8f1e-0000-4000-8000-000000000012", "use_clicks",
               [{"namespace": GLUE_NS, "name": "table/raw/clicks"}], [{"namespace": LAKE_NS, "name": "sessions"}]),
    ):
        assert client.post(BASE + "/lineage", data=event, content_type="application/json", **provider).status_code == 201
    apply_queued()
    headers = bearer(token_for("finance_consumer", PERSONAS["finance_consumer"]))
    by_s3 = ok(client.get(f"{BASE}/namespaces/{q('s3://raw-bucket')}/datasets/clicks", **headers), "Dataset")
    by_glue = ok(client.get(f"{BASE}/namespaces/{q(GLUE_NS)}/datasets/{q('table/raw/clicks')}", **headers), "Dataset")
    assert by_s3["id"] == {"namespace": "s3://raw-bucket", "name": "clicks"}
    assert by_glue["id"] == {"namespace": GLUE_NS, "name": "table/raw/clicks"}
    assert [f["name"] for f in by_s3["fields"]] == [f["name"] for f in by_glue["fields"]] == ["ts"]  # the catalog's columns
    assert by_s3["currentVersion"] == by_glue["currentVersion"]  # one dataset: the write through its S3 name
    graph = ok(client.get(f"{BASE}/lineage", {"nodeId": f"dataset:{GLUE_NS}:table/raw/clicks"}, **headers), "LineageGraph")["graph"]
    ids = {n["id"] for n in graph}
    # Asked by its Glue name, the node keeps that name (a job without inputs makes no edge: load_clicks is absent).
    assert {f"dataset:{GLUE_NS}:table/raw/clicks", f"job:{JOB_NS}:use_clicks", f"dataset:{LAKE_NS}:sessions"} == ids


def test_node_ids_split_at_every_colon_a_namespace_may_hold():
    from lineage.marquez.graphs import BadNodeId, parse_node_id

    kind, pairs, field = parse_node_id("datasetField:postgres://crm:5432:crm.public.customers:region")
    assert (kind, field) == ("datasetField", "region")
    assert ("postgres://crm:5432", "crm.public.customers") in pairs
    kind, pairs, _ = parse_node_id(f"dataset:{GLUE_NS}:{ORDERS}#0d9f8f1e-0000-4000-8000-000000000001")
    assert (GLUE_NS, ORDERS) in pairs  # the #version suffix is not part of the name
    assert len(parse_node_id("dataset:" + ":".join("a" * 600))[1]) <= 9  # bounded lookups
    for bad in ("table:a:b", "dataset:nocolon", "datasetField:a:b"):
        with pytest.raises(BadNodeId):
            parse_node_id(bad)
