"""Forms of the workspace pages; they only parse input, the services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from workspaces import prices
from workspaces.models import Subscription
from workspaces.services import MAX_VOLUME_GB, MIN_VOLUME_GB


class LaunchForm(forms.Form):
    datasets = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, help_text="From your selection.")
    instance_type = forms.ChoiceField(help_text="Notebook instance type; price per hour while running.")
    volume_gb = forms.IntegerField(label="Volume (GB)", initial=20, min_value=MIN_VOLUME_GB, max_value=MAX_VOLUME_GB)
    emr = forms.BooleanField(label="Attach an EMR cluster running Spark", required=False)

    def __init__(self, *args: Any, dataset_names: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["datasets"].choices = [(n, n) for n in dataset_names]
        self.fields["datasets"].initial = dataset_names
        table = prices.configured_prices()
        self.fields["instance_type"].choices = [
            (t, f"{t} — ${table[t]:.3f}/h") for t in prices.instance_types(table)
        ]
        self.fields["instance_type"].initial = prices.instance_types(table)[0]


class SubscriptionForm(forms.Form):
    dataset = forms.CharField(max_length=511, help_text="database.table")
    protocol = forms.ChoiceField(choices=Subscription.Protocol.choices)
    endpoint = forms.CharField(max_length=2048, help_text="An SQS queue ARN or an e-mail address.")
