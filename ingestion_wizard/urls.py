"""HTML routes of the ingestion_wizard app (mounted at /ingestion/)."""

from django.urls import path

from ingestion_wizard import views

app_name = "ingestion_wizard"
urlpatterns: list = [
    path("", views.index, name="index"),
    path("new/", views.new_draft, name="new"),
    path("cron-preview/", views.cron_preview, name="cron-preview"),
    path("drafts/<int:draft_id>/", views.resume_draft, name="wizard"),
    path("drafts/<int:draft_id>/discard/", views.discard_draft, name="discard"),
    path("drafts/<int:draft_id>/test-connection/", views.test_connection, name="test-connection"),
    path("drafts/<int:draft_id>/<str:step>/", views.wizard_view, name="wizard-step"),
    path("pipelines/<int:pk>/", views.pipeline_detail, name="pipeline"),
    path("pipelines/<int:pk>/progress/", views.pipeline_progress, name="progress"),
    path("pipelines/<int:pk>/runs/", views.pipeline_runs, name="runs"),
    path("pipelines/<int:pk>/runs/<int:run_id>/", views.run_detail, name="run"),
    path("pipelines/<int:pk>/terraform/", views.terraform_export, name="terraform"),
    path("pipelines/<int:pk>/<str:action>/", views.pipeline_action, name="action"),
]
