"""Route crawler: every URL pattern of the portal (walked from Django's resolver) and every
operation of the OpenAPI schema (drf-spectacular), as each persona and anonymously, with real
ids and names from the demo lake. No answer may be a 5xx; anonymous never gets data.

Real services: the demo lake seeded into moto, synced into PostgreSQL and indexed into osmem,
lineage from its views' SQL. Pipelines, runs, drafts, workspaces, subscriptions and an access request are rows made
here (their provisioning is covered by their own tests); tasks a POST enqueues go to Redis with
no worker consuming them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django.urls import URLPattern, URLResolver, get_resolver

from catalog.testing import seed_small_lake
from portal.testing.personas import EXTRA_GROUPS, PERSONAS, login_persona, token_for

ANONYMOUS = "anonymous"
# Pages anyone may open: they show no catalog data (sign-in, the API's description, health).
PUBLIC = re.compile(r"^/($|healthz$|favicon\.ico$|accounts/|admin/login/$|api/v1/(docs|docs/redoc|docs/redoc\.standalone\.js|schema)$)")
SIGN_IN = re.compile(r"^/(accounts|admin)/login/")


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


# Converters and regex groups, filled with real values by parameter name (``ids``) or a harmless guess.
_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>[^)]*\)")


def _fill(route: str, ids: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group("name") or match.group("rname")
        return ids.get(name, "1" if (match.group("conv") in ("int", None) and name.endswith("id")) else "x")

    path = _PARAM.sub(value, route)
    path = path.replace("^", "").replace("$", "").replace("\\", "")
    return "/" + path


def _ids_for(route: str, ids: dict[str, dict[str, str]]) -> dict[str, str]:
    """Which object a numeric ``pk`` names depends on the route: pick the family by its prefix."""
    for prefix, values in ids.items():
        if prefix != "*" and prefix in route:
            return {**ids["*"], **values, "id": values["pk"]}  # the schema names it {id}
    return ids["*"]


@pytest.fixture
def demo_lake(aws_endpoint: str, search: str, transactional_db: None) -> dict[str, dict[str, str]]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from catalog.models import SyncRun, Table
    from ingestion_wizard.models import Draft, Pipeline, PipelineRun
    from workspaces.models import Notification, Subscription, Workspace

    from catalog.demo_iceberg import seed_iceberg_tables

    plan = seed_small_lake()
    (iceberg_table, *_) = seed_iceberg_tables()  # the Iceberg routes answer for Iceberg tables only
    call_command("sync_catalog", "--full")
    call_command("reindex")
    view = next(t for t in plan.tables if t.is_view)
    table = Table.objects.get(database_name=view.qualified_name.split(".")[0], name=view.qualified_name.split(".")[1])

    users = {name: get_user_model().objects.get_or_create(username=name)[0] for name in [*PERSONAS, *EXTRA_GROUPS]}
    for name, role in PERSONAS.items():
        token_for(name, role)
    for name, groups in EXTRA_GROUPS.items():
        users[name].groups.set([Group.objects.get_or_create(name=g)[0] for g in groups])
    pipeline = Pipeline.objects.create(name="orders", hub="finance", created_by=users["finance_provider"],
                                       status=Pipeline.Status.READY, source_kind="postgresql", host="127.0.0.1",
                                       port=5432, source_database="shop", tables=[{"schema": "public", "name": "orders",
                                                                                    "incremental_column": ""}],
                                       target_database="finance_orders_raw", schedule="0 3 * * *")
    run = PipelineRun.objects.create(pipeline=pipeline, status=PipelineRun.Status.SUCCEEDED, executor="local",
                                     rows=5, log="done")
    draft = Draft.objects.create(user=users["finance_provider"], hub="finance")
    consumer = users["finance_consumer"]
    workspace = Workspace.objects.create(owner=consumer, role=PERSONAS["finance_consumer"].as_dict(),
                                         role_arn="arn:aws:iam::123456789012:role/consumer", name="ws-crawl",
                                         instance_type="ml.t3.medium", volume_gb=5,
                                         status=Workspace.Status.STOPPED)
    subscription = Subscription.objects.create(user=consumer, table=table, dataset=view.qualified_name,
                                               protocol=Subscription.Protocol.choices[0][0],
                                               endpoint="consumer@example.com",
                                               topic_arn="arn:aws:sns:eu-central-1:123456789012:datahub",
                                               subscription_arn="pending confirmation")
    Notification.objects.create(user=consumer, dataset=view.qualified_name, partition="load_date=2026-12-01",
                                rows=5, at=timezone.now(), source="orders")
    from access.models import AccessRequest

    access_request = AccessRequest.objects.create(
        requester=consumer, role_key=PERSONAS["finance_consumer"].key, role=PERSONAS["finance_consumer"].as_dict(),
        table=table, dataset=view.qualified_name, hub=table.hub, purpose="crawl", until=timezone.localdate(),
        principal_arn="arn:aws:iam::123456789012:role/consumer", expires_at=timezone.now())

    from queries.models import Query

    query = Query.objects.create(user=consumer, role=PERSONAS["finance_consumer"].as_dict(), role_key="consumer:finance",
                                 sql=f"SELECT * FROM {view.qualified_name}", engine="local", state=Query.State.SUCCEEDED,
                                 columns=["a"], rows=[[1]], row_count=1)
    sync_run = SyncRun.objects.order_by("-pk").first()
    assert sync_run is not None
    from glossary.demo import load_demo_glossary
    from glossary.models import SynonymSuggestion, Term

    load_demo_glossary()
    term = Term.objects.get(name="Pharmacy claim")
    suggestion = SynonymSuggestion.objects.create(short_form="rx", meaning="pharmacy", evidence=3)
    from identity.models import AccessToken

    return {
        "*": {"qualified_name": view.qualified_name, "word": view.name.split("_")[0], "table_id": str(table.pk), "step": "source",
              "column": view.columns[0].name,
              "action": "pause", "run_id": str(run.pk), "draft_id": str(draft.pk),
              "token_id": str(AccessToken.objects.order_by("pk").values_list("pk", flat=True).first()),
              "app_label": "auth", "object_id": "1", "provider_id": "nowhere", "key": "x", "uidb36": "x",
              "pk": str(pipeline.pk)},
        "sync-runs": {"pk": str(sync_run.pk)},
        "pipelines": {"pk": str(pipeline.pk)},
        "workspaces": {"pk": str(workspace.pk)},
        "subscriptions": {"pk": str(subscription.pk)},
        "glossary/terms": {"pk": str(term.pk)},
        "glossary/suggestions": {"pk": str(suggestion.pk)},
        "access-requests": {"pk": str(access_request.pk)},
        "iceberg": {"qualified_name": iceberg_table, "pk": str(pipeline.pk)},
        "access/": {"pk": str(access_request.pk)},
        "queries": {"pk": str(query.pk)},
    }


def _client(name: str) -> Client:
    client = Client(raise_request_exception=False)
    if name != ANONYMOUS:
        login_persona(client, name)
    return client


# Query parameters worth a real value (the dataset a lineage question is about, a search word).
QUERY_FILLS = {"dataset": "qualified_name", "q": "word"}


def _schema_operations() -> list[tuple[str, str, list[str]]]:
    """(path, METHOD, names of the query parameters in QUERY_FILLS it takes) per schema operation."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(path, method.upper(), [p["name"] for p in op.get("parameters", [])
                                    if p.get("in") == "query" and p["name"] in QUERY_FILLS])
            for path, item in schema["paths"].items() for method, op in item.items()
            if method in ("get", "post", "put", "patch", "delete")]


def _operation_path(api_path: str, query: list[str], ids: dict[str, dict[str, str]]) -> str:
    values = _ids_for(api_path, ids)
    path = _fill(api_path.lstrip("/").replace("{", "<").replace("}", ">"), values)
    return path + ("?" + urlencode({name: values[QUERY_FILLS[name]] for name in query}) if query else "")


def _problem(name: str, method: str, path: str, response: Any) -> str | None:
    status = response.status_code
    if status >= 500:
        return f"{name} {method} {path}: {status}"
    if name == ANONYMOUS and status < 400 and not PUBLIC.match(path):
        location = response.headers.get("Location", "")
        # Signing out when not signed in just goes somewhere harmless.
        if not (status in (301, 302) and (SIGN_IN.match(location) or path.endswith("/logout/"))):
            return f"{name} {method} {path}: {status} (anonymous got an answer, not a sign-in)"
    return None


@pytest.mark.django_db(transaction=True)
def test_no_route_answers_5xx_and_anonymous_never_gets_data(demo_lake: dict[str, dict[str, str]]) -> None:
    routes = sorted(set(_routes(get_resolver().url_patterns)))
    operations = _schema_operations()
    assert len(routes) > 60 and len(operations) > 20  # the crawl reaches the whole portal
    problems: list[str] = []
    seen = 0
    # Anonymous first, then each persona; writes (POST/PUT/PATCH/DELETE) after every read of a visitor.
    for name in [ANONYMOUS, *PERSONAS, *EXTRA_GROUPS]:
        client = _client(name)
        for route in routes:
            path = _fill(route, _ids_for(route, demo_lake))
            response = client.get(path)
            seen += 1
            problems.append(_problem(name, "GET", path, response) or "")
        for api_path, method, query in operations:
            path = _operation_path(api_path, query, demo_lake)
            if method == "GET":
                if query:  # the same read with its real query (the bare path was read above)
                    seen += 1
                    problems.append(_problem(name, method, path, client.get(path)) or "")
                continue
            response = client.generic(method, path, "{}", content_type="application/json")
            seen += 1
            problems.append(_problem(name, method, path, response) or "")
        for route in routes:  # HTML forms posted empty: a form error or a 4xx, never a 500
            if route.startswith("api/") or route.startswith("admin/") or "logout" in route:
                continue
            path = _fill(route, _ids_for(route, demo_lake))
            response = client.post(path, {})
            seen += 1
            problems.append(_problem(name, "POST", path, response) or "")
    problems = [p for p in problems if p]
    assert seen > 500
    assert problems == [], "\n".join(problems)


@pytest.mark.django_db(transaction=True)
def test_every_schema_operation_is_reached_with_real_ids(demo_lake: dict[str, dict[str, str]]) -> None:
    """The crawler's fills name real objects: each GET operation of the schema answers 200 to some
    persona (objects such as subscriptions are their owner's alone)."""
    clients = {name: _client(name) for name in PERSONAS}
    misses = []
    for api_path, method, query in _schema_operations():
        if method != "GET":
            continue
        path = _operation_path(api_path, query, demo_lake)
        statuses = {name: client.get(path).status_code for name, client in clients.items()}
        if 200 not in statuses.values():
            misses.append(f"{path}: {statuses}")
    assert misses == [], "\n".join(misses)
