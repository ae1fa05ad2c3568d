"""HTML routes of the glossary app (mounted at /glossary/)."""

from django.urls import path

from glossary import views

app_name = "glossary"
urlpatterns = [
    path("", views.term_list, name="list"),
    path("terms/new/", views.term_new, name="new"),
    path("terms/<int:pk>/", views.term_detail, name="term"),
    path("terms/<int:pk>/edit/", views.term_edit, name="edit"),
    path("terms/<int:pk>/delete", views.term_delete, name="delete"),
    path("import/", views.import_csv, name="import"),
    path("export.csv", views.export, name="export"),
    path("suggestions/", views.suggestion_list, name="suggestions"),
    path("suggestions/refresh", views.suggestion_refresh, name="suggestions-refresh"),
    path("suggestions/<int:pk>/accept", views.suggestion_decide, {"decision": "accept"}, name="accept"),
    path("suggestions/<int:pk>/dismiss", views.suggestion_decide, {"decision": "dismiss"}, name="dismiss"),
]
