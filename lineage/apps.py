from django.apps import AppConfig


class LineageConfig(AppConfig):
    name = "lineage"

    def ready(self) -> None:
        from catalog.signals import tables_changed
        from lineage import receivers

        tables_changed.connect(receivers.on_tables_changed, dispatch_uid="lineage.tables_changed")
