"""Signal receivers: lineage follows catalog changes without the sync calling it."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def on_tables_changed(sender: Any, *, table_ids: list[int], catalog_id: int | None = None, **kwargs: Any) -> None:
    """Re-link datasets and re-derive view lineage for tables the sync created, changed or deleted.

    Runs after the sync's commit; a failure here is logged and never fails the sync
    (the next change of the table, or a re-sync, derives it again).
    """
    from lineage import services

    try:
        services.refresh_for_tables(list(table_ids))
    except Exception:  # noqa: BLE001 - derived data must not break the catalog sync
        log.exception("Lineage refresh failed for tables %s", table_ids[:20])
