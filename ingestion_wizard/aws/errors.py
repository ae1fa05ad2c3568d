"""Sorting AWS failures into transient (retry with backoff) and permanent (fail with the reason)."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

TRANSIENT_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "RequestThrottled", "SlowDown", "ServiceUnavailable", "ServiceUnavailableException",
    "InternalFailure", "InternalError", "InternalServiceException", "InternalServiceError",
    "ProvisionedThroughputExceededException", "ConcurrentModificationException", "OperationTimeoutException",
    "ResourceInUseException",
})


class StepFailed(Exception):
    """A permanent failure: the step stops with this message (e.g. AccessDenied, validation)."""


class TransientAWSError(Exception):
    """Worth retrying later (throttling, a service hiccup, a resource still changing state)."""


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def describe(exc: BaseException) -> str:
    """A one-line reason: ``Code: message`` for AWS errors."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        op = getattr(exc, "operation_name", "")
        return f"{err.get('Code', 'Error')} on {op}: {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


def classify(exc: BaseException) -> Exception:
    """The StepFailed or TransientAWSError to raise for an AWS exception."""
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)):
        return TransientAWSError(describe(exc))
    if error_code(exc) in TRANSIENT_CODES:
        return TransientAWSError(describe(exc))
    return StepFailed(describe(exc))
