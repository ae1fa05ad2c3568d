"""Catalog sources: readers of a metadata catalog that yield typed records (``catalog.sources.glue``,
read by ``catalog.services.sync`` and ``catalog.services.partitions``)."""
