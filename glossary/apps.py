from django.apps import AppConfig


class GlossaryConfig(AppConfig):
    """The business glossary: terms stewards keep, linked to datasets and columns (issue 15)."""

    name = "glossary"
