"""Shapes of access requests in /api/v1/."""

from __future__ import annotations

from rest_framework import serializers

from access.models import AccessRequest


class AccessRequestCreateSerializer(serializers.Serializer):
    dataset = serializers.CharField(max_length=511, help_text="DB.TABLE")
    columns = serializers.ListField(child=serializers.CharField(max_length=255), required=False, allow_empty=True,
                                    max_length=1000, help_text="Only these columns (optional; default the whole table)")
    purpose = serializers.CharField(max_length=2000)
    until = serializers.DateField(help_text="YYYY-MM-DD: the access ends after this day")


class ApproveSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=AccessRequest.Scope.choices, required=False,
                                    help_text="table, columns or tags (default: what was asked)")
    columns = serializers.ListField(child=serializers.CharField(max_length=255), required=False, max_length=1000)
    tag_expression = serializers.DictField(child=serializers.ListField(child=serializers.CharField(max_length=255)),
                                           required=False, help_text='{"TAG_KEY": ["value", ...]} for scope tags')


class RefuseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class AccessRequestSerializer(serializers.ModelSerializer):
    requester = serializers.CharField(source="requester.get_username", read_only=True)
    role = serializers.CharField(source="role_key", read_only=True)
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = AccessRequest
        fields = ["id", "dataset", "columns", "purpose", "until", "state", "reason", "role", "requester", "hub",
                  "scope", "tag_expression", "principal_arn", "decided_by", "decided_at", "granted_at",
                  "revoked_at", "expires_at", "created_at", "updated_at"]
        read_only_fields = fields

    def get_decided_by(self, obj: AccessRequest) -> str | None:
        return obj.decided_by.get_username() if obj.decided_by else None
