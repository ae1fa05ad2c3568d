"""pytest plugin loaded first (``-p portal.testing.env``): test defaults for the environment.

pytest-django reads settings before any conftest is imported, so the variables
must be in place at plugin import. Real services: PostgreSQL and Redis on this
machine; moto and osmem are started per test session by ``portal.testing.services``.
An explicitly set variable always wins, so CI or a developer can point elsewhere.

PostgreSQL: the server on 127.0.0.1:5432 when one answers; otherwise the same embedded
server ``bin/run`` uses (``portal.local_postgres``), started here for the session with its
cluster under ``var/test-postgres`` (kept, so later sessions start in a fraction of a second)
and stopped when the session ends. So the suite needs no PostgreSQL package on the machine.
It also listens on a free loopback port, given to the ingestion tests' PostgreSQL source
(``INGESTION_TEST_PG_HOST``/``_PORT``), which connects over TCP as a provider's database would.
"""

import atexit
import os
import socket
from pathlib import Path

_DEFAULTS = {
    "DJANGO_SETTINGS_MODULE": "portal.settings",
    "SECRET_KEY": "test-only-secret-key",
    "DEBUG": "false",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/datahub",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CELERY_RESULT_BACKEND": "django-db",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_ACCOUNT_ID": "123456789012",
    "AWS_MAX_ATTEMPTS": "2",
    "ALLOW_LOCAL_ACCOUNTS": "true",
    # Admits plain-http:// issuers (the mock IdPs on loopback); production refuses them at start-up.
    "PORTAL_TESTS": "true",
    # The source databases of the tests run on this machine; only loopback is allowed.
    "INGESTION_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
    # Placeholders until the session fixtures start moto and osmem and set the real URLs.
    "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
    "OPENSEARCH_URL": "http://127.0.0.1:1",
    "OPENSEARCH_TIMEOUT_SECONDS": "5",
    # The test servers speak plain HTTP on loopback: no HTTPS redirect, no secure-only cookies, no HSTS
    # (test_deploy_settings checks the production defaults in a process of its own).
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
    "SECURE_PROXY_SSL_HEADER": "",
    # Playwright's sync API runs an event loop in the test thread; the ORM calls there are still sync.
    "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
}


def _local_server_answers(port: int = 5432) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _embedded_database_url() -> str:
    """Start the embedded PostgreSQL for this session (stopped at exit) and return its URL."""
    from portal.local_postgres import StandaloneServer

    data_dir = Path(os.environ.get("PORTAL_TEST_DATA_DIR") or Path(__file__).resolve().parents[2] / "var" / "test-postgres")
    data_dir.mkdir(parents=True, exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        tcp_port = probe.getsockname()[1]
    server = StandaloneServer(data_dir, tcp_port=tcp_port)
    url = server.start()
    os.environ.setdefault("INGESTION_TEST_PG_HOST", "127.0.0.1")
    os.environ.setdefault("INGESTION_TEST_PG_PORT", str(tcp_port))
    atexit.register(server.stop)
    # pytest-django creates "test_<name>" next to it; the name itself must exist for the first connection.
    return url.rsplit("/", 1)[0] + "/datahub"


if "DATABASE_URL" not in os.environ and not _local_server_answers():
    os.environ["DATABASE_URL"] = _embedded_database_url()

for _name, _value in _DEFAULTS.items():
    os.environ.setdefault(_name, _value)
# Tests must never reach real AWS with a developer's credentials.
os.environ.pop("AWS_PROFILE", None)
