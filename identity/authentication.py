"""API authentication: personal access tokens bound to one role.

``Authorization: Bearer TOKEN``. On success ``request.token_role`` holds the
token's Role, which ``identity.roles.current_role`` prefers over the session.
Unknown, revoked or expired tokens, and tokens whose role the user no longer
holds, answer 401; an address that keeps sending bad tokens gets 429 for them,
while valid tokens from the same address keep working.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from identity import services
from identity.audit import client_ip


class BearerTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # not ours: session auth (or nothing) decides
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer TOKEN'.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        try:
            token, role = services.authenticate_token(secret, ip=client_ip(request))
        except services.TooManyBadTokens as exc:
            raise exceptions.Throttled(wait=exc.retry_after, detail=str(exc)) from None
        except services.TokenInvalid as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        # Both the DRF request and the Django request it wraps, so current_role() sees it on either.
        request.token_role = role
        request._request.token_role = role
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated API calls.
        return self.keyword
