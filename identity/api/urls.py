"""REST routes of the identity app (me, tokens, audit), mounted under /api/v1/."""

from django.urls import path

from identity.api import views as api_views

urlpatterns: list = [
    path("me", api_views.MeView.as_view(), name="api-me"),
    path("tokens", api_views.TokenListView.as_view(), name="api-tokens"),
    path("tokens/<int:token_id>", api_views.TokenDetailView.as_view(), name="api-token"),
    path("audit", api_views.AuditListView.as_view(), name="api-audit"),
]
