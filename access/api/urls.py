"""REST routes of the access app, mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from access.api.views import AccessRequestViewSet

router = SimpleRouter(trailing_slash=False)
router.register("access-requests", AccessRequestViewSet, basename="access-request")

urlpatterns = router.urls
