"""``python manage.py run_embedded``: the whole portal on one machine (what ``bin/run`` starts).

Starts the portal's own PostgreSQL (unless DATABASE_URL is given; its data is kept
under PORTAL_DATA_DIR), a local moto server (AWS) and osmem (OpenSearch) unless
AWS_ENDPOINT_URL / OPENSEARCH_URL are given, migrates, seeds the demo lake, creates the
demo accounts, runs a first catalog sync and search index, then the web server
(gunicorn with gunicorn.conf.py, as in production, debug off unless --debug), a Celery
worker and Celery beat. Prints one URL line and the demo logins. Ctrl-C (or SIGTERM)
stops everything it started in dependency order; children's logs are in var/logs/.
"""

from __future__ import annotations

import io
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from portal import embedded

DEFAULT_DEMO_PASSWORD = "datahub-demo"


def _warm_lineage_kernels() -> None:
    try:
        from lineage import kernels  # numba: imported here, off the main thread

        kernels.warm()
    except Exception as error:  # the walks then compile on first use: slower once, not broken
        print(f"Lineage walks not compiled ahead ({error}); the first lineage question compiles them.", file=sys.stderr)


def _migrate(out: io.StringIO) -> None:
    """``migrate`` when a migration is pending; a restart with none skips its checks and post-migrate
    work (seconds of a warm start)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
        out.write("up to date (kept from the last run)\n")
        return
    call_command("migrate", interactive=False, verbosity=0, stdout=out)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the embedded portal: moto, osmem, demo lake, first sync and index, Celery worker and beat, web."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=None,
                            help="Web port (default: $PORT or 8000; the next free one when taken; 0 = any).")
        parser.add_argument("--demo-databases", type=int, default=12, help="Databases in the demo lake.")
        parser.add_argument("--demo-tables-per-database", type=int, default=None,
                            help="Tables per demo database (default: every model where it belongs).")
        parser.add_argument("--no-seed", action="store_true", help="Do not seed the demo lake.")
        parser.add_argument("--debug", action="store_true",
                            help="Django debug mode in the web server (tracebacks in the browser; also DEBUG=1). "
                                 "Off by default: the portal serves as in production.")

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()
        sys.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        data_dir = Path(settings.DATA_DIR)
        # The filesystem broker's folders are made by settings (any process may send first).
        for folder in (data_dir, data_dir / "logs"):
            folder.mkdir(parents=True, exist_ok=True)
        env = self._child_env(data_dir, debug=options["debug"] or settings.DEBUG)
        supervisor = embedded.Supervisor(data_dir / "logs", env)
        # Explicit handlers: a shell that starts us in the background leaves SIGINT ignored.
        previous = {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._start(supervisor, env, options)
            self._watch(supervisor)
        except KeyboardInterrupt:
            self.say("\nStopping…")
        except embedded.StartupError as exc:
            supervisor.stop_all()
            raise CommandError(str(exc)) from None
        finally:
            connections.close_all()
            supervisor.stop_all(report=lambda line: self.say(f"  {line}"))
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.say("Stopped: every process started by run_embedded has ended.")

    # --- start-up -----------------------------------------------------------------

    @staticmethod
    def _child_env(data_dir: Path, debug: bool) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("PORTAL_EMBEDDED", "1")
        env["DEBUG"] = "1" if debug else "0"
        # Demo sources run on this machine: loopback is an allowed source network (ingestion_wizard.hosts).
        env.setdefault("INGESTION_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
        env["PORTAL_DATA_DIR"] = str(data_dir)
        env["PYTHONUNBUFFERED"] = "1"
        if not env.get("SECRET_KEY"):
            # One random key per data folder, kept: sessions survive a restart, and no two
            # embedded portals share the well-known fallback key.
            key_file = data_dir / "secret_key"
            if not key_file.exists():
                key_file.write_text(secrets.token_urlsafe(50))
                key_file.chmod(0o600)
            env["SECRET_KEY"] = key_file.read_text().strip()
        return env

    def _export(self, env: dict[str, str], name: str, value: str) -> None:
        """Set a variable for the children and for this process (settings already loaded here)."""
        env[name] = value
        os.environ[name] = value

    def _start(self, supervisor: embedded.Supervisor, env: dict[str, str], options: dict[str, Any]) -> None:
        started = time.monotonic()
        own_moto = not os.environ.get("AWS_ENDPOINT_URL")
        own_search = not os.environ.get("OPENSEARCH_URL")
        data_dir = Path(settings.DATA_DIR)
        postgres = embedded.spawn_postgres(supervisor, data_dir) if settings.EMBEDDED_DATABASE else None
        # moto and osmem come up while PostgreSQL starts and the database migrates. Their URLs follow
        # from the ports chosen here, so every child's environment is complete before it starts.
        moto_port = embedded.free_port()
        moto = embedded.spawn_moto(supervisor, moto_port) if own_moto else None
        search_port = embedded.choose_port(9200)
        osmem = embedded.spawn_osmem(supervisor, search_port) if own_search else None
        if moto is not None:
            aws_url = f"http://127.0.0.1:{moto_port}"
            self._export(env, "AWS_ENDPOINT_URL", aws_url)
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                self._export(env, name, "embedded")  # moto accepts any credentials
            env.pop("AWS_PROFILE", None)
            os.environ.pop("AWS_PROFILE", None)
            settings.AWS_ENDPOINT_URL = aws_url
        if osmem is not None:
            search_url = f"http://127.0.0.1:{search_port}"
            self._export(env, "OPENSEARCH_URL", search_url)
            settings.OPENSEARCH_URL = search_url

        # The web server boots (imports the portal: the longest part of a warm start) while the
        # database starts and migrates and the lake is seeded and synced; it only reads, and nobody
        # knows its URL before it is printed.
        port = embedded.choose_port(options["port"] if options["port"] is not None else self._port_from_env())
        url = f"http://127.0.0.1:{port}/"
        if "SITE_URL" not in os.environ:
            env["SITE_URL"] = url.rstrip("/")
        # The production server with the production config (gunicorn.conf.py); only the bind differs.
        web = supervisor.spawn("web", [sys.executable, "-m", "gunicorn", "-c", str(Path(settings.BASE_DIR) / "gunicorn.conf.py"),
                                       "--bind", f"127.0.0.1:{port}"], cwd=settings.BASE_DIR)

        if postgres is not None:
            embedded.await_postgres(postgres, data_dir)
            self.say(f"PostgreSQL: the portal's own server, data in {data_dir / 'postgres'}")
        else:
            self.say("PostgreSQL: DATABASE_URL from the environment")
        self._setup_step("Database", _migrate)
        if moto is not None:
            embedded.await_moto(moto, moto_port)
            self.say(f"AWS:        local moto server on port {moto_port} (in memory)")
        else:
            self.say("AWS:        AWS_ENDPOINT_URL from the environment")
        if osmem is not None:
            ready_url = embedded.await_osmem(osmem)
            if ready_url.rstrip("/") != search_url:
                raise embedded.StartupError(f"osmem listens at {ready_url}, not at {search_url} as asked")
            self.say(f"OpenSearch: osmem at {search_url} (in memory)".replace("http://", ""))
        else:
            self.say("OpenSearch: OPENSEARCH_URL from the environment")

        seed = own_moto and not options["no_seed"]
        # A warm start (the kept database already holds a synced catalog) serves that catalog at once:
        # the search index is rebuilt from the database, the URL printed, and only then is the
        # in-memory local AWS seeded again (same seed, same lake) and synced. A first start has
        # nothing to serve before its first sync.
        warm = seed and embedded.has_synced_catalog()
        # The compiled lineage walks go into their disk cache meanwhile (seconds, once per machine),
        # so the web server's first lineage question does not wait for the compiler. On a warm start
        # the cache is there: loading it waits until the URL is out (two cores are busy enough).
        kernels = threading.Thread(target=_warm_lineage_kernels, name="lineage-kernels", daemon=True)
        if not warm:
            kernels.start()
        if seed and not warm:
            self._seed_lake(options)
        password = os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD
        users = embedded.ensure_demo_users(password)
        embedded.fail_interrupted_syncs()
        if not warm:
            self._optional_command("Catalog sync", "sync_catalog", "--full")
        self._optional_command("Search index", "reindex")
        if not embedded.wait_for_http(f"{url}healthz", 60, lambda: web.alive):
            raise embedded.StartupError(f"the web server did not answer on port {port}; see {web.log_path}:\n"
                                        f"{embedded.log_tail(web.log_path)}")
        self._announce(url, users, password, env, started, supervisor.log_dir)
        if warm:
            kernels.start()
            self.say("Re-seeding the local AWS (in memory, gone at every stop) while the kept catalog is served:")
            self._seed_lake(options)
            self._optional_command("Catalog sync", "sync_catalog", "--full")
            # The kept pipelines and workspaces lost their AWS resources with the old moto: say so.
            self._optional_command("Resources", "check_resources")
        if own_moto and not os.environ.get("CATALOG_EVENTS_QUEUE_URL"):
            # The incremental path as in production: Glue change events on SQS, polled by the worker.
            from catalog.services.events import setup_event_queue

            self._export(env, "CATALOG_EVENTS_QUEUE_URL", setup_event_queue())
        # The worker and beat only after the first sync, so a scheduled sync cannot race the inline one.
        supervisor.spawn("celery-worker", [sys.executable, "-m", "celery", "-A", "portal", "worker",
                                           "--loglevel=INFO", "--pool=threads", "--concurrency=4",
                                           "--hostname=embedded@%h"], cwd=settings.BASE_DIR)
        supervisor.spawn("celery-beat", [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel=INFO"],
                         cwd=settings.BASE_DIR)
        if warm:
            self.say(f"Local AWS ready again in {time.monotonic() - started:.0f} s; worker and beat started.")

    def _seed_lake(self, options: dict[str, Any]) -> None:
        # moto keeps nothing across restarts: seed on every start (idempotent, same seed, same lake).
        self._setup_step("Demo lake", lambda out: call_command(
            "seed_demo_lake", "--databases", str(options["demo_databases"]),
            *(["--tables-per-database", str(options["demo_tables_per_database"])]
              if options["demo_tables_per_database"] else []), stdout=out))

    def _announce(self, url: str, users: list[tuple[str, tuple[str, ...]]], password: str, env: dict[str, str],
                  started: float, log_dir: Path) -> None:
        if not (Path(settings.BASE_DIR) / "static" / "vendor").is_dir():
            self.say(self.style.WARNING("Front-end libraries missing: run bin/build-static (bin/run does)."))
        self.say("")
        self.say(self.style.SUCCESS(f"Data Hub Portal is running at {url}"))
        if env["DEBUG"] == "1":
            self.say(self.style.WARNING("Debug mode is on: errors show tracebacks and settings in the browser."))
        self.say(f"Demo logins (password: {password}):")
        for username, groups in users:
            self.say(f"  {username:<9} {', '.join(groups)}")
        self.say(f"Ready in {time.monotonic() - started:.0f} s. Logs: {log_dir}. Press Ctrl-C to stop.")

    @staticmethod
    def _port_from_env() -> int:
        raw = os.environ.get("PORT", "8000")
        try:
            return int(raw)
        except ValueError:
            raise CommandError(f"PORT must be a port number, got {raw!r}") from None

    def _setup_step(self, label: str, step: Any) -> None:
        out = io.StringIO()
        step(out)
        summary = [line for line in out.getvalue().splitlines() if line.strip()]
        self.say(f"{label + ':':<11} {summary[-1].strip() if summary else 'ready'}")

    def _optional_command(self, label: str, name: str, *args: str) -> None:
        """A command another part of the portal provides; a failure is reported, the portal still starts."""
        if name not in get_commands():
            self.say(self.style.WARNING(f"{label + ':':<11} skipped: the {name!r} command is not available yet"))
            return
        out = io.StringIO()
        try:
            call_command(name, *args, stdout=out, stderr=out)
        except Exception as exc:  # a failed first sync/index must not keep the portal from starting
            self.say(self.style.WARNING(f"{label + ':':<11} failed: {exc} (the portal starts anyway)"))
            return
        lines = [line.strip() for line in out.getvalue().splitlines() if line.strip()]
        self.say(f"{label + ':':<11} {lines[0] if lines else 'done'}")
        for line in lines[1:4]:
            self.say(f"{'':<11} {line}")

    # --- running --------------------------------------------------------------------

    def _watch(self, supervisor: embedded.Supervisor) -> None:
        while True:
            time.sleep(0.5)
            dead = supervisor.first_dead()
            if dead is not None:
                raise embedded.StartupError(
                    f"{dead.name} exited with code {dead.process.returncode}; see {dead.log_path}:\n"
                    f"{embedded.log_tail(dead.log_path)}")
