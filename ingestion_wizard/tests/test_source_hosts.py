"""Source hosts: link-local and metadata never, private and loopback only when allowed, never the
portal's own database; "Test connection" is no port scanner.

The first tests are pure: they classify addresses (169.254.169.254, fd00:ec2::254, 10/8 …)
without opening any connection. Every test that connects uses 127.0.0.0/8 only, with an
allow-list of 127.0.0.1/32 so that 127.0.0.2 (and a name resolving to it) stands for a
forbidden address.
"""

from __future__ import annotations

import json
import socket

import pytest
from django.db import connection

from ingestion_wizard import hosts, services
from ingestion_wizard.models import Pipeline
from ingestion_wizard.tests import sources

LOOPBACK_ONLY = "127.0.0.1/32"


# --- Pure classification (no connection, no resolution) ------------------------------------
@pytest.mark.parametrize("address, kind", [
    ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"), ("169.254.170.2", "metadata"),
    ("::ffff:169.254.169.254", "metadata"), ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
    ("10.1.2.3", "private"), ("172.16.0.9", "private"), ("192.168.1.10", "private"), ("fc00::5", "private"),
    ("100.64.0.1", "private"), ("127.0.0.2", "loopback"), ("::1", "loopback"), ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"), ("255.255.255.255", "reserved"), ("8.8.8.8", "public"),
    ("2606:4700::1111", "public"),
])
def test_addresses_are_classified_without_connecting(address, kind):
    assert hosts.classify(address) == kind


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "169.254.3.4", "fe80::1", "0.0.0.0",
                                     "::ffff:169.254.169.254"])
def test_link_local_and_metadata_are_refused_even_when_everything_is_allowed(address):
    everything = hosts.parse_networks("0.0.0.0/0,::/0")
    assert "never connects" in hosts.refusal(address, everything)


@pytest.mark.parametrize("address", ["10.0.0.5", "172.31.255.1", "192.168.0.1", "fd12::1", "127.0.0.1", "::1"])
def test_private_and_loopback_need_the_allow_list(address):
    assert "INGESTION_ALLOWED_NETWORKS" in hosts.refusal(address, ())
    assert hosts.refusal(address, hosts.parse_networks("10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7,"
                                                       "127.0.0.0/8,::1/128")) is None


def test_an_allowed_network_allows_only_its_own_addresses():
    allowed = hosts.parse_networks(LOOPBACK_ONLY)
    assert hosts.refusal("127.0.0.1", allowed) is None
    assert "loopback" in hosts.refusal("127.0.0.2", allowed)
    assert hosts.refusal("8.8.8.8", allowed) is None  # public addresses need no allow-list


def test_a_bad_allow_list_entry_is_named():
    with pytest.raises(ValueError, match="'10.0.0.0/33'"):
        hosts.parse_networks("127.0.0.1/32, 10.0.0.0/33")


def test_a_name_resolving_to_metadata_is_refused_before_any_connection(monkeypatch, settings):
    settings.INGESTION_ALLOWED_NETWORKS = "0.0.0.0/0"

    def fake_getaddrinfo(host, port, *args, **kwargs):  # DNS cannot be steered here; the answer is the test
        assert host == "db.example.internal"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(hosts.HostRefused, match="Host db.example.internal: 169.254.169.254 is a metadata address"):
        hosts.vet("db.example.internal", 5432, "sales")


def test_a_name_is_refused_when_any_of_its_addresses_is(monkeypatch, settings):
    settings.INGESTION_ALLOWED_NETWORKS = LOOPBACK_ONLY
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **kw: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port))])
    with pytest.raises(hosts.HostRefused, match="127.0.0.2 is a loopback address"):
        hosts.vet("two.example.internal", 5432, "sales")


def test_the_peer_actually_reached_is_checked_again(settings):
    settings.INGESTION_ALLOWED_NETWORKS = LOOPBACK_ONLY
    hosts.vet_peer("127.0.0.1", 5432, "sales")
    with pytest.raises(hosts.HostRefused, match="loopback"):
        hosts.vet_peer("127.0.0.2", 5432, "sales")
    with pytest.raises(hosts.HostRefused, match="metadata"):
        hosts.vet_peer("169.254.169.254", 5432, "sales")


# --- The connecting paths (loopback only) -----------------------------------------------------


def body(source, database="finance_hosts"):
    return {"name": "host-check", "hub": "finance", "source": source,
            "target": {"database": database, "layer": "source"}, "schedule": None}


def post_pipeline(client, source):
    return client.post("/api/v1/pipelines", data=json.dumps(body(source)), content_type="application/json")


@pytest.fixture
def loopback_only(settings):
    settings.INGESTION_ALLOWED_NETWORKS = LOOPBACK_ONLY


@pytest.fixture
def resolves_to_127_0_0_2(monkeypatch):
    """``pg.example.internal`` resolves to 127.0.0.2 (no DNS or /etc/hosts to edit here)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real("127.0.0.2" if host == "pg.example.internal" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.2", "pg.example.internal"])
def test_the_api_refuses_a_host_outside_the_allow_list(provider, pg_source, aws_endpoint, loopback_only,
                                                       resolves_to_127_0_0_2, host):
    pg_source["host"] = host
    response = post_pipeline(provider, pg_source)
    assert response.status_code == 400
    assert "127.0.0.2 is a loopback address" in response.json()["detail"]["source.host"][0]
    assert not Pipeline.objects.exists()


@pytest.mark.django_db
def test_the_api_accepts_the_allowed_loopback_address(provider, pg_source, aws_endpoint, loopback_only):
    assert post_pipeline(provider, pg_source).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.9"])
def test_the_portals_own_database_is_refused_even_with_loopback_allowed(provider, pg_source, aws_endpoint, host):
    own = connection.settings_dict
    pg_source.update(host=host, port=int(own.get("PORT") or 5432), database=own["NAME"], tables=["public.auth_user"])
    response = post_pipeline(provider, pg_source)
    assert response.status_code == 400
    assert response.json()["detail"] == {"source.host": ["That is the portal's own database; it cannot be a source."]}


@pytest.mark.django_db
def test_a_glue_only_kind_is_refused_too(provider, aws_endpoint):
    source = {"kind": "oracle", "host": "169.254.169.254", "port": 1521, "database": "ORCL", "user": "u",
              "password": "p", "tables": ["hr.employees"]}
    response = post_pipeline(provider, source)
    assert response.status_code == 400 and "metadata address" in response.json()["detail"]["source.host"][0]


def start_draft(client, kind="postgresql"):
    from ingestion_wizard.models import Draft

    client.post("/ingestion/new/")
    draft = Draft.objects.latest("pk")
    client.post(f"/ingestion/drafts/{draft.pk}/source/", {"source-kind": kind,
                                                         f"ingestion_{draft.pk}-current_step": "source"})
    return draft


def try_connection(client, draft, host, port, database=None, password=sources.PG_PASSWORD):
    return client.post(f"/ingestion/drafts/{draft.pk}/test-connection/", {
        "connection-host": host, "connection-port": port, "connection-database": database or sources.SOURCE_DB,
        "connection-user": "postgres", "connection-password": password})


@pytest.mark.django_db
def test_test_connection_answers_alike_for_every_failure(provider, pg_source, aws_endpoint, moto_server,
                                                         loopback_only):
    draft = start_draft(provider)
    moto_port = int(moto_server.rsplit(":", 1)[1])
    closed = try_connection(provider, draft, "127.0.0.1", 1)                 # nothing listens
    not_a_database = try_connection(provider, draft, "127.0.0.1", moto_port)  # an HTTP server
    refused_host = try_connection(provider, draft, "127.0.0.2", sources.PG_PORT)
    metadata = try_connection(provider, draft, "169.254.169.254", 80)        # refused before connecting
    answers = {r.content.decode() for r in (closed, not_a_database, refused_host, metadata)}
    assert len(answers) == 1 and services.CONNECT_FAILED in answers.pop()
    ok = try_connection(provider, draft, "127.0.0.1", sources.PG_PORT).content.decode()
    assert "Connected: PostgreSQL" in ok


@pytest.mark.django_db
def test_test_connection_is_rate_limited_per_user(provider, pg_source, aws_endpoint, settings, client):
    from portal.testing.personas import login_persona

    settings.INGESTION_TEST_CONNECTION_PER_MINUTE = 3
    draft = start_draft(provider)
    pages = [try_connection(provider, draft, "127.0.0.1", sources.PG_PORT).content.decode() for _ in range(4)]
    assert all("Connected" in p for p in pages[:3])
    assert "Too many connection attempts" in pages[3] and "Connected" not in pages[3]
    # Another user is not slowed down by the first one.
    from django.test import Client

    other = Client()
    login_persona(other, "admin")
    other_draft = start_draft(other)
    assert "Connected" in try_connection(other, other_draft, "127.0.0.1", sources.PG_PORT).content.decode()


@pytest.mark.django_db
def test_the_wizard_step_refuses_a_host_outside_the_allow_list(provider, pg_source, aws_endpoint, loopback_only):
    draft = start_draft(provider)
    response = provider.post(f"/ingestion/drafts/{draft.pk}/connection/", {
        "connection-host": "127.0.0.2", "connection-port": sources.PG_PORT, "connection-database": sources.SOURCE_DB,
        "connection-user": "postgres", "connection-password": "x", f"ingestion_{draft.pk}-current_step": "connection"})
    assert response.status_code == 200
    assert "127.0.0.2 is a loopback address" in response.content.decode()


@pytest.mark.django_db
def test_the_worker_checks_the_host_again_when_it_connects(provider, pg_source, aws_endpoint, eager,
                                                           django_capture_on_commit_callbacks, settings):
    with django_capture_on_commit_callbacks(execute=True):
        pid = post_pipeline(provider, pg_source).json()["id"]
    # The allow-list shrank after the pipeline was made (or the row was changed behind the portal's back).
    settings.INGESTION_ALLOWED_NETWORKS = LOOPBACK_ONLY
    Pipeline.objects.filter(pk=pid).update(host="127.0.0.2")
    with django_capture_on_commit_callbacks(execute=True):
        run = provider.post(f"/api/v1/pipelines/{pid}/runs").json()
    run = provider.get(f"/api/v1/pipelines/{pid}/runs/{run['id']}").json()
    assert run["status"] == "failed" and "127.0.0.2 is a loopback address" in run["error"]


@pytest.mark.django_db
def test_creating_pipelines_through_the_api_shares_the_connection_limit(provider, pg_source, aws_endpoint, settings):
    """Pipeline create connects to the source (its tables are checked): no way round the limit."""
    settings.INGESTION_TEST_CONNECTION_PER_MINUTE = 2
    unreachable = dict(pg_source, port=1)  # nothing listens: each try is one more probe
    answers = [post_pipeline(provider, unreachable) for _ in range(3)]
    assert [a.status_code for a in answers] == [400, 400, 429]
    assert answers[0].json()["error"] == services.CONNECT_FAILED
    assert "Too many connection attempts" in answers[2].json()["error"]
    assert Pipeline.objects.count() == 0
