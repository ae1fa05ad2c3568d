"""REST routes of the ingestion_wizard app, mounted under /api/v1/."""

from django.urls import path

from ingestion_wizard.api import views

urlpatterns: list = [
    path("pipelines", views.PipelineListView.as_view(), name="api-pipelines"),
    path("pipelines/<int:pk>", views.PipelineDetailView.as_view(), name="api-pipeline"),
    path("pipelines/<int:pk>/pause", views.PipelineActionView.as_view(action="pause"), name="api-pipeline-pause"),
    path("pipelines/<int:pk>/resume", views.PipelineActionView.as_view(action="resume"), name="api-pipeline-resume"),
    path("pipelines/<int:pk>/retry", views.PipelineActionView.as_view(action="retry"), name="api-pipeline-retry"),
    path("pipelines/<int:pk>/reset-incremental", views.PipelineActionView.as_view(action="reset-incremental"),
         name="api-pipeline-reset-incremental"),
    path("pipelines/<int:pk>/provisioning", views.ProvisioningView.as_view(), name="api-pipeline-provisioning"),
    path("pipelines/<int:pk>/runs", views.RunListView.as_view(), name="api-pipeline-runs"),
    path("pipelines/<int:pk>/runs/<int:run_id>", views.RunDetailView.as_view(), name="api-pipeline-run"),
]
