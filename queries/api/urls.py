"""REST routes of the queries app, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from queries.api.views import PreviewView, QueryViewSet

router = SimpleRouter(trailing_slash=False)
router.register("queries", QueryViewSet, basename="query")

urlpatterns: list = [
    path("datasets/<str:qualified_name>/preview", PreviewView.as_view(), name="api-dataset-preview"),
    *router.urls,
]
