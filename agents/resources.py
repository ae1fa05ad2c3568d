"""MCP resources (each visible dataset as ``datahub://dataset/DB.TABLE``, its schema as text) and prompts.

Same role layer as the tools: the listing is ``Table.objects.visible_to(role)``, a read goes through
``catalog.queries.visible_table`` (so a hidden dataset is "not found" as on the API).
"""

from __future__ import annotations

from typing import Any

import mcp_types as types

from agents import tools
from agents.tools import Caller, ToolError
from catalog import queries as catalog_queries
from catalog.models import Table

SCHEME = "datahub://dataset/"
PAGE_SIZE = 100
TEMPLATE = types.ResourceTemplate(
    name="dataset", uri_template=SCHEME + "{dataset}", mime_type="text/plain",
    description="A dataset's schema as text; dataset is DATABASE.TABLE.",
)


def list_page(caller: Caller, cursor: str | None) -> tuple[list[types.Resource], str | None]:
    """One page of visible datasets (the cursor is the offset; None when the list is complete)."""
    try:
        offset = int(cursor) if cursor else 0
    except ValueError:
        raise tools.invalid(f"Bad cursor {(cursor or '')[:20]!r}: use the nextCursor of the previous page.") from None
    if offset < 0:
        raise tools.invalid("Bad cursor: use the nextCursor of the previous page.")
    rows = list(
        Table.objects.visible_to(caller.role).order_by("database_name", "name")
        .values_list("database_name", "name", "description")[offset: offset + PAGE_SIZE + 1]
    )
    page = [types.Resource(uri=f"{SCHEME}{db}.{name}", name=f"{db}.{name}", mime_type="text/plain",
                           description=(description or "")[:200] or None)
            for db, name, description in rows[:PAGE_SIZE]]
    return page, str(offset + PAGE_SIZE) if len(rows) > PAGE_SIZE else None


def dataset_of(uri: str) -> str:
    if not uri.startswith(SCHEME) or len(uri) == len(SCHEME):
        raise tools.not_found(f"Unknown resource {uri[:100]!r}: resources are {SCHEME}DATABASE.TABLE.")
    return uri[len(SCHEME):]


def describe(detail: dict[str, Any]) -> str:
    """A dataset's schema as text an agent (or a person) reads at a glance."""
    lines = [f"{detail['qualified_name']} ({detail['table_type'] or 'table'}, {detail['format'] or 'unknown format'})",
             f"hub: {detail['hub'] or '-'} · layer: {detail['layer'] or '-'} · owner: {detail['owner'] or '-'} · "
             f"classification: {detail['classification'] or '-'}"]
    if detail["curation"]["tags"]:
        lines.append("tags: " + ", ".join(detail["curation"]["tags"]))
    if detail["description"]:
        lines.append(f"description: {detail['description']}")
    lines.append(f"columns ({detail['column_count']}):")
    for col in detail["columns"]:
        flags = [f for f, on in (("partition key", col["partition_key"]), ("PII", col["pii"])) if on]
        comment = f" -- {col['comment']}" if col["comment"] else ""
        lines.append(f"  {col['name']} {col['type']}{' [' + ', '.join(flags) + ']' if flags else ''}{comment}")
    return "\n".join(lines)


def schema_text(caller: Caller, uri: str) -> str:
    table = tools.visible(caller, dataset_of(uri))
    return describe(catalog_queries.dataset_detail(table, role=caller.role))


PROMPTS = [
    types.Prompt(name="explain_dataset", title="Explain this dataset",
                 description="Explain what a dataset holds, where it comes from and how to use it.",
                 arguments=[types.PromptArgument(name="dataset", description="DATABASE.TABLE", required=True)]),
    types.Prompt(name="what_breaks", title="What breaks if this changes",
                 description="What depends on a dataset (or one of its columns), and what a change would break.",
                 arguments=[types.PromptArgument(name="dataset", description="DATABASE.TABLE", required=True),
                            types.PromptArgument(name="column", description="one column (optional)", required=False)]),
]


def prompt(caller: Caller, name: str, arguments: dict[str, str]) -> types.GetPromptResult:
    known = {p.name: p for p in PROMPTS}
    if name not in known:
        raise tools.invalid(f"Unknown prompt {name!r}; prompts are: {', '.join(known)}.")
    allowed = {a.name for a in known[name].arguments or []}
    unknown = sorted(set(arguments) - allowed)
    if unknown:
        raise tools.invalid(f"Invalid arguments: unknown argument {unknown[0]!r}.")
    dataset = (arguments.get("dataset") or "").strip()
    if not dataset:
        raise tools.invalid("Invalid arguments: dataset is required (DATABASE.TABLE).")
    table = tools.visible(caller, dataset)
    schema = describe(catalog_queries.dataset_detail(table, role=caller.role))
    if name == "explain_dataset":
        text = (f"Explain the dataset {table.qualified_name} to an analyst: what it holds, its grain, where it comes "
                "from (call get_lineage with direction upstream), who owns it and how fresh it is (get_schema_history). "
                f"Its schema:\n\n{schema}")
    else:
        column = (arguments.get("column") or "").strip()
        target = f"column {column} of {table.qualified_name}" if column else table.qualified_name
        text = (f"What breaks if {target} changes? Call get_impact with dataset={table.qualified_name!r}"
                f"{f' and column={column!r}' if column else ''}, read every page until complete is true, and list the "
                "affected datasets by distance. Hidden datasets are counted but not named: say how many there are "
                f"and that their owners must be asked. Its schema:\n\n{schema}")
    return types.GetPromptResult(description=known[name].title,
                                 messages=[types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))])


__all__ = ["PROMPTS", "TEMPLATE", "ToolError", "list_page", "prompt", "schema_text"]
