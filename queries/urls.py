"""HTML routes of the queries app (mounted at /queries/)."""

from django.urls import path

from queries import views

app_name = "queries"
urlpatterns = [
    path("", views.query_page, name="page"),
    path("preview/<str:qualified_name>", views.preview_tab, name="preview"),
    path("schema/<str:qualified_name>", views.schema_columns, name="columns"),
    path("<int:pk>/", views.query_detail, name="detail"),
    path("<int:pk>/status", views.query_status, name="status"),
    path("<int:pk>/results", views.query_results, name="results"),
    path("<int:pk>/cancel", views.cancel, name="cancel"),
]
