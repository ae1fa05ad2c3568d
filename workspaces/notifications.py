"""New-data notifications per dataset over SNS (owned by the workspaces/subscriptions feature).

Contract: ``publish_new_data`` sends one message per dataset per event to the
dataset's SNS topic and records it for the in-portal feed; ``ensure_dataset_topic``
returns the topic ARN (creating it idempotently).
"""

from __future__ import annotations

from datetime import datetime


def ensure_dataset_topic(qualified_name: str) -> str:
    """The SNS topic ARN for ``database.table`` (created if missing)."""
    raise NotImplementedError


def publish_new_data(qualified_name: str, *, partition: str | None = None, rows: int | None = None,
                     at: datetime | None = None, source: str = "") -> None:
    """Announce new data in ``database.table``. Placeholder until subscriptions land."""
    return None
