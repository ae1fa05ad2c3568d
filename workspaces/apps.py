from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"

    def ready(self) -> None:
        from catalog.signals import partitions_added
        from workspaces.notifications import on_partitions_added

        # New partitions found by the catalog sync become one new-data message per dataset and event.
        partitions_added.connect(on_partitions_added, dispatch_uid="workspaces.new_data_on_partitions")
