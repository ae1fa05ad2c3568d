"""HTML routes of the catalog app."""

from django.urls import path

from catalog import views, views_curation, views_operations

app_name = "catalog"
urlpatterns: list = [
    path("operations/", views_operations.operations, name="operations"),
    path("operations/runs", views_operations.operations_runs, name="operations-runs"),
    path("operations/sync", views_operations.operations_sync, name="operations-sync"),
    path("operations/sync-runs/<int:pk>/confirm", views_operations.operations_confirm, name="operations-confirm"),
    path("search", views.search, name="search"),
    path("search/suggest", views.suggest, name="suggest"),
    path("browse", views.browse, name="browse"),
    path("datasets/<str:qualified_name>", views.dataset, name="dataset"),
    path("datasets/<str:qualified_name>/iceberg", views.dataset_iceberg, name="dataset-iceberg"),
    path("datasets/<str:qualified_name>/columns/<str:column>", views_curation.column, name="column"),
    path("curation/proposals", views_curation.proposals, name="proposals"),
]
