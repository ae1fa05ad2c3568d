"""HTML routes of the lineage app."""

from django.urls import path

app_name = "lineage"
urlpatterns: list = []
