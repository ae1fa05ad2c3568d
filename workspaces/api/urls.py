"""REST routes of the workspaces app, mounted under /api/v1/."""

from django.urls import path

urlpatterns: list = []
