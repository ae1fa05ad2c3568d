"""REST routes of the lineage app, mounted under /api/v1/."""

from django.urls import path

from lineage.api import views

urlpatterns = [
    path("lineage", views.LineageIntakeView.as_view(), name="lineage-intake"),
    path("lineage/", views.LineageIntakeSlashView.as_view(), name="lineage-intake-slash"),
    path("lineage/graph", views.LineageGraphView.as_view(), name="lineage-graph"),
    path("lineage/impact", views.LineageImpactView.as_view(), name="lineage-impact"),
]
