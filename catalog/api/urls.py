"""REST routes of the catalog app, mounted under /api/v1/."""

from django.urls import path

urlpatterns: list = []
