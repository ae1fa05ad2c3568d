"""``next`` parameters: only our own paths or hosts, never another site (open redirects)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, url: str | None, default: str = "/") -> str:
    """``url`` when it stays on this site (same host, http(s), not ``//evil``), else ``default``."""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return default
