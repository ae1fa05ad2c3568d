"""API authentication: personal access tokens bound to one role (owned by the identity feature).

``Authorization: Bearer TOKEN``. On success ``request.token_role`` holds the
token's Role, which ``portal.roles.current_role`` prefers over the session.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication


class BearerTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        return None  # placeholder until personal access tokens land

    def authenticate_header(self, request: Any) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated API calls.
        return self.keyword
