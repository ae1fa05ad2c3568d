"""The hourly cost estimate and the price table setting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from workspaces import prices

TABLE = {"ml.t3.medium": 0.05, "ml.m5.xlarge": 0.25, "emr": 1.0, "volume_gb_month": 0.73}


def test_the_estimate_adds_storage_per_hour_and_the_cluster():
    assert prices.hourly_cost(TABLE, "ml.t3.medium", 100, emr=False) == Decimal("0.1500")
    assert prices.hourly_cost(TABLE, "ml.t3.medium", 100, emr=True) == Decimal("1.1500")


def test_only_ml_types_are_offered_cheapest_first():
    assert prices.instance_types(TABLE) == ["ml.t3.medium", "ml.m5.xlarge"]


def test_a_price_table_without_instance_types_fails_loudly(settings):
    settings.WORKSPACE_PRICES = {"emr": 1.0}
    with pytest.raises(ImproperlyConfigured, match="WORKSPACE_PRICES"):
        prices.configured_prices()
    settings.WORKSPACE_PRICES = {"ml.t3.medium": "cheap"}
    with pytest.raises(ImproperlyConfigured):
        prices.configured_prices()
