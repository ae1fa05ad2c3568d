"""What happens to a request besides a steward's click: Lake Formation refusing or not listing a grant
(failed with the reason, then retried), the end date, nobody deciding, and the role disappearing.

Lake Formation is the moto server, except where moto cannot say no: it accepts every GrantPermissions
and lists every grant it accepted, so a refused grant and a grant missing from ListPermissions are played
by botocore's Stubber on the Lake Formation client (those two calls only).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.stub import Stubber
from django.contrib.auth.models import Group
from django.utils import timezone

from access import services
from access.models import AccessRequest
from access.tests.conftest import FINANCE_READERS, as_persona
from access.tests.test_access_requests import WHOLE_INVOICES, ask, decide, lf_lists
from identity.models import AuditEvent
from portal import aws, lake_permissions


@pytest.fixture
def stubbed_lakeformation(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    """The Lake Formation client the portal builds, answered by a Stubber (other services stay moto)."""
    client = aws.client("lakeformation")
    stubber = Stubber(client)
    real = aws.client

    def pick(service: str, *args: Any, **kwargs: Any) -> Any:
        return client if service == "lakeformation" else real(service, *args, **kwargs)

    monkeypatch.setattr(aws, "client", pick)
    return stubber


def test_a_grant_lake_formation_refuses_fails_with_the_reason_and_can_be_retried(
        aws_endpoint, invoices, consumer, steward, eager, django_capture_on_commit_callbacks, stubbed_lakeformation,
        monkeypatch):
    request_id = ask(consumer).json()["id"]
    stubbed_lakeformation.add_client_error("grant_permissions", service_error_code="AccessDeniedException",
                                           service_message="Insufficient Lake Formation permission(s) on invoices")
    with stubbed_lakeformation:
        decide(steward, request_id, "approve", django_capture_on_commit_callbacks)
    failed = consumer.get(f"/api/v1/access-requests/{request_id}").json()
    assert failed["state"] == "failed"
    assert "AccessDeniedException: Insufficient Lake Formation permission(s)" in failed["reason"]
    assert AuditEvent.objects.filter(action="access.failed").exists()

    monkeypatch.undo()  # Lake Formation (moto) accepts it now
    retried = decide(steward, request_id, "retry", django_capture_on_commit_callbacks)
    assert retried.status_code == 202
    assert AccessRequest.objects.get(pk=request_id).state == "granted" and lf_lists(WHOLE_INVOICES)


def test_a_grant_lake_formation_does_not_list_afterwards_is_not_granted(
        aws_endpoint, invoices, consumer, steward, eager, django_capture_on_commit_callbacks, stubbed_lakeformation):
    request_id = ask(consumer).json()["id"]
    stubbed_lakeformation.add_response("grant_permissions", {})
    stubbed_lakeformation.add_response("list_permissions", {"PrincipalResourcePermissions": []})
    with stubbed_lakeformation:
        decide(steward, request_id, "approve", django_capture_on_commit_callbacks)
    stubbed_lakeformation.assert_no_pending_responses()
    request = AccessRequest.objects.get(pk=request_id)
    assert request.state == "failed" and "does not list it" in request.reason and request.failed_action == "grant"


def test_an_undecided_request_expires(aws_endpoint, invoices, consumer):
    request_id = ask(consumer).json()["id"]
    assert services.expire()["expired"] == []
    later = timezone.now() + timedelta(days=15)
    assert services.expire(later)["expired"] == [request_id]
    assert consumer.get(f"/api/v1/access-requests/{request_id}").json()["state"] == "expired"
    assert AuditEvent.objects.filter(action="access.expired").exists()


def test_a_grant_is_revoked_after_its_end_date(aws_endpoint, invoices, consumer, steward, eager,
                                               django_capture_on_commit_callbacks):
    request_id = ask(consumer).json()["id"]
    decide(steward, request_id, "approve", django_capture_on_commit_callbacks)
    assert lf_lists(WHOLE_INVOICES)
    with django_capture_on_commit_callbacks(execute=True):
        done = services.expire(timezone.now() + timedelta(days=32))
    assert done["revoking"] == [request_id]
    request = AccessRequest.objects.get(pk=request_id)
    assert request.state == "revoked" and "end date" in request.reason
    assert not lf_lists(WHOLE_INVOICES)


def test_a_lost_role_loses_its_grant(aws_endpoint, invoices, consumer, steward, eager,
                                     django_capture_on_commit_callbacks):
    request_id = ask(consumer).json()["id"]
    decide(steward, request_id, "approve", django_capture_on_commit_callbacks)
    assert lf_lists(WHOLE_INVOICES)
    user = AccessRequest.objects.get(pk=request_id).requester
    with django_capture_on_commit_callbacks(execute=True):  # commit: grants_changed → the revoke tasks
        user.groups.remove(Group.objects.get(name="dh-finance-consumer"))
    request = AccessRequest.objects.get(pk=request_id)
    assert request.state == "revoked" and "consumer:finance is no longer granted" in request.reason
    assert not lf_lists(WHOLE_INVOICES)


def test_revoking_one_of_two_requests_holding_the_same_grant_keeps_it(aws_endpoint, invoices, eager,
                                                                       django_capture_on_commit_callbacks, settings):
    # Two portal roles mapped to one IAM role: Lake Formation keeps one grant for both requests.
    settings.AWS_ROLE_ARNS = {"consumer:finance": FINANCE_READERS, "consumer:marketing": FINANCE_READERS}
    steward = as_persona("finance_steward")
    fx_rates = lake_permissions.table_resource("shared", "fx_rates")
    first = ask(as_persona("finance_consumer"), dataset="shared.fx_rates").json()["id"]
    second = ask(as_persona("marketing_consumer"), dataset="shared.fx_rates").json()["id"]
    decide(steward, first, "approve", django_capture_on_commit_callbacks)
    decide(steward, second, "approve", django_capture_on_commit_callbacks)
    decide(steward, first, "revoke", django_capture_on_commit_callbacks)
    assert AccessRequest.objects.get(pk=first).state == "revoked"
    assert lf_lists(fx_rates)  # still held for the marketing role's request
    decide(steward, second, "revoke", django_capture_on_commit_callbacks)
    assert not lf_lists(fx_rates)
