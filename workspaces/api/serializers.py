"""Shapes of workspaces, subscriptions and notifications in /api/v1/."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from workspaces.models import Notification, Subscription, Workspace


class WorkspaceCreateSerializer(serializers.Serializer):
    datasets = serializers.ListField(child=serializers.CharField(max_length=511), allow_empty=False)
    instance_type = serializers.CharField(max_length=64, default="ml.t3.medium")
    volume_gb = serializers.IntegerField(default=20)
    emr = serializers.BooleanField(default=False)


class WorkspaceSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.get_username", read_only=True)
    datasets = serializers.SerializerMethodField()
    hourly_cost = serializers.FloatField(read_only=True)

    class Meta:
        model = Workspace
        fields = ["id", "name", "owner", "status", "status_reason", "datasets", "instance_type", "volume_gb", "emr",
                  "emr_cluster_id", "hourly_cost", "notebook_url", "role_arn", "created_at", "updated_at",
                  "last_activity_at", "deleted_at", "suspended_at"]
        read_only_fields = fields

    def get_datasets(self, obj: Workspace) -> list[str]:
        return obj.dataset_names


class SubscriptionCreateSerializer(serializers.Serializer):
    dataset = serializers.CharField(max_length=511)
    protocol = serializers.ChoiceField(choices=["sqs", "email"])
    endpoint = serializers.CharField(max_length=2048)


class SubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Subscription
        fields = ["id", "dataset", "protocol", "endpoint", "topic_arn", "subscription_arn", "created_at", "paused_at"]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    time = serializers.DateTimeField(source="at", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "dataset", "partition", "rows", "time", "source", "message_id"]
        read_only_fields = fields

    def to_representation(self, instance: Notification) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["partition"] = data["partition"] or None
        return data
