"""Benchmark of OpenLineage intake (issue 14): events/s, latency and graph freshness of one web process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dh_lineage_intake_bench python bench/lineage_intake.py

The portal runs as production runs it: gunicorn with the repository's ``gunicorn.conf.py``, one web
process (``--workers 1``, its threads as configured), DEBUG and the embedded mode off. Events are
sent by the official openlineage-python client (HTTP transport, a provider's bearer token) over
loopback. The bench database is migrated here and emptied of lineage before each run.

Phases (each prints one line):
1. small     RunEvents with one input and one output (each job run: START then COMPLETE), sent
             by --threads client threads: events/s, p50/p95 ms per event (client → 201)
2. wide      the same with a 200-column schema and a 200-field columnLineage facet on the output
3. freshness a COMPLETE event naming a new output, then GET /api/v1/lineage/graph until the edge
             is there: p50/max seconds from 201 to visible (--freshness samples, after each phase)

Targets (2-core machine): small >= 300 events/s per web process with p95 < 50 ms; freshness < 1 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.testing.databases import ensure_database  # noqa: E402
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"
SECRET_KEY = "bench-only-secret-key-bench-only-secret-key"


def _env(database_url: str) -> dict[str, str]:
    return {
        **os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DATABASE_URL": database_url,
        "PORTAL_EMBEDDED": "0", "DEBUG": "0", "SECRET_KEY": SECRET_KEY, "LOG_LEVEL": "WARNING",
        # Plain HTTP on loopback: nothing terminates TLS in front of this gunicorn.
        "SECURE_SSL_REDIRECT": "0",
    }


def _prepare(database_url: str) -> str:
    """Migrate the bench database, empty its lineage, and return a provider token's secret."""
    os.environ.update(_env(database_url))
    ensure_database(database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], env=_env(database_url), cwd=ROOT, check=True)
    import django

    django.setup()
    from lineage.models import Dataset, Event, GraphChange, Job
    from identity.roles import Role
    from portal.testing.personas import token_for

    Event.objects.all().delete()
    Job.objects.all().delete()  # runs, run datasets and edges go with their jobs
    Dataset.objects.all().delete()
    GraphChange.objects.all().delete()
    return token_for("bench_etl", Role("provider", "finance"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_gunicorn(database_url: str, port: int, logs: Path) -> subprocess.Popen[bytes]:
    env = {**_env(database_url), "PORTAL_DATA_DIR": str(logs)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--workers", "1", "--bind", f"127.0.0.1:{port}"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(logs / "web.log", "wb"),
    )
    import requests

    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code < 500:
                    return process
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
    except BaseException:
        process.terminate()  # never leave the server behind (Ctrl-C, an unexpected error)
        raise
    process.terminate()
    raise SystemExit(f"gunicorn did not answer within 60 s; see {logs / 'web.log'}")


def _client(url: str, token: str) -> Any:
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

    config = HttpConfig(url=url, endpoint="api/v1/lineage", auth=ApiKeyTokenProvider({"apiKey": token}), retry={"total": 0})
    return OpenLineageClient(transport=HttpTransport(config))


def _event(job: str, run_id: str, state: str, source: str, target: str, columns: int) -> Any:
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset

    facets: dict[str, Any] = {}
    if columns:
        names = [f"col_{i:03d}" for i in range(columns)]
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type="string") for n in names])
        facets["columnLineage"] = column_lineage_dataset.ColumnLineageDatasetFacet(fields={
            n: column_lineage_dataset.Fields(inputFields=[
                column_lineage_dataset.InputField(namespace="postgres://crm:5432", name=source, field=f"src_{n}")])
            for n in names})
    return RunEvent(
        eventType=RunState[state], eventTime=datetime.now(timezone.utc).isoformat(), run=Run(runId=run_id),
        job=Job(namespace="bench", name=job), producer=PRODUCER,
        inputs=[InputDataset(namespace="postgres://crm:5432", name=source)],
        outputs=[OutputDataset(namespace="s3://bench-lake", name=target, facets=facets)],
    )


def _send(url: str, token: str, events: int, threads: int, columns: int, tag: str) -> tuple[float, list[float]]:
    """Send ``events`` events from ``threads`` client threads; returns (seconds, per-event latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = events // threads

    def work(worker: int) -> None:
        client = _client(url, token)
        mine: list[float] = []
        for i in range(per_thread // 2):
            job, run_id = f"{tag}_job_{worker}_{i % 50}", str(uuid.uuid4())
            source, target = f"crm.public.{tag}_src_{i % 200}", f"{tag}/out_{worker}_{i % 50}"
            for state in ("START", "COMPLETE"):
                event = _event(job, run_id, state, source, target, columns)
                started = time.perf_counter()
                client.emit(event)
                mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - started, latencies


def _freshness(url: str, token: str, samples: int) -> list[float]:
    """Seconds from a COMPLETE event's 201 to its edge in GET /api/v1/lineage/graph."""
    import requests

    client = _client(url, token)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    seen: list[float] = []
    for i in range(samples):
        run_id, target = str(uuid.uuid4()), f"fresh/{uuid.uuid4().hex}"
        client.emit(_event(f"fresh_{i}", run_id, "COMPLETE", "crm.public.fresh_src", target, 0))
        accepted = time.perf_counter()
        while True:
            answer = session.get(f"{url}/api/v1/lineage/graph", params={"node": f"s3://bench-lake/{target}", "direction": "upstream", "depth": 1})
            answer.raise_for_status()
            if answer.json()["edges"]:
                seen.append(time.perf_counter() - accepted)
                break
            if time.perf_counter() - accepted > 30:
                seen.append(float("inf"))
                break
            time.sleep(0.005)
    return seen


def _worker_cpu(master: int) -> float:
    """CPU seconds (user + system) used so far by the gunicorn worker(s) of ``master``: what the
    web process itself spends, whatever else loads the machine."""
    total = 0.0
    for child in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dh_lineage_intake_bench"))
    parser.add_argument("--events", type=int, default=2000, help="small events (default 2000)")
    parser.add_argument("--wide-events", type=int, default=200, help="200-column events (default 200)")
    parser.add_argument("--threads", type=int, default=4, help="client threads (default 4: gunicorn's threads per process)")
    parser.add_argument("--freshness", type=int, default=20, help="freshness samples (default 20)")
    args = parser.parse_args()

    token = _prepare(args.database_url)
    port = _free_port()
    logs = ROOT / "var" / "bench-lineage-intake"
    logs.mkdir(parents=True, exist_ok=True)
    web = _start_gunicorn(args.database_url, port, logs)
    url = f"http://127.0.0.1:{port}"
    try:
        # First requests: connections, imports, the graph's first load and its compiled walks
        # (startup costs, not freshness; bin/run warms the walks itself).
        _send(url, token, 40, 1, 0, "warm")
        _freshness(url, token, 2)
        print(f"load average before: {_load()} (1, 5, 15 min; 2 cores shared)")
        for name, events, columns in (("small", args.events, 0), ("wide", args.wide_events, 200)):
            cpu = _worker_cpu(web.pid)
            seconds, latencies = _send(url, token, events, args.threads, columns, name)
            cpu_ms = (_worker_cpu(web.pid) - cpu) / len(latencies) * 1000
            print(f"{name:<6} {len(latencies)} events, {args.threads} client threads: {len(latencies) / seconds:.0f} events/s, "
                  f"p50 {_ms(latencies, 0.5):.1f} ms, p95 {_ms(latencies, 0.95):.1f} ms, max {max(latencies) * 1000:.1f} ms; "
                  f"web process CPU {cpu_ms:.2f} ms/event (= {1000 / cpu_ms:.0f} events/s on one free core)")
            fresh = _freshness(url, token, args.freshness)
            print(f"{name:<6} freshness (201 → edge in the graph API), {len(fresh)} samples: "
                  f"p50 {statistics.median(fresh) * 1000:.0f} ms, max {max(fresh) * 1000:.0f} ms")
        print(f"load average after: {_load()}")
        print("targets: small >= 300 events/s, p95 < 50 ms; freshness < 1000 ms")
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=30)


if __name__ == "__main__":
    main()
