"""HTML routes of the workspaces app (mounted at /workspaces/)."""

from django.urls import path

from workspaces import views

app_name = "workspaces"
urlpatterns = [
    path("", views.workspace_list, name="list"),
    path("launch/", views.launch, name="launch"),
    path("<int:pk>/", views.workspace_detail, name="detail"),
    path("<int:pk>/status", views.workspace_status, name="status"),
    path("<int:pk>/open", views.workspace_open, name="open"),
    path("<int:pk>/stop", views.workspace_action, {"action": "stop"}, name="stop"),
    path("<int:pk>/start", views.workspace_action, {"action": "start"}, name="start"),
    path("<int:pk>/delete", views.workspace_action, {"action": "delete"}, name="delete"),
    path("<int:pk>/recreate", views.workspace_action, {"action": "recreate"}, name="recreate"),
    path("selection/", views.selection_page, name="selection"),
    path("selection/<int:table_id>/toggle", views.selection_toggle, name="selection-toggle"),
    path("selection/clear", views.selection_clear, name="selection-clear"),
    path("subscriptions/", views.subscriptions_page, name="subscriptions"),
    path("subscriptions/<int:pk>/delete", views.unsubscribe, name="unsubscribe"),
    path("subscribe/<int:table_id>", views.subscribe_toggle, name="subscribe-toggle"),
]
