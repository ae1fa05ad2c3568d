"""Lake Formation tags in the catalog: the full sync reads the effective tags (a database's inherited by
its tables unless they assign the key, column tags) in batches, the dataset page and API show them, the
search index has them as the ``lf_tag`` facet, and stewards assign and remove them in Lake Formation.

AWS is the moto server (``portal.aws_emulator`` teaches it the LF-tag searches and AWS's inheritance).
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from catalog.models import Column, Database, GlueCatalog, SyncRun, Table
from catalog.search.indexer import documents_for
from catalog.services.sync import full_sync
from catalog.tests.test_sync_full import catalog, lake  # noqa: F401 - the sync tests' small lake
from identity.models import AuditEvent
from portal import aws
from portal.testing.personas import PERSONAS, bearer, login_persona, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged(lake: None) -> None:  # noqa: F811
    """domain=finance on finance_prepared (inherited), fx_rates overrides it with treasury; invoices.amount
    carries pii=yes."""
    lf = aws.client("lakeformation")
    lf.create_lf_tag(TagKey="domain", TagValues=["finance", "treasury", "marketing"])
    lf.create_lf_tag(TagKey="pii", TagValues=["yes", "no"])
    lf.add_lf_tags_to_resource(Resource={"Database": {"Name": "finance_prepared"}},
                               LFTags=[{"TagKey": "domain", "TagValues": ["finance"]}])
    lf.add_lf_tags_to_resource(Resource={"Table": {"DatabaseName": "finance_prepared", "Name": "fx_rates"}},
                               LFTags=[{"TagKey": "domain", "TagValues": ["treasury"]}])
    lf.add_lf_tags_to_resource(Resource={"TableWithColumns": {"DatabaseName": "finance_prepared", "Name": "invoices",
                                                              "ColumnNames": ["amount"]}},
                               LFTags=[{"TagKey": "pii", "TagValues": ["yes"]}])


def tags_of(name: str) -> dict:
    return Table.objects.get(name=name).lf_tags


def test_the_full_sync_reads_effective_lf_tags(catalog: GlueCatalog, tagged: None) -> None:  # noqa: F811
    run = full_sync(catalog)
    assert run.status == SyncRun.Status.SUCCEEDED, run.warnings
    assert Database.objects.get(name="finance_prepared").lf_tags == {"domain": ["finance"]}
    assert tags_of("invoices") == {"domain": ["finance"]}  # inherited from its database
    assert tags_of("fx_rates") == {"domain": ["treasury"]}  # its own assignment wins
    assert tags_of("revenue") == {}
    assert Column.objects.get(table__name="invoices", name="amount").lf_tags == {"pii": ["yes"]}
    assert Column.objects.get(table__name="invoices", name="invoice_id").lf_tags == {}
    (_, document), = documents_for([Table.objects.get(name="fx_rates").pk])
    assert document["lf_tag"] == ["domain=treasury"]


def test_a_tag_removed_in_lake_formation_is_gone_after_the_next_sync(catalog: GlueCatalog,  # noqa: F811
                                                                     tagged: None) -> None:
    full_sync(catalog)
    aws.client("lakeformation").remove_lf_tags_from_resource(
        Resource={"TableWithColumns": {"DatabaseName": "finance_prepared", "Name": "invoices", "ColumnNames": ["amount"]}},
        LFTags=[{"TagKey": "pii", "TagValues": ["yes"]}])
    full_sync(catalog)
    assert Column.objects.get(table__name="invoices", name="amount").lf_tags == {}


def test_lake_formation_unreachable_is_a_warning_not_a_failed_sync(catalog: GlueCatalog, lake: None,  # noqa: F811
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog.services import lf_tags

    def unreachable(*args: object, **kwargs: object) -> None:
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    monkeypatch.setattr(lf_tags, "read_snapshot", unreachable)
    run = full_sync(catalog)
    assert run.status != SyncRun.Status.FAILED and any("LF-tags not read" in w for w in run.warnings)


def test_the_dataset_page_and_api_show_table_and_column_tags(catalog: GlueCatalog, tagged: None) -> None:  # noqa: F811
    full_sync(catalog)
    client = Client()
    login_persona(client, "finance_consumer")
    html = client.get("/datasets/finance_prepared.invoices").content.decode()
    assert "LF domain=finance" in html and 'data-testid="column-lf-tag">LF pii=yes' in html
    api = APIClient()
    detail = api.get("/api/v1/datasets/finance_prepared.invoices",
                     **bearer(token_for("finance_consumer", PERSONAS["finance_consumer"]))).json()
    assert detail["lf_tags"] == {"domain": ["finance"]}
    assert {c["name"]: c["lf_tags"] for c in detail["columns"]}["amount"] == {"pii": ["yes"]}


def test_a_steward_assigns_and_removes_tags_in_lake_formation(catalog: GlueCatalog, tagged: None) -> None:  # noqa: F811
    full_sync(catalog)
    steward = APIClient()
    steward.credentials(**bearer(token_for("finance_steward", PERSONAS["finance_steward"])))
    url = "/api/v1/datasets/finance_prepared.invoices/lf-tags"
    assigned = steward.post(url, {"assign": {"pii": ["no"]}}, format="json")
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["lf_tags"] == {"domain": ["finance"], "pii": ["no"]}
    lf = aws.client("lakeformation")
    on_table = lf.get_resource_lf_tags(Resource={"Table": {"DatabaseName": "finance_prepared", "Name": "invoices"}})
    assert {t["TagKey"]: t["TagValues"] for t in on_table["LFTagsOnTable"]} == {"pii": ["no"]}
    removed = steward.post(url, {"remove": {"pii": ["no"]}}, format="json")
    assert removed.status_code == 200 and removed.json()["lf_tags"] == {"domain": ["finance"]}
    assert AuditEvent.objects.filter(action="catalog.lf_tags", target="finance_prepared.invoices").count() == 2

    undefined = steward.post(url, {"assign": {"pii": ["maybe"]}}, format="json")
    assert undefined.status_code == 400 and "defines no LF-tag pii with values maybe" in str(undefined.json())
    consumer = APIClient()
    consumer.credentials(**bearer(token_for("finance_consumer", PERSONAS["finance_consumer"])))
    assert consumer.post(url, {"assign": {"pii": ["no"]}}, format="json").status_code == 403


def test_search_filters_and_counts_by_lf_tag(catalog: GlueCatalog, tagged: None, search: str) -> None:  # noqa: F811
    from catalog.search.indexer import ensure_index, index_tables

    full_sync(catalog)
    ensure_index()
    index_tables(list(Table.objects.values_list("pk", flat=True)))
    client = APIClient()
    client.credentials(**bearer(token_for("finance_consumer", PERSONAS["finance_consumer"])))
    body = client.get("/api/v1/search", {"q": "", "lf_tag": "domain=treasury"}).json()
    assert [r["qualified_name"] for r in body["results"]] == ["finance_prepared.fx_rates"]
    everything = client.get("/api/v1/search", {"q": ""}).json()
    assert {f["value"]: f["count"] for f in everything["facets"]["lf_tag"]} == {"domain=finance": 1,
                                                                                 "domain=treasury": 1}
