"""Secrets belong to their pipeline: a foreign reference is refused (and audited), a provider's own
secret is read with the provider role's credentials, teardown deletes only the portal's secrets.

moto stands in for Secrets Manager and STS; it does not enforce IAM, so which credentials the
portal used is read off the signed request itself (its access key id) by a botocore event hook.
"""

from __future__ import annotations

import json

import pytest

from ingestion_wizard.models import Draft, ManagedSecret, Pipeline
from ingestion_wizard.tests import sources
from portal import aws
from identity.models import AuditEvent

pytestmark = pytest.mark.django_db


def body(source, name="erp-orders", database="finance_orders_raw"):
    return {"name": name, "hub": "finance", "source": source,
            "target": {"database": database, "layer": "source"}, "schedule": None}


def create(client, source, capture, **kw):
    with capture(execute=True):
        return client.post("/api/v1/pipelines", data=json.dumps(body(source, **kw)), content_type="application/json")


def make_secret(name, hub=None, password=sources.PG_PASSWORD, managed=False):
    tags = [{"Key": "datahub:hub", "Value": hub}] if hub else []
    if managed:
        tags.append({"Key": "datahub:managed-by", "Value": "ingestion"})
    return aws.client("secretsmanager").create_secret(
        Name=name, SecretString=json.dumps({"username": "postgres", "password": password}), Tags=tags)["ARN"]


def secret_state(arn):
    """'live', or 'deleting' once scheduled for deletion."""
    described = aws.client("secretsmanager").describe_secret(SecretId=arn)
    return "deleting" if described.get("DeletedDate") else "live"


@pytest.fixture
def access_keys():
    """Access key ids of every Secrets Manager GetSecretValue the portal sends (read off the request)."""
    seen: list[str] = []

    def record(request, **kwargs):
        auth = request.headers.get("Authorization", b"")
        auth = auth.decode() if isinstance(auth, bytes) else auth
        seen.append(auth.split("Credential=")[1].split("/")[0])

    events = aws._session().events
    events.register("before-send.secrets-manager.GetSecretValue", record)
    yield seen
    events.unregister("before-send.secrets-manager.GetSecretValue", record)


@pytest.mark.parametrize("name, hub", [
    ("portal/oidc-client-secret", None),                   # the portal's own secret
    ("datahub/ingestion/marketing/crm", "marketing"),      # another hub's provider secret
    ("datahub/ingestion/finance/erp", "marketing"),        # right name, wrong tag
    ("datahub/ingestion/finance/erp", None),               # no hub tag
    ("finance/erp", "finance"),                            # outside the hub's name prefix
])
def test_a_foreign_secret_is_refused_and_audited(provider, pg_source, aws_endpoint, django_capture_on_commit_callbacks,
                                                 access_keys, name, hub):
    arn = make_secret(name, hub)
    pg_source.pop("password")
    pg_source["secret_arn"] = arn
    response = create(provider, pg_source, django_capture_on_commit_callbacks)
    assert response.status_code == 403
    assert "This secret cannot be used" in response.json()["error"]
    assert list(response.json()["detail"]) == ["source.secret_arn"]
    assert not Pipeline.objects.exists()
    event = AuditEvent.objects.get(action="ingestion.secret.refused")
    assert event.username.startswith("finance") and event.details["secret_arn"] == arn and event.details["reason"]
    assert access_keys == []  # its value was never read, by anyone
    assert secret_state(arn) == "live"


def test_a_secret_the_portal_made_for_another_pipeline_is_refused(provider, pg_source, aws_endpoint, eager,
                                                                  django_capture_on_commit_callbacks):
    first = create(provider, dict(pg_source), django_capture_on_commit_callbacks)
    assert first.status_code == 201
    arn = Pipeline.objects.get(pk=first.json()["id"]).secret_arn
    assert ManagedSecret.objects.get(arn=arn).pipeline_id == first.json()["id"]
    pg_source.pop("password")
    pg_source["secret_arn"] = arn
    second = create(provider, pg_source, django_capture_on_commit_callbacks, name="copycat", database="finance_copy")
    assert second.status_code == 403
    assert AuditEvent.objects.filter(action="ingestion.secret.refused", details__secret_arn=arn).count() == 1


def test_a_providers_own_secret_is_read_with_the_provider_role_and_survives_teardown(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks, access_keys):
    arn = make_secret("datahub/ingestion/finance/erp-readonly", "finance")
    pg_source.pop("password")
    pg_source["secret_arn"] = arn
    response = create(provider, pg_source, django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.content
    pid = response.json()["id"]
    assert provider.get(f"/api/v1/pipelines/{pid}/provisioning").json()["status"] == "ready"
    assert not ManagedSecret.objects.filter(arn=arn).exists()
    # Every read went out with STS credentials of the provider role, never the portal's own key.
    assert access_keys and "testing" not in access_keys

    with django_capture_on_commit_callbacks(execute=True):
        run = provider.post(f"/api/v1/pipelines/{pid}/runs").json()
    assert provider.get(f"/api/v1/pipelines/{pid}/runs/{run['id']}").json()["status"] == "succeeded"

    with django_capture_on_commit_callbacks(execute=True):
        assert provider.delete(f"/api/v1/pipelines/{pid}").status_code == 202
    assert not Pipeline.objects.filter(pk=pid).exists()
    assert secret_state(arn) == "live"  # the provider's secret is theirs to delete


def test_teardown_deletes_the_secret_the_portal_created(provider, pg_source, aws_endpoint, eager,
                                                       django_capture_on_commit_callbacks):
    response = create(provider, pg_source, django_capture_on_commit_callbacks)
    pid = response.json()["id"]
    arn = Pipeline.objects.get(pk=pid).secret_arn
    with django_capture_on_commit_callbacks(execute=True):
        assert provider.delete(f"/api/v1/pipelines/{pid}").status_code == 202
    assert secret_state(arn) == "deleting"
    assert not ManagedSecret.objects.exists()


def wizard_post(client, draft, step, data):
    body = {f"{step}-{k}": v for k, v in data.items()}
    body[f"ingestion_{draft.pk}-current_step"] = step
    return client.post(f"/ingestion/drafts/{draft.pk}/{step}/", body)


def test_a_tampered_wizard_secret_is_refused_audited_and_never_deleted(provider, pg_source, aws_endpoint):
    foreign = make_secret("portal/oidc-client-secret")
    provider.post("/ingestion/new/")
    draft = Draft.objects.latest("pk")
    wizard_post(provider, draft, "source", {"kind": "postgresql"})
    # No password typed; the hidden secret_arn field is edited to name someone else's secret.
    response = wizard_post(provider, draft, "connection", {
        "host": sources.PG_HOST, "port": sources.PG_PORT, "database": sources.SOURCE_DB, "user": "postgres",
        "secret_arn": foreign})
    assert response.status_code == 200 and "This secret cannot be used" in response.content.decode()
    assert AuditEvent.objects.filter(action="ingestion.secret.refused", target=f"draft:{draft.pk}").exists()
    # Test connection with the draft's stored reference: the same refusal.
    draft.refresh_from_db()
    draft.data.setdefault("step_data", {})["connection"] = {"connection-secret_arn": [foreign]}
    draft.save()
    page = provider.post(f"/ingestion/drafts/{draft.pk}/test-connection/", {
        "connection-host": sources.PG_HOST, "connection-port": sources.PG_PORT,
        "connection-database": sources.SOURCE_DB, "connection-user": "postgres"}).content.decode()
    assert "This secret cannot be used" in page and "Connected" not in page
    # Discarding the draft deletes only what the portal created for it: nothing here.
    assert provider.post(f"/ingestion/drafts/{draft.pk}/discard/").status_code == 302
    assert not Draft.objects.filter(pk=draft.pk).exists()
    assert secret_state(foreign) == "live"


def test_the_wizard_password_goes_into_the_drafts_own_secret_and_is_deleted_with_the_draft(
        provider, pg_source, aws_endpoint):
    provider.post("/ingestion/new/")
    draft = Draft.objects.latest("pk")
    wizard_post(provider, draft, "source", {"kind": "postgresql"})
    connection = {"host": sources.PG_HOST, "port": sources.PG_PORT, "database": sources.SOURCE_DB,
                  "user": "postgres", "password": sources.PG_PASSWORD}
    assert wizard_post(provider, draft, "connection", connection).status_code == 302
    secret = ManagedSecret.objects.get(draft=draft)
    # Typing the password again updates the same secret instead of making another.
    assert wizard_post(provider, draft, "connection", connection).status_code == 302
    assert ManagedSecret.objects.filter(draft=draft).count() == 1
    assert provider.post(f"/ingestion/drafts/{draft.pk}/discard/").status_code == 302
    assert secret_state(secret.arn) == "deleting" and not ManagedSecret.objects.exists()
