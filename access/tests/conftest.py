"""Fixtures of the access tests: the workspaces tests' small catalog (with columns), IAM roles mapped per
role, and clients per persona calling with their tokens.

Who may see what (portal.testing.personas, workspaces.tests.conftest):
- finance consumer: ``finance_curated.invoices`` (finance hub-only), ``shared.fx_rates`` (public); asks for access;
- finance steward: decides requests for finance's datasets (both of those); marketing steward: marketing's only;
- marketing consumer: ``shared.fx_rates``, ``marketing_raw.campaigns``; its role maps to no IAM role unless said;
- admin: sees and decides everything.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from catalog.models import Column, Table
from identity.roles import Role
from portal.testing.personas import PERSONAS, token_for
from workspaces.tests.conftest import lake  # noqa: F401 - the shared small catalog
from workspaces.tests.test_role_loss import api, eager  # noqa: F401 - eager Celery, token clients

FINANCE_READERS = "arn:aws:iam::123456789012:role/finance-readers"
ROLE_ARNS = {"consumer:finance": FINANCE_READERS}
INVOICE_COLUMNS = ("invoice_id", "amount", "customer_email")


@pytest.fixture(autouse=True)
def role_arns() -> Iterator[dict[str, str]]:
    """Only the finance consumer role maps to an IAM role; nothing falls back to a default ARN."""
    with override_settings(AWS_ROLE_ARNS=ROLE_ARNS, ACCESS_DEFAULT_ROLE_ARNS=False):
        yield ROLE_ARNS


@pytest.fixture
def invoices(lake: dict[str, Table]) -> Table:  # noqa: F811
    table = lake["invoices"]
    Column.objects.bulk_create(Column(table=table, name=name, type="string", position=i)
                               for i, name in enumerate(INVOICE_COLUMNS))
    return table


def as_persona(name: str) -> APIClient:
    return api(token_for(name, PERSONAS[name]))


@pytest.fixture
def consumer(db: None) -> APIClient:
    return as_persona("finance_consumer")


@pytest.fixture
def steward(db: None) -> APIClient:
    return as_persona("finance_steward")


@pytest.fixture
def admin(db: None) -> APIClient:
    return as_persona("admin")


@pytest.fixture
def marketing_steward(db: None) -> APIClient:
    return api(token_for("marketing_steward", Role("steward", "marketing")))
