"""Mark pipelines and workspaces whose AWS resources are gone as "resources missing".

``bin/run`` runs it at every start once its local AWS is up (moto keeps nothing across
restarts); on AWS it finds resources deleted behind the portal's back. Retry (pipelines) and
Re-create (workspaces) then provision them again.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Mark pipelines and workspaces whose AWS resources are gone as 'resources missing'."

    def handle(self, *args: Any, **options: Any) -> None:
        from ingestion_wizard import resource_check as pipeline_resources
        from workspaces import resource_check as workspace_resources

        pipelines, workspaces = pipeline_resources.mark_missing(), workspace_resources.mark_missing()
        if not pipelines and not workspaces:
            self.stdout.write("every pipeline's and workspace's AWS resources are there")
            return
        self.stdout.write(f"{len(pipelines)} pipeline(s) and {len(workspaces)} workspace(s) lost their AWS resources: "
                          "marked 'resources missing' (Retry or Re-create provisions them again)")
