"""pytest plugin loaded first (``-p portal.testing.env``): test defaults for the environment.

pytest-django reads settings before any conftest is imported, so the variables
must be in place at plugin import. Real services: PostgreSQL and Redis on this
machine; moto and osmem are started per test session by ``portal.testing.services``.
An explicitly set variable always wins, so CI or a developer can point elsewhere.
"""

import os

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
    # The source databases of the tests run on this machine; only loopback is allowed.
    "INGESTION_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
    # Placeholders until the session fixtures start moto and osmem and set the real URLs.
    "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
    "OPENSEARCH_URL": "http://127.0.0.1:1",
    "OPENSEARCH_TIMEOUT_SECONDS": "5",
    # Playwright's sync API runs an event loop in the test thread; the ORM calls there are still sync.
    "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
}

for _name, _value in _DEFAULTS.items():
    os.environ.setdefault(_name, _value)
# Tests must never reach real AWS with a developer's credentials.
os.environ.pop("AWS_PROFILE", None)
