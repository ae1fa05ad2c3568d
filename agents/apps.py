from django.apps import AppConfig


class AgentsConfig(AppConfig):
    """The MCP server for AI agents (streamable HTTP at /mcp, stdio through ``manage.py mcp``)."""

    name = "agents"
    verbose_name = "AI agents (MCP)"
