"""The access requests' queue: services call these to have a worker do something once their
transaction commits (right away when none is open).

The one module that knows the access tasks' names; services import it, never ``access.tasks``.
"""

from __future__ import annotations

from django.db import transaction


def grant(request_id: int) -> None:
    """Grant what was approved in Lake Formation and read it back."""
    from access import tasks

    transaction.on_commit(lambda: tasks.grant_access.delay(request_id))


def revoke(request_id: int) -> None:
    """Revoke what was granted and check it is gone."""
    from access import tasks

    transaction.on_commit(lambda: tasks.revoke_access.delay(request_id))


def revoke_for_lost_roles(user_id: int) -> None:
    """Take back the grants of roles the user lost (the grants change has already committed)."""
    from access import tasks

    tasks.revoke_for_lost_roles.delay(user_id)
