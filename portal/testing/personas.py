"""Personas for tests: users with a selected role, logged in on a Django or DRF test client.

Who may see what (datasets carry a hub and a visibility):
- admin: everything.
- finance steward / consumer / provider: public datasets and hub "finance" ones; the steward curates
  finance datasets, the provider onboards sources into finance.
- marketing consumer: public datasets and hub "marketing" ones, nothing of finance's hub-only data.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from portal.roles import SESSION_KEY, Role

PERSONAS: dict[str, Role] = {
    "admin": Role("admin"),
    "finance_steward": Role("steward", "finance"),
    "finance_consumer": Role("consumer", "finance"),
    "finance_provider": Role("provider", "finance"),
    "marketing_consumer": Role("consumer", "marketing"),
}


def login_as(client: Any, username: str, role: Role) -> Any:
    """Log ``client`` in as ``username`` (created if needed) with ``role`` selected; returns the user."""
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = role.as_dict()
    session.save()
    return user


def login_persona(client: Any, persona: str) -> Any:
    return login_as(client, persona, PERSONAS[persona])
