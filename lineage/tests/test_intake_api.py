"""POST /api/v1/lineage: validation, dedupe, size limit, who may post."""

from __future__ import annotations

import json

import pytest

from lineage.models import ColumnEdge, Edge, Event, Job, Run
from lineage.tests.conftest import apply_queued, post_event, run_event
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db

PG = "postgres://db.example.com:5432"


def test_a_valid_run_event_is_stored_with_its_edges_and_answers_201(client):
    login_persona(client, "finance_provider")
    event = run_event([(PG, "shop.public.orders")], [(PG, "shop.public.daily")], columns={"total": [(PG, "shop.public.orders", "amount")]})
    response = post_event(client, event)
    assert response.status_code == 201, response.content
    assert response.json()["edges"] == 1
    edge = Edge.objects.get()
    assert (edge.source.name, edge.target.name, edge.job.name) == ("shop.public.orders", "shop.public.daily", "job")
    assert list(ColumnEdge.objects.values_list("source_column", "target_column")) == [("amount", "total")]


def test_the_same_event_twice_is_stored_once(client):
    login_persona(client, "finance_provider")
    event = run_event([(PG, "a.b.c")], [(PG, "a.b.d")])
    assert post_event(client, event).status_code == 201
    again = post_event(client, event)
    assert again.status_code == 201
    assert again.json()["created"] is False
    assert Event.objects.count() == 1
    assert Run.objects.get().states.count() == 1


def test_same_run_with_another_event_type_is_a_new_event(client):
    login_persona(client, "finance_provider")
    post_event(client, run_event([], [(PG, "a.b.d")], event_type="START"))
    post_event(client, run_event([], [(PG, "a.b.d")], event_type="COMPLETE", event_time="2024-05-01T12:05:00Z"))
    run = Run.objects.get()
    assert [s.state for s in run.states.all()] == ["START", "COMPLETE"]
    assert run.state == "COMPLETE"
    assert Job.objects.get().last_run_state == "COMPLETE"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.pop("eventTime"), "eventTime"),
        (lambda e: e.update(eventTime="yesterday"), "eventTime"),
        (lambda e: e["run"].update(runId="not-a-uuid"), "run.runId"),
        (lambda e: e["job"].pop("name"), "job.name"),
        (lambda e: e.update(eventType="FINISHED"), "eventType"),
        (lambda e: e["outputs"][0].pop("namespace"), "outputs[0].namespace"),
        (lambda e: e.update(inputs="orders"), "inputs"),
        (lambda e: e["outputs"][0].update(name="x" * 1025), "outputs[0].name"),
        (lambda e: e["job"].update(facets={"note": {"text": "nul \u0000 here"}}), "body"),
        (lambda e: e["outputs"][0]["facets"]["columnLineage"]["fields"]["total"]["inputFields"][0].pop("field"),
         "outputs[0].facets.columnLineage.fields.total.inputFields[0].field"),
    ],
)
def test_an_event_breaking_the_spec_answers_400_naming_the_field(client, mutate, field):
    login_persona(client, "finance_provider")
    event = run_event([(PG, "a.b.c")], [(PG, "a.b.d")], columns={"total": [(PG, "a.b.c", "amount")]})
    mutate(event)
    response = post_event(client, event)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"]["field"] == field
    assert field in body["error"]
    assert Event.objects.count() == 0 and Edge.objects.count() == 0


def test_invalid_json_answers_400(client):
    login_persona(client, "finance_provider")
    response = post_event(client, '{"eventType": "START",')
    assert response.status_code == 400
    assert response.json()["detail"]["field"] == "body"


def test_a_list_instead_of_one_event_answers_400(client):
    login_persona(client, "finance_provider")
    response = post_event(client, [run_event([], [])])
    assert response.status_code == 400
    assert response.json()["detail"]["field"] == "body"


def test_an_event_of_5_mb_or_more_answers_413(client):
    login_persona(client, "finance_provider")
    event = run_event([(PG, "a.b.c")], [(PG, "a.b.d")])
    event["job"]["facets"] = {"padding": {"text": "x" * 5_000_000}}
    response = post_event(client, event)
    assert response.status_code == 413
    assert "error" in response.json()
    assert Event.objects.count() == 0


def test_an_event_just_under_the_limit_is_accepted(client):
    login_persona(client, "finance_provider")
    event = run_event([(PG, "a.b.c")], [(PG, "a.b.d")])
    event["job"]["facets"] = {"padding": {"text": "x" * 4_000_000}}
    assert post_event(client, event).status_code == 201


def test_a_consumer_may_not_post(client):
    login_persona(client, "finance_consumer")
    assert post_event(client, run_event([], [])).status_code == 403
    assert Event.objects.count() == 0


def test_an_admin_may_post(client):
    login_persona(client, "admin")
    assert post_event(client, run_event([], [(PG, "a.b.d")])).status_code == 201


def test_anonymous_posts_answer_401(client):
    assert post_event(client, run_event([], [])).status_code == 401


def test_dataset_and_job_events_are_accepted(client):
    login_persona(client, "finance_provider")
    dataset_event = {"eventTime": "2024-05-01T12:00:00Z", "producer": "https://example.com", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
                     "dataset": {"namespace": PG, "name": "a.b.c", "facets": {"schema": {"fields": [{"name": "id", "type": "int"}]}}}}
    job_event = {"eventTime": "2024-05-01T12:00:00Z", "producer": "https://example.com", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
                 "job": {"namespace": "tests", "name": "static"}, "inputs": [{"namespace": PG, "name": "a.b.c"}], "outputs": [{"namespace": PG, "name": "a.b.e"}]}
    assert post_event(client, dataset_event).status_code == 201
    assert post_event(client, job_event).status_code == 201
    assert Edge.objects.get().job.name == "static"
    assert Edge.objects.get().source.schema_fields == [{"name": "id", "type": "int", "description": ""}]


def test_a_utf16_body_is_stored_and_applied(client):
    # json reads UTF-16 (with its byte-order mark); the stored JSON is written from the decoded event.
    login_persona(client, "finance_provider")
    event = run_event([(PG, "u.b.src")], [(PG, "u.b.dst")])
    response = client.post("/api/v1/lineage", data=json.dumps(event).encode("utf-16"), content_type="application/json")
    assert response.status_code == 201, response.content
    apply_queued()
    assert Event.objects.get().payload == event
    assert Edge.objects.filter(source__name="u.b.src", target__name="u.b.dst").exists()


def test_nan_in_a_facet_answers_400_naming_the_body_and_stores_nothing(client):
    login_persona(client, "finance_provider")
    event = run_event([(PG, "n.b.src")], [(PG, "n.b.dst")])
    event["run"]["facets"] = {"custom": {"ratio": float("nan")}}
    response = post_event(client, json.dumps(event))
    assert response.status_code == 400
    assert response.json()["detail"]["field"] == "body"
    assert not Event.objects.exists()
