"""The embedded portal on one machine: child processes, free ports and demo accounts.

``Supervisor`` starts each child in its own process group (so Ctrl-C reaches only
the run command, which then stops the children in dependency order: web, beat, worker,
then the local services they use, the database last) with its output in
``var/logs/<name>.log``; children also get SIGTERM from the kernel if the run
command dies without cleaning up (Linux ``PR_SET_PDEATHSIG``), so nothing is
left behind. Used by ``manage.py run_embedded``.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# Persona and hub per demo account; the group names follow the IdP convention
# (ROLE_GROUP_PATTERN ``dh-<hub>-<persona>``, ADMIN_GROUP ``dh-admins``) so the
# identity layer derives the same roles as for SSO users.
DEMO_USERS: dict[str, tuple[str, ...]] = {
    "admin": ("dh-admins",),
    "steward": ("dh-finance-steward",),
    "provider": ("dh-finance-provider",),
    "consumer": ("dh-finance-consumer", "dh-marketing-consumer"),
}


class StartupError(RuntimeError):
    """A service of the embedded portal did not come up; the message says which and where its log is."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def choose_port(preferred: int, host: str = "127.0.0.1", tries: int = 20) -> int:
    """``preferred`` when free, else the next free one above it; 0 means any free port."""
    if preferred == 0:
        return free_port(host)
    for port in range(preferred, preferred + tries):
        if port_is_free(port, host):
            return port
    return free_port(host)


def wait_for_http(url: str, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """Poll ``url`` until it answers below 500 (True) or ``timeout`` passes / ``alive()`` turns False."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return True
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return True
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    return False


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux), so a killed run leaves no orphans."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: the orderly stop still applies


# Stop order, first to last: what serves or schedules work goes before what does it, and the
# worker before the services it talks to (a worker still polling SQS after moto is gone logs
# ERROR tracebacks), the database last. Unknown names stop with the services.
STOP_ORDER = {"web": 0, "celery-beat": 1, "celery-worker": 2, "postgres": 4}
SERVICES_TIER = 3
# Seconds each tier gets before SIGKILL. The worker's warm shutdown waits for running tasks; one
# killed here runs again at the next start (tasks are acknowledged late). PostgreSQL's shutdown
# checkpoint must never be cut short.
STOP_GRACE = {0: 10.0, 1: 5.0, 2: 10.0, SERVICES_TIER: 5.0, 4: 60.0}
SLOW_STOP_SECONDS = 3.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path
    stop_signal: signal.Signals = signal.SIGTERM

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


class Supervisor:
    """Starts children in their own process groups and stops them all (in ``STOP_ORDER``) on ``stop_all``."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.children: list[Child] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def spawn(self, name: str, argv: Sequence[str], *, cwd: Path | None = None,
              stop_signal: signal.Signals = signal.SIGTERM, popen_kwargs: dict | None = None) -> Child:
        log_path = self.log_dir / f"{name}.log"
        log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - the child owns it; closed on stop
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            list(argv), cwd=cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            **(popen_kwargs or {}),
        )
        log.close()
        child = Child(name, process, log_path, stop_signal)
        self.children.append(child)
        return child

    def first_dead(self) -> Child | None:
        return next((c for c in self.children if not c.alive), None)

    def pids(self) -> list[int]:
        return [c.process.pid for c in self.children]

    def stop_all(self, grace: float | None = None, report: Callable[[str], None] | None = None) -> None:
        """Stop the children tier by tier in ``STOP_ORDER`` (each tier gone before the next is
        signalled), with each child's stop signal; SIGKILL a tier's leftovers after its
        ``STOP_GRACE`` (or ``grace`` when given). ``report`` hears of each child that took more
        than a few seconds or had to be killed (a slow stop should say what it waits for)."""
        tiers: dict[int, list[Child]] = {}
        for child in self.children:
            tiers.setdefault(STOP_ORDER.get(child.name, SERVICES_TIER), []).append(child)
        for rank in sorted(tiers):
            members = tiers[rank]
            for child in members:
                _signal_group(child.process, child.stop_signal)
            deadline = time.monotonic() + (grace if grace is not None else STOP_GRACE.get(rank, 10.0))
            signalled = time.monotonic()
            for child in members:
                try:
                    child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    if report:
                        report(f"{child.name} did not stop within {time.monotonic() - signalled:.0f} s: killed "
                               f"(its log: {child.log_path})")
                else:
                    if report and time.monotonic() - signalled > SLOW_STOP_SECONDS:
                        report(f"{child.name} took {time.monotonic() - signalled:.0f} s to stop")
                # Kill the whole group even when the leader is gone (e.g. a worker's pool processes).
                _signal_group(child.process, signal.SIGKILL)
                try:
                    child.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        self.children.clear()


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def spawn_postgres(supervisor: Supervisor, data_dir: Path) -> Child:
    """Start the portal's own PostgreSQL (``portal.local_postgres``): initdb on first use, then the
    server on its Unix socket; ``await_postgres`` waits for it. Stopped last, with SIGINT (fast
    shutdown: it does not wait for the other processes' idle connections)."""
    from portal import local_postgres

    try:
        owner = local_postgres.prepare(data_dir)
    except local_postgres.LocalPostgresError as exc:
        raise StartupError(str(exc)) from None
    return supervisor.spawn("postgres", local_postgres.server_argv(data_dir), stop_signal=signal.SIGINT,
                            popen_kwargs=local_postgres.popen_kwargs(owner))


def await_postgres(child: Child, data_dir: Path, timeout: float = 60.0) -> None:
    from portal import local_postgres

    try:
        local_postgres.wait_ready(data_dir, timeout, lambda: child.alive)
    except local_postgres.LocalPostgresError as exc:
        raise StartupError(f"{exc}; see {child.log_path}:\n{log_tail(child.log_path)}") from None


def spawn_moto(supervisor: Supervisor, port: int) -> Child:
    """Start a local moto server (every AWS service, in memory); ``await_moto`` waits for it."""
    return supervisor.spawn("moto", [sys.executable, "-m", "portal.aws_emulator", "-H", "127.0.0.1", "-p", str(port)])


def await_moto(child: Child, port: int, timeout: float = 60.0) -> str:
    """The moto server's URL once it answers; raises StartupError naming its log otherwise."""
    url = f"http://127.0.0.1:{port}"
    if not wait_for_http(f"{url}/moto-api/", timeout, lambda: child.alive):
        raise StartupError(f"moto server did not start on port {port}; see {child.log_path}:\n"
                           f"{log_tail(child.log_path)}")
    return url


def spawn_osmem(supervisor: Supervisor, port: int) -> Child:
    """Start osmem-server (an in-memory OpenSearch); ``await_osmem`` reads its URL."""
    from osmem_server import resolve_binary

    return supervisor.spawn("osmem", [resolve_binary(None), "--addr", f"127.0.0.1:{port}", "--no-ja",
                                      "--no-stdin-watch", "--parent-pid", str(os.getpid())])


def await_osmem(child: Child, timeout: float = 60.0) -> str:
    """osmem's URL from the ready line it prints; raises StartupError naming its log otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.alive:
        for line in log_tail(child.log_path, 50).splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict) and "url" in message:
                return str(message["url"])
        time.sleep(0.1)
    raise StartupError(f"osmem did not start; see {child.log_path}:\n{log_tail(child.log_path)}")


def has_synced_catalog() -> bool:
    """True when the database holds a catalog from a finished sync (a restart, not a first start)."""
    from catalog.models import SyncRun

    return SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).exists()


def fail_interrupted_syncs() -> int:
    """Fail catalog syncs left "running" by an embedded portal stopped mid-sync; returns how many.

    Embedded mode runs one portal per data folder, so at start-up nothing can still be syncing;
    without this a Ctrl-C during the first sync would block syncs until the abandon timeout.
    """
    from django.utils import timezone

    from catalog.models import SyncRun

    return SyncRun.objects.filter(status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.FAILED, finished_at=timezone.now(),
        error="Interrupted: the embedded portal was stopped before the sync finished.")


def ensure_demo_users(password: str) -> list[tuple[str, tuple[str, ...]]]:
    """Local demo accounts in their IdP-style groups (created or reset); returns (username, groups)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import transaction

    user_model = get_user_model()
    hashed = make_password(password)  # one slow hash for all of them
    result = []
    with transaction.atomic():
        for username, group_names in DEMO_USERS.items():
            user, _ = user_model.objects.get_or_create(username=username,
                                                       defaults={"email": f"{username}@example.com"})
            user.password = hashed
            user.is_active = True
            user.is_staff = user.is_superuser = username == "admin"  # Django admin for the admin only
            user.save()
            groups = [Group.objects.get_or_create(name=name)[0] for name in group_names]
            user.groups.set(groups)
            _verified_email(user)
            result.append((username, group_names))
    return result


def _verified_email(user: object) -> None:
    # allauth may require a verified address to log in with a local account.
    try:
        from allauth.account.models import EmailAddress
    except ImportError:
        return
    EmailAddress.objects.update_or_create(user=user, email=user.email,  # type: ignore[attr-defined]
                                          defaults={"verified": True, "primary": True})
