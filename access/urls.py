"""HTML routes of the access app (mounted at /access/)."""

from django.urls import path

from access import views

app_name = "access"
urlpatterns = [
    path("", views.request_list, name="list"),
    path("datasets/<int:table_id>/request", views.request_form, name="request"),
    path("datasets/<int:table_id>/panel", views.dataset_panel, name="panel"),
    path("<int:pk>/approve", views.decide, {"action": "approve"}, name="approve"),
    path("<int:pk>/refuse", views.decide, {"action": "refuse"}, name="refuse"),
    path("<int:pk>/revoke", views.decide, {"action": "revoke"}, name="revoke"),
    path("<int:pk>/retry", views.decide, {"action": "retry"}, name="retry"),
]
