"""Every write of the catalog app: one module per concern.

- ``sync``: full reconcile and incremental refresh of the Glue mirror (``full_sync``, ``refresh_tables``).
- ``partitions``: the partition pass after a full sync (``sync_partitions``).
- ``mirror``: the bulk writes a sync batch makes.
- ``runs``: the sync claim, progress and outcome.
- ``operations``: "Sync now" with its audit record, and table refreshes other apps ask for.
- ``events``: Glue change events from SQS, turned into refreshes.
- ``schedules``: the beat schedule of the sync tasks.
- ``curation``: steward curation of datasets (search feature).
"""
