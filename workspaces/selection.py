"""The consumer's dataset selection, kept in the session until a workspace is launched.

Only table ids live in the session; reading always goes through the role
filter, so a role switch never exposes a dataset the new role may not see.
"""

from __future__ import annotations

from typing import Any

from catalog.models import Table
from identity.roles import Role

SESSION_KEY = "workspace_selection"
MAX_SELECTED = 20  # same as services.MAX_DATASETS: everything selected can be launched


def selected_ids(session: Any) -> list[int]:
    return [int(i) for i in session.get(SESSION_KEY, [])]


def selected_tables(session: Any, role: Role | None) -> list[Table]:
    ids = selected_ids(session)
    tables = {t.pk: t for t in Table.objects.visible_to(role).filter(pk__in=ids)}
    return [tables[i] for i in ids if i in tables]


def is_selected(session: Any, table_id: int) -> bool:
    return table_id in selected_ids(session)


def add(session: Any, table_id: int) -> bool:
    """Add a table id; False when the selection is full."""
    ids = selected_ids(session)
    if table_id in ids:
        return True
    if len(ids) >= MAX_SELECTED:
        return False
    session[SESSION_KEY] = [*ids, table_id]
    return True


def remove(session: Any, table_id: int) -> None:
    session[SESSION_KEY] = [i for i in selected_ids(session) if i != table_id]


def clear(session: Any) -> None:
    session[SESSION_KEY] = []
