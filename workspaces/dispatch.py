"""The workspaces' queue: services call these to have a worker do something once their
transaction commits (right away when none is open).

The one module that knows the workspace tasks' names and arguments. Services import it,
never ``workspaces.tasks``; the tasks import the services. Each function imports the
tasks when called, so importing this module never imports them (no services ↔ tasks circle).
"""

from __future__ import annotations

from django.db import transaction


def provision(workspace_id: int) -> None:
    """Create the workspace's AWS resources."""
    from workspaces import tasks

    transaction.on_commit(lambda: tasks.provision_workspace.delay(workspace_id))


def follow(workspace_id: int) -> None:
    """Poll the workspace's AWS resources until they settle."""
    from workspaces import tasks

    transaction.on_commit(lambda: tasks.follow_workspace.delay(workspace_id))


def teardown(workspace_id: int) -> None:
    """Remove the workspace's AWS resources."""
    from workspaces import tasks

    transaction.on_commit(lambda: tasks.teardown_workspace.delay(workspace_id))


def reconcile_role_holdings(user_id: int) -> None:
    """Pause or resume what the user's roles hold (subscriptions, workspaces, their grants) on a
    worker: sent at once, the grants change has already committed."""
    from workspaces import tasks

    tasks.reconcile_role_holdings.delay(user_id)
