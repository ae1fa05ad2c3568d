"""The one place that builds the OpenSearch client (SigV4 for AWS OpenSearch Service)."""

from __future__ import annotations

import functools

from django.conf import settings
from opensearchpy import OpenSearch, RequestsHttpConnection


@functools.lru_cache(maxsize=4)
def _client_for(url: str, sigv4: bool, timeout: int) -> OpenSearch:
    kwargs: dict = {"hosts": [url], "timeout": timeout, "max_retries": 1, "retry_on_timeout": False}
    if sigv4:
        import boto3
        from opensearchpy import AWSV4SignerAuth

        creds = boto3.session.Session().get_credentials()
        kwargs.update(
            http_auth=AWSV4SignerAuth(creds, settings.AWS_DEFAULT_REGION, "es"),
            connection_class=RequestsHttpConnection,
            use_ssl=url.startswith("https"),
            verify_certs=True,
        )
    return OpenSearch(**kwargs)


def get_client() -> OpenSearch:
    """A client for OPENSEARCH_URL; cached per URL so tests that move the URL get a new one."""
    return _client_for(settings.OPENSEARCH_URL, settings.OPENSEARCH_SIGV4, settings.OPENSEARCH_TIMEOUT_SECONDS)


def index_name(kind: str) -> str:
    """The alias the portal reads and writes for ``kind`` (e.g. ``tables``)."""
    return f"{settings.OPENSEARCH_INDEX_PREFIX}-{kind}"
