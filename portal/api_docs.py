"""The API docs pages (Swagger UI, ReDoc) served from the drf-spectacular-sidecar wheel: no CDN.

ReDoc's bundle hard-codes one off-site address, the Redocly logo in its sidebar footer
(``https://cdn.redoc.ly/redoc/logo-mini.svg``, fetched on every visit, no option turns it off).
``redoc_bundle`` serves the sidecar's bundle with that address pointed at the portal's own icon,
so the docs page makes no request outside the portal's origin.
"""

from __future__ import annotations

from functools import lru_cache
from hashlib import sha256

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularRedocView

REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@lru_cache(maxsize=4)
def _patched_bundle(icon_url: str) -> tuple[bytes, str]:
    path = finders.find(REDOC_BUNDLE)
    if not path:  # the sidecar is a pinned requirement; its absence is an installation fault
        raise RuntimeError(f"{REDOC_BUNDLE} not found: is drf-spectacular-sidecar installed?")
    with open(path, "rb") as fh:
        body = fh.read().replace(REDOC_LOGO.encode(), icon_url.encode())
    return body, '"' + sha256(body).hexdigest()[:32] + '"'


@require_GET
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    body, etag = _patched_bundle(static("portal/favicon.svg"))
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified()
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=86400"
    return response


class RedocView(SpectacularRedocView):
    """ReDoc with the portal's template (no web fonts, no inline script) and the patched bundle."""

    template_name = "portal/api_docs_redoc.html"

    def _redoc_standalone(self) -> str:  # type: ignore[override]
        return reverse("api-redoc-bundle")
