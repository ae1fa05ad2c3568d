"""Template helpers for the selection and subscribe buttons other pages include."""

from __future__ import annotations

from typing import Any

from django import template

from identity import roles
from identity.roles import current_role
from workspaces import selection

register = template.Library()


def _request(context: Any) -> Any:
    return context.get("request")


def _field(table: Any, name: str) -> Any:
    """Works for a catalog Table and for a search hit (a dict with the same keys)."""
    return table.get(name) if isinstance(table, dict) else getattr(table, name)


@register.simple_tag(takes_context=True)
def selection_count(context: Any) -> int:
    request = _request(context)
    session = getattr(request, "session", None)
    return len(selection.selected_ids(session)) if session is not None else 0


@register.simple_tag(takes_context=True)
def is_selected(context: Any, table: Any) -> bool:
    request = _request(context)
    session = getattr(request, "session", None)
    return session is not None and selection.is_selected(session, int(_field(table, "id")))


@register.simple_tag(takes_context=True)
def may_launch(context: Any) -> bool:
    request = _request(context)
    role = current_role(request) if request is not None else None
    return roles.may_launch(role)


@register.simple_tag(takes_context=True)
def is_subscribed(context: Any, table: Any) -> bool:
    request = _request(context)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    from workspaces.queries import subscriptions_for

    return subscriptions_for(user, current_role(request)).filter(dataset=_field(table, "qualified_name")).exists()
