from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"

    def ready(self) -> None:
        from catalog.signals import partitions_added
        from workspaces.notifications import on_partitions_added

        # New partitions found by the catalog sync become one new-data message per dataset and event.
        partitions_added.connect(on_partitions_added, dispatch_uid="workspaces.new_data_on_partitions")

        from allauth.account.signals import user_logged_in

        from identity.services import grants_changed
        from workspaces import role_loss

        # A role lost pauses what was made in it, a role regained resumes it; the user is told at sign-in.
        grants_changed.connect(role_loss.on_grants_changed, dispatch_uid="workspaces.role_loss")
        user_logged_in.connect(role_loss.tell_at_sign_in, dispatch_uid="workspaces.role_loss_notice")
