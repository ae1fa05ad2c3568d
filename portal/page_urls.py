"""HTML routes owned by the portal app (role selection, tokens, audit)."""

from django.urls import path

urlpatterns: list = []
