"""The SDK's client over stdio: it spawns ``python manage.py mcp`` with the token in DATAHUB_TOKEN.

The subprocess reads the test database (committed: transactional_db) through DATABASE_URL, and the
same osmem index; DJANGO_ALLOW_ASYNC_UNSAFE is not passed, so an ORM call in the event loop would fail.
"""

from __future__ import annotations

from typing import Any

from agents.tests.conftest import converse, stdio_client
from agents.tests.conversation import every_tool
from agents.tests.expectations import check_persona
from portal.testing.personas import PERSONAS


def test_each_persona_gets_the_apis_answers_and_nothing_of_another_hub(lake: dict[str, Any],
                                                                        tokens: dict[str, str]) -> None:
    for persona in sorted(PERSONAS):
        answers = converse(stdio_client(tokens[persona]), lambda client: every_tool(client, lake["pipelines"]))
        check_persona(persona, tokens[persona], answers, lake["pipelines"])
