"""Read helpers of the home page: what the selected role may start from.

Every count and list goes through the owning app's role-aware query (``Table.objects.visible_to``,
``pipelines_for``, ``workspaces_for``, ...), so the home page never shows more than the role's
search or API would. The apps are imported inside the functions: ``portal`` is the layer they
build on, not the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q

from identity import roles
from identity.roles import Role

RECENT_CHANGES = 8
QUEUE_SHOWN = 10
LIST_SHOWN = 5
# Layers in the order data flows through them; unknown layers follow, alphabetically.
LAYER_ORDER = ("source", "raw", "prepared", "semantic")


def search_url(**filters: str) -> str:
    """The search page filtered by facets (``hub``, ``layer``): where each count links to."""
    return "/search?" + urlencode({k: v for k, v in filters.items() if v})


@dataclass
class HubRow:
    hub: str
    total: int
    url: str
    cells: list[dict[str, Any]] = field(default_factory=list)  # one per layer: {layer, count, url}


def datasets_by_hub_and_layer(role: Role | None) -> tuple[list[str], list[HubRow]]:
    """(layers, one row per hub) of the datasets the role may see, with counts and search links."""
    from catalog.models import Table

    rows = (Table.objects.visible_to(role).values("hub", "layer").annotate(count=Count("id")).order_by("hub", "layer"))
    counts: dict[tuple[str, str], int] = {(r["hub"], r["layer"]): r["count"] for r in rows}
    layers = sorted({layer for _, layer in counts},
                    key=lambda v: (LAYER_ORDER.index(v) if v in LAYER_ORDER else len(LAYER_ORDER), v))
    hubs: list[HubRow] = []
    for hub in sorted({hub for hub, _ in counts}):
        row = HubRow(hub=hub or "(no hub)", total=sum(c for (h, _), c in counts.items() if h == hub),
                     url=search_url(hub=hub))
        for layer in layers:
            count = counts.get((hub, layer), 0)
            row.cells.append({"layer": layer, "count": count, "url": search_url(hub=hub, layer=layer) if count else ""})
        hubs.append(row)
    return layers, hubs


def recently_changed(role: Role | None, limit: int = RECENT_CHANGES) -> list[dict[str, Any]]:
    """The datasets whose Glue version changed last (the sync's version history), newest first,
    one entry per dataset, with what changed in its schema."""
    from catalog.models import TableVersion
    from identity.roles import table_filter_q

    versions = (TableVersion.objects.filter(table_filter_q(role, prefix="table__"), table__deleted_at__isnull=True)
                .select_related("table").order_by("-recorded_at", "-id")
                .only("diff", "recorded_at", "updated_at", "table__database_name", "table__name")[: limit * 5])
    seen: set[int] = set()
    changes = []
    for version in versions:
        if version.table_id in seen:
            continue
        seen.add(version.table_id)
        diff = version.diff or {}
        changes.append({
            "qualified_name": version.table.qualified_name,
            "at": version.updated_at or version.recorded_at,
            "first_seen": bool(diff.get("first_seen")),
            "added": len(diff.get("added", [])), "removed": len(diff.get("removed", [])),
            "type_changed": len(diff.get("type_changed", [])),
        })
        if len(changes) == limit:
            break
    return changes


@dataclass
class CurationQueue:
    hub: str
    total: int
    waiting: int
    items: list[dict[str, Any]]

    @property
    def curated_percent(self) -> int:
        """Share of the hub's datasets with both a description and an owner (100 when it has none)."""
        return 100 if not self.total else round(100 * (self.total - self.waiting) / self.total)


def curation_queue(role: Role, limit: int = QUEUE_SHOWN) -> CurationQueue:
    """The steward's hub datasets without a description or an owner (a curated value counts, as it
    overrides Glue's on the dataset page), oldest change first."""
    from catalog.models import Table

    hub_tables = Table.objects.visible_to(role).filter(hub=role.hub)
    no_description = Q(description="") & (Q(curation__isnull=True) | Q(curation__description=""))
    no_owner = Q(owner="") & (Q(curation__isnull=True) | Q(curation__owner=""))
    waiting = hub_tables.filter(no_description | no_owner).annotate(
        lacks_description=Q(no_description), lacks_owner=Q(no_owner),
    ).order_by("updated_at", "database_name", "name")
    items = [{"qualified_name": t.qualified_name,
              "missing": [w for w, lacks in (("description", t.lacks_description), ("owner", t.lacks_owner)) if lacks]}
             for t in waiting[:limit]]
    return CurationQueue(hub=role.hub or "", total=hub_tables.count(), waiting=waiting.count(), items=items)


def pipelines_overview(role: Role, limit: int = 20) -> list[dict[str, Any]]:
    """The hub's pipelines with their last run and when the schedule fires next."""
    from ingestion_wizard.queries import pipelines_for
    from ingestion_wizard.validation import safe_next_runs

    out = []
    for pipeline in pipelines_for(role).order_by("name")[:limit]:
        runs = list(pipeline.runs.all()[:1])  # prefetched, newest first
        next_run: datetime | None = None
        schedule_problem = ""
        if pipeline.schedule and pipeline.status == "ready":
            upcoming, schedule_problem = safe_next_runs(pipeline.schedule, 1)
            next_run = upcoming[0] if upcoming else None
        out.append({"pipeline": pipeline, "last_run": runs[0] if runs else None, "next_run": next_run,
                    "schedule_problem": schedule_problem})
    return out


def consumer_overview(user: Any, role: Role, limit: int = LIST_SHOWN) -> dict[str, Any]:
    """The user's workspaces, subscriptions and newest notifications."""
    from workspaces.queries import notification_feed, subscriptions_for, workspaces_for

    return {
        "workspaces": list(workspaces_for(user, role)[:limit]),
        "subscriptions": list(subscriptions_for(user, role)[:limit]),
        "subscription_count": subscriptions_for(user, role).count(),
        "notifications": list(notification_feed(user, role)[:limit]),
    }


def admin_overview(limit: int = LIST_SHOWN) -> dict[str, Any]:
    """The last sync runs, and whatever failed: syncs, pipelines, their runs, workspaces."""
    from catalog.models import SyncRun
    from ingestion_wizard.models import Pipeline, PipelineRun
    from workspaces.models import Workspace

    return {
        "sync_runs": list(SyncRun.objects.select_related("catalog")[:limit]),
        "failed_syncs": list(SyncRun.objects.filter(status__in=[SyncRun.Status.FAILED, SyncRun.Status.PARTIAL])
                             .select_related("catalog")[:limit]),
        "failed_pipelines": list(Pipeline.objects.filter(status=Pipeline.Status.FAILED).order_by("-updated_at")[:limit]),
        "failed_runs": list(PipelineRun.objects.filter(status=PipelineRun.Status.FAILED)
                            .select_related("pipeline")[:limit]),
        "failed_workspaces": list(Workspace.objects.filter(status=Workspace.Status.FAILED)
                                  .select_related("owner")[:limit]),
    }


def home_context(user: Any, role: Role | None) -> dict[str, Any]:
    """Everything the home page shows for ``role`` (nothing role-specific without one)."""
    if role is None:
        return {}
    layers, hubs = datasets_by_hub_and_layer(role)
    from catalog.completeness import completeness

    context: dict[str, Any] = {"layers": layers, "hubs": hubs, "changes": recently_changed(role),
                               "completeness": completeness(role)}
    if roles.Abilities.of(role).decide_access:
        from access.queries import queue_for

        context["access_queue"] = list(queue_for(role)[:QUEUE_SHOWN])
    if role.is_admin:
        context["admin"] = admin_overview()
    elif roles.may_curate(role, role.hub):
        context["queue"] = curation_queue(role)
    elif roles.may_provide(role):
        context["pipelines"] = pipelines_overview(role)
    else:
        context["consumer"] = consumer_overview(user, role)
    return context
