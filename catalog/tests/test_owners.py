"""Owners are portal users or teams with a kind, validated, shown with contact links, told of changes to what they
own, and a search facet (people by username, teams as team:<name>).

Who is who: the finance steward names owners of finance datasets; ana (a user) and the team finance-analysts
(a group with bo as member) own them.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from rest_framework.test import APIClient

from catalog.models import CurationChange, DatasetOwner
from catalog.search.indexer import index_tables
from catalog.tests.search_support import make_table
from portal.testing.personas import login_persona, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/datasets/sales_prepared.orders"


@pytest.fixture
def orders() -> Any:
    make_user("ana")
    Group.objects.create(name="finance-analysts").user_set.add(make_user("bo"))
    return make_table("sales_prepared.orders", [("order_id", "bigint", ""), ("email", "string", "")], hub="finance")


def _steward() -> APIClient:
    client = APIClient()
    login_persona(client, "finance_steward")
    return client


def test_owners_are_users_or_teams_with_a_kind_and_contact_links(orders: Any, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        answer = _steward().patch(URL, {"owners": [{"kind": "technical", "user": "ana"},
                                                   {"kind": "business", "team": "finance-analysts"},
                                                   {"kind": "steward", "user": "ana@example.com"}]}, format="json")
    assert answer.status_code == 200, answer.content
    owners = {(o["kind"], o["name"]): o for o in answer.json()["owners"]}
    assert set(owners) == {("technical", "ana"), ("business", "team:finance-analysts"), ("steward", "ana")}
    assert owners[("business", "team:finance-analysts")]["contact"] == ["mailto:bo@example.com"]
    assert owners[("technical", "ana")]["mailto"] == "mailto:ana@example.com"
    assert CurationChange.objects.get(field="owners").new_value == [
        "business:team:finance-analysts", "steward:ana", "technical:ana"]


@pytest.mark.parametrize("body, message", [
    ({"owners": [{"kind": "technical", "user": "nobody-here"}]}, "No portal user"),
    ({"owners": [{"kind": "technical", "team": "no-such-team"}]}, "No team"),
    ({"owners": [{"kind": "technical", "user": "ana", "team": "finance-analysts"}]}, "either a user or a team"),
    ({"owners": [{"kind": "janitor", "user": "ana"}]}, "janitor"),
    ({"owner": "someone in sales"}, "neither an e-mail address"),
])
def test_owners_that_name_nobody_are_refused(orders: Any, body: dict[str, Any], message: str) -> None:
    answer = _steward().patch(URL, body, format="json")
    assert answer.status_code == 400 and message in str(answer.json()), answer.content
    assert not DatasetOwner.objects.exists()


def test_a_free_text_owner_may_be_an_address_or_a_user(orders: Any) -> None:
    assert _steward().patch(URL, {"owner": "sales-data@example.com"}, format="json").status_code == 200
    assert _steward().patch(URL, {"owner": "ana"}, format="json").status_code == 200


def test_owners_are_told_when_someone_changes_what_they_own(orders: Any, django_capture_on_commit_callbacks: Any) -> None:
    steward = _steward()
    steward.patch(URL, {"owners": [{"kind": "technical", "user": "ana"}, {"kind": "business", "team": "finance-analysts"}]},
                  format="json")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        steward.patch(f"{URL}/columns/email", {"pii": "email"}, format="json")
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["ana@example.com", "bo@example.com"]
    assert "sales_prepared.orders.email" in mail.outbox[0].body and "finance_steward" in mail.outbox[0].body


def test_search_has_an_owner_facet_by_person_and_team(orders: Any, search: str, django_capture_on_commit_callbacks: Any) -> None:
    other = make_table("sales_prepared.refunds", [("refund_id", "bigint", "")], hub="finance")
    index_tables([orders.id, other.id])
    with django_capture_on_commit_callbacks(execute=True):
        _steward().patch(URL, {"owners": [{"kind": "technical", "user": "ana"},
                                          {"kind": "business", "team": "finance-analysts"}]}, format="json")
    steward = _steward()
    by_team = steward.get("/api/v1/search", {"owned_by": "team:finance-analysts"}).json()
    assert [r["name"] for r in by_team["results"]] == ["orders"]
    assert {"value": "ana", "count": 1} in by_team["facets"]["owned_by"]
    assert steward.get("/api/v1/search", {"owned_by": "ana"}).json()["count"] == 1


def test_the_curation_form_names_owners(orders: Any, client: Any) -> None:
    login_persona(client, "finance_steward")
    saved = client.post("/datasets/sales_prepared.orders", {"owners": "technical:ana, business:team:finance-analysts"})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    page = client.get("/datasets/sales_prepared.orders").content.decode()
    assert 'href="mailto:ana@example.com"' in page and "team finance-analysts" in page
    bad = client.post("/datasets/sales_prepared.orders", {"owners": "technical:ghost"})
    assert bad.status_code == 400 and "No portal user" in bad.content.decode()
