"""Benchmark of the MCP server (issue 19): tool calls over streamable HTTP against the same REST calls.

    python bench/mcp.py --calls 200

The portal runs as production runs it: gunicorn with the repository's ``gunicorn.conf.py``, one web
process, debug and the embedded mode off, against the bench's own PostgreSQL database
(DATABASE_URL, default dh_mcp_bench) and an osmem OpenSearch started here. The lake is the MCP
tests' small lake (agents/tests/conftest.py: public, finance-only and marketing-only tables with
lineage). One finance consumer token calls, alternately one by one so the machine's noise hits
both alike:

    search       MCP tool ``search`` {query}          vs GET /api/v1/search?q=
    get_dataset  MCP tool ``get_dataset`` {dataset}   vs GET /api/v1/datasets/DB.TABLE
    get_lineage  MCP tool ``get_lineage`` {dataset}   vs GET /api/v1/lineage/graph?dataset=

and prints p50/p95 ms of each and the p50 ratio MCP/REST (target under 1.5x). The MCP client is
the SDK's own, in one session (as an agent keeps one); each REST call is one keep-alive request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Python puts this script's folder first on the path, where this file would shadow the MCP SDK's
# ``mcp`` package (the issue names the bench bench/mcp.py): take it out.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from portal.testing.databases import ensure_database  # noqa: E402
from portal.testing.services import free_port  # noqa: E402

CALLS = {  # name: (MCP tool, its arguments, REST path)
    "search": ("search", {"query": "orders"}, "/api/v1/search?q=orders"),
    "get_dataset": ("get_dataset", {"dataset": "raw.orders"}, "/api/v1/datasets/raw.orders"),
    "get_lineage": ("get_lineage", {"dataset": "raw.orders", "direction": "both"},
                    "/api/v1/lineage/graph?dataset=raw.orders&direction=both"),
}


def _env(database_url: str, opensearch_url: str) -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DATABASE_URL": database_url,
            "OPENSEARCH_URL": opensearch_url, "PORTAL_EMBEDDED": "0", "DEBUG": "0", "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "bench-only-secret-key-bench-only-secret-key", "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1", "MCP_CALLS_PER_MINUTE": "0", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}


def _prepare(env: dict[str, str]) -> str:
    """Migrate, build the lake (database and index) and return a finance consumer's token."""
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    import django

    django.setup()
    from agents.tests.conftest import build_lake
    from catalog.models import Table
    from ingestion_wizard.models import Pipeline
    from lineage.models import Dataset, Event, Job
    from identity.roles import Role
    from portal.testing.personas import token_for

    Event.objects.all().delete()
    Job.objects.all().delete()
    Dataset.objects.all().delete()
    Pipeline.objects.all().delete()
    Table.objects.all().delete()
    build_lake()
    return token_for("bench_analyst", Role("consumer", "finance"))


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--workers", "1",
                            "--bind", f"127.0.0.1:{port}", "portal.wsgi:application"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return web, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    web.kill()
    raise SystemExit("gunicorn did not answer /healthz")


async def _measure(url: str, token: str, calls: int) -> dict[str, tuple[list[float], list[float]]]:
    import httpx
    from agents.tests.conftest import http_client

    timings: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in CALLS}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as rest, http_client(f"{url}/mcp", token) as mcp:
        for round_ in range(calls + 5):  # the first rounds warm both paths up and are not counted
            for name, (tool, arguments, path) in CALLS.items():
                started = time.perf_counter()
                result = await mcp.call_tool(tool, arguments)
                took_mcp = time.perf_counter() - started
                assert not result.is_error, (name, result)
                started = time.perf_counter()
                response = await rest.get(path)
                took_rest = time.perf_counter() - started
                assert response.status_code == 200, (path, response.status_code, response.text[:200])
                if round_ >= 5:
                    timings[name][0].append(took_mcp)
                    timings[name][1].append(took_rest)
    return timings


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {ordered[int(len(ordered) * 0.95) - 1] * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200, help="calls of each kind on each path")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dh_mcp_bench")
    ensure_database(database_url)
    from osmem_server import OsmemServer

    opensearch = OsmemServer.start(japanese=False)
    web = None
    try:
        env = _env(database_url, opensearch.url)
        token = _prepare(env)
        web, url = _serve(env)
        timings = asyncio.run(_measure(url, token, args.calls))
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        opensearch.close()
    print(f"calls of each kind: {args.calls} over MCP (streamable HTTP) and {args.calls} over REST, one web process")
    worst = 0.0
    for name, (over_mcp, over_rest) in timings.items():
        ratio = statistics.median(over_mcp) / statistics.median(over_rest)
        worst = max(worst, ratio)
        print(f"{name:<12} mcp {_ms(over_mcp)}; rest {_ms(over_rest)}; ratio {ratio:.2f}x")
    print(f"worst p50 ratio MCP/REST: {worst:.2f}x (target < 1.5x: {'met' if worst < 1.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
