from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Data Hub Portal"

    def ready(self) -> None:
        from portal import signals  # noqa: F401  (connects the login handler)
