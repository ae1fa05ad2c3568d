"""``{% usage_figures table as usage %}``: a table's 30-day usage for the dataset page's Data tab."""

from __future__ import annotations

from typing import Any

from django import template

from queries import usage

register = template.Library()


@register.simple_tag
def usage_figures(table: Any) -> dict[str, Any]:
    return usage.figures(table.pk)
