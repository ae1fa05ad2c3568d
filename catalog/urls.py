"""HTML routes of the catalog app."""

from django.urls import path

app_name = "catalog"
urlpatterns: list = []
