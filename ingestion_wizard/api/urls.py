"""REST routes of the ingestion_wizard app, mounted under /api/v1/."""

from django.urls import path

urlpatterns: list = []
