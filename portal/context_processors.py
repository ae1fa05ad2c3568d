"""Values every template needs: the selected role and the roles a user may switch to."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from portal import roles


def portal(request: HttpRequest) -> dict[str, Any]:
    return {
        "current_role": roles.current_role(request),
        "embedded_mode": settings.EMBEDDED,
    }
