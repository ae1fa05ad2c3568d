"""Column curation: who may curate a column (UI and API), what the dataset API says of each value's source,
search at once, Glue write-back, and a table's classification raised by its most sensitive column.

Who is who (portal.testing.personas): the finance steward curates finance datasets; a marketing steward
sees the public finance table below but may not curate it; consumers only read.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from catalog.classification import ColumnSensitivity, table_classification
from catalog.models import ColumnCuration, CurationChange
from catalog.search.indexer import index_tables
from catalog.tests.search_support import make_table
from portal import aws
from identity.models import AuditEvent
from identity.roles import Role
from portal.testing.personas import login_as, login_persona

pytestmark = pytest.mark.django_db

COLUMN_URL = "/api/v1/datasets/claims_prepared.members/columns/{}"


@pytest.fixture
def members() -> Any:
    return make_table("claims_prepared.members", [("member_id", "bigint", "Member key"), ("member_name", "string", ""),
                                                  ("zip", "string", "Postal code")],
                      hub="finance", visibility="public", classification="internal")


def _client(persona: str) -> APIClient:
    client = APIClient()
    login_persona(client, persona)
    return client


def _column(client: APIClient, name: str) -> dict[str, Any]:
    detail = client.get("/api/v1/datasets/claims_prepared.members").json()
    return next(c for c in detail["columns"] if c["name"] == name)


def test_a_steward_curates_a_column_and_the_api_says_where_each_value_came_from(
        members: Any, django_capture_on_commit_callbacks: Any) -> None:
    steward = _client("finance_steward")
    with django_capture_on_commit_callbacks(execute=True):
        answer = steward.patch(COLUMN_URL.format("member_name"), {
            "description": "Full name as on the card", "tags": ["Identity", "identity"], "classification": "confidential",
            "pii": "name"}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["description"] == "Full name as on the card"
    column = _column(steward, "member_name")
    assert (column["description"], column["tags"], column["classification"], column["pii"], column["pii_status"]) == (
        "Full name as on the card", ["identity"], "confidential", "name", "confirmed")
    assert column["sources"] == {"description": "steward", "tags": "steward", "classification": "steward", "pii": "steward"}
    untouched = _column(steward, "zip")
    assert (untouched["description"], untouched["sources"], untouched["pii"], untouched["pii_status"]) == (
        "Postal code", {"description": "glue"}, None, None)
    assert set(CurationChange.objects.filter(column="member_name").values_list("field", flat=True)) == {
        "description", "tags", "classification", "pii_kind", "pii_status"}
    audit = AuditEvent.objects.get(action="catalog.curate_column")
    assert audit.target == "claims_prepared.members.member_name" and audit.username == "finance_steward"


def test_pii_null_clears_a_column(members: Any) -> None:
    steward = _client("finance_steward")
    steward.patch(COLUMN_URL.format("zip"), {"pii": "address"}, format="json")
    assert _column(steward, "zip")["pii_status"] == "confirmed"
    steward.patch(COLUMN_URL.format("zip"), {"pii": None}, format="json")
    assert ColumnCuration.objects.get(column="zip").pii_status == "cleared"
    assert (_column(steward, "zip")["pii"], _column(steward, "zip")["pii_status"]) == (None, None)


@pytest.mark.parametrize("persona", ["finance_consumer", "marketing_steward"])
def test_other_roles_may_not_curate_columns(members: Any, persona: str, client: Any) -> None:
    api = APIClient()
    if persona == "marketing_steward":
        login_as(api, "mara", Role("steward", "marketing"))
        login_as(client, "mara", Role("steward", "marketing"))
    else:
        login_persona(api, persona)
        login_persona(client, persona)
    refused = api.patch(COLUMN_URL.format("member_name"), {"description": "mine"}, format="json")
    assert refused.status_code == 403, refused.content
    page = client.post("/datasets/claims_prepared.members/columns/member_name", {"description": "mine"})
    assert page.status_code == 403
    assert not ColumnCuration.objects.exists()


@pytest.mark.parametrize("body, status, field", [
    ({"classification": "secret"}, 400, "classification"),
    ({"pii": "blood-group"}, 400, "pii"),
    ({"tags": ["x" * 65]}, 400, "tags"),
])
def test_bad_column_values_are_a_clear_400(members: Any, body: dict[str, Any], status: int, field: str) -> None:
    answer = _client("finance_steward").patch(COLUMN_URL.format("member_name"), body, format="json")
    assert answer.status_code == status and field in str(answer.json()), answer.content
    assert not CurationChange.objects.exists()


def test_an_unknown_column_is_a_404(members: Any) -> None:
    answer = _client("finance_steward").patch(COLUMN_URL.format("nope"), {"description": "x"}, format="json")
    assert answer.status_code == 404 and "nope" in str(answer.json())


def test_the_schema_tab_form_curates_a_column(members: Any, client: Any, django_capture_on_commit_callbacks: Any) -> None:
    login_persona(client, "finance_steward")
    page = client.get("/datasets/claims_prepared.members/columns/member_name")
    assert page.status_code == 200 and b"member_name" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post("/datasets/claims_prepared.members/columns/member_name",
                            {"description": "Name on the card", "tags": "identity, people", "classification": "",
                             "pii": "name"})
    assert saved.status_code == 302
    dataset = client.get("/datasets/claims_prepared.members")
    assert b"Name on the card" in dataset.content and b'>PII</span> <span data-testid="pii-kind">name<' in dataset.content
    bad = client.post("/datasets/claims_prepared.members/columns/member_name", {"classification": "secret"})
    assert bad.status_code == 400


def test_search_finds_a_table_by_curated_columns_and_filters_by_pii(
        members: Any, search: str, django_capture_on_commit_callbacks: Any) -> None:
    index_tables([members.id])
    steward = _client("finance_steward")
    assert steward.get("/api/v1/search", {"q": "cardholder"}).json()["count"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        steward.patch(COLUMN_URL.format("member_name"), {"description": "Cardholder full name", "tags": ["loyalty"],
                                                         "pii": "name"}, format="json")
    assert [r["name"] for r in steward.get("/api/v1/search", {"q": "cardholder"}).json()["results"]] == ["members"]
    assert steward.get("/api/v1/search", {"q": "loyalty"}).json()["count"] == 1
    by_pii = steward.get("/api/v1/search", {"pii": "confirmed"}).json()
    assert [r["name"] for r in by_pii["results"]] == ["members"]
    assert {"value": "confirmed", "count": 1} in by_pii["facets"]["pii"]
    assert steward.get("/api/v1/search", {"pii": "suspected"}).json()["count"] == 0
    # The PII column raised the table from internal: the index shows what the page shows.
    assert by_pii["results"][0]["classification"] == "confidential"


def test_a_tables_classification_is_never_lower_than_its_most_sensitive_columns() -> None:
    raised = table_classification("internal", [ColumnSensitivity("a", "public", None),
                                                ColumnSensitivity("ssn", "strictly-confidential", None)])
    assert (raised.value, raised.declared) == ("strictly-confidential", "internal")
    assert "ssn" in raised.reason and "internal" in raised.reason
    by_pii = table_classification("public", [ColumnSensitivity("email", "", "suspected")])
    assert (by_pii.value, "suspected PII" in by_pii.reason) == ("confidential", True)
    kept = table_classification("strictly-confidential", [ColumnSensitivity("email", "", "confirmed")])
    assert (kept.value, kept.reason) == ("strictly-confidential", "")


def test_the_page_and_api_say_why_the_classification_was_raised(members: Any, client: Any) -> None:
    steward = _client("finance_steward")
    steward.patch(COLUMN_URL.format("member_id"), {"classification": "strictly-confidential"}, format="json")
    detail = steward.get("/api/v1/datasets/claims_prepared.members").json()
    assert (detail["classification"], detail["declared_classification"]) == ("strictly-confidential", "internal")
    assert "member_id" in detail["classification_reason"]
    login_persona(client, "finance_consumer")
    assert b"Raised from internal to strictly-confidential" in client.get("/datasets/claims_prepared.members").content


def test_write_back_puts_the_column_curation_into_the_glue_column(
        members: Any, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any,
        search: str) -> None:
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": "claims_prepared"})
    glue.create_table(DatabaseName="claims_prepared", TableInput={
        "Name": "members", "Parameters": {"keep": "me"},
        "StorageDescriptor": {"Columns": [{"Name": "member_id", "Type": "bigint", "Comment": "Member key"},
                                          {"Name": "member_name", "Type": "string", "Parameters": {"other": "kept"}}],
                              "Location": "s3://lake/claims/members/"},
    })
    monkeypatch.setattr(settings, "CURATION_WRITE_BACK", True, raising=False)
    with django_capture_on_commit_callbacks(execute=True):
        answer = _client("finance_steward").patch(COLUMN_URL.format("member_name"), {
            "description": "Full name", "tags": ["identity", "people"], "classification": "confidential", "pii": "name",
        }, format="json")
    assert answer.status_code == 200
    table = glue.get_table(DatabaseName="claims_prepared", Name="members")["Table"]
    columns = {c["Name"]: c for c in table["StorageDescriptor"]["Columns"]}
    assert columns["member_name"]["Comment"] == "Full name"
    assert columns["member_name"]["Parameters"] == {"other": "kept", "portal_tags": "identity,people",
                                                    "classification": "confidential", "portal_pii": "name"}
    assert columns["member_id"].get("Comment") == "Member key" and not columns["member_id"].get("Parameters")
    assert table["Parameters"] == {"keep": "me"}
