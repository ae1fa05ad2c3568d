"""Telling a dataset's owners (users, and the members of owning teams) about changes to what they own.

By e-mail through Django's mail settings (``EMAIL_BACKEND``); called after commit, and trouble
sending only logs, so a notice never undoes the change it reports.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import networkx as nx
from django.conf import settings
from django.core.mail import send_mail

from catalog.models import DatasetOwner, Table

log = logging.getLogger(__name__)


def emails_of(owners: Iterable[DatasetOwner]) -> list[str]:
    emails: dict[str, None] = {}
    for owner in owners:
        people = [owner.user] if owner.user is not None else list(owner.team.user_set.all()) if owner.team else []
        for person in people:
            if person.email:
                emails.setdefault(person.email, None)
    return list(emails)


def notify_owners(table_id: int, what: str, actor: Any) -> int:
    """E-mail the dataset's owners that ``what`` changed (not the one who changed it); returns mails sent.
    Called after commit; mail trouble only logs."""
    table = Table.objects.filter(pk=table_id).first()
    if table is None:
        return 0
    owners = list(DatasetOwner.objects.filter(table=table).select_related("user", "team"))
    skip = getattr(actor, "email", "") or ""
    emails = [e for e in emails_of(owners) if e != skip]
    if not emails:
        return 0
    who = getattr(actor, "username", "") or "the portal"
    try:
        return send_mail(f"[Data Hub] {table.qualified_name} changed", f"{who} changed {table.qualified_name}: {what}.",
                         settings.DEFAULT_FROM_EMAIL, emails, fail_silently=False)
    except Exception:  # noqa: BLE001 - a notice must never undo the change it reports
        log.exception("could not tell the owners of %s about a change", table.qualified_name)
        return 0


def notify_deprecation(table_id: int, actor: Any) -> int:
    """E-mail the dataset's subscribers and the owners of every dataset downstream of it (lineage) that
    it is deprecated, with the reason, date and replacement; returns mails sent (trouble only logs)."""
    from lineage.models import Dataset
    from lineage.queries import current_graph
    from workspaces.models import Subscription

    table = Table.objects.select_related("curation").filter(pk=table_id).first()
    if table is None or not hasattr(table, "curation"):
        return 0
    cur = table.curation
    emails = dict.fromkeys(e for e in Subscription.objects.filter(table=table).values_list("user__email", flat=True) if e)
    dataset_id = Dataset.objects.filter(table=table).values_list("pk", flat=True).first()
    graph = current_graph() if dataset_id is not None else None
    if graph is not None and dataset_id in graph:
        downstream = Dataset.objects.filter(pk__in=list(nx.descendants(graph, dataset_id)), table__isnull=False)
        owners = DatasetOwner.objects.filter(table_id__in=downstream.values("table_id")).select_related("user", "team")
        emails.update(dict.fromkeys(emails_of(owners)))
    emails.pop(getattr(actor, "email", "") or "", None)
    if not emails:
        return 0
    body = (f"{table.qualified_name} is deprecated: {cur.deprecation_reason}"
            + (f"\nIt stops being maintained on {cur.deprecation_date:%Y-%m-%d}." if cur.deprecation_date else "")
            + (f"\nUse {cur.replacement} instead." if cur.replacement else ""))
    try:
        return send_mail(f"[Data Hub] {table.qualified_name} is deprecated", body, settings.DEFAULT_FROM_EMAIL,
                         list(emails), fail_silently=False)
    except Exception:  # noqa: BLE001 - a notice must never undo the change it reports
        log.exception("could not tell about the deprecation of %s", table.qualified_name)
        return 0
