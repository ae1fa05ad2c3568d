"""REST routes owned by the portal app (me, tokens, audit), mounted under /api/v1/."""

from django.urls import path

urlpatterns: list = []
