"""HTML routes of the ingestion_wizard app."""

from django.urls import path

app_name = "ingestion_wizard"
urlpatterns: list = []
