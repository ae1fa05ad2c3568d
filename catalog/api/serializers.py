"""Input and output shapes of the catalog API (search answers are plain dicts: a hot path)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from catalog.models import CLASSIFICATIONS
from catalog.services.curation import CurationInput


class CurationSerializer(serializers.Serializer):
    """PATCH body of a dataset's curation; omitted fields keep their value."""

    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000, trim_whitespace=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=30)
    owner = serializers.CharField(required=False, allow_blank=True, max_length=255)
    classification = serializers.ChoiceField(choices=("", *CLASSIFICATIONS), required=False, allow_blank=True)
    pii_columns = serializers.ListField(child=serializers.CharField(max_length=255), required=False)

    def to_input(self) -> CurationInput:
        data: dict[str, Any] = self.validated_data
        return CurationInput(**{k: data.get(k) for k in ("description", "tags", "owner", "classification", "pii_columns")})


def dataset_json(detail: dict[str, Any]) -> dict[str, Any]:
    """The API shape of ``catalog.queries.dataset_detail`` (datetimes as ISO strings)."""
    def iso(value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else value

    out = {k: iso(v) for k, v in detail.items() if k != "curation"}
    out["columns"] = [
        {"name": c["name"], "type": c["type"], "comment": c["comment"], "partition_key": c["partition_key"], "pii": c["pii"],
         "lf_tags": c.get("lf_tags", {})}
        for c in detail["columns"]
    ]
    out["curation"] = {k: iso(v) for k, v in detail["curation"].items()}
    out["tags"] = out["curation"]["tags"]
    out["pii_columns"] = out["curation"]["pii_columns"]
    return out


def versions_json(qualified_name: str, versions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "qualified_name": qualified_name,
        "versions": [
            {**v, "updated_at": v["updated_at"].isoformat() if v["updated_at"] else None,
             "recorded_at": v["recorded_at"].isoformat() if v["recorded_at"] else None}
            for v in versions
        ],
    }


# --- Response shapes, for the OpenAPI schema (/api/v1/docs); the views answer plain dicts. ---

class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField()
    count = serializers.IntegerField()


class MatchedColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    comment = serializers.CharField()


class _TableSerializer(serializers.Serializer):
    """Fields a search result and a dataset detail share."""

    id = serializers.IntegerField()
    qualified_name = serializers.CharField(help_text="database.table")
    database = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(help_text="curated, else Glue's")
    table_type = serializers.CharField()
    format = serializers.CharField()
    location = serializers.CharField()
    owner = serializers.CharField()
    classification = serializers.CharField()
    hub = serializers.CharField()
    layer = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)


class SearchResultSerializer(_TableSerializer):
    score = serializers.FloatField(allow_null=True, help_text="null in browse order (empty query)")
    highlight = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                      help_text="field → HTML fragments, matched words in <em>")
    matched_columns = MatchedColumnSerializer(many=True)


class SearchPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = SearchResultSerializer(many=True)
    facets = serializers.DictField(child=FacetValueSerializer(many=True),
                                   help_text="database, table_type, format, owner, classification, hub, layer, lf_tag")


class SuggestionSerializer(serializers.Serializer):
    qualified_name = serializers.CharField()
    name = serializers.CharField()
    database = serializers.CharField()


class SuggestPageSerializer(serializers.Serializer):
    suggestions = SuggestionSerializer(many=True)


class ColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    comment = serializers.CharField()
    partition_key = serializers.BooleanField()
    pii = serializers.BooleanField()
    lf_tags = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                    help_text="Lake Formation tags of the column beyond its table's: {key: [values]}")


class DatasetSerializer(_TableSerializer):
    lf_tags = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                    help_text="Effective Lake Formation tags (inherited included): {key: [values]}")
    parameters = serializers.DictField()
    created_at = serializers.DateTimeField(allow_null=True)
    view_sql = serializers.CharField(help_text="Names of tables outside the caller's role are masked")
    view_sql_masked = serializers.BooleanField(help_text="True when names in view_sql were masked")
    columns = ColumnSerializer(many=True)
    partition_keys = serializers.ListField(child=serializers.CharField())
    tags = serializers.ListField(child=serializers.CharField())
    pii_columns = serializers.ListField(child=serializers.CharField())
    curation = serializers.DictField(help_text="description, tags, owner, classification, pii_columns, updated_by, updated_at")


class VersionSerializer(serializers.Serializer):
    version_id = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)
    recorded_at = serializers.DateTimeField(allow_null=True)
    columns = serializers.ListField(child=serializers.DictField())
    diff = serializers.DictField(help_text="added, removed, type_changed [{name, from, to}], first_seen")


class VersionsPageSerializer(serializers.Serializer):
    qualified_name = serializers.CharField()
    versions = VersionSerializer(many=True)
