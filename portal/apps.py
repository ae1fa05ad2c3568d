from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Data Hub Portal"

    def ready(self) -> None:
        from portal import schema  # noqa: F401  (the bearer-auth schema extension)
