"""``manage.py mcp``: the MCP server over stdio for local agents (Claude Desktop, IDEs, CLIs).

The token comes from the environment (``DATAHUB_TOKEN``, or ``--token-env NAME``), never from the
command line (process lists show arguments). It is checked at start, so a bad token stops the
command with a clear message, and again at every request, so a revoked token is refused on the
next call. Logs go to stderr: stdout carries only the protocol.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import anyio
from asgiref.sync import sync_to_async
from django.core.management.base import BaseCommand, CommandError
from mcp.server.stdio import stdio_server

from agents.server import CALLER, RECYCLE_CONNECTIONS, caller_from_secret, get_server
from agents.tools import Caller, ToolError
from identity.services import forget_token_roles

TOKEN_ENV = "DATAHUB_TOKEN"


class Command(BaseCommand):
    help = f"Serve the MCP server over stdio in the role of the token in ${TOKEN_ENV}."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--token-env", default=TOKEN_ENV, help=f"variable holding the token (default {TOKEN_ENV})")

    def handle(self, *args: Any, **options: Any) -> None:
        secret = os.environ.get(options["token_env"], "").strip()
        if not secret:
            raise CommandError(f"Set {options['token_env']} to a portal token (create one at /tokens/).")
        try:
            caller = caller_from_secret(secret)
        except ToolError as exc:
            raise CommandError(exc.message) from None
        # stdout is the protocol channel: keep every log line on stderr.
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
        print(f"MCP over stdio as {caller.user.get_username()} ({caller.role.label})", file=sys.stderr)

        def resolve() -> Caller:
            # The token cache of this process never hears of a revocation made by the portal's processes
            # (forget_token_roles runs there), so a stdio call always re-reads the token: revoked → refused now.
            forget_token_roles()
            return caller_from_secret(secret)

        async def serve() -> None:
            CALLER.set(resolve)
            RECYCLE_CONNECTIONS.set(True)
            server = get_server()
            async with stdio_server() as (read_stream, write_stream):
                await server.run(read_stream, write_stream, server.create_initialization_options())
            # Close the database connection of the thread the tools ran in.
            from django.db import connections

            await sync_to_async(connections.close_all, thread_sensitive=True)()

        anyio.run(serve)
