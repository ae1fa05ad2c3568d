"""Shapes of glossary terms and imports in /api/v1/glossary/."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from glossary.models import Term
from glossary.services import MAX_FORM_CHARS, MAX_FORMS, MAX_LINKS, TermInput, as_input


class TextField(serializers.CharField):
    """A JSON string only (DRF's CharField would take 0 for "0": the schema says string)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TrueFalseField(serializers.BooleanField):
    """A JSON true or false only (DRF's BooleanField would take 0, "yes" …: the schema says boolean)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def _strings(max_length: int, limit: int, help_text: str) -> serializers.ListField:
    return serializers.ListField(child=TextField(max_length=max_length, allow_blank=True), required=False,
                                 max_length=limit, help_text=help_text)


class TermWriteSerializer(serializers.Serializer):
    name = TextField(max_length=200)
    definition = TextField(required=False, allow_blank=True, max_length=20_000)
    synonyms = _strings(MAX_FORM_CHARS, MAX_FORMS, "other names of the term")
    abbreviations = _strings(MAX_FORM_CHARS, MAX_FORMS, "short forms, e.g. rx")
    parent = TextField(required=False, allow_blank=True, max_length=200, help_text="the parent term's name")
    owner_hub = TextField(required=False, allow_blank=True, max_length=64,
                                      help_text="default: the caller's hub")
    state = serializers.ChoiceField(choices=Term.State.choices, required=False)
    datasets = _strings(765, MAX_LINKS, "database.table names the term means")
    columns = _strings(1020, MAX_LINKS, "database.table.column names the term means")

    def to_input(self, default_hub: str, base: TermInput | None = None) -> TermInput:
        """The TermInput to write: given fields over ``base`` (a PATCH), else over the defaults."""
        data = self.validated_data
        start = base or TermInput(name="", owner_hub=default_hub)
        values = {name: data.get(name, getattr(start, name)) for name in TermInput.__dataclass_fields__}
        values["owner_hub"] = values["owner_hub"] or default_hub
        return TermInput(**values)


class TermBriefSerializer(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent.name", default="", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Term
        fields = ["id", "name", "state", "owner_hub", "parent", "synonyms", "abbreviations", "url"]
        read_only_fields = fields

    def get_url(self, obj: Term) -> str:
        return f"/glossary/terms/{obj.pk}/"


class TermSerializer(TermBriefSerializer):
    datasets = serializers.SerializerMethodField()
    columns = serializers.SerializerMethodField()
    children = serializers.SerializerMethodField()

    class Meta(TermBriefSerializer.Meta):
        fields = [*TermBriefSerializer.Meta.fields, "definition", "datasets", "columns", "children", "created_at",
                  "updated_at"]
        read_only_fields = fields

    def get_datasets(self, obj: Term) -> list[str]:
        return as_input(obj).datasets

    def get_columns(self, obj: Term) -> list[str]:
        return as_input(obj).columns

    def get_children(self, obj: Term) -> list[str]:
        return list(obj.children.values_list("name", flat=True))


class ImportSerializer(serializers.Serializer):
    csv = TextField(max_length=20_000_000, help_text="the glossary CSV (as GET /api/v1/glossary/export gives)")
    apply = TrueFalseField(default=False, help_text="false: only show the diff; true: import it")


class ImportChangeSerializer(serializers.Serializer):
    name = serializers.CharField()
    changes = serializers.DictField(help_text='field → {"from", "to"}')


class ImportPlanSerializer(serializers.Serializer):
    added = ImportChangeSerializer(many=True)
    changed = ImportChangeSerializer(many=True)
    unchanged = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.CharField())
    applied = serializers.BooleanField()


class SynonymSuggestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    short_form = serializers.CharField()
    meaning = serializers.CharField()
    evidence = serializers.IntegerField()
    examples = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
