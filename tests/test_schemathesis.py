"""schemathesis drives the API with its own OpenAPI schema: generated requests (valid and, for its
negative checks, invalid ones) for every operation, as the admin's bearer token, with all of
schemathesis's checks. A status the schema does not list, a body that breaks the response schema,
a 5xx, a schema-violating request accepted or a valid one refused: each fails the test.

In process (WSGI), against the real services of the suite (PostgreSQL, moto, osmem); tasks a
request enqueues on commit never run (the test's transaction is rolled back). Examples per
operation are bounded so the whole run stays within the suite's budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from portal.testing.personas import PERSONAS, bearer, token_for

EXAMPLES_PER_OPERATION = 6


def _api_schema() -> Any:
    """The schema GET /api/v1/schema serves (the same generator and hooks), bound to the WSGI app."""
    from drf_spectacular.generators import SchemaGenerator

    loaded = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    loaded.app = get_wsgi_application()
    return loaded


schema = _api_schema()


# Requests the schema cannot tell from valid ones, refused for reasons outside any schema: which
# of two parameters names the node (either, not neither), whether a source database answers and
# its cron parses, whether an endpoint fits its protocol, keys of any depth of a lineage event's
# free-form facets bounded and without NUL (portal.limits). Their refusals are a 400 naming the
# field (their own tests); every other check still runs on them.
BEYOND_THE_SCHEMA = {
    ("GET", "/api/v1/lineage/graph"), ("GET", "/api/v1/lineage/impact"), ("POST", "/api/v1/lineage"),
    ("POST", "/api/v1/pipelines"), ("POST", "/api/v1/subscriptions"), ("POST", "/api/v1/workspaces"),
    # ?catalog= must name an existing catalog (an unknown filter value is a 400, issue 21).
    ("GET", "/api/v1/catalog/sync-runs"),
    # Owners must name portal users or teams, a replacement an existing dataset, a decision pending
    # proposals (issue 24).
    ("PATCH", "/api/v1/datasets/{qualified_name}"), ("PATCH", "/api/v1/datasets/{qualified_name}/columns/{column}"),
    ("POST", "/api/v1/curation/proposals/decide"),
    # A glossary term's parent must exist, its name be free and its hub the role's; an import's CSV must
    # parse into such terms (issue 15).
    ("POST", "/api/v1/glossary/terms"), ("PUT", "/api/v1/glossary/terms/{id}"),
    ("PATCH", "/api/v1/glossary/terms/{id}"), ("POST", "/api/v1/glossary/import"),
    # The term list's free words may hold anything but a NUL (portal.limits refuses it with a 400).
    ("GET", "/api/v1/glossary/terms"),
    # Only one SELECT (or WITH … SELECT) over DATABASE.TABLE names is run (issue 18): any other SQL is a
    # 400 with the reason.
    ("POST", "/api/v1/queries"),
    # Only a consumer role asks for access (the admin token gets 403), for a dataset that exists, with an
    # end date ahead (issue 17); deciding needs a request of the role's hub in the right state.
    ("POST", "/api/v1/access-requests"), ("POST", "/api/v1/access-requests/{id}/approve"),
    ("POST", "/api/v1/access-requests/{id}/refuse"),
}


@pytest.fixture
def admin_token(db: None, aws_endpoint: str, search: str, settings: Any) -> Iterator[str]:
    # schemathesis sends a bad token with every operation (its auth check): over a whole run the
    # bad-token limit would answer 429 (documented, and tested in identity/tests/test_tokens.py).
    settings.BAD_TOKEN_LIMIT = settings.BAD_TOKEN_ADDRESS_LIMIT = 10**6
    # As Django's test client does: the WSGI handler must not close the connection that holds the
    # test's transaction at the end of each request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield token_for("admin", PERSONAS["admin"])
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_schema(case: Any, admin_token: str) -> None:
    headers = {"Authorization": bearer(admin_token)["HTTP_AUTHORIZATION"]}
    beyond = (case.operation.method.upper(), case.operation.path) in BEYOND_THE_SCHEMA
    case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance] if beyond else None)
