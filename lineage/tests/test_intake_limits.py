"""Intake limits and rights: gzip (and bombs), the trailing slash, content dedupe, session posts,
hub-checked writes, big events through a task, long node names.

Who may write what (lineage.access): the finance provider writes finance jobs, finance-owned or
non-catalog outputs, and reads what it may see; the marketing provider may not touch finance's
hub-only tables, and a refusal looks the same whether the hidden table exists or not.
"""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc

import pytest
from django.test import Client

from lineage import naming
from lineage.models import Dataset, Edge, Event, Job, RunDataset
from lineage.tests.conftest import make_table, post_event, run_event
from portal.testing.personas import login_persona

PG = "postgres://db.example.com:5432"
GLUE = "arn:aws:glue:eu-central-1:123456789012"


def gz(event: dict) -> bytes:
    return gzip.compress(json.dumps(event).encode())


@pytest.mark.django_db
def test_a_gzip_body_is_accepted(client):
    login_persona(client, "finance_provider")
    event = run_event([(PG, "a.b.c")], [(PG, "a.b.d")])
    response = client.post("/api/v1/lineage", data=gz(event), content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 201, response.content
    assert Edge.objects.count() == 1


@pytest.mark.django_db
def test_a_gzip_bomb_stops_at_the_limit_without_being_inflated(client, settings):
    settings.LINEAGE_MAX_EVENT_BYTES = 1_000_000
    login_persona(client, "finance_provider")
    bomb = gzip.compress(b"[" + b" " * 200_000_000 + b"]", compresslevel=9)  # ~200 KB that inflates to 200 MB
    assert len(bomb) < settings.LINEAGE_MAX_EVENT_BYTES
    tracemalloc.start()
    response = client.post("/api/v1/lineage", data=bomb, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 413
    assert "decompression" in response.json()["error"]
    assert peak < 20_000_000  # never inflated whole (200 MB)
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_a_broken_gzip_body_or_unknown_encoding_answers_4xx(client):
    login_persona(client, "finance_provider")
    broken = client.post("/api/v1/lineage", data=b"not gzip", content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert broken.status_code == 400 and broken.json()["detail"]["field"] == "body"
    truncated = client.post("/api/v1/lineage", data=gz(run_event([], [(PG, "a.b.d")]))[:-12], content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert truncated.status_code == 400
    brotli = client.post("/api/v1/lineage", data=b"{}", content_type="application/json", HTTP_CONTENT_ENCODING="br")
    assert brotli.status_code == 415
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_the_trailing_slash_path_accepts_events(client):
    login_persona(client, "finance_provider")
    response = client.post("/api/v1/lineage/", data=json.dumps(run_event([], [(PG, "a.b.d")])), content_type="application/json")
    assert response.status_code == 201


@pytest.mark.django_db
def test_a_different_event_sharing_run_type_and_time_is_stored_too(client):
    login_persona(client, "finance_provider")
    first = run_event([(PG, "a.b.c")], [(PG, "a.b.d")])
    second = run_event([(PG, "a.b.e")], [(PG, "a.b.d")])  # same runId, eventType, eventTime
    assert post_event(client, first).json()["created"] is True
    assert post_event(client, second).json()["created"] is True
    assert post_event(client, second).json()["created"] is False
    assert Event.objects.count() == 2
    # One run: its inputs are the union of both events.
    assert set(RunDataset.objects.filter(direction="in").values_list("dataset__name", flat=True)) == {"a.b.c", "a.b.e"}
    assert set(Edge.objects.values_list("source__name", flat=True)) == {"a.b.c", "a.b.e"}


@pytest.mark.django_db
def test_a_session_authenticated_post_with_its_csrf_token_is_accepted():
    browser = Client(enforce_csrf_checks=True)
    login_persona(browser, "finance_provider")
    browser.get("/")  # the page sets the CSRF cookie, as in a browser
    token = browser.cookies["csrftoken"].value
    body = json.dumps(run_event([], [(PG, "a.b.d")]))
    assert browser.post("/api/v1/lineage", data=body, content_type="application/json").status_code == 403  # no token: CSRF
    response = browser.post("/api/v1/lineage", data=body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content


@pytest.fixture
def hubs(db):
    """finance hub-only table fin.secret, a finance public table fin.public_orders, a marketing table mkt.leads."""
    make_table("fin", "secret", hub="finance", visibility="hub")
    make_table("fin", "public_orders", hub="finance", visibility="public")
    make_table("mkt", "leads", hub="marketing", visibility="hub")


def glue(db: str, table: str) -> tuple[str, str]:
    return GLUE, f"table/{db}/{table}"


def as_marketing_provider(client):
    from identity.roles import Role
    from portal.testing.personas import login_as

    login_as(client, "mkt_provider", Role("provider", "marketing"))


def test_cross_hub_writes_are_refused_alike_whether_the_hidden_table_exists_or_not(client, hubs):
    as_marketing_provider(client)
    refusals = [
        post_event(client, run_event([], [glue("fin", "secret")], job="m1")),            # writes a finance table
        post_event(client, run_event([glue("fin", "secret")], [glue("mkt", "leads")], job="m2")),  # reads a hidden one
        post_event(client, run_event([glue("fin", "no_such_table")], [glue("mkt", "leads")], job="m3")),  # reads nothing, in finance's db
        post_event(client, run_event([], [glue("fin", "public_orders")], job="m4")),    # writes a table it may only read
    ]
    assert [r.status_code for r in refusals] == [403] * 4
    assert len({r.content for r in refusals}) == 1  # one answer: nothing tells a hidden table from a missing one
    assert Event.objects.count() == 0 and Edge.objects.count() == 0 and Job.objects.count() == 0
    # What marketing may do: read a public table, write its own table and JDBC datasets.
    allowed = post_event(client, run_event([glue("fin", "public_orders"), (PG, "x.y.z")], [glue("mkt", "leads"), (PG, "x.y.out")], job="m5"))
    assert allowed.status_code == 201, allowed.content


def test_a_job_of_another_hub_may_not_be_written(client, hubs):
    login_persona(client, "finance_provider")
    assert post_event(client, run_event([], [(PG, "a.b.d")], job="finance_job")).status_code == 201
    as_marketing_provider(client)
    refused = post_event(client, run_event([], [(PG, "a.b.e")], job="finance_job", run_id="0a0a0a0a-0000-4000-8000-000000000001"))
    assert refused.status_code == 403
    assert not Dataset.objects.filter(name="a.b.e").exists()


def test_a_column_lineage_source_counts_as_a_read(client, hubs):
    as_marketing_provider(client)
    event = run_event([], [glue("mkt", "leads")], job="m6", columns={"email": [(*glue("fin", "secret"), "email")]})
    assert post_event(client, event).status_code == 403


def big_event(inputs: int) -> dict:
    return run_event([(PG, f"warehouse.public.t{i:05d}") for i in range(inputs)], [(PG, "warehouse.public.wide")], job="wide")


@pytest.mark.django_db(transaction=True)
def test_an_event_with_10000_inputs_answers_202_and_a_worker_applies_it(client, celery_worker):
    login_persona(client, "finance_provider")
    event = big_event(10_000)
    assert len(json.dumps(event)) > 500_000
    started = time.monotonic()
    response = post_event(client, event)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["created"] is True
    stored = Event.objects.get(pk=body["id"])
    deadline = started + 120  # bounded wait for the real worker thread
    while stored.status == Event.Status.QUEUED and time.monotonic() < deadline:
        time.sleep(0.5)
        stored.refresh_from_db()
    assert stored.status == Event.Status.DONE, stored.error
    assert Edge.objects.filter(target__name="warehouse.public.wide").count() == 10_000
    assert RunDataset.objects.filter(direction="in").count() == 10_000


@pytest.mark.django_db
def test_the_bulk_path_applies_a_big_event_in_a_bounded_number_of_queries(django_assert_max_num_queries):
    from lineage import services

    event = big_event(3_000)
    with django_assert_max_num_queries(120):  # chunks of 1,000 rows, never one query per dataset
        result = services.ingest_event(event, hub="finance")
    assert result.edges == 3_000


@pytest.mark.django_db
def test_a_60_kb_node_name_of_slashes_answers_400_at_once(client):
    login_persona(client, "finance_consumer")
    name = "s3://" + "a/" * 30_000
    tracemalloc.start()
    response = client.get("/api/v1/lineage/graph", {"node": name})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 400
    assert response.json()["detail"]["field"] == "node"
    assert peak < 50_000_000  # the quadratic split held ~1.8 GB of name pieces for this name
    # Under the cap: a name of many slashes is split at a bounded number of places.
    longest = "s3://" + "a/" * (naming.MAX_NODE_CHARS // 2 - 3)
    assert len(naming.split_node(longest)) <= naming.MAX_NAMESPACE_SLASHES
    assert client.get("/api/v1/lineage/graph", {"node": longest}).status_code == 404
    with pytest.raises(ValueError):
        naming.split_node(name)


def test_split_node_finds_namespaces_with_slashes():
    assert ("s3://bucket", "path/to/file") in naming.split_node("s3://bucket/path/to/file")
    assert ("postgres://db:5432", "a.b.c") in naming.split_node("postgres://db:5432/a.b.c")
    assert naming.split_node("no-slash") == []
