"""pytest plugin: real local services for the test session.

- ``moto_server``: one moto server process-thread per session; ``aws`` resets it per test.
- ``osmem``: one osmem-server per session; ``search`` gives each test its own clone.
- ``celery_worker``: a real Celery worker thread on the Redis broker; ``celery_eager``: tasks inline.
PostgreSQL comes from pytest-django (test database from DATABASE_URL).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests
from django.conf import settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """URL of a moto server shared by the session (reset per test by ``aws_endpoint``)."""
    from moto.server import ThreadedMotoServer

    from portal.aws_emulator import teach_moto

    teach_moto()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    yield url
    server.stop()


@pytest.fixture
def aws_endpoint(moto_server: str) -> Iterator[str]:
    """A clean moto state for one test; settings point boto3 at it. Yields the endpoint URL."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10)
    previous = settings.AWS_ENDPOINT_URL
    settings.AWS_ENDPOINT_URL = moto_server
    yield moto_server
    settings.AWS_ENDPOINT_URL = previous


@pytest.fixture(scope="session")
def osmem() -> Iterator[object]:
    from osmem_server import OsmemServer

    server = OsmemServer.start(japanese=False)
    yield server
    server.close()


@pytest.fixture
def search(osmem: object) -> Iterator[str]:
    """An empty OpenSearch (osmem clone) for one test; settings point at it. Yields its URL."""
    clone = osmem.clone()  # type: ignore[attr-defined]
    previous = settings.OPENSEARCH_URL
    settings.OPENSEARCH_URL = clone.url
    yield clone.url
    settings.OPENSEARCH_URL = previous
    clone.close()


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[object]:
    """A real Celery worker (threads) consuming the Redis broker for one test."""
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    app.control.purge()
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30) as worker:
        yield worker


@pytest.fixture
def celery_eager() -> Iterator[None]:
    """Celery tasks run in the calling thread (the real task, no worker); wrap the call in
    ``django_capture_on_commit_callbacks(execute=True)`` so an on-commit enqueue fires."""
    from portal.celery import app

    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


@pytest.fixture
def data_folder() -> Iterator[object]:
    """A fresh folder for an embedded PostgreSQL's data (``PORTAL_DATA_DIR``), outside pytest's
    ``tmp_path``: under root the server runs as another OS user, which must pass through every
    folder above its data, and pytest resets its own base folder to 0700 whenever a session
    starts (so another session starting meanwhile would lock the server out)."""
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="portal-data-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
