"""Errors of ingestion services meant for people: a message, the field it is about, an HTTP status."""

from __future__ import annotations


class IngestionError(Exception):
    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(IngestionError):
    status = 404  # forbidden objects answer "not found"


class Forbidden(IngestionError):
    status = 403


class Conflict(IngestionError):
    status = 409


class TooManyAttempts(IngestionError):
    status = 429


class Unavailable(IngestionError):
    status = 503
