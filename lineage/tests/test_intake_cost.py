"""What one small OpenLineage event costs the intake: the SQL queries of a job's next run.

A producer posts every run of the same jobs (START, then COMPLETE); the counts below are those of
a second run, once the job and its datasets exist. A regression here is a regression of the
intake's events/s (bench/lineage_intake.py).
"""

from __future__ import annotations

import pytest

from lineage.models import Edge
from lineage.tests.conftest import post_event, run_event
from identity.roles import Role
from portal.testing.personas import bearer, token_for

pytestmark = pytest.mark.django_db

PG = "postgres://crm.example.com:5432"
LAKE = "s3://finance-lake"
RUNS = ("6f1c2d1e-0000-4000-8000-000000000001", "6f1c2d1e-0000-4000-8000-000000000002")


def _post_run(client, run_id: str, minute: int, headers: dict[str, str]) -> None:
    for state in ("START", "COMPLETE"):
        event = run_event([(PG, "crm.public.customers")], [(LAKE, "raw/customers")], run_id=run_id, event_type=state,
                          event_time=f"2024-05-01T12:{minute:02d}:{0 if state == 'START' else 30:02d}Z")
        assert post_event(client, event, **headers).status_code == 201


def test_a_jobs_next_run_costs_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    headers = bearer(token_for("etl_bot", Role("provider", "finance")))
    _post_run(client, RUNS[0], 1, headers)
    start = run_event([(PG, "crm.public.customers")], [(LAKE, "raw/customers")], run_id=RUNS[1], event_type="START",
                      event_time="2024-05-01T12:02:00Z")
    # START of a new run while a COMPLETE run is current: the job's edges are not re-read.
    with django_assert_max_num_queries(20):
        assert post_event(client, start, **headers).status_code == 201
    complete = {**start, "eventType": "COMPLETE", "eventTime": "2024-05-01T12:02:30Z"}
    with django_assert_max_num_queries(22):
        assert post_event(client, complete, **headers).status_code == 201
    edge = Edge.objects.get()
    assert (edge.source.name, edge.target.name, str(edge.job.current_run.run_id)) == ("crm.public.customers", "raw/customers", RUNS[1])


def test_a_new_runs_start_leaves_the_current_edges_to_the_complete_run(client):
    headers = bearer(token_for("etl_bot", Role("provider", "finance")))
    _post_run(client, RUNS[0], 1, headers)
    # The next run starts reading another table: the graph keeps the COMPLETE run's edge until it completes.
    start = run_event([(PG, "crm.public.leads")], [(LAKE, "raw/customers")], run_id=RUNS[1], event_type="START",
                      event_time="2024-05-01T12:02:00Z")
    assert post_event(client, start, **headers).status_code == 201
    assert [e.source.name for e in Edge.objects.all()] == ["crm.public.customers"]
    complete = {**start, "eventType": "COMPLETE", "eventTime": "2024-05-01T12:02:30Z"}
    assert post_event(client, complete, **headers).status_code == 201
    assert [e.source.name for e in Edge.objects.all()] == ["crm.public.leads"]
