"""Telling a dataset's owners (users, and the members of owning teams) about changes to what they own.

By e-mail through Django's mail settings (``EMAIL_BACKEND``); called after commit, and trouble
sending only logs, so a notice never undoes the change it reports.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

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
