"""Top-level routes: each app mounts its HTML pages and its /api/v1/ endpoints here."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from agents.http import mcp_endpoint
from portal import views

api_v1 = [
    path("", include("portal.api_urls")),
    path("", include("catalog.api.urls")),
    path("", include("lineage.api.urls")),
    path("", include("ingestion_wizard.api.urls")),
    path("", include("workspaces.api.urls")),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("portal.page_urls")),
    path("", include("catalog.urls")),
    path("lineage/", include("lineage.urls")),
    path("ingestion/", include("ingestion_wizard.urls")),
    path("workspaces/", include("workspaces.urls")),
    path("api/v1/", include(api_v1)),
    path("mcp", mcp_endpoint, name="mcp"),
]

handler404 = "portal.views.not_found"
handler500 = "portal.views.server_error"
