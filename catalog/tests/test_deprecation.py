"""Deprecation: a steward marks a dataset deprecated with a reason, a date and a replacement; search demotes and
labels it, its page and the lineage graph show it, its subscribers and the owners of what is downstream are told.

Who is who: the finance steward curates finance datasets; a consumer may not deprecate; bo subscribes to the old
table; cy owns a table fed by it (lineage), dee owns an unrelated one and hears nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import DatasetOwner
from catalog.search.indexer import index_tables
from catalog.tests.search_support import make_table
from lineage import services as lineage_services
from lineage.naming import glue_identity
from lineage.tests.conftest import fresh_graph, run_event  # noqa: F401 - fresh_graph: autouse
from portal.testing.personas import login_persona, make_user
from workspaces.models import Subscription

pytestmark = pytest.mark.django_db
URL = "/api/v1/datasets/sales_prepared.orders_v1"
GLUE_NS, _ = glue_identity("eu-central-1", "123456789012", "x", "y")


@pytest.fixture
def lake() -> dict[str, Any]:
    # The old cut changed last: it ranks first until it is deprecated.
    old = make_table("sales_prepared.orders_v1", [("order_id", "bigint", "")], description="Orders, first cut.",
                     updated_at=timezone.now(), usage_count=50)
    new = make_table("sales_prepared.orders_v2", [("order_id", "bigint", "")], description="Orders, current cut.")
    report = make_table("sales_semantic.order_report", [("n", "bigint", "")])
    other = make_table("sales_semantic.other", [("n", "bigint", "")])
    Subscription.objects.create(user=make_user("bo"), table=old, dataset=old.qualified_name, protocol="email",
                                endpoint="bo@example.com", topic_arn="arn:aws:sns:eu-central-1:123456789012:t")
    DatasetOwner.objects.create(table=report, kind="technical", user=make_user("cy"))
    DatasetOwner.objects.create(table=other, kind="technical", user=make_user("dee"))
    lineage_services.ingest_event(run_event([(GLUE_NS, "table/sales_prepared/orders_v1")],
                                            [(GLUE_NS, "table/sales_semantic/order_report")], job="report"))
    return {"old": old, "new": new}


def _steward() -> APIClient:
    client = APIClient()
    login_persona(client, "finance_steward")
    return client


def test_a_deprecated_dataset_is_shown_labelled_and_demoted_and_people_are_told(
        lake: dict[str, Any], search: str, django_capture_on_commit_callbacks: Any, client: Any) -> None:
    index_tables([lake["old"].id, lake["new"].id])
    steward = _steward()
    assert [r["name"] for r in steward.get("/api/v1/search", {"q": "orders"}).json()["results"]][0] == "orders_v1"
    with django_capture_on_commit_callbacks(execute=True):
        answer = steward.patch(URL, {"deprecated": True, "deprecation_reason": "Replaced by the v2 cut.",
                                     "deprecation_date": "2027-01-31", "replacement": "sales_prepared.orders_v2"},
                               format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["deprecation"] == {"reason": "Replaced by the v2 cut.", "date": "2027-01-31",
                                            "replacement": "sales_prepared.orders_v2"}
    results = steward.get("/api/v1/search", {"q": "orders"}).json()["results"]
    assert [(r["name"], r["deprecated"]) for r in results] == [("orders_v2", False), ("orders_v1", True)]
    assert sorted(to for m in mail.outbox for to in m.to if "deprecated" in m.subject) == ["bo@example.com",
                                                                                           "cy@example.com"]
    login_persona(client, "finance_steward")
    page = client.get("/datasets/sales_prepared.orders_v1").content.decode()
    assert 'data-testid="deprecation"' in page and 'href="/datasets/sales_prepared.orders_v2"' in page
    assert 'data-testid="deprecated"' in client.get("/search", {"q": "orders"}).content.decode()
    graph = steward.get("/api/v1/lineage/graph", {"dataset": "sales_semantic.order_report", "direction": "upstream"}).json()
    flags = {n["qualified_name"]: n.get("deprecated", False) for n in graph["nodes"] if n["kind"] == "dataset"}
    assert flags == {"sales_prepared.orders_v1": True, "sales_semantic.order_report": False}


@pytest.mark.parametrize("body, field", [
    ({"deprecated": True}, "deprecation_reason"),
    ({"deprecated": True, "deprecation_reason": "old", "replacement": "sales_prepared.nope"}, "replacement"),
    ({"deprecated": True, "deprecation_reason": "old", "replacement": "sales_prepared.orders_v1"}, "replacement"),
    ({"deprecation_date": "not a date"}, "deprecation_date"),
])
def test_a_deprecation_without_a_reason_or_with_a_bad_replacement_is_a_400(lake: dict[str, Any], body: dict[str, Any],
                                                                            field: str) -> None:
    answer = _steward().patch(URL, body, format="json")
    assert answer.status_code == 400 and field in str(answer.json()), answer.content


def test_consumers_may_not_deprecate(lake: dict[str, Any]) -> None:
    client = APIClient()
    login_persona(client, "finance_consumer")
    assert client.patch(URL, {"deprecated": True, "deprecation_reason": "x"}, format="json").status_code == 403
