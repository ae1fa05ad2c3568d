"""Forms of the identity pages: the local login (refused when local accounts are off) and tokens."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm as AllauthLoginForm
from django import forms
from django.conf import settings

from identity.roles import Role
from identity.services import MAX_TOKEN_DAYS

LOCAL_ACCOUNTS_OFF = "Local accounts are disabled here; sign in with your company account."


class LoginForm(AllauthLoginForm):
    def clean(self) -> Any:
        if not settings.ALLOW_LOCAL_ACCOUNTS:
            raise forms.ValidationError(LOCAL_ACCOUNTS_OFF)
        return super().clean()


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'nightly export job'.")
    role = forms.ChoiceField(help_text="The token acts in this role only.")
    days = forms.IntegerField(min_value=1, max_value=MAX_TOKEN_DAYS, initial=90, help_text="Valid for this many days.")
    write = forms.BooleanField(required=False, label="Allow writes by AI agents (MCP)",
                               help_text="Lets an agent using this token curate and tag datasets your role may curate.")

    def __init__(self, *args: Any, roles: list[Role], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(r.key, r.label) for r in roles]
