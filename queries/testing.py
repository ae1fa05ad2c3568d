"""Helpers for query tests: the small demo lake in moto (real Parquet/CSV/JSON objects) mirrored into the
catalog, so both engines read what the catalog and S3 hold.

Who may see what (portal.testing.personas): finance roles read ``finance_*`` (hub-only source and
prepared) and every public semantic view; the marketing consumer reads marketing's and the public views.
"""

from __future__ import annotations

from catalog.demo_lake import LakePlan
from catalog.services.sync import ensure_catalogs, full_sync
from catalog.testing import seed_small_lake


def mirrored_small_lake() -> LakePlan:
    """Seed the small demo lake into the configured (moto) endpoint and mirror it; returns the plan."""
    plan = seed_small_lake()
    for catalog in ensure_catalogs():
        full_sync(catalog)
    return plan
