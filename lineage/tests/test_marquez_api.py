"""The Marquez read API at /marquez/api/v1/, driven by marquez-python 0.50.0 (its own client)
against the live server; every answer is validated against Marquez's OpenAPI description.

Who may see what: the finance provider (etl_bot) runs airflow/crm.load_customers, reading a
Postgres table and writing s3://finance-lake/raw/customers, which is the public catalog table
finance_raw.customers. The marketing provider runs marketing/leads.load, writing its hub-only
table mkt.leads: the finance consumer (analyst) sees the first job and its datasets, never the
second or the marketing table (absent from lists, 404 when asked, not counted).
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from marquez_client import MarquezClient
from marquez_client.errors import APIError
from openapi_schema_validator import OAS30Validator
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from catalog.models import Table
from lineage.marquez.views import WRITE_REFUSED
from lineage.models import Event
from lineage.tests.conftest import make_table
from portal.roles import Role
from portal.testing.personas import token_for

pytestmark = pytest.mark.django_db(transaction=True)

# Marquez's own API description (fixtures/marquez/SOURCE.txt says where from).
SPEC = yaml.safe_load((Path(__file__).parent / "fixtures" / "marquez" / "openapi.yml").read_text())


def _drop_empty_types(node: Any) -> None:
    """openapi.yml leaves some types empty (``type:`` of SearchResult.name and updatedAt): no constraint."""
    if isinstance(node, dict):
        if "type" in node and node["type"] is None:
            del node["type"]
        for value in node.values():
            _drop_empty_types(value)
    elif isinstance(node, list):
        for value in node:
            _drop_empty_types(value)


_drop_empty_types(SPEC)
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"
PG = "postgres://crm.internal:5432"
LAKE = "s3://finance-lake"
GLUE = "arn:aws:glue:eu-central-1:123456789012"
T0 = datetime(2024, 6, 1, 8, 0, tzinfo=timezone.utc)


def valid(schema: str, body: Any) -> Any:
    """``body`` after checking it against ``#/components/schemas/<schema>`` of Marquez's openapi.yml."""
    OAS30Validator({"$ref": f"#/components/schemas/{schema}", "components": SPEC["components"]}).validate(body)
    return body


def emit(live_server: Any, token: str, job: tuple[str, str], inputs: list[InputDataset], outputs: list[OutputDataset],
         endpoint: str = "api/v1/lineage") -> str:
    config = HttpConfig(url=live_server.url, endpoint=endpoint, auth=ApiKeyTokenProvider({"apiKey": token}), retry={"total": 0})
    client = OpenLineageClient(transport=HttpTransport(config))
    run = str(uuid.uuid4())
    for minutes, state in ((0, RunState.START), (5, RunState.COMPLETE)):
        client.emit(RunEvent(eventType=state, eventTime=(T0 + timedelta(minutes=minutes)).isoformat(), run=Run(runId=run),
                             job=Job(namespace=job[0], name=job[1]), producer=PRODUCER, inputs=inputs, outputs=outputs))
    return run


@pytest.fixture
def lake(live_server: Any) -> dict[str, str]:
    make_table("finance_raw", "customers", hub="finance", visibility="public", location=f"{LAKE}/raw/customers/",
               columns=[("id", "bigint"), ("email", "string")])
    make_table("mkt", "leads", hub="marketing", visibility="hub")
    finance = token_for("etl_bot", Role("provider", "finance"))
    run = emit(live_server, finance, ("airflow", "crm.load_customers"), [InputDataset(namespace=PG, name="crm.public.customers")],
               [OutputDataset(namespace=LAKE, name="raw/customers")], endpoint="marquez/api/v1/lineage")
    emit(live_server, token_for("mkt_bot", Role("provider", "marketing")), ("marketing", "leads.load"),
         [InputDataset(namespace=PG, name="crm.public.leads")], [OutputDataset(namespace=GLUE, name="table/mkt/leads")])
    return {"run": run, "analyst": token_for("analyst", Role("consumer", "finance")), "admin": token_for("root", Role("admin"))}


def marquez(live_server: Any, token: str) -> MarquezClient:
    """A client sending ``token``. marquez-python keeps its headers in one module-level dict: the
    last client made decides the token of every client, so make one right before using it."""
    return MarquezClient(url=f"{live_server.url}/marquez", api_key=token)


def test_the_openlineage_intake_is_also_at_marquezs_path(lake):
    assert Event.objects.filter(payload__job__name="crm.load_customers").count() == 2


def test_namespaces_list_only_what_the_role_may_see(live_server, lake):
    names = [n["name"] for n in valid("NamespaceList", marquez(live_server, lake["analyst"]).list_namespaces())["namespaces"]]
    assert names == sorted(["airflow", LAKE, PG])
    everything = [n["name"] for n in valid("NamespaceList", marquez(live_server, lake["admin"]).list_namespaces())["namespaces"]]
    assert everything == sorted(["airflow", GLUE, "marketing", LAKE, PG])
    assert valid("Namespace", marquez(live_server, lake["analyst"]).get_namespace(PG))["name"] == PG
    with pytest.raises(APIError) as refused:
        marquez(live_server, lake["analyst"]).get_namespace("marketing")
    assert refused.value.__cause__.response.status_code == 404


def test_datasets_of_a_namespace_carry_what_the_catalog_knows(live_server, lake):
    client = marquez(live_server, lake["analyst"])
    listed = valid("DatasetList", client.list_datasets(LAKE))
    assert listed["totalCount"] == 1
    dataset = valid("Dataset", listed["datasets"][0])
    assert (dataset["id"], dataset["name"]) == ({"namespace": LAKE, "name": "raw/customers"}, "raw/customers")
    assert [(f["name"], f["type"]) for f in dataset["fields"]] == [("id", "bigint"), ("email", "string")]
    assert dataset["facets"]["catalog"]["name"] == "finance_raw.customers"
    inputs = valid("DatasetList", client.list_datasets(PG))
    # The finance provider's input, and marketing's input (readers never claim it: it has no hub).
    assert [d["name"] for d in inputs["datasets"]] == ["crm.public.customers", "crm.public.leads"]


def test_a_catalog_table_answers_under_any_of_its_names(live_server, lake):
    client = marquez(live_server, lake["analyst"])
    by_glue = valid("Dataset", client.get_dataset(GLUE, "table/finance_raw/customers"))
    assert by_glue["id"] == {"namespace": GLUE, "name": "table/finance_raw/customers"}
    assert [f["name"] for f in by_glue["fields"]] == ["id", "email"]
    assert valid("Dataset", client.get_dataset(LAKE, "raw/customers"))["name"] == "raw/customers"


def test_a_hidden_dataset_is_absent_and_not_counted(live_server, lake):
    client = marquez(live_server, lake["analyst"])
    assert valid("DatasetList", client.list_datasets(GLUE)) == {"datasets": [], "totalCount": 0}
    answer = requests.get(f"{live_server.url}/marquez/api/v1/namespaces/{requests.utils.quote(GLUE, safe='')}/datasets/"
                          f"{requests.utils.quote('table/mkt/leads', safe='')}", headers={"Authorization": f"Bearer {lake['analyst']}"})
    assert answer.status_code == 404
    admin = marquez(live_server, lake["admin"])
    assert valid("DatasetList", admin.list_datasets(GLUE))["totalCount"] == 1


def test_jobs_give_their_current_inputs_outputs_and_runs(live_server, lake):
    client = marquez(live_server, lake["analyst"])
    jobs = valid("JobList", client.list_jobs("airflow"))
    assert jobs["totalCount"] == 1
    job = valid("Job", client.get_job("airflow", "crm.load_customers"))
    assert job == jobs["jobs"][0]
    assert job["inputs"] == [{"namespace": PG, "name": "crm.public.customers"}]
    assert job["outputs"] == [{"namespace": LAKE, "name": "raw/customers"}]
    assert (job["latestRun"]["id"], job["latestRun"]["state"], job["latestRun"]["durationMs"]) == (lake["run"], "COMPLETED", 300_000)
    assert valid("JobList", client.list_jobs("marketing")) == {"jobs": [], "totalCount": 0}
    with pytest.raises(APIError) as refused:
        client.get_job("marketing", "leads.load")
    assert refused.value.__cause__.response.status_code == 404


def test_marquez_writes_answer_405_pointing_at_the_openlineage_intake(live_server, lake):
    headers = {"Authorization": f"Bearer {lake['admin']}"}
    base = f"{live_server.url}/marquez/api/v1"
    for method, path in (("PUT", "/namespaces/airflow"), ("PUT", f"/namespaces/{requests.utils.quote(LAKE, safe='')}/datasets/x"),
                         ("PUT", "/namespaces/airflow/jobs/x"), ("PUT", "/tags/pii"),
                         ("POST", f"/namespaces/{requests.utils.quote(PG, safe='')}/datasets/crm.public.customers/tags/pii")):
        answer = requests.request(method, base + path, json={"ownerName": "me"}, headers=headers)
        assert (answer.status_code, answer.json()["message"]) == (405, WRITE_REFUSED), (method, path)
    assert "/marquez/api/v1/lineage" in WRITE_REFUSED
    with pytest.raises(APIError) as refused:
        marquez(live_server, lake["admin"]).create_namespace("new", "me")
    assert refused.value.__cause__.response.status_code == 405


def test_job_runs_and_a_runs_facets(live_server, lake):
    client = marquez(live_server, lake["analyst"])
    runs = valid("RunList", client.list_job_runs("airflow", "crm.load_customers"))["runs"]
    assert [(r["id"], r["state"]) for r in runs] == [(lake["run"], "COMPLETED")]
    run = valid("Run", client.get_job_run(lake["run"]))
    assert (run["startedAt"], run["endedAt"]) == (T0.isoformat(), (T0 + timedelta(minutes=5)).isoformat())
    facets = requests.get(f"{live_server.url}/marquez/api/v1/jobs/runs/{lake['run']}/facets",
                          headers={"Authorization": f"Bearer {lake['analyst']}"}).json()
    # openapi.yml types FacetsResult.facets as one CustomFacet; Marquez answers the run's map of
    # facets (name → CustomFacet), as here: each entry is checked against CustomFacet.
    assert facets["runId"] == lake["run"] and facets["facets"]
    for facet in facets["facets"].values():
        valid("CustomFacet", facet)
    hidden_run = str(Event.objects.filter(payload__job__name="leads.load").first().run_id)
    with pytest.raises(APIError) as refused:
        client.get_job_run(hidden_run)
    assert refused.value.__cause__.response.status_code == 404


def test_lineage_by_node_id_is_dataset_job_dataset_with_hidden_nodes_nameless(live_server, lake):
    headers = {"Authorization": f"Bearer {lake['analyst']}"}
    base = f"{live_server.url}/marquez/api/v1/lineage"
    # Marketing's job also reads crm.public.leads; from the analyst's side of the graph, nothing of it shows.
    graph = valid("LineageGraph", requests.get(base, {"nodeId": f"dataset:{LAKE}:raw/customers", "depth": 2}, headers=headers).json())
    nodes = {n["id"]: n for n in graph["graph"]}
    job = "job:airflow:crm.load_customers"
    assert set(nodes) == {f"dataset:{PG}:crm.public.customers", job, f"dataset:{LAKE}:raw/customers"}
    assert nodes[job]["inEdges"] == [{"origin": f"dataset:{PG}:crm.public.customers", "destination": job}]
    assert nodes[job]["outEdges"] == [{"origin": job, "destination": f"dataset:{LAKE}:raw/customers"}]
    assert nodes[f"dataset:{LAKE}:raw/customers"]["data"]["facets"]["catalog"]["name"] == "finance_raw.customers"
    # The same dataset by its Glue name, and the job's own node id, give the same graph.
    by_glue = requests.get(base, {"nodeId": f"dataset:{GLUE}:table/finance_raw/customers"}, headers=headers).json()
    assert {n["id"] for n in by_glue["graph"]} == set(nodes)
    assert {n["id"] for n in requests.get(base, {"nodeId": job}, headers=headers).json()["graph"]} == set(nodes)
    # Marketing's input: its job and output are hidden, nameless nodes.
    leads = valid("LineageGraph", requests.get(base, {"nodeId": f"dataset:{PG}:crm.public.leads"}, headers=headers).json())
    hidden = [n for n in leads["graph"] if n["id"].startswith("hidden:")]
    assert len(hidden) == 2 and all("data" not in n for n in hidden)
    assert "leads.load" not in str(leads) and "mkt" not in str(leads)
    assert requests.get(base, {"nodeId": f"dataset:{GLUE}:table/mkt/leads"}, headers=headers).status_code == 404


def test_search_finds_visible_datasets_and_jobs_only(live_server, lake):
    headers = {"Authorization": f"Bearer {lake['analyst']}"}
    base = f"{live_server.url}/marquez/api/v1/search"
    found = valid("SearchResultList", requests.get(base, {"q": "lead"}, headers=headers).json())
    assert [(r["type"], r["name"]) for r in found["results"]] == [("DATASET", "crm.public.leads")]
    assert found["totalCount"] == 1  # marketing's job (leads.load) and table (mkt.leads) are not counted
    jobs = valid("SearchResultList", requests.get(base, {"q": "load", "filter": "job"}, headers=headers).json())
    assert [(r["nodeId"]) for r in jobs["results"]] == ["job:airflow:crm.load_customers"]
    admin = requests.get(base, {"q": "lead"}, headers={"Authorization": f"Bearer {lake['admin']}"}).json()
    assert admin["totalCount"] == 3


def test_events_and_tags_are_those_the_role_may_see(live_server, lake):
    client = marquez(live_server, lake["analyst"])
    listed = valid("LineageEventList", client.list_events())
    assert [(e["job"]["name"], e["eventType"]) for e in listed["events"]] == [("crm.load_customers", "COMPLETE"), ("crm.load_customers", "START")]
    assert listed["totalCount"] == 2  # marketing's two events are not counted
    for event in listed["events"]:
        valid("LineageEvent", event)
    oldest = requests.get(f"{live_server.url}/marquez/api/v1/events/lineage", {"sortDirection": "asc", "limit": 1},
                          headers={"Authorization": f"Bearer {lake['analyst']}"}).json()
    assert [e["eventType"] for e in oldest["events"]] == ["START"]
    assert valid("LineageEventList", marquez(live_server, lake["admin"]).list_events())["totalCount"] == 4
    Table.objects.filter(name="customers").update(classification="internal")
    Table.objects.filter(name="leads").update(classification="confidential")
    assert [t["name"] for t in valid("TagList", marquez(live_server, lake["admin"]).list_tags())["tags"]] == ["CONFIDENTIAL", "INTERNAL"]
    client = marquez(live_server, lake["analyst"])
    assert valid("TagList", client.list_tags())["tags"] == [{"name": "INTERNAL", "description": "Catalog classification: internal"}]
    assert valid("Dataset", client.get_dataset(LAKE, "raw/customers"))["tags"] == ["INTERNAL"]


def test_dataset_versions_are_the_runs_that_wrote_it(live_server, lake):
    client = marquez(live_server, lake["analyst"])
    versions = valid("DatasetVersionList", client.list_dataset_versions(LAKE, "raw/customers"))["versions"]
    assert [v["createdByRun"]["id"] for v in versions] == [lake["run"]]
    version = valid("DatasetVersion", versions[0])
    assert valid("DatasetVersion", client.get_dataset_version(LAKE, "raw/customers", version["version"])) == version
    assert client.list_dataset_versions(PG, "crm.public.customers")["versions"] == []  # read, never written
    with pytest.raises(APIError):
        client.list_dataset_versions(GLUE, "table/mkt/leads")


def _field_graph(body: Any) -> Any:
    """Column lineage: Marquez answers DATASET_FIELD nodes, a type openapi.yml's NodeType does not
    list and whose data it does not describe; the graph's envelope is checked against it with
    that type added."""
    spec = copy.deepcopy(SPEC)
    spec["components"]["schemas"]["NodeType"]["enum"].append("DATASET_FIELD")
    spec["components"]["schemas"]["GraphNode"]["properties"]["data"] = {"type": "object"}
    OAS30Validator({"$ref": "#/components/schemas/LineageGraph", "components": spec["components"]}).validate(body)
    return body


def test_column_lineage_by_dataset_field_and_job_says_direct_and_indirect(live_server, lake):
    fields = column_lineage_dataset.Fields(inputFields=[
        column_lineage_dataset.InputField(namespace=PG, name="c.public.orders", field="amount",
                                          transformations=[column_lineage_dataset.Transformation(type="DIRECT", subtype="AGGREGATION")]),
        column_lineage_dataset.InputField(namespace=PG, name="c.public.orders", field="region",
                                          transformations=[column_lineage_dataset.Transformation(type="INDIRECT", subtype="GROUP_BY")]),
    ])
    facet = column_lineage_dataset.ColumnLineageDatasetFacet(fields={"total": fields}, dataset=[column_lineage_dataset.InputField(
        namespace=PG, name="c.public.orders", field="status", transformations=[column_lineage_dataset.Transformation(type="INDIRECT", subtype="FILTER")])])
    emit(live_server, token_for("etl_bot", Role("provider", "finance")), ("airflow", "orders.totals"),
         [InputDataset(namespace=PG, name="c.public.orders")], [OutputDataset(namespace=PG, name="c.public.totals", facets={"columnLineage": facet})])
    client = marquez(live_server, lake["analyst"])
    graph = _field_graph(client.get_column_lineage_by_dataset(PG, "c.public.totals"))
    nodes = {n["id"]: n for n in graph["graph"]}
    total = f"datasetField:{PG}:c.public.totals:total"
    assert set(nodes) == {total, f"datasetField:{PG}:c.public.orders:amount", f"datasetField:{PG}:c.public.orders:region"}
    assert sorted((f["field"], f["transformationType"], f["transformationDescription"]) for f in nodes[total]["data"]["inputFields"]) == [
        ("amount", "DIRECT", "DIRECT/AGGREGATION"), ("region", "INDIRECT", "INDIRECT/GROUP_BY")]
    by_field = _field_graph(client.get_column_lineage_by_dataset_field(PG, "c.public.orders", "amount", with_downstream=True))
    assert {n["id"] for n in by_field["graph"]} == {total, f"datasetField:{PG}:c.public.orders:amount"}
    by_job = _field_graph(client.get_column_lineage_by_job("airflow", "orders.totals"))
    assert {n["id"] for n in by_job["graph"]} == set(nodes)


def test_sources_are_the_namespaces_of_visible_datasets(live_server, lake):
    client = marquez(live_server, lake["analyst"])
    listed = valid("SourceList", client.list_sources())["sources"]
    assert [(s["name"], s["type"]) for s in listed] == [(PG, "POSTGRESQL"), (LAKE, "S3")]
    assert valid("Source", client.get_source(PG))["connectionUrl"] == PG
    with pytest.raises(APIError):
        client.get_source(GLUE)  # only the hidden marketing table lives there


def test_every_read_method_of_marquez_python_is_called_in_this_file():
    reads = sorted(m for m in dir(MarquezClient) if m.startswith(("list_", "get_")))
    source = Path(__file__).read_text()
    assert [m for m in reads if f".{m}(" not in source] == []
