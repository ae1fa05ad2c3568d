"""HTML routes of the workspaces app."""

from django.urls import path

app_name = "workspaces"
urlpatterns: list = []
