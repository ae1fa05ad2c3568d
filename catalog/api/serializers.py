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
        {"name": c["name"], "type": c["type"], "comment": c["comment"], "partition_key": c["partition_key"], "pii": c["pii"]}
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
