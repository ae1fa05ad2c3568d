from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"

    def ready(self) -> None:
        from access import services
        from identity.services import grants_changed

        # A role lost takes back what was granted to it (the same hook as workspaces.role_loss).
        grants_changed.connect(services.on_grants_changed, dispatch_uid="access.role_loss")
