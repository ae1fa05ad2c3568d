"""Benchmark of workspaces and new-data notifications (issue 7): prints each figure next to its target.

    python bench/workspaces.py --subscribers 5000 --workspaces 10000 --launches 20

Against a moto server (started here) and PostgreSQL (DATABASE_URL, default the bench's own db):

1. fanout     publish_new_data on a dataset with N subscribing users: one SNS message + N feed rows
2. feed       GET /api/v1/notifications (first page) for a subscriber, median of 20 requests
3. list       GET /api/v1/workspaces as admin with W workspaces in the table (first page), median of 20
4. launch     launch → provision → in service through the services (moto answers at once), seconds each

Targets: fanout to 5,000 subscribers < 2 s; feed page < 100 ms; admin list page < 200 ms with 10,000
workspaces and a constant number of queries; launch overhead (portal side) < 1 s per workspace.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup(database_url: str) -> str:
    from moto.server import ThreadedMotoServer

    from portal.testing.services import free_port

    port = free_port()
    ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False).start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DATABASE_URL": database_url, "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-central-1",
        "SECRET_KEY": "bench", "CELERY_BROKER_URL": "memory://", "AWS_MAX_ATTEMPTS": "2",
        "WORKSPACE_QUOTA_PER_USER": "1000000", "ALLOWED_HOSTS": "testserver,127.0.0.1",
    })
    import psycopg

    base, _, name = database_url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True, env=os.environ.copy())
    import django

    django.setup()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("identity.audit").setLevel(logging.WARNING)
    return endpoint


def _median_ms(client, path: str, runs: int = 20) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:200]
        queries = len(captured.captured_queries)
    return statistics.median(times), queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--workspaces", type=int, default=10000)
    parser.add_argument("--launches", type=int, default=20)
    args = parser.parse_args()
    _setup(os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dh_workspaces_bench"))

    from django.contrib.auth import get_user_model
    from django.test import Client

    from catalog.models import Database, GlueCatalog, Table
    from portal import aws
    from identity.roles import Role
    from portal.testing.personas import login_as
    from workspaces import notifications, services
    from workspaces.models import Notification, Subscription, Workspace

    catalog = GlueCatalog.objects.create(account_id="123456789012", region="eu-central-1")
    db = Database.objects.create(catalog=catalog, name="sales", hub="finance")
    table = Table.objects.create(catalog=catalog, database=db, database_name="sales", name="orders", hub="finance",
                                 visibility="public", location="s3://datahub-lake/sales/orders/")
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"user{i:06d}") for i in range(args.subscribers))
    topic = notifications.ensure_dataset_topic("sales.orders")
    Subscription.objects.bulk_create(
        Subscription(user=u, table=table, dataset="sales.orders", protocol="email", endpoint=f"{u.username}@x.io",
                     topic_arn=topic, subscription_arn="pending confirmation") for u in users
    )

    # 1. fan-out
    started = time.perf_counter()
    notifications.publish_new_data("sales.orders", partition="dt=2026-11-27", rows=1000, source="bench")
    fanout = time.perf_counter() - started
    rows = Notification.objects.count()

    # 2. feed page (give the reader a long history first)
    reader = users[0]
    Notification.objects.bulk_create(
        Notification(user=reader, dataset="sales.orders", partition=f"dt={i}", rows=i, at=Notification.objects.first().at,
                     source="bench") for i in range(2000)
    )
    client = Client()
    login_as(client, reader.username, Role("consumer", "finance"))
    feed_ms, feed_queries = _median_ms(client, "/api/v1/notifications")

    # 3. admin list
    owner = users[1]
    Workspace.objects.bulk_create(
        Workspace(owner=owner, role={"persona": "consumer", "hub": "finance", "use_cases": []}, role_arn="arn:x",
                  name=f"bench-{i}", instance_type="ml.t3.medium", volume_gb=20,
                  datasets=[{"name": "sales.orders", "database": "sales", "table": "orders", "location": ""}])
        for i in range(args.workspaces)
    )
    admin = Client()
    login_as(admin, "bench-admin", Role("admin"))
    list_ms, list_queries = _median_ms(admin, "/api/v1/workspaces")

    # 4. launches through the services against moto
    consumer = User.objects.create(username="bench-consumer")
    role = Role("consumer", "finance")
    seconds = []
    for _ in range(args.launches):
        started = time.perf_counter()
        workspace = services.launch_workspace(owner=consumer, role=role, datasets=["sales.orders"],
                                              instance_type="ml.t3.medium", volume_gb=20)
        services.provision_workspace(workspace.pk)
        assert services.refresh_workspace(workspace.pk).status == "in_service"
        seconds.append(time.perf_counter() - started)
    assert aws.client("lakeformation").list_permissions()["PrincipalResourcePermissions"]

    print()
    print(f"Workspaces benchmark: {args.subscribers:,} subscribers, {args.workspaces:,} workspaces, "
          f"{args.launches} launches")
    print(f"{'figure':52} {'value':>12}  target")
    print(f"{'fan-out: one publish, ' + format(rows, ',') + ' feed rows':52} {fanout:>10.2f} s  < 2 s")
    print(f"{'feed first page (median, ' + str(feed_queries) + ' queries)':52} {feed_ms:>9.1f} ms  < 100 ms")
    print(f"{'admin list first page (median, ' + str(list_queries) + ' queries)':52} {list_ms:>9.1f} ms  < 200 ms")
    print(f"{'launch→in service, median per workspace':52} {statistics.median(seconds):>10.2f} s  < 1 s")


if __name__ == "__main__":
    main()
