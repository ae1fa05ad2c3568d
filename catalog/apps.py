from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        from catalog import signals
        from catalog.search.sync_hook import index_changed_tables

        signals.tables_changed.connect(index_changed_tables, dispatch_uid="catalog.search.sync_hook")
