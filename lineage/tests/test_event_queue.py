"""The intake's queue: events stored by the request, applied in batches by the worker (lineage.event_queue).

A batch must end as the same events applied one by one would: a run's START and COMPLETE, a later
COMPLETE replacing a job's edges, a failed run changing nothing current. A bad event is marked
failed with its reason and never blocks the events after it; appliers running at once apply each
event once. The finance provider posts (etl_bot); the admin reads the graph.
"""

from __future__ import annotations

import threading
import time

import pytest
from celery.signals import before_task_publish
from django.db import connection

from lineage import dispatch, event_queue
from lineage.models import Edge, Event, Job, Run, RunStateChange
from lineage.tests.conftest import apply_queued, post_event, run_event
from identity.roles import Role
from portal.testing.personas import bearer, login_persona, token_for

PG = "postgres://warehouse.example.com:5432"


def _id(n: int) -> str:
    return f"9b0c7d2e-0000-4000-8000-{n:012d}"


def _at(minute: int) -> str:
    return f"2024-07-01T08:{minute:02d}:00Z"


def _post(client, headers, inputs, outputs, *, job: str, run: int, state: str, minute: int, **kwargs) -> int:
    event = run_event([(PG, n) for n in inputs], [(PG, n) for n in outputs], job=job, run_id=_id(run), event_type=state,
                      event_time=_at(minute), **kwargs)
    response = post_event(client, event, apply=False, **headers)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _edges() -> set[tuple[str, str, str]]:
    return set(Edge.objects.values_list("source__name", "target__name", "job__name"))


@pytest.mark.django_db
def test_a_batch_of_several_runs_ends_as_the_events_applied_one_by_one(client):
    headers = bearer(token_for("etl_bot", Role("provider", "finance")))
    # Job "load": run 1 reads on START and writes on COMPLETE (one edge); run 2 reads another
    # table and completes later, replacing the job's edge. Job "copy": a COMPLETE run, then a
    # FAILed one that changes nothing current. Job "slow": START only (a running job shows).
    _post(client, headers, ["s.orders"], [], job="load", run=1, state="START", minute=0)
    _post(client, headers, ["x.pre"], ["x.copy"], job="copy", run=3, state="COMPLETE", minute=1)
    _post(client, headers, [], ["s.daily"], job="load", run=1, state="COMPLETE", minute=2)
    _post(client, headers, ["x.other"], ["x.copy"], job="copy", run=4, state="START", minute=3)
    _post(client, headers, ["s.leads"], ["s.daily"], job="load", run=2, state="START", minute=4)
    _post(client, headers, ["t.in"], ["t.out"], job="slow", run=5, state="START", minute=5)
    _post(client, headers, [], [], job="copy", run=4, state="FAIL", minute=6)
    _post(client, headers, [], ["s.daily"], job="load", run=2, state="COMPLETE", minute=7,
          columns={"total": [(PG, "s.leads", "amount")]})
    assert not Edge.objects.exists() and Event.objects.filter(status="queued").count() == 8

    report = event_queue.apply_pending()

    assert (report.batches, report.applied, report.failed) == (1, 8, 0)
    assert _edges() == {("s.leads", "s.daily", "load"), ("x.pre", "x.copy", "copy"), ("t.in", "t.out", "slow")}
    assert list(Edge.objects.get(job__name="load").columns.values_list("source_column", "target_column")) == [("amount", "total")]
    assert {str(r.run_id): r.state for r in Run.objects.all()} == {
        _id(1): "COMPLETE", _id(2): "COMPLETE", _id(3): "COMPLETE", _id(4): "FAIL", _id(5): "START"}
    assert str(Job.objects.get(name="load").current_run.run_id) == _id(2)
    assert str(Job.objects.get(name="copy").current_run.run_id) == _id(3)
    assert RunStateChange.objects.count() == 8
    assert set(Event.objects.values_list("status", flat=True)) == {"done"}
    assert not Event.objects.filter(applied_at__isnull=True).exists()
    assert event_queue.apply_pending().batches == 0  # nothing left: a re-run is a no-op


@pytest.mark.django_db
def test_a_failing_event_is_marked_with_its_reason_and_the_events_after_it_still_apply(client):
    headers = bearer(token_for("etl_bot", Role("provider", "finance")))
    _post(client, headers, ["a.src"], ["a.mid"], job="first", run=11, state="COMPLETE", minute=0)
    # A valid DatasetEvent (its name within the 1,024 characters allowed) whose column lineage needs
    # a "declared:" job named after it: one name too long for the job's column, found only when applied.
    long_name = "b." + "n" * 1020
    declared = {"eventTime": _at(1), "producer": "https://example.com/test",
                "dataset": {"namespace": PG, "name": long_name, "facets": {"columnLineage": {"fields": {
                    "x": {"inputFields": [{"namespace": PG, "name": "a.src", "field": "x"}]}}}}}}
    response = post_event(client, declared, apply=False, **headers)
    assert response.status_code == 201, response.content
    bad_id = response.json()["id"]
    # An event stored by an intake whose rules were looser then (no producer): invalid when applied.
    stale = Event.objects.create(kind="run", dedupe_key="stale", event_time=_at(2), status="queued", hub="finance",
                                 payload={**run_event([], [(PG, "a.out")], job="stale", run_id=_id(13)), "producer": None})
    _post(client, headers, ["a.mid"], ["a.out"], job="second", run=12, state="COMPLETE", minute=2)

    report = event_queue.apply_pending()

    assert (report.applied, report.failed) == (2, 2)
    failed = Event.objects.get(pk=bad_id)
    assert failed.status == "failed" and "too long" in failed.error
    assert failed.payload["dataset"]["name"] == long_name  # kept verbatim: never lost
    stale.refresh_from_db()
    assert (stale.status, stale.error) == ("failed", "producer: is required")
    assert _edges() == {("a.src", "a.mid", "first"), ("a.mid", "a.out", "second")}
    assert not Job.objects.filter(name__startswith="declared:").exists()  # nothing of them was kept
    assert not Job.objects.filter(name="stale").exists()
    login_persona(client, "admin")
    doc = client.get("/api/v1/lineage/graph", {"node": f"{PG}/a.out", "direction": "upstream", "depth": 2}).json()
    assert {n["name"] for n in doc["nodes"] if n["kind"] == "dataset"} == {"a.src", "a.mid", "a.out"}


@pytest.mark.django_db
def test_the_queue_is_taken_in_batches_oldest_first(client):
    headers = bearer(token_for("etl_bot", Role("provider", "finance")))
    ids = [_post(client, headers, [f"c.in{n}"], ["c.out"], job="many", run=20 + n, state="COMPLETE", minute=n) for n in range(7)]

    first = event_queue.apply_pending(batch_size=3, max_batches=1)

    assert (first.batches, first.applied) == (1, 3)
    assert list(Event.objects.filter(status="done").order_by("id").values_list("id", flat=True)) == ids[:3]
    rest = event_queue.apply_pending(batch_size=3)
    assert (rest.batches, rest.applied) == (2, 4)
    # The latest COMPLETE run is the job's version, however the events were cut into batches.
    assert _edges() == {("c.in6", "c.out", "many")}


@pytest.mark.django_db
def test_the_same_event_again_answers_created_false_while_queued_and_after(client):
    headers = bearer(token_for("etl_bot", Role("provider", "finance")))
    event = run_event([(PG, "d.a")], [(PG, "d.b")], job="again", run_id=_id(30))
    first = post_event(client, event, apply=False, **headers).json()
    queued = post_event(client, event, apply=False, **headers).json()
    apply_queued()
    done = post_event(client, event, **headers).json()
    assert first["created"] is True and first["edges"] == 1
    assert queued == done == {"id": first["id"], "created": False, "edges": 0}
    assert Event.objects.count() == 1 and RunStateChange.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_appliers_apply_each_event_once_and_in_order(client):
    headers = bearer(token_for("etl_bot", Role("provider", "finance")))
    for n in range(12):
        _post(client, headers, [f"e.in{n % 3}"], [f"e.out{n % 4}"], job=f"job{n % 4}", run=40 + n, state="START", minute=n)
        _post(client, headers, [], [], job=f"job{n % 4}", run=40 + n, state="COMPLETE", minute=n + 30)
    reports: list[event_queue.ApplyReport] = []

    def applier() -> None:
        try:
            reports.append(event_queue.apply_pending(batch_size=4))
        finally:
            connection.close()

    threads = [threading.Thread(target=applier) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert sum(r.applied for r in reports) == 24 and sum(r.failed for r in reports) == 0
    assert sum(r.batches for r in reports) == 6  # disjoint batches: each event in exactly one
    assert RunStateChange.objects.count() == 24  # no event applied twice
    assert set(Run.objects.values_list("state", flat=True)) == {"COMPLETE"}
    # Each job's current run is its last one (runs 48-51 complete last), as one applier would leave it.
    assert {j.name: str(j.current_run.run_id) for j in Job.objects.select_related("current_run")} == {
        f"job{k}": _id(48 + k) for k in range(4)}
    assert _edges() == {(f"e.in{(8 + k) % 3}", f"e.out{k}", f"job{k}") for k in range(4)}


@pytest.mark.django_db(transaction=True)
def test_the_worker_applies_a_burst_of_events_with_few_tasks(client, celery_worker, settings, monkeypatch):
    settings.LINEAGE_APPLY_DEBOUNCE_MS = 500
    monkeypatch.setattr(dispatch, "_applier_due_at", 0.0)  # whatever earlier tests in this process asked
    sent: list[str] = []

    def count(sender: str = "", **kwargs: object) -> None:
        if sender == "lineage.tasks.apply_pending_task":
            sent.append(sender)

    before_task_publish.connect(count, weak=False)
    try:
        headers = bearer(token_for("etl_bot", Role("provider", "finance")))
        for n in range(20):
            _post(client, headers, [f"f.in{n}"], [f"f.out{n}"], job=f"burst{n}", run=60 + n, state="COMPLETE", minute=n)
    finally:
        before_task_publish.disconnect(count)
    deadline = time.monotonic() + 60  # a bounded wait for the real worker, not a speed target
    while Event.objects.filter(status="queued").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Event.objects.filter(status="done").count() == 20
    assert Edge.objects.count() == 20
    assert 1 <= len(sent) <= 2  # one task per debounce window, not one per event
