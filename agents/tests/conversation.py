"""One conversation with the server through the SDK's client: list everything, call every tool.

Shared by the HTTP and stdio tests, so both transports are held to the same answers. Returns what
came back per call: the structured content of an answer, or ``{"error": code, "message": …}``.
"""

from __future__ import annotations

import json
from typing import Any

from mcp import Client, MCPError

from agents.tests.conftest import FINANCE_ONLY, MARKETING_ONLY

DATASETS = ("raw.orders", "sales_semantic.revenue", FINANCE_ONLY, MARKETING_ONLY)


async def call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    try:
        result = await client.call_tool(name, arguments)
    except MCPError as exc:
        return {"error": exc.code, "message": exc.message, "data": exc.data}
    assert result.structured_content is not None, result
    # The JSON text beside the short summary says the same as the structured content.
    assert json.loads(result.content[1].text) == result.structured_content  # type: ignore[union-attr]
    return {"summary": result.content[0].text, **result.structured_content}  # type: ignore[union-attr]


async def every_tool(client: Client, pipelines: dict[str, int]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    answers["tools"] = sorted(t.name for t in (await client.list_tools()).tools)
    resources, cursor = [], None
    for _ in range(20):  # bounded paging
        page = await client.list_resources(cursor=cursor) if cursor else await client.list_resources()
        resources += [r.name for r in page.resources]
        cursor = page.next_cursor
        if not cursor:
            break
    answers["resources"] = sorted(resources)
    answers["prompts"] = sorted(p.name for p in (await client.list_prompts()).prompts)
    answers["search:"] = await call(client, "search", {})
    answers["search:orders"] = await call(client, "search", {"query": "orders", "facets": {"layer": ["prepared", "source"]}})
    for dataset in DATASETS:
        answers[f"get_dataset:{dataset}"] = await call(client, "get_dataset", {"dataset": dataset})
        answers[f"get_schema_history:{dataset}"] = await call(client, "get_schema_history", {"dataset": dataset})
        try:
            read = await client.read_resource(f"datahub://dataset/{dataset}")
            answers[f"resource:{dataset}"] = read.contents[0].text  # type: ignore[union-attr]
        except MCPError as exc:
            answers[f"resource:{dataset}"] = {"error": exc.code, "message": exc.message}
    answers["get_lineage"] = await call(client, "get_lineage", {"dataset": "raw.orders", "direction": "both", "depth": 3})
    answers["get_lineage:column"] = await call(client, "get_lineage", {"dataset": "raw.orders", "direction": "downstream",
                                                                       "depth": 2, "column": "order_id"})
    answers["get_impact"] = await call(client, "get_impact", {"dataset": "raw.orders"})
    answers["list_pipelines"] = await call(client, "list_pipelines", {})
    for hub, pk in pipelines.items():
        answers[f"get_pipeline_runs:{hub}"] = await call(client, "get_pipeline_runs", {"pipeline": pk})
    answers["list_workspaces"] = await call(client, "list_workspaces", {})
    try:
        prompt = await client.get_prompt("what_breaks", {"dataset": "raw.orders"})
        answers["prompt:what_breaks"] = prompt.messages[0].content.text  # type: ignore[union-attr]
    except MCPError as exc:
        answers["prompt:what_breaks"] = {"error": exc.code, "message": exc.message}
    return answers
