from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        from catalog import signals
        from catalog.search.sync_hook import index_changed_tables

        signals.tables_changed.connect(index_changed_tables, dispatch_uid="catalog.search.sync_hook")
        from catalog.services.propagation import on_lineage_changed
        from lineage.signals import edges_changed

        edges_changed.connect(on_lineage_changed, dispatch_uid="catalog.propagation.lineage")
