"""Page-numbered lists of the API: parameters checked as the schema states them.

DRF's paginator quietly falls back to the default for a ``page_size`` it cannot read; the schema
says an integer from 1 to the maximum, so anything else is a 400 naming the field, and the schema
states the bounds (schemathesis holds the API to them).
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class PortalPagination(PageNumberPagination):
    def get_page_size(self, request: Request) -> int | None:
        if self.page_size_query_param and self.page_size_query_param in request.query_params:
            raw = request.query_params[self.page_size_query_param]
            try:
                size = int(raw)
            except ValueError:
                size = 0
            if not 1 <= size <= (self.max_page_size or size):
                raise ValidationError({self.page_size_query_param: [
                    f"Must be an integer from 1 to {self.max_page_size}." if self.max_page_size
                    else "Must be an integer of 1 or more."]})
            return size
        return self.page_size

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1,
                                       **({"maximum": self.max_page_size} if self.max_page_size else {})}
        return parameters
