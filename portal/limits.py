"""Bounded cost for every request: size and shape checked before any work, a time budget, throttles.

- ``RequestLimitsMiddleware``: a body over REQUEST_MAX_BODY_BYTES answers 413 before it is read; a NUL
  in the path or query string answers 400 (PostgreSQL cannot store one, so it used to end in a 500);
  the request's PostgreSQL statements get REQUEST_TIME_BUDGET_SECONDS (``statement_timeout``) and a
  statement cancelled by it answers 503 instead of holding a worker until the process is killed.
- ``BoundedJSONParser``: JSON deeper than REQUEST_MAX_JSON_DEPTH, or with a string longer than
  REQUEST_MAX_STRING_CHARS or holding a NUL, is a 400 naming the field; it replaces DRF's JSONParser.
- ``SyncStartThrottle``: starting a catalog sync is throttled per user and role (CATALOG_SYNC_START_RATE).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.throttling import SimpleRateThrottle

log = logging.getLogger(__name__)

QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/marquez/", "/mcp")) or "json" in request.headers.get("Accept", "")


def _refuse(request: HttpRequest, status: int, message: str, field: str | None = None) -> HttpResponse:
    if _wants_json(request):
        body: dict[str, Any] = {"error": message}
        if field:
            body["detail"] = {field: [message]}
        return JsonResponse(body, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def is_statement_timeout(exc: BaseException) -> bool:
    """True for the error PostgreSQL raises when the time budget cancelled a statement."""
    cause = exc.__cause__ or exc
    return isinstance(exc, OperationalError) and getattr(cause, "sqlstate", None) == QUERY_CANCELED


def budget_message() -> str:
    return (f"The request took longer than its time budget ({settings.REQUEST_TIME_BUDGET_SECONDS} s) and was "
            "stopped; narrow it (fewer results, a smaller depth) or try again later.")


def apply_time_budget() -> None:
    """Give this thread's PostgreSQL connection the request time budget (once per physical connection).

    Set on the raw driver connection so it is not counted as one of the request's queries; a
    worker process never passes here, so its long batch statements keep no limit.
    """
    seconds = settings.REQUEST_TIME_BUDGET_SECONDS
    if not seconds or connection.vendor != "postgresql":
        return
    connection.ensure_connection()
    raw = connection.connection
    if getattr(connection, "_portal_budget", None) == (id(raw), seconds):
        return
    if connection.in_atomic_block or raw.info.transaction_status != 0:  # only outside a transaction: it must stick
        return
    with raw.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {int(seconds * 1000)}")
    if not raw.autocommit:
        raw.commit()
    connection._portal_budget = (id(raw), seconds)


class RequestLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refuse(request, 400, "Content-Length is not a number.")
        limit = settings.REQUEST_MAX_BODY_BYTES
        if length > limit:
            return _refuse(request, 413, f"The request body is {length} bytes; the limit is {limit} bytes.")
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.META.get(
                "QUERY_STRING", ""):
            return _refuse(request, 400, "The address contains a NUL character, which no name may hold.")
        try:
            apply_time_budget()
        except Exception:  # the database being down is answered by the view that needs it
            log.warning("could not set the request time budget", exc_info=True)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_statement_timeout(exception):
            log.warning("request %s %s stopped by its time budget", request.method, request.path)
            response = _refuse(request, 503, budget_message())
            response["Retry-After"] = "30"
            return response
        return None


def check_shape(data: Any, *, max_depth: int, max_chars: int) -> None:
    """Raise ParseError naming the first field that is too deep, too long or holds a NUL.

    Iterative (an explicit stack), so a hostile depth costs no recursion.
    """
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > max_depth:
                raise ParseError(f"The JSON is nested more than {max_depth} levels deep (at {path or 'the top'}).")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and (len(key) > max_chars or "\x00" in key):
                    raise ParseError(f"{path or 'the body'}: a key is too long or holds a NUL character.")
                stack.append((item, f"{path}.{key}" if path else str(key), depth + 1))
        elif isinstance(value, str):
            if len(value) > max_chars:
                raise ParseError(f"{path or 'body'}: at most {max_chars} characters, got {len(value)}.")
            if "\x00" in value:
                raise ParseError(f"{path or 'body'}: a NUL character is not allowed.")


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with the shape checked before any view sees the data."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"The JSON is nested more than {settings.REQUEST_MAX_JSON_DEPTH} levels deep.") from None
        check_shape(data, max_depth=settings.REQUEST_MAX_JSON_DEPTH, max_chars=settings.REQUEST_MAX_STRING_CHARS)
        return data


def bounded_int(params: Any, name: str, default: int, low: int, high: int) -> int:
    """Query parameter ``name`` as an integer in [low, high] (``default`` when absent or empty);
    raises ValueError with the message a 400 shows. Each API answers that in its own error shape."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer.") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}.")
    return value


def loads_bounded(raw: bytes | str, *, max_chars: int | None = None) -> Any:
    """``json.loads`` with the same limits, for views that read the body themselves; raises ValueError.

    ``max_chars`` replaces REQUEST_MAX_STRING_CHARS where a body's size is capped on its own
    (an OpenLineage event may carry a whole SQL script or a large facet in one string)."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ValueError(f"The JSON is nested more than {settings.REQUEST_MAX_JSON_DEPTH} levels deep.") from None
    try:
        check_shape(data, max_depth=settings.REQUEST_MAX_JSON_DEPTH,
                    max_chars=settings.REQUEST_MAX_STRING_CHARS if max_chars is None else max_chars)
    except ParseError as exc:
        raise ValueError(str(exc.detail)) from None
    return data


class SyncStartThrottle(SimpleRateThrottle):
    """Catalog syncs started per user and selected role (an admin token cannot start hundreds)."""

    scope = "catalog-sync-start"

    def get_rate(self) -> str:
        return settings.CATALOG_SYNC_START_RATE

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        from identity.roles import current_role

        role = current_role(request)
        ident = f"{request.user.pk}:{role.key if role else '-'}" if request.user.is_authenticated else self.get_ident(
            request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def refusal(self) -> str:
        wait = self.wait()
        return (f"Too many syncs started ({settings.CATALOG_SYNC_START_RATE} allowed); "
                f"try again in {int(wait or 0) + 1} s.")
