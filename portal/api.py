"""Shared REST plumbing: one JSON error shape for every /api/v1/ failure."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DataError
from django.http import Http404
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.limits import budget_message, is_statement_timeout

log = logging.getLogger(__name__)


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A backing service is unavailable; try again shortly."
    default_code = "service_unavailable"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, then a JSON 500 instead of a traceback for anything unexpected.

    Errors always carry ``{"error": message}``; DRF's field errors stay under ``detail``.
    """
    response = drf_exception_handler(exc, context)
    if response is not None:
        data = response.data
        if isinstance(data, dict) and "detail" in data and len(data) == 1:
            response.data = {"error": str(data["detail"]), "detail": data["detail"]}
        elif isinstance(data, (dict, list)):
            response.data = {"error": "Invalid input.", "detail": data}
        return response
    if isinstance(exc, Http404):
        return Response({"error": "Not found."}, status=404)
    if isinstance(exc, RequestDataTooBig):
        return Response({"error": "The request body is over the size limit (REQUEST_MAX_BODY_BYTES)."}, status=413)
    if is_statement_timeout(exc):
        log.warning("API request stopped by its time budget: %s", exc)
        return Response({"error": budget_message()}, status=503, headers={"Retry-After": "30"})
    if isinstance(exc, DataError):
        # A value the database refused (too long for its column, out of range): the input's fault.
        log.warning("API input refused by the database: %s", exc)
        return Response({"error": "A value is too long or out of range for where it is stored."}, status=400)
    log.exception("Unhandled API error", exc_info=exc)
    return Response({"error": "Internal error; it has been logged."}, status=500)
