"""REST routes of the catalog app, mounted under /api/v1/."""

from django.urls import path

from catalog.api import views, views_sync

urlpatterns: list = [
    path("catalog/sync-runs", views_sync.SyncRunsView.as_view(), name="api-sync-runs"),
    path("catalog/sync-runs/<int:pk>", views_sync.SyncRunView.as_view(), name="api-sync-run"),
    path("catalog/sync-runs/<int:pk>/confirm", views_sync.SyncRunConfirmView.as_view(), name="api-sync-run-confirm"),
    path("search", views.SearchView.as_view(), name="api-search"),
    path("search/suggest", views.SuggestView.as_view(), name="api-search-suggest"),
    path("datasets/<str:qualified_name>", views.DatasetView.as_view(), name="api-dataset"),
    path("datasets/<str:qualified_name>/lf-tags", views.DatasetLfTagsView.as_view(), name="api-dataset-lf-tags"),
    path("datasets/<str:qualified_name>/iceberg", views.DatasetIcebergView.as_view(), name="api-dataset-iceberg"),
    path("datasets/<str:qualified_name>/columns/<str:column>", views.DatasetColumnView.as_view(), name="api-dataset-column"),
    path("curation/proposals", views.ProposalsView.as_view(), name="api-curation-proposals"),
    path("curation/proposals/decide", views.ProposalDecisionView.as_view(), name="api-curation-decide"),
    path("datasets/<str:qualified_name>/versions", views.DatasetVersionsView.as_view(), name="api-dataset-versions"),
]
