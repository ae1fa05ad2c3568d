"""The embedded portal end to end. ``manage.py run_embedded`` comes up on a fresh data folder,
serves the catalog, and Ctrl-C leaves no process behind; the newcomer's journey runs the README's
own command (``bin/run``), walks every page as each demo account in Chromium, stops it with Ctrl-C
and starts it again to find the data kept and the start faster. Real everything: bin/run starts
its own PostgreSQL, moto, osmem, Celery and gunicorn."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from django.conf import settings

from catalog.demo_lake import plan_lake
from catalog.services.events import DEFAULT_QUEUE_NAME, change_event
from portal.testing.processes import NOT_FOR_BIN_RUN, alive, cpu_seconds, descendants

STARTUP_TIMEOUT = 120
def _log_in(url: str, username: str, password: str = "datahub-demo") -> requests.Session:
    browser = requests.Session()
    browser.get(f"{url}accounts/login/", timeout=10)
    response = browser.post(f"{url}accounts/login/", timeout=10, headers={"Referer": f"{url}accounts/login/"},
                            data={"login": username, "password": password,
                                  "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert response.status_code == 200 and "sessionid" in browser.cookies, response.text[:500]
    return browser


def test_the_embedded_portal_serves_the_demo_catalog_and_stops_everything_on_ctrl_c(data_folder: Path) -> None:
    tmp_path = data_folder  # see the fixture: the embedded PostgreSQL's user must reach it
    env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_BIN_RUN}
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
            children |= descendants(run.pid)
            time.sleep(0.5)
        assert url_found.is_set(), "no URL printed:\n" + "".join(output)
        children |= descendants(run.pid)
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
        assert started.status_code == 202, started.text  # accepted: the worker runs it
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            latest = admin.get(f"{url}api/v1/catalog/sync-runs", timeout=10).json()["results"]
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
            run.wait(timeout=150)  # beyond the sum of the stop graces (portal.embedded.STOP_GRACE)
        except subprocess.TimeoutExpired:
            run.kill()
            raise AssertionError("bin/run outlived Ctrl-C by 150 s:\n" + "".join(output[-40:])) from None
    reader.join(timeout=5)
    assert run.returncode == 0, "".join(output)
    time.sleep(0.5)
    assert [pid for pid in children if alive(pid)] == [], "".join(output)


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
    from identity.roles import Role, roles_from_groups

    ensure_demo_users("pw-1")
    ensure_demo_users("pw-2")  # a restart with another DEMO_PASSWORD resets it

    consumer = get_user_model().objects.get(username="consumer")
    assert consumer.check_password("pw-2")
    groups = consumer.groups.values_list("name", flat=True)
    assert roles_from_groups(groups) == [Role("consumer", "finance"), Role("consumer", "marketing")]
    assert get_user_model().objects.get(username="admin").is_superuser


# --- the newcomer's journey: bin/run, every demo account in Chromium, Ctrl-C, restart -----------
# Fails on any 4xx/5xx the page did not ask for, any console error and any request off the
# portal's origin (those are aborted before they leave: tests talk to loopback only).

FIRST_START_TIMEOUT = 900  # bin/run checks the venv and the front-end libraries first
NEXT_START_TIMEOUT = 300
DEMO_ARGS = ["--demo-databases", "3", "--demo-tables-per-database", "3"]
PASSWORD = "datahub-demo"
@dataclass
class Run:
    """One ``bin/run`` in its own process group; ``pids`` collects every process it started."""

    process: subprocess.Popen[str]
    started: float
    output: list[str] = field(default_factory=list)
    pids: set[int] = field(default_factory=set)
    url: str = ""
    ready_after: float = 0.0
    cpu_at_ready: float = 0.0  # CPU seconds of the run's processes when it printed its URL

    @classmethod
    def start(cls, data_dir: Path) -> Run:
        env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_BIN_RUN}
        env.update(PORTAL_DATA_DIR=str(data_dir), PORT="0", PYTHONUNBUFFERED="1")
        process = subprocess.Popen(["bin/run", *DEMO_ARGS], cwd=settings.BASE_DIR, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        run = cls(process, time.monotonic())
        threading.Thread(target=run._read, daemon=True).start()
        return run

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            found = re.search(r"running at (http://127\.0\.0\.1:\d+/)", line)
            if found and not self.url:
                self.ready_after = time.monotonic() - self.started
                self.pids |= descendants(self.process.pid)
                self.cpu_at_ready = cpu_seconds(self.pids, self.process.pid)
                self.url = found.group(1)

    def wait_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while not self.url and time.monotonic() < deadline and self.process.poll() is None:
            self.pids |= descendants(self.process.pid)
            time.sleep(0.5)
        assert self.url, "bin/run printed no URL:\n" + self.text
        self.pids |= descendants(self.process.pid)
        return self.url

    @property
    def text(self) -> str:
        return "".join(self.output)

    def ctrl_c(self) -> None:
        """What a terminal's Ctrl-C does: SIGINT to the foreground process group."""
        self.pids |= descendants(self.process.pid)
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            # Beyond the sum of the stop graces (portal.embedded.STOP_GRACE) and their kills.
            self.process.wait(timeout=150)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise AssertionError("bin/run outlived Ctrl-C by 150 s:\n" + "".join(self.output[-40:])) from None


class Watch:
    """Everything a page did that a newcomer should never meet, per page visited."""

    def __init__(self, page: Any, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []
        self.where = ""
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"{self.where}: page error {error}"))
        page.on("response", self._response)
        page.route("**/*", self._route)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"{self.where}: console error {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(f"{self.where}: {response.status} {response.request.method} {response.url}")

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or url.startswith(self.origin):
            route.continue_()
            return
        self.problems.append(f"{self.where}: request off the portal's origin: {url}")
        route.abort()  # never let it leave the machine


def _sign_in(page: Any, watch: Watch, url: str, username: str) -> None:
    watch.where = f"{username} sign-in"
    page.goto(f"{url}accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.locator("#id_password").press("Enter")
    page.wait_for_load_state("networkidle")
    if "/roles/select/" in page.url:  # several roles (the consumer): take the first
        page.locator("#role-choices form button").first.click()
        page.wait_for_load_state("networkidle")
    assert "/accounts/login/" not in page.url, f"{username} could not sign in"


class _Step:
    """A step of the walk: a failure is recorded with the page it happened on and the walk goes on,
    so one run reports everything a newcomer would meet, not only the first thing."""

    def __init__(self, watch: Watch, label: str) -> None:
        self.watch, self.label = watch, label

    def __enter__(self) -> None:
        self.watch.where = self.label

    def __exit__(self, kind: Any, error: Any, tb: Any) -> bool:
        if error is not None and isinstance(error, Exception):
            self.watch.problems.append(f"{self.label}: {type(error).__name__}: {str(error).splitlines()[0]}")
            return True
        return False


def _visit(page: Any, watch: Watch, url: str, path: str, label: str) -> None:
    watch.where = label
    response = page.goto(url + path.lstrip("/"))
    assert response is not None and response.status == 200, f"{label}: {response and response.status} for {path}"
    page.wait_for_load_state("networkidle")


def _lineage_edges(page: Any) -> int:
    page.wait_for_selector("[data-lineage][data-state=ready]", timeout=30_000)
    return int(page.evaluate("window.lineageViews[window.lineageViews.length - 1].cy.edges().length"))


def _walk(page: Any, watch: Watch, url: str, username: str, view: str) -> None:
    _sign_in(page, watch, url, username)
    # The nav: every link in the header, as the user sees them.
    nav = page.eval_on_selector_all("nav .navbar-nav a.nav-link", "links => links.map(a => a.getAttribute('href'))")
    assert nav, f"{username}: no nav links"
    for href in dict.fromkeys(nav):
        with _Step(watch, f"{username} nav {href}"):
            _visit(page, watch, url, href, f"{username} nav {href}")

    with _Step(watch, f"{username} home"):
        _visit(page, watch, url, "/", f"{username} home")
    with _Step(watch, f"{username} search"):
        word = view.split(".")[1].split("_")[0]
        _visit(page, watch, url, f"/search?q={word}", f"{username} search")
        facets = page.locator("a.facet-option")
        assert facets.count() >= 1, "no facet to choose"
        watch.where = f"{username} search facet"
        facets.first.click()
        page.wait_for_load_state("networkidle")
        assert page.url.startswith(f"{url}search"), page.url

    with _Step(watch, f"{username} dataset"):
        _visit(page, watch, url, f"/datasets/{view}", f"{username} dataset")
    for tab in ("Schema", "Storage & query", "History", "Lineage", "Curation"):
        with _Step(watch, f"{username} dataset tab {tab}"):
            page.get_by_role("tab", name=re.compile(re.escape(tab))).click()
            if tab == "Lineage":
                assert _lineage_edges(page) >= 1, "the Lineage tab drew no edge"
            page.wait_for_load_state("networkidle")

    with _Step(watch, f"{username} lineage"):
        _visit(page, watch, url, f"/lineage/?dataset={view}", f"{username} lineage")
        assert _lineage_edges(page) >= 1, "the lineage view drew no edge"

    if username in ("admin", "provider"):
        with _Step(watch, f"{username} pipelines"):
            _visit(page, watch, url, "/ingestion/", f"{username} pipelines")
        with _Step(watch, f"{username} wizard"):
            with page.expect_navigation():
                page.get_by_role("button", name="Onboard a new source").click()
            page.wait_for_load_state("networkidle")
            assert "/ingestion/drafts/" in page.url, page.url
            assert page.locator("main form").count() >= 1
    pages = [("/workspaces/", "workspaces"), ("/workspaces/subscriptions/", "subscriptions"), ("/tokens/", "tokens")]
    if username == "admin":
        pages.append(("/audit/", "audit"))
    for path, label in pages:
        with _Step(watch, f"{username} {label}"):
            _visit(page, watch, url, path, f"{username} {label}")
    with _Step(watch, f"{username} API docs"):
        _visit(page, watch, url, "/api/v1/docs", f"{username} API docs")
        page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)


def _create_token(page: Any, watch: Watch, url: str, name: str) -> None:
    _visit(page, watch, url, "/tokens/", "token create")
    page.fill("input[name=name]", name)
    with page.expect_navigation():
        page.get_by_role("button", name="Create token").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=token-secret]").count() == 1


def _api(page: Any, url: str, method: str, path: str, **data: Any) -> dict[str, Any]:
    """The API with the page's session, as the portal's own scripts call it (CSRF header on writes)."""
    if method == "GET":
        response = page.request.get(url + path)
    else:
        csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
        response = page.request.post(url + path, data=data, headers={"X-CSRFToken": csrf, "Referer": url})
    assert response.status < 300, f"{method} {path}: {response.status} {response.text()[:300]}"
    return response.json()


def _launch_workspace(page: Any, url: str) -> int:
    """A workspace on the first dataset the consumer finds, in service on the local AWS."""
    dataset = _api(page, url, "GET", "api/v1/search?q=&page_size=1")["results"][0]["qualified_name"]
    launched = _api(page, url, "POST", "api/v1/workspaces", datasets=[dataset], instance_type="ml.t3.medium",
                    volume_gb=20)
    deadline = time.monotonic() + 90
    while (status := _api(page, url, "GET", f"api/v1/workspaces/{launched['id']}")["status"]) != "in_service":
        assert status == "pending" and time.monotonic() < deadline, f"workspace {launched['id']} is {status}"
        time.sleep(1)
    return int(launched["id"])


@pytest.mark.browser
def test_a_newcomer_runs_bin_run_walks_every_page_as_each_demo_account_and_restarts(data_folder: Path,
                                                                                   chromium) -> None:
    data_dir = data_folder / "var"
    view = next(t for t in plan_lake(3, 3, 42).tables if t.is_view).qualified_name
    first = Run.start(data_dir)
    # What the walk met is asserted last, so one run also checks the stop and the restart.
    problems: list[str] = []
    try:
        url = first.wait_url(FIRST_START_TIMEOUT)
        origin = url.rstrip("/")
        assert urlsplit(url).hostname == "127.0.0.1"
        for username in ("admin", "steward", "provider", "consumer"):
            context = chromium.new_context(viewport={"width": 1440, "height": 900})
            context.set_default_timeout(20_000)
            page = context.new_page()
            watch = Watch(page, origin)
            try:
                _walk(page, watch, url, username, view)
                if username == "consumer":
                    _create_token(page, watch, url, "kept across restarts")
                    workspace = _launch_workspace(page, url)
            finally:
                problems += watch.problems
                context.close()
    finally:
        first.ctrl_c()
    time.sleep(0.5)
    assert first.process.returncode == 0, first.text
    assert [pid for pid in first.pids if alive(pid)] == [], first.text
    assert len(first.pids) >= 6, first.pids  # postgres, moto, osmem, web, worker, beat (and their children)
    logs = data_dir / "logs"
    for name in ("celery-worker.log", "celery-beat.log", "web.log"):
        text = (logs / name).read_text()
        assert "Traceback" not in text and " ERROR" not in text and "ERROR/" not in text, f"{name}:\n{text[-3000:]}"

    second = Run.start(data_dir)
    try:
        url = second.wait_url(NEXT_START_TIMEOUT)
        assert "initdb" not in second.text
        context = chromium.new_context()
        page = context.new_page()
        watch = Watch(page, url.rstrip("/"))
        _sign_in(page, watch, url, "consumer")
        _visit(page, watch, url, "/tokens/", "tokens after restart")
        assert page.get_by_text("kept across restarts").count() >= 1, "the token did not survive the restart"
        # The local AWS came back empty: the kept workspace says its notebook is gone, and offers
        # to re-create it (once the run has re-seeded the local AWS and checked the resources).
        deadline = time.monotonic() + NEXT_START_TIMEOUT
        while "Resources:" not in second.text:
            assert time.monotonic() < deadline and second.process.poll() is None, second.text
            time.sleep(0.5)
        assert _api(page, url, "GET", f"api/v1/workspaces/{workspace}")["status"] == "missing"
        _visit(page, watch, url, f"/workspaces/{workspace}/", "workspace after restart")
        assert page.get_by_role("button", name="Re-create").count() == 1
        context.close()
        problems += watch.problems
    finally:
        second.ctrl_c()
    assert second.process.returncode == 0, second.text
    assert [pid for pid in second.pids if alive(pid)] == []
    # Faster in work done, which other load on the machine does not blur as it does wall time
    # (bench/startup.py reports the wall times).
    assert second.cpu_at_ready < first.cpu_at_ready, (first.cpu_at_ready, second.cpu_at_ready)
    assert problems == [], "\n".join(problems)
