"""HTML routes of the identity app (role selection, tokens, audit)."""

from django.urls import path

from identity import views

app_name = "identity"

urlpatterns: list = [
    path("roles/select/", views.select_role, name="select-role"),
    path("roles/none/", views.no_access, name="no-access"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke", views.revoke_token, name="revoke-token"),
    path("audit/", views.audit_log, name="audit"),
]
