"""The one role layer: what the selected role may see and do.

Every page, API view, search query and AWS call asks this module; apps never
re-derive permissions. Pure helpers (``Role``, ``table_filter_q``,
``search_filter``) take a role and return a filter, so they are unit-tested
without a request.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Q
from django.http import HttpRequest

PERSONAS = ("consumer", "steward", "provider", "admin")
SESSION_KEY = "portal_role"


@dataclass(frozen=True, order=True)
class Role:
    """A persona scoped to a data hub (``hub`` is None for admins).

    ``use_cases`` are extra read scopes a consumer may hold besides the hub.
    """

    persona: str
    hub: str | None = None
    use_cases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.persona not in PERSONAS:
            raise ValueError(f"unknown persona {self.persona!r}")
        if self.persona != "admin" and not self.hub:
            raise ValueError(f"a {self.persona} role needs a hub")

    @property
    def is_admin(self) -> bool:
        return self.persona == "admin"

    @property
    def read_scopes(self) -> tuple[str, ...]:
        """Hubs (and use cases) whose hub-only datasets this role may read."""
        return tuple(s for s in (self.hub, *self.use_cases) if s)

    @property
    def label(self) -> str:
        return "Admin" if self.is_admin else f"{self.persona.capitalize()} · {self.hub}"

    def can_curate(self, hub: str | None) -> bool:
        return self.is_admin or (self.persona == "steward" and hub == self.hub)

    def can_provide(self, hub: str | None) -> bool:
        return self.is_admin or (self.persona == "provider" and hub == self.hub)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["use_cases"] = list(self.use_cases)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Role":
        return cls(data["persona"], data.get("hub"), tuple(data.get("use_cases") or ()))


def table_filter_q(role: Role | None, prefix: str = "") -> Q:
    """A Q over catalog tables (``prefix`` for related lookups, e.g. ``"table__"``).

    Public datasets are visible to every role; hub-only ones to the roles scoped
    to that hub; everything to admins; nothing without a role.
    """
    if role is None:
        return Q(pk__in=[])
    if role.is_admin:
        return Q()
    return Q(**{f"{prefix}visibility": "public"}) | Q(**{f"{prefix}hub__in": list(role.read_scopes)})


def search_filter(role: Role | None) -> dict[str, Any] | None:
    """The OpenSearch filter clause for the role, or None when the role sees everything.

    Applied inside the query, so hit counts and facet counts never leak hidden datasets.
    """
    if role is None:
        return {"bool": {"must_not": {"match_all": {}}}}
    if role.is_admin:
        return None
    return {
        "bool": {
            "should": [
                {"term": {"visibility": "public"}},
                {"terms": {"hub": list(role.read_scopes)}},
            ],
            "minimum_should_match": 1,
        }
    }


def current_role(request: HttpRequest) -> Role | None:
    """The role of this request: the API token's role, else the one selected in the session."""
    token_role = getattr(request, "token_role", None)
    if token_role is not None:
        return token_role
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return None
    session = getattr(request, "session", None)
    data = session.get(SESSION_KEY) if session is not None else None
    if not data:
        return None
    try:
        return Role.from_dict(data)
    except (KeyError, ValueError, TypeError):
        return None


def select_role(request: HttpRequest, role: Role) -> None:
    """Store the chosen role in the session (the caller checks it was granted)."""
    request.session[SESSION_KEY] = role.as_dict()
