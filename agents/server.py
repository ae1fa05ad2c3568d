"""The MCP server (official ``mcp`` SDK, low-level ``Server``): tools, resources and prompts over the role layer.

One ``Server`` per process, shared by both transports (``agents.http`` for streamable HTTP at ``/mcp``,
``manage.py mcp`` for stdio). Who calls is resolved for every request by the callable in ``CALLER``
(the HTTP view authenticates the bearer token of each POST; stdio re-authenticates the token from the
environment at every request, so a revoked token is refused on the next call). The handlers are async
(the SDK's side); the work runs through ``sync_to_async(thread_sensitive=True)``, i.e. in the thread that
owns the Django request (HTTP) or one dedicated thread (stdio), never in the event loop.

Every refusal is a JSON-RPC error with a clear message (``agents.tools`` codes, the REST status in
``data.status``); an unexpected failure is logged and answered "Internal error", never a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

import mcp_types as types
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections
from mcp.server import Server
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from agents import resources, tools
from agents.tools import Caller, ToolError
from identity import services

log = logging.getLogger(__name__)

T = TypeVar("T")

# How the current request's caller is found (set by the transport for each request / session).
CALLER: ContextVar[Callable[[], Caller] | None] = ContextVar("mcp_caller", default=None)
# Set by the stdio command: a long-lived process must drop stale database connections between calls.
RECYCLE_CONNECTIONS: ContextVar[bool] = ContextVar("mcp_recycle_connections", default=False)

SERVER_NAME = "datahub-portal"
INSTRUCTIONS = (
    "The Data Hub Portal's catalog, answered in the role of your token: search datasets, read their schema, "
    "lineage and impact, pipelines and workspaces, preview rows and run SELECTs on the lake. Datasets your role may not see are 'not found'; lineage "
    "counts them as hidden nodes without names. Lists say whether they are complete (complete, next_page)."
)


def caller_from_secret(secret: str, ip: str | None = None) -> Caller:
    """The Caller of a bearer token, as the API authenticates it (same service, same bad-token throttle).

    Raises ToolError(UNAUTHORIZED) for an unknown, revoked or expired token or a role no longer
    granted, ToolError(RATE_LIMITED) while this address sent too many bad tokens.
    """
    if not secret:
        raise ToolError(tools.UNAUTHORIZED, "No token: send 'Authorization: Bearer TOKEN' (stdio: DATAHUB_TOKEN).", 401)
    try:
        token, role = services.authenticate_token(secret, ip=ip)
    except services.TooManyBadTokens as exc:
        raise ToolError(tools.RATE_LIMITED, str(exc), 429) from None
    except services.TokenInvalid as exc:
        raise ToolError(tools.UNAUTHORIZED, str(exc), 401) from None
    return Caller(user=token.user, token=token, role=role, ip=ip)


def check_rate(caller: Caller) -> None:
    """At most MCP_CALLS_PER_MINUTE calls per token per clock minute (counted in the shared cache)."""
    limit = settings.MCP_CALLS_PER_MINUTE
    if limit <= 0:
        return
    key = f"agents:calls:{caller.token.pk}"
    cache.add(key, 0, timeout=60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=60)
        count = 1
    if count > limit:
        raise ToolError(tools.RATE_LIMITED, f"Rate limit of {limit} calls per minute for this token reached; "
                        "retry in a minute.", 429)


def _error(exc: ToolError) -> MCPError:
    return MCPError(exc.code, exc.message, {"status": exc.status})


def _current_caller() -> Caller:
    resolve = CALLER.get()
    if resolve is None:
        raise ToolError(tools.UNAUTHORIZED, "No token.", 401)
    return resolve()


async def _in_django(work: Callable[[], T]) -> T:
    """Run ``work`` where the ORM may run; ToolError becomes a protocol error, anything else "Internal error"."""
    recycle = RECYCLE_CONNECTIONS.get()

    def call() -> T:
        if recycle:
            close_old_connections()
        try:
            return work()
        except ToolError as exc:
            raise _error(exc) from None
        except MCPError:
            raise
        except Exception:
            log.exception("MCP request failed")
            raise MCPError(types.INTERNAL_ERROR, "Internal error; it has been logged.") from None

    return await sync_to_async(call, thread_sensitive=True)()


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        if err.get("type") == "extra_forbidden":
            parts.append(f"unknown argument {where!r}")
        else:
            parts.append(f"{where}: {err.get('msg')}")
    return "Invalid arguments: " + "; ".join(parts) + "."


def _summary(name: str, answer: dict[str, Any]) -> str:
    """The short text beside the JSON: what came back and whether it is all of it."""
    if "results" in answer and "total" in answer:
        more = "complete" if answer.get("complete") else f"more on page {answer.get('next_page')}"
        return f"{name}: {len(answer['results'])} of {answer['total']} ({more})."
    if name == "get_lineage":
        total, hidden = answer["total"], answer["hidden"]
        return (f"Lineage of {answer['dataset']}: {total['nodes']} nodes, {total['edges']} edges, "
                f"{hidden['datasets']} hidden datasets, {hidden['jobs']} hidden jobs"
                f"{', truncated' if answer['truncated'] else ''}.")
    if "rows" in answer:
        what = answer.get("dataset") or f"query {answer.get('query_id')} ({answer.get('state')})"
        notes = [] if "complete" not in answer else ["complete" if answer["complete"] else "not complete"]
        notes += [f"masked: {', '.join(answer['masked'])}"] if answer.get("masked") else []
        return f"{name}: {what}, {len(answer['rows'])} rows" + (f" ({'; '.join(notes)})." if notes else ".")
    if "dataset" in answer:
        return f"{name}: {answer['dataset']}."
    return f"{name}: done."


def call_tool_sync(caller: Caller, name: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
    """Validate and run one tool for ``caller`` (raises ToolError); the transport-free core of tools/call."""
    spec = tools.TOOLS.get(name)
    if spec is None:
        raise tools.invalid(f"Unknown tool {name!r}; tools are: {', '.join(t.name for t in tools.tools_for(caller))}.")
    raw = arguments or {}
    limit = settings.MCP_MAX_ARGUMENT_BYTES
    size = len(json.dumps(raw, default=str))
    if size > limit:
        raise ToolError(tools.TOO_LARGE, f"The arguments are {size} bytes; the limit is {limit}.", 413)
    if spec.write and not caller.can_write:
        raise tools.forbidden(f"{name} writes, and this token has no write scope: its owner can issue a token "
                              "with writes allowed at /tokens/.")
    check_rate(caller)
    try:
        args = spec.args.model_validate(raw)
    except ValidationError as exc:
        raise tools.invalid(_validation_message(exc)) from None
    return spec.run(caller, args)


async def _list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    def work() -> list[types.Tool]:
        caller = _current_caller()
        return [
            types.Tool(name=t.name, description=t.description, input_schema=t.input_schema(),
                       annotations=types.ToolAnnotations(read_only_hint=not t.write, destructive_hint=False,
                                                         idempotent_hint=t.name != "add_tags" or None))
            for t in tools.tools_for(caller)
        ]

    return types.ListToolsResult(tools=await _in_django(work))


async def _call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    def work() -> dict[str, Any]:
        return call_tool_sync(_current_caller(), params.name, params.arguments)

    answer = await _in_django(work)
    text = json.dumps(answer, separators=(",", ":"), default=str)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=_summary(params.name, answer)),
                 types.TextContent(type="text", text=text)],
        structured_content=json.loads(text),
    )


async def _list_resources(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
    cursor = params.cursor if params is not None else None

    def work() -> tuple[list[types.Resource], str | None]:
        caller = _current_caller()
        return resources.list_page(caller, cursor)

    found, next_cursor = await _in_django(work)
    return types.ListResourcesResult(resources=found, next_cursor=next_cursor)


async def _list_templates(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListResourceTemplatesResult:
    return types.ListResourceTemplatesResult(resource_templates=[resources.TEMPLATE])


async def _read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
    uri = str(params.uri)

    def work() -> str:
        return resources.schema_text(_current_caller(), uri)

    text = await _in_django(work)
    return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type="text/plain", text=text)])


async def _list_prompts(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
    return types.ListPromptsResult(prompts=resources.PROMPTS)


async def _get_prompt(ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
    def work() -> types.GetPromptResult:
        return resources.prompt(_current_caller(), params.name, dict(params.arguments or {}))

    return await _in_django(work)


def build_server() -> Server[Any]:
    server: Server[Any] = Server(
        SERVER_NAME, version="1", title="Data Hub Portal", instructions=INSTRUCTIONS,
        on_list_tools=_list_tools, on_call_tool=_call_tool,
        on_list_resources=_list_resources, on_list_resource_templates=_list_templates,
        on_read_resource=_read_resource, on_list_prompts=_list_prompts, on_get_prompt=_get_prompt,
    )
    return server


_server: Server[Any] | None = None


def get_server() -> Server[Any]:
    global _server
    if _server is None:
        _server = build_server()
    return _server
