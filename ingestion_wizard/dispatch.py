"""Ingestion's queue: services call these to have a worker do something once their
transaction commits (right away when none is open).

The one module that knows the ingestion tasks' names and arguments. Services import it,
never ``ingestion_wizard.tasks``; the tasks import the services. Each function imports the
tasks when called, so importing this module never imports them (no services ↔ tasks circle).
"""

from __future__ import annotations

from django.db import transaction

from ingestion_wizard.models import ProvisioningStep


def provision(pipeline_id: int) -> None:
    """Run the pipeline's provisioning steps in order as one Celery chain, then finish it."""

    def send() -> None:
        from celery import chain

        from ingestion_wizard import tasks

        keys = list(ProvisioningStep.objects.filter(pipeline_id=pipeline_id).values_list("key", flat=True))
        chain(*[tasks.provision_step.si(pipeline_id, key) for key in keys],
              tasks.finish_provisioning.si(pipeline_id)).apply_async()

    transaction.on_commit(send)


def teardown(pipeline_id: int) -> None:
    """Remove the pipeline's resources, last first."""
    from ingestion_wizard import tasks

    transaction.on_commit(lambda: tasks.teardown_pipeline.delay(pipeline_id))


def execute_run(run_id: int) -> None:
    """Execute a queued run."""
    from ingestion_wizard import tasks

    transaction.on_commit(lambda: tasks.execute_run.delay(run_id))


def follow_glue_run(run_id: int) -> None:
    """Poll a run's Glue job run until it ends."""
    from ingestion_wizard import tasks

    transaction.on_commit(lambda: tasks.follow_glue_run.delay(run_id))
