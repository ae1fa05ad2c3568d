"""Bad input and limits over streamable HTTP: each is a protocol-level error with a clear message.

The SDK's client against the live server; settings changed through pytest-django's ``settings``
fixture reach the live server (same process).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Group
from mcp import Client, MCPError

from agents import tools
from agents.tests.conftest import converse, http_client
from identity import services
from identity.models import AccessToken
from portal.testing.personas import make_user


async def refusal(client: Client, name: str, arguments: dict[str, Any]) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await client.call_tool(name, arguments)
    return caught.value


def test_bad_arguments_are_invalid_params_naming_the_problem(lake: dict[str, Any], tokens: dict[str, str],
                                                            live_server: Any) -> None:
    async def talk(client: Client) -> list[MCPError]:
        return [
            await refusal(client, "get_dataset", {"dataset": "raw.orders", "verbose": True}),
            await refusal(client, "get_lineage", {"dataset": "raw.orders", "direction": "sideways"}),
            await refusal(client, "get_lineage", {"dataset": "raw.orders", "depth": 21}),
            await refusal(client, "search", {"facets": {"colour": ["red"]}}),
            await refusal(client, "search", {"page": 0}),
            await refusal(client, "no_such_tool", {}),
            await refusal(client, "get_dataset", {}),
        ]

    errors = converse(http_client(f"{live_server.url}/mcp", tokens["finance_consumer"]), talk)
    assert all(e.code == tools.INVALID_PARAMS for e in errors), [(e.code, e.message) for e in errors]
    messages = [e.message for e in errors]
    assert messages[0] == "Invalid arguments: unknown argument 'verbose'."
    assert "direction" in messages[1] and "'upstream', 'downstream' or 'both'" in messages[1]
    assert messages[2] == "depth must be between 0 and 20."
    assert messages[3].startswith("Unknown facet 'colour'; facets are:")
    assert messages[4].startswith("Invalid arguments: page:")
    assert messages[5].startswith("Unknown tool 'no_such_tool'; tools are: search, get_dataset")
    assert messages[6] == "Invalid arguments: dataset: Field required."


def test_oversized_requests_and_arguments_are_refused(lake: dict[str, Any], tokens: dict[str, str], live_server: Any,
                                                      settings: Any) -> None:
    settings.MCP_MAX_REQUEST_BYTES = 4096
    settings.MCP_MAX_ARGUMENT_BYTES = 1024

    big = {"query": "x" * 400, "facets": {"owner": ["o" * 300] * 3}}

    async def talk(client: Client) -> tuple[MCPError, MCPError, int]:
        arguments = await refusal(client, "search", big)
        body = await refusal(client, "update_description", {"dataset": "raw.orders", "description": "d" * 5000})
        still = await client.call_tool("search", {"query": "orders"})
        return arguments, body, still.structured_content["total"]  # type: ignore[index]

    arguments, body, total = converse(http_client(f"{live_server.url}/mcp", tokens["admin"]), talk)
    size = len(json.dumps(big))
    assert (arguments.code, arguments.message) == (tools.TOO_LARGE, f"The arguments are {size} bytes; the limit is 1024.")
    assert (body.code, body.message) == (tools.TOO_LARGE, "A request must be at most 4096 bytes.")
    assert body.data == {"status": 413}
    assert total == 4  # the connection goes on answering (admin: all four tables mention orders)


def test_a_revoked_token_is_refused_on_the_next_call(lake: dict[str, Any], tokens: dict[str, str], live_server: Any) -> None:
    user = make_user("finance_consumer")

    async def talk(client: Client) -> tuple[int, MCPError]:
        first = await client.call_tool("get_dataset", {"dataset": "raw.orders"})
        token = AccessToken.objects.get(user=user)
        await _sync(services.revoke_token, user, token.pk)
        return len(first.structured_content["columns"]), await refusal(client, "get_dataset", {"dataset": "raw.orders"})  # type: ignore[index]

    columns, refused = converse(http_client(f"{live_server.url}/mcp", tokens["finance_consumer"]), talk)
    assert columns == 2
    assert (refused.code, refused.message, refused.data) == (tools.UNAUTHORIZED, "Token revoked.", {"status": 401})


def test_a_token_whose_role_was_taken_away_is_refused(lake: dict[str, Any], tokens: dict[str, str], live_server: Any) -> None:
    user = make_user("finance_provider")

    async def talk(client: Client) -> tuple[int, MCPError]:
        first = await client.call_tool("list_pipelines", {})
        await _sync(lambda: user.groups.remove(Group.objects.get(name="dh-finance-provider")))
        return first.structured_content["total"], await refusal(client, "list_pipelines", {})  # type: ignore[index]

    total, refused = converse(http_client(f"{live_server.url}/mcp", tokens["finance_provider"]), talk)
    assert total == 1
    assert (refused.code, refused.message) == (tools.UNAUTHORIZED, "Token's role is no longer granted to its user.")


def test_no_token_or_an_unknown_token_cannot_connect(lake: dict[str, Any], live_server: Any) -> None:
    expected = {"": "Send a portal token as 'Authorization: Bearer TOKEN' (create one at /tokens/).",
                "dhp_not-a-token": "Invalid token."}
    for token, message in expected.items():
        # The client's connect fails inside its task group: the MCPError arrives in an exception group.
        with pytest.raises(Exception) as caught:
            converse(http_client(f"{live_server.url}/mcp", token), lambda client: client.list_tools())
        error = _mcp_error(caught.value)
        assert (error.code, error.message, error.data) == (tools.UNAUTHORIZED, message, {"status": 401})


def test_each_token_has_its_own_rate_limit(lake: dict[str, Any], tokens: dict[str, str], live_server: Any,
                                           settings: Any) -> None:
    settings.MCP_CALLS_PER_MINUTE = 3

    async def talk(client: Client) -> list[Any]:
        answers: list[Any] = []
        for _ in range(4):
            try:
                answers.append((await client.call_tool("search", {})).structured_content["total"])  # type: ignore[index]
            except MCPError as exc:
                answers.append((exc.code, exc.message))
        return answers

    assert converse(http_client(f"{live_server.url}/mcp", tokens["admin"]), talk) == [
        4, 4, 4, (tools.RATE_LIMITED, "Rate limit of 3 calls per minute for this token reached; retry in a minute.")]
    # Another token is not slowed down by the first one's calls.
    assert converse(http_client(f"{live_server.url}/mcp", tokens["marketing_consumer"]), talk)[0] == 3


def _mcp_error(exc: BaseException) -> MCPError:
    while getattr(exc, "exceptions", None):  # an exception group: its first member
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    assert isinstance(exc, MCPError), exc
    return exc


async def _sync(fn: Any, *args: Any) -> Any:
    from asgiref.sync import sync_to_async

    return await sync_to_async(fn, thread_sensitive=False)(*args)
