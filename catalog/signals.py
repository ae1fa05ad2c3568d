"""Signals the catalog sends after a committed change, so derived data follows.

Sent from ``transaction.on_commit`` by the sync service (never inside a
transaction): the search indexer, view-SQL lineage and new-data notifications
subscribe here instead of being called by the sync code.
"""

from django.dispatch import Signal

# kwargs: catalog_id: int | None, table_ids: list[int] (created, updated or soft-deleted tables),
# refresh: bool (False from a full sync's batches: visible within the index's refresh interval
# is enough there, and a refresh per batch makes the index merge small segments over and over)
tables_changed = Signal()

# kwargs: table_id: int, partitions: list[dict] ({"values": [...], "location": str}) newly seen in Glue
partitions_added = Signal()
