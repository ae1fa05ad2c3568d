"""The one role layer: what the selected role may see and do.

Every page, API view, search query and AWS call asks this module; apps never
re-derive permissions. Pure helpers (``Role``, ``table_filter_q``,
``search_filter``) take a role and return a filter, so they are unit-tested
without a request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

PERSONAS = ("consumer", "steward", "provider", "admin")
SESSION_KEY = "portal_role"
# The roles granted at login (refreshed on the selection page), for the header switcher only;
# selecting a role always re-checks the live grants.
GRANTED_SESSION_KEY = "portal_granted_roles"


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

    @property
    def key(self) -> str:
        """``persona:hub`` (``admin`` alone): how forms, tokens and the switcher name a role."""
        return self.persona if self.is_admin else f"{self.persona}:{self.hub}"

    def same_grant(self, other: "Role") -> bool:
        """Same persona and hub (use-case scopes may have changed since)."""
        return self.key == other.key

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


# --- The questions apps ask -------------------------------------------------------------
# One function per question; HTML views, API permissions (identity.permissions.role_may),
# templates (the ``may`` context value), services and tasks all call these, so a rule is
# changed here once. Each takes ``None`` (no role selected) and answers False for it.

def may_operate(role: Role | None) -> bool:
    """See the operations page and the sync runs (admins and stewards)."""
    return role is not None and (role.is_admin or role.persona == "steward")


def may_start_sync(role: Role | None) -> bool:
    """Start a catalog sync (admins)."""
    return role is not None and role.is_admin


def may_provide(role: Role | None, hub: str | None = None) -> bool:
    """Onboard sources and report lineage: into ``hub`` when given, into any hub the role
    provides for otherwise (a provider its own, an admin every one)."""
    if role is None:
        return False
    if hub is None:
        return role.is_admin or role.persona == "provider"
    return role.can_provide(hub)


def may_curate(role: Role | None, hub: str | None) -> bool:
    """Curate the datasets of ``hub`` (its steward, admins)."""
    return role is not None and role.can_curate(hub)


def may_curate_somewhere(role: Role | None) -> bool:
    """Curate the datasets of some hub (stewards of their hub, admins of every one): who has a proposals queue."""
    return role is not None and may_curate(role, role.hub)


def may_curate_column(role: Role | None, dataset: Any) -> bool:
    """Curate the columns of ``dataset`` (anything with a ``hub``: a catalog table) and decide the
    propagation proposals queued for them: the stewards of its hub, admins."""
    return may_curate(role, getattr(dataset, "hub", None))


def curatable_q(role: Role | None, field: str = "hub") -> Q:
    """A Q over rows carrying a hub in ``field``: those whose datasets the role curates (see may_curate)."""
    if role is None or not (role.is_admin or role.persona == "steward"):
        return Q(pk__in=[])
    return Q() if role.is_admin else Q(**{field: role.hub})


def may_launch(role: Role | None) -> bool:
    """Launch workspaces (consumers and admins)."""
    return role is not None and (role.is_admin or role.persona == "consumer")


def may_request_access(role: Role | None, table: Any = None) -> bool:
    """Ask for Lake Formation access to a dataset (a ``catalog.Table`` the role sees; None: to any)
    for the role's IAM role: consumers, for what they read."""
    return role is not None and role.persona == "consumer"


def may_decide_access(role: Role | None, table: Any) -> bool:
    """Approve, refuse or revoke access to a dataset: the stewards of its owning hub, and admins."""
    return role is not None and table is not None and role.can_curate(getattr(table, "hub", None))


def decides_access_q(role: Role | None, field: str = "hub") -> Q:
    """The access requests a role decides (``field`` holds the dataset's owning hub): its own hub's
    for a steward, all for admins, none for anyone else."""
    if role is None or not (role.is_admin or role.persona == "steward"):
        return Q(pk__in=[])
    return Q() if role.is_admin else Q(**{field: role.hub})


def may_administer(role: Role | None) -> bool:
    """Admin-only pages and endpoints (the audit trail)."""
    return role is not None and role.is_admin


def sees_hub(role: Role | None, hub: str) -> bool:
    """Objects outside the catalog that carry a hub (lineage datasets and jobs reported by a
    provider): "" is every role's; otherwise the roles reading that hub (admins all)."""
    if role is None:
        return False
    return role.is_admin or not hub or hub in role.read_scopes


def provided_hub(role: Role | None) -> str:
    """The hub what this role reports (lineage events) is filed under: a provider's own,
    "" (every role's) for anyone else allowed to post."""
    if role is not None and role.persona == "provider" and role.hub:
        return role.hub
    return ""


def may_query(role: Role | None) -> bool:
    """Preview datasets and run SQL on the lake (every role; Lake Formation decides the columns)."""
    return role is not None


@dataclass(frozen=True)
class LakeGrant:
    """One Lake Formation SELECT grant on a table: ``columns`` None means every column but ``excluded``."""

    principal: str
    columns: tuple[str, ...] | None = None
    excluded: tuple[str, ...] = ()


def readable_columns(role: Role | None, principal: str, columns: Iterable[str], grants: Iterable[LakeGrant]) -> set[str]:
    """The columns of a table ``role`` (acting as IAM ``principal``) may read, from the table's Lake
    Formation SELECT grants to every principal.

    Admins act as data lake administrators: every column. A table without any grant is not governed
    by Lake Formation (IAM alone decides, as AWS's IAMAllowedPrincipals default): every column to a role
    that sees it. Otherwise only the principal's own grants count; none means no column at all.
    """
    names = list(columns)
    if role is None:
        return set()
    grants = list(grants)
    if role.is_admin or not grants:
        return set(names)
    readable: set[str] = set()
    for grant in grants:
        if grant.principal != principal:
            continue
        if grant.columns is None:
            excluded = {c.lower() for c in grant.excluded}
            readable |= {n for n in names if n.lower() not in excluded}
        else:
            allowed = {c.lower() for c in grant.columns}
            readable |= {n for n in names if n.lower() in allowed}
    return readable


@dataclass(frozen=True)
class Abilities:
    """The answers templates need, as the ``may`` context value (``{% if may.operate %}``)."""

    operate: bool = False
    start_sync: bool = False
    provide: bool = False
    curate: bool = False  # the role's own hub
    launch: bool = False
    administer: bool = False
    decide_access: bool = False  # stewards (their hub) and admins: the access request queue
    query: bool = False

    @classmethod
    def of(cls, role: Role | None) -> "Abilities":
        if role is None:
            return cls()
        return cls(operate=may_operate(role), start_sync=may_start_sync(role), provide=may_provide(role),
                   curate=may_curate_somewhere(role), launch=may_launch(role), administer=may_administer(role),
                   decide_access=role.is_admin or may_curate(role, role.hub), query=may_query(role))


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


def acting_role(request: HttpRequest) -> Role:
    """The role of a request that must act in one (HTML views behind ``role_required``, API
    views behind ``HasSelectedRole``); raises PermissionDenied (403) when there is none."""
    role = current_role(request)
    if role is None:
        raise PermissionDenied("Select a role first.")
    return role


def select_role(request: HttpRequest, role: Role) -> None:
    """Store the chosen role in the session (the caller checks it was granted)."""
    request.session[SESSION_KEY] = role.as_dict()


def roles_from_groups(groups: Iterable[str], *, pattern: str | None = None, admin_group: str | None = None,
                      use_case_pattern: str | None = None) -> list[Role]:
    """The roles granted by a user's group names (IdP claim or Django groups), sorted admin first.

    - ``ADMIN_GROUP`` (default ``dh-admins``) grants the admin role;
    - ``ROLE_GROUP_PATTERN`` (named groups ``hub`` and ``persona``) grants ``persona`` on ``hub``;
    - ``USE_CASE_GROUP_PATTERN`` (named group ``use_case``, default ``dh-usecase-<name>-consumer``)
      adds a read scope to every consumer role of the user. Such a group never grants a hub
      role by itself, even when ``ROLE_GROUP_PATTERN`` would also match it.
    Names that match nothing are ignored.
    """
    role_re = re.compile(pattern if pattern is not None else settings.ROLE_GROUP_PATTERN)
    use_case_re = re.compile(use_case_pattern if use_case_pattern is not None else settings.USE_CASE_GROUP_PATTERN)
    admin = admin_group if admin_group is not None else settings.ADMIN_GROUP
    is_admin = False
    grants: set[tuple[str, str]] = set()
    use_cases: set[str] = set()
    for name in groups:
        name = name.strip()
        if name == admin:
            is_admin = True
        elif (match := use_case_re.match(name)) is not None:
            use_cases.add(match.group("use_case"))
        elif (match := role_re.match(name)) is not None and match.group("persona") in PERSONAS:
            if match.group("persona") != "admin":
                grants.add((match.group("persona"), match.group("hub")))
    roles = [Role("admin")] if is_admin else []
    for persona, hub in sorted(grants, key=lambda g: (g[1], PERSONAS.index(g[0]))):
        scopes = tuple(sorted(use_cases - {hub})) if persona == "consumer" else ()
        roles.append(Role(persona, hub, scopes))
    return roles


def made_in_role_q(role: Role | None, field: str = "role_key") -> Q:
    """What a user made in one role (subscriptions, the notifications they bring) is listed in that
    role only — a token bound to one role never sees what its user made under another. Rows from
    before roles were recorded (blank key) belong to every role of their user."""
    if role is None:
        return Q(pk__in=[])
    return Q(**{field: role.key}) | Q(**{field: ""})


def launched_in_role_q(role: Role | None, field: str = "role") -> Q:
    """The same rule for workspaces, whose launch role is stored as ``Role.as_dict()``; admins see every
    workspace (``WorkspaceQuerySet.visible_to``), so this narrows the other personas only."""
    if role is None:
        return Q(pk__in=[])
    if role.is_admin:
        return Q()
    return Q(**{f"{field}__persona": role.persona, f"{field}__hub": role.hub})


def role_lost(role_key: str, granted: Iterable[Role]) -> bool:
    """True when what was made in ``role_key`` must stop: its user no longer holds that role."""
    return bool(role_key) and all(r.key != role_key for r in granted)


def find_role(roles: Iterable[Role], key: str) -> Role | None:
    """The role named ``key`` (``persona:hub`` or ``admin``) among ``roles``, or None."""
    return next((r for r in roles if r.key == key), None)


def role_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """HTML views that act in a role: anonymous users go to the login page, users without
    a selected role to the role selection page, both coming back to this page afterwards."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return HttpResponseRedirect(f"{settings.LOGIN_URL}?{urlencode({'next': request.get_full_path()})}")
        if current_role(request) is None:
            return HttpResponseRedirect(f"/roles/select/?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return wrapper
