"""HTML routes of the catalog app."""

from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns: list = [
    path("search", views.search, name="search"),
    path("search/suggest", views.suggest, name="suggest"),
    path("browse", views.browse, name="browse"),
    path("datasets/<str:qualified_name>", views.dataset, name="dataset"),
]
