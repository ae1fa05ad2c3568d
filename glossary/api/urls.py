"""REST routes of the glossary app, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from glossary.api.views import ExportView, ImportView, SuggestionViewSet, TermViewSet

router = SimpleRouter(trailing_slash=False)
router.register("glossary/terms", TermViewSet, basename="glossary-term")
router.register("glossary/suggestions", SuggestionViewSet, basename="glossary-suggestion")

urlpatterns: list = [
    path("glossary/export", ExportView.as_view(), name="api-glossary-export"),
    path("glossary/import", ImportView.as_view(), name="api-glossary-import"),
    *router.urls,
]
