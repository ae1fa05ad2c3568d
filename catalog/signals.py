"""Signals the catalog sends after a committed change, so derived data follows.

Sent from ``transaction.on_commit`` by the sync service (never inside a
transaction): the search indexer, view-SQL lineage and new-data notifications
subscribe here instead of being called by the sync code.
"""

from django.dispatch import Signal

# kwargs: catalog_id: int | None, table_ids: list[int] (created, updated or soft-deleted tables),
# refresh: bool (False for a full sync's groups but its last: a refresh per group makes the index
# merge small segments over and over; the last group, possibly with no ids, asks for one refresh
# so the whole sync is searchable when the run ends)
tables_changed = Signal()

# kwargs: table_id: int, partitions: list[dict] ({"values": [...], "location": str}) newly seen in Glue
partitions_added = Signal()
