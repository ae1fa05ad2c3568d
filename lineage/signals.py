"""Signals lineage sends after a committed change, so data derived from lineage follows.

Sent from ``transaction.on_commit`` (never inside the writing transaction): curation propagation
(``catalog.services.propagation``) subscribes here instead of lineage calling it.
"""

from django.dispatch import Signal

# kwargs: pairs: list[tuple[int, int]] — (source, target) lineage dataset ids whose edges or column
# edges were created, changed or removed ((d, d) pairs: only the dataset's catalog link changed).
edges_changed = Signal()
