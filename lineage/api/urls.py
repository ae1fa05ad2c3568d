"""REST routes of the lineage app, mounted under /api/v1/."""

from django.urls import path

urlpatterns: list = []
