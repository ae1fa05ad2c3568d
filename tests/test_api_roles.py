"""Every /api/v1/ endpoint goes through the role layer: a table-driven test over the URL resolver.

Routes are enumerated from the resolver, so a new endpoint is checked the day it is added:
- anonymous callers get 401 JSON on every route and method, except the PUBLIC ones;
- a signed-in caller without a selected role gets 403 JSON, except on the ROLE_FREE routes
  (where one learns and manages one's roles and tokens);
- every write (POST/PUT/PATCH/DELETE) must be listed in WRITE_PERSONAS with the personas that may
  use it; every other persona gets 403 or 404 (404 when the object's existence must not leak);
- reads restricted to some personas are listed in READ_PERSONAS the same way.
A failure names the route and tells what to add here. Sample URLs use ids that exist nowhere,
so an allowed persona sees 404 on detail routes; what matters is that forbidden ones never pass.

Personas (portal.testing.personas): finance consumer / steward / provider, marketing consumer,
admin; each calls with a personal access token bound to its role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from portal.testing.personas import PERSONAS, bearer, login_persona, token_for

API_PREFIX = "api/v1/"
# Marquez's API for its clients (lineage.marquez): routes listed as "marquez/api/v1/…".
MARQUEZ_PREFIX = "marquez/api/v1/"
ALL = ("consumer", "steward", "provider", "admin")

# Routes anyone may read without signing in (route pattern as written in the URLconf, after /api/v1/).
PUBLIC = {"schema", "docs", "docs/redoc", "docs/redoc.standalone.js"}
# Routes a signed-in caller may use before selecting a role.
ROLE_FREE = {"me", "tokens", "tokens/<int:token_id>"}

# (route, METHOD) -> personas that may write (admins always may). Anything else must get 403/404.
WRITE_PERSONAS: dict[tuple[str, str], tuple[str, ...]] = {
    ("catalog/sync-runs", "POST"): ("steward", "admin"),
    # Confirming the deletions a sync held back (catalog.services.guard): admins only, stewards get 403.
    ("catalog/sync-runs/<int:pk>/confirm", "POST"): ("steward", "admin"),
    ("datasets/<str:qualified_name>", "PATCH"): ("steward", "admin"),
    ("datasets/<str:qualified_name>/columns/<str:column>", "PATCH"): ("steward", "admin"),
    ("curation/proposals/decide", "POST"): ("steward", "admin"),
    ("datasets/<str:qualified_name>/lf-tags", "POST"): ("steward", "admin"),
    # The business glossary (glossary.api): stewards keep their hub's terms, admins all of them.
    ("glossary/terms", "POST"): ("steward", "admin"),
    ("glossary/terms/<pk>", "PUT"): ("steward", "admin"),
    ("glossary/terms/<pk>", "PATCH"): ("steward", "admin"),
    ("glossary/terms/<pk>", "DELETE"): ("steward", "admin"),
    ("glossary/import", "POST"): ("steward", "admin"),
    ("glossary/suggestions/<pk>/accept", "POST"): ("steward", "admin"),
    ("glossary/suggestions/<pk>/dismiss", "POST"): ("steward", "admin"),
    ("lineage", "POST"): ("provider", "admin"),
    ("lineage/", "POST"): ("provider", "admin"),
    (MARQUEZ_PREFIX + "lineage", "POST"): ("provider", "admin"),
    (MARQUEZ_PREFIX + "lineage/", "POST"): ("provider", "admin"),
    ("pipelines", "POST"): ("provider", "admin"),
    ("pipelines/<int:pk>", "PATCH"): ("provider", "admin"),
    ("pipelines/<int:pk>", "DELETE"): ("provider", "admin"),
    ("pipelines/<int:pk>/pause", "POST"): ("provider", "admin"),
    ("pipelines/<int:pk>/resume", "POST"): ("provider", "admin"),
    ("pipelines/<int:pk>/retry", "POST"): ("provider", "admin"),
    ("pipelines/<int:pk>/reset-incremental", "POST"): ("provider", "admin"),
    ("pipelines/<int:pk>/runs", "POST"): ("provider", "admin"),
    ("workspaces", "POST"): ("consumer", "admin"),
    ("workspaces/<pk>", "DELETE"): ("consumer", "admin"),
    ("workspaces/<pk>/stop", "POST"): ("consumer", "admin"),
    ("workspaces/<pk>/start", "POST"): ("consumer", "admin"),
    ("workspaces/<pk>/recreate", "POST"): ("consumer", "admin"),
    ("workspaces/<pk>/open", "POST"): ("consumer", "admin"),
    # Any role may subscribe to new-data notifications of datasets it can see.
    ("subscriptions", "POST"): ALL,
    ("subscriptions/<pk>", "DELETE"): ALL,
    # Access requests (access.api): consumers ask, the owning hub's stewards and admins decide.
    ("access-requests", "POST"): ("consumer",),
    ("access-requests/<pk>/approve", "POST"): ("steward", "admin"),
    ("access-requests/<pk>/refuse", "POST"): ("steward", "admin"),
    ("access-requests/<pk>/revoke", "POST"): ("steward", "admin"),
    ("access-requests/<pk>/retry", "POST"): ("steward", "admin"),
    # Any role may query the lake; Lake Formation decides which columns it reads (queries app).
    ("queries", "POST"): ALL,
    ("queries/<pk>/cancel", "POST"): ALL,
}

# route -> personas that may read it; routes not listed are readable in every role.
READ_PERSONAS: dict[str, tuple[str, ...]] = {
    "audit": ("admin",),
    "catalog/sync-runs": ("steward", "admin"),
    "catalog/sync-runs/<int:pk>": ("steward", "admin"),
    "pipelines": ("provider", "admin"),
    "pipelines/<int:pk>": ("provider", "admin"),
    "pipelines/<int:pk>/provisioning": ("provider", "admin"),
    "pipelines/<int:pk>/runs": ("provider", "admin"),
    "pipelines/<int:pk>/runs/<int:run_id>": ("provider", "admin"),
    "workspaces": ("consumer", "admin"),
    "workspaces/<pk>": ("consumer", "admin"),
}

# Marquez's own writes (namespaces, datasets, jobs, runs, tags): 405 for every role, pointing at the
# OpenLineage intake (lineage.marquez.views.READ_ONLY).
_M = MARQUEZ_PREFIX
REFUSED_WRITES: set[tuple[str, str]] = {
    *((f"{_M}namespaces/<namespace>", m) for m in ("PUT", "DELETE")),
    *((f"{_M}namespaces/<namespace>/datasets/<dataset>", m) for m in ("PUT", "DELETE")),
    *((f"{_M}namespaces/<namespace>/datasets/<dataset>/tags/<tag>", m) for m in ("POST", "DELETE")),
    *((f"{_M}namespaces/<namespace>/datasets/<dataset>/fields/<field>/tags/<tag>", m) for m in ("POST", "DELETE")),
    *((f"{_M}namespaces/<namespace>/jobs/<job>", m) for m in ("PUT", "DELETE")),
    (f"{_M}namespaces/<namespace>/jobs/<job>/runs", "POST"),
    *((f"{_M}jobs/runs/<run_id>/{action}", m) for action in ("start", "complete", "fail", "abort") for m in ("POST", "DELETE")),
    *((f"{_M}sources/<source>", m) for m in ("PUT", "DELETE")),
    *((f"{_M}tags/<tag>", m) for m in ("PUT", "DELETE")),
}

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Values for path parameters: well-formed, matching nothing.
_SAMPLE_VALUES = {"int": "987654", "str": "nothing_db.nothing_table", "slug": "nothing-here",
                  "path": "nothing/here", "uuid": "00000000-0000-0000-0000-00000000dead"}


@dataclass(frozen=True)
class Route:
    pattern: str  # as written, after /api/v1/ (regex routes are shown with <name> placeholders)
    path: str  # a sample URL path
    methods: tuple[str, ...]

    def __str__(self) -> str:
        return self.pattern


def _methods(callback: Any) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)  # DRF ViewSet routes
    if actions:
        return tuple(sorted(m.upper() for m in actions if m not in ("options", "head")))
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is not None:
        return tuple(sorted(m.upper() for m in cls.http_method_names
                            if m not in ("options", "head", "trace") and hasattr(cls, m)))
    return ("GET", "POST")  # a plain Django view: probe both


def _sample(pattern: str) -> str:
    # Converters: <int:pk> -> 987654 ...; regex groups (routers): (?P<pk>[^/.]+) -> 987654.
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "987654", pattern)
    path = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: _SAMPLE_VALUES.get(m.group(1) or "str", "nothing"), path)
    path = path.lstrip("^").rstrip("$")
    return "/" + (path if path.startswith(MARQUEZ_PREFIX) else API_PREFIX + path)


def _readable(pattern: str) -> str:
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", pattern).lstrip("^").rstrip("$")


def _walk(patterns: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for entry in patterns:
        text = str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += _walk(entry.url_patterns, prefix + text.lstrip("^"))
        elif isinstance(entry, URLPattern):
            found.append((prefix + text.lstrip("^"), entry.callback))
    return found


def api_routes() -> list[Route]:
    routes = []
    for full, callback in _walk(get_resolver().url_patterns):
        if not full.startswith((API_PREFIX, MARQUEZ_PREFIX)) or "(?P<format>" in full:
            continue  # DRF's format-suffix twins repeat a route already listed
        pattern = full[len(API_PREFIX):] if full.startswith(API_PREFIX) else full
        routes.append(Route(_readable(pattern), _sample(pattern), _methods(callback)))
    return sorted(set(routes), key=lambda r: r.pattern)


ROUTES = api_routes()
GUARDED = [r for r in ROUTES if r.pattern not in PUBLIC]


def _call(client: Any, method: str, path: str, **extra: Any) -> Any:
    return getattr(client, method.lower())(path, data={} if method != "GET" else None,
                                           content_type="application/json", **extra)


def _explain(route: Route, method: str, response: Any, expected: str) -> str:
    body = response.content.decode(errors="replace")[:300]
    return (f"{method} {route.path} (route {route.pattern!r}) answered {response.status_code} {body!r}; "
            f"expected {expected}. Protect the view with identity.permissions.HasSelectedRole/role_may "
            f"(the default), or list it in PUBLIC / ROLE_FREE / WRITE_PERSONAS / READ_PERSONAS in tests/test_api_roles.py.")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # bad-token counts of other tests must not throttle these


@pytest.fixture
def tokens(db: Any) -> dict[str, str]:
    """A bearer token per persona (finance consumer/steward/provider, marketing consumer, admin)."""
    return {name: token_for(name, role) for name, role in PERSONAS.items()}


def test_the_resolver_lists_the_portal_api():
    patterns = {r.pattern for r in ROUTES}
    assert {"me", "tokens", "audit", "schema"} <= patterns
    assert resolve(next(r.path for r in ROUTES if r.pattern == "tokens/<int:token_id>")).url_name == "api-token"


@pytest.mark.django_db
@pytest.mark.parametrize("route", GUARDED, ids=str)
def test_anonymous_callers_get_401_json(client, route):
    for method in route.methods:
        response = _call(client, method, route.path)
        assert response.status_code == 401, _explain(route, method, response, "401 for anonymous callers")
        assert "error" in response.json(), _explain(route, method, response, 'a JSON body with "error"')


@pytest.mark.django_db
@pytest.mark.parametrize("route", [r for r in GUARDED if r.pattern not in ROLE_FREE], ids=str)
def test_callers_without_a_selected_role_get_403_json(client, route):
    login_persona(client, "multi_role")  # holds roles, has selected none
    for method in route.methods:
        response = _call(client, method, route.path)
        assert response.status_code == 403, _explain(route, method, response, "403 until a role is selected")
        assert "error" in response.json()


@pytest.mark.parametrize("route", GUARDED, ids=str)
def test_every_write_is_listed_with_the_personas_that_may_use_it(route):
    for method in route.methods:
        if method in WRITE_METHODS and route.pattern not in ROLE_FREE:
            assert (route.pattern, method) in WRITE_PERSONAS or (route.pattern, method) in REFUSED_WRITES, (
                f"{method} /{API_PREFIX}{route.pattern} is a write nobody has classified: add "
                f"({route.pattern!r}, {method!r}): (<personas that may use it>,) to WRITE_PERSONAS "
                f"in tests/test_api_roles.py (use ALL when every role may).")


@pytest.mark.parametrize("key", sorted(WRITE_PERSONAS), ids=lambda k: f"{k[1]} {k[0]}")
def test_the_tables_name_only_existing_routes(key):
    route = next((r for r in ROUTES if r.pattern == key[0]), None)
    assert route is not None and key[1] in route.methods, f"{key} is in WRITE_PERSONAS but no such route exists"


@pytest.mark.parametrize("key", sorted(REFUSED_WRITES), ids=lambda k: f"{k[1]} {k[0]}")
def test_the_refused_writes_name_only_existing_routes(key):
    route = next((r for r in ROUTES if r.pattern == key[0]), None)
    assert route is not None and key[1] in route.methods, f"{key} is in REFUSED_WRITES but no such route exists"


@pytest.mark.django_db
def test_marquez_writes_answer_405_to_every_role(client, tokens):
    for route in [r for r in ROUTES if any((r.pattern, m) in REFUSED_WRITES for m in r.methods)]:
        for method in [m for m in route.methods if (route.pattern, m) in REFUSED_WRITES]:
            for name in PERSONAS:
                response = _call(client, method, route.path, **bearer(tokens[name]))
                assert response.status_code == 405, _explain(route, method, response, "405 (Marquez writes are refused)")
                assert "lineage" in response.json()["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("route", [r for r in GUARDED if r.pattern not in ROLE_FREE], ids=str)
def test_personas_without_the_right_are_refused(client, tokens, route):
    for method in route.methods:
        if method in WRITE_METHODS:
            allowed = WRITE_PERSONAS.get((route.pattern, method), ALL)
        else:
            allowed = READ_PERSONAS.get(route.pattern, ALL)
        for name, role in PERSONAS.items():
            if role.persona in allowed:
                continue
            response = _call(client, method, route.path, **bearer(tokens[name]))
            assert response.status_code in (403, 404), _explain(
                route, method, response, f"403/404 for {role.label} (only {', '.join(allowed)} may)")
            assert "error" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("route", [r for r in GUARDED if r.pattern in READ_PERSONAS], ids=str)
def test_personas_with_the_right_may_read(client, tokens, route):
    for name, role in PERSONAS.items():
        if role.persona in READ_PERSONAS[route.pattern] and "GET" in route.methods:
            response = _call(client, "GET", route.path, **bearer(tokens[name]))
            assert response.status_code in (200, 404), _explain(route, "GET", response, f"200/404 for {role.label}")


@pytest.mark.django_db
def test_the_public_schema_answers_without_credentials(client):
    response = client.get("/api/v1/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content[:500]
    assert "/api/v1/me" in response.content.decode()
