"""Bounded cost for every request: bad shapes and sizes answer 4xx before any work, never a 500.

Personas: the admin starts syncs; the finance provider creates pipelines; the finance consumer reads
datasets. The time budget is checked with PostgreSQL itself (``pg_sleep`` past a tiny
``statement_timeout``), behind a test-only URL that calls nothing of ours but the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import include, path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient

from catalog.models import GlueCatalog, SyncRun
from catalog.services.sync import ensure_catalogs
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db


def api(persona: str) -> APIClient:
    client = APIClient()
    login_persona(client, persona)
    return client


@pytest.fixture(autouse=True)
def fresh_throttles() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def pipeline_spec(**target: Any) -> dict[str, Any]:
    return {"name": "orders-feed", "hub": "finance",
            "source": {"kind": "postgresql", "host": "127.0.0.1", "port": 5432, "database": "shop", "user": "u",
                       "password": "p", "tables": ["public.orders"]},
            "target": {"database": "finance_orders", "layer": "source", **target}}


def test_json_nested_a_hundred_thousand_deep_answers_400() -> None:
    body = "[" * 100_000 + "]" * 100_000

    response = api("finance_provider").post("/api/v1/pipelines", body, content_type="application/json")

    assert response.status_code == 400
    assert "nested" in response.json()["error"]


def test_json_nested_past_the_limit_but_parseable_answers_400() -> None:
    body = '{"target": ' * 80 + "1" + "}" * 80  # deep enough to refuse, shallow enough for json.loads

    response = api("finance_provider").post("/api/v1/pipelines", body, content_type="application/json")

    assert response.status_code == 400 and "nested more than 64" in response.json()["error"]


def test_a_body_over_the_cap_answers_413_before_it_is_read() -> None:
    with override_settings(REQUEST_MAX_BODY_BYTES=4096):
        response = api("finance_provider").post("/api/v1/pipelines", "x" * 5000, content_type="application/json")

    assert response.status_code == 413
    assert "4096" in response.json()["error"]


def test_a_body_over_the_default_cap_answers_413() -> None:
    from django.conf import settings

    body = b'{"a": "' + b"x" * settings.REQUEST_MAX_BODY_BYTES + b'"}'

    response = api("admin").post("/api/v1/catalog/sync-runs", body, content_type="application/json")

    assert response.status_code == 413


@pytest.mark.parametrize("field", ["owner", "database"])
def test_ten_thousand_character_fields_answer_400_naming_the_field(field: str) -> None:
    response = api("finance_provider").post("/api/v1/pipelines", pipeline_spec(**{field: "o" * 10_000}),
                                            format="json")

    assert response.status_code == 400
    assert f"target.{field}" in response.json()["detail"]


def test_a_ten_thousand_character_source_database_answers_400_naming_it() -> None:
    spec = pipeline_spec()
    spec["source"]["database"] = "d" * 10_000

    response = api("finance_provider").post("/api/v1/pipelines", spec, format="json")

    assert response.status_code == 400 and "source.database" in response.json()["detail"]


def test_a_nul_in_a_dataset_name_answers_400() -> None:
    consumer = api("finance_consumer")

    assert consumer.get("/api/v1/datasets/finance_prepared.inv%00oices").status_code == 400
    assert consumer.get("/api/v1/datasets/finance_prepared.invoices/versions?x=%00").status_code == 400
    assert consumer.get("/datasets/finance_prepared.inv%00oices").status_code == 400


def test_a_nul_inside_a_json_string_answers_400_naming_the_field() -> None:
    response = api("finance_provider").post("/api/v1/pipelines", pipeline_spec(owner="a\x00b"), format="json")

    assert response.status_code == 400 and "target.owner" in response.json()["error"]


def test_a_superscript_digit_catalog_answers_400(aws_endpoint: str) -> None:
    ensure_catalogs()
    admin = api("admin")

    response = admin.post("/api/v1/catalog/sync-runs", {"catalog": "²"}, format="json")

    assert response.status_code == 400 and "catalog" in response.json()["detail"]
    assert admin.get("/api/v1/catalog/sync-runs?catalog=²").status_code == 400
    assert admin.post("/api/v1/catalog/sync-runs", {"catalog": "9" * 30}, format="json").status_code == 400
    assert not SyncRun.objects.exists()


@override_settings(CATALOG_SYNC_START_RATE="2/hour")
def test_sync_starts_are_throttled_per_user_and_role(aws_endpoint: str) -> None:
    catalog: GlueCatalog = ensure_catalogs()[0]
    admin = api("admin")
    answers = []
    for _ in range(4):
        SyncRun.objects.filter(status=SyncRun.Status.RUNNING).update(status=SyncRun.Status.SUCCEEDED)
        answers.append(admin.post("/api/v1/catalog/sync-runs", {"catalog": str(catalog.pk)}, format="json"))

    assert [a.status_code for a in answers] == [202, 202, 429, 429]
    assert "Too many syncs started" in answers[2].json()["error"]
    assert SyncRun.objects.count() == 2
    # The operations page's button shares the limit.
    page = admin.post("/operations/sync", {"catalog": catalog.pk}, HTTP_HX_REQUEST="true")
    assert page.status_code == 200 and "Too many syncs started" in page.content.decode()
    assert SyncRun.objects.count() == 2


# --- The time budget: PostgreSQL cancels the request's statement; the answer is a 503.

def _slow_page(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(3)")
    return HttpResponse("done")


@api_view(["GET"])
@permission_classes([AllowAny])
def _slow_api(request: Request) -> Response:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(3)")
    return Response({"done": True})


urlpatterns = [
    path("slow-page", _slow_page),
    path("api/v1/slow", _slow_api),
    path("", include("portal.urls")),
]


@pytest.fixture
def fresh_connection() -> Iterator[None]:
    # The budget stays on the connection it was set on: later tests get a new one.
    yield
    connection.close()


@pytest.mark.django_db(transaction=True)
@override_settings(ROOT_URLCONF=__name__, REQUEST_TIME_BUDGET_SECONDS=0.3)
def test_a_request_over_its_time_budget_answers_503_not_a_killed_worker(fresh_connection: None) -> None:
    client = APIClient()

    api_answer = client.get("/api/v1/slow")
    page_answer = client.get("/slow-page")

    assert api_answer.status_code == 503 and "time budget (0.3 s)" in api_answer.json()["error"]
    assert api_answer["Retry-After"] == "30"
    assert page_answer.status_code == 503 and "time budget" in page_answer.content.decode()
