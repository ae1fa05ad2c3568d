"""Shapes of the queries API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from queries.models import Query


class QueryCreateSerializer(serializers.Serializer):
    sql = serializers.CharField(max_length=100_000, trim_whitespace=True)


class QuerySerializer(serializers.ModelSerializer):
    """A query's state (``error`` only when it failed), duration and figures; the rows come by page."""

    seconds = serializers.FloatField(read_only=True, allow_null=True)
    error = serializers.SerializerMethodField()

    class Meta:
        model = Query
        fields = ["id", "sql", "state", "error", "engine", "role_key", "submitted_at", "started_at", "finished_at",
                  "seconds", "bytes_scanned", "row_count", "truncated"]

    def get_error(self, query: Query) -> str | None:
        return query.error if query.state == Query.State.FAILED else None

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        if data["error"] is None:
            del data["error"]
        return data


class PreviewSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField())
    masked = serializers.ListField(child=serializers.CharField())


class ResultPageSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField())
    next = serializers.IntegerField(allow_null=True)
