"""Marquez's API paths, mounted at ``/marquez/api/v1/`` (a Marquez client is pointed at ``/marquez``).

Namespaces and names hold slashes (``s3://bucket``, ``crm/customers``): clients send them
percent-encoded, servers see them decoded, so the patterns split at the path's own keywords
(``/datasets/``, ``/jobs/``, ``/versions``), longest routes first.
"""

from django.urls import re_path

from lineage.marquez import views

NS = r"(?P<namespace>.+?)"
DATASET = NS + r"/datasets/(?P<dataset>.+)"
JOB = NS + r"/jobs/(?P<job>.+)"
RUN = r"(?P<run_id>[^/]+)"

urlpatterns = [
    re_path(r"^namespaces$", views.NamespacesView.as_view(), name="marquez-namespaces"),
    re_path(rf"^namespaces/{DATASET}/versions/(?P<version>[^/]+)$", views.DatasetVersionView.as_view(), name="marquez-dataset-version"),
    re_path(rf"^namespaces/{DATASET}/versions$", views.DatasetVersionsView.as_view(), name="marquez-dataset-versions"),
    re_path(rf"^namespaces/{DATASET}/fields/(?P<field>[^/]+)/tags/(?P<tag>[^/]+)$", views.RefusedWriteView.as_view(), name="marquez-field-tag"),
    re_path(rf"^namespaces/{DATASET}/tags/(?P<tag>[^/]+)$", views.RefusedWriteView.as_view(), name="marquez-dataset-tag"),
    re_path(rf"^namespaces/{NS}/datasets$", views.DatasetsView.as_view(), name="marquez-datasets"),
    re_path(rf"^namespaces/{DATASET}$", views.DatasetView.as_view(), name="marquez-dataset"),
    re_path(rf"^namespaces/{JOB}/versions/(?P<version>[^/]+)$", views.JobVersionView.as_view(), name="marquez-job-version"),
    re_path(rf"^namespaces/{JOB}/versions$", views.JobVersionsView.as_view(), name="marquez-job-versions"),
    re_path(rf"^namespaces/{JOB}/runs$", views.JobRunsView.as_view(), name="marquez-job-runs"),
    re_path(rf"^namespaces/{NS}/jobs$", views.JobsView.as_view(), name="marquez-namespace-jobs"),
    re_path(rf"^namespaces/{JOB}$", views.JobView.as_view(), name="marquez-job"),
    re_path(rf"^namespaces/{NS}$", views.NamespaceView.as_view(), name="marquez-namespace"),
    re_path(r"^sources$", views.SourcesView.as_view(), name="marquez-sources"),
    re_path(r"^sources/(?P<source>.+)$", views.SourceView.as_view(), name="marquez-source"),
    re_path(r"^jobs$", views.JobsView.as_view(), name="marquez-jobs"),
    re_path(rf"^jobs/runs/{RUN}/facets$", views.RunFacetsView.as_view(), name="marquez-run-facets"),
    *[re_path(rf"^jobs/runs/{RUN}/{action}$", views.RefusedWriteView.as_view(), name=f"marquez-run-{action}")
      for action in ("start", "complete", "fail", "abort")],
    re_path(rf"^jobs/runs/{RUN}$", views.RunView.as_view(), name="marquez-run"),
    re_path(rf"^runs/{RUN}/facets$", views.RunFacetsView.as_view(), name="marquez-run-facets-short"),
    re_path(rf"^runs/{RUN}$", views.RunView.as_view(), name="marquez-run-short"),
    re_path(r"^lineage$", views.LineageView.as_view(), name="marquez-lineage"),
    re_path(r"^lineage/$", views.LineageView.as_view(), name="marquez-lineage-slash"),
    re_path(r"^runlineage/upstream$", views.UpstreamRunLineageView.as_view(), name="marquez-run-lineage-upstream"),
    re_path(r"^column-lineage$", views.ColumnLineageView.as_view(), name="marquez-column-lineage"),
    re_path(r"^events/lineage$", views.LineageEventsView.as_view(), name="marquez-events"),
    # marquez-python's list_events() asks /events and /events/{namespace}.
    re_path(r"^events$", views.LineageEventsView.as_view(), name="marquez-events-client"),
    re_path(rf"^events/{NS}$", views.LineageEventsView.as_view(), name="marquez-events-namespace"),
    re_path(r"^search$", views.SearchView.as_view(), name="marquez-search"),
    re_path(r"^tags$", views.TagsView.as_view(), name="marquez-tags"),
    re_path(r"^tags/(?P<tag>[^/]+)$", views.TagView.as_view(), name="marquez-tag"),
]
