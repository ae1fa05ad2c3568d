"""``python manage.py suggest_glossary_synonyms``: offer stewards the short forms the catalog uses beside a word."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from glossary.suggestions import refresh_suggestions


class Command(BaseCommand):
    help = ("Mine table and column names beside their descriptions and comments for short forms (rx beside "
            "pharmacy) and offer them on /glossary/suggestions/; nothing reaches search until a steward accepts one.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(self.style.SUCCESS(f"{refresh_suggestions()} new suggestion(s) offered to stewards."))
