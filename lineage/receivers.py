"""Signal receivers: lineage follows catalog changes without the sync calling it."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)


def on_tables_changed(sender: Any, *, table_ids: list[int], catalog_id: int | None = None, **kwargs: Any) -> None:
    """Re-link datasets and re-derive view lineage for tables the sync created, changed or deleted.

    A few tables (a single-table refresh, an EventBridge change) are followed at
    once; more than ``LINEAGE_INLINE_TABLES`` (a large sync's batches) go to a
    Celery task after commit, so parsing hundreds of views does not hold up the
    sync. A failure here is logged and never fails the sync (the next change of
    the table, or a re-sync, derives it again).
    """
    ids = list(table_ids)
    if not ids:  # "make earlier changes visible" (the end of a full sync): nothing to re-derive
        return
    if len(ids) > settings.LINEAGE_INLINE_TABLES:
        transaction.on_commit(partial(_enqueue, ids))
    else:
        _refresh_inline(ids)


def _refresh_inline(table_ids: list[int]) -> None:
    from lineage import services

    try:
        services.refresh_for_tables(table_ids)
    except Exception:  # noqa: BLE001 - derived data must not break the catalog sync
        log.exception("Lineage refresh failed for tables %s", table_ids[:20])


def _enqueue(table_ids: list[int]) -> None:
    from lineage import dispatch

    try:
        dispatch.refresh_for_tables(table_ids)
    except Exception:  # noqa: BLE001 - broker down: do the work here rather than lose it
        log.warning("Lineage refresh of %s tables could not be queued; refreshing inline", len(table_ids), exc_info=True)
        _refresh_inline(table_ids)
