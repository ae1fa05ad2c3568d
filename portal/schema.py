"""The OpenAPI schema tells the truth: bearer auth declared, every error status an operation can answer.

drf-spectacular documents what a view declares; the errors that come from the shared plumbing
(authentication, the role layer, throttles, portal.limits, the time budget) are the same for
every operation, so ``PortalAutoSchema`` adds them here, once, with the one error shape
``portal.api.exception_handler`` produces: ``{"error": message, "detail": …}``.
"""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "What went wrong, for people"},
        "detail": {"description": "Field errors ({field: [messages]}) or the original detail"},
    },
    "required": ["error"],
}

# Status -> why any operation may answer it.
COMMON_ERRORS = {
    "400": "Invalid input: a bad parameter or body (the field is named), a NUL character, JSON nested too deep",
    "401": "No credentials, or a bad, revoked or expired token",
    "403": "The selected role may not do this (or no role is selected)",
    "406": "The Accept header asks for something other than JSON",
    "429": "Too many requests (bad tokens from one client, or an expensive action started too often)",
    "503": "A backing service is unavailable, or the request ran out of its time budget",
}
BODY_ERRORS = {
    "413": "The request body is over the size limit",
    "415": "The body is not JSON",
}
DETAIL_ERRORS = {"404": "No such object visible to the selected role"}
PAGE_ERRORS = {"404": "No such page (past the last one)"}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Personal access tokens: ``Authorization: Bearer TOKEN`` (identity.authentication)."""

    target_class = "identity.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer",
                "description": "A personal access token bound to one role (create one on /tokens/)."}


class PortalAutoSchema(AutoSchema):
    def _error_codes(self) -> dict[str, str]:
        codes = dict(COMMON_ERRORS)
        if any(issubclass(p, AllowAny) for p in getattr(self.view, "permission_classes", ())):
            codes.pop("401")
            codes.pop("403")
        if self.method in ("POST", "PUT", "PATCH"):
            codes.update(BODY_ERRORS)
        if "{" in self.path:
            codes.update(DETAIL_ERRORS)
        elif self.method == "GET" and self._is_list_view() and self._get_paginator() is not None:
            codes.update(PAGE_ERRORS)
        return codes

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> tuple[Any, bool]:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        # A body given as a raw JSON Schema (the lineage event) is required when it names required fields.
        if isinstance(serializer, dict) and serializer.get("required"):
            required = True
        return schema, required

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        component = ResolvedComponent(name="Error", type=ResolvedComponent.SCHEMA, object="Error",
                                      schema=ERROR_SCHEMA)
        self.registry.register_on_missing(component)
        for code, why in self._error_codes().items():
            if code not in responses:
                responses[code] = {"content": {"application/json": {"schema": component.ref}}, "description": why}
        return responses
