"""``manage.py provision_pipeline ID``: provisions (or resumes) a pipeline in this process.

What a worker does for the provisioning chain, for an operator: steps already done are
skipped, a step held by a live lease elsewhere is left alone ('busy'), a step whose worker
died (lease lapsed) is taken over. Exits non-zero unless the pipeline ends ready.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ingestion_wizard import services
from ingestion_wizard.models import Pipeline, ProvisioningStep


class Command(BaseCommand):
    help = "Provisions (or resumes provisioning of) one ingestion pipeline in this process."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("pipeline_id", type=int)

    def handle(self, *args: Any, pipeline_id: int, **options: Any) -> None:
        pipeline = Pipeline.objects.filter(pk=pipeline_id).first()
        if pipeline is None:
            raise CommandError(f"No pipeline {pipeline_id}.")
        if services.stalled_steps(pipeline).exists() or pipeline.status == Pipeline.Status.FAILED:
            services.retry_provisioning(pipeline, user=None, enqueue=False)
        for key in ProvisioningStep.objects.filter(pipeline_id=pipeline_id).values_list("key", flat=True):
            try:
                outcome = services.provision_step(pipeline_id, key)
            except services.TransientAWSError as exc:
                raise CommandError(f"Step {key}: {exc} (transient; run the command again)") from None
            self.stdout.write(f"{key}: {outcome}")
        outcome = services.finish_provisioning(pipeline_id)
        self.stdout.write(f"pipeline: {outcome}")
        if Pipeline.objects.get(pk=pipeline_id).status != Pipeline.Status.READY:
            raise CommandError(f"Pipeline {pipeline_id} is not ready: {outcome}.")
