"""Glossary state: business terms with their words, hierarchy, owner hub, state and links.

Links name datasets and columns by their catalog names (``database.table`` and a column name),
not by row ids: a glossary outlives re-syncs of the mirror, imports before the first sync
keep their links, and an exported CSV round-trips exactly.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class Term(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        DEPRECATED = "deprecated", "Deprecated"

    name = models.CharField(max_length=200)
    definition = models.TextField(blank=True)
    synonyms = models.JSONField(default=list, blank=True, help_text="Other names of the term, as people say them")
    abbreviations = models.JSONField(default=list, blank=True, help_text="Short forms (rx, dx, ed …)")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    owner_hub = models.CharField(max_length=64, db_index=True, help_text="The hub whose stewards keep the term")
    state = models.CharField(max_length=12, choices=State.choices, default=State.DRAFT, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="uniq_glossary_term_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def forms(self) -> list[str]:
        """Every way the term is written: its name, synonyms and abbreviations."""
        return [self.name, *self.synonyms, *self.abbreviations]


class TermLink(models.Model):
    """A term means this dataset (``column_name`` blank) or this column of it."""

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="links")
    database_name = models.CharField(max_length=255)
    table_name = models.CharField(max_length=255)
    column_name = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["database_name", "table_name", "column_name"]
        constraints = [models.UniqueConstraint(fields=["term", "database_name", "table_name", "column_name"],
                                               name="uniq_glossary_link")]
        indexes = [models.Index(fields=["database_name", "table_name"], name="glossary_link_table")]

    @property
    def qualified_name(self) -> str:
        return f"{self.database_name}.{self.table_name}"


class SynonymSuggestion(models.Model):
    """A short form the catalog itself uses beside a word (``rx`` beside ``pharmacy``), offered to
    stewards; nothing reaches search until a steward accepts it into a term."""

    class Status(models.TextChoices):
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"

    short_form = models.CharField(max_length=64)
    meaning = models.CharField(max_length=200)
    evidence = models.PositiveIntegerField(default=0, help_text="Columns and tables where both appear together")
    examples = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OFFERED, db_index=True)
    term = models.ForeignKey(Term, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-evidence", "short_form"]
        constraints = [models.UniqueConstraint(fields=["short_form", "meaning"], name="uniq_glossary_suggestion")]
