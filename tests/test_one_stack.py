"""One stack from the first run to production: PostgreSQL only, the embedded server, gunicorn
from the committed config, and the stop order of the embedded portal's processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import requests
from django.conf import settings

from portal import embedded, local_postgres

BASE_DIR = Path(settings.BASE_DIR)


def _settings_error(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("url", ["sqlite:///var/portal.sqlite3", "mysql://root@127.0.0.1:3306/portal"])
def test_a_database_url_that_is_not_postgresql_stops_start_up_naming_the_variable(url: str) -> None:
    result = _settings_error(url)
    assert result.returncode != 0
    assert "DATABASE_URL must be a PostgreSQL URL" in result.stderr, result.stderr[-2000:]


def test_without_database_url_the_portal_uses_its_own_postgresql_under_the_data_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PORTAL_DATA_DIR"] = str(tmp_path)
    code = "from django.conf import settings; d = settings.DATABASES['default']; print(d['ENGINE'], d['HOST'], d['NAME'])"
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=BASE_DIR,
                            env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings"}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", str(tmp_path.resolve() / "run"), "portal"]


def test_the_socket_folder_stays_short_enough_for_a_unix_socket_name(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    folder = local_postgres.socket_dir(deep)
    assert len(str(folder / ".s.PGSQL.5432")) < 108
    assert folder == local_postgres.socket_dir(deep)  # the same folder for the same data folder
    assert folder != local_postgres.socket_dir(tmp_path / ("d" * 60) / ("f" * 60))


def test_the_embedded_server_keeps_its_data_between_starts(data_folder: Path) -> None:
    tmp_path = data_folder
    server = local_postgres.StandaloneServer(tmp_path)
    url = server.start()
    try:
        with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (note text)")
            conn.execute("INSERT INTO kept VALUES ('still here')")
    finally:
        server.stop()
    assert server.process is not None and server.process.returncode is not None

    again = local_postgres.StandaloneServer(tmp_path)
    url = again.start()
    try:
        with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
            assert conn.execute("SELECT note FROM kept").fetchall() == [("still here",)]
            assert conn.execute("SHOW server_version").fetchone()[0].startswith("18")
            # Nothing listens on TCP: the socket is the only way in.
            assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""
    finally:
        again.stop()


# --- stop order ------------------------------------------------------------------------------

_RECORDER = """
import signal, sys, time
def stop(signum, frame):
    with open(sys.argv[1], "a") as out:
        out.write(f"{sys.argv[2]} {time.monotonic()}\\n")
    time.sleep(0.3)  # a stop that takes a moment, as a worker finishing its task does
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
open(sys.argv[3], "w").close()
while True:
    time.sleep(0.1)
"""


def test_ctrl_c_stops_web_beat_and_worker_before_the_services_and_the_database_last(tmp_path: Path) -> None:
    journal = tmp_path / "stopped.txt"
    supervisor = embedded.Supervisor(tmp_path / "logs", dict(os.environ))
    # Started in the order run_embedded starts them.
    names = ["postgres", "moto", "osmem", "web", "celery-worker", "celery-beat"]
    for name in names:
        ready = tmp_path / f"{name}.ready"
        supervisor.spawn(name, [sys.executable, "-c", _RECORDER, str(journal), name, str(ready)],
                         stop_signal=signal.SIGINT if name == "postgres" else signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all((tmp_path / f"{n}.ready").exists() for n in names):
        time.sleep(0.05)
    children = [c.process for c in supervisor.children]

    supervisor.stop_all(grace=10)

    order = [line.split()[0] for line in journal.read_text().splitlines()]
    assert order[:3] == ["web", "celery-beat", "celery-worker"]
    assert sorted(order[3:5]) == ["moto", "osmem"]
    assert order[5] == "postgres"
    assert all(p.returncode == 0 for p in children)  # each stopped by its signal, none killed


# --- the production web server, as the README documents it ------------------------------------

def _readme_production_commands() -> tuple[str, str]:
    readme = (BASE_DIR / "README.md").read_text()
    section = readme[readme.index("### Pointing the portal at real services"):]
    migrate = re.search(r"^(\S*python manage.py migrate\b.*)$", section, re.M)
    web = re.search(r"^(\S*gunicorn -c gunicorn.conf.py\b.*?)(\s+#.*)?$", section, re.M)
    assert migrate and web, "the README's production section names migrate and gunicorn -c gunicorn.conf.py"
    return migrate.group(1), web.group(1)


@pytest.mark.django_db(transaction=True)
def test_the_documented_production_server_serves_the_home_page(tmp_path: Path) -> None:
    migrate, web = _readme_production_commands()
    db = settings.DATABASES["default"]
    # The test database pytest-django made, as DATABASE_URL, the way production sets it.
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "PORTAL_EMBEDDED": "0", "DEBUG": "0", "SECRET_KEY": "production-test-key",
           "PORTAL_DATA_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    port = embedded.free_port()
    env["WEB_BIND"] = f"127.0.0.1:{port}"
    python_dir = str(Path(sys.executable).parent)
    env["PATH"] = f"{python_dir}:{env.get('PATH', '')}"

    def command(line: str) -> list[str]:
        argv = line.split()
        argv[0] = str(Path(python_dir) / Path(argv[0]).name)  # .venv/bin/x -> this interpreter's venv
        return argv

    migrated = subprocess.run(command(migrate), cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    server = subprocess.Popen(command(web), cwd=BASE_DIR, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        assert embedded.wait_for_http(f"http://127.0.0.1:{port}/healthz", 60, lambda: server.poll() is None), \
            "gunicorn did not come up"
        home = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert home.status_code == 200
        assert "Data Hub" in home.text
        missing = requests.get(f"http://127.0.0.1:{port}/no-such-page/", timeout=10)
        assert missing.status_code == 404
        assert "Traceback" not in missing.text and "DEBUG = True" not in missing.text  # production: debug off
        css = requests.get(f"http://127.0.0.1:{port}/static/portal/portal.css", timeout=10)
        assert css.status_code == 200  # whitenoise serves static files in the same process
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert "gthread" in output or "Booting worker" in output, output
    access_log = (tmp_path / "logs" / "access.log").read_text()
    assert "GET / HTTP/1.1\" 200" in access_log


def test_without_a_server_on_5432_the_test_session_gets_the_embedded_one(data_folder: Path, monkeypatch) -> None:
    """What ``portal.testing.env`` does when nothing answers on 127.0.0.1:5432 (here one does, so the
    fallback is called directly): an embedded server whose URL pytest-django can create databases on."""
    from portal.testing import env

    tmp_path = data_folder
    monkeypatch.setenv("PORTAL_TEST_DATA_DIR", str(tmp_path))
    # Set here so the call leaves this session's ingestion source where it is (restored after).
    monkeypatch.setenv("INGESTION_TEST_PG_HOST", "127.0.0.1")
    monkeypatch.setenv("INGESTION_TEST_PG_PORT", "5432")
    url = env._embedded_database_url()  # stopped at exit, as in a real session
    assert url.endswith("/datahub")
    with psycopg.connect(url.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres",
                         autocommit=True) as conn:
        conn.execute("CREATE DATABASE test_fallback")
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = 'test_fallback'").fetchone() == (1,)
    assert (tmp_path / "postgres" / "PG_VERSION").exists()
    # The ingestion tests' PostgreSQL source reaches the same server over loopback TCP.
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
