"""HTML routes of the lineage app (mounted at /lineage/)."""

from django.urls import path

from lineage import views

app_name = "lineage"
urlpatterns = [
    path("", views.full_screen, name="full_screen"),
]
