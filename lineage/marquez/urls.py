"""Routes of the Marquez read API, mounted at /marquez/api/v1/.

Namespaces and names may hold slashes (``postgres://host:5432``, ``raw/customers``), which the
WSGI server has decoded by the time Django sees the path: a namespace runs up to the first
``/datasets/`` or ``/jobs/``.
"""

from django.urls import path, re_path

from lineage.marquez import views

NS = r"(?P<namespace>.+?)"
urlpatterns = [
    path("namespaces", views.NamespacesView.as_view(), name="marquez-namespaces"),
    path("lineage", views.LineageView.as_view(), name="marquez-lineage"),
    path("search", views.SearchView.as_view(), name="marquez-search"),
    path("column-lineage", views.ColumnLineageView.as_view(), name="marquez-column-lineage"),
    path("jobs/runs/<str:run_id>", views.RunView.as_view(), name="marquez-run"),
    path("jobs/runs/<str:run_id>/facets", views.RunFacetsView.as_view(), name="marquez-run-facets"),
    re_path(rf"^namespaces/{NS}/datasets/(?P<dataset>.+)/(fields/[^/]+/)?tags/(?P<tag>[^/]+)$", views.TagWriteView.as_view(), name="marquez-dataset-tag"),
    re_path(rf"^namespaces/{NS}/datasets$", views.DatasetsView.as_view(), name="marquez-datasets"),
    re_path(rf"^namespaces/{NS}/datasets/(?P<dataset>.+)/versions$", views.DatasetVersionsView.as_view(), name="marquez-dataset-versions"),
    re_path(rf"^namespaces/{NS}/datasets/(?P<dataset>.+)/versions/(?P<version>[0-9a-f-]{{36}})$", views.DatasetVersionsView.as_view(),
            name="marquez-dataset-version"),
    re_path(rf"^namespaces/{NS}/datasets/(?P<dataset>.+)$", views.DatasetView.as_view(), name="marquez-dataset"),
    re_path(rf"^namespaces/{NS}/jobs$", views.JobsView.as_view(), name="marquez-jobs"),
    re_path(rf"^namespaces/{NS}/jobs/(?P<job>.+)/runs$", views.JobRunsView.as_view(), name="marquez-job-runs"),
    re_path(rf"^namespaces/{NS}/jobs/(?P<job>.+)$", views.JobView.as_view(), name="marquez-job"),
    re_path(r"^namespaces/(?P<namespace>.+)$", views.NamespaceView.as_view(), name="marquez-namespace"),
    path("tags", views.TagsView.as_view(), name="marquez-tags"),
    path("sources", views.SourcesView.as_view(), name="marquez-sources"),
    re_path(r"^sources/(?P<source>.+)$", views.SourcesView.as_view(), name="marquez-source"),
    re_path(r"^tags/(?P<tag>[^/]+)$", views.TagWriteView.as_view(), name="marquez-tag"),
    path("events/lineage", views.EventsView.as_view(), name="marquez-events"),
    # marquez-python 0.50.0's list_events() asks the older path.
    path("events", views.EventsView.as_view(), name="marquez-events-legacy"),
]
