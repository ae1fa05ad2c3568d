"""Access requests end to end against the moto server: ask → approve → Lake Formation grant → read back
(ListPermissions) → revoke → read back, per persona; column-level and LF-tag expression grants; who may
decide; a role without an IAM role; audit and notifications (portal feed and the dataset's access topic).

Grants run in the Celery tasks the approval enqueues (eagerly here, after the commit).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from access.models import AccessRequest
from access.services import ACCESS_TOPIC_PREFIX
from access.tests.conftest import FINANCE_READERS, as_persona
from identity.models import AuditEvent
from portal import aws, lake_permissions
from workspaces.notifications import ensure_dataset_topic
from workspaces.tests.test_subscriptions import make_queue, received

UNTIL = (date.today() + timedelta(days=30)).isoformat()


def ask(client, dataset="finance_curated.invoices", **extra):
    return client.post("/api/v1/access-requests", {"dataset": dataset, "purpose": "quarterly report",
                                                   "until": UNTIL, **extra}, format="json")


def decide(client, request_id, action, capture, body=None):
    with capture(execute=True):  # commit: the grant / revoke task runs
        return client.post(f"/api/v1/access-requests/{request_id}/{action}", body or {}, format="json")


def lf_lists(resource):
    return lake_permissions.is_granted(FINANCE_READERS, resource)


WHOLE_INVOICES = lake_permissions.table_resource("finance_curated", "invoices")


@pytest.mark.parametrize("decider", ["finance_steward", "admin"])
def test_a_request_ends_in_a_verified_grant_and_a_verified_revocation(
        aws_endpoint, invoices, consumer, eager, django_capture_on_commit_callbacks, decider):
    queue_url, queue_arn = make_queue("access-watcher")
    aws.client("sns").subscribe(TopicArn=ensure_dataset_topic("finance_curated.invoices", ACCESS_TOPIC_PREFIX),
                                Protocol="sqs", Endpoint=queue_arn)
    with django_capture_on_commit_callbacks(execute=True):
        created = ask(consumer)
    assert created.status_code == 201, created.content
    request_id = created.json()["id"]
    assert created.json()["state"] == "pending"
    assert not lf_lists(WHOLE_INVOICES)

    approved = decide(as_persona(decider), request_id, "approve", django_capture_on_commit_callbacks)
    assert approved.status_code == 202, approved.content
    shown = consumer.get(f"/api/v1/access-requests/{request_id}").json()
    assert shown["state"] == "granted" and shown["decided_by"] == decider
    assert shown["principal_arn"] == FINANCE_READERS
    assert lf_lists(WHOLE_INVOICES)  # really there, read back from Lake Formation

    revoked = decide(as_persona(decider), request_id, "revoke", django_capture_on_commit_callbacks)
    assert revoked.status_code == 202, revoked.content
    assert consumer.get(f"/api/v1/access-requests/{request_id}").json()["state"] == "revoked"
    assert not lf_lists(WHOLE_INVOICES)

    actions = list(AuditEvent.objects.filter(target__startswith=f"access-request:{request_id} ")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["access.requested", "access.approved", "access.granted", "access.revoking", "access.revoked"]
    feed = [n["source"] for n in consumer.get("/api/v1/notifications").json()["results"]]
    assert f"access request {request_id}: granted" in feed and f"access request {request_id}: revoked" in feed
    events = [m["event"] for m in received(queue_url)]
    assert "access.requested" in events and "access.granted" in events


def test_a_column_request_grants_exactly_those_columns_and_revokes_them(
        aws_endpoint, invoices, consumer, steward, eager, django_capture_on_commit_callbacks):
    created = ask(consumer, columns=["invoice_id", "amount"])
    assert created.status_code == 201, created.content
    decide(steward, created.json()["id"], "approve", django_capture_on_commit_callbacks)
    access = lake_permissions.table_access(FINANCE_READERS, "finance_curated", "invoices")
    assert access.columns == ["amount", "invoice_id"] and not access.whole_table
    assert AccessRequest.objects.get().state == "granted"

    decide(steward, created.json()["id"], "revoke", django_capture_on_commit_callbacks)
    assert not lake_permissions.table_access(FINANCE_READERS, "finance_curated", "invoices").any


def test_a_steward_may_narrow_a_request_to_chosen_columns(
        aws_endpoint, invoices, consumer, steward, eager, django_capture_on_commit_callbacks):
    request_id = ask(consumer).json()["id"]
    decide(steward, request_id, "approve", django_capture_on_commit_callbacks,
           {"scope": "columns", "columns": ["invoice_id"]})
    assert lake_permissions.table_access(FINANCE_READERS, "finance_curated", "invoices").columns == ["invoice_id"]


def test_a_tag_expression_grant_is_made_and_read_back(
        aws_endpoint, invoices, consumer, steward, eager, django_capture_on_commit_callbacks):
    aws.client("lakeformation").create_lf_tag(TagKey="domain", TagValues=["finance", "marketing"])
    request_id = ask(consumer).json()["id"]
    approved = decide(steward, request_id, "approve", django_capture_on_commit_callbacks,
                      {"scope": "tags", "tag_expression": {"domain": ["finance"]}})
    assert approved.status_code == 202, approved.content
    assert AccessRequest.objects.get().state == "granted"
    assert lf_lists(lake_permissions.tag_policy_resource({"domain": ["finance"]}))
    assert not lf_lists(lake_permissions.tag_policy_resource({"domain": ["marketing"]}))

    decide(steward, request_id, "revoke", django_capture_on_commit_callbacks)
    assert not lf_lists(lake_permissions.tag_policy_resource({"domain": ["finance"]}))


def test_a_steward_of_another_hub_and_consumers_get_403(
        aws_endpoint, invoices, consumer, marketing_steward, django_capture_on_commit_callbacks):
    request_id = ask(consumer).json()["id"]
    for client in (marketing_steward, consumer, as_persona("marketing_consumer")):
        for action in ("approve", "refuse", "revoke"):
            answer = client.post(f"/api/v1/access-requests/{request_id}/{action}", {"reason": "no"}, format="json")
            assert answer.status_code == 403, (action, answer.content)
            assert "finance" in answer.json()["error"]
    assert AccessRequest.objects.get().state == "pending"
    assert marketing_steward.get(f"/api/v1/access-requests/{request_id}").status_code == 404


def test_only_consumers_ask(aws_endpoint, invoices, steward, admin):
    for client in (steward, admin):
        answer = ask(client)
        assert answer.status_code == 403 and "consumer" in answer.json()["error"]


def test_a_role_without_an_iam_role_is_told_so(aws_endpoint, lake):
    answer = ask(as_persona("marketing_consumer"), dataset="marketing_raw.campaigns")
    assert answer.status_code == 400
    assert "consumer:marketing has no IAM role in AWS_ROLE_ARNS" in answer.json()["error"]
    assert not AccessRequest.objects.exists()


@pytest.mark.parametrize(("body", "message"), [
    ({"dataset": "finance_curated"}, "database.table"),
    ({"dataset": "marketing_raw.campaigns"}, "not found"),  # outside the finance consumer's role
    ({"columns": ["no_such_column"]}, "no column no_such_column"),
    ({"purpose": "   "}, "purpose"),
    ({"until": "2001-01-01"}, "past"),
    ({"until": (date.today() + timedelta(days=4000)).isoformat()}, "days ahead"),
])
def test_bad_requests_answer_4xx_with_a_message(aws_endpoint, invoices, consumer, body, message):
    answer = ask(consumer, **body)
    assert answer.status_code in (400, 404), answer.content
    assert message in str(answer.json())


def test_a_second_open_request_for_the_same_dataset_is_a_conflict(aws_endpoint, invoices, consumer):
    assert ask(consumer).status_code == 201
    again = ask(consumer)
    assert again.status_code == 409 and "exists already" in again.json()["error"]


def test_refusal_needs_a_reason_and_ends_the_request(aws_endpoint, invoices, consumer, steward,
                                                     django_capture_on_commit_callbacks):
    request_id = ask(consumer).json()["id"]
    assert steward.post(f"/api/v1/access-requests/{request_id}/refuse", {}, format="json").status_code == 400
    refused = steward.post(f"/api/v1/access-requests/{request_id}/refuse", {"reason": "not for reports"},
                           format="json")
    assert refused.status_code == 200 and refused.json()["state"] == "refused"
    assert refused.json()["reason"] == "not for reports"
    assert steward.post(f"/api/v1/access-requests/{request_id}/approve", {}, format="json").status_code == 409
    assert not lf_lists(WHOLE_INVOICES)


def test_the_list_shows_a_stewards_queue_and_a_consumers_own_requests(aws_endpoint, invoices, consumer, steward,
                                                                      marketing_steward):
    request_id = ask(consumer).json()["id"]
    assert [r["id"] for r in steward.get("/api/v1/access-requests?state=pending").json()["results"]] == [request_id]
    assert [r["id"] for r in consumer.get("/api/v1/access-requests").json()["results"]] == [request_id]
    assert marketing_steward.get("/api/v1/access-requests").json()["results"] == []
    assert steward.get("/api/v1/access-requests?state=nonsense").status_code == 400
