"""Template helpers of the catalog pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.template.loader import get_template
from django.template.exceptions import TemplateDoesNotExist
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def optional_include(context: template.Context, name: str) -> SafeString:
    """Render ``name`` with the current context if some app provides it, else nothing.

    Slots other features fill (lineage tab, workspace selection button) render even
    before those templates exist.
    """
    try:
        tmpl = get_template(name)
    except TemplateDoesNotExist:
        return mark_safe("")
    return mark_safe(tmpl.render(context.flatten(), context.get("request")))


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes: Any) -> str:
    """The current query string with ``changes`` applied (None removes a key); page resets unless given."""
    request = context["request"]
    params = request.GET.copy()
    if "page" not in changes:
        params.pop("page", None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + params.urlencode()


@register.simple_tag(takes_context=True)
def toggle_facet(context: template.Context, facet: str, value: str) -> str:
    """The query string with ``facet=value`` added, or removed when already chosen (OR within a facet)."""
    params = context["request"].GET.copy()
    params.pop("page", None)
    chosen = params.getlist(facet)
    params.setlist(facet, [v for v in chosen if v != value] if value in chosen else [*chosen, value])
    return "?" + params.urlencode()


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.simple_tag
def browse_link(**params: str) -> str:
    return "/browse?" + urlencode({k: v for k, v in params.items() if v})
