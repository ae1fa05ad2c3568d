"""Top-level routes: each app mounts its HTML pages and its /api/v1/ endpoints here."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from agents.http import mcp_endpoint
from portal import api_docs, security, views
from identity import sso_views

api_v1 = [
    path("", include("identity.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("lineage.api.urls")),
    path("", include("ingestion_wizard.api.urls")),
    path("", include("workspaces.api.urls")),
    path("", include("glossary.api.urls")),
    path("", include("access.api.urls")),
    path("", include("queries.api.urls")),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file (no inline script); both templates
    # are ours so that nothing (fonts included) is fetched from outside the portal.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="portal/api_docs_swagger.html"),
         name="api-docs"),
    path("docs/redoc", api_docs.RedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("docs/redoc.standalone.js", api_docs.redoc_bundle, name="api-redoc-bundle"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico where a response names no icon (JSON, the admin, files).
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    # Before allauth's own route: a reset only where local accounts exist and mail is configured.
    path("accounts/password/reset/", security.password_reset, name="account_reset_password"),
    # Before allauth's routes: the strict OIDC callback, sign-out through the IdP, back-channel logout.
    path("accounts/logout/", sso_views.logout, name="account_logout"),
    path("accounts/oidc/<str:provider_id>/login/callback/", sso_views.callback, name="openid_connect_callback"),
    path("accounts/oidc/<str:provider_id>/backchannel-logout/", sso_views.backchannel_logout,
         name="oidc-backchannel-logout"),
    path("accounts/", include("allauth.urls")),
    path("", include("identity.urls")),
    path("", include("catalog.urls")),
    path("lineage/", include("lineage.urls")),
    path("ingestion/", include("ingestion_wizard.urls")),
    path("workspaces/", include("workspaces.urls")),
    path("glossary/", include("glossary.urls")),
    path("access/", include("access.urls")),
    path("queries/", include("queries.urls")),
    path("api/v1/", include(api_v1)),
    # Marquez's API for its clients and web UI (pointed at https://portal.example/marquez).
    path("marquez/api/v1/", include("lineage.marquez.urls")),
    path("mcp", mcp_endpoint, name="mcp"),
]

handler404 = "portal.views.not_found"
handler500 = "portal.views.server_error"
