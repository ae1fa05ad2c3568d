"""Streamable HTTP at ``/mcp``, served by the portal's own WSGI process (gunicorn sync workers, runserver).

The SDK's transport is ASGI; this view is the small bridge. It authenticates the bearer token of
every request (the API's own token service), then hands the request to the SDK's
``StreamableHTTPSessionManager`` in stateless JSON-response mode: one POST in, one JSON answer out,
no session to keep between requests, so any worker can answer any request and nothing runs after
the response. ``async_to_sync`` runs the SDK's coroutine in a private event loop while this thread
waits and executes the tools' ORM work handed back to it (``sync_to_async(thread_sensitive=True)``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, MutableMapping
from typing import Any

import anyio
from asgiref.sync import async_to_sync
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from agents import tools
from agents.server import CALLER, caller_from_secret, get_server
from agents.tools import ToolError
from identity.audit import client_ip


def _request_id(body: bytes) -> Any:
    """The JSON-RPC id of a refused request, so the client can match the error to its call."""
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return message.get("id") if isinstance(message, dict) else None


def _refuse(exc: ToolError, body: bytes) -> JsonResponse:
    response = JsonResponse(
        {"jsonrpc": "2.0", "id": _request_id(body),
         "error": {"code": exc.code, "message": exc.message, "data": {"status": exc.status}}},
        status=exc.status,
    )
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="datahub"'
    return response


def _bearer(request: HttpRequest) -> str:
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise ToolError(tools.UNAUTHORIZED, "Send a portal token as 'Authorization: Bearer TOKEN' (create one at "
                        "/tokens/).", 401)
    return parts[1]


def _scope(request: HttpRequest, body: bytes) -> dict[str, Any]:
    headers = [(b"content-type", request.META.get("CONTENT_TYPE", "").encode("latin-1")),
               (b"content-length", str(len(body)).encode())]
    for key, value in request.META.items():
        if key.startswith("HTTP_") and key != "HTTP_AUTHORIZATION":  # the token stays on this side
            headers.append((key[5:].lower().replace("_", "-").encode("latin-1"), str(value).encode("latin-1")))
    port = int(request.get_port() or 80)
    host = request.get_host().removesuffix(f":{port}")
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": request.method,
        "scheme": request.scheme, "path": request.path, "raw_path": request.path.encode(),
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"), "root_path": "",
        "headers": headers, "client": (client_ip(request) or "", 0), "server": (host, port),
    }


async def _serve(scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request through the SDK's stateless streamable-HTTP transport; (status, headers, body)."""
    manager = StreamableHTTPSessionManager(get_server(), json_response=True, stateless=True,
                                           max_request_body_size=settings.MCP_MAX_REQUEST_BYTES)
    answer: dict[str, Any] = {"status": 500, "headers": []}
    chunks: list[bytes] = []
    finished = anyio.Event()
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()  # the client "disconnects" only once the answer is complete
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"], answer["headers"] = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                finished.set()

    async with manager.run():
        await manager.handle_request(scope, receive, send)
    return answer["status"], answer["headers"], b"".join(chunks)


_HOP_BY_HOP = {b"content-length", b"connection", b"transfer-encoding"}


@csrf_exempt
def mcp_endpoint(request: HttpRequest) -> HttpResponse:
    """``/mcp``: the MCP streamable HTTP endpoint; bearer tokens only (never the browser session)."""
    limit = settings.MCP_MAX_REQUEST_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _refuse(ToolError(tools.TOO_LARGE, f"A request must be at most {limit} bytes.", 413), b"")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _refuse(ToolError(tools.TOO_LARGE, f"A request must be at most {limit} bytes.", 413), b"")
    try:
        caller = caller_from_secret(_bearer(request), ip=client_ip(request))
    except ToolError as exc:
        return _refuse(exc, body)
    resolve: Callable[[], Any] = lambda: caller  # noqa: E731 (authenticated once per request: one POST, one call)
    token = CALLER.set(resolve)
    try:
        status, headers, content = async_to_sync(_serve)(_scope(request, body), body)
    finally:
        CALLER.reset(token)
    response = HttpResponse(content, status=status)
    for name, value in headers:
        if name.lower() not in _HOP_BY_HOP:
            response[name.decode("latin-1")] = value.decode("latin-1")
    return response
