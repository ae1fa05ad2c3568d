"""The MCP tools: each one parses its arguments, asks the same query or service the REST API asks, answers.

Pure of transport: a tool is a sync function ``(caller, args) -> dict`` run in a thread that may use the
ORM; ``agents.server`` wraps them into the SDK's handlers for streamable HTTP and stdio alike. What a role
may see or do is never decided here: the role-aware queries (``catalog.queries.visible_table``,
``lineage.queries``, ``Pipeline.objects.for_role``, ``workspaces.queries``) and services do it, so a
dataset the API answers 404 for is "not found" here too, with the same message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.http import Http404
from pydantic import BaseModel, ConfigDict, Field

from access import services as access_services
from catalog import queries as catalog_queries
from catalog.api.serializers import dataset_json, versions_json
from catalog.search import searcher
from catalog.search.documents import FACETS
from catalog.search.indexer import IndexUnavailable
from catalog.search.query import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_QUERY_CHARS, BadSearchRequest, parse_request
from catalog.services import curation as curation_service
from ingestion_wizard.api.serializers import pipeline_brief, run_data
from ingestion_wizard.filtersets import PipelineFilterSet
from ingestion_wizard.models import Pipeline
from lineage import queries as lineage_queries
from identity.models import AccessToken
from identity import roles
from portal.filtering import first_error
from portal.limits import bounded_int
from queries import queries as query_queries
from queries import services as query_services
from queries.api.serializers import QuerySerializer
from queries.api.views import LAKE_DOWN
from queries.sql import QueryError
from identity.roles import Role
from workspaces import queries as workspace_queries
from workspaces.api.serializers import WorkspaceSerializer

# JSON-RPC error codes of the answers (the HTTP status the REST API gives is in the error's data).
INVALID_PARAMS = -32602
UNAUTHORIZED = -32001
FORBIDDEN = -32003
NOT_FOUND = -32004
TOO_LARGE = -32013
RATE_LIMITED = -32029
NOT_AVAILABLE = -32050
UNAVAILABLE = -32053

WRITE_SCOPE = "write"
# Runs of a pipeline the API lists (RunListView answers the newest 100).
RUNS_LISTED = 100
PIPELINES_PAGE_SIZE = 100
WORKSPACES_PAGE_SIZE = 100
IMPACT_PAGE_SIZE = 100  # the API's default page_size of /lineage/impact
DATASET_NAME_CHARS = 511
PARTITION_CHARS = 1024  # what the preview API reads of ?partition=
SQL_CHARS = 100_000  # QueryCreateSerializer's max_length
# run_query answers in one call: it waits this long at most (or QUERY_TIME_LIMIT_SECONDS when smaller),
# then answers the query's id and state (still running), so an agent is never held for a whole query.
RUN_QUERY_WAIT_SECONDS = 30


class ToolError(Exception):
    """A refusal the caller can act on: answered as a JSON-RPC error with ``code`` and the message."""

    def __init__(self, code: int, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Caller:
    """Who calls: the token's user, the token (for its scopes and rate limit) and the role it acts in."""

    user: Any
    token: AccessToken
    role: Role
    ip: str | None = None

    @property
    def can_write(self) -> bool:
        return self.token.has_scope(WRITE_SCOPE)


def not_found(message: str) -> ToolError:
    return ToolError(NOT_FOUND, message, 404)


def forbidden(message: str) -> ToolError:
    return ToolError(FORBIDDEN, message, 403)


def invalid(message: str) -> ToolError:
    return ToolError(INVALID_PARAMS, message, 400)


def _require(caller: Caller, rule: Callable[[Role | None], bool]) -> None:
    """The same rule (and message) as ``identity.permissions.role_may(rule)`` on the matching API view."""
    if not rule(caller.role):
        raise forbidden(f"Your role ({caller.role.label}) may not do this.")


def visible(caller: Caller, dataset: str) -> Any:
    """The table if the role may see it; ToolError(NOT_FOUND) with the API's 404 message otherwise."""
    try:
        return catalog_queries.visible_table(caller.role, dataset)
    except Http404 as exc:
        raise not_found(str(exc) or f"No dataset {dataset}.") from None


def _paged(items: list[Any], total: int, page: int, page_size: int) -> dict[str, Any]:
    """Every list says whether it is complete, and which page comes next when it is not."""
    complete = (page - 1) * page_size + len(items) >= total
    return {"total": total, "page": page, "page_size": page_size, "complete": complete,
            "next_page": None if complete else page + 1}


# --- arguments: unknown names are refused (extra="forbid"), sizes bounded ---------------------------------

def _dataset_field() -> Any:
    return Field(min_length=3, max_length=DATASET_NAME_CHARS, description='The dataset as "DATABASE.TABLE".')


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SearchArgs(_Args):
    query: str = Field("", max_length=MAX_QUERY_CHARS, description="Words, a table or column name, or DATABASE.TABLE.")
    facets: dict[str, list[str] | str] = Field(
        default_factory=dict, max_length=len(FACETS),
        description=f"Facet filters, AND across facets, OR within one: {', '.join(FACETS)}.")
    page: int = Field(1, ge=1, le=10_000, description="1-based page.")
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Results per page.")


class DatasetArgs(_Args):
    dataset: str = _dataset_field()


class LineageArgs(_Args):
    dataset: str = _dataset_field()
    direction: Literal["upstream", "downstream", "both"] = "both"
    depth: int = Field(2, ge=0, description="Hops from the dataset (at most LINEAGE_MAX_DEPTH).")
    column: str | None = Field(None, max_length=255, description="Follow one column (column-level lineage).")


class ImpactArgs(_Args):
    dataset: str = _dataset_field()
    column: str | None = Field(None, max_length=255, description="Only what depends on this column.")
    page: int = Field(1, ge=1, le=10**6)
    page_size: int = Field(IMPACT_PAGE_SIZE, ge=1, le=1000)


class PipelinesArgs(_Args):
    status: str | None = Field(None, max_length=30, description="Only pipelines in this status.")
    page: int = Field(1, ge=1, le=10**6)


class PipelineRunsArgs(_Args):
    pipeline: int = Field(ge=1, description="The pipeline id (from list_pipelines).")


class PageArgs(_Args):
    page: int = Field(1, ge=1, le=10**6)


class DescriptionArgs(_Args):
    dataset: str = _dataset_field()
    description: str = Field(max_length=curation_service.MAX_DESCRIPTION_CHARS)


class OwnerArgs(_Args):
    dataset: str = _dataset_field()
    owner: str = Field(max_length=255)


class TagsArgs(_Args):
    dataset: str = _dataset_field()
    tags: list[str] = Field(min_length=1, max_length=curation_service.MAX_TAGS)


class AccessArgs(_Args):
    dataset: str = _dataset_field()
    purpose: str = Field(..., max_length=2000, description="What the access is for; the stewards read it.")
    until: str = Field(..., max_length=10, description="YYYY-MM-DD: the access ends after this day.")
    columns: list[str] = Field(default_factory=list, max_length=1000,
                               description="Only these columns (default: the whole table).")


class PreviewArgs(_Args):
    dataset: str = _dataset_field()
    limit: int | None = Field(None, ge=1, description="Rows (default and at most QUERY_PREVIEW_MAX_ROWS, 100).")
    partition: str = Field("", max_length=PARTITION_CHARS,
                           description="One partition: key=value[/key=value] of the partition keys.")


class RunQueryArgs(_Args):
    sql: str = Field(min_length=1, max_length=SQL_CHARS,
                     description="One SELECT (or WITH … SELECT) over DATABASE.TABLE names, Athena SQL.")


# --- read tools ---------------------------------------------------------------------------------------------


def search(caller: Caller, args: SearchArgs) -> dict[str, Any]:
    params: list[tuple[str, list[str]]] = [("q", [args.query]), ("page", [str(args.page)]),
                                           ("page_size", [str(args.page_size)])]
    for facet, values in args.facets.items():
        params.append((facet, [values] if isinstance(values, str) else list(values)))
    try:
        request = parse_request(params)
    except BadSearchRequest as exc:
        raise invalid(str(exc)) from None
    try:
        page = searcher.search(request, caller.role)
    except IndexUnavailable as exc:
        raise ToolError(UNAVAILABLE, str(exc), 503) from None
    results = [
        {"dataset": r["qualified_name"], "description": r["description"], "hub": r["hub"], "layer": r["layer"],
         "owner": r["owner"], "classification": r["classification"], "table_type": r["table_type"],
         "format": r["format"], "matched_columns": [c["name"] for c in r.get("matched_columns", [])]}
        for r in page["results"]
    ]
    facets = {name: {v["value"]: v["count"] for v in values} for name, values in page["facets"].items() if values}
    return {"query": request.text, **_paged(results, page["count"], request.page, request.page_size),
            "results": results, "facets": facets}


def get_dataset(caller: Caller, args: DatasetArgs) -> dict[str, Any]:
    table = visible(caller, args.dataset)
    detail = dataset_json(catalog_queries.dataset_detail(table, role=caller.role))
    keep = ("qualified_name", "description", "owner", "classification", "tags", "hub", "layer", "visibility",
            "table_type", "format", "location", "partition_keys", "partition_count", "column_count", "pii_columns",
            "updated_at", "view_sql")
    answer = {k: detail[k] for k in keep}
    answer["dataset"] = answer.pop("qualified_name")
    answer["columns"] = [{k: c[k] for k in ("name", "type", "comment", "partition_key", "pii")} for c in detail["columns"]]
    answer["popularity"] = {"usage_count": detail["usage_count"]}
    # What this role may do with it, from the one role layer (access requests come with issue 17).
    answer["access"] = {"state": "readable", "can_curate": caller.role.can_curate(table.hub),
                        "can_provide": caller.role.can_provide(table.hub), "role": caller.role.key}
    return answer


def get_lineage(caller: Caller, args: LineageArgs) -> dict[str, Any]:
    limit = settings.LINEAGE_MAX_DEPTH
    if args.depth > limit:
        raise invalid(f"depth must be between 0 and {limit}.")
    start = _start(caller, args.dataset)
    document, cycle = lineage_queries.graph_document(caller.role, start, direction=args.direction, depth=args.depth,
                                                     column=args.column)
    nodes = [_node(n) for n in document["nodes"]]
    hidden = {"datasets": sum(1 for n in nodes if n["hidden"] and n["kind"] == "dataset"),
              "jobs": sum(1 for n in nodes if n["hidden"] and n["kind"] == "job")}
    edges = [{"source": e["source"], "target": e["target"], "job": e["job"],
              **({"columns": e["columns"]} if e["columns"] else {})} for e in document["edges"]]
    return {
        "dataset": args.dataset, "direction": args.direction, "depth": args.depth, "column": args.column,
        "total": {"nodes": len(nodes), "edges": len(edges)}, "hidden": hidden,
        "truncated": document["truncated"], "complete": not document["truncated"],
        "max_nodes": lineage_queries.max_nodes(), "cycle": cycle, "nodes": nodes, "edges": edges,
    }


def get_impact(caller: Caller, args: ImpactArgs) -> dict[str, Any]:
    start = _start(caller, args.dataset)
    total, results = lineage_queries.impact_page(caller.role, start, column=args.column,
                                                 offset=(args.page - 1) * args.page_size, limit=args.page_size)
    items = [{**_node(r), "column": r["column"], "distance": r["distance"]} for r in results]
    return {"dataset": args.dataset, "column": args.column, **_paged(items, total, args.page, args.page_size),
            "hidden_on_page": sum(1 for i in items if i["hidden"]), "results": items}


def _start(caller: Caller, dataset: str) -> lineage_queries.Start:
    try:
        return lineage_queries.find_start(caller.role, dataset=dataset)
    except lineage_queries.UnknownDataset as exc:
        raise not_found(str(exc)) from None
    except Http404 as exc:
        raise not_found(str(exc)) from None


def _node(node: dict[str, Any]) -> dict[str, Any]:
    """A graph node, compact: hidden ones carry only their id and kind (never a name)."""
    if node["hidden"]:
        return {"id": node["id"], "kind": node["kind"], "hidden": True}
    out = {"id": node["id"], "kind": node["kind"], "hidden": False, "name": node["name"]}
    if node.get("qualified_name"):
        out["dataset"] = node["qualified_name"]
    else:
        out["namespace"] = node["namespace"]
    return out


def list_pipelines(caller: Caller, args: PipelinesArgs) -> dict[str, Any]:
    _require(caller, roles.may_provide)
    filters = PipelineFilterSet({"status": args.status or ""}, queryset=Pipeline.objects.for_role(caller.role))
    if not filters.is_valid():
        raise ToolError(INVALID_PARAMS, first_error(filters), 400)
    qs = filters.qs
    total = qs.count()
    offset = (args.page - 1) * PIPELINES_PAGE_SIZE
    items = [pipeline_brief(p) for p in qs[offset: offset + PIPELINES_PAGE_SIZE]]
    return {**_paged(items, total, args.page, PIPELINES_PAGE_SIZE), "results": items}


def get_pipeline_runs(caller: Caller, args: PipelineRunsArgs) -> dict[str, Any]:
    _require(caller, roles.may_provide)
    pipeline = Pipeline.objects.for_role(caller.role).filter(pk=args.pipeline).first()
    if pipeline is None:
        raise not_found(f"No pipeline {args.pipeline}.")
    total = pipeline.runs.count()
    runs = [run_data(r) for r in pipeline.runs.all()[:RUNS_LISTED]]
    return {"pipeline": pipeline.pk, "name": pipeline.name, "status": pipeline.status,
            **_paged(runs, total, 1, RUNS_LISTED), "results": runs}


def list_workspaces(caller: Caller, args: PageArgs) -> dict[str, Any]:
    _require(caller, roles.may_launch)
    qs = workspace_queries.workspaces_for(caller.user, caller.role)
    total = qs.count()
    offset = (args.page - 1) * WORKSPACES_PAGE_SIZE
    keep = ("id", "name", "owner", "status", "status_reason", "datasets", "instance_type", "emr", "hourly_cost",
            "notebook_url", "created_at", "last_activity_at")
    items = [{k: w[k] for k in keep} for w in WorkspaceSerializer(qs[offset: offset + WORKSPACES_PAGE_SIZE], many=True).data]
    return {**_paged(items, total, args.page, WORKSPACES_PAGE_SIZE), "results": items}


def get_schema_history(caller: Caller, args: DatasetArgs) -> dict[str, Any]:
    table = visible(caller, args.dataset)
    history = versions_json(table.qualified_name, catalog_queries.versions_of(table))
    versions = [{k: v[k] for k in ("version_id", "updated_at", "diff", "columns")} for v in history["versions"]]
    return {"dataset": table.qualified_name, **_paged(versions, len(versions), 1, max(len(versions), 1)),
            "versions": versions}


# --- queries on the lake: the queries app's services, with the API's limits and answers -------------------------


def _query_refused(exc: QueryError) -> ToolError:
    """A refused statement or preview as the API answers it (400 with the reason; 429 past the running cap)."""
    status = getattr(exc, "status_code", 400)
    return ToolError(RATE_LIMITED if status == 429 else INVALID_PARAMS, str(exc), status)


def preview(caller: Caller, args: PreviewArgs) -> dict[str, Any]:
    """The API's GET /api/v1/datasets/DB.TABLE/preview: the first rows, masked columns None and listed."""
    _require(caller, roles.may_query)
    table = visible(caller, args.dataset)
    try:
        limit = bounded_int({"limit": args.limit}, "limit", settings.QUERY_PREVIEW_MAX_ROWS, 1,
                            settings.QUERY_PREVIEW_MAX_ROWS)
        answer = query_services.preview(table, role=caller.role, user=caller.user, limit=limit,
                                         partition=args.partition)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    except QueryError as exc:
        raise _query_refused(exc) from None
    except (BotoCoreError, ClientError):
        raise ToolError(UNAVAILABLE, LAKE_DOWN, 503) from None
    return {"dataset": table.qualified_name, "partition": args.partition or None, **answer,
            "row_count": len(answer["rows"]), "limit": limit}


def run_query(caller: Caller, args: RunQueryArgs) -> dict[str, Any]:
    """The API's POST /api/v1/queries, then its first result page once the worker ran it (bounded wait)."""
    _require(caller, roles.may_query)
    try:
        query = query_services.submit_query(caller.user, caller.role, args.sql)
    except QueryError as exc:
        raise _query_refused(exc) from None
    query = query_queries.wait_until_done(query, min(RUN_QUERY_WAIT_SECONDS, settings.QUERY_TIME_LIMIT_SECONDS))
    if query.state in (query.State.FAILED, query.State.CANCELLED):
        raise invalid(f"Query {query.pk} {query.state}: {query.error or 'cancelled before it finished.'}")
    status = QuerySerializer(query).data
    answer = {"query_id": status.pop("id"), **{k: v for k, v in status.items() if k != "sql"}}
    if query.state != query.State.SUCCEEDED:
        # Still queued or running: the id lets the caller follow it at GET /api/v1/queries/ID.
        return {**answer, "columns": [], "rows": [], "next": None, "complete": False}
    page_size = settings.QUERY_RESULTS_PAGE_SIZE
    page = query_queries.result_page(query, 1, page_size)
    # Complete: every row of the result is on this page and the result was not cut at QUERY_MAX_RESULT_ROWS.
    return {**answer, **page, "page": 1, "page_size": page_size,
            "complete": page["next"] is None and not query.truncated}


# --- write tools: only with the token's write scope, through the curation service -------------------------------


def _curate(caller: Caller, tool: str, dataset: str, data: curation_service.CurationInput) -> dict[str, Any]:
    table = visible(caller, dataset)
    try:
        curation_service.curate(table, data, actor=caller.user, role=caller.role, ip=caller.ip, via=f"mcp:{tool}")
    except curation_service.CurationForbidden as exc:
        raise forbidden(str(exc)) from None
    except curation_service.CurationError as exc:
        raise invalid(str(exc)) from None
    table.refresh_from_db()
    detail = catalog_queries.dataset_detail(table, role=caller.role)
    return {"dataset": table.qualified_name, "description": detail["description"], "owner": detail["owner"],
            "tags": detail["curation"]["tags"], "saved": True}


def update_description(caller: Caller, args: DescriptionArgs) -> dict[str, Any]:
    return _curate(caller, "update_description", args.dataset, curation_service.CurationInput(description=args.description))


def set_owner(caller: Caller, args: OwnerArgs) -> dict[str, Any]:
    return _curate(caller, "set_owner", args.dataset, curation_service.CurationInput(owner=args.owner))


def add_tags(caller: Caller, args: TagsArgs) -> dict[str, Any]:
    table = visible(caller, args.dataset)
    curation = catalog_queries.curation_of(table)
    current = list(curation.tags) if curation else []
    return _curate(caller, "add_tags", args.dataset, curation_service.CurationInput(tags=current + list(args.tags)))


def request_access(caller: Caller, args: AccessArgs) -> dict[str, Any]:
    """The API's POST /api/v1/access-requests: the same service, audited with the tool's name."""
    visible(caller, args.dataset)  # an invisible dataset is "not found" first, as everywhere
    try:
        request = access_services.request_access(
            user=caller.user, role=caller.role, dataset=args.dataset, purpose=args.purpose, until=args.until,
            columns=args.columns or None, ip=caller.ip, via="mcp:request_access")
    except access_services.NotAllowed as exc:
        raise forbidden(str(exc)) from None
    except access_services.DatasetNotFound as exc:
        raise not_found(str(exc)) from None
    except access_services.AccessError as exc:
        raise invalid(str(exc)) from None
    return {"id": request.pk, "state": request.state, "dataset": request.dataset, "columns": request.columns,
            "until": request.until.isoformat(), "decided_by": f"the stewards of hub {request.hub}"}


# --- the registry -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    args: type[_Args]
    run: Callable[[Caller, Any], dict[str, Any]]
    write: bool = False

    def input_schema(self) -> dict[str, Any]:
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        schema["additionalProperties"] = False
        return schema


TOOLS: dict[str, ToolSpec] = {t.name: t for t in (
    ToolSpec("search", "Search the catalog datasets your role may see: ranked results with facet counts, paged.",
             SearchArgs, search),
    ToolSpec("get_dataset", "One dataset: schema, description, owner, tags, classification, popularity, access.",
             DatasetArgs, get_dataset),
    ToolSpec("get_lineage", "Lineage around a dataset (or one column): nodes, edges, truncated, totals and how many "
             "nodes are hidden from your role.", LineageArgs, get_lineage),
    ToolSpec("get_impact", "Everything downstream of a dataset (or column) with its distance: what breaks if it "
             "changes. Paged; hidden datasets are counted, never named.", ImpactArgs, get_impact),
    ToolSpec("list_pipelines", "Ingestion pipelines of your hub (providers and admins).", PipelinesArgs, list_pipelines),
    ToolSpec("get_pipeline_runs", "The newest runs of one pipeline (providers and admins).", PipelineRunsArgs,
             get_pipeline_runs),
    ToolSpec("list_workspaces", "Your analysis workspaces (consumers; admins see all).", PageArgs, list_workspaces),
    ToolSpec("get_schema_history", "Glue versions of a dataset, newest first, each with its schema diff.",
             DatasetArgs, get_schema_history),
    ToolSpec("preview", "The first rows of a dataset (or one partition) as your role reads them; columns Lake "
             "Formation does not grant are null and listed in masked.", PreviewArgs, preview),
    ToolSpec("run_query", "Run one SELECT on the lake in your role (the API's limits) and answer the first page "
             f"of its result, waiting up to {RUN_QUERY_WAIT_SECONDS} s; a longer query answers its query_id and "
             "state (follow it at GET /api/v1/queries/ID). A refused or failed query is an error with the reason.",
             RunQueryArgs, run_query),
    ToolSpec("update_description", "Set a dataset's curated description (stewards of its hub; write scope).",
             DescriptionArgs, update_description, write=True),
    ToolSpec("set_owner", "Set a dataset's curated owner (stewards of its hub; write scope).", OwnerArgs, set_owner,
             write=True),
    ToolSpec("add_tags", "Add tags to a dataset (stewards of its hub; write scope).", TagsArgs, add_tags, write=True),
    ToolSpec("request_access", "Ask for Lake Formation access to a dataset (or some of its columns) for your role "
             "(consumers; write scope): the stewards of its hub decide.", AccessArgs,
             request_access, write=True),
)}


def tools_for(caller: Caller) -> list[ToolSpec]:
    """The tools this token may call: write tools only with the write scope its owner granted."""
    return [t for t in TOOLS.values() if caller.can_write or not t.write]
