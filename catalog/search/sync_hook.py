"""Keeps the search index following the sync: a ``tables_changed`` receiver (connected in CatalogConfig.ready).

OpenSearch down must never fail a sync: the receiver marks the catalog's index
stale instead, and the next successful sync resends every table of the catalog
(``catalog.services.sync._catch_up_index``), so the next success catches up.
"""

from __future__ import annotations

import logging
from typing import Any

from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import TransportError

from catalog.models import GlueCatalog
from catalog.search import indexer

log = logging.getLogger(__name__)


def index_changed_tables(sender: Any, catalog_id: int | None = None, table_ids: list[int] | None = None,
                         refresh: bool = True, **kwargs: Any) -> None:
    """Index (or remove, for soft-deleted tables) the tables a committed sync batch changed."""
    if not table_ids and not refresh:
        return
    try:
        if table_ids:
            indexer.index_tables(table_ids, refresh=refresh)
        else:
            indexer.refresh()
    except (indexer.IndexUnavailable, OpenSearchConnectionError, TransportError, OSError) as exc:
        log.warning("search index missed %d tables of catalog %s, marked stale: %s", len(table_ids or []),
                    catalog_id, exc)
        stale = GlueCatalog.objects.all() if catalog_id is None else GlueCatalog.objects.filter(pk=catalog_id)
        stale.update(index_stale=True)
