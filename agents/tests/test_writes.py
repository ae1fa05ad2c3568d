"""Write tools: off without the token's write scope, through the curation service with it, audited with the
tool's name, within the role. Over streamable HTTP (live server) with the SDK's client, and once over stdio
(where a token revoked meanwhile is refused on the next call)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import Group
from mcp import Client, MCPError

from agents import tools
from agents.tests.conftest import FINANCE_ONLY, MARKETING_ONLY, converse, http_client, stdio_client
from catalog.models import Curation
from identity import services
from identity.models import AccessToken, AuditEvent
from portal.testing.personas import PERSONAS, make_user, token_for

WRITE_TOOLS = {"update_description", "set_owner", "add_tags", "request_access"}


def write_token(persona: str) -> str:
    user = make_user(persona)
    token_for(persona, PERSONAS[persona])  # grants the role's group
    return services.create_token(user, PERSONAS[persona].key, name="agent", days=1, scopes=("write",)).secret


async def outcome(client: Client, name: str, arguments: dict[str, Any]) -> Any:
    try:
        return (await client.call_tool(name, arguments)).structured_content
    except MCPError as exc:
        return (exc.code, exc.message)


def test_without_the_write_scope_write_tools_are_not_offered_and_refused(lake: dict[str, Any], tokens: dict[str, str],
                                                                        live_server: Any) -> None:
    async def talk(client: Client) -> tuple[set[str], Any]:
        names = {t.name for t in (await client.list_tools()).tools}
        return names, await outcome(client, "update_description", {"dataset": FINANCE_ONLY, "description": "Mine."})

    names, refused = converse(http_client(f"{live_server.url}/mcp", tokens["finance_steward"]), talk)
    assert not names & WRITE_TOOLS
    assert refused == (tools.FORBIDDEN, "update_description writes, and this token has no write scope: its owner can "
                       "issue a token with writes allowed at /tokens/.")
    assert not Curation.objects.exists()
    assert not AuditEvent.objects.filter(action="catalog.curate").exists()


def test_with_the_write_scope_a_steward_curates_through_the_service_audited_with_the_tool(
        lake: dict[str, Any], live_server: Any) -> None:
    token = write_token("finance_steward")
    Group.objects.get_or_create(name="controlling")  # an owner names a user, a team or an address (issue 24)

    async def talk(client: Client) -> list[Any]:
        names = {t.name for t in (await client.list_tools()).tools}
        return [
            names,
            await outcome(client, "update_description", {"dataset": FINANCE_ONLY, "description": "Booked ledger."}),
            await outcome(client, "set_owner", {"dataset": FINANCE_ONLY, "owner": "controlling"}),
            await outcome(client, "add_tags", {"dataset": FINANCE_ONLY, "tags": ["Ledger", "gold"]}),
            await outcome(client, "add_tags", {"dataset": FINANCE_ONLY, "tags": ["gold", "audited"]}),
            await outcome(client, "set_owner", {"dataset": MARKETING_ONLY, "owner": "me"}),
            await outcome(client, "add_tags", {"dataset": FINANCE_ONLY, "tags": ["t" * 65]}),
            await outcome(client, "request_access", {"dataset": "raw.orders", "purpose": "reporting",
                                                     "until": "2099-01-01"}),
            await outcome(client, "get_dataset", {"dataset": FINANCE_ONLY}),
        ]

    names, described, owned, tagged, tagged_again, other_hub, bad_tag, access, read_back = converse(
        http_client(f"{live_server.url}/mcp", token), talk)
    assert WRITE_TOOLS <= names
    assert described["description"] == "Booked ledger." and described["saved"] is True
    assert owned["owner"] == "controlling"
    assert tagged["tags"] == ["ledger", "gold"]
    assert tagged_again["tags"] == ["ledger", "gold", "audited"]  # added, never replaced
    assert other_hub == (tools.NOT_FOUND, f"No dataset {MARKETING_ONLY}.")
    assert bad_tag[0] == tools.INVALID_PARAMS and "longer than 64 characters" in bad_tag[1]
    assert access == (tools.FORBIDDEN, "Your role (Steward · finance) may not request access; switch to a consumer "
                      "role.")
    assert (read_back["description"], read_back["owner"], read_back["tags"]) == (
        "Booked ledger.", "controlling", ["ledger", "gold", "audited"])
    audited = list(AuditEvent.objects.filter(action="catalog.curate").order_by("created_at", "id"))
    assert [(e.username, e.role, e.target, e.details["via"]) for e in audited] == [
        ("finance_steward", "steward:finance", FINANCE_ONLY, "mcp:update_description"),
        ("finance_steward", "steward:finance", FINANCE_ONLY, "mcp:set_owner"),
        ("finance_steward", "steward:finance", FINANCE_ONLY, "mcp:add_tags"),
        ("finance_steward", "steward:finance", FINANCE_ONLY, "mcp:add_tags"),
    ]
    assert audited[0].details["description"] == {"from": "", "to": "Booked ledger."}


def test_the_write_scope_does_not_widen_the_role(lake: dict[str, Any], live_server: Any) -> None:
    token = write_token("finance_consumer")
    refused = converse(http_client(f"{live_server.url}/mcp", token),
                       lambda client: outcome(client, "set_owner", {"dataset": "raw.orders", "owner": "me"}))
    assert refused == (tools.FORBIDDEN, "Only stewards of hub finance may curate raw.orders.")
    assert not Curation.objects.exists()


def test_over_stdio_writes_are_audited_and_a_revoked_token_is_refused_next(lake: dict[str, Any]) -> None:
    token = write_token("finance_steward")
    user = make_user("finance_steward")
    Group.objects.get_or_create(name="sales-ops")  # an owner names a user, a team or an address (issue 24)

    async def talk(client: Client) -> list[Any]:
        saved = await outcome(client, "set_owner", {"dataset": "raw.orders", "owner": "sales-ops"})
        from asgiref.sync import sync_to_async

        token_row = await sync_to_async(lambda: AccessToken.objects.get(user=user, name="agent"))()
        await sync_to_async(services.revoke_token)(user, token_row.pk)
        return [saved, await outcome(client, "get_dataset", {"dataset": "raw.orders"})]

    saved, refused = converse(stdio_client(token), talk)
    assert saved["owner"] == "sales-ops"
    assert refused == (tools.UNAUTHORIZED, "Token revoked.")
    event = AuditEvent.objects.get(action="catalog.curate")
    assert (event.target, event.details["via"], event.role) == ("raw.orders", "mcp:set_owner", "steward:finance")


def test_a_consumer_requests_access_through_the_service_audited_with_the_tool(
        lake: dict[str, Any], live_server: Any, aws_endpoint: str, settings: Any) -> None:
    from access.models import AccessRequest

    settings.AWS_ROLE_ARNS = {"consumer:finance": "arn:aws:iam::123456789012:role/finance-readers"}
    token = write_token("finance_consumer")
    until = (date.today() + timedelta(days=10)).isoformat()

    async def talk(client: Client) -> list[Any]:
        return [
            await outcome(client, "request_access", {"dataset": FINANCE_ONLY, "purpose": "month end", "until": until}),
            await outcome(client, "request_access", {"dataset": FINANCE_ONLY, "purpose": "again", "until": until}),
            await outcome(client, "request_access", {"dataset": MARKETING_ONLY, "purpose": "x", "until": until}),
        ]

    created, repeated, hidden = converse(http_client(f"{live_server.url}/mcp", token), talk)
    request = AccessRequest.objects.get()
    assert created == {"id": request.pk, "state": "pending", "dataset": FINANCE_ONLY, "columns": [], "until": until,
                       "decided_by": "the stewards of hub finance"}
    assert repeated[0] == tools.INVALID_PARAMS and "exists already" in repeated[1]
    assert hidden == (tools.NOT_FOUND, f"No dataset {MARKETING_ONLY}.")
    event = AuditEvent.objects.get(action="access.requested")
    assert (event.username, event.role, event.details["via"]) == ("finance_consumer", "consumer:finance",
                                                                  "mcp:request_access")
