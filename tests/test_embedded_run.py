"""``manage.py run_embedded`` end to end: it comes up on a fresh data folder, serves the catalog,
and Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest
import requests
from django.conf import settings

from catalog.demo_lake import plan_lake
from catalog.services.events import DEFAULT_QUEUE_NAME, change_event

STARTUP_TIMEOUT = 120
# Point the run at nothing the test session uses: its own SQLite, broker, moto and osmem.
_DROPPED = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "AWS_ENDPOINT_URL", "OPENSEARCH_URL",
            "SECRET_KEY", "DEBUG", "SITE_URL")


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, grandchildren, …) read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _log_in(url: str, username: str, password: str = "datahub-demo") -> requests.Session:
    browser = requests.Session()
    browser.get(f"{url}accounts/login/", timeout=10)
    response = browser.post(f"{url}accounts/login/", timeout=10, headers={"Referer": f"{url}accounts/login/"},
                            data={"login": username, "password": password,
                                  "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert response.status_code == 200 and "sessionid" in browser.cookies, response.text[:500]
    return browser


def test_the_embedded_portal_serves_the_demo_catalog_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(PORTAL_DATA_DIR=str(tmp_path / "var"), PORT="0", PORTAL_EMBEDDED="1", PYTHONUNBUFFERED="1")
    run = subprocess.Popen(
        [sys.executable, "manage.py", "run_embedded", "--demo-databases", "3", "--demo-tables-per-database", "3"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    url_found = threading.Event()

    def read() -> None:
        assert run.stdout is not None
        for line in run.stdout:
            output.append(line)
            if "running at http" in line:
                url_found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    children: set[int] = set()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not url_found.is_set() and time.monotonic() < deadline and run.poll() is None:
            children |= _descendants(run.pid)
            time.sleep(0.5)
        assert url_found.is_set(), "no URL printed:\n" + "".join(output)
        children |= _descendants(run.pid)
        text = "".join(output)
        assert len(re.findall(r"https?://", text)) == 1, text  # one URL line to click
        url = re.search(r"running at (http://\S+)", text).group(1)
        assert "admin" in text and "dh-finance-consumer" in text  # demo logins are printed

        health = requests.get(f"{url}healthz", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"

        # The printed demo logins work, and their IdP-style groups grant the roles.
        admin = _log_in(url, "admin")
        admin.get(f"{url}roles/select/", timeout=10)  # a single role is selected on the way
        runs = admin.get(f"{url}api/v1/catalog/sync-runs", timeout=10)
        assert runs.status_code == 200, runs.text
        assert "succeeded" in runs.text  # the first sync ran against the seeded lake
        view = next(t for t in plan_lake(3, 3, 42).tables if t.is_view)
        dataset = admin.get(f"{url}api/v1/datasets/{view.qualified_name}", timeout=10)
        assert dataset.status_code == 200, dataset.text
        assert view.upstream[0].split(".")[1] in dataset.text  # the Athena view's SQL came through
        # "Sync now" from the web process reaches the Celery worker through the shared broker.
        started = admin.post(f"{url}api/v1/catalog/sync-runs", json={}, timeout=10,
                             headers={"X-CSRFToken": admin.cookies["csrftoken"], "Referer": url})
        assert started.status_code in (200, 201, 202), started.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            latest = admin.get(f"{url}api/v1/catalog/sync-runs", timeout=10).json()
            latest = latest["results"] if isinstance(latest, dict) else latest
            if len(latest) >= 2 and latest[0]["status"] == "succeeded":
                break
            time.sleep(0.5)
        assert len(latest) >= 2 and latest[0]["status"] == "succeeded", latest

        # The incremental path: a Glue change event on the embedded SQS queue reaches the mirror in seconds.
        moto_url = "http://127.0.0.1:" + re.search(r"local moto server on port (\d+)", text).group(1)
        local_aws = {"endpoint_url": moto_url, "region_name": "eu-central-1",
                     "aws_access_key_id": "embedded", "aws_secret_access_key": "embedded"}
        glue, sqs = boto3.client("glue", **local_aws), boto3.client("sqs", **local_aws)
        table = next(t for t in plan_lake(3, 3, 42).tables if not t.is_view)
        database, name = table.qualified_name.split(".")
        current = glue.get_table(DatabaseName=database, Name=name)["Table"]
        table_input = {k: v for k, v in current.items() if k in (
            "Name", "Description", "Owner", "Retention", "StorageDescriptor", "PartitionKeys", "TableType",
            "Parameters")}
        table_input["StorageDescriptor"]["Columns"].append({"Name": "added_by_event", "Type": "string"})
        glue.update_table(DatabaseName=database, TableInput=table_input)
        queue_url = sqs.get_queue_url(QueueName=DEFAULT_QUEUE_NAME)["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(change_event(database, [name])))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            detail = admin.get(f"{url}api/v1/datasets/{table.qualified_name}", timeout=10).text
            if "added_by_event" in detail:
                break
            time.sleep(0.5)
        assert "added_by_event" in detail

        roles_page = _log_in(url, "consumer").get(f"{url}roles/select/", timeout=10).text
        assert "Consumer · finance" in roles_page and "Consumer · marketing" in roles_page
        assert len(children) >= 5  # moto, osmem, worker, beat, web
    finally:
        run.send_signal(signal.SIGINT)
        try:
            run.wait(timeout=45)
        except subprocess.TimeoutExpired:
            run.kill()
            raise
    reader.join(timeout=5)
    assert run.returncode == 0, "".join(output)
    time.sleep(0.5)
    assert [pid for pid in children if _alive(pid)] == [], "".join(output)


@pytest.mark.django_db
def test_a_sync_left_running_by_a_stopped_embedded_portal_is_failed_at_the_next_start() -> None:
    from catalog.models import GlueCatalog, SyncRun
    from portal.embedded import fail_interrupted_syncs

    catalog = GlueCatalog.objects.create(account_id="123456789012", region="eu-central-1")
    done = SyncRun.objects.create(catalog=catalog, kind="full", status=SyncRun.Status.SUCCEEDED)
    stuck = SyncRun.objects.create(catalog=catalog, kind="full", status=SyncRun.Status.RUNNING)

    assert fail_interrupted_syncs() == 1
    stuck.refresh_from_db()
    done.refresh_from_db()
    assert stuck.status == SyncRun.Status.FAILED and "Interrupted" in stuck.error
    assert done.status == SyncRun.Status.SUCCEEDED


def test_ensure_demo_users_puts_each_account_in_its_idp_style_groups(db) -> None:
    from django.contrib.auth import get_user_model

    from portal.embedded import ensure_demo_users
    from portal.roles import Role, roles_from_groups

    ensure_demo_users("pw-1")
    ensure_demo_users("pw-2")  # a restart with another DEMO_PASSWORD resets it

    consumer = get_user_model().objects.get(username="consumer")
    assert consumer.check_password("pw-2")
    groups = consumer.groups.values_list("name", flat=True)
    assert roles_from_groups(groups) == [Role("consumer", "finance"), Role("consumer", "marketing")]
    assert get_user_model().objects.get(username="admin").is_superuser
