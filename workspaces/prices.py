"""Hourly cost estimate of a workspace from the WORKSPACE_PRICES table (pure, no AWS).

The table maps notebook instance types (``ml.*``) to USD per hour; ``emr`` is the
hourly price of the attached EMR cluster as the portal sizes it, and
``volume_gb_month`` the price of one GB of notebook storage per month.
Only the listed instance types may be launched.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

HOURS_PER_MONTH = Decimal(730)

DEFAULT_PRICES: dict[str, float] = {
    # On-demand eu-central-1 list prices, rounded; override with WORKSPACE_PRICES.
    "ml.t3.medium": 0.058,
    "ml.t3.large": 0.116,
    "ml.t3.xlarge": 0.233,
    "ml.m5.xlarge": 0.269,
    "ml.m5.2xlarge": 0.538,
    "ml.c5.xlarge": 0.238,
    "emr": 0.864,  # 1 master + 2 core m5.xlarge with the EMR fee
    "volume_gb_month": 0.14,
}


def instance_types(prices: dict[str, Any]) -> list[str]:
    """Instance types a consumer may choose, cheapest first."""
    return sorted((k for k in prices if k.startswith("ml.")), key=lambda k: (Decimal(str(prices[k])), k))


def hourly_cost(prices: dict[str, Any], instance_type: str, volume_gb: int, emr: bool) -> Decimal:
    """USD per hour while running. Raises KeyError for an instance type not in the table."""
    cost = Decimal(str(prices[instance_type]))
    cost += Decimal(str(prices.get("volume_gb_month", 0))) * volume_gb / HOURS_PER_MONTH
    if emr:
        cost += Decimal(str(prices.get("emr", 0)))
    return cost.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def configured_prices() -> dict[str, Any]:
    """WORKSPACE_PRICES from settings (DEFAULT_PRICES when unset), checked so a typo fails loudly."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    prices = settings.WORKSPACE_PRICES if settings.WORKSPACE_PRICES is not None else DEFAULT_PRICES
    numbers = isinstance(prices, dict) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in prices.values()
    )
    if not numbers or not instance_types(prices):
        raise ImproperlyConfigured(
            'WORKSPACE_PRICES must be a JSON object of non-negative numbers with at least one "ml.*" type, '
            'e.g. {"ml.t3.medium": 0.058, "emr": 0.864, "volume_gb_month": 0.14}'
        )
    return prices
