"""REST routes of the workspaces app, mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from workspaces.api.views import NotificationViewSet, SubscriptionViewSet, WorkspaceViewSet

router = SimpleRouter(trailing_slash=False)
router.register("workspaces", WorkspaceViewSet, basename="workspace")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = router.urls
