"""marquez-python 0.50.0 (the Marquez project's own client) against the live portal, with a bearer token
(``MarquezClient(url, api_key=...)`` sends ``Authorization: Bearer``): every read method of the
client, each answer checked against the lake the events described (``lineage.tests.marquez_lake``)
and against Marquez's openapi.yml; its writes fail with the portal's 405."""

from __future__ import annotations

import sys
import types
from datetime import timezone

import pytest

try:
    import pytz  # noqa: F401  (requirements.txt pins it; the client imports it undeclared)
except ImportError:  # an environment installed before the pin: the client only reads pytz.utc
    sys.modules["pytz"] = types.SimpleNamespace(utc=timezone.utc)  # type: ignore[assignment]

from marquez_client import MarquezClient, errors  # noqa: E402

from lineage.tests.marquez_lake import (  # noqa: E402
    CAMPAIGNS, CRM_NS, CUSTOMERS, FINANCE_JOB, FINANCE_RUN, GLUE_NS, JOB_NS, LAKE_NS, MKT_NS, ORDERS, REVENUE, build_lake,
    validate,
)
from portal.testing.personas import PERSONAS, token_for  # noqa: E402


@pytest.mark.django_db(transaction=True)
def test_every_read_method_of_marquez_python_answers_what_the_events_said(live_server, client):
    build_lake(client)
    marquez = MarquezClient(f"{live_server.url}/marquez", api_key=token_for("finance_consumer", PERSONAS["finance_consumer"]))

    namespaces = validate(marquez.list_namespaces(), "NamespaceList")["namespaces"]
    assert [n["name"] for n in namespaces] == sorted([JOB_NS, CRM_NS, GLUE_NS, LAKE_NS])  # marketing's hidden
    assert validate(marquez.get_namespace(LAKE_NS), "Namespace")["name"] == LAKE_NS
    with pytest.raises(errors.APIError):
        marquez.get_namespace(MKT_NS)

    sources = validate(marquez.list_sources(), "SourceList")["sources"]
    assert {s["name"] for s in sources} == {JOB_NS, CRM_NS, GLUE_NS, LAKE_NS}
    assert validate(marquez.get_source(CRM_NS), "Source")["connectionUrl"] == CRM_NS

    datasets = validate(marquez.list_datasets(LAKE_NS), "DatasetList")
    assert datasets["totalCount"] == 1 and datasets["datasets"][0]["name"] == REVENUE
    orders = validate(marquez.get_dataset(GLUE_NS, ORDERS), "Dataset")
    assert [f["name"] for f in orders["fields"]] == ["id", "amount"] and orders["tags"] == ["gold"]
    versions = validate(marquez.list_dataset_versions(LAKE_NS, REVENUE), "DatasetVersionList")["versions"]
    assert [v["createdByRun"]["id"] for v in versions] == [FINANCE_RUN]
    version = validate(marquez.get_dataset_version(LAKE_NS, REVENUE, versions[0]["version"]), "DatasetVersion")
    assert [f["name"] for f in version["fields"]] == ["day", "total"]

    jobs = validate(marquez.list_jobs(JOB_NS), "JobList")
    assert jobs["totalCount"] == 1 and jobs["jobs"][0]["name"] == FINANCE_JOB
    job = validate(marquez.get_job(JOB_NS, FINANCE_JOB), "Job")
    assert sorted(d["name"] for d in job["inputs"]) == [CUSTOMERS, ORDERS] and job["outputs"][0]["name"] == REVENUE
    runs = validate(marquez.list_job_runs(JOB_NS, FINANCE_JOB), "RunList")["runs"]
    assert [(r["id"], r["state"]) for r in runs] == [(FINANCE_RUN, "COMPLETED")]
    run = validate(marquez.get_job_run(FINANCE_RUN), "Run")
    assert run["jobVersion"] == {"namespace": JOB_NS, "name": FINANCE_JOB, "version": job["currentVersion"]}

    by_dataset = validate(marquez.get_column_lineage_by_dataset(LAKE_NS, REVENUE), "LineageGraph")["graph"]
    total = next(n for n in by_dataset if n["id"] == f"datasetField:{LAKE_NS}:{REVENUE}:total")
    assert {(i["dataset"], i["field"]) for i in total["data"]["inputFields"]} == {(ORDERS, "amount"), (CUSTOMERS, "region")}
    by_field = validate(marquez.get_column_lineage_by_dataset_field(GLUE_NS, ORDERS, "amount", with_downstream=True), "LineageGraph")["graph"]
    assert f"datasetField:{LAKE_NS}:{REVENUE}:total" in {n["id"] for n in by_field}
    by_job = validate(marquez.get_column_lineage_by_job(JOB_NS, FINANCE_JOB), "LineageGraph")["graph"]
    assert f"datasetField:{LAKE_NS}:{REVENUE}:total" in {n["id"] for n in by_job}

    assert validate(marquez.list_tags(), "TagList")["tags"] == [{"name": "gold", "description": ""}]
    events = validate(marquez.list_events(), "LineageEventList")
    assert events["totalCount"] == 2 and {e["run"]["runId"] for e in events["events"]} == {FINANCE_RUN}
    assert validate(marquez.list_events(namespace=JOB_NS), "LineageEventList")["totalCount"] == 2
    assert CAMPAIGNS not in repr([namespaces, datasets, jobs, events, by_dataset])


@pytest.mark.django_db(transaction=True)
def test_marquez_python_writes_are_refused(live_server):
    marquez = MarquezClient(f"{live_server.url}/marquez", api_key=token_for("admin", PERSONAS["admin"]))
    for write in (lambda: marquez.create_namespace("new", "me"), lambda: marquez.create_tag("PII"),
                  lambda: marquez.tag_dataset(LAKE_NS, REVENUE, "PII")):
        with pytest.raises(errors.APIError) as raised:
            write()
        assert raised.value.__cause__.response.status_code == 405
