"""``{% usage_figures table as usage %}`` (dataset page) and ``{% popular_datasets role as popular %}`` (home page)."""

from __future__ import annotations

from typing import Any

from django import template

from queries import usage

register = template.Library()


@register.simple_tag
def usage_figures(table: Any) -> dict[str, Any]:
    return usage.figures(table.pk)


@register.simple_tag
def popular_datasets(role: Any) -> list[dict[str, Any]]:
    """The most read datasets (30 days) among those the role sees, for the home page."""
    from catalog.models import Table

    ranked = usage.popular(Table.objects.visible_to(role).values("pk"))
    tables = {t.pk: t.qualified_name
              for t in Table.objects.filter(pk__in=[pk for pk, _ in ranked]).only("database_name", "name")}
    return [{"qualified_name": tables[pk], "reads": reads} for pk, reads in ranked if pk in tables]
