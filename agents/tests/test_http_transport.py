"""The SDK's client over streamable HTTP against the live server (``/mcp`` in the portal's WSGI process).

Real services: PostgreSQL behind the live server, osmem for search; the client is the official
``mcp`` SDK's ``Client`` with its streamable HTTP transport (httpx2), sending the token as bearer.
One test walks every persona over one lake (the set-up of a live server and a lake is the slow part).
"""

from __future__ import annotations

from typing import Any

from agents.tests.conftest import converse, http_client
from agents.tests.conversation import every_tool
from agents.tests.expectations import check_persona
from portal.testing.personas import PERSONAS


def test_each_persona_gets_the_apis_answers_and_nothing_of_another_hub(lake: dict[str, Any], tokens: dict[str, str],
                                                                        live_server: Any) -> None:
    for persona in sorted(PERSONAS):
        answers = converse(http_client(f"{live_server.url}/mcp", tokens[persona]),
                           lambda client: every_tool(client, lake["pipelines"]))
        check_persona(persona, tokens[persona], answers, lake["pipelines"])
