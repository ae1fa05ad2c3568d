"""Personas for tests: users with a selected role, logged in on a Django or DRF test client.

Built once here, so every test speaks of the same people. Who may see what (datasets carry a
hub and a visibility):
- admin: everything; the only one who reads the audit trail.
- finance steward / consumer / provider: public datasets and hub "finance" ones; the steward curates
  finance datasets, the provider onboards sources into finance; the consumer only reads.
- marketing consumer: public datasets and hub "marketing" ones, nothing of finance's hub-only data.
- multi_role: consumer of finance and steward of marketing (for role selection and switching).
- nobody: signed in, but no group grants a role ("no access" page, 403 on the API).

Each persona's roles are granted the way production grants them: Django groups named like the
IdP's groups (``dh-<hub>-<persona>``, ``dh-admins``), so switching roles and tokens work too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from identity.roles import SESSION_KEY, Role

PERSONAS: dict[str, Role] = {
    "admin": Role("admin"),
    "finance_steward": Role("steward", "finance"),
    "finance_consumer": Role("consumer", "finance"),
    "finance_provider": Role("provider", "finance"),
    "marketing_consumer": Role("consumer", "marketing"),
}

# Extra roles some personas hold besides their PERSONAS role.
EXTRA_GROUPS: dict[str, list[str]] = {
    "multi_role": ["dh-finance-consumer", "dh-marketing-steward"],
    "nobody": [],
}


def group_for(role: Role) -> str:
    """The group name that grants ``role`` under the default ROLE_GROUP_PATTERN / ADMIN_GROUP."""
    return settings.ADMIN_GROUP if role.is_admin else f"dh-{role.hub}-{role.persona}"


def make_user(username: str, groups: Iterable[str] = ()) -> Any:
    """The user ``username`` (created if needed) in the Django groups ``groups`` (added, never removed)."""
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


def login_as(client: Any, username: str, role: Role) -> Any:
    """Log ``client`` in as ``username`` (created if needed, granted ``role``) with ``role`` selected; returns the user."""
    user = make_user(username, [group_for(role)])
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = role.as_dict()
    session.save()
    return user


def login_persona(client: Any, persona: str) -> Any:
    if persona in EXTRA_GROUPS:
        user = make_user(persona, EXTRA_GROUPS[persona])
        client.force_login(user)
        return user
    return login_as(client, persona, PERSONAS[persona])


def token_for(username: str, role: Role, days: int = 30) -> str:
    """A bearer token secret for ``username`` (created and granted ``role`` if needed)."""
    from identity import services

    user = make_user(username, [group_for(role)])
    return services.create_token(user, role.key, name="test token", days=days).secret


def bearer(secret: str) -> dict[str, str]:
    """Test-client kwargs sending ``secret`` as a bearer token."""
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
