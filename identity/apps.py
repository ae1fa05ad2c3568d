from django.apps import AppConfig


class IdentityConfig(AppConfig):
    """Who is signed in and in which role: SSO, roles from groups, personal tokens, the audit trail."""

    name = "identity"
    verbose_name = "Identity and roles"

    def ready(self) -> None:
        from identity import signals  # noqa: F401  (the login handler)
